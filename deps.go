//go:build tools

package relais

import (
	_ "github.com/go-chi/chi/v5"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/kljensen/snowball"
	_ "github.com/pgvector/pgvector-go"
	_ "github.com/sashabaranov/go-openai"
	_ "github.com/sony/gobreaker/v2"
	_ "golang.org/x/net/html"
	_ "modernc.org/sqlite"
)
