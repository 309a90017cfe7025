package whatsapp

import "testing"

// TestFormatText: WhatsApp's text is the shared rule with *bold*.
func TestFormatText(t *testing.T) {
	in := "## Claims\nOpen **Claims > New claim**; most get a\nfirst answer [soon](https://example.com/claims)."
	want := "*Claims*\nOpen *Claims > New claim*; most get a first answer soon (https://example.com/claims)."
	if got := FormatText(in); got != want {
		t.Errorf("FormatText(%q)\n got %q\nwant %q", in, got, want)
	}
}
