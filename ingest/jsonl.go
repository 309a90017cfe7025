package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/relais-ai/relais/knowledge"
)

// containerKeys hold the list of articles in a .json object file:
// {"articles": [...]}.
var containerKeys = []string{"articles", "faqs", "faq", "items", "entries", "data"}

// parseJSONL reads one article object per line. A line that is not a usable
// object is a problem; the other lines still count.
func parseJSONL(name, text string) ([]entry, []*FileError, *FileError) {
	if strings.HasPrefix(strings.TrimSpace(text), "[") {
		// A JSON array saved as .jsonl: read it rather than fail every line.
		return parseJSON(name, text)
	}
	var (
		entries  []entry
		problems []*FileError
	)
	for i, l := range strings.Split(text, "\n") {
		line := i + 1
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if l[0] != '{' {
			problems = append(problems, invalidf(name, line, "want one JSON object per line, got %s", describeJSONStart(l)))
			continue
		}
		e, problem := objectEntry(name, line, []byte(l))
		if problem != nil {
			problems = append(problems, problem)
			continue
		}
		entries = append(entries, e)
	}
	return entries, problems, nil
}

// parseJSON reads a .json file: an array of article objects, an object with
// the array under "articles" (or "faqs", "items", ...), a single article
// object, or several of these one after the other. A syntax error makes the
// whole file unusable: there is no line to resume from.
func parseJSON(name, text string) ([]entry, []*FileError, *FileError) {
	var (
		entries  []entry
		problems []*FileError
	)
	add := func(line int, raw json.RawMessage) {
		if len(raw) == 0 || raw[0] != '{' {
			problems = append(problems, invalidf(name, line, "want an article object, got %s", describeJSONStart(string(raw))))
			return
		}
		e, problem := objectEntry(name, line, raw)
		if problem != nil {
			problems = append(problems, problem)
			return
		}
		entries = append(entries, e)
	}
	data := []byte(text)
	syntaxErr := func(err error, at int) *FileError {
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset > 0 {
			at = int(se.Offset) - 1
		}
		if at > len(data) {
			at = len(data)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return invalidf(name, lineAt(data, len(data)), "invalid JSON: the file ends in the middle of a value")
		}
		return invalidf(name, lineAt(data, at), "invalid JSON: %v", err)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		start := skipJSONSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, problems, syntaxErr(err, start)
		}
		line := lineAt(data, start)
		switch raw[0] {
		case '[':
			if err := eachElement(raw, start, data, add); err != nil {
				return nil, problems, syntaxErr(err, start)
			}
		case '{':
			key, inner, at := containerArray(raw)
			if key == "" {
				add(line, raw)
				continue
			}
			if err := eachElement(inner, start+at, data, add); err != nil {
				return nil, problems, syntaxErr(err, start)
			}
		default:
			return nil, problems, invalidf(name, line, "want an array of article objects or {\"articles\": [...]}, got %s", describeJSONStart(string(raw)))
		}
	}
	return entries, problems, nil
}

// objectEntry reads the article of one JSON object, which starts on line;
// the problem says why the object is not one.
func objectEntry(name string, line int, raw []byte) (entry, *FileError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return entry{}, invalidf(name, line, "%s", describeJSONError(err))
	}
	a, err := articleFromObject(obj)
	if err != nil {
		return entry{}, invalidf(name, line, "%v", err)
	}
	return entry{line: line, a: a}, nil
}

// eachElement calls add for every element of the JSON array raw, which
// starts at byte offset base of data, with the line each element starts on.
func eachElement(raw json.RawMessage, base int, data []byte, add func(int, json.RawMessage)) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '['
		return err
	}
	for dec.More() {
		at := skipJSONSpace(raw, int(dec.InputOffset()))
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return err
		}
		add(lineAt(data, base+at), el)
	}
	_, err := dec.Token() // ']'
	return err
}

// containerArray finds the array of articles in an object such as
// {"articles": [...]}: its key, the array, and the array's byte offset in
// raw. key is "" when the object holds no such array (it is then an article).
func containerArray(raw json.RawMessage) (key string, array json.RawMessage, at int) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return "", nil, 0
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, 0
		}
		k, _ := tok.(string)
		valueAt := skipJSONSpace(raw, int(dec.InputOffset()))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", nil, 0
		}
		if len(v) > 0 && v[0] == '[' && slices.Contains(containerKeys, fieldName(k)) {
			return k, v, valueAt
		}
	}
	return "", nil, 0
}

// skipJSONSpace moves past the white space, ':' and ',' that Decoder offsets
// stop before, to where the next value starts.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r', ',', ':':
			i++
		default:
			return i
		}
	}
	return i
}

// articleFromObject reads an article from a JSON object, recognising keys
// the way CSV headers are: the eval kb format {"id","title","body"},
// question/answer, phrasings/alternatives, tags, topic, language.
func articleFromObject(obj map[string]json.RawMessage) (knowledge.Article, error) {
	fields, err := objectFields(obj)
	if err != nil {
		return knowledge.Article{}, err
	}
	r := objectReader{obj: obj}
	var a knowledge.Article
	a.ExternalID = r.one(fields.first(fieldID))
	a.Language = r.one(fields.first(fieldLanguage))
	a.Topic = r.one(fields.first(fieldTopic))
	a.Body = strings.Join(r.text(fields.first(fieldAnswer)), "\n\n")
	for _, t := range r.text(fields.first(fieldTags)) {
		a.Tags = append(a.Tags, splitList(t)...)
	}
	titleKey := fields.titleKey()
	if titles := r.text(titleKey); len(titles) > 0 {
		// {"question": ["How do I ...?", "Can I ...?"]}: the first is the
		// title, the others are phrasings.
		a.Title = titles[0]
		a.Phrasings = append(a.Phrasings, titles[1:]...)
	}
	for _, key := range fields.phrasingKeys(titleKey) {
		for _, p := range r.text(key) {
			a.Phrasings = append(a.Phrasings, splitPhrasings(p)...)
		}
	}
	if len(r.errs) > 0 {
		return knowledge.Article{}, errors.Join(r.errs...)
	}
	if titleKey == "" && fields.first(fieldAnswer) == "" {
		return knowledge.Article{}, fmt.Errorf("no title/question or body/answer field (found %s)", quotedKeys(obj))
	}
	return a, nil
}

// keyedFields are the keys of a JSON object with their classification,
// sorted by rank then key.
type keyedFields []keyedField

type keyedField struct {
	key string
	f   field
}

// objectFields classifies the keys of obj. An object with the labels of an
// evaluation example is refused: loading it as an article would put the
// question in the knowledge base.
func objectFields(obj map[string]json.RawMessage) (keyedFields, error) {
	var fields keyedFields
	for k := range obj {
		n := fieldName(k)
		if n == "gold_article_ids" || n == "expected" {
			return nil, errors.New("this is a labelled question (it has gold_article_ids or expected), not an article; load such files as examples")
		}
		fields = append(fields, keyedField{k, classifyField(n)})
	}
	// Map order is random; sort so that ties and phrasing order are stable.
	slices.SortFunc(fields, func(a, b keyedField) int {
		if a.f.rank != b.f.rank {
			return a.f.rank - b.f.rank
		}
		return strings.Compare(a.key, b.key)
	})
	return fields, nil
}

// first returns the best key with role, "" when there is none.
func (fields keyedFields) first(role fieldRole) string {
	for _, kf := range fields {
		if kf.f.role == role {
			return kf.key
		}
	}
	return ""
}

// titleKey returns the key of the title: a question key, else a numbered
// one ("question_2" when there is no plain "question"), else a weak one
// ("subject"); "" when there is none.
func (fields keyedFields) titleKey() string {
	if key := fields.first(fieldQuestion); key != "" {
		return key
	}
	for _, kf := range fields {
		if kf.f.numbered {
			return kf.key
		}
	}
	return fields.first(fieldWeakQuestion)
}

// phrasingKeys returns the keys of phrasings: the question keys other than
// the title's, and the phrasing keys.
func (fields keyedFields) phrasingKeys(titleKey string) []string {
	var keys []string
	for _, kf := range fields {
		if kf.key == titleKey || (kf.f.role != fieldPhrasing && kf.f.role != fieldQuestion) {
			continue
		}
		keys = append(keys, kf.key)
	}
	return keys
}

// objectReader reads the values of a JSON object as text, collecting the
// errors so that one message names every bad field.
type objectReader struct {
	obj  map[string]json.RawMessage
	errs []error
}

// text returns the strings of the value at key, nil for key "".
func (r *objectReader) text(key string) []string {
	if key == "" {
		return nil
	}
	v, err := jsonStrings(r.obj[key])
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("field %q: %w", key, err))
	}
	return v
}

// one returns the strings of the value at key joined into one.
func (r *objectReader) one(key string) string { return strings.Join(r.text(key), " ") }

// quotedKeys lists the keys of obj, quoted and sorted.
func quotedKeys(obj map[string]json.RawMessage) string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// jsonStrings reads a value that should be text: a string, a number or a
// boolean (ids are often numbers), an array of those, or null.
func jsonStrings(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return []string{s}, err
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var out []string
		for _, it := range items {
			if len(it) > 0 && (it[0] == '[' || it[0] == '{') {
				return nil, fmt.Errorf("want text or a list of texts, got a list holding %s", describeJSONStart(string(it)))
			}
			s, err := jsonStrings(it)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case '{':
		return nil, errors.New("want text or a list of texts, got an object")
	}
	// A number or a boolean: keep it as written.
	return []string{string(raw)}, nil
}

func describeJSONStart(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "nothing"
	}
	switch s[0] {
	case '[':
		return "an array"
	case '{':
		return "an object"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	if s[0] == '-' || ('0' <= s[0] && s[0] <= '9') {
		return "a number"
	}
	return fmt.Sprintf("%q", truncateWords(s, 20))
}

// describeJSONError gives the column of a syntax error within its line.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at column %d: %v", se.Offset, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "invalid JSON: the line ends in the middle of a value"
	}
	return fmt.Sprintf("invalid JSON: %v", err)
}
