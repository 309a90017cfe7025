package ingest

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais/knowledge"
)

// Parsed is what Parse reads from one file: its articles, and the problems
// with parts of it (a bad CSV row, a bad JSONL line, a duplicate id) that
// were skipped so that the rest could still be imported.
type Parsed struct {
	Articles []knowledge.Article
	Problems []*FileError
}

// supportedExtensions is shown to users whose file Parse cannot read.
const supportedExtensions = ".csv, .tsv, .jsonl, .ndjson, .json, .md, .markdown, .html, .htm, .txt, .text"

// formatParser reads the articles of one file. Problems are parts of the file
// it skipped; a non-nil *FileError means the file as a whole is unusable.
type formatParser func(name, text string) ([]entry, []*FileError, *FileError)

// entry is an article as a format parser found it, with the line it starts
// on so that later checks (duplicate ids, missing title) can point at it.
type entry struct {
	line int // 1-based; 0 when the format has no useful line (HTML)
	a    knowledge.Article
}

func parserFor(ext string) formatParser {
	switch ext {
	case ".csv":
		return parseCSV
	case ".tsv":
		return parseTSV
	case ".jsonl", ".ndjson":
		return parseJSONL
	case ".json":
		return parseJSON
	case ".md", ".markdown":
		return parseMarkdown
	case ".html", ".htm":
		return parseHTML
	case ".txt", ".text":
		return parseText
	}
	return nil
}

// Supported reports whether Parse reads files with name's extension, so that
// a folder import can skip the others instead of failing on them.
func Supported(name string) bool {
	return parserFor(fileExt(name)) != nil
}

// Parse reads the articles of one knowledge file. name is the file name as
// given: its extension picks the format (.csv, .tsv, .jsonl, .ndjson, .json,
// .md, .markdown, .html, .htm, .txt, .text) and its base name seeds the
// external ids of articles that have none ("faq.md#returns").
//
// Formats:
//   - CSV and TSV: a header row names the columns, matched loosely and in
//     English or French: question (title, q, faq, subject, name), answer
//     (body, a, response, content, text), id, language, topic (category),
//     tags, and any number of alternative phrasings ("alternative",
//     "alt_question", "variant", "paraphrase", "question 2"). The delimiter
//     of a .csv is sniffed (',', ';' or tab) or taken from an Excel "sep="
//     line. One article per row.
//   - JSONL: one article object per line, with the same loose keys; the eval
//     kb format {"id","title","body","source"} among them. JSON: an array of
//     such objects, or {"articles": [...]}.
//   - Markdown and HTML: an FAQ (question headings) gives one article per
//     question; any other document is one article whose body keeps its
//     headings for the chunker. Front matter and <title>/lang are read.
//   - Text: the first line is the title, the rest the body.
//
// Every article has a non-empty Title and an ExternalID unique within the
// file: the file's own id when it has one, else "<base name>#<title slug>",
// with "-2", "-3" for repeated titles. Language is set only when the file
// states it. Source, ContentHash, Version and ID are left for the importer.
//
// Bad rows and lines are reported in Parsed.Problems and skipped. The error
// is a *FileError wrapping relais.ErrInvalid when the file as a whole cannot
// be used: unknown extension, invalid UTF-8, empty, no usable CSV column, or
// no article at all; Parsed.Problems may then explain why.
func Parse(name string, data []byte) (Parsed, error) {
	ext := fileExt(name)
	parse := parserFor(ext)
	if parse == nil {
		if ext == "" {
			return Parsed{}, invalidf(name, 0, "no file extension to tell the format by; supported: %s", supportedExtensions)
		}
		return Parsed{}, invalidf(name, 0, "unsupported file type %q; supported: %s", ext, supportedExtensions)
	}
	text, ferr := decodeText(name, data)
	if ferr != nil {
		return Parsed{}, ferr
	}
	if strings.TrimSpace(text) == "" {
		return Parsed{}, invalidf(name, 0, "file is empty")
	}
	entries, problems, ferr := parse(name, text)
	if ferr != nil {
		return Parsed{Problems: problems}, ferr
	}
	return finish(name, entries, problems)
}

func fileExt(name string) string {
	return strings.ToLower(path.Ext(baseName(name)))
}

// baseName accepts both separators: names come from command lines and from
// browser uploads, some of which send Windows paths.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// decodeText checks that data is UTF-8 text and returns it with the byte
// order mark removed, line endings normalised to "\n" and control characters
// other than tab and newline removed (PostgreSQL rejects NUL in text, and the
// others only ever come from broken exports).
func decodeText(name string, data []byte) (string, *FileError) {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return "", invalidf(name, 0, "file is UTF-16 encoded; save it as UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			return "", invalidf(name, lineAt(data, off), "invalid UTF-8 (byte 0x%02X at offset %d); save the file as UTF-8", data[off], off)
		}
		if r == 0 {
			return "", invalidf(name, lineAt(data, off), "NUL byte at offset %d: this is not a text file (or it is UTF-16 without a byte order mark)", off)
		}
		off += size
	}
	var b strings.Builder
	b.Grow(len(data))
	s := string(data)
	for i, r := range s {
		switch {
		case r == '\r':
			if !strings.HasPrefix(s[i+1:], "\n") {
				b.WriteByte('\n')
			}
		case r == '\f' || r == '\v':
			b.WriteByte('\n')
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// lineAt is the 1-based line of byte offset off.
func lineAt(data []byte, off int) int {
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// finish cleans what a format parser found and gives every article the
// identity the importer relies on.
func finish(name string, entries []entry, problems []*FileError) (Parsed, error) {
	used := make(map[string]int) // external id -> line of the article holding it
	kept := make([]entry, 0, len(entries))
	for _, e := range entries {
		a := cleanArticle(e.a)
		if a.Title == "" && a.Body == "" {
			problems = append(problems, invalidf(name, e.line, "no question or title and no answer or body"))
			continue
		}
		if a.Title == "" {
			a.Title = titleFromBody(a.Body)
			a.Phrasings = dedupePhrasings(a.Title, a.Phrasings)
		}
		if a.ExternalID != "" {
			if first, dup := used[a.ExternalID]; dup {
				where := ""
				if first > 0 {
					where = fmt.Sprintf(" (first used on line %d)", first)
				}
				problems = append(problems, invalidf(name, e.line, "duplicate id %q%s", a.ExternalID, where))
				continue
			}
			used[a.ExternalID] = e.line
		}
		kept = append(kept, entry{line: e.line, a: a})
	}
	// Derived ids come second so that they step around the explicit ones
	// wherever those are in the file.
	base := baseName(name)
	nextSuffix := make(map[string]int) // so that a thousand "Contact us" rows stay linear
	for i := range kept {
		if kept[i].a.ExternalID != "" {
			continue
		}
		stem := base + "#" + titleSlug(kept[i].a.Title)
		id := stem
		n := max(nextSuffix[stem], 2)
		for {
			if _, taken := used[id]; !taken {
				break
			}
			id = fmt.Sprintf("%s-%d", stem, n)
			n++
		}
		nextSuffix[stem] = n
		used[id] = kept[i].line
		kept[i].a.ExternalID = id
	}
	slices.SortStableFunc(problems, func(a, b *FileError) int { return a.Line - b.Line })
	if len(kept) == 0 {
		if len(problems) > 0 {
			first := problems[0]
			where := ""
			if first.Line > 0 {
				where = fmt.Sprintf(", on line %d", first.Line)
			}
			return Parsed{Problems: problems}, &FileError{File: name, Err: fmt.Errorf(
				"no article could be read (%d problems; the first%s: %w)", len(problems), where, first.Err)}
		}
		return Parsed{}, invalidf(name, 0, "no article found")
	}
	out := Parsed{Articles: make([]knowledge.Article, len(kept)), Problems: problems}
	for i, e := range kept {
		out.Articles[i] = e.a
	}
	return out, nil
}

// cleanArticle trims and normalises what the formats leave untidy, so that
// the same content always hashes the same.
func cleanArticle(a knowledge.Article) knowledge.Article {
	a.ExternalID = strings.TrimSpace(a.ExternalID)
	a.Title = oneLine(a.Title)
	a.Body = cleanBody(a.Body)
	a.Topic = oneLine(a.Topic)
	a.Language = normLanguage(a.Language)
	a.Tags = cleanTags(a.Tags)
	a.Phrasings = dedupePhrasings(a.Title, a.Phrasings)
	return a
}

// oneLine collapses every run of white space, newlines included, into one
// space: titles, topics and tags are single-line labels.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cleanBody strips trailing white space from lines and collapses runs of
// blank lines, keeping leading indentation (markdown lists and code need it).
func cleanBody(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // drops blank lines at the start
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// cleanTags trims tags and drops empty and repeated ones (ignoring case).
func cleanTags(tags []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, t := range tags {
		t = oneLine(t)
		k := strings.ToLower(t)
		if t == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// dedupePhrasings drops empty phrasings and those that say the same as the
// title or an earlier phrasing: each becomes a chunk, and a duplicate chunk
// only skews retrieval toward its article.
func dedupePhrasings(title string, phrasings []string) []string {
	var out []string
	seen := map[string]bool{phrasingKey(title): true}
	for _, p := range phrasings {
		p = oneLine(p)
		k := phrasingKey(p)
		if p == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}

// phrasingKey compares phrasings by their words only, so that "How do I
// return?" and "how do i return" count as one.
func phrasingKey(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) == 0 {
		return strings.ToLower(oneLine(s))
	}
	return strings.Join(words, " ")
}

// titleFromBody names an article that came without a title after the start
// of its body, so that it still has a readable title and a stable id.
func titleFromBody(body string) string {
	const maxRunes = 80
	var first string
	for l := range strings.SplitSeq(body, "\n") {
		if first = plainInline(strings.TrimLeft(strings.TrimSpace(l), "#>-*+ ")); first != "" {
			break
		}
	}
	if first == "" {
		first = oneLine(body)
	}
	if i := sentenceEnd(first); i > 0 {
		first = first[:i]
	}
	return truncateWords(first, maxRunes)
}

// sentenceEnd is the byte index just after the first sentence of s, or -1.
func sentenceEnd(s string) int {
	for i, r := range s {
		if r == '.' || r == '?' || r == '!' {
			next := i + utf8.RuneLen(r)
			if next == len(s) || s[next] == ' ' {
				return next
			}
		}
	}
	return -1
}

// truncateWords shortens s to at most n runes, cutting at a word boundary
// when there is one, and marks the cut with an ellipsis.
func truncateWords(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…"
}

// titleFromName turns "returns-policy.md" into "Returns policy" for files
// that have no title of their own.
func titleFromName(name string) string {
	base := baseName(name)
	base = strings.TrimSuffix(base, path.Ext(base))
	t := oneLine(strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(base))
	if t == "" {
		return "Untitled"
	}
	r, size := utf8.DecodeRuneInString(t)
	return string(unicode.ToUpper(r)) + t[size:]
}

// normLanguage maps what files say about their language to knowledge.English
// or knowledge.French, and anything else to "" so the importer detects it.
func normLanguage(s string) string {
	s = foldString(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "en", "eng", "english", "anglais":
		return knowledge.English
	case "fr", "fra", "fre", "french", "francais":
		return knowledge.French
	}
	return ""
}

// splitList splits a tag cell on the separators spreadsheets use for lists.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' || r == '\n' })
}

// splitPhrasings splits a cell holding several phrasings. Commas and
// semicolons are not separators here: questions contain them.
func splitPhrasings(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == '\n' })
}
