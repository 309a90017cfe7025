package redact

import (
	"strings"
	"unicode/utf8"
)

// MaskRune stands for each hidden character of a masked identifier.
const MaskRune = '•'

// MaskID hides most of a customer identifier shown to a person (an agent
// in a deployment that masks them): enough stays to tell two customers
// apart on screen and to match what the customer reads out, never enough
// to contact them. A phone number or an opaque id keeps its first three
// and last two characters; an email address keeps the first character of
// its local part and its domain; an id of six characters or fewer keeps
// its last one. Separators (spaces, dots, dashes) are kept as they are.
func MaskID(id string) string {
	if at := strings.LastIndexByte(id, '@'); at > 0 {
		_, first := utf8.DecodeRuneInString(id)
		return id[:first] + maskRunes(id[first:at], 0, 0) + id[at:]
	}
	n := utf8.RuneCountInString(id)
	if n <= 6 {
		return maskRunes(id, 0, 1)
	}
	return maskRunes(id, 3, 2)
}

// maskRunes replaces the characters of s with MaskRune but for its first
// keepHead and last keepTail ones and its separators.
func maskRunes(s string, keepHead, keepTail int) string {
	n := utf8.RuneCountInString(s)
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	i := 0
	for _, r := range s {
		switch {
		case i < keepHead || i >= n-keepTail:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune(MaskRune)
		}
		i++
	}
	return b.String()
}
