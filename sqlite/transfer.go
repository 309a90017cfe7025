package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/relais-ai/relais/transfer"
)

var (
	_ transfer.Source = (*DB)(nil)
	_ transfer.Target = (*DB)(nil)
)

// ExportRows reads every row of t in one read transaction, so the rows
// are a consistent snapshot even while serve writes.
func (db *DB) ExportRows(ctx context.Context, t transfer.Table, each func(transfer.Row) error) error {
	op := "export " + t.Name
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return wrapErr(op, err)
	}
	defer tx.Rollback()
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	order := "rowid"
	if t.HasID {
		order = "id"
	}
	rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", strings.Join(names, ", "), t.Name, order))
	if err != nil {
		return wrapErr(op, err)
	}
	defer rows.Close()
	raw := make([]any, len(t.Columns))
	ptrs := make([]any, len(t.Columns))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return wrapErr(op, err)
		}
		row := make(transfer.Row, len(t.Columns))
		for i, c := range t.Columns {
			v, err := fromColumn(c.Kind, raw[i])
			if err == nil {
				err = transfer.Value(c.Kind, v)
			}
			if err != nil {
				return fmt.Errorf("%s: column %s: %w", op, c.Name, err)
			}
			row[i] = v
		}
		if err := each(row); err != nil {
			return err
		}
	}
	return wrapErr(op, rows.Err())
}

// fromColumn turns what the driver read into the value of kind k.
func fromColumn(k transfer.Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	text := func() (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case []byte:
			return string(x), true
		}
		return "", false
	}
	switch k {
	case transfer.Int:
		return v, nil
	case transfer.Float:
		if i, ok := v.(int64); ok {
			return float64(i), nil
		}
		return v, nil
	case transfer.Text:
		if s, ok := text(); ok {
			return s, nil
		}
	case transfer.Bytes:
		switch x := v.(type) {
		case []byte:
			return append([]byte{}, x...), nil
		case string:
			return []byte(x), nil
		}
	case transfer.Bool:
		if i, ok := v.(int64); ok {
			return i != 0, nil
		}
	case transfer.Time:
		if s, ok := text(); ok {
			return time.Parse(time.RFC3339Nano, s)
		}
	case transfer.Strings:
		if s, ok := text(); ok {
			ss, err := decodeStrings(s)
			if ss == nil {
				ss = []string{}
			}
			return ss, err
		}
	case transfer.Vector:
		if b, ok := v.([]byte); ok {
			return appendVector(make([]float32, 0, len(b)/4), b), nil
		}
	case transfer.JSON:
		if s, ok := text(); ok {
			return json.RawMessage(s), nil
		}
	}
	return nil, fmt.Errorf("cannot read a %T as kind %d", v, k)
}

// toColumn turns a value of kind k into what this store keeps.
func toColumn(k transfer.Kind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case transfer.Bool:
		if v.(bool) {
			return 1
		}
		return 0
	case transfer.Time:
		return formatTime(v.(time.Time))
	case transfer.Strings:
		return encodeStrings(v.([]string))
	case transfer.Vector:
		return encodeVector(v.([]float32))
	case transfer.JSON:
		return string(v.(json.RawMessage))
	}
	return v
}

// CountRows counts the rows of t.
func (db *DB) CountRows(ctx context.Context, t transfer.Table) (int64, error) {
	var n int64
	err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM "+t.Name).Scan(&n)
	return n, wrapErr("count "+t.Name, err)
}

// ImportRows inserts rows of t, ids included, in one write transaction.
// The index's version triggers count them as any insert.
func (db *DB) ImportRows(ctx context.Context, t transfer.Table, rows []transfer.Row) error {
	query := t.InsertSQL(func(int) string { return "?" })
	return db.write(ctx, "import "+t.Name, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		args := make([]any, len(t.Columns))
		for _, r := range rows {
			for i, c := range t.Columns {
				if err := transfer.Value(c.Kind, r[i]); err != nil {
					return fmt.Errorf("column %s: %w", c.Name, err)
				}
				args[i] = toColumn(c.Kind, r[i])
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// FinishImport has nothing to bring up to date: SQLite numbers new rows
// past the largest id, and the vector index reloads on the version the
// triggers bumped.
func (db *DB) FinishImport(ctx context.Context) error { return nil }
