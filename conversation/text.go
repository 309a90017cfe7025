package conversation

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais"
)

// MaxTextChars bounds the text of a message a person writes, a customer or
// an agent: longer than any chat message, short enough that nobody pastes
// a document into the assistant.
const MaxTextChars = 8000

// CleanText returns s in the form every stored message text takes, whoever
// wrote it and whichever store keeps it:
//   - control characters are dropped, C0 (NUL, BEL, ESC...), DEL and C1,
//     except tab and newline. PostgreSQL refuses a NUL in text outright and
//     the embedded store cut the transcript at it, so one message would
//     read differently, or be lost, depending on the store; the others are
//     invisible, and in an agent's console or a terminal some of them do
//     things (ESC starts escape sequences).
//   - CRLF and lone CR become LF, so that a line break is one character
//     whatever the customer's device sent.
//   - invalid UTF-8 becomes U+FFFD, the replacement character, rather than
//     an error: encoding/json already does that to every JSON body (the
//     API, webhooks), so replacing keeps one behaviour for every entry
//     point, and a customer's message is never dropped because a channel
//     mangled one byte of it.
//
// Format characters (zero-width joiners, direction marks) are kept: emoji
// and right-to-left scripts need them. CleanText(CleanText(s)) ==
// CleanText(s).
func CleanText(s string) string {
	if isClean(s) {
		return s
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == '\r':
			if !strings.HasPrefix(s[i+1:], "\n") {
				b.WriteByte('\n')
			}
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isClean reports whether CleanText would leave s as it is, without
// allocating: almost every message is.
func isClean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unicode.IsControl(r) {
			return false
		}
		i += size
	}
	return true
}

// ValidateText is the rule for the text of a message a person writes, a
// customer on any channel or an agent replying: CleanText, then trimmed of
// surrounding space. The error wraps relais.ErrInvalid when nothing is left
// (a message of only control characters is an empty one) or the text is
// longer than MaxTextChars characters.
func ValidateText(s string) (string, error) {
	s = strings.TrimSpace(CleanText(s))
	switch {
	case s == "":
		return "", fmt.Errorf("text is empty: %w", relais.ErrInvalid)
	case utf8.RuneCountInString(s) > MaxTextChars:
		return "", fmt.Errorf("text is longer than %d characters: %w", MaxTextChars, relais.ErrInvalid)
	}
	return s, nil
}

// hasControl reports whether an identifier holds a control character.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
