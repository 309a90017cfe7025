package handoff

import (
	"errors"
	"testing"
	"time"

	"github.com/relais-ai/relais"
)

func TestParseRouting(t *testing.T) {
	t.Parallel()
	r, err := ParseRouting(" sensitive:fraud=fraud ; intent:human_request=general;topic:billing=billing;default=care ")
	if err != nil {
		t.Fatal(err)
	}
	if r.SensitiveTopics["fraud"] != "fraud" || r.Intents["human_request"] != "general" || r.ArticleTopics["billing"] != "billing" || r.Default != "care" {
		t.Errorf("routing = %+v", r)
	}
	if r, err := ParseRouting(""); err != nil || r.Default != "" || r.Intents != nil {
		t.Errorf("empty routing = %+v, %v", r, err)
	}
	for _, bad := range []string{"fraud=x", "sensitive:fraud", "sensitive:fraud=Bad Queue", "colour:red=x", "intent:=x"} {
		if _, err := ParseRouting(bad); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("ParseRouting(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseSLA(t *testing.T) {
	t.Parallel()
	sla, err := ParseSLA("urgent=5m; normal=2h")
	if err != nil {
		t.Fatal(err)
	}
	if sla[Urgent] != 5*time.Minute || sla[Normal] != 2*time.Hour || sla[High] != 0 {
		t.Errorf("sla = %v", sla)
	}
	for _, bad := range []string{"urgent", "urgent=soon", "urgent=-1m", "asap=1m"} {
		if _, err := ParseSLA(bad); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("ParseSLA(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}
