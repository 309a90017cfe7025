package intent

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// The rules are a small pattern language over folded words, kept as a text
// file (intents/rules.txt) so that a reviewer can read and edit them as
// phrase lists rather than as code.
//
//	@NAME = word word~ word* @OTHER    a concept; "+=" extends it
//	LABEL NAME: PATTERN [! VETO]...    a rule
//
// A pattern is a sequence of elements. An element is a word, a concept or
// alternatives joined by "|". "word~" also matches one typo, "word*" any word
// starting with "word". "_N" before an element allows up to N words in
// between, all from @LIGHT (articles, pronouns, "real", "please"); "~N"
// allows any N words. "^" as the first element pins the match to the start
// of the message, "$" as the last to its end. A rule fires when its pattern
// occurs and none of its vetoes does. Labels are human_request or
// sensitive:TOPIC; the stage of Classify that runs a rule follows from it.
//
// Recall or precision is chosen per label, and it shows in how loose the
// patterns are. Emergencies, self-harm and requests for a person must
// almost never be missed: a missed one leaves someone in danger or stuck
// with a bot, while a false one costs an agent a minute. So those patterns
// are broad, typo-tolerant, and vetoed only by clearly informational
// phrasings ("in case of emergency", "emergency number"). Complaints, legal
// threats, fraud and contract cancellation favour precision: every false hit
// sends an answerable question to a person, and customers mention these
// words in ordinary questions all the time ("what is your complaints
// procedure?", "do you offer fraud protection?"). Their rules only cover
// unambiguous phrasings; paraphrases are left to the examples, which are
// weighed against [question] counter-examples.
//
//go:embed intents/rules.txt
var intentRules string

// element is one step of a pattern.
type element struct {
	set   bitset
	gap   int  // words allowed before this element
	light bool // the skipped words must be in @LIGHT
}

type pattern struct {
	anchored bool // the first element must be the first word
	ended    bool // the last element must be the last word
	els      []element
}

type rule struct {
	intent string
	topic  string
	name   string
	pat    pattern
	vetoes []pattern
}

// ruleSet is the compiled rules, grouped by the stage of Classify that runs
// them.
type ruleSet struct {
	lex   *lexicon
	light bitset
	// bare-request words: a message made only of these and at least one
	// person word ("agent", "human please", "un conseiller svp") asks for a
	// person.
	bareOK   bitset
	bareRole bitset
	safety   []rule // emergencies and self-harm
	precise  []rule // legal, fraud, cancellation, complaint
	human    []rule
}

func compileRules(src string) (*ruleSet, error) {
	type rawRule struct {
		line   int
		label  string
		name   string
		pat    string
		vetoes []string
	}
	lex := newLexicon()
	concepts := map[string][]int32{}
	var raws []rawRule

	// First pass: intern every word and resolve concepts, so that bitsets
	// can be sized once the vocabulary is complete.
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			name, words, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("rules line %d: concept without \"=\"", n)
			}
			name = strings.TrimSpace(name)
			extend := strings.HasSuffix(name, "+")
			name = strings.TrimSpace(strings.TrimSuffix(name, "+"))
			if _, exists := concepts[name]; exists && !extend {
				return nil, fmt.Errorf("rules line %d: concept %s defined twice", n, name)
			}
			for _, w := range strings.Fields(words) {
				if strings.HasPrefix(w, "@") {
					ids, ok := concepts[w]
					if !ok {
						return nil, fmt.Errorf("rules line %d: unknown concept %s", n, w)
					}
					concepts[name] = append(concepts[name], ids...)
					continue
				}
				concepts[name] = append(concepts[name], lex.add(w))
			}
			continue
		}
		head, body, ok := strings.Cut(line, ":")
		// The label itself may contain a colon ("sensitive:fraud name: ...").
		if ok && strings.HasPrefix(head, "sensitive") {
			var rest string
			rest, body, ok = strings.Cut(body, ":")
			head = head + ":" + rest
		}
		fields := strings.Fields(head)
		if !ok || len(fields) != 2 {
			return nil, fmt.Errorf("rules line %d: want \"LABEL NAME: PATTERN\"", n)
		}
		parts := strings.Split(body, "!")
		raws = append(raws, rawRule{line: n, label: fields[0], name: fields[1], pat: parts[0], vetoes: parts[1:]})
		for _, p := range parts {
			for _, tok := range strings.Fields(p) {
				for _, alt := range strings.Split(tok, "|") {
					if alt != "" && alt != "^" && alt != "$" && !strings.HasPrefix(alt, "@") && !isGap(alt) {
						lex.add(alt)
					}
				}
			}
		}
	}

	toSet := func(ids []int32) bitset {
		b := newBitset(lex.size)
		for _, id := range ids {
			b.set(id)
		}
		return b
	}
	need := func(name string) (bitset, error) {
		ids, ok := concepts[name]
		if !ok {
			return nil, fmt.Errorf("rules: concept %s is required", name)
		}
		return toSet(ids), nil
	}
	rs := &ruleSet{lex: lex}
	var err error
	if rs.light, err = need("@LIGHT"); err != nil {
		return nil, err
	}
	if rs.bareRole, err = need("@PERSON_ROLE"); err != nil {
		return nil, err
	}
	bare := append(append([]int32(nil), concepts["@LIGHT"]...), concepts["@PERSON_ANY"]...)
	rs.bareOK = toSet(append(bare, concepts["@REAL"]...))

	compile := func(line int, src string) (pattern, error) {
		var p pattern
		gap, light := 0, false
		for _, tok := range strings.Fields(src) {
			switch {
			case tok == "^":
				if len(p.els) > 0 {
					return p, fmt.Errorf("rules line %d: \"^\" must come first", line)
				}
				p.anchored = true
				continue
			case tok == "$":
				p.ended = true
				continue
			case p.ended:
				return p, fmt.Errorf("rules line %d: \"$\" must come last", line)
			case isGap(tok):
				g, _ := strconv.Atoi(tok[1:])
				gap, light = g, tok[0] == '_'
				continue
			}
			var ids []int32
			for _, alt := range strings.Split(tok, "|") {
				switch {
				case alt == "":
					return p, fmt.Errorf("rules line %d: empty alternative in %q", line, tok)
				case strings.HasPrefix(alt, "@"):
					c, ok := concepts[alt]
					if !ok {
						return p, fmt.Errorf("rules line %d: unknown concept %s", line, alt)
					}
					ids = append(ids, c...)
				default:
					ids = append(ids, lex.add(alt))
				}
			}
			p.els = append(p.els, element{set: toSet(ids), gap: gap, light: light})
			gap, light = 0, false
		}
		if len(p.els) == 0 {
			return p, fmt.Errorf("rules line %d: empty pattern", line)
		}
		return p, nil
	}
	for _, r := range raws {
		intent, topic, err := parseIntentLabel(r.label)
		if err != nil {
			return nil, fmt.Errorf("rules line %d: %w", r.line, err)
		}
		pat, err := compile(r.line, r.pat)
		if err != nil {
			return nil, err
		}
		ru := rule{intent: intent, topic: topic, name: r.name, pat: pat}
		for _, v := range r.vetoes {
			vp, err := compile(r.line, v)
			if err != nil {
				return nil, err
			}
			ru.vetoes = append(ru.vetoes, vp)
		}
		switch {
		case intent == HumanRequest:
			rs.human = append(rs.human, ru)
		case topic == TopicEmergency || topic == TopicVulnerableCustomer:
			rs.safety = append(rs.safety, ru)
		case intent == Sensitive:
			rs.precise = append(rs.precise, ru)
		default:
			return nil, fmt.Errorf("rules line %d: rules may only label human_request or sensitive topics", r.line)
		}
	}
	return rs, nil
}

func isGap(tok string) bool {
	if len(tok) < 2 || (tok[0] != '_' && tok[0] != '~') {
		return false
	}
	_, err := strconv.Atoi(tok[1:])
	return err == nil
}

// first returns the first rule of rules that fires on t.
func (rs *ruleSet) first(rules []rule, t tokens) (rule, bool) {
	for _, r := range rules {
		if rs.matches(r.pat, t) && !rs.vetoed(r, t) {
			return r, true
		}
	}
	return rule{}, false
}

func (rs *ruleSet) vetoed(r rule, t tokens) bool {
	for _, v := range r.vetoes {
		if rs.matches(v, t) {
			return true
		}
	}
	return false
}

func (rs *ruleSet) matches(p pattern, t tokens) bool {
	end := t.len()
	if p.anchored {
		end = min(end, 1)
	}
	for i := 0; i < end; i++ {
		if p.els[0].set.hasAny(t.at(i)) && rs.matchFrom(p, 1, t, i+1) {
			return true
		}
	}
	return false
}

// matchFrom matches p.els[k:] starting at word pos, trying every allowed
// gap. Patterns are short and gaps small, so the backtracking stays cheap.
func (rs *ruleSet) matchFrom(p pattern, k int, t tokens, pos int) bool {
	if k == len(p.els) {
		return !p.ended || pos == t.len()
	}
	e := p.els[k]
	for j := pos; j <= pos+e.gap && j < t.len(); j++ {
		if j > pos && e.light && !rs.light.hasAny(t.at(j-1)) {
			return false
		}
		if e.set.hasAny(t.at(j)) && rs.matchFrom(p, k+1, t, j+1) {
			return true
		}
	}
	return false
}

// bareRequest reports whether every word of t is a person word or filler,
// with at least one word naming a role ("agent", "human please") or a real
// person ("une vraie personne").
func (rs *ruleSet) bareRequest(t tokens) bool {
	role := false
	for i := 0; i < t.len(); i++ {
		ids := t.at(i)
		if !rs.bareOK.hasAny(ids) {
			return false
		}
		if rs.bareRole.hasAny(ids) {
			role = true
		}
	}
	return role
}
