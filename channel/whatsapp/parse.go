package whatsapp

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/relais-ai/relais/conversation"
)

// Message is one customer message of a webhook delivery: a text (typed, or
// the title of a button or list row the customer tapped), or media with its
// caption.
type Message struct {
	ID string // WhatsApp's message id ("wamid....")
	// From is the customer's id in Relais: their business-scoped user id
	// when the payload has one, else their wa_id (phone number).
	From string
	// Phone is the customer's phone number when WhatsApp gave it; "" for a
	// user known by their business-scoped user id only.
	Phone     string
	Timestamp int64  // unix seconds, 0 when absent or unreadable
	Type      string // WhatsApp's message type
	Text      string // the text, the tapped title, or a caption
	// Media is what the message carries beyond text; nil for a text.
	Media *conversation.Media
}

// Status is a delivery status WhatsApp reports for a message Relais sent.
type Status struct {
	ID        string // the sent message's wamid
	Status    string // sent, delivered, read, failed
	Timestamp int64
	ErrorCode int // the first error's code on failed
}

// Skipped is a message Relais does not take; it carries no customer
// content, only what a log may show.
type Skipped struct {
	ID   string
	Type string
}

// Payload is what Parse found in one webhook delivery.
type Payload struct {
	Messages []Message // oldest first
	Statuses []Status
	Skipped  []Skipped
	// DisplayPhoneNumber is the business number the webhook's metadata
	// reports ("" when absent).
	DisplayPhoneNumber string
}

type mediaObject struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
}

type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string      `json:"field"`
			Value changeValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// changeValue is the value of one change of a webhook entry.
type changeValue struct {
	Metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
	} `json:"metadata"`
	Contacts []struct {
		WaID   string `json:"wa_id"`
		UserID string `json:"user_id"`
	} `json:"contacts"`
	Messages []webhookMessage `json:"messages"`
	Statuses []webhookStatus  `json:"statuses"`
}

type webhookMessage struct {
	From       string `json:"from"`
	FromUserID string `json:"from_user_id"`
	ID         string `json:"id"`
	Timestamp  string `json:"timestamp"`
	Type       string `json:"type"`
	Text       *struct {
		Body string `json:"body"`
	} `json:"text"`
	Button *struct {
		Text string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Image    *mediaObject `json:"image"`
	Document *mediaObject `json:"document"`
	Audio    *mediaObject `json:"audio"`
	Video    *mediaObject `json:"video"`
	Sticker  *mediaObject `json:"sticker"`
}

type webhookStatus struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
	Errors    []struct {
		Code int `json:"code"`
	} `json:"errors"`
}

// Parse reads a webhook body: every message and status of every change of
// every entry. WhatsApp does not guarantee their order: the messages come
// back sorted by timestamp (stable, so a batch of equal timestamps keeps its
// order), so that a conversation's messages are stored in the order the
// customer wrote them. A message without an id or sender is skipped as
// malformed, as are system notices (a changed number). The error is for a
// body that is not such JSON at all; it never quotes the body.
func Parse(body []byte) (Payload, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return Payload{}, fmt.Errorf("decode whatsapp webhook: %s", jsonErrorKind(err))
	}
	var p Payload
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			if c.Field != "" && c.Field != "messages" {
				continue
			}
			p.addChange(c.Value)
		}
	}
	slices.SortStableFunc(p.Messages, func(a, b Message) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return p, nil
}

// addChange adds the messages and statuses of one change, in payload order,
// and keeps the first business number the metadata reports.
func (p *Payload) addChange(v changeValue) {
	if p.DisplayPhoneNumber == "" {
		p.DisplayPhoneNumber = v.Metadata.DisplayPhoneNumber
	}
	userIDs := v.userIDs()
	for _, m := range v.Messages {
		msg, skip := readMessage(m, userIDs)
		if skip != "" {
			p.Skipped = append(p.Skipped, Skipped{ID: m.ID, Type: skip})
			continue
		}
		p.Messages = append(p.Messages, msg)
	}
	for _, s := range v.Statuses {
		st, ok := readStatus(s)
		if !ok {
			p.Skipped = append(p.Skipped, Skipped{ID: s.ID, Type: "status"})
			continue
		}
		p.Statuses = append(p.Statuses, st)
	}
}

// userIDs maps the wa_id of each contact of the change to their
// business-scoped user id, for the contacts that have one.
func (v changeValue) userIDs() map[string]string {
	userIDs := map[string]string{}
	for _, ct := range v.Contacts {
		if ct.WaID != "" && ct.UserID != "" {
			userIDs[ct.WaID] = ct.UserID
		}
	}
	return userIDs
}

// readMessage returns the message m carries or, when Relais does not take
// it, the type to skip it as: "malformed" or "system".
func readMessage(m webhookMessage, userIDs map[string]string) (msg Message, skip string) {
	from := cmp.Or(m.FromUserID, userIDs[m.From], m.From)
	if m.ID == "" || from == "" {
		return Message{}, "malformed"
	}
	if m.Type == "system" || m.Type == "" {
		return Message{}, cmp.Or(m.Type, "malformed")
	}
	msg = Message{ID: m.ID, From: from, Type: m.Type, Timestamp: unixSeconds(m.Timestamp)}
	if from != m.From {
		msg.Phone = m.From
	}
	msg.Text, msg.Media = m.content()
	if msg.Media != nil && conversation.Fetchable(msg.Media.Kind) && msg.Media.ProviderID == "" {
		return Message{}, "malformed"
	}
	return msg, ""
}

// content returns the text of m (typed, the tapped title, or a caption) and
// its media, nil for a text.
func (m webhookMessage) content() (string, *conversation.Media) {
	switch {
	case m.Type == "text" && m.Text != nil:
		return m.Text.Body, nil
	case m.Type == "button" && m.Button != nil:
		return m.Button.Text, nil
	case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ButtonReply != nil:
		return m.Interactive.ButtonReply.Title, nil
	case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ListReply != nil:
		return m.Interactive.ListReply.Title, nil
	case m.Type == "image" && m.Image != nil:
		return mediaContent(conversation.MediaImage, m.Image)
	case m.Type == "document" && m.Document != nil:
		return mediaContent(conversation.MediaDocument, m.Document)
	case m.Type == "audio" && m.Audio != nil && m.Audio.Voice:
		return mediaContent(conversation.MediaVoice, m.Audio)
	case m.Type == "audio":
		return mediaContent(conversation.MediaAudio, m.Audio)
	case m.Type == "video":
		return mediaContent(conversation.MediaVideo, m.Video)
	case m.Type == "sticker":
		return mediaContent(conversation.MediaSticker, m.Sticker)
	case m.Type == "location", m.Type == "contacts", m.Type == "reaction":
		return "", &conversation.Media{Kind: m.Type} // their content is not kept
	default:
		// "unsupported" (WhatsApp's own), and kinds newer than this code
		// (orders, polls, ...): the customer still hears that Relais reads
		// text.
		return "", &conversation.Media{Kind: conversation.MediaUnsupported}
	}
}

// mediaContent returns the caption and media of o; o is nil when the
// payload lacks the object its type names.
func mediaContent(kind string, o *mediaObject) (string, *conversation.Media) {
	md := &conversation.Media{Kind: kind}
	if o == nil {
		return "", md
	}
	md.ProviderID, md.MimeType, md.Filename = o.ID, o.MimeType, o.Filename
	return o.Caption, md
}

// readStatus returns the status s reports, false for one without an id or
// with a status Relais does not record.
func readStatus(s webhookStatus) (Status, bool) {
	if s.ID == "" || conversation.DeliveryRank(s.Status) == 0 {
		return Status{}, false
	}
	st := Status{ID: s.ID, Status: s.Status, Timestamp: unixSeconds(s.Timestamp)}
	if len(s.Errors) > 0 {
		st.ErrorCode = s.Errors[0].Code
	}
	return st, true
}

func unixSeconds(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// jsonErrorKind names a decoding error without the bytes it saw.
func jsonErrorKind(err error) string {
	switch err.(type) {
	case *json.SyntaxError:
		return "invalid JSON"
	case *json.UnmarshalTypeError:
		return "unexpected JSON shape"
	default:
		return "unreadable JSON"
	}
}
