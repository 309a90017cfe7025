package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/auth"
)

var _ auth.Store = (*DB)(nil)

const tokenColumns = `id, name, role, created_at, revoked_at`

func scanToken(row pgx.Row) (auth.Token, error) {
	var (
		t       auth.Token
		role    string
		revoked *time.Time
	)
	if err := row.Scan(&t.ID, &t.Name, &role, &t.CreatedAt, &revoked); err != nil {
		return auth.Token{}, err
	}
	t.Role = auth.Role(role)
	if revoked != nil {
		t.RevokedAt = *revoked
	}
	return t, nil
}

// CreateToken stores a token's digest; see auth.Store.
func (d *DB) CreateToken(ctx context.Context, name string, role auth.Role, digest auth.Digest) (auth.Token, error) {
	op := fmt.Sprintf("create %s token %q", role, name)
	if err := auth.ValidateNew(name, role); err != nil {
		return auth.Token{}, fmt.Errorf("%s: %w", op, err)
	}
	t, err := scanToken(d.pool.QueryRow(ctx, `INSERT INTO api_tokens (name, role, digest, created_at)
VALUES ($1, $2, $3, $4) RETURNING `+tokenColumns, name, string(role), digest[:], d.now()))
	if err != nil {
		return auth.Token{}, dbError(op, err)
	}
	return t, nil
}

// TokenByDigest finds an unrevoked token; see auth.Store.
func (d *DB) TokenByDigest(ctx context.Context, digest auth.Digest) (auth.Token, error) {
	t, err := scanToken(d.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens
WHERE digest = $1 AND revoked_at IS NULL`, digest[:]))
	if err != nil {
		// The digest stays out of the message: it is as good as the token
		// for finding the row.
		return auth.Token{}, dbError("look up token", err)
	}
	return t, nil
}

// Tokens lists every token; see auth.Store.
func (d *DB) Tokens(ctx context.Context) ([]auth.Token, error) {
	const op = "list tokens"
	rows, err := d.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, dbError(op, err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auth.Token, error) { return scanToken(row) })
	if err != nil {
		return nil, dbError(op, err)
	}
	return ts, nil
}

// ActiveTokensNamed lists the unrevoked tokens of name; see auth.Store.
func (d *DB) ActiveTokensNamed(ctx context.Context, name string) ([]auth.Token, error) {
	op := fmt.Sprintf("list tokens of %q", name)
	rows, err := d.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens
WHERE name = $1 AND revoked_at IS NULL ORDER BY id`, name)
	if err != nil {
		return nil, dbError(op, err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auth.Token, error) { return scanToken(row) })
	if err != nil {
		return nil, dbError(op, err)
	}
	return ts, nil
}

// RevokeToken stops a token from working; see auth.Store.
func (d *DB) RevokeToken(ctx context.Context, id int64) (auth.Token, error) {
	// COALESCE keeps the first revocation's time: revoking twice is a no-op.
	t, err := scanToken(d.pool.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2)
WHERE id = $1 RETURNING `+tokenColumns, id, d.now()))
	if err != nil {
		return auth.Token{}, dbError(fmt.Sprintf("revoke token %d", id), err)
	}
	return t, nil
}
