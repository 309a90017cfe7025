package ingest

import (
	"strings"
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

func TestParseHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []knowledge.Article
	}{
		{
			name: "page chrome and code are dropped",
			src: `<!doctype html><html lang="en-US"><head><title>Returns – Acme</title><style>p{}</style>
<script>var secret = 1;</script></head><body>
<header><a href="/">Acme</a><ul><li>Menu</li></ul></header>
<nav>Home | Help</nav><div role="navigation">Breadcrumbs</div>
<main><article><header><h1>Returns</h1></header>
<p>You have <strong>30&nbsp;days</strong>.</p><noscript>Enable JS</noscript>
<template><p>template</p></template><p style="display:none" hidden>hidden</p>
<span aria-hidden="true">icon</span><button>Print</button>
<form><select><option>EN</option></select></form><svg><title>svg title</title></svg>
</article></main><footer>© Acme</footer></body></html>`,
			want: []knowledge.Article{{Title: "Returns", Body: "You have 30 days.", Language: "en"}},
		},
		{
			name: "title from <title> when it is not the h1",
			src:  `<html><head><title>Help centre</title></head><body><h1>Welcome</h1><p>Hi.</p></body></html>`,
			want: []knowledge.Article{{Title: "Help centre", Body: "# Welcome\n\nHi."}},
		},
		{
			name: "structure: headings, lists, tables, breaks, pre",
			src: `<body lang="fr"><h2>Délais</h2><ul><li>Standard<ul><li>3 jours</li></ul></li><li><p>Express</p></li></ul>
<table><tr><th>Mode</th><th>Prix</th></tr><tr><td>Standard</td><td></td><td>4,90 €</td></tr></table>
<p>Ligne 1<br>Ligne 2</p><div>Bloc <span>en</span><b>ligne</b></div>
<pre>  code
# pas un titre
` + "```" + `
</pre><h3></h3><p>fin</p></body>`,
			want: []knowledge.Article{{Title: "Délais", Language: "fr",
				Body: "- Standard\n- 3 jours\n- Express\n\nMode | Prix\nStandard | 4,90 €\n\nLigne 1\nLigne 2\n\nBloc enligne\n\n````\n  code\n# pas un titre\n```\n````\n\nfin"}},
		},
		{
			name: "FAQ with question headings",
			src:  `<h1>Help</h1><h2>Can I pay later?</h2><p>Yes.</p><h2>Do you ship to <em>Canada</em>?</h2><p>No.</p>`,
			want: []knowledge.Article{{Title: "Can I pay later?", Body: "Yes."}, {Title: "Do you ship to Canada?", Body: "No."}},
		},
		{
			name: "FAQ with details and definition lists",
			src: `<title>FAQ</title><h1>FAQ</h1><details><summary>Is it free?</summary><p>Yes.</p></details>
<dl><dt>Can I cancel?</dt><dd>Any time.</dd><dt>Refunds</dt><dd>Within 5 days.</dd></dl>`,
			want: []knowledge.Article{{Title: "Is it free?", Body: "Yes."}, {Title: "Can I cancel?", Body: "Any time."}, {Title: "Refunds", Body: "Within 5 days."}},
		},
		{
			name: "layout tables keep their structure",
			src:  `<table><tr><td><h1>Old site</h1><p>Para one.</p></td><td><p>Para two.</p></td></tr></table>`,
			want: []knowledge.Article{{Title: "Old site", Body: "Para one.\n\nPara two."}},
		},
		{
			name: "text that is not HTML",
			src:  "just some text & more",
			want: []knowledge.Article{{Title: "Page", Body: "just some text & more"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, "page.html", tt.src)
			compareArticles(t, p.Articles, tt.want)
			for _, a := range p.Articles {
				for _, bad := range []string{"secret", "Menu", "Home", "Breadcrumbs", "Enable", "template", "hidden", "icon", "Print", "svg title", "©"} {
					if strings.Contains(a.Title+a.Body, bad) {
						t.Errorf("article %q keeps %q", a.Title, bad)
					}
				}
			}
		})
	}
}
