package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// minDigits is the fewest digits any detected number has (a short
// international phone number; IBANs are held to it too, which every real
// one meets): a text with fewer digits and no '@' holds nothing to find,
// which is most texts, so they cost one pass over the bytes.
const minDigits = 8

// maxNumberDigits bounds the numbers tried (a 19-digit card is the longest),
// which keeps the scan linear however long a run of digit groups is.
const maxNumberDigits = 19

// Find returns the personal data in text, in order and without overlaps.
// Email addresses are found first (they may hold digits), then, left to
// right, IBANs, NIRs, card numbers and phone numbers; where a NIR or a card
// could also read as a phone number, the checksummed reading wins.
func Find(text string) []Match {
	digits, at := 0, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case isDigit(c):
			digits++
		case c == '@':
			at = true
		}
	}
	var emails []Match
	if at {
		emails = findEmails(text)
	}
	if digits < minDigits {
		return emails
	}
	return findNumbers(text, emails)
}

// findNumbers scans text left to right for IBANs, NIRs, cards and phones,
// around the email addresses already found, and returns all of them in
// order. Text inside a match counts as a word boundary for what follows it:
// the placeholder that replaces it starts and ends with a bracket, and
// redacting a redacted text must find nothing more.
func findNumbers(text string, emails []Match) []Match {
	var out []Match
	floor := 0 // end of the last match: what lies before it is a boundary
	for i := 0; i < len(text); {
		if len(emails) > 0 && i >= emails[0].Start {
			out = append(out, emails[0])
			i, floor = emails[0].End, emails[0].End
			emails = emails[1:]
			continue
		}
		limit := len(text)
		if len(emails) > 0 {
			limit = emails[0].Start
		}
		part := text[:limit]
		switch c := text[i]; {
		case isLetter(c):
			if leftOK(part, i, floor) {
				if end, ok := ibanAt(part, i); ok {
					out = append(out, Match{Kind: IBAN, Start: i, End: end})
					i, floor = end, end
					continue
				}
			}
			// No number starts inside a word.
			for i < limit && isAlnum(text[i]) {
				i++
			}
		case isDigit(c) || ((c == '+' || c == '(') && i+1 < limit && isDigit(text[i+1])):
			ms, next := numbersAt(part, i, floor)
			if len(ms) > 0 {
				out = append(out, ms...)
				floor = ms[len(ms)-1].End
			}
			i = next
		default:
			i++
		}
	}
	return out
}

// group is one group of digits of a number as written: "415" in
// "+1 (415) 555-0100".
type group struct {
	start, end int  // the digits: text[start:end]
	from, to   int  // the group with its brackets
	sep        byte // what separates it from the group before: ' ', '-', '.', or 0
	open       bool // written in brackets
	date       bool // part of a date, which no number may include
	matched    bool // part of a NIR or card number
	chainEnd   int  // index of the last group of its chain (see markChains)
}

func (g group) digits() int { return g.end - g.start }

// long reports whether g has more digits than a group of a phone number
// written in groups.
func (g group) long() bool { return g.digits() > 4 }

// numbersAt reads the run of digit groups at text[i:] (digits separated by
// one space, dash or dot, some in brackets, the first perhaps after a '+')
// and finds the numbers in it, in two passes. The first finds the numbers a
// checksum confirms: at each group that can start one, a NIR, else a card
// number (see cardEnd). The second finds phone numbers in what is left,
// which only their shape tells: after a '+', the longest start of the chain
// of short groups that reads as one; otherwise the whole chain or nothing,
// never a part of one, so that the first groups of a long account number or
// of a mistyped card are not taken for a phone. It returns the matches, in
// order, and where scanning resumes.
func numbersAt(text string, i, floor int) ([]Match, int) {
	var buf [16]group
	plus, groups, end := readRun(text, i, buf[:0])
	if len(groups) == 0 {
		return nil, i + 1
	}
	markDates(text, groups)
	checked := checksummedNumbers(text, groups, plus, floor)
	markMatched(groups, checked)
	markChains(groups)
	out := addPhones(text, groups, checked, plus, i, floor)
	if len(out) > 0 {
		end = max(end, out[len(out)-1].End)
	}
	return out, end
}

// checksummedNumbers is the first pass of numbersAt: the NIRs and card
// numbers in groups, in order, none starting before floor. A run that
// starts with a '+' is a phone number's, so no checksummed number starts at
// its first group.
func checksummedNumbers(text string, groups []group, plus bool, floor int) []Match {
	var checked []Match
	covered := floor
	for s, g := range groups {
		if g.from < covered || g.date || g.open || (s == 0 && plus) || !leftOK(text, g.from, covered) {
			continue
		}
		if nirEnd, ok := nirAt(text, g.start); ok && rightOK(text, nirEnd) {
			checked = append(checked, Match{Kind: NIR, Start: g.start, End: nirEnd})
			covered = nirEnd
			continue
		}
		if e, ok := cardEnd(text, groups, s, lastWithin(groups, s, len(groups)-1)); ok {
			checked = append(checked, Match{Kind: Card, Start: g.from, End: groups[e].to})
			covered = groups[e].to
		}
	}
	return checked
}

// markMatched sets matched on the groups that overlap one of checked,
// which is in order.
func markMatched(groups []group, checked []Match) {
	m := 0
	for k := range groups {
		for m < len(checked) && checked[m].End <= groups[k].from {
			m++
		}
		groups[k].matched = m < len(checked) && checked[m].Start < groups[k].to
	}
}

// addPhones is the second pass of numbersAt: it finds the phone numbers
// in the groups that are neither matched nor part of a date, and returns
// them merged in order with checked. i is where the run starts, its '+'
// if plus.
func addPhones(text string, groups []group, checked []Match, plus bool, i, floor int) []Match {
	var out []Match
	prevEnd, next := floor, 0 // next: the next checked match to merge
	restart := 0              // the group after a phone number taken from the start of a chain
	for s := 0; s < len(groups); s++ {
		for next < len(checked) && checked[next].Start < groups[s].to {
			out = append(out, checked[next])
			prevEnd = checked[next].End
			next++
		}
		g := groups[s]
		inChain := s > 0 && groups[s-1].chainEnd == g.chainEnd && s != restart
		if g.matched || g.date || inChain {
			continue
		}
		intl := s == 0 && plus
		start := g.from
		if intl {
			start = i
		}
		if !leftOK(text, start, prevEnd) {
			continue
		}
		if e, ok := phoneEnd(text, groups, s, intl, start, prevEnd); ok {
			out = append(out, Match{Kind: Phone, Start: start, End: groups[e].to})
			prevEnd = groups[e].to
			restart = e + 1
			s = e
		}
	}
	return append(out, checked[next:]...)
}

// phoneEnd returns the index of the last group of the phone number that
// starts at groups[s] (at start in text): after a '+' (intl), the longest
// start of its chain that reads as one; otherwise the whole chain or none.
func phoneEnd(text string, groups []group, s int, intl bool, start, floor int) (int, bool) {
	last := groups[s].chainEnd
	first := last
	if intl {
		first = lastWithin(groups, s, last)
	}
	for e := first; e >= s && (intl || e == last); e-- {
		if phoneAt(text, groups[s:e+1], intl, start, floor) {
			return e, true
		}
	}
	return 0, false
}

// cardLengths is the order card numbers are tried in when groups[s:] can
// be read as more than one: the common lengths first, since one reading in
// ten of any digits passes the Luhn check ("4111 1111 1111 1111 12/27" is a
// 16-digit card, whatever its first 18 digits say).
var cardLengths = [...]int{16, 15, 19, 14, 13, 18, 17}

// cardEnd returns the last group of the card number starting at groups[s]
// and ending at groups[last] at most, if there is one.
func cardEnd(text string, groups []group, s, last int) (int, bool) {
	var lengths [maxNumberDigits + 1]int // digits up to group e -> e+1
	n := 0
	for e := s; e <= last; e++ {
		n += groups[e].digits()
		lengths[n] = e + 1
	}
	for _, want := range cardLengths {
		if e := lengths[want] - 1; e >= s && cardAt(text, groups[s:e+1]) {
			return e, true
		}
	}
	return 0, false
}

// lastWithin returns the last group from groups[s] up to groups[last]
// that keeps the number within maxNumberDigits and before any date; s-1
// when there is none.
func lastWithin(groups []group, s, last int) int {
	n := 0
	for e := s; e <= last; e++ {
		if n += groups[e].digits(); n > maxNumberDigits || groups[e].date {
			return e - 1
		}
	}
	return last
}

// markChains sets each group's chainEnd: the last group of the chain it is
// in, a chain being the groups of 4 digits or fewer between two breaks (a
// date, a checked number, a longer group, the run's ends). A longer group
// is a chain of its own.
func markChains(groups []group) {
	breaks := func(g group) bool { return g.date || g.matched || g.long() }
	for k := len(groups) - 1; k >= 0; k-- {
		g := &groups[k]
		g.chainEnd = k
		if k+1 < len(groups) && !breaks(*g) && !breaks(groups[k+1]) {
			g.chainEnd = groups[k+1].chainEnd
		}
	}
}

// readRun reads the digit groups at text[i:] and returns them, whether
// they follow a '+', and where the run ends. A trailing separator is not
// part of the run ("call 06 12 34 56 78." ends at the 8).
func readRun(text string, i int, groups []group) (plus bool, _ []group, end int) {
	p := i
	if text[p] == '+' {
		plus = true
		p++
	}
	var sep byte
	for {
		from := p
		open := p < len(text) && text[p] == '('
		if open {
			p++
		}
		if p >= len(text) || !isDigit(text[p]) {
			p = from
			break
		}
		g := group{start: p, from: from, sep: sep, open: open}
		for p < len(text) && isDigit(text[p]) {
			p++
		}
		g.end = p
		if open {
			if p >= len(text) || text[p] != ')' {
				// An unclosed bracket does not belong to the number.
				p = from
				break
			}
			p++
		}
		g.to = p
		groups = append(groups, g)

		q := p
		sep = 0
		if q < len(text) && (text[q] == ' ' || (!open && (text[q] == '-' || text[q] == '.'))) {
			sep = text[q]
			q++
		}
		switch {
		case q < len(text) && isDigit(text[q]) && (sep != 0 || open):
		case q+1 < len(text) && text[q] == '(' && isDigit(text[q+1]):
		default:
			return plus, groups, p
		}
		p = q
	}
	if len(groups) == 0 {
		return plus, groups, i
	}
	return plus, groups, groups[len(groups)-1].to
}

// markDates marks the groups that form a date written with dashes or dots
// (2026-12-05, 05.12.2026): their digits are not a phone number's.
func markDates(text string, groups []group) {
	for k := 0; k+2 < len(groups); k++ {
		a, b, c := groups[k], groups[k+1], groups[k+2]
		if b.sep != c.sep || (b.sep != '-' && b.sep != '.') || a.open || b.open || c.open {
			continue
		}
		ymd := a.digits() == 4 && isYear(text[a.start:a.end]) && isMonth(text[b.start:b.end]) && isDay(text[c.start:c.end])
		dmy := c.digits() == 4 && isYear(text[c.start:c.end]) && isDay(text[a.start:a.end]) && isMonth(text[b.start:b.end])
		mdy := c.digits() == 4 && isYear(text[c.start:c.end]) && isMonth(text[a.start:a.end]) && isDay(text[b.start:b.end])
		if ymd || dmy || mdy {
			groups[k].date, groups[k+1].date, groups[k+2].date = true, true, true
		}
	}
}

func isYear(s string) bool  { return s >= "1900" && s <= "2100" }
func isMonth(s string) bool { n := atoi(s); return len(s) <= 2 && n >= 1 && n <= 12 }
func isDay(s string) bool   { n := atoi(s); return len(s) <= 2 && n >= 1 && n <= 31 }

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// cardAt reports whether groups are a card number.
func cardAt(text string, groups []group) bool {
	if !cardGroups(groups) || !sameSeparators(groups, " -") {
		return false // cheap to tell, and most runs of digits fail here
	}
	var buf [maxNumberDigits]byte
	d, ok := digitsOf(text, groups, &buf)
	return ok && rightOK(text, groups[len(groups)-1].to) && isCard(d, groups)
}

// phoneAt reports whether groups, written from text[start], are a phone
// number; intl is true when they follow a '+'. What lies before floor (a
// match already made) is not looked at.
func phoneAt(text string, groups []group, intl bool, start, floor int) bool {
	var buf [maxNumberDigits]byte
	d, ok := digitsOf(text, groups, &buf)
	end := groups[len(groups)-1].to
	return ok && rightOK(text, end) && isPhone(d, groups, intl) && !isAmount(text, start, end, floor)
}

// digitsOf returns the digits of groups in buf, and false when they do not
// fit.
func digitsOf(text string, groups []group, buf *[maxNumberDigits]byte) ([]byte, bool) {
	d := buf[:0]
	for _, g := range groups {
		if len(d)+g.digits() > len(buf) {
			return nil, false
		}
		d = append(d, text[g.start:g.end]...)
	}
	return d, true
}

// isCard: 13 to 19 digits, not starting with 0, written together or in
// the groups cards are printed in (fours, the last perhaps shorter; 4-6-5
// and 4-6-4), separated alike by spaces or dashes, passing the Luhn check.
func isCard(d []byte, groups []group) bool {
	if len(d) < 13 || d[0] == '0' || !sameSeparators(groups, " -") {
		return false
	}
	return cardGroups(groups) && luhn(d)
}

func cardGroups(groups []group) bool {
	n := len(groups)
	if n == 1 {
		return true
	}
	if n == 3 && groups[0].digits() == 4 && groups[1].digits() == 6 {
		last := groups[2].digits()
		return last == 4 || last == 5
	}
	for k, g := range groups {
		if g.digits() != 4 && (k < n-1 || g.digits() > 4) {
			return false
		}
	}
	return true
}

// isPhone recognises phone numbers by their shape, which is all they have:
//   - international, after '+' (or 00): 8 to 15 digits, the country code
//     not starting with 0, the last group of 2 digits or more;
//   - national: 9 to 12 digits in groups of 2 to 4 (the first may be one
//     digit, 0 or 1, or in brackets: (415) 555-0100), separated alike; or
//     10 or 11 digits written together starting with 0 and not 00.
//
// Order numbers (6 digits), years, amounts and most references fall below
// or outside these shapes.
func isPhone(d []byte, groups []group, intl bool) bool {
	n := len(d)
	if groups[len(groups)-1].open {
		return false // no number ends in a bracket: "(415)" is an area code
	}
	lastShort := groups[len(groups)-1].digits() < 2
	if intl || (n >= 3 && d[0] == '0' && d[1] == '0') {
		if !intl {
			d, n = d[2:], n-2
		}
		return n >= 8 && n <= 15 && d[0] != '0' && !lastShort
	}
	if len(groups) == 1 {
		return (n == 10 || n == 11) && d[0] == '0' && d[1] != '0'
	}
	if n < 9 || n > 12 || !sameSeparators(groups, " -.") || isIPv4(d, groups) {
		return false
	}
	for k, g := range groups {
		size := g.digits()
		switch {
		case g.open && k > 0:
			return false
		case size >= 2 && size <= 4:
		case k == 0 && size == 1 && !g.open && (d[0] == '0' || d[0] == '1'):
		default:
			return false
		}
	}
	return true
}

// isIPv4 reports whether groups read as an IPv4 address: four groups of at
// most 3 digits, up to 255, separated by dots.
func isIPv4(d []byte, groups []group) bool {
	if len(groups) != 4 || groups[1].sep != '.' {
		return false
	}
	for _, g := range groups {
		if g.digits() > 3 {
			return false
		}
	}
	off := 0
	for _, g := range groups {
		if atoi(string(d[off:off+g.digits()])) > 255 {
			return false
		}
		off += g.digits()
	}
	return true
}

// sameSeparators reports whether every separator between groups, leaving
// out those next to a bracket, is the same one of allowed.
func sameSeparators(groups []group, allowed string) bool {
	var seen byte
	for k := 1; k < len(groups); k++ {
		g, prev := groups[k], groups[k-1]
		if g.open || prev.open {
			continue
		}
		if g.sep == 0 || !strings.ContainsRune(allowed, rune(g.sep)) {
			return false
		}
		if seen != 0 && g.sep != seen {
			return false
		}
		seen = g.sep
	}
	return true
}

// isAmount reports whether the number at text[start:end] is written as
// money: next to a currency sign or code. It does not look before floor.
func isAmount(text string, start, end, floor int) bool {
	before := strings.TrimRight(text[max(floor, start-5):start], " \u00a0")
	after := strings.TrimLeft(text[end:min(len(text), end+8)], " \u00a0")
	for _, cur := range []string{"€", "$", "£", "EUR", "USD", "GBP"} {
		if strings.HasSuffix(before, cur) || strings.HasPrefix(after, cur) {
			return true
		}
	}
	return len(after) >= 4 && strings.EqualFold(after[:4], "euro")
}

// ibanAt reads an IBAN at text[i:]: a country code, two check digits and
// the account, letters and digits in groups separated by single spaces. It
// ends where the country's length says (or, for a country not in the table,
// at the longest group end that passes), and must pass mod 97.
func ibanAt(text string, i int) (int, bool) {
	if i+4 > len(text) || !isLetter(text[i]) || !isLetter(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
		return 0, false
	}
	want := ibanLengths[string([]byte{upper(text[i]), upper(text[i+1])})]
	var buf [34]byte
	var ends [34]struct{ n, at int } // group ends: characters read, offset
	n, nEnds, p := 0, 0, i
	for p < len(text) && n < len(buf) {
		c := text[p]
		if isAlnum(c) {
			buf[n] = upper(c)
			n++
			p++
			continue
		}
		if c == ' ' && p+1 < len(text) && isAlnum(text[p+1]) {
			ends[nEnds] = struct{ n, at int }{n, p}
			nEnds++
			p++
			continue
		}
		break
	}
	if p == len(text) || !isAlnum(text[p]) {
		ends[nEnds] = struct{ n, at int }{n, p}
		nEnds++
	}
	for k := nEnds - 1; k >= 0; k-- {
		e := ends[k]
		if e.n < 15 || (want != 0 && e.n != want) || countDigits(buf[:e.n]) < minDigits {
			continue
		}
		if rightOK(text, e.at) && ibanValid(buf[:e.n]) {
			return e.at, true
		}
	}
	return 0, false
}

func countDigits(s []byte) int {
	n := 0
	for _, c := range s {
		if isDigit(c) {
			n++
		}
	}
	return n
}

// nirBreaks are where a NIR is usually spaced: 1 85 05 78 006 084 36.
var nirBreaks = [15]bool{1: true, 3: true, 5: true, 7: true, 10: true, 13: true}

// nirAt reads a French social-security number at text[i:]: sex, year,
// month, department (2A, 2B for Corsica), commune, order, each group
// perhaps after one space, then the two-digit key, which must equal
// 97 - (the 13 digits mod 97) with 2A read as 19 and 2B as 18.
func nirAt(text string, i int) (int, bool) {
	var d [15]byte
	p := i
	for n := range d {
		if n > 0 && nirBreaks[n] && p < len(text) && text[p] == ' ' {
			p++
		}
		if p >= len(text) {
			return 0, false
		}
		c := upper(text[p])
		if !isDigit(c) && !(n == 6 && d[5] == '2' && (c == 'A' || c == 'B')) {
			return 0, false
		}
		d[n] = c
		p++
	}
	if !strings.ContainsRune("123478", rune(d[0])) {
		return 0, false
	}
	switch d[6] {
	case 'A':
		d[5], d[6] = '1', '9'
	case 'B':
		d[5], d[6] = '1', '8'
	}
	var num uint64
	for _, c := range d[:13] {
		num = num*10 + uint64(c-'0')
	}
	key := uint64(d[13]-'0')*10 + uint64(d[14]-'0')
	return p, key == 97-num%97
}

// findEmails finds email addresses: a local part, '@', and a domain of two
// labels or more whose last is two letters or more. Each address's left
// edge stops at the previous one's end, so the scan stays linear.
func findEmails(text string) []Match {
	var out []Match
	floor := 0
	for j := strings.IndexByte(text, '@'); j >= 0; {
		k := j
		for k > floor {
			r, size := utf8.DecodeLastRuneInString(text[floor:k])
			if !isLocalRune(r) {
				break
			}
			k -= size
		}
		for k < j && text[k] == '.' {
			k++
		}
		next := j + 1
		if k < j {
			if end := domainEnd(text, j+1); end > 0 {
				out = append(out, Match{Kind: Email, Start: k, End: end})
				floor, next = end, end
			}
		}
		if next >= len(text) {
			break
		}
		rel := strings.IndexByte(text[next:], '@')
		if rel < 0 {
			break
		}
		j = next + rel
	}
	return out
}

func isLocalRune(r rune) bool {
	return r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("._%+-", r)) ||
		r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// domainEnd returns where the domain starting at text[p] ends: after its
// last label that can be a top-level domain, with at least one label before
// it; 0 when there is none.
func domainEnd(text string, p int) int {
	end, labelStart := 0, p
	for q := p; ; {
		for q < len(text) && (isAlnum(text[q]) || text[q] == '-') {
			q++
		}
		if q == labelStart {
			return end
		}
		if labelStart > p && isTLD(text[labelStart:q]) {
			end = q
		}
		if q+1 < len(text) && text[q] == '.' {
			q++
			labelStart = q
			continue
		}
		return end
	}
}

func isTLD(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return true
}

// leftOK reports whether a value may start at text[i]: not glued to a word
// or a number before it ("POL-123456789", "A/12", "3.0612345678",
// "(1)0612345678"). What
// lies before floor (a match already made) counts as a boundary.
func leftOK(text string, i, floor int) bool {
	if i == 0 || i-1 < floor {
		return true
	}
	c := text[i-1]
	if isAlnum(c) || (c == ')' && isDigit(text[i])) {
		// Digits right after a bracket ("(0)6 12") belong to the number
		// the bracket is in.
		return false
	}
	if i-2 < floor {
		return true
	}
	b := text[i-2]
	switch c {
	case '-', '_', '/':
		return !isAlnum(b)
	case '.', ',':
		return !isDigit(b)
	}
	return true
}

// rightOK reports whether a value may end at text[i]: not followed by more
// of a word or a number ("0612345678-A", "1 234,56").
func rightOK(text string, i int) bool {
	if i >= len(text) {
		return true
	}
	c := text[i]
	if isAlnum(c) {
		return false
	}
	if i+1 >= len(text) {
		return true
	}
	next := text[i+1]
	switch c {
	case '-', '_', '/':
		return !isAlnum(next)
	case '.', ',':
		return !isDigit(next)
	}
	return true
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
