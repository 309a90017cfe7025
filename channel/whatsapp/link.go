package whatsapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"

	"github.com/relais-ai/relais/conversation"
)

// Limits of the entry points.
const (
	// MaxLinkTextChars bounds the message a link or QR code fills in:
	// enough for a greeting and a question, and, percent-encoded, always
	// within what a QR code holds.
	MaxLinkTextChars = 200
	// QR code sizes in pixels (the image is square).
	DefaultQRSize = 256
	MinQRSize     = 128
	MaxQRSize     = 1024
)

// BusinessNumber is the business's WhatsApp number that customers write
// to: the configured one, else the one the webhook's metadata reports
// (value.metadata.display_phone_number). Safe for concurrent use.
type BusinessNumber struct {
	configured string // digits
	learnt     atomic.Pointer[string]
}

// NewBusinessNumber returns a holder of the configured number, "" for
// none (then it is learnt from the webhook); its error is NormalizeNumber's.
func NewBusinessNumber(configured string) (*BusinessNumber, error) {
	b := &BusinessNumber{}
	if configured != "" {
		digits, err := NormalizeNumber(configured)
		if err != nil {
			return nil, err
		}
		b.configured = digits
	}
	return b, nil
}

// Learn records the number a webhook delivery reports; a configured
// number keeps precedence, and a value that is not a phone number is
// ignored.
func (b *BusinessNumber) Learn(displayPhoneNumber string) {
	if b == nil || displayPhoneNumber == "" {
		return
	}
	digits, err := NormalizeNumber(displayPhoneNumber)
	if err != nil {
		return
	}
	if cur := b.learnt.Load(); cur == nil || *cur != digits {
		b.learnt.Store(&digits)
	}
}

// Digits is the number in international form without "+" (what wa.me
// takes), "" while it is neither configured nor learnt.
func (b *BusinessNumber) Digits() string {
	if b.configured != "" {
		return b.configured
	}
	if p := b.learnt.Load(); p != nil {
		return *p
	}
	return ""
}

// NormalizeNumber turns a phone number written for people ("+33 6 12 34 56
// 78", "+1 (555) 010-0199") into the digits wa.me takes: the country code
// and number, without "+", spaces, dots, dashes or brackets. A number with
// other characters, a leading 0 (no country code) or not 6 to 15 digits
// (E.164) is refused.
func NormalizeNumber(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '.', r == '-', r == '(', r == ')':
		default:
			return "", fmt.Errorf("phone number %q: only digits, a leading +, spaces, dots, dashes and brackets are allowed", s)
		}
	}
	d := b.String()
	if len(d) < 6 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("phone number %q: want the international number with its country code, 6 to 15 digits, such as +33 6 12 34 56 78", s)
	}
	return d, nil
}

// ClickToChatURL is the wa.me link that opens a chat with digits, with
// text filled in when not empty.
func ClickToChatURL(digits, text string) string {
	u := "https://wa.me/" + digits
	if text != "" {
		// %20 for a space, as WhatsApp's own examples: QueryEscape's "+"
		// (a literal plus is %2B) may show as a plus in the chat.
		u += "?text=" + strings.ReplaceAll(url.QueryEscape(text), "+", "%20")
	}
	return u
}

// Entry serves the entry points shops print on receipts and shelves:
// GET .../link?text=... answers {"url": "https://wa.me/<number>?text=..."}
// and GET .../qr.png?text=...&size=... a QR code of that URL as a PNG.
// It tells them apart by the last element of the path. Both are public:
// they show nothing but the business's own number.
type Entry struct {
	Number *BusinessNumber
}

// ServeHTTP answers link and qr.png; anything else is 404.
func (e *Entry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
		return
	}
	kind := path.Base(r.URL.Path)
	if kind != "link" && kind != "qr.png" {
		writeError(w, http.StatusNotFound, "not_found", "no route for "+r.URL.Path)
		return
	}
	link, status, code, msg := e.link(r.URL.Query())
	if status != 0 {
		writeError(w, status, code, msg)
		return
	}
	if kind == "link" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]string{"url": link}) // the client went away: nothing to do
		return
	}
	size := DefaultQRSize
	if s := r.URL.Query().Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < MinQRSize || n > MaxQRSize {
			writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("size %q: must be a whole number of pixels from %d to %d", s, MinQRSize, MaxQRSize))
			return
		}
		size = n
	}
	png, err := qrcode.Encode(link, qrcode.Medium, size)
	if err != nil {
		// The bounded text always fits; say so plainly if it ever does not.
		writeError(w, http.StatusBadRequest, "invalid", "the link is too long for a QR code: shorten the text")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	// Printed and embedded in shop pages: let browsers and proxies keep it.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(png)
}

// link builds the click-to-chat URL of the query, or the error to answer.
func (e *Entry) link(q url.Values) (link string, status int, code, msg string) {
	text := strings.TrimSpace(conversation.CleanText(q.Get("text")))
	if n := utf8.RuneCountInString(text); n > MaxLinkTextChars {
		return "", http.StatusBadRequest, "invalid", fmt.Sprintf("text of %d characters: must have at most %d", n, MaxLinkTextChars)
	}
	digits := e.Number.Digits()
	if digits == "" {
		return "", http.StatusServiceUnavailable, "unavailable",
			"the business's WhatsApp number is not known yet: set RELAIS_WHATSAPP_DISPLAY_NUMBER (such as +33 6 12 34 56 78), or wait for the first webhook delivery, which reports it"
	}
	return ClickToChatURL(digits, text), 0, "", ""
}

// writeError answers in the API's error format.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
