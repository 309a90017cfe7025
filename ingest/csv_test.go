package ingest

import (
	"slices"
	"strings"
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

func TestParseCSV(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{
			name: "quoted newlines, CRLF, BOM, synonyms",
			file: "faq.csv",
			src:  "\uFEFFFAQ,Response,Lang\r\n\"Multi\r\nline?\",\"one\r\n\r\n\r\ntwo\",fr\r\n",
			want: []knowledge.Article{{Title: "Multi line?", Body: "one\n\ntwo", Language: "fr"}},
		},
		{
			name: "semicolons sniffed, commas inside fields",
			file: "faq.csv",
			src:  "Question;Réponse\nQ1, really?;A, b, c\n",
			want: []knowledge.Article{{Title: "Q1, really?", Body: "A, b, c"}},
		},
		{
			name: "tab in a .csv",
			file: "faq.csv",
			src:  "subject\tcontent\nS\tC, with comma\n",
			want: []knowledge.Article{{Title: "S", Body: "C, with comma"}},
		},
		{
			name: "excel sep line keeps line numbers",
			file: "faq.csv",
			src:  "sep=|\nquestion|answer\nq|a\nbad\n",
			want: []knowledge.Article{{Title: "q", Body: "a"}}, wantProblems: []int{4},
		},
		{
			name: "spaces after commas and quoted fields",
			file: "faq.csv",
			src:  "question, answer\n\"Hi, there?\", \"Hello, you.\"\n",
			want: []knowledge.Article{{Title: "Hi, there?", Body: "Hello, you."}},
		},
		{
			name: "phrasing columns",
			file: "faq.csv",
			src: "Question,Answer,Alternative,alt_question,Variant 2,Paraphrases,Question 2,question_3,Similar questions,alt answer,Notes\n" +
				"Q,A,p1,p2,p3,p4|p5,p6,p7,\"p8\np9\",not a phrasing,not a phrasing either\n",
			want: []knowledge.Article{{Title: "Q", Body: "A", Phrasings: []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}}},
		},
		{
			name: "numbered questions without a plain one",
			file: "faq.csv",
			src:  "question 2,question 1,answer\nsecond,first,A\n",
			want: []knowledge.Article{{Title: "first", Body: "A", Phrasings: []string{"second"}}},
		},
		{
			name: "question and title both",
			file: "faq.csv",
			src:  "title,question,body\nReturns,How do I return?,Like this.\n",
			want: []knowledge.Article{{Title: "How do I return?", Body: "Like this.", Phrasings: []string{"Returns"}}},
		},
		{
			name: "name only when nothing better",
			file: "faq.csv",
			src:  "name,question,answer,subject\nAlice,Q,A,S\n",
			want: []knowledge.Article{{Title: "Q", Body: "A"}},
		},
		{
			name: "answer only: title from the body",
			file: "faq.csv",
			src:  "answer\nWe open at 9. Closed on Sundays.\n",
			want: []knowledge.Article{{Title: "We open at 9.", Body: "We open at 9. Closed on Sundays."}},
		},
		{
			name: "metadata columns",
			file: "faq.csv",
			src:  "External ID,Question,Answer,Category,Keywords,Locale\nk-1,Q,A,Billing,a;b|c,en-GB\n",
			want: []knowledge.Article{{ExternalID: "k-1", Title: "Q", Body: "A", Topic: "Billing", Tags: []string{"a", "b", "c"}, Language: "en"}},
		},
		{
			name: "bad rows are problems with their line, the rest comes out",
			file: "faq.csv",
			src: "question,answer\n" +
				"\"Multi\nline\",\"spans\n\nlines 2-5\n\"\n" + // lines 2-6
				"too,many,fields\n" + // 7
				"Good?,Yes.\n" + // 8
				"short\n" + // 9
				",\n" + // 10: blank row, skipped
				"trailing,delimiters,,\n" + // 11: accepted
				"He said \"hi\",bare quote\n" + // 12
				"\"unclosed,x\nnext,row\n", // 13-14
			want: []knowledge.Article{
				{Title: "Multi line", Body: "spans\n\nlines 2-5"},
				{Title: "Good?", Body: "Yes."},
				{Title: "trailing", Body: "delimiters"},
			},
			wantProblems: []int{7, 9, 12, 13},
		},
		{
			name: "row with neither question nor answer",
			file: "faq.csv",
			src:  "id,question,answer\nx,,\ny,Q,A\n",
			want: []knowledge.Article{{ExternalID: "y", Title: "Q", Body: "A"}}, wantProblems: []int{2},
		},
		{
			name: "tsv keeps quotes as text",
			file: "faq.tsv",
			src:  "question\tanswer\tlanguage\nThe 15\" model?\tSold out, sorry.\tEN\n",
			want: []knowledge.Article{{Title: "The 15\" model?", Body: "Sold out, sorry.", Language: "en"}},
		},
		{
			name: "tsv empty fields are kept in place",
			file: "faq.tsv",
			src:  "id\tquestion\tanswer\n\tQ\tA\n",
			want: []knowledge.Article{{Title: "Q", Body: "A"}},
		},
	})
}

// compareArticles compares the fields that want sets (ExternalID only when
// set; Title and Body always).
func compareArticles(t *testing.T, got, want []knowledge.Article) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d articles %q, want %d", len(got), titlesOf(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if (w.ExternalID != "" && g.ExternalID != w.ExternalID) || g.Title != w.Title || g.Body != w.Body ||
			g.Language != w.Language || g.Topic != w.Topic || !slices.Equal(g.Tags, w.Tags) || !slices.Equal(g.Phrasings, w.Phrasings) {
			t.Errorf("article %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func titlesOf(as []knowledge.Article) []string {
	return titles(Parsed{Articles: as})
}

func TestSniffDelimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   rune
	}{
		{"question,answer", ','},
		{"question;answer", ';'},
		{"question\tanswer", '\t'},
		{"\"a;b;c\",answer", ','},
		{"question", ','},
		{"\n\nquestion;answer;tags\nx,y,z,w,v", ';'},
	}
	for _, tt := range tests {
		if got := sniffDelimiter(tt.header); got != tt.want {
			t.Errorf("sniffDelimiter(%q) = %q, want %q", strings.Split(tt.header, "\n")[0], got, tt.want)
		}
	}
}
