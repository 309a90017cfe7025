package knowledge

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/relais-ai/relais"
)

// The input rules every Store and ExampleStore shares, stated once so that
// stores can only differ in what their databases enforce; knowledge/storetest
// pins them down.

// ValidateArticle checks an article and its chunks for Store.SaveArticle,
// whatever the store holds. The error wraps relais.ErrInvalid for an empty
// ExternalID (the identity a save replaces by) and for a chunk whose Kind is
// not Passage or Question, with the chunk's index. Whether the embeddings fit
// is the store's to check, against the space it records.
func ValidateArticle(a Article, chunks []Chunk) error {
	if a.ExternalID == "" {
		return fmt.Errorf("empty external id: %w", relais.ErrInvalid)
	}
	for i, c := range chunks {
		if c.Kind != Passage && c.Kind != Question {
			return fmt.Errorf("chunk %d: kind %q is not %q or %q: %w",
				i, c.Kind, Passage, Question, relais.ErrInvalid)
		}
	}
	return nil
}

// MaxDimensions is the most dimensions an embedding space may have:
// pgvector's vector type holds no more, and a space one store could not
// record must not be recordable in the other.
const MaxDimensions = 16000

// Check reports what makes s impossible to record, for
// Store.SetEmbeddingSpace and Store.ResetEmbeddingSpace: the error wraps
// relais.ErrInvalid for an empty model name or a dimension outside 1 to
// MaxDimensions.
func (s EmbeddingSpace) Check() error {
	if s.Model == "" {
		return fmt.Errorf("embedding space: empty model name: %w", relais.ErrInvalid)
	}
	if s.Dimensions <= 0 || s.Dimensions > MaxDimensions {
		return fmt.Errorf("embedding space %q: %d dimensions, want 1 to %d: %w", s.Model, s.Dimensions, MaxDimensions, relais.ErrInvalid)
	}
	return nil
}

// Match reports whether vectors of space given may sit beside those of s,
// the space a store records: the error wraps relais.ErrConflict when the two
// differ in model or dimension, since vectors of two spaces cannot be
// compared.
func (s EmbeddingSpace) Match(given EmbeddingSpace) error {
	if s != given {
		return fmt.Errorf("the store holds embeddings of %s/%d, not %s/%d (reset the space to switch models): %w",
			s.Model, s.Dimensions, given.Model, given.Dimensions, relais.ErrConflict)
	}
	return nil
}

// MaxQueryBytes is how much of a message retrieval reads: a longer one is
// cut there before it is searched (the whole message is still stored for
// the agent; what a customer may send is conversation.MaxTextChars). It
// bounds a search query and a labelled example's text for the same reason:
// an example longer than that could never be matched whole.
const MaxQueryBytes = 4096

// QueryText is what retrieval reads of a message: text trimmed of
// surrounding space and cut at MaxQueryBytes, on a character boundary.
func QueryText(text string) string {
	text = strings.TrimSpace(text)
	if len(text) <= MaxQueryBytes {
		return text
	}
	n := MaxQueryBytes
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n]
}

// ValidateExampleText checks the text of a labelled example and returns it
// trimmed of surrounding space. The error wraps relais.ErrInvalid when it is
// empty or longer than MaxQueryBytes. Every way in (a file, the HTTP API, a
// resolved handoff, a store) applies this one rule.
func ValidateExampleText(text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", fmt.Errorf("empty text: %w", relais.ErrInvalid)
	case len(text) > MaxQueryBytes:
		return "", fmt.Errorf("text is %d bytes, longer than the %d retrieval reads: %w", len(text), MaxQueryBytes, relais.ErrInvalid)
	}
	return text, nil
}

// ValidateExample checks an example for ExampleStore.SaveExamples. The error
// wraps relais.ErrInvalid when its text fails ValidateExampleText, or when
// the source is empty: the source is how DeleteExamples finds an import's
// examples again. Whether the embedding fits is the store's to check,
// against the space it records.
func ValidateExample(e Example) error {
	if _, err := ValidateExampleText(e.Text); err != nil {
		return err
	}
	if e.Source == "" {
		return fmt.Errorf("empty source: %w", relais.ErrInvalid)
	}
	return nil
}

// ExampleKey is the identity ExampleStore.SaveExamples deduplicates on: the
// source, the label (ArticleID) and the text, already trimmed. Each field is
// length-prefixed so that no choice of fields can run into the next one and
// collide with another triple. Stores keep it as the unique key of an
// example, so changing it makes stored examples look new.
func ExampleKey(source, articleID, text string) []byte {
	h := sha256.New()
	for _, s := range []string{source, articleID, text} {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// EncodeModel writes a calibration's Model as stores keep it: a JSON
// object, {} when there are no parameters, so the stored value is always an
// object. A parameter that JSON cannot hold (ValidateCalibration refuses
// those first) is relais.ErrInvalid.
func EncodeModel(m map[string]float64) ([]byte, error) {
	if len(m) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode model: %w: %w", relais.ErrInvalid, err)
	}
	return b, nil
}

// DecodeModel reads what EncodeModel wrote; nil for an empty object, so a
// calibration saved with a nil or an empty Model reads back the same.
func DecodeModel(b []byte) (map[string]float64, error) {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// MaxClassifierBytes bounds a calibration's classifier: a few thousand
// articles over 1,536-dimension embeddings.
const MaxClassifierBytes = 64 << 20

// ValidateCalibration checks a calibration for ExampleStore.SaveCalibration.
// The error wraps relais.ErrInvalid when a rate, the threshold or a Model
// parameter is NaN or infinite (stores keep Model as JSON, which has neither,
// so it could not be given back as it was given) or when Samples or Examples
// is negative, which only a bug upstream can produce; it wraps
// relais.ErrTooLarge when the classifier is over MaxClassifierBytes.
func ValidateCalibration(c Calibration) error {
	for _, f := range []struct {
		name string
		x    float64
	}{
		{"threshold", c.Threshold}, {"max wrong rate", c.MaxWrongRate},
		{"estimated resolution", c.EstimatedResolution}, {"estimated wrong rate", c.EstimatedWrongRate},
	} {
		if math.IsNaN(f.x) || math.IsInf(f.x, 0) {
			return fmt.Errorf("%s is %v: %w", f.name, f.x, relais.ErrInvalid)
		}
	}
	for name, x := range c.Model {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("model parameter %q is %v: %w", name, x, relais.ErrInvalid)
		}
	}
	if len(c.Classifier) > MaxClassifierBytes {
		return fmt.Errorf("classifier of %d bytes is over the %d limit: %w", len(c.Classifier), MaxClassifierBytes, relais.ErrTooLarge)
	}
	if c.Samples < 0 || c.Examples < 0 {
		return fmt.Errorf("samples %d, examples %d: counts cannot be negative: %w", c.Samples, c.Examples, relais.ErrInvalid)
	}
	return nil
}
