// Package redact owns the rule of which personal data leaves Relais: it
// finds email addresses, phone numbers, IBANs, payment card numbers and
// French social-security numbers (NIR) in a text and replaces each with a
// typed placeholder, before the text reaches a model provider or a log.
//
// Placeholders read [KIND_N]: KIND is one of Kinds() (EMAIL, PHONE, IBAN,
// CARD, NIR) and N numbers the distinct values of that kind, from 1, in the
// order a Redactor first meets them. One value gets one placeholder however
// often it is written, and two values get two, so a model can still tell
// "the address I gave first" from "the other one" without seeing either.
//
// Detection is deliberately strict where a checksum exists (IBAN mod 97,
// card Luhn, NIR key) and shape-based for phones: a value that fails its
// checksum is left alone, and so are order numbers, years, dates, amounts
// and identifiers glued to letters. The detectors are hand-written scanners
// over the bytes, linear in the text, with no regular expression.
package redact

import (
	"strconv"
	"strings"
)

// Kind is a kind of personal data; its name is the one its placeholders
// carry.
type Kind string

// The kinds detected.
const (
	Email Kind = "EMAIL" // jane.doe@example.com
	Phone Kind = "PHONE" // +33 6 12 34 56 78, +1 (415) 555-0100, 06 12 34 56 78
	IBAN  Kind = "IBAN"  // FR76 3000 6000 0112 3456 7890 189 (mod-97 checked)
	Card  Kind = "CARD"  // 4111 1111 1111 1111 (13 to 19 digits, Luhn checked)
	NIR   Kind = "NIR"   // 1 85 05 78 006 084 36 (French social security, key checked)
)

// Kinds lists every kind detected, for documentation and tests.
func Kinds() []Kind { return []Kind{Email, Phone, IBAN, Card, NIR} }

// Match is one value found in a text: text[Start:End].
type Match struct {
	Kind       Kind
	Start, End int
}

// Redactor replaces personal data with placeholders and remembers which
// placeholder stands for which value, so that Restore can put the originals
// back into text shown to a person (never into text sent back to a model).
// Use one Redactor for the texts of one request, so that numbering is shared
// across them. The zero value is ready to use; a Redactor is not safe for
// concurrent use.
type Redactor struct {
	byValue   map[string]string // kind + canonical value -> placeholder
	originals map[string]string // placeholder -> the value as first written
	counts    map[Kind]int
}

// Redact returns text with every value Find detects replaced by its
// placeholder. Text without any is returned as is, without allocating.
func (r *Redactor) Redact(text string) string {
	ms := Find(text)
	if len(ms) == 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, m := range ms {
		b.WriteString(text[last:m.Start])
		b.WriteString(r.placeholder(m.Kind, text[m.Start:m.End]))
		last = m.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// Restore returns text with the placeholders this Redactor made replaced by
// the values they stand for; any other bracketed text, placeholder-shaped or
// not, is left as it is.
func (r *Redactor) Restore(text string) string {
	if len(r.originals) == 0 || !strings.Contains(text, "[") {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '[' {
			continue
		}
		end, ok := placeholderAt(text, i)
		if !ok {
			continue
		}
		orig, known := r.originals[canonicalPlaceholder(text[i:end])]
		if !known {
			continue
		}
		b.WriteString(text[last:i])
		b.WriteString(orig)
		last = end
		i = end - 1
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

func (r *Redactor) placeholder(k Kind, value string) string {
	if r.byValue == nil {
		r.byValue = make(map[string]string)
		r.originals = make(map[string]string)
		r.counts = make(map[Kind]int)
	}
	key := string(k) + "\x00" + canonical(k, value)
	if p, ok := r.byValue[key]; ok {
		return p
	}
	r.counts[k]++
	p := "[" + string(k) + "_" + strconv.Itoa(r.counts[k]) + "]"
	r.byValue[key] = p
	r.originals[p] = value
	return p
}

// canonical is what makes two spellings of a value the same value: case
// for addresses, and only the letters and digits for the numbers (spaces,
// dashes and brackets are how people write them, not what they are).
func canonical(k Kind, value string) string {
	if k == Email {
		return strings.ToLower(value)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r == '+':
			return r
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r
		}
		return -1
	}, value)
}

// HasPlaceholder reports whether s holds a placeholder, numbered or not
// ([EMAIL_2], [CARD]), in any letter case: what a model writes when it
// repeats one.
func HasPlaceholder(s string) bool {
	for i := strings.IndexByte(s, '['); i >= 0; {
		if _, ok := placeholderAt(s, i); ok {
			return true
		}
		next := strings.IndexByte(s[i+1:], '[')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// placeholderAt reports whether s[i:] starts with a placeholder, and where
// it ends.
func placeholderAt(s string, i int) (int, bool) {
	rest := s[i+1:]
	for _, k := range Kinds() {
		name := string(k)
		if len(rest) <= len(name) || !strings.EqualFold(rest[:len(name)], name) {
			continue
		}
		j := len(name)
		if rest[j] == '_' {
			d := j + 1
			for d < len(rest) && isDigit(rest[d]) {
				d++
			}
			if d == j+1 {
				continue
			}
			j = d
		}
		if j < len(rest) && rest[j] == ']' {
			return i + 1 + j + 1, true
		}
	}
	return 0, false
}

// canonicalPlaceholder upper-cases a placeholder, as Redactor writes them.
func canonicalPlaceholder(p string) string { return strings.ToUpper(p) }
