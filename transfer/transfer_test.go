package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

// memStore is a store in memory: rows by table.
type memStore struct {
	space      *knowledge.EmbeddingSpace
	rows       map[string][]Row
	dropEvery  int // ImportRows keeps all but every dropEvery-th row (0: none dropped)
	finished   bool
	importErrs map[string]error
}

func (m *memStore) EmbeddingSpace(context.Context) (knowledge.EmbeddingSpace, error) {
	if m.space == nil {
		return knowledge.EmbeddingSpace{}, relais.ErrNotFound
	}
	return *m.space, nil
}

func (m *memStore) SetEmbeddingSpace(_ context.Context, s knowledge.EmbeddingSpace) error {
	m.space = &s
	return nil
}

func (m *memStore) ExportRows(_ context.Context, t Table, each func(Row) error) error {
	for _, r := range m.rows[t.Name] {
		if err := each(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) CountRows(_ context.Context, t Table) (int64, error) {
	return int64(len(m.rows[t.Name])), nil
}

func (m *memStore) ImportRows(_ context.Context, t Table, rows []Row) error {
	if err := m.importErrs[t.Name]; err != nil {
		return err
	}
	if m.rows == nil {
		m.rows = map[string][]Row{}
	}
	for i, r := range rows {
		if m.dropEvery > 0 && (i+1)%m.dropEvery == 0 {
			continue
		}
		m.rows[t.Name] = append(m.rows[t.Name], r)
	}
	return nil
}

func (m *memStore) FinishImport(context.Context) error {
	m.finished = true
	return nil
}

func articleRow(id int64) Row {
	return Row{id, "ext", "title", "body", "en", "", []string{}, []string{}, "src", "hash", int64(1), nil, nil}
}

func TestCopy(t *testing.T) {
	t.Parallel()
	space := knowledge.EmbeddingSpace{Model: "m", Dimensions: 4}
	src := &memStore{space: &space, rows: map[string][]Row{"articles": {articleRow(1), articleRow(2), articleRow(3)}}}
	dst := &memStore{}
	var progress []string
	counts, err := Copy(t.Context(), src, dst, Options{BatchRows: 2, Progress: func(table string, n int64) {
		progress = append(progress, table+":"+strings.Repeat("x", int(n)))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src.rows, dst.rows); diff != "" {
		t.Errorf("rows (-src +dst):\n%s", diff)
	}
	if dst.space == nil || *dst.space != space || !dst.finished {
		t.Errorf("space %v, finished %v", dst.space, dst.finished)
	}
	if len(counts) != len(Tables) || counts[0] != (Count{"articles", 3}) {
		t.Errorf("counts %v", counts)
	}
	if want := []string{"articles:xx", "articles:xxx"}; !cmp.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}

	// Into the same store again: refused, nothing written.
	if _, err := Copy(t.Context(), src, dst, Options{}); !errors.Is(err, ErrTargetNotEmpty) || !errors.Is(err, relais.ErrConflict) {
		t.Errorf("into a non-empty store: %v", err)
	}
	// A target that loses rows is caught by the counts.
	lossy := &memStore{dropEvery: 2}
	if _, err := Copy(t.Context(), src, lossy, Options{}); err == nil || !strings.Contains(err.Error(), "the target holds 2 rows, 3 were read") {
		t.Errorf("lossy target: %v", err)
	}
	// A failing write names the table and rows.
	failing := &memStore{importErrs: map[string]error{"articles": errors.New("disk full")}}
	if _, err := Copy(t.Context(), src, failing, Options{}); err == nil || !strings.Contains(err.Error(), "write articles rows 1 to 3: disk full") {
		t.Errorf("failing target: %v", err)
	}
	// A row of the wrong width is refused before it is written.
	bad := &memStore{rows: map[string][]Row{"articles": {{int64(1)}}}}
	if _, err := Copy(t.Context(), bad, &memStore{}, Options{}); err == nil || !strings.Contains(err.Error(), "1 values for 13 columns") {
		t.Errorf("short row: %v", err)
	}
}

func TestInsertSQL(t *testing.T) {
	t.Parallel()
	tab := Table{Name: "outbox", ReplaceOn: "message_id", Columns: []Column{{"id", Int}, {"message_id", Int}, {"text", Text}}}
	got := tab.InsertSQL(func(i int) string { return fmt.Sprintf("$%d", i+1) })
	want := "INSERT INTO outbox (id, message_id, text) VALUES ($1, $2, $3) ON CONFLICT (message_id) DO UPDATE SET id = excluded.id, text = excluded.text"
	if got != want {
		t.Errorf("InsertSQL:\n got %s\nwant %s", got, want)
	}
	tab.ReplaceOn = ""
	if got := tab.InsertSQL(func(i int) string { return "?" }); strings.Contains(got, "ON CONFLICT") {
		t.Errorf("without ReplaceOn: %s", got)
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	if err := Value(Int, "1"); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("a string as Int: %v", err)
	}
	for k, v := range map[Kind]any{Int: int64(1), Text: "a", Strings: []string{}, Vector: []float32{1}, Bool: true} {
		if err := Value(k, v); err != nil {
			t.Errorf("Value(%d, %v): %v", k, v, err)
		}
	}
	if err := Value(Time, nil); err != nil {
		t.Errorf("NULL: %v", err)
	}
}
