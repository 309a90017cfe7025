package redact

import (
	"context"
	"log/slog"
)

// NewLogHandler returns a slog.Handler that redacts the personal data in
// each record before next writes it: in the message, in string attribute
// values (in groups too, and those given to With), and in error values,
// which are written as their redacted text when it differs. Other values
// (numbers, times, structs) are passed as they are.
//
// Relais does not log customer text on purpose; this is the guard for the
// day a log line quotes some anyway (a provider's error echoing a prompt, a
// panic value, a new log call). Each string is redacted on its own, so
// placeholders are numbered per value and Restore does not apply.
func NewLogHandler(next slog.Handler) slog.Handler { return &logHandler{next: next} }

type logHandler struct{ next slog.Handler }

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redactString(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return &logHandler{next: h.next.WithAttrs(red)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); hasData(s) {
			return slog.String(a.Key, redactString(s))
		}
	case slog.KindGroup:
		group := v.Group()
		red := make([]slog.Attr, len(group))
		for i, ga := range group {
			red[i] = redactAttr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok && err != nil {
			if s := err.Error(); hasData(s) {
				return slog.String(a.Key, redactString(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// hasData reports whether s holds personal data; it does not allocate, so
// the common case (nothing to redact) costs a scan and no copy.
func hasData(s string) bool { return len(Find(s)) > 0 }

func redactString(s string) string {
	var r Redactor
	return r.Redact(s)
}
