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

// compileRules reads the rule language in two passes: parseRules interns
// every word and resolves the concepts, and only then does compile turn the
// rules into bitsets, which can be sized once the vocabulary is complete.
func compileRules(src string) (*ruleSet, error) {
	parsed, err := parseRules(src)
	if err != nil {
		return nil, err
	}
	return parsed.compile()
}

// parsedRules is the rules file after the first pass: the vocabulary is
// complete and the concepts are resolved to word ids, but the rules are
// still text.
type parsedRules struct {
	lex      *lexicon
	concepts map[string][]int32
	rules    []rawRule
}

// rawRule is a rule line split into its parts, not yet compiled.
type rawRule struct {
	line   int
	label  string
	name   string
	pat    string
	vetoes []string
}

// parseRules is the first pass over the rules: it defines the concepts and
// splits the rule lines, interning every word either mentions.
func parseRules(src string) (*parsedRules, error) {
	p := &parsedRules{lex: newLexicon(), concepts: map[string][]int32{}}
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		var err error
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "@"):
			err = p.defineConcept(n, line)
		default:
			err = p.addRule(n, line)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// defineConcept reads "@NAME = word @OTHER ..." or, with "+=", extends
// @NAME. A concept may only use concepts defined above it.
func (p *parsedRules) defineConcept(n int, line string) error {
	name, words, ok := strings.Cut(line, "=")
	if !ok {
		return fmt.Errorf("rules line %d: concept without \"=\"", n)
	}
	name = strings.TrimSpace(name)
	extend := strings.HasSuffix(name, "+")
	name = strings.TrimSpace(strings.TrimSuffix(name, "+"))
	if _, exists := p.concepts[name]; exists && !extend {
		return fmt.Errorf("rules line %d: concept %s defined twice", n, name)
	}
	for _, w := range strings.Fields(words) {
		if strings.HasPrefix(w, "@") {
			ids, ok := p.concepts[w]
			if !ok {
				return fmt.Errorf("rules line %d: unknown concept %s", n, w)
			}
			p.concepts[name] = append(p.concepts[name], ids...)
			continue
		}
		p.concepts[name] = append(p.concepts[name], p.lex.add(w))
	}
	return nil
}

// addRule splits a rule line and interns the words of its pattern and
// vetoes.
func (p *parsedRules) addRule(n int, line string) error {
	r, err := splitRuleLine(n, line)
	if err != nil {
		return err
	}
	p.rules = append(p.rules, r)
	p.internWords(r.pat)
	for _, v := range r.vetoes {
		p.internWords(v)
	}
	return nil
}

// splitRuleLine splits "LABEL NAME: PATTERN ! VETO ! VETO" into its parts.
func splitRuleLine(n int, line string) (rawRule, error) {
	head, body, ok := strings.Cut(line, ":")
	// The label itself may contain a colon ("sensitive:fraud name: ...").
	if ok && strings.HasPrefix(head, "sensitive") {
		var rest string
		rest, body, ok = strings.Cut(body, ":")
		head = head + ":" + rest
	}
	fields := strings.Fields(head)
	if !ok || len(fields) != 2 {
		return rawRule{}, fmt.Errorf("rules line %d: want \"LABEL NAME: PATTERN\"", n)
	}
	parts := strings.Split(body, "!")
	return rawRule{line: n, label: fields[0], name: fields[1], pat: parts[0], vetoes: parts[1:]}, nil
}

// internWords adds the words of a pattern to the lexicon, leaving out the
// anchors, gaps and concepts, which are not words.
func (p *parsedRules) internWords(pat string) {
	for _, tok := range strings.Fields(pat) {
		for _, alt := range strings.Split(tok, "|") {
			if alt != "" && alt != "^" && alt != "$" && !strings.HasPrefix(alt, "@") && !isGap(alt) {
				p.lex.add(alt)
			}
		}
	}
}

// compile is the second pass: it builds the bare-request sets, then
// compiles each rule and files it under the stage of Classify that runs it.
func (p *parsedRules) compile() (*ruleSet, error) {
	rs, err := p.newRuleSet()
	if err != nil {
		return nil, err
	}
	for _, r := range p.rules {
		ru, err := p.compileRule(r)
		if err != nil {
			return nil, err
		}
		if err := rs.addToStage(ru, r.line); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// newRuleSet returns a ruleSet with no rules yet, holding the word sets
// that bareRequest and the "_N" gaps use.
func (p *parsedRules) newRuleSet() (*ruleSet, error) {
	rs := &ruleSet{lex: p.lex}
	var err error
	if rs.light, err = p.requiredConcept("@LIGHT"); err != nil {
		return nil, err
	}
	if rs.bareRole, err = p.requiredConcept("@PERSON_ROLE"); err != nil {
		return nil, err
	}
	bare := append(append([]int32(nil), p.concepts["@LIGHT"]...), p.concepts["@PERSON_ANY"]...)
	rs.bareOK = p.toSet(append(bare, p.concepts["@REAL"]...))
	return rs, nil
}

func (p *parsedRules) requiredConcept(name string) (bitset, error) {
	ids, ok := p.concepts[name]
	if !ok {
		return nil, fmt.Errorf("rules: concept %s is required", name)
	}
	return p.toSet(ids), nil
}

// toSet returns ids as a bitset over the whole vocabulary.
func (p *parsedRules) toSet(ids []int32) bitset {
	b := newBitset(p.lex.size)
	for _, id := range ids {
		b.set(id)
	}
	return b
}

// compileRule compiles the label, pattern and vetoes of r.
func (p *parsedRules) compileRule(r rawRule) (rule, error) {
	intent, topic, err := parseIntentLabel(r.label)
	if err != nil {
		return rule{}, fmt.Errorf("rules line %d: %w", r.line, err)
	}
	pat, err := p.compilePattern(r.line, r.pat)
	if err != nil {
		return rule{}, err
	}
	ru := rule{intent: intent, topic: topic, name: r.name, pat: pat}
	for _, v := range r.vetoes {
		vp, err := p.compilePattern(r.line, v)
		if err != nil {
			return rule{}, err
		}
		ru.vetoes = append(ru.vetoes, vp)
	}
	return ru, nil
}

// compilePattern compiles one pattern or veto. Anchors and gaps are not
// elements themselves: they set a flag of the pattern or of the element
// that follows.
func (p *parsedRules) compilePattern(line int, src string) (pattern, error) {
	var pat pattern
	gap, light := 0, false
	for _, tok := range strings.Fields(src) {
		switch {
		case tok == "^":
			if len(pat.els) > 0 {
				return pat, fmt.Errorf("rules line %d: \"^\" must come first", line)
			}
			pat.anchored = true
			continue
		case tok == "$":
			pat.ended = true
			continue
		case pat.ended:
			return pat, fmt.Errorf("rules line %d: \"$\" must come last", line)
		case isGap(tok):
			g, _ := strconv.Atoi(tok[1:])
			gap, light = g, tok[0] == '_'
			continue
		}
		ids, err := p.alternativeIDs(line, tok)
		if err != nil {
			return pat, err
		}
		pat.els = append(pat.els, element{set: p.toSet(ids), gap: gap, light: light})
		gap, light = 0, false
	}
	if len(pat.els) == 0 {
		return pat, fmt.Errorf("rules line %d: empty pattern", line)
	}
	return pat, nil
}

// alternativeIDs returns the word ids an element matches: the words and
// concepts of tok, joined by "|".
func (p *parsedRules) alternativeIDs(line int, tok string) ([]int32, error) {
	var ids []int32
	for _, alt := range strings.Split(tok, "|") {
		switch {
		case alt == "":
			return nil, fmt.Errorf("rules line %d: empty alternative in %q", line, tok)
		case strings.HasPrefix(alt, "@"):
			c, ok := p.concepts[alt]
			if !ok {
				return nil, fmt.Errorf("rules line %d: unknown concept %s", line, alt)
			}
			ids = append(ids, c...)
		default:
			ids = append(ids, p.lex.add(alt))
		}
	}
	return ids, nil
}

// addToStage files ru under the stage of Classify that runs it.
func (rs *ruleSet) addToStage(ru rule, line int) error {
	switch {
	case ru.intent == HumanRequest:
		rs.human = append(rs.human, ru)
	case ru.topic == TopicEmergency || ru.topic == TopicVulnerableCustomer:
		rs.safety = append(rs.safety, ru)
	case ru.intent == Sensitive:
		rs.precise = append(rs.precise, ru)
	default:
		return fmt.Errorf("rules line %d: rules may only label human_request or sensitive topics", line)
	}
	return nil
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
