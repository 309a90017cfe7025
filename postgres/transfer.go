package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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

// ImportRows inserts rows of t, ids included, in one transaction.
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
	query := t.InsertSQL(mark)
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rows {
			args := make([]any, 0, len(t.Columns))
			for i, c := range t.Columns {
				if err := transfer.Value(c.Kind, r[i]); err != nil {
					return fmt.Errorf("column %s: %w", c.Name, err)
				}
				args = append(args, toArg(c.Kind, r[i]))
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
