// Package language owns what Relais knows about natural language without a
// model: folding text for matching, splitting it into words, telling English
// from French, stop words and stemming. The offline embedder, ingest and the
// assistant share it so that a question and an article are read the same way.
package language

import (
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/french"
)

// Codes of the languages Relais detects. Unknown is the empty string.
const (
	English = "en"
	French  = "fr"
	Unknown = ""
)

// Fold lower-cases s and removes the diacritics of Latin letters, so that
// "Réclamation" and "reclamation" match. Other scripts pass through lowered.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		if f, ok := folds[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var folds = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ñ': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'œ': "oe",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss",
	'’': "'", '‘': "'",
}

// Words splits folded text into words: runs of letters and digits. An
// apostrophe inside an English word is dropped ("don't" -> "dont"), while a
// French elision splits ("l'assurance" -> "l", "assurance").
func Words(s string) []string {
	s = Fold(s)
	words := make([]string, 0, len(s)/5+1)
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		case r == '\'' && cur.Len() > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
			if isElision(cur.String()) {
				flush()
			}
			// English contraction: keep going as one word.
		default:
			flush()
		}
	}
	flush()
	return words
}

// EachCharGram calls f with every character n-gram, min to max runes
// long, of "<w>": the angle brackets mark the word's edges, so prefixes and
// suffixes are n-grams too, and a misspelt word ("cancle", "fraudulant")
// still shares most of its n-grams with the right one. Shorter n-grams
// come first, each length from the word's start.
func EachCharGram(w string, min, max int, f func(gram string)) {
	rs := make([]rune, 0, len(w)+2)
	rs = append(rs, '<')
	rs = append(rs, []rune(w)...)
	rs = append(rs, '>')
	for n := min; n <= max; n++ {
		for i := 0; i+n <= len(rs); i++ {
			f(string(rs[i : i+n]))
		}
	}
}

func isElision(prefix string) bool {
	switch prefix {
	case "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu":
		return true
	}
	return false
}

// Detect tells whether text is English or French from its stop words and
// French diacritics. It returns Unknown when the text gives no signal either
// way (a product code, a name, a single ambiguous word).
func Detect(text string) string {
	return DetectWords(text, Words(text))
}

// DetectWords is Detect for a caller that has already split text with
// Words, so that the text is not split twice.
func DetectWords(text string, words []string) string {
	en, fr := 0.0, 0.0
	for _, r := range text {
		switch r {
		case 'é', 'è', 'ê', 'à', 'ç', 'ù', 'û', 'ô', 'î', 'ï', 'œ', 'É', 'È', 'À', 'Ç':
			fr += 0.5
		}
	}
	for _, w := range words {
		if _, ok := englishMarkers[w]; ok {
			en++
		}
		if _, ok := frenchMarkers[w]; ok {
			fr++
		}
	}
	switch {
	case en == 0 && fr == 0:
		return Unknown
	case fr > en:
		return French
	case en > fr:
		return English
	default:
		return Unknown
	}
}

// IsStopword reports whether w (folded) is a function word of lang that
// carries little meaning for matching. Unknown checks both languages.
func IsStopword(lang, w string) bool {
	switch lang {
	case English:
		_, ok := englishStop[w]
		return ok
	case French:
		_, ok := frenchStop[w]
		return ok
	default:
		_, en := englishStop[w]
		_, fr := frenchStop[w]
		return en || fr
	}
}

// Stem reduces a folded word to its Snowball stem in lang. Unknown uses the
// English stemmer: most unlabelled support text Relais sees is English, and
// stemming an occasional foreign word only merges a few of its forms.
func Stem(lang, w string) string {
	if len(w) < 3 {
		return w
	}
	if lang == French {
		return french.Stem(w, true)
	}
	return english.Stem(w, true)
}

func set(words string) map[string]struct{} {
	m := make(map[string]struct{})
	for _, w := range strings.Fields(words) {
		m[w] = struct{}{}
	}
	return m
}

// The marker lists are words frequent in one language and rare in the other;
// words shared by both ("a", "on", "me", "plus") are left out of them.
var englishMarkers = set(`the and is are was were be been to of in for with my your you i it this that what how
why when where which who can could would should will do does did have has had not no yes please thanks thank
hello hi hey there their they we our us an at from by about if or any get want need help order account`)

var frenchMarkers = set(`le la les un une des du de et est sont etait mon ma mes ton ta tes votre vos notre nos
je tu il elle nous vous ils elles ce cet cette ces qui que quoi comment pourquoi quand ou avec pour dans sur
pas ne oui non merci bonjour bonsoir salut svp stp sil veux voudrais peux puis dois faire avoir suis etre
aide besoin commande compte contrat assurance sinistre remboursement au aux`)

var englishStop = set(`a an the and or but if then else of to in on at by for with from about as into
over under up down out off is are was were be been being am do does did doing have has had having
i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
this that these those there here what which who whom whose when where why how all any both each
few more most other some such no nor not only own same so than too very can could would should will
shall may might must just also please hi hello hey thanks thank ok okay`)

var frenchStop = set(`le la les l un une des du de d et ou mais donc or ni car a au aux en dans par pour
sur sous avec sans chez vers ce cet cette ces c ca mon ma mes ton ta tes son sa ses notre nos votre vos
leur leurs je j tu il elle on nous vous ils elles me m te t se s lui y qui que qu quoi dont est sont
etait etre ai as avons avez ont suis es sommes etes ne n pas plus tres bien aussi si oui non svp stp
merci bonjour salut`)
