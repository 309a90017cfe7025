package whatsapp

import (
	"regexp"
	"strings"
)

// Knowledge-base answers are Markdown, hard-wrapped as their files are;
// WhatsApp shows text as typed, with its own marks (*bold*, _italic_,
// ~strike~). FormatText rewrites the one into the other so that a customer
// sees neither stray asterisks nor lines broken mid-sentence.

var (
	mdBold    = regexp.MustCompile(`\*\*([^*\n]+)\*\*|__([^_\n]+)__`)
	mdLink    = regexp.MustCompile(`\[([^\]\n]+)\]\((https?://[^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*$`)
	// A line that starts a block of its own: a list item, a quote, a
	// heading, a table row.
	mdBlockStart = regexp.MustCompile(`^(\s*([-*+•]|\d+[.)])\s|>|#|\|)`)
)

// FormatText returns Markdown text as WhatsApp shows it best: soft line
// breaks inside a paragraph joined, **bold** and __bold__ as *bold*,
// headings as bold lines, [text](url) as "text (url)". Blank lines, list
// items and their line breaks are kept.
func FormatText(md string) string {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	var b strings.Builder
	joinable := false // the line before may take the next one as its continuation
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if h := mdHeading.FindStringSubmatch(trimmed); h != nil {
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
		joinable = trimmed != "" && !mdHeading.MatchString(strings.TrimSpace(lines[i]))
	}
	out := mdLink.ReplaceAllString(b.String(), "$1 ($2)")
	return mdBold.ReplaceAllStringFunc(out, func(m string) string {
		return "*" + m[2:len(m)-2] + "*"
	})
}
