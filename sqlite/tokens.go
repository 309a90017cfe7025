package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/auth"
)

var _ auth.Store = (*DB)(nil)

const tokenColumns = `id, name, role, created_at, revoked_at`

func scanToken(r rowScanner) (auth.Token, error) {
	var (
		t       auth.Token
		role    string
		created string
		revoked sql.NullString
	)
	if err := r.Scan(&t.ID, &t.Name, &role, &created, &revoked); err != nil {
		return auth.Token{}, err
	}
	t.Role = auth.Role(role)
	var err error
	if t.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return auth.Token{}, fmt.Errorf("token %d created_at: %w", t.ID, err)
	}
	if revoked.Valid {
		if t.RevokedAt, err = time.Parse(time.RFC3339Nano, revoked.String); err != nil {
			return auth.Token{}, fmt.Errorf("token %d revoked_at: %w", t.ID, err)
		}
	}
	return t, nil
}

// CreateToken stores a token's digest; see auth.Store.
func (db *DB) CreateToken(ctx context.Context, name string, role auth.Role, d auth.Digest) (auth.Token, error) {
	op := fmt.Sprintf("create %s token %q", role, name)
	if err := auth.ValidateNew(name, role); err != nil {
		return auth.Token{}, fmt.Errorf("%s: %w", op, err)
	}
	var t auth.Token
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, role, digest, created_at)
			VALUES (?, ?, ?, ?) RETURNING `+tokenColumns, name, string(role), d[:], formatTime(db.now())))
		return err
	})
	if err != nil {
		return auth.Token{}, err
	}
	return t, nil
}

// TokenByDigest finds an unrevoked token; see auth.Store.
func (db *DB) TokenByDigest(ctx context.Context, d auth.Digest) (auth.Token, error) {
	const op = "look up token" // the digest stays out: it finds the row as well as the token does
	t, err := scanToken(db.reader.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE digest = ? AND revoked_at IS NULL`, d[:]))
	if err != nil {
		return auth.Token{}, rowErr(op, err)
	}
	return t, nil
}

// Tokens lists every token; see auth.Store.
func (db *DB) Tokens(ctx context.Context) ([]auth.Token, error) {
	const op = "list tokens"
	out, err := collectRows(ctx, db.reader, scanToken, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// ActiveTokensNamed lists the unrevoked tokens of name; see auth.Store.
func (db *DB) ActiveTokensNamed(ctx context.Context, name string) ([]auth.Token, error) {
	out, err := collectRows(ctx, db.reader, scanToken, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE name = ? AND revoked_at IS NULL ORDER BY id`, name)
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("list tokens of %q", name), err)
	}
	return out, nil
}

// RevokeToken stops a token from working; see auth.Store.
func (db *DB) RevokeToken(ctx context.Context, id int64) (auth.Token, error) {
	op := fmt.Sprintf("revoke token %d", id)
	var t auth.Token
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		// COALESCE keeps the first revocation's time: revoking twice is a no-op.
		t, err = scanToken(tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?)
			WHERE id = ? RETURNING `+tokenColumns, formatTime(db.now()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no such token: %w", relais.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return auth.Token{}, err
	}
	return t, nil
}
