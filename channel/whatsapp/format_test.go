package whatsapp

import "testing"

func TestFormatText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Track your parcel from the link.", "Track your parcel from the link."},
		{"soft wraps joined",
			"Have your policy number ready. Most claims get a\nfirst answer within two working days.",
			"Have your policy number ready. Most claims get a first answer within two working days."},
		{"paragraphs kept", "First paragraph\ngoes on.\n\nSecond one.", "First paragraph goes on.\n\nSecond one."},
		{"bold", "Open **Claims > New claim** or __Help__.", "Open *Claims > New claim* or *Help*."},
		{"list items keep their lines",
			"You need:\n- your policy number\n- the date\n  of the incident\n1. then call us",
			"You need:\n- your policy number\n- the date of the incident\n1. then call us"},
		{"heading", "## Claims\nFile it online.", "*Claims*\nFile it online."},
		{"link", "See [our guide](https://example.com/claims).", "See our guide (https://example.com/claims)."},
		{"hard break kept", "Line one  \nline two", "Line one\nline two"},
		{"windows line ends", "a\r\nb", "a b"},
		{"single asterisks untouched", "Prices * may vary", "Prices * may vary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatText(tt.in); got != tt.want {
				t.Errorf("FormatText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
