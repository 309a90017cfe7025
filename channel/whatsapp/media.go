package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/relais-ai/relais/conversation"
)

// MediaClient downloads the content of a customer's photo or document
// through the Graph media API: GET {APIBase}/{media id} with the access
// token gives a short-lived URL, and GET of that URL with the same token
// gives the bytes.
type MediaClient struct {
	APIBase     string // DefaultAPIBase when empty
	AccessToken string
	Client      *http.Client // http.DefaultClient when nil
}

// errTooLarge is a media over the limit; size is what Graph announced or
// what was read before stopping (0 when unknown).
type errTooLarge struct{ size int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("media larger than the limit (%d bytes seen)", e.size)
}

// errRefused is a media Graph refuses for good (gone, forbidden, unknown).
type errRefused struct{ status int }

func (e *errRefused) Error() string { return fmt.Sprintf("Graph refused the media: HTTP %d", e.status) }

// Fetch returns the content of media id and its type, at most max bytes:
// *errTooLarge beyond it, *errRefused for a 4xx other than 429; any other
// error is transient. Errors name no URL beyond the API's and no content.
func (c *MediaClient) Fetch(ctx context.Context, id string, max int64) ([]byte, string, error) {
	base := strings.TrimRight(c.APIBase, "/")
	if base == "" {
		base = DefaultAPIBase
	}
	raw, err := c.get(ctx, base+"/"+url.PathEscape(id), 64<<10)
	if err != nil {
		return nil, "", fmt.Errorf("media %s: metadata: %w", id, err)
	}
	var meta struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
		FileSize int64  `json:"file_size"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.URL == "" {
		return nil, "", fmt.Errorf("media %s: metadata without a URL", id)
	}
	if meta.FileSize > max {
		return nil, "", &errTooLarge{size: meta.FileSize}
	}
	u, err := url.Parse(meta.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", &errRefused{}
	}
	body, err := c.get(ctx, meta.URL, max+1)
	if err != nil {
		return nil, "", fmt.Errorf("media %s: download: %w", id, err)
	}
	if int64(len(body)) > max {
		return nil, "", &errTooLarge{size: int64(len(body))}
	}
	return body, meta.MimeType, nil
}

// get reads at most limit bytes of url's body.
func (c *MediaClient) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &errRefused{}
	}
	req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("request failed: %w", ue.Err) // without the signed URL
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return nil, &errRefused{status: resp.StatusCode}
		}
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// fetchFailure is how a fetch error is recorded: a status and a size.
func fetchFailure(err error) (conversation.MediaStatus, int64) {
	var big *errTooLarge
	var refused *errRefused
	switch {
	case errors.As(err, &big):
		return conversation.MediaTooLarge, big.size
	case errors.As(err, &refused):
		return conversation.MediaRefused, 0
	}
	return conversation.MediaPending, 0
}
