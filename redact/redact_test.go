package redact

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		// Email addresses.
		{"email", "write to jane.doe+shop@example.co.uk please", "write to [EMAIL_1] please"},
		{"email at the end of a sentence", "Mon adresse : élodie.martin@orange.fr.", "Mon adresse : [EMAIL_1]."},
		{"email in brackets", "(jane@example.com)", "([EMAIL_1])"},
		{"two emails, one repeated", "a@x.io, b@x.io and A@X.io", "[EMAIL_1], [EMAIL_2] and [EMAIL_1]"},
		{"not an email: no domain dot", "ping me @jane or jane@localhost", "ping me @jane or jane@localhost"},
		{"not an email: one-letter tld", "jane@example.c", "jane@example.c"},

		// Phone numbers.
		{"phone FR international", "call +33 6 12 34 56 78 now", "call [PHONE_1] now"},
		{"phone FR international with (0)", "tel +33 (0)6 12 34 56 78", "tel [PHONE_1]"},
		{"phone FR international compact", "+33612345678", "[PHONE_1]"},
		{"phone US international", "Call +1 (415) 555-0100.", "Call [PHONE_1]."},
		{"phone UK international", "+44 20 7946 0958", "[PHONE_1]"},
		{"phone 00 prefix", "0033 6 12 34 56 78", "[PHONE_1]"},
		{"phone FR national spaces", "mon numéro 06 12 34 56 78 merci", "mon numéro [PHONE_1] merci"},
		{"phone FR national dots", "06.12.34.56.78", "[PHONE_1]"},
		{"phone FR national dashes", "06-12-34-56-78", "[PHONE_1]"},
		{"phone FR national compact", "Tél.0612345678", "Tél.[PHONE_1]"},
		{"phone FR toll free", "0 800 123 456", "[PHONE_1]"},
		{"phone US national", "(415) 555-0100 or 415-555-0199", "[PHONE_1] or [PHONE_2]"},
		{"phone US with trunk", "1-800-555-0100", "[PHONE_1]"},
		{"phone after n°", "n°06 12 34 56 78", "n°[PHONE_1]"},
		{"phone after a date", "le 2026-12-05 06 12 34 56 78", "le 2026-12-05 [PHONE_1]"},
		{"phone after a slash date", "le 05/12/2026 au 06 12 34 56 78", "le 05/12/2026 au [PHONE_1]"},
		{"phone after an order number", "order #123456 06 12 34 56 78", "order #123456 [PHONE_1]"},
		{"same phone two ways", "06 12 34 56 78 / 06.12.34.56.78", "[PHONE_1] / [PHONE_1]"},
		{"not a phone: order number", "my order #123456 is late", "my order #123456 is late"},
		{"not a phone: order number 9 digits compact", "order 123456789", "order 123456789"},
		{"not a phone: date", "delivered on 2026-12-05", "delivered on 2026-12-05"},
		{"not a phone: date and time", "2026-12-05 10:30", "2026-12-05 10:30"},
		{"not a phone: dotted date", "le 05.12.2026 à 10h", "le 05.12.2026 à 10h"},
		{"not a phone: amount with comma", "I paid 1 250,00 € twice", "I paid 1 250,00 € twice"},
		{"not a phone: large amount", "a loan of 1 250 000 000 € or € 12 345 678 901", "a loan of 1 250 000 000 € or € 12 345 678 901"},
		{"not a phone: amount in euros", "12 345 678 910 euros", "12 345 678 910 euros"},
		{"not a phone: year", "since 2019 and 2024", "since 2019 and 2024"},
		{"not a phone: policy with letters", "policy POL-123456789 and AB123456789 and ref_0612345678", "policy POL-123456789 and AB123456789 and ref_0612345678"},
		{"not a phone: glued to letters", "0612345678abc", "0612345678abc"},
		{"not a phone: ip address", "server 192.168.100.200", "server 192.168.100.200"},
		{"not a phone: decimal", "3.14159265358", "3.14159265358"},
		{"not a phone: short international", "+33 6 12", "+33 6 12"},

		// IBANs.
		{"iban FR grouped", "IBAN: FR76 3000 6000 0112 3456 7890 189.", "IBAN: [IBAN_1]."},
		{"iban FR compact lower case", "fr7630006000011234567890189", "[IBAN_1]"},
		{"iban DE then a number", "DE89 3704 0044 0532 0130 00 12", "[IBAN_1] 12"},
		{"iban GB with letters", "GB29 NWBK 6016 1331 9268 19 is mine", "[IBAN_1] is mine"},
		{"not an iban: wrong checksum", "FR76 3000 6000 0112 3456 7890 188", "FR76 3000 6000 0112 3456 7890 188"},
		{"not an iban: wrong length", "FR76 3000 6000 0112 3456 7890", "FR76 3000 6000 0112 3456 7890"},

		// Payment cards.
		{"card visa spaces", "card 4111 1111 1111 1111 exp 12/27", "card [CARD_1] exp 12/27"},
		{"card mastercard dashes", "5555-5555-5555-4444", "[CARD_1]"},
		{"card amex", "3782 822463 10005", "[CARD_1]"},
		{"card compact", "4012888888881881", "[CARD_1]"},
		{"card then expiry", "4111 1111 1111 1111 12/27", "[CARD_1] 12/27"},
		{"card 19 digits", "6011 0000 0000 0000 001", "[CARD_1]"},
		{"not a card: luhn invalid", "4111 1111 1111 1112", "4111 1111 1111 1112"},
		{"not a card: mixed separators", "4111-1111 1111-1111", "4111-1111 1111-1111"},
		{"not a card: too long", "41111111111111111111111", "41111111111111111111111"},

		// NIR.
		{"nir spaced", "NIR 1 85 05 78 006 084 91", "NIR [NIR_1]"},
		{"nir compact", "286027511612381", "[NIR_1]"},
		{"nir Corsica 2A", "2 90 03 2A 012 345 43", "[NIR_1]"},
		{"nir Corsica 2B compact", "290032B01234570", "[NIR_1]"},
		{"nir Corsica 2B", "2 90 03 2b 012 345 70", "[NIR_1]"},
		{"not a nir: wrong key", "1 85 05 78 006 084 36", "1 85 05 78 006 084 36"},

		// Several kinds, numbered per kind.
		{"mixed", "Je suis jane@ex.fr, +33 6 12 34 56 78, IBAN FR76 3000 6000 0112 3456 7890 189, carte 4111 1111 1111 1111, ou 07 98 76 54 32.",
			"Je suis [EMAIL_1], [PHONE_1], IBAN [IBAN_1], carte [CARD_1], ou [PHONE_2]."},
		{"phone then card", "06 12 34 56 78 4111 1111 1111 1111", "[PHONE_1] [CARD_1]"},
		{"international then national", "+33 6 12 34 56 78 12 34 06 12 34 56 78", "[PHONE_1] [PHONE_2]"},
		{"card then nir", "4111111111111111 1 85 05 78 006 084 91", "[CARD_1] [NIR_1]"},
		{"nothing", "How do I cancel my order?", "How do I cancel my order?"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r Redactor
			if got := r.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFindKinds(t *testing.T) {
	t.Parallel()
	text := "a@b.io +33 6 12 34 56 78 FR7630006000011234567890189 4111111111111111 185057800608491"
	var got []Kind
	for _, m := range Find(text) {
		got = append(got, m.Kind)
	}
	want := []Kind{Email, Phone, IBAN, Card, NIR}
	if !slices.Equal(got, want) {
		t.Errorf("kinds found = %v, want %v", got, want)
	}
	if k := Kinds(); len(k) != len(want) {
		t.Errorf("Kinds() = %v, want the %d kinds Find finds", k, len(want))
	}
}

// TestRedactorNumbersAcrossTexts: one Redactor numbers values across the
// texts of a request, and Restore puts back only its own placeholders.
func TestRedactorNumbersAcrossTexts(t *testing.T) {
	t.Parallel()
	var r Redactor
	first := r.Redact("mail a@x.io or b@x.io")
	second := r.Redact("I said B@X.io, call 06 12 34 56 78")
	if first != "mail [EMAIL_1] or [EMAIL_2]" || second != "I said [EMAIL_2], call [PHONE_1]" {
		t.Fatalf("Redact = %q, %q", first, second)
	}
	got := r.Restore("Customer [EMAIL_2] ([phone_1]) wants [EMAIL_3] and [CARD] changed; see [note].")
	want := "Customer b@x.io (06 12 34 56 78) wants [EMAIL_3] and [CARD] changed; see [note]."
	if got != want {
		t.Errorf("Restore\n got %q\nwant %q", got, want)
	}
	var empty Redactor
	if got := empty.Restore("[EMAIL_1]"); got != "[EMAIL_1]" {
		t.Errorf("an unused Redactor restored %q", got)
	}
}

func TestHasPlaceholder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"We will write to [EMAIL_1].", true},
		{"[card]", true},
		{"call [PHONE_12] today", true},
		{"[NIR_1", false},
		{"[EMAIL_]", false},
		{"[EMAILS]", false},
		{"see [1] and [note]", false},
		{"[[IBAN]]", true},
		{"", false},
		{"no brackets at all", false},
	}
	for _, tt := range tests {
		if got := HasPlaceholder(tt.in); got != tt.want {
			t.Errorf("HasPlaceholder(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRedactedTextHasNothingLeft: redacting a redacted text changes
// nothing, and the output holds no placeholder-free trace of a value.
func TestRedactedTextHasNothingLeft(t *testing.T) {
	t.Parallel()
	in := "x@y.fr +33 6 12 34 56 78 FR76 3000 6000 0112 3456 7890 189 4111 1111 1111 1111 1 85 05 78 006 084 91"
	var r Redactor
	out := r.Redact(in)
	if again := new(Redactor).Redact(out); again != out {
		t.Errorf("redacting twice: %q, then %q", out, again)
	}
	for _, v := range []string{"x@y.fr", "12 34 56 78", "3000 6000", "4111", "006 084"} {
		if strings.Contains(out, v) {
			t.Errorf("output %q still has %q", out, v)
		}
	}
}

func TestRedactDoesNotAllocateWithoutMatch(t *testing.T) {
	text := strings.Repeat("How do I cancel my order #123456 placed on 2026-12-05? ", 10)
	var r Redactor
	if n := testing.AllocsPerRun(100, func() { r.Redact(text) }); n != 0 {
		t.Errorf("Redact without personal data allocated %v times, want 0", n)
	}
}

// FuzzRedact: redaction never panics and passes checkRedaction.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"jane@example.com +33 6 12 34 56 78",
		"FR76 3000 6000 0112 3456 7890 189",
		"4111 1111 1111 1111 and (415) 555-0100",
		"2 90 03 2A 012 345 43",
		"2026-12-05 06 12 34 56 78 1 250,00 €",
		"a@b.co@c.fr [EMAIL_1] x-0612345678",
		"+1 (415)(555) 0100 ((( +++ @@@ ...",
		"06 12 34 56 78 4111 1111 1111 1111 12/27",
		"+33 6 12 34 56 78 12 34 06 12 34 56 78-2B 1 85",
		"ab12 3456 7890 1234 5678 90 GB29 NWBK 6016 1331 9268 19",
		"€ 12 345 678 901,50 192.168.1.1 0033612345678",
		"43_411178a@b.coEUR+33 6 12 34 56 78x.fr17890",
		"+33(415)(415)DE89 3704 0044 0532 0130 00+330112",
	} {
		f.Add(s)
	}
	f.Fuzz(checkRedaction)
}

// TestRedactPieces checks FuzzRedact's properties on texts made of pieces
// of personal data, separators and words glued at random: the fuzzer's
// random bytes rarely build a whole IBAN next to a bracketed phone number,
// and it runs only on demand.
func TestRedactPieces(t *testing.T) {
	t.Parallel()
	pieces := []string{
		"06", "12", "34", "78", "+33", "+1", "(0)", "(415)", "555", "0100", "4111", "1111", "FR76", "3000",
		"0112", "189", "2A", "2B", "1", "85", "05", "2026", "006", "084", "91", "0", "00", "9", "123456",
		" ", " ", " ", "-", ".", "/", ",", "(", ")", "_", "@", "a", "x.fr", "jane", "é", "n°", "€", "EUR", "\n",
		"[EMAIL_1]", "0612345678", "GB29", "NWBK", "a@b.co", "+33 6 12 34 56 78", "4111 1111 1111 1111",
		"1 85 05 78 006 084 91", "2 90 03 2A 012 345 43", "DE89 3704 0044 0532 0130 00", "3782 822463 10005",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		var b strings.Builder
		for range 1 + r.IntN(20) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		checkRedaction(t, b.String())
	}
}

// checkRedaction fails t unless redacting in leaves nothing Find would find,
// removes every value found (unless the same text also appears where it was
// not one, such as glued to a word), and Find's matches do not overlap.
func checkRedaction(t *testing.T, in string) {
	var r Redactor
	out := r.Redact(in)
	if left := Find(out); len(left) > 0 {
		m := left[0]
		t.Fatalf("Redact(%q) = %q, which still has %s %q", in, out, m.Kind, out[m.Start:m.End])
	}
	found := Find(in)
	count := make(map[string]int)
	for _, m := range found {
		count[in[m.Start:m.End]]++
	}
	for v, n := range count {
		if strings.Count(in, v) == n && strings.Contains(out, v) {
			t.Fatalf("Redact(%q) = %q, which still has %q", in, out, v)
		}
	}
	for i := 1; i < len(found); i++ {
		if found[i].Start < found[i-1].End {
			t.Fatalf("Find(%q) overlaps: %v", in, found)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"plain", strings.Repeat("Hello, how do I cancel my order #123456 placed on 2026-12-05 for 1 250,00 €? ", 13)},
		{"personal", strings.Repeat("I am jane.doe@example.com, call +33 6 12 34 56 78, IBAN FR76 3000 6000 0112 3456 7890 189, card 4111 1111 1111 1111. ", 8)},
		{"digits", strings.Repeat("1 2 3 4 5 6 7 8 9 ", 60)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				var r Redactor
				r.Redact(bc.text)
			}
		})
	}
}
