package conversation

import (
	"regexp"
	"strings"
)

// Knowledge-base answers are Markdown, hard-wrapped as their files are.
// No channel shows them as they are: the API's callers and WhatsApp show
// text as typed, so a customer would see stray asterisks and lines broken
// mid-sentence. FormatText is the one rule that turns an answer into a
// channel's text; the web chat renders the Markdown itself.

// TextStyle is how a channel writes what Markdown marks up.
type TextStyle struct {
	// Bold wraps bold text and headings: "*" for WhatsApp; empty for
	// plain text, which writes them without marks.
	Bold string
}

// PlainText is the style of the API's replies: no marks at all.
var PlainText = TextStyle{}

var (
	mdBold    = regexp.MustCompile(`\*\*([^*\n]+)\*\*|__([^_\n]+)__`)
	mdLink    = regexp.MustCompile(`\[([^\]\n]+)\]\((https?://[^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*$`)
	// A line that starts a block of its own: a list item, a quote, a
	// heading, a table row.
	mdBlockStart = regexp.MustCompile(`^(\s*([-*+•]|\d+[.)])\s|>|#|\|)`)
)

// FormatText returns Markdown text as a channel shows it: soft line breaks
// inside a paragraph joined, **bold** and __bold__ and headings wrapped in
// style.Bold, [text](url) as "text (url)". Blank lines, list items and
// their line breaks, and hard breaks (two trailing spaces) are kept.
func FormatText(md string, style TextStyle) string {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	var b strings.Builder
	joinable := false // the line before may take the next one as its continuation
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		h := mdHeading.FindStringSubmatch(trimmed)
		if h != nil {
			trimmed = "**" + h[1] + "**"
			line = trimmed
		}
		switch {
		case i == 0:
		case trimmed == "":
			b.WriteByte('\n')
			joinable = false
			continue
		case joinable && !mdBlockStart.MatchString(line) && !strings.HasSuffix(lines[i-1], "  "):
			b.WriteByte(' ')
			line = trimmed
		default:
			b.WriteByte('\n')
		}
		b.WriteString(strings.TrimRight(line, " \t"))
		joinable = trimmed != "" && h == nil // a heading stands alone
	}
	out := mdLink.ReplaceAllString(b.String(), "$1 ($2)")
	return mdBold.ReplaceAllStringFunc(out, func(m string) string {
		return style.Bold + m[2:len(m)-2] + style.Bold
	})
}
