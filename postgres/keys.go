package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/auth"
)

var _ auth.KeyStore = (*DB)(nil)

const keyColumns = `purpose, generation, secret, created_at, expires_at`

func scanKey(row pgx.Row) (auth.SigningKey, error) {
	var (
		k       auth.SigningKey
		expires *time.Time
	)
	if err := row.Scan(&k.Purpose, &k.Generation, &k.Secret, &k.CreatedAt, &expires); err != nil {
		return auth.SigningKey{}, err
	}
	if expires != nil {
		k.ExpiresAt = *expires
	}
	return k, nil
}

// EnsureSigningKey stores the first key of purpose unless there is one; see
// auth.KeyStore.
func (d *DB) EnsureSigningKey(ctx context.Context, purpose string, secret []byte) (auth.SigningKey, error) {
	op := fmt.Sprintf("ensure a %q signing key", purpose)
	if err := auth.ValidateSigningKey(purpose, secret); err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	// Two replicas inserting at once: the primary key lets one in, the
	// other waits for its commit and does nothing.
	if _, err := d.pool.Exec(ctx, `INSERT INTO signing_keys (purpose, generation, secret, created_at)
VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING`, purpose, secret, d.now()); err != nil {
		return auth.SigningKey{}, dbError(op, err)
	}
	k, err := scanKey(d.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys
WHERE purpose = $1 ORDER BY generation DESC LIMIT 1`, purpose))
	if err != nil {
		return auth.SigningKey{}, dbError(op, err)
	}
	return k, nil
}

// RotateSigningKey stores purpose's next key; see auth.KeyStore.
func (d *DB) RotateSigningKey(ctx context.Context, purpose string, secret []byte, grace time.Duration) (auth.SigningKey, error) {
	op := fmt.Sprintf("rotate the %q signing key", purpose)
	if err := auth.ValidateRotation(purpose, secret, grace); err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	now := d.now()
	var k auth.SigningKey
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// The new key first: a rotation racing this one computes the same
		// generation, and the primary key refuses the second
		// (relais.ErrConflict). Then every older key, the one a racing
		// rotation may just have added included, ends with the grace.
		var err error
		k, err = scanKey(tx.QueryRow(ctx, `INSERT INTO signing_keys (purpose, generation, secret, created_at)
SELECT $1, COALESCE(MAX(generation), 0) + 1, $2, $3 FROM signing_keys WHERE purpose = $1
RETURNING `+keyColumns, purpose, secret, now))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE signing_keys SET expires_at = LEAST(COALESCE(expires_at, $2), $2)
WHERE purpose = $1 AND generation < $3`, purpose, now.Add(grace), k.Generation)
		return err
	})
	if err != nil {
		return auth.SigningKey{}, dbError(op, err)
	}
	return k, nil
}

// SigningKeys lists purpose's keys that have not expired; see auth.KeyStore.
func (d *DB) SigningKeys(ctx context.Context, purpose string) ([]auth.SigningKey, error) {
	op := fmt.Sprintf("list the %q signing keys", purpose)
	rows, err := d.pool.Query(ctx, `SELECT `+keyColumns+` FROM signing_keys
WHERE purpose = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY generation DESC`, purpose, d.now())
	if err != nil {
		return nil, dbError(op, err)
	}
	ks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auth.SigningKey, error) { return scanKey(row) })
	if err != nil {
		return nil, dbError(op, err)
	}
	return ks, nil
}
