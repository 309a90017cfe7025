package language

import (
	"slices"
	"testing"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want string
	}{
		{"How do I cancel my order?", English},
		{"I want to speak to a real person", English},
		{"Comment puis-je annuler ma commande ?", French},
		{"Je veux parler à un conseiller", French},
		{"Où en est mon remboursement", French},
		{"bonjour", French},
		{"hello", English},
		{"ABC-1234", Unknown},
		{"", Unknown},
	}
	for _, tt := range tests {
		if got := Detect(tt.text); got != tt.want {
			t.Errorf("Detect(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want []string
	}{
		{"Don't CANCEL my order!", []string{"dont", "cancel", "my", "order"}},
		{"L'assurance d'habitation", []string{"l", "assurance", "d", "habitation"}},
		{"Réclamation n°42", []string{"reclamation", "n", "42"}},
		{"  ", []string{}},
	}
	for _, tt := range tests {
		if got := Words(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestStem(t *testing.T) {
	t.Parallel()
	if a, b := Stem(English, "cancelling"), Stem(English, "cancel"); a != b {
		t.Errorf("English stems differ: %q vs %q", a, b)
	}
	if a, b := Stem(French, "remboursements"), Stem(French, "remboursement"); a != b {
		t.Errorf("French stems differ: %q vs %q", a, b)
	}
	if got := Stem(English, "my"); got != "my" {
		t.Errorf("short word changed: %q", got)
	}
}

func TestIsStopword(t *testing.T) {
	t.Parallel()
	if !IsStopword(English, "the") || IsStopword(English, "order") {
		t.Error("English stop words wrong")
	}
	if !IsStopword(French, "les") || IsStopword(French, "commande") {
		t.Error("French stop words wrong")
	}
	if !IsStopword(Unknown, "les") || !IsStopword(Unknown, "the") {
		t.Error("Unknown should check both languages")
	}
}

func TestEachCharGram(t *testing.T) {
	t.Parallel()
	var got []string
	EachCharGram("café", 3, 4, func(g string) { got = append(got, g) })
	want := []string{"<ca", "caf", "afé", "fé>", "<caf", "café", "afé>"}
	if !slices.Equal(got, want) {
		t.Errorf("EachCharGram(café, 3, 4) = %q, want %q", got, want)
	}
}
