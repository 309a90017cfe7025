package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/sony/gobreaker/v2"

	"github.com/relais-ai/relais"
)

// Endpoint names: each has its own breaker, is a key of BreakerStates, and
// is the operation named in errors. Generate and Summarize share "chat":
// they reach the same model, so they fail together.
const (
	endpointEmbeddings = "embeddings"
	endpointChat       = "chat"
)

// newBreaker creates the breaker for one endpoint and registers it with
// BreakerStates. It must only be called from New.
func newBreaker[T any](c *Client, endpoint string) *gobreaker.CircuitBreaker[T] {
	threshold := c.breakerCfg.FailureThreshold
	b := gobreaker.NewCircuitBreaker[T](gobreaker.Settings{
		Name:        endpoint,
		MaxRequests: c.breakerCfg.HalfOpenRequests,
		Timeout:     c.breakerCfg.OpenTimeout,
		// Interval 0: counts only reset on a state change or, for the
		// consecutive counts used here, on the next success.
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= threshold
		},
		OnStateChange: c.breakerChanged,
		// A rejected input shows the provider is up and answering: it must
		// neither open the breaker nor keep a half-open one from closing.
		IsSuccessful: func(err error) bool {
			var ce *callError
			if errors.As(err, &ce) {
				return !ce.failure
			}
			return err == nil
		},
		// A caller giving up says nothing about the provider.
		IsExcluded: func(err error) bool {
			var ce *callError
			return errors.As(err, &ce) && ce.excluded
		},
	})
	c.breakers[endpoint] = b.State
	return b
}

func (c *Client) breakerChanged(endpoint string, from, to gobreaker.State) {
	level := slog.LevelInfo
	if to == gobreaker.StateOpen {
		level = slog.LevelWarn
	}
	// gobreaker gives no context here; the change is not tied to one call.
	c.logger.Log(context.Background(), level, "openai circuit breaker changed state",
		"endpoint", endpoint, "from", from.String(), "to", to.String())
	if c.onStateChange != nil {
		c.onStateChange(endpoint, from.String(), to.String())
	}
}

// call runs fn through breaker, one attempt at a time, each bounded by the
// configured timeout, retrying transient failures with backoff. Retries sit
// outside the breaker so that every attempt counts for it and an open breaker
// stops the retries at once. The error is a *callError (see there).
func call[T any](ctx context.Context, c *Client, breaker *gobreaker.CircuitBreaker[T], op string,
	fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	var last *callError
	for attempt := 1; ; attempt++ {
		if last != nil {
			delay := c.backoff(attempt-1, last.retryAfter)
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
				// Waiting would only end in the caller's deadline; report the
				// failure that matters while the caller can still act on it.
				return zero, last
			}
			c.logger.WarnContext(ctx, "openai call failed; retrying",
				"op", op, "attempt", attempt-1, "delay", delay, "error", last.Error())
			if err := c.sleep(ctx, delay); err != nil {
				return zero, abandoned(op, err, last, attempt-1)
			}
		}
		if err := ctx.Err(); err != nil {
			return zero, abandoned(op, err, last, attempt-1)
		}

		res, err := breaker.Execute(func() (T, error) {
			attemptCtx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			began := time.Now()
			res, err := fn(attemptCtx)
			if err != nil {
				return res, c.classify(ctx, attemptCtx, op, err, time.Since(began))
			}
			return res, nil
		})
		if err == nil {
			return res, nil
		}
		var ce *callError
		if !errors.As(err, &ce) {
			// The breaker refused the attempt (gobreaker.ErrOpenState or
			// ErrTooManyRequests): fail fast so the caller can degrade.
			desc := "circuit breaker open, provider not called"
			if errors.Is(err, gobreaker.ErrTooManyRequests) {
				desc = "circuit breaker half-open and already testing the provider"
			}
			if last != nil {
				desc = last.desc + ", then " + desc
			}
			return zero, &callError{op: op, desc: desc, kind: relais.ErrUnavailable, cause: err, attempts: attempt - 1}
		}
		if ce.excluded {
			return zero, abandoned(op, ce.kind, last, attempt)
		}
		ce.attempts = attempt
		if !ce.retryable || attempt > c.maxRetries {
			return zero, ce
		}
		last = ce
	}
}

// abandoned is the error for a call whose context ended. It wraps ctx's error
// and, when an attempt had failed before, that failure too: a caller whose
// deadline ran out while the provider returned 503s should see both.
func abandoned(op string, ctxErr error, last *callError, attempts int) *callError {
	e := &callError{op: op, desc: "call abandoned", kind: ctxErr, attempts: attempts, excluded: true}
	if last != nil {
		e.desc = "stopped retrying after " + last.desc
		e.cause = last
	}
	return e
}

// callError is what call returns. Its message is safe to log: it names the
// operation and the HTTP status, type and code, never the API key, the texts
// sent, or the server's free-text message, which servers fill with echoes of
// the input. It unwraps to a relais sentinel (or the context's error when the
// caller gave up) and to the underlying error.
type callError struct {
	op       string
	desc     string // what went wrong, safe to log
	kind     error  // a relais sentinel, or ctx.Err() when the caller gave up
	cause    error  // for errors.As; not printed
	attempts int

	retryable  bool          // a later attempt may succeed
	failure    bool          // counts against the breaker
	excluded   bool          // counts neither way for the breaker
	retryAfter time.Duration // how long the server asked us to wait, if it did
}

func (e *callError) Error() string {
	msg := "openai " + e.op + ": " + e.desc
	if e.attempts > 1 {
		msg += fmt.Sprintf(", after %d attempts", e.attempts)
	}
	return msg + ": " + e.kind.Error()
}

func (e *callError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// slowAttempt is how long an attempt must have waited for the caller's
// deadline to count against the provider. Callers budget their stages
// within a request's deadline, usually below the per-attempt timeout; a
// provider that cannot answer within such a budget is failing the callers
// and must open the breaker, or every request would wait out its whole
// budget. A deadline that ends an attempt sooner says nothing of the provider.
const slowAttempt = time.Second

// classify turns an attempt's error into a callError. ctx is the caller's
// context, attemptCtx the one bounded by the per-attempt timeout, and took
// how long the attempt ran.
func (c *Client) classify(ctx, attemptCtx context.Context, op string, err error, took time.Duration) *callError {
	e := &callError{op: op, kind: relais.ErrUnavailable, cause: err, failure: true}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) && took >= slowAttempt {
			e.desc, e.kind, e.cause = fmt.Sprintf("no answer within the caller's deadline (%s)", took.Round(time.Millisecond)), ctxErr, nil
			return e
		}
		e.desc, e.kind, e.cause, e.failure, e.excluded = "call abandoned", ctxErr, nil, false, true
		return e
	}
	if attemptCtx.Err() != nil {
		// The cause would be a context.DeadlineExceeded that callers could
		// mistake for their own deadline: leave it out.
		e.desc, e.cause, e.retryable = fmt.Sprintf("no answer within %s", c.timeout), nil, true
		return e
	}
	var hint *retryAfterError
	if errors.As(err, &hint) {
		e.retryAfter = hint.after
	}

	var (
		reqErr   *goopenai.RequestError
		apiErr   *goopenai.APIError
		badResp  *badResponseError
		badReply *badReplyError
	)
	switch {
	case errors.As(err, &badReply):
		// The provider answered; what the model wrote is unusable. Asking
		// again at temperature 0 would get the same reply.
		e.desc, e.kind, e.failure = badReply.msg, relais.ErrInvalid, badReply.countsAgainstBreaker
	case errors.As(err, &reqErr):
		// A non-JSON or unrecognised error body; it may hold a JSON error
		// after all. Its Body is never printed.
		errors.As(reqErr.Err, &apiErr)
		classifyStatus(e, reqErr.HTTPStatusCode, apiErr)
	case errors.As(err, &apiErr):
		classifyStatus(e, apiErr.HTTPStatusCode, apiErr)
	case errors.As(err, &badResp):
		e.desc = badResp.msg
	case isConnectionError(err):
		e.desc, e.retryable = c.scrub(err.Error()), true
	case isMalformedJSON(err):
		// A server that sends broken JSON once tends to send it again.
		e.desc = "malformed response: " + err.Error()
	default:
		e.desc = c.scrub(err.Error())
	}
	return e
}

// classifyStatus sets what an HTTP error status means for e.
func classifyStatus(e *callError, status int, apiErr *goopenai.APIError) {
	e.desc = describeStatus(status, apiErr)
	switch {
	case status == http.StatusTooManyRequests && quotaExhausted(apiErr):
		// Retrying cannot help until someone pays; it still counts against
		// the breaker so later calls fail fast.
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		e.retryable = true
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		e.kind, e.failure = relais.ErrUnauthorized, false
	case status == http.StatusRequestEntityTooLarge:
		e.kind, e.failure = relais.ErrTooLarge, false
	case status == http.StatusNotFound:
		// A wrong base URL or model name: configuration, not the input.
		// Unavailable lets the assistant degrade instead of blaming the customer.
		e.failure = false
	case status >= 400:
		e.kind, e.failure = relais.ErrInvalid, false
	default:
		// A 1xx or 3xx the HTTP client could not follow: a misbehaving server.
	}
}

func describeStatus(status int, apiErr *goopenai.APIError) string {
	desc := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if apiErr == nil {
		return desc
	}
	var details []string
	if apiErr.Type != "" {
		details = append(details, "type "+clip(apiErr.Type))
	}
	if code := errorCode(apiErr); code != "" {
		details = append(details, "code "+clip(code))
	}
	if apiErr.Param != nil && *apiErr.Param != "" {
		details = append(details, "param "+clip(*apiErr.Param))
	}
	for i, d := range details {
		if i == 0 {
			desc += " ("
		} else {
			desc += ", "
		}
		desc += d
	}
	if len(details) > 0 {
		desc += ")"
	}
	return desc
}

// clip bounds the identifiers a server puts in type, code and param, which
// are meant to be short; anything longer is not an identifier.
func clip(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

// errorCode is the error's code as text, "" when there is none: go-openai
// decodes a JSON null code as the number 0.
func errorCode(apiErr *goopenai.APIError) string {
	switch code := apiErr.Code.(type) {
	case nil:
		return ""
	case int:
		if code == 0 {
			return ""
		}
		return strconv.Itoa(code)
	case string:
		return code
	default:
		return fmt.Sprint(code)
	}
}

func quotaExhausted(apiErr *goopenai.APIError) bool {
	const quota = "insufficient_quota"
	return apiErr != nil && (apiErr.Type == quota || errorCode(apiErr) == quota)
}

func isConnectionError(err error) bool {
	var urlErr *url.Error
	var netErr net.Error
	// io.ErrUnexpectedEOF: the connection dropped in the middle of the body.
	return errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF)
}

func isMalformedJSON(err error) bool {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	// io.EOF: a success status with an empty body.
	return errors.As(err, &syntaxErr) || errors.As(err, &typeErr) || errors.Is(err, io.EOF)
}

// badResponseError is a well-formed response that does not answer the
// request (wrong count, wrong dimension). Its message is safe to log.
type badResponseError struct{ msg string }

func (e *badResponseError) Error() string { return e.msg }

func badResponse(format string, args ...any) error {
	return &badResponseError{msg: fmt.Sprintf(format, args...)}
}

// retryAfterError carries the wait a rate-limited server asked for.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// withRetryAfter attaches the server's requested wait, read from the
// response headers go-openai keeps even on error, to err.
func withRetryAfter(err error, h http.Header) error {
	if d := retryAfter(h); d > 0 {
		return &retryAfterError{err: err, after: d}
	}
	return err
}

// retryAfter reads OpenAI's retry-after-ms and the standard Retry-After in
// seconds. The HTTP-date form of Retry-After is ignored: no provider we
// target sends it, and backoff covers that case anyway.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return 0
}

// backoff is the wait before retry number retry (from 1): "full jitter", a
// uniformly random wait below an exponentially growing ceiling, so that
// callers hit by the same outage do not come back in lockstep. A longer wait
// asked for by the server wins, up to retryMax.
func (c *Client) backoff(retry int, serverAsked time.Duration) time.Duration {
	ceiling := c.retryBase
	for i := 1; i < retry && ceiling < c.retryMax; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.retryMax)
	d := time.Duration(c.randFloat() * float64(ceiling))
	if serverAsked > d {
		d = min(serverAsked, c.retryMax)
	}
	return d
}

// sleepContext is the default Config.Sleep.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
