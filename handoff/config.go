package handoff

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/relais-ai/relais"
)

var queueName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ParseRouting reads routing rules an operator writes in one line
// (RELAIS_QUEUE_ROUTES), entries separated by ';':
//
//	sensitive:fraud=fraud;sensitive:complaint=care;intent:human_request=general;topic:billing=billing;default=general
//
// "sensitive:TOPIC" routes a sensitive topic, "intent:INTENT" an intent,
// "topic:TOPIC" the best suggested article's topic, and "default" the rest.
// An empty string gives the zero Routing (everything to DefaultQueue).
// Errors name the entry and wrap relais.ErrInvalid.
func ParseRouting(s string) (Routing, error) {
	var r Routing
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, queue, ok := strings.Cut(entry, "=")
		key, queue = strings.TrimSpace(key), strings.TrimSpace(queue)
		if !ok || !queueName.MatchString(queue) {
			return Routing{}, fmt.Errorf("routing entry %q: want KIND:KEY=QUEUE or default=QUEUE, with a queue name of lower-case letters, digits, '-', '_' or '.': %w", entry, relais.ErrInvalid)
		}
		if key == "default" {
			r.Default = queue
			continue
		}
		kind, name, ok := strings.Cut(key, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return Routing{}, fmt.Errorf("routing entry %q: the key must be sensitive:TOPIC, intent:INTENT, topic:TOPIC or default: %w", entry, relais.ErrInvalid)
		}
		name = strings.TrimSpace(name)
		var m *map[string]string
		switch strings.TrimSpace(kind) {
		case "sensitive":
			m = &r.SensitiveTopics
		case "intent":
			m = &r.Intents
		case "topic":
			m = &r.ArticleTopics
		default:
			return Routing{}, fmt.Errorf("routing entry %q: unknown kind %q (sensitive, intent, topic or default): %w", entry, kind, relais.ErrInvalid)
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[name] = queue
	}
	return r, nil
}

// ParseSLA reads the waits each priority may have (RELAIS_SLA), such as
// "urgent=15m;high=1h;normal=4h"; priorities left out keep their default.
// Errors name the entry and wrap relais.ErrInvalid.
func ParseSLA(s string) (SLA, error) {
	sla := SLA{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, "=")
		d, err := time.ParseDuration(strings.TrimSpace(value))
		if !ok || err != nil || d <= 0 {
			return nil, fmt.Errorf("SLA entry %q: want PRIORITY=DURATION such as high=1h: %w", entry, relais.ErrInvalid)
		}
		switch strings.TrimSpace(name) {
		case "urgent":
			sla[Urgent] = d
		case "high":
			sla[High] = d
		case "normal":
			sla[Normal] = d
		default:
			return nil, fmt.Errorf("SLA entry %q: priority must be urgent, high or normal: %w", entry, relais.ErrInvalid)
		}
	}
	return sla, nil
}
