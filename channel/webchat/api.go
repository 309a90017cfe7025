package webchat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
)

// messageJSON is one message as the page shows it.
type messageJSON struct {
	ID   int64  `json:"id"`
	Role string `json:"role"` // customer, assistant, agent, system
	Text string `json:"text"`
	At   string `json:"at"`
	// Source is the article an answer cites, when it is one.
	Source *sourceJSON `json:"source,omitempty"`
}

type sourceJSON struct {
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
}

// conversationJSON is what the page knows of its conversation: its
// messages (all, or the new ones), who holds it, and whether the last
// answer asked "did this help?".
type conversationJSON struct {
	ConversationID   int64         `json:"conversation_id"`
	State            string        `json:"state"`
	AwaitingFeedback bool          `json:"awaiting_feedback"`
	Messages         []messageJSON `json:"messages"`
}

func toMessageJSON(m conversation.Message) messageJSON {
	return messageJSON{ID: m.ID, Role: string(m.Role), Text: m.Text, At: m.CreatedAt.UTC().Format(time.RFC3339)}
}

// stateJSON is the state as the page shows it: whether the bot, the queue
// or a person holds the conversation.
func stateJSON(c conversation.Conversation) conversationJSON {
	return conversationJSON{ConversationID: c.ID, State: string(c.State),
		AwaitingFeedback: c.AwaitingFeedback && c.State == conversation.Bot, Messages: []messageJSON{}}
}

// conversationOf returns the session's conversation; ok is false when the
// session has none (it never wrote, or its conversation was erased).
func (h *Handler) conversationOf(ctx context.Context, s session) (conversation.Conversation, bool, error) {
	if s.ConversationID == 0 {
		return conversation.Conversation{}, false, nil
	}
	c, err := h.Transcripts.Conversation(ctx, s.ConversationID)
	if errors.Is(err, relais.ErrNotFound) {
		return conversation.Conversation{}, false, nil
	}
	if err != nil {
		return conversation.Conversation{}, false, err
	}
	// The cookie is signed, so this holds; checked anyway, since a key
	// leak must not open every conversation of every channel.
	if c.Channel != Channel || c.CustomerID != s.ID {
		return conversation.Conversation{}, false, nil
	}
	return c, true, nil
}

// transcript serves GET /chat/api/messages: the session's conversation as
// it stands, its latest MaxTranscript messages, oldest first. A visitor
// without a session gets an empty one, and its cookie: the page reads the
// transcript before it sends anything, so its first message already
// carries the session that makes a retry of it a repeat (a session made
// by that message's own response would be lost with the response). A
// session's cookie is issued again, which renews it and moves it to the
// newest key.
func (h *Handler) transcript(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, ok, err := h.session(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := conversationJSON{State: string(conversation.Bot), Messages: []messageJSON{}}
	if !ok {
		if err := h.setSession(w, r, session{ID: newSessionID()}); err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	c, found, err := h.conversationOf(ctx, s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if found {
		ms, err := h.Transcripts.Messages(ctx, c.ID, MaxTranscript)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out = stateJSON(c)
		out.Messages = h.withSources(ctx, c.ID, ms)
	} else {
		s.ConversationID = 0
	}
	if err := h.setSession(w, r, s); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// withSources turns messages into the page's form, each answer with the
// title of the article it cites. A lookup that fails leaves the title out:
// the answer itself matters more.
func (h *Handler) withSources(ctx context.Context, convID int64, ms []conversation.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	answers := false
	for i, m := range ms {
		out[i] = toMessageJSON(m)
		answers = answers || m.Role == conversation.Assistant
	}
	if !answers || h.Articles == nil {
		return out
	}
	ds, err := h.Transcripts.Decisions(ctx, convID)
	if err != nil {
		h.logger().WarnContext(ctx, "webchat: read decisions for source titles", "conversation", convID, "error", err)
		return out
	}
	cited := map[int64]string{} // reply id -> article external id
	for _, d := range ds {
		if d.ReplyID != 0 && d.Action == string(assistant.Answer) && len(d.Sources) > 0 {
			cited[d.ReplyID] = d.Sources[0]
		}
	}
	titles := map[string]string{}
	for i := range out {
		ext, ok := cited[out[i].ID]
		if !ok {
			continue
		}
		title, seen := titles[ext]
		if !seen {
			a, err := h.Articles.ArticleByExternalID(ctx, ext)
			if err == nil {
				title = a.Title
			} else if !errors.Is(err, relais.ErrNotFound) {
				h.logger().WarnContext(ctx, "webchat: read a cited article's title", "article", ext, "error", err)
			}
			titles[ext] = title
		}
		if title != "" {
			out[i].Source = &sourceJSON{ArticleID: ext, Title: title}
		}
	}
	return out
}

type postInput struct {
	Text string `json:"text"`
	// ID is the page's id of the message: sending it again (a retry after
	// a lost response) gets the first answer back, never a second one.
	ID string `json:"id"`
}

// clientID is what a page's message id may be.
var clientID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// maxBody bounds a message's JSON body: MaxTextChars characters of up to
// four bytes, escaped, and room for the rest.
const maxBody = 6*conversation.MaxTextChars + 1024

// postMessage serves POST /chat/api/messages {"text","id"}: it runs the
// customer's message through the assistant and answers with the stored
// message and the reply, if any. A visitor without a session gets one.
func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h.ipLim.RespondOnLimit(w, r, mustIP(r)) {
		return
	}
	s, ok, err := h.session(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok {
		s = session{ID: newSessionID()}
	}
	if h.sessionLim.RespondOnLimit(w, r, s.ID) {
		return
	}
	inbound, err := h.readInbound(w, r, s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hctx, cancel := context.WithTimeout(ctx, h.handleTimeout())
	defer cancel()
	out, err := h.Messages.HandleMessage(hctx, inbound)
	if errors.Is(err, assistant.ErrInProgress) {
		w.Header().Set("Retry-After", "1")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s.ConversationID = out.Conversation.ID
	if err := h.setSession(w, r, s); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, postedJSON(out))
}

// readInbound reads the message of a post by session s and checks it
// before any work, into the session's conversation when it has one.
func (h *Handler) readInbound(w http.ResponseWriter, r *http.Request, s session) (conversation.Inbound, error) {
	// A form of another site cannot send this type without the browser
	// asking first (CORS), which Relais does not allow: a session cookie
	// sent along with a forged form is no message.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return conversation.Inbound{}, fmt.Errorf("a message is sent as application/json: %w", relais.ErrInvalid)
	}
	var in postInput
	if err := decode(w, r, &in); err != nil {
		return conversation.Inbound{}, err
	}
	msgID, err := channelMessageID(s, in.ID)
	if err != nil {
		return conversation.Inbound{}, err
	}
	// The domain's rule for a customer message; HandleMessage applies it
	// too, this only answers before any work.
	inbound, err := conversation.ValidateInbound(conversation.Inbound{Channel: Channel, CustomerID: s.ID, ChannelMessageID: msgID, Text: in.Text})
	if err != nil {
		return conversation.Inbound{}, err
	}
	c, found, err := h.conversationOf(r.Context(), s)
	if err != nil {
		return conversation.Inbound{}, err
	}
	if found {
		inbound.ConversationID = c.ID
	}
	return inbound, nil
}

// channelMessageID returns the channel message id of the page's message
// id; "" when the page gave none.
func channelMessageID(s session, pageID string) (string, error) {
	if pageID == "" {
		return "", nil
	}
	if !clientID.MatchString(pageID) {
		return "", fmt.Errorf("id must be 8 to 64 letters, digits, - or _: %w", relais.ErrInvalid)
	}
	// Channel message ids are unique per channel: the session makes one
	// page's ids its own.
	return s.ID + "/" + pageID, nil
}

// postedJSON is the answer to a post: the conversation's state, the stored
// message and the reply, if any, with the article it cites.
func postedJSON(out assistant.Outcome) conversationJSON {
	res := stateJSON(out.Conversation)
	res.Messages = append(res.Messages, toMessageJSON(out.Message))
	if out.Reply != nil {
		m := toMessageJSON(*out.Reply)
		if d := out.Decision; d.Action == assistant.Answer && len(d.Sources) > 0 && d.Sources[0].Title != "" {
			m.Source = &sourceJSON{ArticleID: d.Sources[0].ArticleID, Title: d.Sources[0].Title}
		}
		res.Messages = append(res.Messages, m)
	}
	return res
}

func (h *Handler) handleTimeout() time.Duration {
	if h.HandleTimeout > 0 {
		return h.HandleTimeout
	}
	return DefaultHandleTimeout
}

// mustIP is clientIP, which never fails.
func mustIP(r *http.Request) string {
	ip, _ := clientIP(r)
	return ip
}

// decode reads one JSON object of at most maxBody bytes, refusing unknown
// fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("body is larger than %d bytes: %w", maxBody, relais.ErrTooLarge)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the body did not arrive in time: %w", relais.ErrInvalid)
		}
		return fmt.Errorf("malformed JSON body: %v: %w", err, relais.ErrInvalid)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON body: more than one value: %w", relais.ErrInvalid)
	}
	return nil
}

// fail answers with err's status; server errors are logged, and their
// detail kept from the page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	if status >= 500 {
		h.logger().ErrorContext(r.Context(), "webchat: request failed", "error", err)
		msg = "the chat is unavailable for a moment; try again shortly"
	}
	writeError(w, status, code, msg)
}

// events serves GET /chat/api/events as Server-Sent Events: every message
// of the session's conversation after the one the page has, as it is
// stored ("message", its id the message id), and "state" when who holds
// the conversation changes. The page's EventSource sends the last id it
// got as Last-Event-ID when it reconnects, so a dropped connection misses
// nothing; ?after= gives the first id. 204 (which makes EventSource stop)
// without a conversation: the page opens the stream once it has one.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	c, ok, err := h.sessionConversation(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	after, err := lastEventID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), cmp.Or(h.StreamLifetime, DefaultStreamLifetime))
	defer cancel()
	st := openEventStream(w)
	if !st.write("retry: 2000\n: connected\n\n") {
		return
	}
	h.streamEvents(ctx, st, c, after)
}

// sessionConversation returns the conversation of the request's session;
// ok is false without a session or a conversation.
func (h *Handler) sessionConversation(r *http.Request) (conversation.Conversation, bool, error) {
	s, ok, err := h.session(r)
	if err != nil || !ok {
		return conversation.Conversation{}, false, err
	}
	return h.conversationOf(r.Context(), s)
}

// eventStream is a response of Server-Sent Events.
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// openEventStream sends the headers of an event stream.
func openEventStream(w http.ResponseWriter) *eventStream {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &eventStream{w: w, rc: rc}
}

// write sends msg at once; false when the page is gone.
func (st *eventStream) write(msg string) bool {
	// Each write gets its own deadline: the server's, set when the
	// stream opened, would cut it.
	_ = st.rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(st.w, msg); err != nil {
		return false
	}
	return st.rc.Flush() == nil
}

// waitForPoll waits for the next poll, sending a keepalive comment each
// keepalive period meanwhile; false when the stream is to end.
func (st *eventStream) waitForPoll(ctx context.Context, poll, keepalive *time.Ticker) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-keepalive.C:
			if !st.write(": keepalive\n\n") {
				return false
			}
		case <-poll.C:
			return true
		}
	}
}

// streamEvents sends what changes in conversation c after message after,
// at once and then at every poll, until ctx ends or the page goes. A
// failed read is tried again at the next poll.
func (h *Handler) streamEvents(ctx context.Context, st *eventStream, c conversation.Conversation, after int64) {
	poll := time.NewTicker(cmp.Or(h.PollInterval, DefaultPollInterval))
	defer poll.Stop()
	keepalive := time.NewTicker(cmp.Or(h.Keepalive, DefaultKeepalive))
	defer keepalive.Stop()
	cur := streamCursor{after: after, state: stateJSON(c)}
	for first := true; ; first = false {
		if !first && !st.waitForPoll(ctx, poll, keepalive) {
			return
		}
		out, err := h.nextEvents(ctx, c.ID, &cur)
		if err != nil {
			if ctx.Err() == nil {
				h.logger().WarnContext(ctx, "webchat: read new messages; retrying", "conversation", c.ID, "error", err)
			}
			continue
		}
		if out != "" && !st.write(out) {
			return
		}
	}
}

// streamCursor is how far a stream has got: the last message it sent and
// the state it last sent.
type streamCursor struct {
	after int64
	state conversationJSON
}

// nextEvents returns the events of what changed in conversation convID
// since cur, and moves cur past them: a "message" for each new message,
// then a "state" when the state changed or messages came; "" when nothing
// changed.
func (h *Handler) nextEvents(ctx context.Context, convID int64, cur *streamCursor) (string, error) {
	msgs, state, err := h.newMessages(ctx, convID, cur.after)
	if err != nil {
		return "", err
	}
	var out string
	for _, m := range msgs {
		b, _ := json.Marshal(m) // strings and ints always marshal
		out += fmt.Sprintf("id: %d\nevent: message\ndata: %s\n\n", m.ID, b)
		cur.after = m.ID
	}
	if state.State != cur.state.State || state.AwaitingFeedback != cur.state.AwaitingFeedback || len(msgs) > 0 {
		b, _ := json.Marshal(state)
		out += fmt.Sprintf("event: state\ndata: %s\n\n", b)
		cur.state = state
	}
	return out, nil
}

// newMessages returns the messages of conversation convID after message
// id after, oldest first, and the conversation's state.
func (h *Handler) newMessages(ctx context.Context, convID, after int64) ([]messageJSON, conversationJSON, error) {
	c, err := h.Transcripts.Conversation(ctx, convID)
	if err != nil {
		return nil, conversationJSON{}, err
	}
	ms, err := h.Transcripts.Messages(ctx, convID, MaxTranscript)
	if err != nil {
		return nil, conversationJSON{}, err
	}
	i := 0
	for i < len(ms) && ms[i].ID <= after {
		i++
	}
	if i == len(ms) {
		return nil, stateJSON(c), nil
	}
	return h.withSources(ctx, convID, ms[i:]), stateJSON(c), nil
}

// lastEventID is where a stream starts: the Last-Event-ID header an
// EventSource sends when it reconnects, else ?after=, else 0.
func lastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("last event id %q is not a message id: %w", v, relais.ErrInvalid)
	}
	return id, nil
}
