package whatsapp

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/skip2/go-qrcode"
)

func getEntry(t *testing.T, e *Entry, target string) *httptest.ResponseRecorder {
	t.Helper()
	rr := httptest.NewRecorder()
	e.ServeHTTP(rr, httptest.NewRequest("GET", target, nil))
	return rr
}

func mustNumber(t *testing.T, configured string) *BusinessNumber {
	t.Helper()
	n, err := NewBusinessNumber(configured)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLink(t *testing.T) {
	t.Parallel()
	e := &Entry{Number: mustNumber(t, "+33 6 12 34 56 78")}
	tests := []struct {
		query, want string
	}{
		{"", "https://wa.me/33612345678"},
		{"?text=", "https://wa.me/33612345678"},
		{"?text=" + url.QueryEscape("Bonjour, où est ma commande ? 50% & +"),
			"https://wa.me/33612345678?text=Bonjour%2C%20o%C3%B9%20est%20ma%20commande%20%3F%2050%25%20%26%20%2B"},
		{"?text=" + url.QueryEscape("  hi\x00  "), "https://wa.me/33612345678?text=hi"},
	}
	for _, tt := range tests {
		rr := getEntry(t, e, "/v1/whatsapp/link"+tt.query)
		var got struct{ URL string }
		if err := json.Unmarshal(rr.Body.Bytes(), &got); rr.Code != 200 || err != nil {
			t.Fatalf("%s: status %d, body %s", tt.query, rr.Code, rr.Body)
		}
		if got.URL != tt.want {
			t.Errorf("%s: url %q, want %q", tt.query, got.URL, tt.want)
		}
		// The text comes back whole from the URL.
		if u, err := url.Parse(got.URL); err != nil || u.Query().Get("text") != strings.TrimSpace(strings.ReplaceAll(mustQuery(t, tt.query), "\x00", "")) {
			t.Errorf("%s: url %q does not carry the text back", tt.query, got.URL)
		}
	}
}

func mustQuery(t *testing.T, q string) string {
	t.Helper()
	v, err := url.ParseQuery(strings.TrimPrefix(q, "?"))
	if err != nil {
		t.Fatal(err)
	}
	return v.Get("text")
}

func TestLinkNumberLearntFromTheWebhook(t *testing.T) {
	t.Parallel()
	n := mustNumber(t, "")
	e := &Entry{Number: n}
	rr := getEntry(t, e, "/v1/whatsapp/link")
	if rr.Code != http.StatusServiceUnavailable || !strings.Contains(rr.Body.String(), "RELAIS_WHATSAPP_DISPLAY_NUMBER") {
		t.Fatalf("without a number: status %d, body %s; want 503 naming the setting", rr.Code, rr.Body)
	}
	if rr := getEntry(t, e, "/v1/whatsapp/qr.png"); rr.Code != http.StatusServiceUnavailable {
		t.Errorf("qr.png without a number: status %d, want 503", rr.Code)
	}
	// A delivery reports the number in its metadata.
	st := newFakeStore()
	h := newWebhook(st)
	h.Number = n
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100199","phone_number_id":"123"},"statuses":[]}}]}]}`)
	if code := post(t, h, body); code != 200 {
		t.Fatalf("webhook status %d", code)
	}
	rr = getEntry(t, e, "/v1/whatsapp/link?text=hi")
	if !strings.Contains(rr.Body.String(), `"https://wa.me/15550100199?text=hi"`) {
		t.Errorf("after the webhook: status %d, body %s", rr.Code, rr.Body)
	}
	// A configured number wins over what the webhook reports.
	c := mustNumber(t, "+33612345678")
	c.Learn("15550100199")
	if c.Digits() != "33612345678" {
		t.Errorf("configured number %q, want it to win", c.Digits())
	}
}

func TestBusinessNumberConcurrentUse(t *testing.T) {
	t.Parallel()
	n := mustNumber(t, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				n.Learn([]string{"15550100199", "+33 6 12 34 56 78"}[i%2])
				if d := n.Digits(); d != "15550100199" && d != "33612345678" {
					t.Errorf("Digits = %q", d)
				}
			}
		})
	}
	wg.Wait()
}

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+33 6 12 34 56 78": "33612345678",
		"+1 (555) 010-0199": "15550100199",
		"15550100199":       "15550100199",
		"+44.20.7946.0958":  "442079460958",
		"06 12 34 56 78":    "", // no country code
		"+33 6 12 34 56 7a": "",
		"12345":             "",
		"1234567890123456":  "",
		"33+612345678":      "",
		"":                  "",
	} {
		got, err := NormalizeNumber(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestQRCode(t *testing.T) {
	t.Parallel()
	e := &Entry{Number: mustNumber(t, "+33612345678")}
	for _, tt := range []struct {
		query string
		size  int
	}{
		{"?text=Bonjour", DefaultQRSize},
		{"?text=Bonjour&size=512", 512},
		{"?size=128", 128},
		{"?text=" + url.QueryEscape(strings.Repeat("é", MaxLinkTextChars)) + "&size=1024", 1024},
	} {
		rr := getEntry(t, e, "/v1/whatsapp/qr.png"+tt.query)
		if rr.Code != 200 || rr.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("%s: status %d, type %q, body %.200s", tt.query, rr.Code, rr.Header().Get("Content-Type"), rr.Body)
		}
		img, err := png.Decode(bytes.NewReader(rr.Body.Bytes()))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", tt.query, err)
		}
		if b := img.Bounds(); b.Dx() != tt.size || b.Dy() != tt.size {
			t.Errorf("%s: image %dx%d, want %dx%d", tt.query, b.Dx(), b.Dy(), tt.size, tt.size)
		}
		want := ClickToChatURL("33612345678", mustQuery(t, tt.query))
		if !showsQR(t, img, want) {
			t.Errorf("%s: the image is not the QR code of %s", tt.query, want)
		}
		if showsQR(t, img, want+"x") {
			t.Errorf("%s: the image also passes for another URL: the check proves nothing", tt.query)
		}
	}
}

// showsQR reports whether img draws the QR code of content: the pixel at
// the centre of each module is dark exactly where the code's bitmap is
// (the library scales modules to the size by nearest neighbour).
func showsQR(t *testing.T, img image.Image, content string) bool {
	t.Helper()
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bits := q.Bitmap() // with its quiet zone
	n := len(bits)
	px := float64(img.Bounds().Dx()) / float64(n) // pixels per module
	for y := range n {
		for x := range n {
			r, _, _, _ := img.At(int((float64(x)+0.5)*px), int((float64(y)+0.5)*px)).RGBA()
			if dark := r < 0x8000; dark != bits[y][x] {
				return false
			}
		}
	}
	return true
}

func TestEntryValidation(t *testing.T) {
	t.Parallel()
	e := &Entry{Number: mustNumber(t, "+33612345678")}
	long := url.QueryEscape(strings.Repeat("a", MaxLinkTextChars+1))
	for _, tt := range []struct {
		target string
		code   int
		msg    string
	}{
		{"/v1/whatsapp/link?text=" + long, 400, "at most 200"},
		{"/v1/whatsapp/qr.png?text=" + long, 400, "at most 200"},
		{"/v1/whatsapp/qr.png?size=127", 400, "128 to 1024"},
		{"/v1/whatsapp/qr.png?size=1025", 400, "128 to 1024"},
		{"/v1/whatsapp/qr.png?size=big", 400, "128 to 1024"},
		{"/v1/whatsapp/other", 404, "no route"},
	} {
		rr := getEntry(t, e, tt.target)
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rr.Body.Bytes(), &body); err != nil || rr.Code != tt.code || !strings.Contains(body.Error.Message, tt.msg) {
			t.Errorf("%s: status %d, body %s; want %d saying %q", tt.target, rr.Code, rr.Body, tt.code, tt.msg)
		}
	}
	rr := httptest.NewRecorder()
	e.ServeHTTP(rr, httptest.NewRequest("POST", "/v1/whatsapp/link", nil))
	if rr.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rr.Code)
	}
}
