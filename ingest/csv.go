package ingest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/relais-ai/relais/knowledge"
)

// csvColumns says which column of a CSV row holds what; -1 when none does.
type csvColumns struct {
	id, question, answer, language, topic, tags int
	phrasings                                   []int
}

func parseCSV(name, text string) ([]entry, []*FileError, *FileError) {
	return readDelimited(name, text, 0)
}

func parseTSV(name, text string) ([]entry, []*FileError, *FileError) {
	return readDelimited(name, text, '\t')
}

// readDelimited reads a CSV or TSV file with a header row; comma 0 means
// sniff the delimiter from the header.
func readDelimited(name, text string, comma rune) ([]entry, []*FileError, *FileError) {
	d := newDelimitedFile(name, text, comma)
	if problem := d.readHeader(); problem != nil {
		return nil, nil, problem
	}
	entries, problems, rows, problem := d.readRows()
	if problem != nil {
		return nil, problems, problem
	}
	if rows == 0 {
		return nil, problems, invalidf(name, 0, "the file has a header row but no data rows")
	}
	return entries, problems, nil
}

// delimitedFile is a CSV or TSV file being read; header and cols are set
// by readHeader.
type delimitedFile struct {
	name   string
	r      *csv.Reader
	comma  rune
	header []string
	cols   csvColumns
}

// newDelimitedFile prepares to read text with the delimiter comma, or when
// comma is 0 the one an Excel "sep=" line names, else the one sniffed from
// the header.
func newDelimitedFile(name, text string, comma rune) *delimitedFile {
	text, sep := stripSepLine(text)
	if comma == 0 {
		comma = sep
	}
	if comma == 0 {
		comma = sniffDelimiter(text)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = comma
	r.FieldsPerRecord = -1 // rows with the wrong count are reported, not fatal
	// Without this, `a, "b, c"` is a bare-quote error, yet people write CSV
	// by hand that way. With a tab delimiter it would eat empty fields.
	r.TrimLeadingSpace = comma != '\t'
	// TSV is usually written without quoting, so a quote inside a field is
	// text; CSV stays strict so that a stray quote is reported rather than
	// silently swallowing the rows after it into one field.
	r.LazyQuotes = comma == '\t'
	return &delimitedFile{name: name, r: r, comma: comma}
}

// readHeader reads the header row and maps its columns; the problem makes
// the whole file unusable.
func (d *delimitedFile) readHeader() *FileError {
	header, err := d.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return invalidf(d.name, pe.StartLine, "cannot read the header row: %s", describeCSVError(pe))
		}
		return invalidf(d.name, 0, "cannot read the header row: %v", err)
	}
	cols, ok := mapColumns(header)
	if !ok {
		found := make([]string, 0, len(header))
		for _, h := range header {
			if h = oneLine(h); h != "" {
				found = append(found, fmt.Sprintf("%q", h))
			}
		}
		return invalidf(d.name, 1, "no usable column in the header row (found %s; delimiter %q); want %s",
			strings.Join(found, ", "), d.comma, acceptedFields())
	}
	d.header, d.cols = header, cols
	return nil
}

// readRows reads the data rows after the header. rows counts the rows that
// are not blank, whether they were read or are problems; fatal is for a
// failure to read the text at all.
func (d *delimitedFile) readRows() (entries []entry, problems []*FileError, rows int, fatal *FileError) {
	for {
		rec, err := d.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, problems, rows, invalidf(d.name, 0, "read: %v", err)
			}
			rows++
			problems = append(problems, invalidf(d.name, pe.StartLine, "%s", describeCSVError(pe)))
			continue
		}
		line, _ := d.r.FieldPos(0)
		if allBlank(rec) {
			continue
		}
		rows++
		a, problem := d.rowArticle(line, rec)
		if problem != nil {
			problems = append(problems, problem)
			continue
		}
		entries = append(entries, entry{line: line, a: a})
	}
	return entries, problems, rows, nil
}

// rowArticle reads the article of the data row rec, which starts on line; the
// problem is for a row whose field count is not the header's.
func (d *delimitedFile) rowArticle(line int, rec []string) (knowledge.Article, *FileError) {
	if len(rec) > len(d.header) && allBlank(rec[len(d.header):]) {
		rec = rec[:len(d.header)] // trailing delimiters some spreadsheets add
	}
	if len(rec) != len(d.header) {
		hint := ""
		if len(rec) > len(d.header) {
			hint = fmt.Sprintf(" (a %q inside a field that is not quoted?)", d.comma)
		}
		return knowledge.Article{}, invalidf(d.name, line, "row has %s, the header has %d%s", plural(len(rec), "field"), len(d.header), hint)
	}
	return d.cols.article(rec), nil
}

// article builds the article of one row whose field count matches the header.
func (c csvColumns) article(rec []string) knowledge.Article {
	get := func(i int) string {
		if i < 0 {
			return ""
		}
		return rec[i]
	}
	a := knowledge.Article{
		ExternalID: get(c.id),
		Title:      get(c.question),
		Body:       get(c.answer),
		Language:   get(c.language),
		Topic:      get(c.topic),
	}
	if c.tags >= 0 {
		a.Tags = splitList(rec[c.tags])
	}
	for _, i := range c.phrasings {
		a.Phrasings = append(a.Phrasings, splitPhrasings(rec[i])...)
	}
	return a
}

// mapColumns assigns roles to header columns; ok is false when there is
// neither a question nor an answer column.
func mapColumns(header []string) (cols csvColumns, ok bool) {
	cols = csvColumns{id: -1, question: -1, answer: -1, language: -1, topic: -1, tags: -1}
	fields := make([]field, len(header))
	for i, h := range header {
		fields[i] = classifyField(fieldName(h))
	}
	best := func(role fieldRole) int {
		at := -1
		for i, f := range fields {
			if f.role == role && (at < 0 || f.rank < fields[at].rank) {
				at = i
			}
		}
		return at
	}
	cols.id = best(fieldID)
	cols.answer = best(fieldAnswer)
	cols.language = best(fieldLanguage)
	cols.topic = best(fieldTopic)
	cols.tags = best(fieldTags)
	cols.question = best(fieldQuestion)
	if cols.question < 0 {
		// "question 1, question 2, ...": the lowest number is the question.
		for i, f := range fields {
			if f.numbered && (cols.question < 0 || f.rank < fields[cols.question].rank) {
				cols.question = i
			}
		}
	}
	if cols.question < 0 {
		cols.question = best(fieldWeakQuestion)
	}
	for i, f := range fields {
		// Both "question" and "title" columns: the other one is a phrasing.
		if i != cols.question && (f.role == fieldPhrasing || f.role == fieldQuestion) {
			cols.phrasings = append(cols.phrasings, i)
		}
	}
	return cols, cols.question >= 0 || cols.answer >= 0
}

// stripSepLine handles the "sep=;" first line Excel writes and reads: it
// names the delimiter and is not the header. The line is blanked rather than
// removed so that line numbers still match the file.
func stripSepLine(text string) (string, rune) {
	first, rest, _ := strings.Cut(text, "\n")
	f := strings.TrimSpace(first)
	if len(f) == 5 && strings.EqualFold(f[:4], "sep=") {
		return "\n" + rest, rune(f[4])
	}
	return text, 0
}

// sniffDelimiter picks ',', ';' or tab, whichever the header row (outside
// quotes) uses most; ',' on a tie. Spreadsheets in French locales write ';'.
func sniffDelimiter(text string) rune {
	counts := map[rune]int{}
	quoted := false
	for _, r := range text {
		if r == '"' {
			quoted = !quoted
			continue
		}
		if r == '\n' && !quoted {
			if len(counts) > 0 {
				break
			}
			continue // blank lines before the header
		}
		if !quoted && (r == ',' || r == ';' || r == '\t') {
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

func allBlank(fields []string) bool {
	return !slices.ContainsFunc(fields, func(f string) bool { return strings.TrimSpace(f) != "" })
}

// describeCSVError explains a CSV syntax error in terms a person editing the
// file in a text editor can act on.
func describeCSVError(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("column %d: a double quote inside a field that is not quoted; quote the whole field and double the inner quotes (\"\")", pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine:
		return fmt.Sprintf("a quoted field starting on this row is not closed properly (reading stopped on line %d); check for a missing or extra double quote", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("column %d: a quoted field must end with a double quote followed by the delimiter or the end of the line", pe.Column)
	}
	return pe.Err.Error()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
