package sqlite

import (
	"slices"
	"testing"

	"github.com/relais-ai/relais/transfer"
)

// TestTransferCoversEveryTable fails when a migration adds a table that a
// store move would leave behind: every table either moves or is derived
// from those that do.
func TestTransferCoversEveryTable(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	derived := []string{"schema_migrations", "embedding_space", "vector_version"} // recorded by the target itself
	rows, err := db.reader.QueryContext(t.Context(),
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		moved := slices.ContainsFunc(transfer.Tables, func(tab transfer.Table) bool { return tab.Name == name })
		if !moved && !slices.Contains(derived, name) {
			t.Errorf("table %s is neither moved by transfer.Tables nor derived", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
