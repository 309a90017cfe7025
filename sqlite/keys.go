package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/relais-ai/relais/auth"
)

var _ auth.KeyStore = (*DB)(nil)

const keyColumns = `purpose, generation, secret, created_at, expires_at`

func scanKey(r rowScanner) (auth.SigningKey, error) {
	var (
		k       auth.SigningKey
		created string
		expires sql.NullString
	)
	if err := r.Scan(&k.Purpose, &k.Generation, &k.Secret, &created, &expires); err != nil {
		return auth.SigningKey{}, err
	}
	var err error
	if k.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return auth.SigningKey{}, fmt.Errorf("signing key %s/%d created_at: %w", k.Purpose, k.Generation, err)
	}
	if expires.Valid {
		if k.ExpiresAt, err = time.Parse(time.RFC3339Nano, expires.String); err != nil {
			return auth.SigningKey{}, fmt.Errorf("signing key %s/%d expires_at: %w", k.Purpose, k.Generation, err)
		}
	}
	return k, nil
}

// EnsureSigningKey stores the first key of purpose unless there is one; see
// auth.KeyStore.
func (db *DB) EnsureSigningKey(ctx context.Context, purpose string, secret []byte) (auth.SigningKey, error) {
	op := fmt.Sprintf("ensure a %q signing key", purpose)
	if err := auth.ValidateSigningKey(purpose, secret); err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	var k auth.SigningKey
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (purpose, generation, secret, created_at)
			VALUES (?, 1, ?, ?) ON CONFLICT DO NOTHING`, purpose, secret, formatTime(db.now())); err != nil {
			return err
		}
		var err error
		k, err = scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys
			WHERE purpose = ? ORDER BY generation DESC LIMIT 1`, purpose))
		return err
	})
	if err != nil {
		return auth.SigningKey{}, err
	}
	return k, nil
}

// RotateSigningKey stores purpose's next key; see auth.KeyStore.
func (db *DB) RotateSigningKey(ctx context.Context, purpose string, secret []byte, grace time.Duration) (auth.SigningKey, error) {
	op := fmt.Sprintf("rotate the %q signing key", purpose)
	if err := auth.ValidateRotation(purpose, secret, grace); err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	now := db.now()
	var k auth.SigningKey
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		// The new key first, then every older one ends with the grace,
		// as on PostgreSQL (writes are serialised here).
		var err error
		k, err = scanKey(tx.QueryRowContext(ctx, `INSERT INTO signing_keys (purpose, generation, secret, created_at)
			SELECT ?1, COALESCE(MAX(generation), 0) + 1, ?2, ?3 FROM signing_keys WHERE purpose = ?1
			RETURNING `+keyColumns, purpose, secret, formatTime(now)))
		if err != nil {
			return err
		}
		// Fixed-width times: the text minimum is the earlier time.
		_, err = tx.ExecContext(ctx, `UPDATE signing_keys SET expires_at = min(COALESCE(expires_at, ?1), ?1)
			WHERE purpose = ?2 AND generation < ?3`, formatTime(now.Add(grace)), purpose, k.Generation)
		return err
	})
	if err != nil {
		return auth.SigningKey{}, err
	}
	return k, nil
}

// SigningKeys lists purpose's keys that have not expired; see auth.KeyStore.
func (db *DB) SigningKeys(ctx context.Context, purpose string) ([]auth.SigningKey, error) {
	op := fmt.Sprintf("list the %q signing keys", purpose)
	out, err := collectRows(ctx, db.reader, scanKey, `SELECT `+keyColumns+` FROM signing_keys
		WHERE purpose = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY generation DESC`, purpose, formatTime(db.now()))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}
