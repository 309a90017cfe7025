package knowledge

import (
	"errors"
	"math"
	"testing"

	"github.com/relais-ai/relais"
)

func TestValidateExample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		e     Example
		valid bool
	}{
		{"labelled", Example{Text: "where is my parcel", ArticleID: "faq:shipping", Source: "history.csv"}, true},
		{"handoff", Example{Text: "I want a person", ArticleID: HandoffLabel, Source: "history.csv"}, true},
		{"empty text", Example{Source: "history.csv"}, false},
		{"blank text", Example{Text: " \t\n", Source: "history.csv"}, false},
		{"no source", Example{Text: "where is my parcel"}, false},
	}
	for _, tt := range tests {
		err := ValidateExample(tt.e)
		if tt.valid && err != nil {
			t.Errorf("%s: %v, want no error", tt.name, err)
		}
		if !tt.valid && !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestValidateCalibration(t *testing.T) {
	t.Parallel()
	ok := Calibration{Threshold: 0.6, MaxWrongRate: 0.05, Samples: 10, Examples: 12,
		EstimatedResolution: 0.7, EstimatedWrongRate: 0.04, Model: map[string]float64{"bias": -1.5}}
	tests := []struct {
		name   string
		change func(*Calibration)
		valid  bool
	}{
		{"complete", func(*Calibration) {}, true},
		{"zero", func(c *Calibration) { *c = Calibration{} }, true},
		{"NaN threshold", func(c *Calibration) { c.Threshold = math.NaN() }, false},
		{"infinite max wrong rate", func(c *Calibration) { c.MaxWrongRate = math.Inf(1) }, false},
		{"NaN resolution", func(c *Calibration) { c.EstimatedResolution = math.NaN() }, false},
		{"infinite wrong rate", func(c *Calibration) { c.EstimatedWrongRate = math.Inf(-1) }, false},
		{"NaN model parameter", func(c *Calibration) { c.Model = map[string]float64{"bias": math.NaN()} }, false},
		{"negative samples", func(c *Calibration) { c.Samples = -1 }, false},
		{"negative examples", func(c *Calibration) { c.Examples = -1 }, false},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		err := ValidateCalibration(c)
		if tt.valid && err != nil {
			t.Errorf("%s: %v, want no error", tt.name, err)
		}
		if !tt.valid && !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
}
