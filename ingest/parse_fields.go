package ingest

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// fieldRole is what a CSV column or a JSON key holds.
type fieldRole int

const (
	fieldIgnored fieldRole = iota
	fieldID
	fieldQuestion     // the question or title
	fieldWeakQuestion // "subject", "name": a title only when nothing better exists
	fieldAnswer
	fieldPhrasing // an alternative way to ask the question
	fieldLanguage
	fieldTopic
	fieldTags
)

// field is a classified column or key. rank orders fields of the same role:
// the lowest wins a single-valued role; for numbered question columns
// ("question 2") it is the number.
type field struct {
	role     fieldRole
	rank     int
	numbered bool // "question_2", "q3": a phrasing, or the question when no plain one exists
}

// Synonyms, in order of preference. English and French, accents folded,
// non-alphanumerics turned into "_" (see fieldName).
var (
	idNames           = []string{"id", "external_id", "externalid", "ext_id", "article_id", "faq_id", "doc_id"}
	questionNames     = []string{"question", "title", "faq", "q", "question_text", "titre", "intitule"}
	weakQuestionNames = []string{"subject", "name", "heading", "sujet", "nom"}
	answerNames       = []string{"answer", "body", "response", "content", "text", "a", "reply", "answer_text",
		"reponse", "contenu", "texte", "corps", "description", "solution"}
	languageNames = []string{"language", "lang", "locale", "langue"}
	topicNames    = []string{"topic", "category", "categorie", "theme", "section"}
	tagNames      = []string{"tags", "tag", "keywords", "keyword", "labels", "label", "etiquettes", "etiquette", "mots_cles", "mot_cle"}
	// phrasingWords mark a column of alternative phrasings wherever they
	// occur in its name: "alt_question", "question variants", "paraphrase 2".
	phrasingWords = []string{"alt", "alternative", "alternatives", "alternate", "variant", "variants", "variation",
		"variations", "paraphrase", "paraphrases", "phrasing", "phrasings", "synonym", "synonyms", "similar",
		"other", "alias", "aliases", "utterance", "utterances", "reformulation", "reformulations", "autre", "autres"}
	// answerWords veto phrasingWords: "alt_answer" is not a phrasing.
	answerWords = []string{"answer", "answers", "response", "reponse", "body", "reply"}
)

// acceptedFields is shown when a CSV header has no usable column.
func acceptedFields() string {
	return fmt.Sprintf("a question column (%s) and/or an answer column (%s); optional: id (%s), language (%s), topic (%s), tags (%s), and alternative phrasings (alternative, alt_question, variant, paraphrase, question 2, ...)",
		strings.Join(append(questionNames[:4:4], weakQuestionNames[:2]...), ", "),
		strings.Join(answerNames[:6], ", "),
		strings.Join(idNames[:2], ", "),
		strings.Join(languageNames[:2], ", "),
		strings.Join(topicNames[:2], ", "),
		strings.Join(tagNames[:1], ", "))
}

// fieldName normalises a column header or JSON key for matching:
// "Question 2" -> "question_2", "Réponse" -> "reponse", "Mots-clés" -> "mots_cles".
func fieldName(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range foldString(s) {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	return b.String()
}

// classifyField tells what a column or key holds from its normalised name.
func classifyField(name string) field {
	if name == "" {
		return field{}
	}
	for _, list := range []struct {
		role  fieldRole
		names []string
	}{
		{fieldID, idNames}, {fieldQuestion, questionNames}, {fieldWeakQuestion, weakQuestionNames},
		{fieldAnswer, answerNames}, {fieldLanguage, languageNames}, {fieldTopic, topicNames}, {fieldTags, tagNames},
	} {
		for i, n := range list.names {
			if name == n {
				return field{role: list.role, rank: i}
			}
		}
	}
	// "question_2", "question2", "q3", "title_2"
	stem := strings.TrimRight(name, "0123456789")
	if num := name[len(stem):]; num != "" {
		stem = strings.TrimSuffix(stem, "_")
		if stem == "question" || stem == "q" || stem == "title" || stem == "questions" {
			n, err := strconv.Atoi(num)
			if err != nil {
				n = 1 << 30
			}
			return field{role: fieldPhrasing, rank: n, numbered: true}
		}
	}
	words := strings.Split(name, "_")
	phrasing := false
	for _, w := range words {
		if slices.Contains(answerWords, w) {
			return field{}
		}
		phrasing = phrasing || slices.Contains(phrasingWords, w)
	}
	if phrasing || name == "questions" || name == "examples" {
		return field{role: fieldPhrasing}
	}
	return field{}
}

// titleSlug is the id part derived from a title: "Où est ma commande ?" ->
// "ou-est-ma-commande". A title with no latin letter or digit (all CJK, all
// emoji) gets a short hash of itself instead, which is as stable.
func titleSlug(title string) string {
	const maxLen = 60
	var b strings.Builder
	dash := false
	for _, r := range foldString(title) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if len(s) > maxLen {
		s = s[:maxLen]
		if i := strings.LastIndexByte(s, '-'); i > maxLen/2 {
			s = s[:i]
		}
		s = strings.TrimSuffix(s, "-")
	}
	if s == "" {
		h := fnv.New32a()
		h.Write([]byte(title))
		s = fmt.Sprintf("t%08x", h.Sum32())
	}
	return s
}

// foldString lowercases s and folds latin letters with diacritics to their
// base letters; combining marks are dropped so decomposed text folds too.
func foldString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteString(foldRune(r))
	}
	return b.String()
}

// foldRune covers the Latin-1 and Latin Extended-A letters that French and
// the other western European languages use; anything else is kept.
func foldRune(r rune) string {
	groups := [...]struct{ from, to string }{
		{"àáâãäåāăąǎ", "a"}, {"çćĉċč", "c"}, {"ďđ", "d"}, {"èéêëēĕėęě", "e"}, {"ĝğġģ", "g"},
		{"ĥħ", "h"}, {"ìíîïĩīĭįı", "i"}, {"ĵ", "j"}, {"ķ", "k"}, {"ĺļľŀł", "l"}, {"ñńņňŉ", "n"},
		{"òóôõöøōŏő", "o"}, {"ŕŗř", "r"}, {"śŝşšș", "s"}, {"ţťŧț", "t"}, {"ùúûüũūŭůűų", "u"},
		{"ŵ", "w"}, {"ýÿŷ", "y"}, {"źżž", "z"}, {"æ", "ae"}, {"œ", "oe"}, {"ß", "ss"}, {"þ", "th"}, {"ð", "d"},
	}
	for _, g := range groups {
		if strings.ContainsRune(g.from, r) {
			return g.to
		}
	}
	return string(r)
}
