package ingest

import (
	"strings"
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

func TestParseText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("This first line is a paragraph, not a title. ", 5)
	tests := []struct {
		name, file, src string
		want            knowledge.Article
	}{
		{"first line is the title", "a.txt", "\n\n  Opening hours  \r\n\r\nMonday to Friday.\r\n\r\n\r\n\r\nClosed on Sunday.\r\n",
			knowledge.Article{Title: "Opening hours", Body: "Monday to Friday.\n\nClosed on Sunday."}},
		{"underlined title", "a.text", "Opening hours\n=============\nNine to five.\n",
			knowledge.Article{Title: "Opening hours", Body: "Nine to five."}},
		{"a single line is all body", "store-hours.txt", "We open at nine.\n",
			knowledge.Article{Title: "Store hours", Body: "We open at nine."}},
		{"a long first line is not a title", "notes.txt", long + "\nSecond line.",
			knowledge.Article{Title: "Notes", Body: strings.TrimSpace(long) + "\nSecond line."}},
		{"old Mac line endings and form feeds", "a.txt", "Title\r\rPage one.\fPage two.",
			knowledge.Article{Title: "Title", Body: "Page one.\nPage two."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.file, tt.src)
			compareArticles(t, p.Articles, []knowledge.Article{tt.want})
		})
	}
}
