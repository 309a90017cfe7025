package whatsapp

import (
	"encoding/json"
	"fmt"
)

// Message is one customer message of a webhook delivery that Relais
// handles: a text, or the title of a button the customer tapped.
type Message struct {
	ID   string // WhatsApp's message id ("wamid....")
	From string // the customer's wa_id (or business-scoped user id)
	Text string
}

// Skipped is a message of a type Relais does not handle yet; it carries no
// customer content, only what a log may show.
type Skipped struct {
	ID   string
	Type string
}

// Payload is what Parse found in one webhook delivery.
type Payload struct {
	Messages []Message
	Skipped  []Skipped
	// DisplayNumber is the business number the delivery was sent to, as
	// its metadata shows it (the last one seen).
	DisplayNumber string
}

type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					DisplayPhoneNumber string `json:"display_phone_number"`
				} `json:"metadata"`
				Messages []struct {
					From string `json:"from"`
					ID   string `json:"id"`
					Type string `json:"type"`
					Text *struct {
						Body string `json:"body"`
					} `json:"text"`
					Interactive *struct {
						Type        string `json:"type"`
						ButtonReply *struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"button_reply"`
					} `json:"interactive"`
				} `json:"messages"`
				// statuses (sent, delivered, read, failed) are not read yet.
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// Parse reads a webhook body: every message of every change of every
// entry, in the order they come (WhatsApp does not guarantee one). A
// message without an id or sender is skipped as malformed. The error is
// for a body that is not such JSON at all; it never quotes the body.
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
			if n := c.Value.Metadata.DisplayPhoneNumber; n != "" {
				p.DisplayNumber = n
			}
			for _, m := range c.Value.Messages {
				if m.ID == "" || m.From == "" {
					p.Skipped = append(p.Skipped, Skipped{ID: m.ID, Type: "malformed"})
					continue
				}
				switch {
				case m.Type == "text" && m.Text != nil:
					p.Messages = append(p.Messages, Message{ID: m.ID, From: m.From, Text: m.Text.Body})
				case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ButtonReply != nil:
					p.Messages = append(p.Messages, Message{ID: m.ID, From: m.From, Text: m.Interactive.ButtonReply.Title})
				default:
					p.Skipped = append(p.Skipped, Skipped{ID: m.ID, Type: m.Type})
				}
			}
		}
	}
	return p, nil
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
