package conversation

import "testing"

func TestFormatText(t *testing.T) {
	t.Parallel()
	whatsApp := TextStyle{Bold: "*"}
	tests := []struct {
		name, in string
		style    TextStyle
		want     string
	}{
		{"plain", "Track your parcel from the link.", PlainText, "Track your parcel from the link."},
		{"soft wraps joined", "Have your policy number ready. Most claims get a\nfirst answer within two working days.", PlainText,
			"Have your policy number ready. Most claims get a first answer within two working days."},
		{"paragraphs kept", "First paragraph\ngoes on.\n\nSecond one.", PlainText, "First paragraph goes on.\n\nSecond one."},
		{"bold, plain", "Open **Claims > New claim** or __Help__.", PlainText, "Open Claims > New claim or Help."},
		{"bold, WhatsApp", "Open **Claims > New claim** or __Help__.", whatsApp, "Open *Claims > New claim* or *Help*."},
		{"list items keep their lines", "You need:\n- your policy number\n- the date\n  of the incident\n1. then call us", PlainText,
			"You need:\n- your policy number\n- the date of the incident\n1. then call us"},
		{"heading, plain", "## Claims\nFile it online.", PlainText, "Claims\nFile it online."},
		{"heading, WhatsApp", "## Claims\nFile it online.", whatsApp, "*Claims*\nFile it online."},
		{"link", "See [our guide](https://example.com/claims).", PlainText, "See our guide (https://example.com/claims)."},
		{"link of another scheme left as written", "[x](javascript:alert(1))", PlainText, "[x](javascript:alert(1))"},
		{"hard break kept", "Line one  \nline two", PlainText, "Line one\nline two"},
		{"windows line ends", "a\r\nb", PlainText, "a b"},
		{"single asterisks untouched", "Prices * may vary", whatsApp, "Prices * may vary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatText(tt.in, tt.style); got != tt.want {
				t.Errorf("FormatText(%q, %+v)\n got %q\nwant %q", tt.in, tt.style, got, tt.want)
			}
		})
	}
}
