package handoff

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relais-ai/relais"
)

// Hours are the team's business hours: when a handed-off customer can
// expect a person soon, and otherwise when the team is back. The zero Hours
// are always open, for a team that never closes (or a deployment that does
// not say).
//
// Opening times are wall-clock times in Location, so a team that opens at
// 09:00 opens at 09:00 on both sides of a daylight saving change.
type Hours struct {
	Location *time.Location
	// Days holds each weekday's opening spans, indexed by time.Weekday,
	// sorted and not overlapping.
	Days [7][]Span
}

// Span is one opening of a day, as offsets from midnight: [Open, Close).
// Close may be 24h, for a team open until midnight.
type Span struct {
	Open, Close time.Duration
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseHours reads business hours written as a time zone followed by day
// rules, separated by semicolons:
//
//	Europe/Paris;mon-fri 09:00-12:30,13:30-18:00;sat 10:00-14:00
//
// Days are mon..sun, as one day, a range (a range may wrap: fri-mon) or a
// comma-separated list of either. Days no rule names are closed. An empty
// string is the zero Hours, always open. The error wraps relais.ErrInvalid
// and quotes the part it could not read.
func ParseHours(s string) (Hours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Hours{}, nil
	}
	parts := strings.Split(s, ";")
	zone := strings.TrimSpace(parts[0])
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return Hours{}, fmt.Errorf("business hours: time zone %q: want an IANA name such as Europe/Paris: %w", zone, relais.ErrInvalid)
	}
	h := Hours{Location: loc}
	rules := 0
	for _, part := range parts[1:] {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if err := h.addRule(part); err != nil {
			return Hours{}, fmt.Errorf("business hours: %q: %w: %w", part, err, relais.ErrInvalid)
		}
		rules++
	}
	if rules == 0 {
		return Hours{}, fmt.Errorf("business hours %q: no opening days, want e.g. %q: %w", s, zone+";mon-fri 09:00-18:00", relais.ErrInvalid)
	}
	for d := range h.Days {
		spans := h.Days[d]
		slices.SortFunc(spans, func(a, b Span) int { return int(a.Open - b.Open) })
		for i := 1; i < len(spans); i++ {
			if spans[i].Open < spans[i-1].Close {
				return Hours{}, fmt.Errorf("business hours: %s has overlapping openings: %w", time.Weekday(d), relais.ErrInvalid)
			}
		}
	}
	return h, nil
}

// addRule reads "mon-fri 09:00-18:00[,...]".
func (h *Hours) addRule(rule string) error {
	days, times, ok := strings.Cut(rule, " ")
	if !ok {
		return fmt.Errorf("want days and times, such as \"mon-fri 09:00-18:00\"")
	}
	var spans []Span
	for _, t := range strings.Split(strings.TrimSpace(times), ",") {
		sp, err := parseSpan(strings.TrimSpace(t))
		if err != nil {
			return err
		}
		spans = append(spans, sp)
	}
	for _, d := range strings.Split(days, ",") {
		from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "-")
		first, ok := weekdays[from]
		if !ok {
			return fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat or sun", from)
		}
		last := first
		if isRange {
			if last, ok = weekdays[to]; !ok {
				return fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat or sun", to)
			}
		}
		for wd := first; ; wd = (wd + 1) % 7 {
			h.Days[wd] = append(h.Days[wd], spans...)
			if wd == last {
				break
			}
		}
	}
	return nil
}

func parseSpan(s string) (Span, error) {
	open, close, ok := strings.Cut(s, "-")
	if !ok {
		return Span{}, fmt.Errorf("times %q: want HH:MM-HH:MM", s)
	}
	o, err := parseClock(open)
	if err != nil {
		return Span{}, err
	}
	c, err := parseClock(close)
	if err != nil {
		return Span{}, err
	}
	if c <= o {
		return Span{}, fmt.Errorf("times %q: closes before it opens", s)
	}
	return Span{Open: o, Close: c}, nil
}

func parseClock(s string) (time.Duration, error) {
	var hh, mm int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &hh, &mm); err != nil || hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q: want 00:00 to 24:00", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// AlwaysOpen reports whether h are the zero Hours.
func (h Hours) AlwaysOpen() bool { return h.Location == nil }

// IsOpen reports whether the team is at work at t.
func (h Hours) IsOpen(t time.Time) bool {
	if h.AlwaysOpen() {
		return true
	}
	lt := t.In(h.Location)
	clock := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	for _, sp := range h.Days[lt.Weekday()] {
		if clock >= sp.Open && clock < sp.Close {
			return true
		}
	}
	return false
}

// NextOpen returns t when the team is open at t, and otherwise the next
// opening after t, in h.Location. It returns the zero time when no day
// opens at all.
func (h Hours) NextOpen(t time.Time) time.Time {
	if h.IsOpen(t) {
		return t
	}
	lt := t.In(h.Location)
	// Eight days: today's later openings, then a whole week.
	for d := 0; d <= 7; d++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+d, 0, 0, 0, 0, h.Location)
		for _, sp := range h.Days[day.Weekday()] {
			// time.Date, not day.Add: the wall clock, whatever daylight
			// saving did to the day's length. An opening inside a skipped
			// hour is moved forward by time.Date's normalisation.
			open := time.Date(day.Year(), day.Month(), day.Day(), 0, int(sp.Open/time.Minute), 0, 0, h.Location)
			if open.After(t) {
				return open
			}
		}
	}
	return time.Time{}
}

// Notice is what a handed-off customer is told at once, in lang (French for
// "fr", English otherwise): that a person takes over and, when the team is
// open, the expected wait until due (Escalator: the queue's expected
// wait, within the ticket's SLA), when it is known;
// outside business hours, that the team answers when it is back, with the
// next opening.
func (h Hours) Notice(lang string, now, due time.Time) string {
	fr := lang == "fr"
	if !h.IsOpen(now) {
		next := h.NextOpen(now)
		if next.IsZero() {
			if fr {
				return "Je transmets votre conversation à notre équipe. Elle est absente pour le moment et vous répondra ici dès son retour."
			}
			return "I'm passing your conversation to our team. They are away right now and will reply here when they are back."
		}
		if fr {
			return fmt.Sprintf("Je transmets votre conversation à notre équipe. Elle est absente pour le moment et vous répondra ici dès son retour, %s (heure %s).",
				opening(now.In(h.Location), next, true), h.Location)
		}
		return fmt.Sprintf("I'm passing your conversation to our team. They are away right now and will reply here when they are back, %s (%s time).",
			opening(now.In(h.Location), next, false), h.Location)
	}
	base := "I'm passing your conversation to a member of our team, who will reply here."
	if fr {
		base = "Je transmets votre conversation à un membre de notre équipe, qui vous répondra ici."
	}
	if due.IsZero() || !due.After(now) {
		return base
	}
	if fr {
		return base + " Délai de réponse estimé : " + waitText(due.Sub(now), true) + "."
	}
	return base + " Expected wait: " + waitText(due.Sub(now), false) + "."
}

// waitText says a wait in whole minutes under an hour and a half, in whole
// hours from there (rounded from the minutes, so never "1 hours").
func waitText(d time.Duration, fr bool) string {
	n := int((d + time.Minute - 1) / time.Minute)
	unit := "minute" // the same in French
	if n >= 90 {
		n, unit = (n+30)/60, "hour"
		if fr {
			unit = "heure"
		}
	}
	if n != 1 {
		unit += "s"
	}
	if fr {
		return fmt.Sprintf("environ %d %s", n, unit)
	}
	return fmt.Sprintf("about %d %s", n, unit)
}

var frenchDays = [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// opening says when the team is back, as seen from now: today, tomorrow
// or the weekday, with the time, in French or English.
func opening(now, next time.Time, fr bool) string {
	day, at, clock := next.Weekday().String(), " at ", "15:04"
	today, tomorrow := "today", "tomorrow"
	if fr {
		day, at, clock = frenchDays[next.Weekday()], " à ", "15h04"
		today, tomorrow = "aujourd'hui", "demain"
	}
	switch {
	case sameDay(now, next):
		day = today
	case sameDay(now.AddDate(0, 0, 1), next):
		day = tomorrow
	}
	return day + at + next.Format(clock)
}
