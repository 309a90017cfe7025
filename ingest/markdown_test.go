package ingest

import (
	"slices"
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

func TestParseMarkdown(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{
			name: "document: title from the first heading, sections kept",
			file: "guide.md",
			src:  "# Guide\n\nIntro.\n\n## Part *one*\n\nText.\n",
			want: []knowledge.Article{{Title: "Guide", Body: "Intro.\n\n## Part *one*\n\nText."}},
		},
		{
			name: "document without headings: title from the file name",
			file: "docs/returns_policy-2024.md",
			src:  "Returns are free.\n\nWithin 30 days.\n",
			want: []knowledge.Article{{Title: "Returns policy 2024", Body: "Returns are free.\n\nWithin 30 days."}},
		},
		{
			name: "document whose first heading comes after text keeps it",
			file: "a.md",
			src:  "Preamble.\n\n## Details\n\nMore.\n",
			want: []knowledge.Article{{Title: "Details", Body: "Preamble.\n\n## Details\n\nMore."}},
		},
		{
			name: "setext headings and closing hashes",
			file: "a.md",
			src:  "Main title\n==========\n\nIntro.\n\nSub part\n--------\n\nText.\n\n### C# tips ###\n\nUse it.\n\nparagraph line one\nline two\n---\n",
			want: []knowledge.Article{{Title: "Main title", Body: "Intro.\n\n## Sub part\n\nText.\n\n### C# tips\n\nUse it.\n\nparagraph line one\nline two\n---"}},
		},
		{
			name: "FAQ by question headings at one level",
			file: "faq.md",
			src:  "# Shop\n\nWelcome.\n\n## How do I pay?\n\nBy card.\n\n## Can I return **items**?\nYes.\n\n### Conditions\n\nUnused.\n\n## Delivery costs\n\nFree.\n",
			want: []knowledge.Article{
				{Title: "Shop", Body: "Welcome."},
				{Title: "How do I pay?", Body: "By card."},
				{Title: "Can I return items?", Body: "Yes.\n\n### Conditions\n\nUnused."},
				{Title: "Delivery costs", Body: "Free."},
			},
			wantIDs: []string{"faq.md#shop", "faq.md#how-do-i-pay", "faq.md#can-i-return-items", "faq.md#delivery-costs"},
		},
		{
			name: "FAQ section inside a guide",
			file: "guide.md",
			src:  "# Product guide\n\n## Setup\n\n### Windows\n\nRun setup.exe.\n\n### Mac\n\nDrag it.\n\n## FAQ\n\n### Is it free?\n\nYes.\n\n### Licence\n\nMIT.\n",
			want: []knowledge.Article{
				{Title: "Product guide", Body: "## Setup\n\n### Windows\n\nRun setup.exe.\n\n### Mac\n\nDrag it."},
				{Title: "Is it free?", Body: "Yes."},
				{Title: "Licence", Body: "MIT."},
			},
		},
		{
			name: "questions under categories",
			file: "faq.md",
			src:  "## Orders\n\n### Where is my order?\n\nTrack it.\n\n## Payments\n\n### Is PayPal accepted?\n\nYes.\n",
			want: []knowledge.Article{{Title: "Where is my order?", Body: "Track it."}, {Title: "Is PayPal accepted?", Body: "Yes."}},
		},
		{
			name: "a few question headings among many are a document",
			file: "guide.md",
			src:  "# Tool\n\n## Why use it?\n\nSpeed.\n\n## How does it work?\n\nMagic.\n\n## Setup\n\nRun it.\n\n## Usage\n\nCall it.\n\n## Licence\n\nMIT.\n",
			want: []knowledge.Article{{Title: "Tool", Body: "## Why use it?\n\nSpeed.\n\n## How does it work?\n\nMagic.\n\n## Setup\n\nRun it.\n\n## Usage\n\nCall it.\n\n## Licence\n\nMIT."}},
		},
		{
			name: "everything under an FAQ heading with a question is an entry",
			file: "guide.md",
			src:  "# Tool\n\nIntro.\n\n## Frequently Asked Questions\n\n### Is it free?\n\nYes.\n\n### Licence\n\nMIT.\n\n### Support\n\nForum.\n",
			want: []knowledge.Article{{Title: "Tool", Body: "Intro."}, {Title: "Is it free?", Body: "Yes."}, {Title: "Licence", Body: "MIT."}, {Title: "Support", Body: "Forum."}},
		},
		{
			name: "an FAQ heading without questions is a section",
			file: "guide.md",
			src:  "# Tool\n\n## FAQ\n\n### Licence\n\nMIT.\n",
			want: []knowledge.Article{{Title: "Tool", Body: "## FAQ\n\n### Licence\n\nMIT."}},
		},
		{
			name: "one question heading is a document",
			file: "a.md",
			src:  "# Why is the sky blue?\n\nRayleigh scattering.\n\n## Details\n\nShort wavelengths.\n",
			want: []knowledge.Article{{Title: "Why is the sky blue?", Body: "Rayleigh scattering.\n\n## Details\n\nShort wavelengths."}},
		},
		{
			name: "headings in code blocks are code",
			file: "a.md",
			src:  "# Script\n\n```bash\n# Is this a question?\necho\n```\n\n~~~\n## Or this?\n~~~\n\n    # indented code?\n",
			want: []knowledge.Article{{Title: "Script", Body: "```bash\n# Is this a question?\necho\n```\n\n~~~\n## Or this?\n~~~\n\n    # indented code?"}},
		},
		{
			name: "front matter",
			file: "a.md",
			src: "---\ntitle: \"Returns: the rules\"\nid: returns-rules\nlanguage: French\ntopic: returns # a comment\ntags:\n  - retours\n  - 'remboursement'\n" +
				"description: |\n  long text\n---\n# Returns: the rules\n\nBody.\n",
			want:    []knowledge.Article{{Title: "Returns: the rules", Body: "Body.", Language: "fr", Topic: "returns", Tags: []string{"retours", "remboursement"}}},
			wantIDs: []string{"returns-rules"},
		},
		{
			name: "toml front matter, title differs from the heading",
			file: "a.md",
			src:  "+++\ntitle = \"Shipping\"\ntags = [\"a\", \"b\"]\nlang = \"en\"\n+++\n\n# Shipping times\n\nTwo days.\n",
			want: []knowledge.Article{{Title: "Shipping", Body: "# Shipping times\n\nTwo days.", Language: "en", Tags: []string{"a", "b"}}},
		},
		{
			name: "a leading rule is not front matter",
			file: "a.md",
			src:  "---\n\nJust text.\n\n---\n\nMore text.\n",
			want: []knowledge.Article{{Title: "A", Body: "---\n\nJust text.\n\n---\n\nMore text."}},
		},
		{
			name: "front matter applies to every FAQ article",
			file: "faq.md",
			src:  "---\nlang: fr\ntags: [aide]\n---\n## Puis-je payer en ligne ?\nOui.\n## Livrez-vous en Suisse ?\nNon.\n",
			want: []knowledge.Article{
				{Title: "Puis-je payer en ligne ?", Body: "Oui.", Language: "fr", Tags: []string{"aide"}},
				{Title: "Livrez-vous en Suisse ?", Body: "Non.", Language: "fr", Tags: []string{"aide"}},
			},
		},
		{
			name: "markdown in question headings",
			file: "faq.md",
			src:  "# FAQ {#faq}\n\n## Can I use [the app](https://x.example) offline?\n\nYes.\n\n## Is `v2` \\*stable\\*?\n\nYes.\n\n## What about <em>HTML</em>?\n\nFine.\n",
			want: []knowledge.Article{
				{Title: "Can I use the app offline?", Body: "Yes."},
				{Title: "Is v2 *stable*?", Body: "Yes."},
				{Title: "What about HTML?", Body: "Fine."},
			},
		},
	})
}

// TestMarkdownEntryLines checks that FAQ articles know the line of their
// heading in the file, front matter included, so problems can point at it.
func TestMarkdownEntryLines(t *testing.T) {
	t.Parallel()
	entries, _, ferr := parseMarkdown("faq.md", "---\ntitle: x\n---\nIntro.\n\n## A?\n\na\n\nB?\n---\n\nb\n")
	if ferr != nil {
		t.Fatal(ferr)
	}
	var got []int
	for _, e := range entries {
		got = append(got, e.line)
	}
	if want := []int{4, 6, 10}; !slices.Equal(got, want) {
		t.Errorf("entry lines %v, want %v", got, want)
	}
}
