package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/transfer"
)

var (
	_ transfer.Source = (*DB)(nil)
	_ transfer.Target = (*DB)(nil)
)

// ExportRows reads every row of t in one repeatable-read transaction, a
// consistent snapshot even while serve writes.
func (d *DB) ExportRows(ctx context.Context, t transfer.Table, each func(transfer.Row) error) error {
	op := "export " + t.Name
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		switch c.Kind {
		case transfer.Vector:
			exprs[i] = c.Name + "::real[]"
		case transfer.JSON:
			exprs[i] = c.Name + "::text"
		default:
			exprs[i] = c.Name
		}
	}
	order := ""
	if t.HasID {
		order = " ORDER BY id"
	}
	query := fmt.Sprintf("SELECT %s FROM %s%s", strings.Join(exprs, ", "), t.Name, order)
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			dest := make([]any, len(t.Columns))
			for i, c := range t.Columns {
				dest[i] = scanTarget(c.Kind)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			row := make(transfer.Row, len(t.Columns))
			for i, c := range t.Columns {
				row[i] = scanned(c.Kind, dest[i])
			}
			if err := each(row); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return dbError(op, err)
}

func scanTarget(k transfer.Kind) any {
	switch k {
	case transfer.Int:
		return new(pgtype.Int8)
	case transfer.Float:
		return new(pgtype.Float8)
	case transfer.Bool:
		return new(pgtype.Bool)
	case transfer.Time:
		return new(pgtype.Timestamptz)
	case transfer.Bytes:
		return new([]byte)
	case transfer.Strings:
		return new([]string)
	case transfer.Vector:
		return new([]float32)
	default: // Text, JSON
		return new(pgtype.Text)
	}
}

// scanned returns the value of kind k a scanTarget holds, nil for NULL.
func scanned(k transfer.Kind, v any) any {
	switch x := v.(type) {
	case *pgtype.Int8:
		if x.Valid {
			return x.Int64
		}
	case *pgtype.Float8:
		if x.Valid {
			return x.Float64
		}
	case *pgtype.Bool:
		if x.Valid {
			return x.Bool
		}
	case *pgtype.Timestamptz:
		if x.Valid {
			return x.Time.UTC()
		}
	case *[]byte:
		if *x != nil {
			return *x
		}
	case *[]string:
		if *x != nil {
			return *x
		}
	case *[]float32:
		if *x != nil {
			return *x
		}
	case *pgtype.Text:
		if x.Valid && k == transfer.JSON {
			return json.RawMessage(x.String)
		}
		if x.Valid {
			return x.String
		}
	}
	return nil
}

// CountRows counts the rows of t.
func (d *DB) CountRows(ctx context.Context, t transfer.Table) (int64, error) {
	var n int64
	err := d.pool.QueryRow(ctx, "SELECT count(*) FROM "+t.Name).Scan(&n)
	return n, dbError("count "+t.Name, err)
}

// ImportRows inserts rows of t, ids included, in one transaction. Chunks
// and examples get the text-search configuration of their language, as
// SaveArticle and SaveExamples give them.
func (d *DB) ImportRows(ctx context.Context, t transfer.Table, rows []transfer.Row) error {
	if t.Name == "chunks" || t.Name == "examples" {
		defer d.vectors.Invalidate() // after the commit: this process searches what it imported
	}
	mark := func(i int) string {
		if t.Columns[i].Kind == transfer.JSON {
			return fmt.Sprintf("$%d::jsonb", i+1)
		}
		return fmt.Sprintf("$%d", i+1)
	}
	var extra [][2]string
	withConfig := t.Name == "chunks" || t.Name == "examples"
	if withConfig {
		extra = append(extra, [2]string{"ts_config", fmt.Sprintf("$%d::regconfig", len(t.Columns)+1)})
	}
	query := t.InsertSQL(mark, extra...)
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var languageOf map[int64]string // a chunk's article's language
		if t.Name == "chunks" {
			var err error
			if languageOf, err = articleLanguages(ctx, tx, t, rows); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		for _, r := range rows {
			args := make([]any, 0, len(t.Columns)+1)
			for i, c := range t.Columns {
				if err := transfer.Value(c.Kind, r[i]); err != nil {
					return fmt.Errorf("column %s: %w", c.Name, err)
				}
				args = append(args, toArg(c.Kind, r[i]))
			}
			if withConfig {
				args = append(args, knowledge.TextSearchConfig(rowLanguage(t, r, languageOf)))
			}
			b.Queue(query, args...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return dbError("import "+t.Name, err)
}

func toArg(k transfer.Kind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case transfer.Vector:
		return vectorArg(v.([]float32))
	case transfer.JSON:
		return string(v.(json.RawMessage))
	case transfer.Time:
		return v.(time.Time)
	}
	return v
}

// articleLanguages reads the language of the articles the chunk rows
// belong to.
func articleLanguages(ctx context.Context, tx pgx.Tx, t transfer.Table, rows []transfer.Row) (map[int64]string, error) {
	col := columnIndex(t, "article_id")
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		if id, ok := r[col].(int64); ok {
			ids = append(ids, id)
		}
	}
	out := make(map[int64]string, len(ids))
	rs, err := tx.Query(ctx, "SELECT id, language FROM articles WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	var (
		id   int64
		lang string
	)
	_, err = pgx.ForEachRow(rs, []any{&id, &lang}, func() error {
		out[id] = lang
		return nil
	})
	return out, err
}

// rowLanguage is the language whose text-search configuration indexes a
// chunk (its article's) or an example (its own).
func rowLanguage(t transfer.Table, r transfer.Row, languageOf map[int64]string) string {
	if languageOf != nil {
		id, _ := r[columnIndex(t, "article_id")].(int64)
		return languageOf[id]
	}
	lang, _ := r[columnIndex(t, "language")].(string)
	return lang
}

func columnIndex(t transfer.Table, name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	panic(fmt.Sprintf("postgres: table %s has no column %s", t.Name, name))
}

// FinishImport moves every id sequence past the ids imported, so that the
// next row inserted does not collide with a copied one.
func (d *DB) FinishImport(ctx context.Context) error {
	for _, t := range transfer.Tables {
		if !t.HasID {
			continue
		}
		_, err := d.pool.Exec(ctx, fmt.Sprintf(
			`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), coalesce((SELECT max(id) FROM %[1]s), 1), (SELECT max(id) FROM %[1]s) IS NOT NULL)`, t.Name))
		if err != nil {
			return dbError("advance the id sequence of "+t.Name, err)
		}
	}
	return nil
}
