package ingest

import (
	"strings"

	"golang.org/x/net/html"
)

// parseHTML keeps the readable text of a page as markdown lines (headings
// stay headings) and cuts it into articles as a markdown file would be.
func parseHTML(name, text string) ([]entry, []*FileError, *FileError) {
	doc, err := html.Parse(strings.NewReader(text))
	if err != nil {
		return nil, nil, invalidf(name, 0, "cannot parse HTML: %v", err)
	}
	meta := docMeta{language: pageLanguage(doc), title: pageTitle(doc)}
	w := htmlWriter{}
	w.walk(doc)
	w.flush()
	if !hasText(w.lines) {
		return nil, nil, invalidf(name, 0, "no readable text in the page (scripts, styles, navigation and footers are skipped)")
	}
	return markdownEntries(name, w.lines, meta)
}

// skipped reports whether an element holds no reading matter: code, page
// chrome, form controls, and whatever the page itself hides.
func skipped(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	switch n.Data {
	case "script", "style", "noscript", "template", "nav", "footer", "head", "svg", "math",
		"iframe", "object", "embed", "canvas", "button", "select", "textarea", "dialog":
		return true
	}
	for _, a := range n.Attr {
		switch {
		case a.Key == "hidden",
			a.Key == "aria-hidden" && a.Val == "true",
			a.Key == "role" && (a.Val == "navigation" || a.Val == "contentinfo" || a.Val == "banner"):
			return true
		}
	}
	return n.Data == "header" && siteBanner(n)
}

// siteBanner reports whether a <header> is the page's banner (logo, site
// name, menus) rather than the header of the content: it is outside main,
// article and section, and holds no h1.
func siteBanner(header *html.Node) bool {
	for p := header.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && (p.Data == "main" || p.Data == "article" || p.Data == "section") {
			return false
		}
	}
	return findElement(header, "h1", "") == nil
}

// htmlWriter turns a page into markdown lines. Lines of one group (the
// items of a list, the rows of a table, the lines of a paragraph broken by
// <br>) follow each other; groups are separated by a blank line.
type htmlWriter struct {
	lines        []mdLine
	inline       strings.Builder // the text of the line being read
	itemPrefix   string          // "- " until a list item's first line is written
	group        int             // the group lines are being written to
	groups       int             // groups opened so far
	lineGroup    int             // the group of the last line written
	listDepth    int             // nested lists belong to the outermost list's group
	headingLevel int             // of the last h1-h6, so summary/dt nest below it
}

func (w *htmlWriter) walk(n *html.Node) {
	if skipped(n) {
		return
	}
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
	case html.DocumentNode:
		w.children(n)
	case html.ElementNode:
		w.element(n)
	}
}

// element writes an element as what its tag makes of the text: a heading,
// a line break, a fence, a list, a table row, a block, or inline text.
func (w *htmlWriter) element(n *html.Node) {
	switch n.Data {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		level := int(n.Data[1] - '0')
		w.heading(level, textContent(n))
		w.headingLevel = level
	case "summary", "dt":
		// <details><summary>Question?</summary>answer</details> and
		// <dt>question</dt><dd>answer</dd> are how pages write FAQs without
		// headings.
		w.heading(min(w.headingLevel+1, 6), textContent(n))
	case "br":
		w.flush()
	case "pre":
		w.pre(n)
	case "ul", "ol":
		w.list(n)
	case "li":
		w.item(n)
	case "table":
		w.table(n)
	case "tr":
		w.row(n)
	case "p", "div", "section", "article", "main", "aside", "header", "blockquote", "dl", "dd",
		"caption", "figure", "figcaption", "address", "details", "hr", "center", "fieldset", "legend",
		"form", "body", "html", "td", "th":
		w.block(n)
	default:
		w.children(n)
	}
}

// list writes a list as a group of its own; a nested list belongs to the
// outermost list's group.
func (w *htmlWriter) list(n *html.Node) {
	w.flush()
	if w.listDepth == 0 {
		w.newGroup()
	}
	w.listDepth++
	w.children(n)
	w.flush()
	w.listDepth--
	if w.listDepth == 0 {
		w.newGroup()
	}
}

// item writes a list item, its first line after "- ".
func (w *htmlWriter) item(n *html.Node) {
	w.flush()
	w.itemPrefix = "- "
	w.children(n)
	w.flush()
	w.itemPrefix = ""
}

// table writes a table as a group of its own, even inside a list.
func (w *htmlWriter) table(n *html.Node) {
	w.flush()
	w.newGroup()
	w.children(n)
	w.flush()
	w.newGroup()
}

// row writes a table row as one line, its cells separated by " | ",
// unless it is a row of the page's layout (see layoutRow).
func (w *htmlWriter) row(n *html.Node) {
	if layoutRow(n) {
		w.block(n)
		return
	}
	var cells []string
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") && !skipped(c) {
			if t := oneLine(textContent(c)); t != "" {
				cells = append(cells, t)
			}
		}
	}
	w.flush()
	w.add(strings.Join(cells, " | "))
}

func (w *htmlWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
}

// block writes a block element as a group of its own, except inside a list,
// where a paragraph is part of its item.
func (w *htmlWriter) block(n *html.Node) {
	w.flush()
	if w.listDepth == 0 {
		w.newGroup()
	}
	w.children(n)
	w.flush()
	if w.listDepth == 0 {
		w.newGroup()
	}
}

func (w *htmlWriter) newGroup() {
	w.groups++
	w.group = w.groups
}

// text adds inline text; HTML collapses white space, and so do we.
func (w *htmlWriter) text(s string) {
	if strings.TrimSpace(s) == "" {
		if w.inline.Len() > 0 {
			w.inline.WriteByte(' ')
		}
		return
	}
	w.inline.WriteString(s)
}

// flush writes the line being read, if any.
func (w *htmlWriter) flush() {
	t := oneLine(w.inline.String())
	w.inline.Reset()
	if t == "" {
		return
	}
	w.add(w.itemPrefix + t)
	w.itemPrefix = ""
}

// add writes a line to the current group, after a blank line when it starts
// a new group.
func (w *htmlWriter) add(t string) {
	if t == "" {
		return
	}
	if len(w.lines) > 0 && w.lineGroup != w.group {
		w.lines = append(w.lines, mdLine{})
	}
	w.lines = append(w.lines, mdLine{text: t})
	w.lineGroup = w.group
}

func (w *htmlWriter) heading(level int, text string) {
	w.flush()
	t := oneLine(text)
	if t == "" {
		return
	}
	if len(w.lines) > 0 {
		w.lines = append(w.lines, mdLine{})
	}
	w.lines = append(w.lines, mdLine{level: level, text: t})
	w.newGroup()
	w.lineGroup = 0 // a line after a heading is always set apart from it
}

// pre keeps preformatted text as it is, inside a fence long enough not to be
// closed by anything in the text.
func (w *htmlWriter) pre(n *html.Node) {
	w.flush()
	var b strings.Builder
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		if skipped(n) {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.Data == "br" {
			b.WriteByte('\n')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(n)
	body := strings.Trim(b.String(), "\n")
	if strings.TrimSpace(body) == "" {
		return
	}
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	w.newGroup()
	w.add(fence)
	for l := range strings.SplitSeq(body, "\n") {
		w.lines = append(w.lines, mdLine{text: l})
	}
	w.lines = append(w.lines, mdLine{text: fence})
	w.newGroup()
}

// layoutRow reports whether a table row holds page structure (headings,
// paragraphs, lists, tables) rather than data: old sites lay pages out in
// tables, and flattening a row would flatten the page.
func layoutRow(n *html.Node) bool {
	var found bool
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		for c := n.FirstChild; c != nil && !found; c = c.NextSibling {
			if c.Type == html.ElementNode {
				switch c.Data {
				case "h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "table", "pre", "dl", "details":
					found = true
					return
				}
			}
			visit(c)
		}
	}
	visit(n)
	return found
}

// textContent is the visible text under n, on one line.
func textContent(n *html.Node) string {
	var b strings.Builder
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		if skipped(n) {
			return
		}
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && !inlineElement(n.Data):
			// Block elements and line breaks inside a heading or a cell
			// still separate words.
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(n)
	return oneLine(b.String())
}

// inlineElement reports whether a tag sits inside running text, so that
// "<b>free</b>?" stays "free?".
func inlineElement(tag string) bool {
	switch tag {
	case "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "dfn", "del", "em", "font", "i", "ins",
		"kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var":
		return true
	}
	return false
}

// pageTitle is the <title>, or the first <h1> when there is none or when
// the <title> is that h1 plus the site's name ("Delivery | Acme").
func pageTitle(doc *html.Node) string {
	var h1 string
	if h := findElement(doc, "h1", "nav"); h != nil && !skipped(h) {
		h1 = textContent(h)
	}
	var title string
	if t := findElement(doc, "title", "svg"); t != nil {
		var b strings.Builder
		for c := t.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		title = oneLine(b.String())
	}
	if title == "" || (h1 != "" && strings.Contains(strings.ToLower(title), strings.ToLower(h1))) {
		return h1
	}
	return title
}

// pageLanguage reads the lang attribute of <html>, or of <body>.
func pageLanguage(doc *html.Node) string {
	for _, tag := range []string{"html", "body"} {
		if n := findElement(doc, tag, ""); n != nil {
			for _, a := range n.Attr {
				if a.Key == "lang" || a.Key == "xml:lang" {
					return a.Val
				}
			}
		}
	}
	return ""
}

// findElement returns the first element named tag in document order, not
// looking inside elements named notUnder.
func findElement(n *html.Node, tag, notUnder string) *html.Node {
	if n.Type == html.ElementNode {
		if n.Data == tag {
			return n
		}
		if n.Data == notUnder {
			return nil
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findElement(c, tag, notUnder); f != nil {
			return f
		}
	}
	return nil
}
