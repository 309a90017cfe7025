package whatsapp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais/conversation"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	const kerry = "16315551181"
	media := func(kind, id, mime, file string) *conversation.Media {
		return &conversation.Media{Kind: kind, ProviderID: id, MimeType: mime, Filename: file}
	}
	tests := []struct {
		file string
		want Payload
	}{
		{"text.json", Payload{DisplayPhoneNumber: "15550783881", Messages: []Message{
			{ID: "wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", From: kerry, Timestamp: 1749416383, Type: "text",
				Text: "Does my policy cover hail damage?"}}}},
		{"interactive.json", Payload{DisplayPhoneNumber: "15550783881", Messages: []Message{
			{ID: "wamid.BUTTON1", From: kerry, Timestamp: 1749416390, Type: "interactive", Text: "No"},
			{ID: "wamid.LIST1", From: kerry, Timestamp: 1749416391, Type: "interactive", Text: "File a claim"}}}},
		// Out of order in the payload: sorted by timestamp.
		{"media.json", Payload{DisplayPhoneNumber: "15550783881", Messages: []Message{
			{ID: "wamid.IMG1", From: kerry, Timestamp: 1749416400, Type: "image", Text: "The dent on the door",
				Media: media(conversation.MediaImage, "1479537139650973", "image/jpeg", "")},
			{ID: "wamid.DOC1", From: kerry, Timestamp: 1749416402, Type: "document", Text: "Repair quote",
				Media: media(conversation.MediaDocument, "1003383421387256", "application/pdf", "quote.pdf")}}}},
		{"other.json", Payload{DisplayPhoneNumber: "15550783881", Messages: []Message{
			{ID: "wamid.AUDIO1", From: kerry, Timestamp: 1749416410, Type: "audio", Media: media(conversation.MediaAudio, "2001", "audio/mpeg", "")},
			{ID: "wamid.VOICE1", From: kerry, Timestamp: 1749416411, Type: "audio", Media: media(conversation.MediaVoice, "2002", "audio/ogg; codecs=opus", "")},
			{ID: "wamid.VIDEO1", From: kerry, Timestamp: 1749416412, Type: "video", Text: "the crash", Media: media(conversation.MediaVideo, "2003", "video/mp4", "")},
			{ID: "wamid.LOC1", From: kerry, Timestamp: 1749416413, Type: "location", Media: media(conversation.MediaLocation, "", "", "")},
			{ID: "wamid.CONTACTS1", From: kerry, Timestamp: 1749416414, Type: "contacts", Media: media(conversation.MediaContacts, "", "", "")},
			{ID: "wamid.STICKER1", From: kerry, Timestamp: 1749416415, Type: "sticker", Media: media(conversation.MediaSticker, "2004", "image/webp", "")},
			{ID: "wamid.REACT1", From: kerry, Timestamp: 1749416416, Type: "reaction", Media: media(conversation.MediaReaction, "", "", "")},
			{ID: "wamid.UNSUP1", From: kerry, Timestamp: 1749416417, Type: "unsupported", Media: media(conversation.MediaUnsupported, "", "", "")}}}},
		{"statuses.json", Payload{DisplayPhoneNumber: "15550783881", Statuses: []Status{
			{ID: "wamid.OUT1", Status: "sent", Timestamp: 1749416500},
			{ID: "wamid.OUT1", Status: "delivered", Timestamp: 1749416501},
			{ID: "wamid.OUT1", Status: "read", Timestamp: 1749416502},
			{ID: "wamid.OUT2", Status: "failed", Timestamp: 1749416503, ErrorCode: 131047}}}},
		// Keyed on the business-scoped user id; the phone kept when given.
		{"bsuid.json", Payload{DisplayPhoneNumber: "15550783881", Messages: []Message{
			{ID: "wamid.BSUID1", From: "FR.1502576394655843", Phone: "33612345678", Timestamp: 1749416600, Type: "text", Text: "STOP"},
			{ID: "wamid.BSUID2", From: "BR.99887766554433", Timestamp: 1749416601, Type: "text", Text: "olá"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Parse(readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b []Skipped) bool { return len(a) == len(b) })); diff != "" {
				t.Errorf("Parse(%s) (-want +got):\n%s", tt.file, diff)
			}
			// Every message is one Receive accepts.
			for _, m := range got.Messages {
				if _, err := conversation.ValidateInbound(conversation.Inbound{Channel: Channel, CustomerID: m.From,
					ChannelMessageID: m.ID, Text: m.Text, Phone: m.Phone, Media: m.Media}); err != nil {
					t.Errorf("message %s: ValidateInbound: %v", m.ID, err)
				}
			}
		})
	}
}
