package redact

import "testing"

func TestMaskID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"+33612345678", "+33•••••••78"},
		{"+33 6 12 34 56 78", "+33 • •• •• •• 78"},
		{"jane.doe@example.com", "j•••.•••@example.com"},
		{"a@example.com", "a@example.com"},
		{"web:5f3a9c2e", "web•••••••2e"},
		{"abc", "••c"},
		{"", ""},
	} {
		if got := MaskID(tt.in); got != tt.want {
			t.Errorf("MaskID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
