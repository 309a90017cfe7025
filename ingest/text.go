package ingest

import (
	"strings"

	"github.com/relais-ai/relais/knowledge"
)

// maxTextTitle is the longest first line a text file can have and still be
// taken for its title; a longer one is a paragraph.
const maxTextTitle = 150

// parseText reads a plain text file as one article: the first non-empty line
// is the title and the rest the body. A file whose first line is too long to
// be a title, or which is a single line, is all body, titled by its name.
func parseText(name, text string) ([]entry, []*FileError, *FileError) {
	lines := strings.Split(text, "\n")
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	title := oneLine(lines[first])
	rest := lines[first+1:]
	// "Title" underlined with ==== or ----, as text files often are.
	if len(rest) > 0 && setextUnderline(rest[0]) > 0 {
		rest = rest[1:]
	}
	body := strings.Join(rest, "\n")
	if runeLen(title) > maxTextTitle || strings.TrimSpace(body) == "" {
		title, body = titleFromName(name), text
	}
	return []entry{{line: first + 1, a: knowledge.Article{Title: title, Body: body}}}, nil, nil
}
