package ingest

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais/knowledge"
)

// Chunk sizes used when ChunkOptions leaves them zero. 1200 characters is a
// few paragraphs: long enough to hold an answer with its context, short
// enough that one embedding still represents it and that an extractive
// answer quoting it stays readable in a chat window.
const (
	DefaultChunkMaxChars = 1200
	DefaultChunkOverlap  = 150
)

// ChunkOptions sizes passage chunks, in characters (runes).
type ChunkOptions struct {
	// MaxChars bounds the passage text of a chunk, not counting the title
	// line it starts with; DefaultChunkMaxChars when zero or less.
	MaxChars int
	// Overlap is how much text consecutive pieces of one oversized sentence
	// share, so that a fact cut in two is still whole in one of them;
	// DefaultChunkOverlap when zero, none when negative. It is capped at
	// half of MaxChars.
	Overlap int
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.MaxChars <= 0 {
		o.MaxChars = DefaultChunkMaxChars
	}
	switch {
	case o.Overlap == 0:
		o.Overlap = DefaultChunkOverlap
	case o.Overlap < 0:
		o.Overlap = 0
	}
	o.Overlap = min(o.Overlap, o.MaxChars/2)
	return o
}

// ChunkArticle cuts an article into the chunks that are embedded and
// indexed. First comes one Question chunk per distinct phrasing (the title,
// then a.Phrasings, duplicates ignoring case and punctuation dropped), its
// Text the phrasing. Then Passage chunks of the body: split by markdown
// headings into sections (Heading is the section's path, "Returns >
// Refunds"), then by paragraphs, then by sentences, with pieces packed up to
// MaxChars; only a sentence longer than MaxChars is cut by size, at word
// boundaries, with Overlap characters repeated. A passage chunk's Text is
// its label on the first line ("Title > Heading", or the title alone when
// Heading is empty), then the passage, so that it can be matched on its
// own. Every word of the body is in some passage chunk. An empty body gives
// question chunks only. Ordinals count from 0; IDs and embeddings are left
// for the store and the embedder.
func ChunkArticle(a knowledge.Article, opts ChunkOptions) []knowledge.Chunk {
	opts = opts.withDefaults()
	var chunks []knowledge.Chunk
	add := func(kind knowledge.ChunkKind, heading, text string) {
		chunks = append(chunks, knowledge.Chunk{Ordinal: len(chunks), Kind: kind, Heading: heading, Text: text})
	}

	title := oneLine(a.Title)
	if title != "" {
		add(knowledge.Question, "", title)
	}
	for _, p := range dedupePhrasings(title, a.Phrasings) {
		add(knowledge.Question, "", p)
	}

	for _, s := range bodySections(a.Body, title) {
		heading := strings.Join(s.path, " > ")
		label := title
		switch {
		case heading != "" && label != "":
			label += " > " + heading
		case heading != "":
			label = heading
		}
		var pieces []string
		if lines := lineList(s.text); lines != nil {
			for _, l := range lines {
				pieces = append(pieces, packSection(l, opts)...)
			}
		} else {
			pieces = packSection(s.text, opts)
		}
		if len(pieces) == 0 {
			// A heading with no text of its own and no subsection: the
			// label alone keeps its words searchable.
			if label != "" {
				add(knowledge.Passage, heading, label)
			}
			continue
		}
		for _, p := range pieces {
			if label != "" {
				p = label + "\n" + p
			}
			add(knowledge.Passage, heading, p)
		}
	}
	return chunks
}

// lineList returns the lines of a section that is a list of short,
// independent lines — the variants of a question, a glossary of product
// names — or nil for any other text. Each such line answers on its own, so
// packing them together would blur every one of them into an average.
// Soft-wrapped prose is told apart by its line length (wrapped lines are
// long and even), and markdown lists of steps are left to be packed, since
// a step alone answers nothing.
func lineList(text string) []string {
	if strings.Contains(strings.TrimSpace(text), "\n\n") {
		return nil // paragraphs: prose
	}
	var lines []string
	var lengths []int
	short := 0
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if listMarker.MatchString(l) {
			return nil
		}
		n := utf8.RuneCountInString(l)
		if n <= 80 {
			short++
		}
		lines = append(lines, l)
		lengths = append(lengths, n)
	}
	if len(lines) < 3 || short*5 < len(lines)*4 {
		return nil
	}
	sort.Ints(lengths)
	if lengths[len(lengths)/2] > 60 {
		return nil
	}
	return lines
}

var listMarker = regexp.MustCompile(`^([-*+•]|\d{1,3}[.)])\s`)

// section is the text between two headings of a body, with the path of
// headings above it.
type section struct {
	path   []string
	text   string
	headed bool // under some heading, even one left out of path
}

// bodySections splits a markdown body at its headings. A section with no
// text is kept only when no subsection follows it: a subsection's path
// already carries its heading. An outermost heading that repeats the title
// is left out of paths, where it would only say the title twice.
func bodySections(body, title string) []section {
	type open struct {
		level int
		text  string
	}
	var (
		out   []section
		stack []open
		lines []string
	)
	path := func() []string {
		p := make([]string, 0, len(stack))
		for _, o := range stack {
			p = append(p, o.text)
		}
		if len(p) > 0 && phrasingKey(p[0]) == phrasingKey(title) {
			p = p[1:]
		}
		return p
	}
	var current []string
	flush := func() {
		out = append(out, section{path: current, text: strings.TrimSpace(strings.Join(lines, "\n")), headed: len(stack) > 0})
		lines = lines[:0]
	}
	for _, l := range scanMarkdown(body, 1) {
		if l.level == 0 {
			lines = append(lines, l.text)
			continue
		}
		flush()
		for len(stack) > 0 && stack[len(stack)-1].level >= l.level {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, open{l.level, oneLine(l.text)})
		current = path()
	}
	flush()

	kept := out[:0]
	for i, s := range out {
		if s.text == "" {
			if !s.headed {
				continue
			}
			if i+1 < len(out) && len(out[i+1].path) > len(s.path) && extends(out[i+1].path, s.path) {
				continue
			}
		}
		kept = append(kept, s)
	}
	return kept
}

// extends reports whether path p starts with path q.
func extends(p, q []string) bool {
	return len(p) >= len(q) && slices.Equal(p[:len(q)], q)
}

// unit is a piece of a section to pack, with what separated it from the
// piece before it in the text.
type unit struct {
	text string
	sep  string
}

// packSection splits a section into paragraphs, oversized paragraphs into
// sentences and oversized sentences into overlapping windows, then packs the
// pieces in order into passages of at most opts.MaxChars.
func packSection(text string, opts ChunkOptions) []string {
	var units []unit
	for i, para := range paragraphs(text) {
		sep := "\n\n"
		if i == 0 {
			sep = ""
		}
		if runeLen(para) <= opts.MaxChars {
			units = append(units, unit{para, sep})
			continue
		}
		for j, s := range sentences(para) {
			if j > 0 {
				sep = s.sep
			}
			if runeLen(s.text) <= opts.MaxChars {
				units = append(units, unit{s.text, sep})
				continue
			}
			for k, w := range windows(s.text, opts.MaxChars, opts.Overlap) {
				if k > 0 {
					sep = " "
				}
				units = append(units, unit{w, sep})
			}
		}
	}

	var (
		out    []string
		cur    strings.Builder
		curLen int
	)
	for _, u := range units {
		n := runeLen(u.text)
		if curLen > 0 && curLen+len(u.sep)+n > opts.MaxChars {
			out = append(out, cur.String())
			cur.Reset()
			curLen = 0
		}
		if curLen > 0 {
			cur.WriteString(u.sep)
			curLen += len(u.sep)
		}
		cur.WriteString(u.text)
		curLen += n
	}
	if curLen > 0 {
		out = append(out, cur.String())
	}
	return out
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var out []string
	var cur []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, "\n"))
				cur = cur[:0]
			}
			continue
		}
		cur = append(cur, strings.TrimRightFunc(l, unicode.IsSpace))
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}

// sentences splits a paragraph after sentence-ending punctuation followed by
// white space, and at line breaks (list items, addresses). Each piece
// remembers whether a line break or a space preceded it.
func sentences(para string) []unit {
	var out []unit
	start, sep := 0, ""
	runes := []rune(para)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		boundary := r == '\n' || (isSentenceEnd(r) && i+1 < len(runes) && unicode.IsSpace(runes[i+1]))
		if !boundary {
			continue
		}
		end := i + 1
		if r == '\n' {
			end = i
		}
		if t := strings.TrimSpace(string(runes[start:end])); t != "" {
			out = append(out, unit{t, sep})
		}
		// The separator of the next piece is the white space up to it.
		j := end
		nl := false
		for j < len(runes) && unicode.IsSpace(runes[j]) {
			nl = nl || runes[j] == '\n'
			j++
		}
		sep = " "
		if nl {
			sep = "\n"
		}
		start = j
		i = j - 1
	}
	if t := strings.TrimSpace(string(runes[start:])); t != "" {
		out = append(out, unit{t, sep})
	}
	return out
}

func isSentenceEnd(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '。', '！', '？', ';':
		return true
	}
	return false
}

// windows cuts text into pieces of at most size runes, each ending at a word
// boundary when the window has one, the next starting overlap runes back at
// the start of a word.
func windows(text string, size, overlap int) []string {
	r := []rune(text)
	var out []string
	for start := 0; start < len(r); {
		end := min(start+size, len(r))
		if end < len(r) {
			// Cut before the last white space that leaves a non-empty piece.
			for b := end; b > start+1; b-- {
				if unicode.IsSpace(r[b]) {
					end = b
					break
				}
			}
		}
		if piece := strings.TrimSpace(string(r[start:end])); piece != "" {
			out = append(out, piece)
		}
		if end >= len(r) {
			break
		}
		next := max(end-overlap, start+1)
		for next < end && !unicode.IsSpace(r[next-1]) {
			next++ // to the start of a word
		}
		for next < len(r) && unicode.IsSpace(r[next]) {
			next++
		}
		start = next
	}
	return out
}
