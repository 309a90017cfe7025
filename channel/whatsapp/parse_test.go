package whatsapp

import (
	"os"
	"path/filepath"
	"strings"
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

// TestParseEdgeCases pins what the fixtures leave out: skipped messages and
// statuses (with their order), button replies, fields other than
// "messages", contacts that map a phone to a user id, and decoding errors.
func TestParseEdgeCases(t *testing.T) {
	t.Parallel()
	change := func(field, value string) string {
		return `{"field":"` + field + `","value":` + value + `}`
	}
	body := func(changes ...string) string {
		return `{"object":"whatsapp_business_account","entry":[{"changes":[` + strings.Join(changes, ",") + `]}]}`
	}
	tests := []struct {
		name    string
		body    string
		want    Payload
		wantErr string
	}{
		{"button reply", body(change("messages", `{"messages":[{"from":"1","id":"w1","timestamp":"5","type":"button","button":{"text":"Yes"}}]}`)),
			Payload{Messages: []Message{{ID: "w1", From: "1", Timestamp: 5, Type: "button", Text: "Yes"}}}, ""},
		{"skipped in order", body(change("messages", `{"messages":[
			{"from":"1","type":"text","text":{"body":"no id"}},
			{"id":"w2","type":"text","text":{"body":"no sender"}},
			{"from":"1","id":"w3","type":"system","system":{"body":"changed number"}},
			{"from":"1","id":"w4"},
			{"from":"1","id":"w5","type":"video"},
			{"from":"1","id":"w5b","type":"image"},
			{"from":"1","id":"w6","type":"document","document":{"mime_type":"application/pdf"}},
			{"from":"1","id":"w7","type":"interactive","interactive":{"type":"nfm_reply"}},
			{"from":"1","id":"w8","type":"text"}],
			"statuses":[{"status":"sent"},{"id":"o1","status":"typing"},{"id":"o2","status":"read","timestamp":"x"}]}`)),
			Payload{
				Messages: []Message{
					// A video without its object is still a video; an
					// image without one is not read as an image.
					{ID: "w5", From: "1", Type: "video", Media: &conversation.Media{Kind: conversation.MediaVideo}},
					{ID: "w5b", From: "1", Type: "image", Media: &conversation.Media{Kind: conversation.MediaUnsupported}},
					{ID: "w7", From: "1", Type: "interactive", Media: &conversation.Media{Kind: conversation.MediaUnsupported}},
					{ID: "w8", From: "1", Type: "text", Media: &conversation.Media{Kind: conversation.MediaUnsupported}},
				},
				Statuses: []Status{{ID: "o2", Status: "read"}},
				Skipped: []Skipped{{Type: "malformed"}, {ID: "w2", Type: "malformed"}, {ID: "w3", Type: "system"},
					{ID: "w4", Type: "malformed"}, {ID: "w6", Type: "malformed"},
					{Type: "status"}, {ID: "o1", Type: "status"}},
			}, ""},
		{"other fields ignored, first display number kept", body(
			change("account_update", `{"metadata":{"display_phone_number":"999"},"messages":[{"from":"1","id":"w1","type":"text","text":{"body":"x"}}]}`),
			change("", `{"metadata":{"display_phone_number":""},"statuses":[{"id":"o1","status":"failed","errors":[{"code":7},{"code":8}]}]}`),
			change("messages", `{"metadata":{"display_phone_number":"111"},"messages":[{"from":"1","id":"w2","timestamp":"-3","type":"text","text":{"body":"y"}}]}`),
			change("messages", `{"metadata":{"display_phone_number":"222"}}`)),
			Payload{DisplayPhoneNumber: "111",
				Messages: []Message{{ID: "w2", From: "1", Type: "text", Text: "y"}},
				Statuses: []Status{{ID: "o1", Status: "failed", ErrorCode: 7}}}, ""},
		{"contacts map the sender to a user id, per change", body(
			change("messages", `{"contacts":[{"wa_id":"1","user_id":"U1"},{"wa_id":"2"}],"messages":[
				{"from":"1","id":"w1","timestamp":"9","type":"text","text":{"body":"a"}},
				{"from":"2","id":"w2","timestamp":"8","type":"text","text":{"body":"b"}},
				{"from":"1","from_user_id":"U9","id":"w3","timestamp":"8","type":"text","text":{"body":"c"}}]}`),
			change("messages", `{"messages":[{"from":"1","id":"w4","timestamp":"1","type":"text","text":{"body":"d"}}]}`)),
			Payload{Messages: []Message{
				{ID: "w4", From: "1", Timestamp: 1, Type: "text", Text: "d"},
				{ID: "w2", From: "2", Timestamp: 8, Type: "text", Text: "b"},
				{ID: "w3", From: "U9", Phone: "1", Timestamp: 8, Type: "text", Text: "c"},
				{ID: "w1", From: "U1", Phone: "1", Timestamp: 9, Type: "text", Text: "a"},
			}}, ""},
		{"truncated", `{"entry":`, Payload{}, "decode whatsapp webhook: invalid JSON"},
		{"bad syntax", `{"entry":]`, Payload{}, "decode whatsapp webhook: invalid JSON"},
		{"wrong shape", `{"entry":{}}`, Payload{}, "decode whatsapp webhook: unexpected JSON shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse() (-want +got):\n%s", diff)
			}
		})
	}
}
