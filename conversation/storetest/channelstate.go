package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// ChannelStateStore is a conversation store with what channels record
// beyond texts: customers, media and delivery statuses.
type ChannelStateStore interface {
	OutboxStore
	conversation.Contacts
	conversation.MediaStore
	conversation.Deliveries
}

// RunChannelState runs the contract of conversation.Contacts, MediaStore
// and Deliveries against the stores open returns; open must make the store
// read its clock from now.
//
// Beyond the doc comments it pins down: Receive records the customer's last
// message time from the store's clock and keeps a phone once given; on a
// consent channel a "STOP" opts out, a second one keeps the first's message
// (whose turn's reply is the acknowledgment) and any other message opts in
// again; a redelivered message changes nothing; media are stored with their
// message, pending when fetchable and not_kept otherwise.
func RunChannelState(t *testing.T, open func(t *testing.T, now func() time.Time) ChannelStateStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ChannelStateStore, clock *testClock)
	}{
		{"ContactAndConsent", testContactConsent},
		{"Media", testMedia},
		{"Deliveries", testDeliveries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

func receiveIn(t *testing.T, s ChannelStateStore, in conversation.Inbound) conversation.Received {
	t.Helper()
	rec, err := s.Receive(context.Background(), in)
	if err != nil {
		t.Fatalf("Receive(%s): %v", in.ChannelMessageID, err)
	}
	return rec
}

func testContactConsent(t *testing.T, s ChannelStateStore, clock *testClock) {
	ctx := context.Background()
	if _, err := s.Contact(ctx, "whatsapp", "FR.1"); !errors.Is(err, relais.ErrNotFound) {
		t.Fatalf("Contact before any message error = %v, want relais.ErrNotFound", err)
	}
	first := clock.Now()
	receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "FR.1", Phone: "33612345678", ChannelMessageID: "w1", Text: "bonjour"})
	clock.Add(time.Minute)
	stop := receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "FR.1", ChannelMessageID: "w2", Text: " Arrêt ! "})
	c, err := s.Contact(ctx, "whatsapp", "FR.1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.OptedOut || c.OptOutMessageID != stop.Message.ID || c.Phone != "33612345678" ||
		!c.LastInboundAt.Equal(clock.Now()) || !c.ConsentAt.Equal(clock.Now()) || c.OptOutAckID != 0 {
		t.Errorf("after ARRÊT: %+v; want opted out by message %d, phone kept, last inbound and consent now", c, stop.Message.ID)
	}
	// The acknowledgment is the reply of the opting-out message's turn.
	res, err := s.CompleteTurn(ctx, conversation.Turn{MessageID: stop.Message.ID,
		Reply:    &conversation.Message{ConversationID: stop.Conversation.ID, Role: conversation.Assistant, Text: "ok"},
		Decision: conversation.DecisionRecord{Action: "reply", Reason: "opt_out"}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "FR.1", ChannelMessageID: "w3", Text: "STOP"})
	// A redelivered message changes nothing: "bonjour" again would opt
	// the customer in, were it recorded again.
	receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "FR.1", ChannelMessageID: "w1", Text: "bonjour"})
	c, err = s.Contact(ctx, "whatsapp", "FR.1")
	if err != nil || !c.OptedOut || c.OptOutMessageID != stop.Message.ID || c.OptOutAckID != res.Reply.ID ||
		!c.ConsentAt.Equal(first.Add(time.Minute)) {
		t.Errorf("after a second STOP: %+v, %v; want the first opt-out (message %d, ack %d) kept", c, err, stop.Message.ID, res.Reply.ID)
	}
	clock.Add(time.Minute)
	receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "FR.1", ChannelMessageID: "w4", Text: "stop the delay on my claim"})
	c, err = s.Contact(ctx, "whatsapp", "FR.1")
	if err != nil || c.OptedOut || c.OptOutMessageID != 0 || !c.ConsentAt.Equal(clock.Now()) || !c.LastInboundAt.Equal(clock.Now()) {
		t.Errorf("after writing again: %+v, %v; want opted in now", c, err)
	}
	// A photo captioned "Stop" is about the photo: no opt-out.
	receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "FR.1", ChannelMessageID: "w5", Text: "Stop",
		Media: &conversation.Media{Kind: conversation.MediaImage, ProviderID: "media-stop", MimeType: "image/jpeg"}})
	if c, err := s.Contact(ctx, "whatsapp", "FR.1"); err != nil || c.OptedOut {
		t.Errorf("after a photo captioned Stop: %+v, %v; want not opted out", c, err)
	}
	// Channels without consent handling never opt out.
	receiveIn(t, s, conversation.Inbound{Channel: "api", CustomerID: "FR.1", Text: "STOP"})
	if c, err := s.Contact(ctx, "api", "FR.1"); err != nil || c.OptedOut || c.Phone != "" {
		t.Errorf("api customer after STOP: %+v, %v; want not opted out, no phone", c, err)
	}
}

// testMedia checks inbound media records: their creation on receipt,
// invalid media, storing content, and final failures.
func testMedia(t *testing.T, s ChannelStateStore, clock *testClock) {
	img, doc, voice, text := receiveMedia(t, s)
	checkMediaInvalid(t, s, voice, text)
	checkMediaStored(t, s, clock, img)
	checkMediaFailures(t, s, img, doc, voice, text)
}

// receiveMedia receives an image, a captioned document, a voice note, a
// plain text and a redelivered image from one WhatsApp customer.
func receiveMedia(t *testing.T, s ChannelStateStore) (img, doc, voice, text conversation.Received) {
	t.Helper()
	img = receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m1",
		Media: &conversation.Media{Kind: conversation.MediaImage, ProviderID: "media-1", MimeType: "image/jpeg"}})
	if img.Message.Text != "" {
		t.Errorf("image without caption text = %q, want empty", img.Message.Text)
	}
	doc = receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m2", Text: "my claim",
		Media: &conversation.Media{Kind: conversation.MediaDocument, ProviderID: "media-2", MimeType: "application/pdf", Filename: "claim.pdf"}})
	voice = receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m3",
		Media: &conversation.Media{Kind: conversation.MediaVoice, ProviderID: "media-3"}})
	text = receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m4", Text: "hi"})
	receiveIn(t, s, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m1",
		Media: &conversation.Media{Kind: conversation.MediaImage, ProviderID: "media-1", MimeType: "image/jpeg"}}) // redelivered
	return img, doc, voice, text
}

// checkMediaInvalid checks that media without an id or with an unknown kind
// is refused, and what MessageMedia reports for text and voice messages.
func checkMediaInvalid(t *testing.T, s ChannelStateStore, voice, text conversation.Received) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m5",
		Media: &conversation.Media{Kind: conversation.MediaImage}}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("image without media id error = %v, want relais.ErrInvalid", err)
	}
	if _, err := s.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "33600000001", ChannelMessageID: "m6",
		Media: &conversation.Media{Kind: "hologram"}}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("unknown media kind error = %v, want relais.ErrInvalid", err)
	}
	if _, err := s.MessageMedia(ctx, text.Message.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("MessageMedia(text) error = %v, want relais.ErrNotFound", err)
	}
	m, err := s.MessageMedia(ctx, voice.Message.ID)
	if err != nil || m.Status != conversation.MediaNotKept || m.Kind != conversation.MediaVoice {
		t.Errorf("voice media = %+v, %v; want not_kept", m, err)
	}
}

// checkMediaStored checks storing the image's content after a retryable
// failure, and that it cannot be stored twice.
func checkMediaStored(t *testing.T, s ChannelStateStore, clock *testClock, img conversation.Received) {
	t.Helper()
	ctx := context.Background()
	if err := s.FailMedia(ctx, img.Message.ID, conversation.MediaPending, 0, "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	content := []byte("\xff\xd8\xff photo bytes")
	if err := s.StoreMediaContent(ctx, img.Message.ID, "image/png", content); err != nil {
		t.Fatal(err)
	}
	got, b, err := s.MediaContent(ctx, img.Message.ID)
	if err != nil || !bytes.Equal(b, content) || got.Status != conversation.MediaStored || got.Attempts != 1 ||
		got.Size != int64(len(content)) || got.MimeType != "image/png" || got.ProviderID != "media-1" || !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("stored image = %+v (%d bytes), %v", got, len(b), err)
	}
	if err := s.StoreMediaContent(ctx, img.Message.ID, "", content); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("storing twice error = %v, want relais.ErrConflict", err)
	}
}

// checkMediaFailures checks final and invalid failures and the
// conversation's media listing.
func checkMediaFailures(t *testing.T, s ChannelStateStore, img, doc, voice, text conversation.Received) {
	t.Helper()
	ctx := context.Background()
	if err := s.FailMedia(ctx, doc.Message.ID, conversation.MediaTooLarge, 50<<20, "larger than the limit"); err != nil {
		t.Fatal(err)
	}
	if err := s.FailMedia(ctx, doc.Message.ID, conversation.MediaPending, 0, "late"); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("failing a final media error = %v, want relais.ErrConflict", err)
	}
	if err := s.FailMedia(ctx, text.Message.ID, conversation.MediaRefused, 0, "x"); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("FailMedia(text) error = %v, want relais.ErrNotFound", err)
	}
	if err := s.FailMedia(ctx, voice.Message.ID, conversation.MediaStored, 0, "x"); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("FailMedia(stored) error = %v, want relais.ErrInvalid", err)
	}
	all, err := s.ConversationMedia(ctx, img.Conversation.ID)
	if err != nil || len(all) != 3 {
		t.Fatalf("ConversationMedia = %+v, %v; want the 3 media once each", all, err)
	}
	if all[1].MessageID != doc.Message.ID || all[1].Status != conversation.MediaTooLarge || all[1].Size != 50<<20 ||
		all[1].Filename != "claim.pdf" || all[1].LastError != "larger than the limit" {
		t.Errorf("document media = %+v", all[1])
	}
	if _, err := s.ConversationMedia(ctx, img.Conversation.ID+100); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("ConversationMedia(unknown) error = %v, want relais.ErrNotFound", err)
	}
}

func testDeliveries(t *testing.T, s ChannelStateStore, clock *testClock) {
	ctx := context.Background()
	_, out := outboundTo(t, s, "whatsapp", "33600000002", 2)
	ms, err := s.Pending(ctx, waOnly, 2)
	if err != nil || len(ms) != 2 {
		t.Fatalf("Pending = %+v, %v", ms, err)
	}
	at := clock.Now().Add(time.Second)
	// A status that comes before its wamid is recorded is kept for it.
	if err := s.RecordDelivery(ctx, conversation.DeliveryStatus{Channel: "whatsapp", ProviderMessageID: "wamid.A", Status: "delivered", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, ms[0].ID, "wamid.A"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, ms[1].ID, "wamid.B"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []conversation.DeliveryStatus{
		{Channel: "whatsapp", ProviderMessageID: "wamid.A", Status: "sent", At: at}, // late: lower rank, ignored
		{Channel: "whatsapp", ProviderMessageID: "wamid.B", Status: "sent", At: at},
		{Channel: "whatsapp", ProviderMessageID: "wamid.B", Status: "failed", ErrorCode: 131047, At: at.Add(time.Second)},
		{Channel: "whatsapp", ProviderMessageID: "wamid.UNKNOWN", Status: "read", At: at}, // no message carries it
	} {
		if err := s.RecordDelivery(ctx, d); err != nil {
			t.Fatalf("RecordDelivery(%+v): %v", d, err)
		}
	}
	if err := s.RecordDelivery(ctx, conversation.DeliveryStatus{Channel: "whatsapp", ProviderMessageID: "wamid.A", Status: "bounced"}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("unknown status error = %v, want relais.ErrInvalid", err)
	}
	got, err := s.ConversationDeliveries(ctx, out[0].ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	a, b := got[out[0].ID], got[out[1].ID]
	if len(got) != 2 || a.Status != "delivered" || a.ProviderMessageID != "wamid.A" || a.Outbox != conversation.OutboxSent || !a.StatusAt.Equal(at) {
		t.Errorf("delivery of the first message = %+v (of %d); want delivered, sent with wamid.A", a, len(got))
	}
	if b.Status != "failed" || b.ErrorCode != 131047 || b.ProviderMessageID != "wamid.B" {
		t.Errorf("delivery of the second message = %+v; want failed with code 131047", b)
	}
}
