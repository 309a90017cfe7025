package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relais-ai/relais/auth"
)

// EventTicketPurpose names the event tickets' signing keys in the store.
const EventTicketPurpose = "console-events"

// EventTicketLifetime is how long an event ticket may be redeemed: the
// console asks for one just before it opens the stream, so a minute
// covers a slow network, and a ticket that leaks into a proxy's access
// log is dead before anybody reads it.
const EventTicketLifetime = time.Minute

// An event ticket is
//
//	v1.<key generation>.<nonce>.<expires, unix s>.<role>.<name>.<mac>
//
// with name the principal's name in unpadded base64url (a name may hold
// dots), nonce 128 random bits, and mac the unpadded base64url
// HMAC-SHA256, under the named generation of the console-events key, of
// "relais-event-ticket|" and the fields before it joined by "|". The key
// lives in the store (auth.Keyring), so a ticket one replica issues opens
// the stream on any other, and after a restart.
//
// EventSource cannot send an Authorization header, which is why the stream
// takes a ticket in its URL at all: the bearer token never appears there,
// and what does is short-lived and good for one stream.

type eventTicket struct {
	Generation int
	Nonce      string
	Expires    time.Time
	Principal  Principal
}

func ticketMAC(key []byte, fields ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("relais-event-ticket|" + strings.Join(fields, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func signEventTicket(k auth.SigningKey, t eventTicket) string {
	fields := []string{"v1", strconv.Itoa(k.Generation), t.Nonce, strconv.FormatInt(t.Expires.Unix(), 10),
		string(t.Principal.Role), base64.RawURLEncoding.EncodeToString([]byte(t.Principal.Name))}
	return strings.Join(append(fields, ticketMAC(k.Secret, fields...)), ".")
}

// errBadTicket is every refusal of a ticket: the client learns only to ask
// for a new one; the reason is logged at debug level.
var errBadTicket = errorf(http.StatusUnauthorized, "unauthorized",
	"the event ticket is invalid, expired or already used: ask POST /v1/events/ticket for a new one")

// parseEventTicket checks a ticket's form and signature under keys, and
// its expiry; the error says why it was refused, for debug logs, and never
// holds the ticket.
func parseEventTicket(keys []auth.SigningKey, value string, now time.Time) (eventTicket, error) {
	parts := strings.Split(value, ".")
	if len(parts) != 7 || parts[0] != "v1" {
		return eventTicket{}, errors.New("malformed event ticket")
	}
	gen, err1 := strconv.Atoi(parts[1])
	expires, err2 := strconv.ParseInt(parts[3], 10, 64)
	name, err3 := base64.RawURLEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || err3 != nil || len(parts[2]) != 22 {
		return eventTicket{}, errors.New("malformed event ticket")
	}
	key, ok := auth.Find(keys, gen)
	if !ok {
		return eventTicket{}, fmt.Errorf("event ticket signed with key generation %d, which is unknown or expired", gen)
	}
	if !hmac.Equal([]byte(parts[6]), []byte(ticketMAC(key.Secret, parts[:6]...))) {
		return eventTicket{}, errors.New("event ticket with a wrong signature")
	}
	t := eventTicket{Generation: gen, Nonce: parts[2], Expires: time.Unix(expires, 0),
		Principal: Principal{Name: string(name), Role: Role(parts[4])}}
	if !now.Before(t.Expires) {
		return eventTicket{}, fmt.Errorf("event ticket expired at %v", t.Expires.UTC())
	}
	return t, nil
}

// usedTickets remembers the nonces of the tickets redeemed here until
// they expire, so that a ticket opens one stream. Only here: a ticket
// replayed on another replica within its minute opens a second stream
// for the same agent, which the ticket's short life and its absence from
// any log of Relais's own (logRequests logs route patterns) make a small
// risk, not worth a store round trip on every connection.
type usedTickets struct {
	mu   sync.Mutex
	seen map[string]time.Time // nonce -> expiry
}

// redeem reports whether t was not redeemed before, and marks it.
func (u *usedTickets) redeem(t eventTicket, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for n, exp := range u.seen {
		if !now.Before(exp) {
			delete(u.seen, n)
		}
	}
	if _, ok := u.seen[t.Nonce]; ok {
		return false
	}
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	u.seen[t.Nonce] = t.Expires
	return true
}

// issueEventTicket serves POST /v1/events/ticket: a ticket that opens one
// event stream as the caller, within EventTicketLifetime.
func (s *Server) issueEventTicket(w http.ResponseWriter, r *http.Request) {
	keys, err := s.eventKeys.Load(r.Context(), false)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails on supported platforms
	// Whole seconds, as the ticket carries them: a ticket never outlives
	// what expires_at says.
	expires := s.now().Add(EventTicketLifetime).Truncate(time.Second)
	t := eventTicket{Generation: keys[0].Generation, Nonce: base64.RawURLEncoding.EncodeToString(nonce[:]),
		Expires: expires, Principal: p}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"ticket": signEventTicket(keys[0], t), "expires_at": expires.UTC()})
}

// eventAuth authenticates GET /v1/events: with ?ticket= (a browser's
// EventSource, which cannot send headers) by the ticket, once; otherwise
// as every API call, by the Authorization header. Either way the caller
// must be an agent.
func (s *Server) eventAuth(next http.Handler) http.Handler {
	byToken := s.requireRole(RoleAgent)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("token") && r.Header.Get("Authorization") == "" {
			// Earlier consoles put the bearer token here; say what replaced it.
			writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized",
				"the token is no longer accepted in the URL: send Authorization: Bearer <token>, "+
					"or pass a ticket from POST /v1/events/ticket as ?ticket="))
			return
		}
		raw := q.Get("ticket")
		if raw == "" || s.eventKeys == nil || r.Header.Get("Authorization") != "" {
			byToken.ServeHTTP(w, r)
			return
		}
		p, err := s.redeemEventTicket(r.Context(), raw)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if !p.Role.Allows(RoleAgent) {
			writeError(w, r, s.log, errorf(http.StatusForbidden, "forbidden", "this needs the %s role; the ticket's token has %s", RoleAgent, p.Role))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// redeemEventTicket verifies a ticket and marks it used. A ticket signed by
// a generation newer than the keys held was signed after a rotation on
// another replica: the keys are read again once before it is refused.
func (s *Server) redeemEventTicket(ctx context.Context, raw string) (Principal, error) {
	keys, err := s.eventKeys.Load(ctx, false)
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	t, err := parseEventTicket(keys, raw, now)
	if err != nil {
		if gen, ok := ticketGeneration(raw); ok && s.eventKeys.MayBeNewer(gen) {
			if keys, lerr := s.eventKeys.Load(ctx, true); lerr == nil {
				t, err = parseEventTicket(keys, raw, now)
			}
		}
	}
	if err != nil {
		s.log.DebugContext(ctx, "event ticket refused", "error", err)
		return Principal{}, errBadTicket
	}
	if !s.usedTickets.redeem(t, now) {
		s.log.DebugContext(ctx, "event ticket refused", "error", "already used")
		return Principal{}, errBadTicket
	}
	return t.Principal, nil
}

func ticketGeneration(raw string) (int, bool) {
	parts := strings.SplitN(raw, ".", 3)
	if len(parts) < 3 {
		return 0, false
	}
	gen, err := strconv.Atoi(parts[1])
	return gen, err == nil
}
