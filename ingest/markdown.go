package ingest

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/relais-ai/relais/knowledge"
)

// mdLine is one line of a markdown document, headings recognised. The HTML
// reader produces the same lines, so both formats share how articles are cut.
type mdLine struct {
	num   int    // 1-based line in the file; 0 when not from a file
	level int    // heading level 1 to 6; 0 for any other line
	text  string // the heading's text as written, or the whole line
}

// docMeta is what a file says about itself outside its headings: front
// matter in markdown, <title> and lang in HTML.
type docMeta struct {
	id, title, language, topic string
	tags                       []string
}

func parseMarkdown(name, text string) ([]entry, []*FileError, *FileError) {
	meta, body, bodyLine := splitFrontMatter(text)
	lines := scanMarkdown(body, bodyLine)
	return markdownEntries(name, lines, meta)
}

// scanMarkdown splits text into lines and recognises ATX ("## Returns") and
// setext ("Returns" underlined with === or ---) headings outside fenced code
// blocks. Setext headings are returned as headings so that bodies can be
// written back with ATX headings only.
func scanMarkdown(text string, firstLine int) []mdLine {
	raw := strings.Split(text, "\n")
	out := make([]mdLine, 0, len(raw))
	var fence string // the opening fence while inside a code block
	for i, l := range raw {
		num := firstLine + i
		if fence != "" {
			if closesFence(l, fence) {
				fence = ""
			}
			out = append(out, mdLine{num: num, text: l})
			continue
		}
		if f := openingFence(l); f != "" {
			fence = f
			out = append(out, mdLine{num: num, text: l})
			continue
		}
		if level, t, ok := atxHeading(l); ok {
			out = append(out, mdLine{num: num, level: level, text: t})
			continue
		}
		if level := setextUnderline(l); level > 0 && len(out) > 0 && canBeSetext(out) {
			prev := &out[len(out)-1]
			prev.level, prev.text = level, strings.TrimSpace(prev.text)
			continue
		}
		out = append(out, mdLine{num: num, text: l})
	}
	return out
}

// openingFence returns the fence ("```", "~~~~") a line opens, or "".
func openingFence(l string) string {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return ""
	}
	n := len(t) - len(strings.TrimLeft(t, t[:1]))
	if n < 3 || (t[0] == '`' && strings.Contains(t[n:], "`")) {
		return ""
	}
	return t[:n]
}

func closesFence(l, fence string) bool {
	t := strings.TrimSpace(l)
	return len(l)-len(strings.TrimLeft(l, " ")) <= 3 && len(t) >= len(fence) &&
		strings.Trim(t, fence[:1]) == "" && strings.HasPrefix(t, fence)
}

// atxHeading recognises "## Title ##": up to three spaces of indentation, one
// to six '#', then a space or the end of the line. A heading with no text is
// not one: it would give an article no title.
func atxHeading(l string) (level int, text string, ok bool) {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 {
		return 0, "", false
	}
	for level < len(t) && t[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(t) && t[level] != ' ' && t[level] != '\t') {
		return 0, "", false
	}
	text = strings.TrimSpace(t[level:])
	// A closing sequence of '#' counts only after a space: "C#" keeps its '#'.
	if trimmed := strings.TrimRight(text, "#"); trimmed != text && (trimmed == "" || strings.HasSuffix(trimmed, " ") || strings.HasSuffix(trimmed, "\t")) {
		text = strings.TrimSpace(trimmed)
	}
	if text == "" {
		return 0, "", false
	}
	return level, text, true
}

// setextUnderline is 1 for a line of '=' and 2 for a line of '-' (at least
// three, so that a lone "-" list item or "--" is not taken for one).
func setextUnderline(l string) int {
	t := strings.TrimSpace(l)
	if len(l)-len(strings.TrimLeft(l, " ")) > 3 || len(t) < 3 {
		return 0
	}
	switch {
	case strings.Trim(t, "=") == "":
		return 1
	case strings.Trim(t, "-") == "":
		return 2
	}
	return 0
}

// canBeSetext reports whether the last line read can be a setext heading's
// text: a single-line paragraph that is not a list item, quote, table row or
// indented code. Longer paragraphs followed by "---" are far more often a
// paragraph and a rule than a heading.
func canBeSetext(out []mdLine) bool {
	prev := out[len(out)-1]
	t := strings.TrimSpace(prev.text)
	if prev.level > 0 || t == "" || strings.HasPrefix(prev.text, "    ") || strings.HasPrefix(prev.text, "\t") {
		return false
	}
	if listItem.MatchString(t) || t[0] == '>' || t[0] == '|' || openingFence(prev.text) != "" {
		return false
	}
	if len(out) >= 2 {
		before := out[len(out)-2]
		return before.level > 0 || strings.TrimSpace(before.text) == ""
	}
	return true
}

var listItem = regexp.MustCompile(`^([-*+]|\d{1,9}[.)])(\s|$)`)

// renderMarkdown writes lines back as markdown with ATX headings.
func renderMarkdown(lines []mdLine) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		if l.level > 0 {
			b.WriteString(strings.Repeat("#", l.level))
			b.WriteByte(' ')
		}
		b.WriteString(l.text)
	}
	return b.String()
}

// hasText reports whether lines hold anything besides headings.
func hasText(lines []mdLine) bool {
	for _, l := range lines {
		if l.level == 0 && strings.TrimSpace(l.text) != "" {
			return true
		}
	}
	return false
}

// markdownEntries cuts a document into articles. An FAQ (question headings)
// gives one article per question, plus one for any text outside the
// questions; any other document is one article whose body keeps its
// headings for the chunker.
func markdownEntries(name string, lines []mdLine, meta docMeta) ([]entry, []*FileError, *FileError) {
	isEntry := faqEntries(lines)
	var (
		entries []entry
		rest    []mdLine // lines outside every FAQ entry
	)
	for i := 0; i < len(lines); i++ {
		if !isEntry[i] {
			rest = append(rest, lines[i])
			continue
		}
		h := lines[i]
		end := i + 1
		for end < len(lines) && !isEntry[end] && (lines[end].level == 0 || lines[end].level > h.level) {
			end++
		}
		entries = append(entries, entry{line: h.num, a: knowledge.Article{
			Title:    plainInline(h.text),
			Body:     renderMarkdown(lines[i+1 : end]),
			Language: meta.language,
			Topic:    meta.topic,
			Tags:     meta.tags,
		}})
		i = end - 1
	}
	if len(entries) == 0 {
		doc, ok := docEntry(name, rest, meta)
		if !ok {
			return nil, nil, invalidf(name, 0, "no text in the file besides its title and front matter")
		}
		return []entry{doc}, nil, nil
	}
	if doc, ok := docEntry(name, pruneEmptyHeadings(rest), meta); ok {
		// The id from front matter names the document, not its questions.
		entries = append([]entry{doc}, entries...)
	}
	return entries, nil, nil
}

// pruneEmptyHeadings drops headings with no text under them, which is what
// the category headings of an FAQ ("## Orders") become once their questions
// are articles of their own.
func pruneEmptyHeadings(lines []mdLine) []mdLine {
	out := make([]mdLine, 0, len(lines))
	for i, l := range lines {
		if l.level > 0 {
			end := i + 1
			for end < len(lines) && (lines[end].level == 0 || lines[end].level > l.level) {
				end++
			}
			if !hasText(lines[i+1 : end]) {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

// docEntry makes one article of a document: titled by its front matter or
// first heading (dropped from the body when it opens the document), or by
// the file name. ok is false when there is no text to make an article of.
func docEntry(name string, lines []mdLine, meta docMeta) (entry, bool) {
	title := meta.title
	line := 0
	first := -1
	for i, l := range lines {
		if l.level > 0 {
			first = i
			break
		}
	}
	atTop := first >= 0 && !hasText(lines[:first])
	drop := -1
	if first >= 0 {
		heading := plainInline(lines[first].text)
		switch {
		case title == "":
			title, line = heading, lines[first].num
			if atTop {
				drop = first
			}
		case atTop && phrasingKey(heading) == phrasingKey(title):
			drop = first
		}
	}
	if title == "" {
		title = titleFromName(name)
	}
	body := make([]mdLine, 0, len(lines))
	for i, l := range lines {
		if i != drop {
			body = append(body, l)
		}
	}
	if !hasText(body) {
		return entry{}, false
	}
	if line == 0 && len(lines) > 0 {
		line = lines[0].num
	}
	return entry{line: line, a: knowledge.Article{
		ExternalID: meta.id,
		Title:      title,
		Body:       renderMarkdown(body),
		Language:   meta.language,
		Topic:      meta.topic,
		Tags:       meta.tags,
	}}, true
}

// faqEntries marks the headings that each start an FAQ article. A heading is
// one when its parent has at least one question among its child headings
// and either the parent is named like an FAQ ("FAQ", "Questions
// fréquentes") or the heading is at the FAQ level: the level where at least
// two headings, and most of them, are questions. Siblings that are not
// questions ("Delivery costs") are entries too: FAQs mix both.
func faqEntries(lines []mdLine) []bool {
	isEntry := make([]bool, len(lines))
	var count, questions [7]int
	for _, l := range lines {
		if l.level > 0 {
			count[l.level]++
			if isQuestion(l.text) {
				questions[l.level]++
			}
		}
	}
	faqLevel := 0
	for lv := 1; lv <= 6; lv++ {
		if questions[lv] >= 2 && 2*questions[lv] > count[lv] && questions[lv] > questions[faqLevel] {
			faqLevel = lv
		}
	}

	// Group headings by parent (-1 for the top of the document).
	children := make(map[int][]int)
	var stack []int
	parentOrder := []int{-1}
	for i, l := range lines {
		if l.level == 0 {
			continue
		}
		for len(stack) > 0 && lines[stack[len(stack)-1]].level >= l.level {
			stack = stack[:len(stack)-1]
		}
		parent := -1
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		if _, seen := children[parent]; !seen && parent >= 0 {
			parentOrder = append(parentOrder, parent)
		}
		children[parent] = append(children[parent], i)
		stack = append(stack, i)
	}
	for _, p := range parentOrder {
		kids := children[p]
		hasQuestion := false
		for _, c := range kids {
			hasQuestion = hasQuestion || isQuestion(lines[c].text)
		}
		if !hasQuestion {
			continue
		}
		named := p >= 0 && isFAQName(lines[p].text)
		for _, c := range kids {
			if named || lines[c].level == faqLevel {
				isEntry[c] = true
			}
		}
	}
	return isEntry
}

func isQuestion(heading string) bool {
	t := strings.TrimSpace(plainInline(heading))
	return strings.HasSuffix(t, "?") || strings.HasSuffix(t, "？") || strings.HasSuffix(t, "¿")
}

// isFAQName recognises headings that announce a list of questions.
func isFAQName(heading string) bool {
	slug := titleSlug(plainInline(heading))
	switch slug {
	case "frequently-asked-questions", "questions", "common-questions", "q-a", "qa", "f-a-q",
		"questions-frequentes", "foire-aux-questions", "questions-reponses", "questions-et-reponses", "questions-answers",
		"questions-and-answers":
		return true
	}
	for w := range strings.SplitSeq(slug, "-") {
		if w == "faq" || w == "faqs" {
			return true
		}
	}
	return false
}

var (
	mdImage      = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink       = regexp.MustCompile(`\[([^\]]*)\](\([^)]*\)|\[[^\]]*\])`)
	mdTag        = regexp.MustCompile(`</?[A-Za-z][^>]*>`)
	mdAttributes = regexp.MustCompile(`\s*\{#[^}]*\}\s*$`)
	mdEscape     = regexp.MustCompile("\\\\([!-/:-@\\[-`{-~])")
)

// plainInline turns a markdown heading into a plain title: links keep their
// text, emphasis and code markers and inline HTML go, escapes are resolved.
func plainInline(s string) string {
	s = mdAttributes.ReplaceAllString(s, "")
	s = mdImage.ReplaceAllString(s, "$1")
	s = mdLink.ReplaceAllString(s, "$1")
	s = mdTag.ReplaceAllString(s, "")
	s = strings.NewReplacer("**", "", "__", "", "`", "").Replace(s)
	s = mdEscape.ReplaceAllString(s, "$1")
	return oneLine(s)
}

// splitFrontMatter separates YAML ("---") or TOML ("+++") front matter from
// a markdown document and reads the few keys Relais uses. The body's first
// line number is returned so headings keep their line in the file. A leading
// "---" that is not followed by key: value lines is a rule, not front matter.
func splitFrontMatter(text string) (meta docMeta, body string, bodyLine int) {
	lines := strings.Split(text, "\n")
	if len(lines) < 2 {
		return meta, text, 1
	}
	delim := strings.TrimSpace(lines[0])
	if delim != "---" && delim != "+++" {
		return meta, text, 1
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if t := strings.TrimSpace(lines[i]); t == delim || (delim == "---" && t == "...") {
			end = i
			break
		}
	}
	if end < 0 {
		return meta, text, 1
	}
	for _, l := range lines[1:end] {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if !frontMatterKey.MatchString(t) {
			return meta, text, 1
		}
		break
	}
	var key string // the key a following "- item" line belongs to
	for _, l := range lines[1:end] {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if m := frontMatterKey.FindStringSubmatch(t); m != nil && l[0] != ' ' && l[0] != '\t' {
			key = fieldName(m[1])
			meta.set(key, strings.TrimSpace(t[len(m[0]):]))
			continue
		}
		if item, ok := strings.CutPrefix(t, "- "); ok && key != "" {
			meta.add(key, unquote(item))
		}
	}
	return meta, strings.Join(lines[end+1:], "\n"), end + 2
}

var frontMatterKey = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_ -]*?)\s*[:=]`)

func (m *docMeta) set(key, value string) {
	if strings.HasPrefix(value, "[") && strings.HasSuffix(value, "]") {
		for v := range strings.SplitSeq(value[1:len(value)-1], ",") {
			m.add(key, unquote(v))
		}
		return
	}
	if value == "|" || value == ">" || value == "|-" || value == ">-" {
		return // a block scalar: multi-line values are not worth a YAML parser
	}
	m.add(key, unquote(value))
}

// add records one value of a front matter key; list keys collect them, the
// others keep the first.
func (m *docMeta) add(key, value string) {
	if value == "" {
		return
	}
	setOnce := func(dst *string) {
		if *dst == "" {
			*dst = value
		}
	}
	switch key {
	case "title":
		setOnce(&m.title)
	case "id", "external_id":
		setOnce(&m.id)
	case "language", "lang", "locale", "langue":
		setOnce(&m.language)
	case "topic", "category", "categories":
		setOnce(&m.topic)
	case "tags", "tag", "keywords":
		m.tags = append(m.tags, splitList(value)...)
	}
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i]) // a YAML comment
	}
	return s
}

// runeLen counts characters, which is what sizes in this package mean.
func runeLen(s string) int { return utf8.RuneCountInString(s) }
