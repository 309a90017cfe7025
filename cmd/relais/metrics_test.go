package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeMetricsAddr: /metrics is open on the main address by default,
// as Prometheus expects; with a metrics address it is served there only,
// so that it can be kept off the public listener.
func TestServeMetricsAddr(t *testing.T) {
	t.Parallel()
	t.Run("main address", func(t *testing.T) {
		t.Parallel()
		base := startServe(t, newCLI(t, "sqlite"))
		if status, body := get(t, base+"/metrics"); status != http.StatusOK || !strings.Contains(body, "relais_http_requests_total") {
			t.Errorf("/metrics without a token: %d\n%s", status, body)
		}
	})
	for _, how := range []string{"flag", "env"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t, "sqlite")
			addr := freeAddr(t)
			var extra []string
			if how == "flag" {
				extra = []string{"--metrics-addr", addr}
			} else {
				c.env["RELAIS_METRICS_ADDR"] = addr
			}
			base := startServe(t, c, extra...)
			if status, body := get(t, base+"/metrics"); status != http.StatusNotFound {
				t.Errorf("/metrics on the main address: %d\n%s", status, body)
			}
			if status, body := get(t, "http://"+addr+"/metrics"); status != http.StatusOK || !strings.Contains(body, "relais_http_requests_total") {
				t.Errorf("/metrics on the metrics address: %d\n%s", status, body)
			}
			if status, _ := get(t, "http://"+addr+"/v1/handoffs"); status != http.StatusNotFound {
				t.Errorf("the metrics address serves the API: %d", status)
			}
		})
	}
}
