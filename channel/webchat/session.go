package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/relais-ai/relais/auth"
)

// CookieName is the session cookie's name.
const CookieName = "relais_chat"

// The session cookie is
//
//	v1.<key generation>.<session id>.<conversation id>.<issued, unix s>.<mac>
//
// with mac the unpadded base64url HMAC-SHA256, under the named generation
// of the webchat-session key, of "relais-webchat-session|" and the fields
// before it joined by "|". The session id is 128 random bits; the
// conversation id is 0 until the customer first writes. The issue time
// bounds the session's age whatever the browser does with Max-Age; each
// visit issues the cookie again, signed with the newest key.

// session is a verified session cookie.
type session struct {
	ID             string
	ConversationID int64
	Generation     int
	Issued         time.Time
}

// newSessionID returns 128 random bits, unpadded base64url.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func macOf(key []byte, fields ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("relais-webchat-session|" + strings.Join(fields, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sign returns the cookie value of s under key k.
func sign(k auth.SigningKey, s session) string {
	fields := []string{"v1", strconv.Itoa(k.Generation), s.ID, strconv.FormatInt(s.ConversationID, 10),
		strconv.FormatInt(s.Issued.Unix(), 10)}
	return strings.Join(append(fields, macOf(k.Secret, fields...)), ".")
}

// verify parses a cookie value and checks its signature with the key of
// its generation among keys, and its age. The error says why it was
// refused, for debug logs; it never holds the value.
func verify(keys []auth.SigningKey, value string, now time.Time, maxAge time.Duration) (session, error) {
	parts := strings.Split(value, ".")
	if len(parts) != 6 || parts[0] != "v1" {
		return session{}, fmt.Errorf("malformed session cookie")
	}
	gen, err1 := strconv.Atoi(parts[1])
	conv, err2 := strconv.ParseInt(parts[3], 10, 64)
	issued, err3 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || conv < 0 || len(parts[2]) != 22 {
		return session{}, fmt.Errorf("malformed session cookie")
	}
	key, ok := auth.Find(keys, gen)
	if !ok {
		return session{}, fmt.Errorf("session cookie signed with key generation %d, which is unknown or expired", gen)
	}
	if !hmac.Equal([]byte(parts[5]), []byte(macOf(key.Secret, parts[:5]...))) {
		return session{}, fmt.Errorf("session cookie with a wrong signature")
	}
	at := time.Unix(issued, 0)
	if now.Sub(at) > maxAge || at.Sub(now) > time.Minute {
		return session{}, fmt.Errorf("session cookie issued at %v, out of its %v lifetime", at.UTC(), maxAge)
	}
	return session{ID: parts[2], ConversationID: conv, Generation: gen, Issued: at}, nil
}

// session returns the request's verified session; ok is false when there
// is none or it does not verify (then the customer is a new one).
func (h *Handler) session(r *http.Request) (session, bool, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, false, nil
	}
	keys, err := h.keys.Load(r.Context(), false)
	if err != nil {
		return session{}, false, err
	}
	s, err := verify(keys, c.Value, h.now(), h.maxAge())
	if err != nil && h.mayBeNewer(c.Value) {
		// Signed by a key another replica rotated in since the last load.
		if keys, lerr := h.keys.Load(r.Context(), true); lerr == nil {
			s, err = verify(keys, c.Value, h.now(), h.maxAge())
		}
	}
	if err != nil {
		h.logger().DebugContext(r.Context(), "webchat: session cookie refused", "error", err)
		return session{}, false, nil
	}
	return s, true, nil
}

// setSession issues s's cookie, signed now with the newest key.
func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, s session) error {
	keys, err := h.keys.Load(r.Context(), false)
	if err != nil {
		return err
	}
	s.Issued = h.now()
	// Behind a TLS-terminating proxy the request arrives as plain HTTP;
	// the proxy's X-Forwarded-Proto says it was not. Trusting it can only
	// add the Secure flag.
	secure := r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
	c := &http.Cookie{
		Name: CookieName, Value: sign(keys[0], s), Path: "/chat",
		MaxAge: int(h.maxAge().Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure,
	}
	if secure {
		// The widget shows the chat in a frame of the shop's site, where
		// browsers neither keep nor send a Lax cookie of another site: the
		// customer would start again at every message and never see the
		// agent's reply. A partitioned cookie (CHIPS) is kept for that
		// shop's pages alone, so another site's page cannot use it.
		c.SameSite, c.Partitioned = http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
	return nil
}

func (h *Handler) maxAge() time.Duration {
	if h.SessionMaxAge > 0 {
		return h.SessionMaxAge
	}
	return DefaultSessionMaxAge
}

// mayBeNewer reports whether a cookie names a key generation newer than
// the newest known.
func (h *Handler) mayBeNewer(value string) bool {
	parts := strings.SplitN(value, ".", 3)
	if len(parts) < 3 {
		return false
	}
	gen, err := strconv.Atoi(parts[1])
	return err == nil && h.keys.MayBeNewer(gen)
}
