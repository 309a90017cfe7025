package local

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/relais-ai/relais"
)

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func TestHashingEmbedderDeterministicAndNormalised(t *testing.T) {
	t.Parallel()
	e, err := NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Space(); got.Model != HashingModel || got.Dimensions != DefaultHashingDimensions {
		t.Fatalf("Space() = %+v", got)
	}
	vs, err := e.Embed(context.Background(), []string{"How do I cancel my order?", "How do I cancel my order?", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || len(vs[0]) != DefaultHashingDimensions {
		t.Fatalf("got %d vectors of %d dims", len(vs), len(vs[0]))
	}
	for i := range vs[0] {
		if vs[0][i] != vs[1][i] {
			t.Fatal("same text gave different vectors")
		}
	}
	var norm float64
	for _, x := range vs[0] {
		norm += float64(x) * float64(x)
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Errorf("norm^2 = %v, want 1", norm)
	}
	for _, x := range vs[2] {
		if x != 0 {
			t.Fatal("empty text should give the zero vector")
		}
	}
}

func TestHashingEmbedderSimilarity(t *testing.T) {
	t.Parallel()
	e, _ := NewHashingEmbedder(0)
	v := func(s string) []float32 { return e.Vector(s) }
	q := v("how can I cancel my order")
	related := []string{
		"I want to cancel the order I placed",
		"cancelling an order",
		"how do i cancle my ordr", // typos
	}
	unrelated := []string{
		"what is the weather in Paris tomorrow",
		"reset my password",
	}
	for _, r := range related {
		for _, u := range unrelated {
			if cr, cu := cosine(q, v(r)), cosine(q, v(u)); cr <= cu {
				t.Errorf("cos(q, %q) = %.3f not above cos(q, %q) = %.3f", r, cr, u, cu)
			}
		}
	}
	if c := cosine(v("Comment annuler ma commande"), v("annulation de commande")); c < 0.2 {
		t.Errorf("French paraphrase cosine %.3f, want >= 0.2", c)
	}
}

func TestNewHashingEmbedderRejectsBadDimensions(t *testing.T) {
	t.Parallel()
	for _, d := range []int{-1, 8, 20000} {
		if _, err := NewHashingEmbedder(d); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("NewHashingEmbedder(%d) error = %v, want ErrInvalid", d, err)
		}
	}
}

func TestEmbedHonoursCancel(t *testing.T) {
	t.Parallel()
	e, _ := NewHashingEmbedder(64)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkHashingEmbed(b *testing.B) {
	e, _ := NewHashingEmbedder(0)
	text := "We're sorry to hear you want to cancel your order. You can do this by going to your order details and clicking the 'Cancel Order' button."
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		e.Vector(text)
	}
}
