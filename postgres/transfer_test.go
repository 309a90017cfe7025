package postgres

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/transfer"
)

// TestTransferCoversEveryTable fails when a migration adds a table or a
// column that a store move would leave behind.
func TestTransferCoversEveryTable(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	derived := []string{"schema_migrations", "embedding_space", "vector_version"} // recorded by the target itself
	rows, err := db.pool.Query(t.Context(),
		`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var table, column string
	_, err = pgx.ForEachRow(rows, []any{&table, &column}, func() error {
		if slices.Contains(derived, table) {
			return nil
		}
		i := slices.IndexFunc(transfer.Tables, func(tab transfer.Table) bool { return tab.Name == table })
		if i < 0 {
			t.Errorf("table %s is neither moved by transfer.Tables nor derived", table)
			return nil
		}
		if !slices.ContainsFunc(transfer.Tables[i].Columns, func(c transfer.Column) bool { return c.Name == column }) {
			t.Errorf("column %s.%s is not moved by transfer.Tables", table, column)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
