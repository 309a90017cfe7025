// Package transfer moves everything a Relais store holds into another
// store, of the same kind or the other: a shop that outgrew the embedded
// store moves to PostgreSQL, and back, losing nothing.
//
// The tables and their columns are listed here once, with the kind of value
// each holds; each store reads and writes its own representation of those
// kinds (a timestamp is text in the embedded store, timestamptz in
// PostgreSQL; an embedding a little-endian blob or a pgvector). Rows keep
// their ids, so every reference between them survives the move. What a
// store derives from its rows (full-text indexes, vector indexes, id
// sequences) it rebuilds itself.
package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

// Kind is the kind of value a column holds, whatever a store makes of it.
type Kind uint8

// The kinds, and the Go type a Row holds for each (nil for NULL).
const (
	Int     Kind = iota // int64
	Float               // float64
	Text                // string
	Bytes               // []byte
	Bool                // bool
	Time                // time.Time
	Strings             // []string
	Vector              // []float32
	JSON                // json.RawMessage
)

// Column is one column of a table.
type Column struct {
	Name string
	Kind Kind
}

// Table is one table to move. HasID says its rows are numbered by a
// sequence that the target must move past the ids copied. ReplaceOn names
// the unique column of a table whose rows a store's trigger already wrote
// when their parent row was imported (an outbox row for each reply): the
// copied row replaces that one.
type Table struct {
	Name      string
	Columns   []Column
	HasID     bool
	ReplaceOn string
}

// InsertSQL is the statement that imports a row of t, with marks(i) the
// placeholder of column i: an upsert on ReplaceOn where t has one.
func (t Table) InsertSQL(marks func(i int) string) string {
	names := make([]string, 0, len(t.Columns))
	values := make([]string, 0, len(t.Columns))
	for i, c := range t.Columns {
		names, values = append(names, c.Name), append(values, marks(i))
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.Name, strings.Join(names, ", "), strings.Join(values, ", "))
	if t.ReplaceOn != "" {
		set := make([]string, 0, len(names))
		for _, n := range names {
			if n != t.ReplaceOn {
				set = append(set, n+" = excluded."+n)
			}
		}
		q += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", t.ReplaceOn, strings.Join(set, ", "))
	}
	return q
}

// Row is a table's row: one value per column, in column order.
type Row []any

func cols(spec ...any) []Column {
	out := make([]Column, 0, len(spec)/2)
	for i := 0; i < len(spec); i += 2 {
		out = append(out, Column{Name: spec[i].(string), Kind: spec[i+1].(Kind)})
	}
	return out
}

// Tables lists every table a store keeps data in, each after the tables
// its rows refer to. The embedding space is not among them: the target
// records the source's space first, since it types the vector columns.
var Tables = []Table{
	{Name: "articles", HasID: true, Columns: cols("id", Int, "external_id", Text, "title", Text, "body", Text,
		"language", Text, "topic", Text, "tags", Strings, "phrasings", Strings, "source", Text,
		"content_hash", Text, "version", Int, "created_at", Time, "updated_at", Time)},
	{Name: "chunks", HasID: true, Columns: cols("id", Int, "article_id", Int, "ordinal", Int, "kind", Text,
		"heading", Text, "text", Text, "embedding", Vector)},
	{Name: "examples", HasID: true, Columns: cols("id", Int, "content_key", Bytes, "text", Text, "article_id", Text,
		"source", Text, "language", Text, "embedding", Vector, "created_at", Time)},
	{Name: "calibrations", HasID: true, Columns: cols("id", Int, "threshold", Float, "max_wrong_rate", Float,
		"samples", Int, "examples", Int, "estimated_resolution", Float, "estimated_wrong_rate", Float,
		"model", JSON, "classifier", Bytes, "method", Text, "embedding_model", Text, "created_at", Time)},
	{Name: "api_tokens", HasID: true, Columns: cols("id", Int, "name", Text, "role", Text, "digest", Bytes,
		"created_at", Time, "revoked_at", Time)},
	{Name: "signing_keys", Columns: cols("purpose", Text, "generation", Int, "secret", Bytes,
		"created_at", Time, "expires_at", Time)},
	{Name: "conversations", HasID: true, Columns: cols("id", Int, "channel", Text, "customer_id", Text,
		"state", Text, "language", Text, "failures", Int, "awaiting_feedback", Bool, "agent_id", Text,
		"created_at", Time, "updated_at", Time)},
	{Name: "messages", HasID: true, Columns: cols("id", Int, "conversation_id", Int, "role", Text, "text", Text,
		"agent_id", Text, "channel", Text, "channel_message_id", Text, "pending_until", Time, "created_at", Time)},
	{Name: "handoff_tickets", HasID: true, Columns: cols("id", Int, "conversation_id", Int, "state", Text,
		"reason", Text, "intent", Text, "topic", Text, "queue", Text, "priority", Int, "summary", Text,
		"articles", Strings, "agent_id", Text, "claim_expires_at", Time, "due_at", Time, "closed_at", Time,
		"created_at", Time, "updated_at", Time, "resolution_note", Text, "resolution_article", Text)},
	{Name: "decisions", HasID: true, Columns: cols("id", Int, "conversation_id", Int, "message_id", Int,
		"reply_id", Int, "action", Text, "reason", Text, "intent", Text, "confidence", Float,
		"sources", Strings, "ticket_id", Int, "trace", JSON, "created_at", Time)},
	{Name: "transitions", HasID: true, Columns: cols("id", Int, "conversation_id", Int, "from_state", Text,
		"to_state", Text, "reason", Text, "actor", Text, "at", Time)},
	{Name: "knowledge_drafts", HasID: true, Columns: cols("id", Int, "ticket_id", Int, "title", Text,
		"question", Text, "body", Text, "language", Text, "article_id", Text, "status", Text,
		"author", Text, "approver", Text, "created_at", Time, "updated_at", Time)},
	{Name: "outbox", HasID: true, ReplaceOn: "message_id", Columns: cols("id", Int, "conversation_id", Int, "message_id", Int,
		"channel", Text, "recipient", Text, "text", Text, "language", Text, "ask_feedback", Bool,
		"status", Text, "attempts", Int, "next_attempt_at", Time, "last_error", Text,
		"provider_message_id", Text, "sent_at", Time, "created_at", Time)},
	{Name: "message_media", Columns: cols("message_id", Int, "conversation_id", Int, "kind", Text,
		"provider_id", Text, "mime_type", Text, "filename", Text, "size", Int, "status", Text,
		"attempts", Int, "last_error", Text, "content", Bytes, "created_at", Time, "updated_at", Time)},
	{Name: "customers", Columns: cols("channel", Text, "customer_id", Text, "phone", Text,
		"last_inbound_at", Time, "consent_at", Time, "opted_out", Bool, "opt_out_message_id", Int)},
	{Name: "agent_presence", Columns: cols("agent_id", Text, "status", Text, "seen_at", Time)},
	{Name: "quick_replies", HasID: true, Columns: cols("id", Int, "shortcut", Text, "text", Text,
		"created_at", Time, "updated_at", Time)},
	{Name: "labels", HasID: true, Columns: cols("id", Int, "name", Text, "created_at", Time)},
	{Name: "conversation_labels", Columns: cols("conversation_id", Int, "label_id", Int)},
	{Name: "delivery_statuses", Columns: cols("channel", Text, "provider_message_id", Text, "status", Text,
		"rank", Int, "error_code", Int, "at", Time)},
}

// Source is a store read from.
type Source interface {
	// EmbeddingSpace returns the recorded space; relais.ErrNotFound when
	// none is (nothing was ever embedded).
	EmbeddingSpace(ctx context.Context) (knowledge.EmbeddingSpace, error)
	// ExportRows calls each with every row of t, in id order where t has
	// ids, within one consistent snapshot of the table.
	ExportRows(ctx context.Context, t Table, each func(Row) error) error
}

// Target is a store written to.
type Target interface {
	SetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error
	// CountRows counts the rows of t.
	CountRows(ctx context.Context, t Table) (int64, error)
	// ImportRows inserts rows of t as they are, ids included, in one
	// transaction.
	ImportRows(ctx context.Context, t Table, rows []Row) error
	// FinishImport brings what the store derives from its rows up to date
	// (id sequences past the ids copied).
	FinishImport(ctx context.Context) error
}

// Count is how many rows of a table were moved.
type Count struct {
	Table string
	Rows  int64
}

// Options tune a Copy.
type Options struct {
	// BatchRows is how many rows go in one transaction; 500 when 0.
	BatchRows int
	// Progress, when set, is called after each batch with the table and the
	// rows of it moved so far.
	Progress func(table string, rows int64)
}

// ErrTargetNotEmpty is returned (wrapping relais.ErrConflict) when the
// target already holds data: a move into a store in use would mix two
// shops' ids.
var ErrTargetNotEmpty = fmt.Errorf("the target store is not empty: %w", relais.ErrConflict)

// Copy moves every row of every table from src into dst, which must be
// empty, and checks that dst then holds as many rows of each table as src
// gave. It returns the counts by table, in Tables order. A copy that fails
// midway leaves dst partly filled: empty it (or start from a new one)
// before trying again; src is only read.
func Copy(ctx context.Context, src Source, dst Target, opts Options) ([]Count, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 500
	}
	if err := checkEmpty(ctx, dst); err != nil {
		return nil, err
	}
	if err := copyEmbeddingSpace(ctx, src, dst); err != nil {
		return nil, err
	}
	counts := make([]Count, 0, len(Tables))
	for _, t := range Tables {
		moved, err := copyTable(ctx, src, dst, t, opts)
		if err != nil {
			return counts, fmt.Errorf("transfer: %s: %w", t.Name, err)
		}
		counts = append(counts, Count{Table: t.Name, Rows: moved})
	}
	if err := dst.FinishImport(ctx); err != nil {
		return counts, fmt.Errorf("transfer: finish: %w", err)
	}
	return counts, verifyCounts(ctx, dst, counts)
}

// checkEmpty is ErrTargetNotEmpty when any table of dst holds a row.
func checkEmpty(ctx context.Context, dst Target) error {
	for _, t := range Tables {
		n, err := dst.CountRows(ctx, t)
		if err != nil {
			return fmt.Errorf("transfer: count %s in the target: %w", t.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s has %d rows; move into a new data directory or an empty database", ErrTargetNotEmpty, t.Name, n)
		}
	}
	return nil
}

// copyEmbeddingSpace records src's embedding space in dst, so that dst types
// the vectors it receives by it.
func copyEmbeddingSpace(ctx context.Context, src Source, dst Target) error {
	space, err := src.EmbeddingSpace(ctx)
	switch {
	case err == nil:
		if err := dst.SetEmbeddingSpace(ctx, space); err != nil {
			return fmt.Errorf("transfer: record the embedding space %s/%d in the target: %w", space.Model, space.Dimensions, err)
		}
	case errors.Is(err, relais.ErrNotFound):
		// Nothing embedded yet: nothing to type the vectors by.
	default:
		return fmt.Errorf("transfer: read the embedding space: %w", err)
	}
	return nil
}

// copyTable moves the rows of t from src to dst in batches of
// opts.BatchRows, and returns how many it moved.
func copyTable(ctx context.Context, src Source, dst Target, t Table, opts Options) (int64, error) {
	var moved int64
	batch := make([]Row, 0, opts.BatchRows)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.ImportRows(ctx, t, batch); err != nil {
			return fmt.Errorf("transfer: write %s rows %d to %d: %w", t.Name, moved+1, moved+int64(len(batch)), err)
		}
		moved += int64(len(batch))
		batch = batch[:0]
		if opts.Progress != nil {
			opts.Progress(t.Name, moved)
		}
		return nil
	}
	err := src.ExportRows(ctx, t, func(r Row) error {
		if len(r) != len(t.Columns) {
			return fmt.Errorf("transfer: %s row has %d values for %d columns", t.Name, len(r), len(t.Columns))
		}
		batch = append(batch, r)
		if len(batch) == opts.BatchRows {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return moved, err
}

// verifyCounts checks that dst holds as many rows of each table as were
// read from the source.
func verifyCounts(ctx context.Context, dst Target, counts []Count) error {
	for _, c := range counts {
		t := tableNamed(c.Table)
		n, err := dst.CountRows(ctx, t)
		if err != nil {
			return fmt.Errorf("transfer: count %s in the target: %w", t.Name, err)
		}
		if n != c.Rows {
			return fmt.Errorf("transfer: %s: the target holds %d rows, %d were read: %w", t.Name, n, c.Rows, relais.ErrConflict)
		}
	}
	return nil
}

func tableNamed(name string) Table {
	for _, t := range Tables {
		if t.Name == name {
			return t
		}
	}
	panic("transfer: unknown table " + name)
}

// Value checks that v is what a column of kind k holds in a Row, so that a
// store's exporter that hands over the wrong type fails loudly, not in the
// other store's driver. Stores call it on what they read.
func Value(k Kind, v any) error {
	if v == nil {
		return nil
	}
	ok := false
	switch k {
	case Int:
		_, ok = v.(int64)
	case Float:
		_, ok = v.(float64)
	case Text:
		_, ok = v.(string)
	case Bytes:
		_, ok = v.([]byte)
	case Bool:
		_, ok = v.(bool)
	case Time:
		_, ok = v.(time.Time)
	case Strings:
		_, ok = v.([]string)
	case Vector:
		_, ok = v.([]float32)
	case JSON:
		_, ok = v.(json.RawMessage)
	}
	if !ok {
		return fmt.Errorf("a %T where kind %d is expected: %w", v, k, relais.ErrInvalid)
	}
	return nil
}
