package handoff

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
)

const parisHours = "Europe/Paris;mon-fri 09:00-12:30,13:30-18:00;sat 10:00-14:00"

func mustHours(t *testing.T, s string) Hours {
	t.Helper()
	h, err := ParseHours(s)
	if err != nil {
		t.Fatalf("ParseHours(%q): %v", s, err)
	}
	return h
}

func mustTime(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseHoursErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, part string }{
		{"Mars/Olympus;mon 09:00-18:00", "Mars/Olympus"},
		{"Europe/Paris", "no opening days"},
		{"Europe/Paris;mon-fri", `"mon-fri"`},
		{"Europe/Paris;mon-fry 09:00-18:00", `"fry"`},
		{"Europe/Paris;mon 9:00-18:00", `"9:00"`},
		{"Europe/Paris;mon 09:00-25:00", `"25:00"`},
		{"Europe/Paris;mon 18:00-09:00", "closes before it opens"},
		{"Europe/Paris;mon 09:00-12:00;mon 11:00-13:00", "overlapping"},
	} {
		_, err := ParseHours(tc.in)
		if !errors.Is(err, relais.ErrInvalid) || !strings.Contains(err.Error(), tc.part) {
			t.Errorf("ParseHours(%q) = %v, want relais.ErrInvalid naming %s", tc.in, err, tc.part)
		}
	}
}

func TestHoursIsOpenAndNextOpen(t *testing.T) {
	t.Parallel()
	paris := mustHours(t, parisHours)
	ny := mustHours(t, "America/New_York;mon-fri 08:00-17:00")
	weekend := mustHours(t, "Asia/Tokyo;fri-mon 22:00-24:00")
	for _, tc := range []struct {
		name     string
		h        Hours
		at       time.Time
		open     bool
		nextOpen time.Time
	}{
		{"always open", Hours{}, mustTime(t, "UTC", "2026-11-22 03:00"), true, mustTime(t, "UTC", "2026-11-22 03:00")},
		{"weekday morning", paris, mustTime(t, "Europe/Paris", "2026-11-23 09:00"), true, mustTime(t, "Europe/Paris", "2026-11-23 09:00")},
		{"before opening", paris, mustTime(t, "Europe/Paris", "2026-11-23 08:59"), false, mustTime(t, "Europe/Paris", "2026-11-23 09:00")},
		{"lunch break", paris, mustTime(t, "Europe/Paris", "2026-11-23 12:30"), false, mustTime(t, "Europe/Paris", "2026-11-23 13:30")},
		{"closing time is closed", paris, mustTime(t, "Europe/Paris", "2026-11-23 18:00"), false, mustTime(t, "Europe/Paris", "2026-11-24 09:00")},
		{"friday evening to saturday", paris, mustTime(t, "Europe/Paris", "2026-11-27 19:00"), false, mustTime(t, "Europe/Paris", "2026-11-28 10:00")},
		{"saturday afternoon to monday", paris, mustTime(t, "Europe/Paris", "2026-11-28 15:00"), false, mustTime(t, "Europe/Paris", "2026-11-30 09:00")},
		// An instant given in another zone is judged in the team's zone:
		// 07:30 UTC is 08:30 in Paris in winter, 09:30 in summer.
		{"other zone, winter", paris, mustTime(t, "UTC", "2026-11-23 07:30"), false, mustTime(t, "Europe/Paris", "2026-11-23 09:00")},
		{"other zone, summer", paris, mustTime(t, "UTC", "2026-06-22 07:30"), true, mustTime(t, "UTC", "2026-06-22 07:30")},
		// Spring forward (Paris, Sunday 29 March 2026): Monday still opens at 09:00 wall clock.
		{"across spring DST", paris, mustTime(t, "Europe/Paris", "2026-03-28 15:00"), false, mustTime(t, "Europe/Paris", "2026-03-30 09:00")},
		// Fall back (New York, Sunday 1 November 2026).
		{"across fall DST", ny, mustTime(t, "America/New_York", "2026-10-30 18:00"), false, mustTime(t, "America/New_York", "2026-11-02 08:00")},
		{"ny open in UTC terms", ny, mustTime(t, "UTC", "2026-11-02 13:30"), true, mustTime(t, "UTC", "2026-11-02 13:30")},
		{"wrapping range, sunday", weekend, mustTime(t, "Asia/Tokyo", "2026-11-22 23:00"), true, mustTime(t, "Asia/Tokyo", "2026-11-22 23:00")},
		{"wrapping range, tuesday", weekend, mustTime(t, "Asia/Tokyo", "2026-11-24 23:00"), false, mustTime(t, "Asia/Tokyo", "2026-11-27 22:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.h.IsOpen(tc.at); got != tc.open {
				t.Errorf("IsOpen(%v) = %v, want %v", tc.at, got, tc.open)
			}
			if got := tc.h.NextOpen(tc.at); !got.Equal(tc.nextOpen) {
				t.Errorf("NextOpen(%v) = %v, want %v", tc.at, got, tc.nextOpen)
			}
		})
	}
}

func TestHoursNotice(t *testing.T) {
	t.Parallel()
	paris := mustHours(t, parisHours)
	monday := mustTime(t, "Europe/Paris", "2026-11-23 10:00")
	friday := mustTime(t, "Europe/Paris", "2026-11-27 19:00")
	sunday := mustTime(t, "Europe/Paris", "2026-11-29 11:00")
	for _, tc := range []struct {
		name     string
		lang     string
		now, due time.Time
		want     string
	}{
		{"open, wait", "en", monday, monday.Add(15 * time.Minute), "Expected wait: about 15 minutes."},
		{"open, long wait", "en", monday, monday.Add(4 * time.Hour), "Expected wait: about 4 hours."},
		{"open, unknown wait", "en", monday, time.Time{}, "who will reply here."},
		{"open, french", "fr", monday, monday.Add(time.Hour), "Délai de réponse estimé : environ 60 minutes."},
		{"open, one minute", "en", monday, monday.Add(30 * time.Second), "Expected wait: about 1 minute."},
		{"open, just under an hour and a half", "en", monday, monday.Add(89*time.Minute + 30*time.Second), "Expected wait: about 2 hours."},
		{"open, long wait, french", "fr", monday, monday.Add(3 * time.Hour), "environ 3 heures."},
		{"closed, tomorrow", "en", friday, time.Time{}, "when they are back, tomorrow at 10:00 (Europe/Paris time)."},
		{"closed, monday", "en", sunday, time.Time{}, "tomorrow at 09:00"},
		{"closed, french", "fr", friday, time.Time{}, "dès son retour, demain à 10h00 (heure Europe/Paris)."},
		{"closed, weekday name", "fr", mustTime(t, "Europe/Paris", "2026-11-28 15:00"), time.Time{}, "lundi à 09h00"},
	} {
		if got := paris.Notice(tc.lang, tc.now, tc.due); !strings.Contains(got, tc.want) {
			t.Errorf("%s: Notice = %q, want it to contain %q", tc.name, got, tc.want)
		}
	}
	if got := (Hours{}).Notice("en", monday, time.Time{}); strings.Contains(got, "away") {
		t.Errorf("always open: Notice = %q, says the team is away", got)
	}
}
