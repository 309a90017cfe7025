package server

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"

	"github.com/relais-ai/relais"
)

// consoleFiles is the agent console: one page, a script and a style sheet,
// served as they are. No build step and nothing fetched from elsewhere, so
// the console works on an offline network and its CSP can be strict.
//
//go:embed console
var consoleFiles embed.FS

// ConsolePath is where the console's page is served; GET / redirects there.
const ConsolePath = "/console/"

// consoleCSP keeps the console to its own files: customer text that slips
// past the escaping still cannot load or run anything. Images may be blob:
// URLs: customers' photos are fetched with the agent's token and shown
// from memory, since an <img> cannot send that token.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consoleHandler serves GET /console (the page) and /console/{file}. The
// page needs no authentication: it holds no data, and asks for a token.
func (s *Server) consoleHandler() http.Handler {
	sub, err := fs.Sub(consoleFiles, "console")
	if err != nil {
		panic(err) // the embedded directory is there at build time
	}
	files := http.StripPrefix("/console/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", consoleCSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-cache")
		if r.URL.Path == "/console" || r.URL.Path == "/console/" {
			http.ServeFileFS(w, r, sub, "index.html")
			return
		}
		if r.URL.Path == "/console/knowledge" {
			http.ServeFileFS(w, r, sub, "knowledge.html")
			return
		}
		files.ServeHTTP(w, r)
	})
}

// suggestedArticle serves GET /v1/handoffs/{id}/article?external_id=: the
// text of one of the ticket's suggested articles, for the console's
// "insert" button. Agents may read only the articles suggested to them;
// the knowledge API stays the editors'.
func (s *Server) suggestedArticle(w http.ResponseWriter, r *http.Request) {
	t, err := s.pathTicket(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ext := r.URL.Query().Get("external_id")
	if !slices.Contains(t.Articles, ext) {
		writeError(w, r, s.log, fmt.Errorf("article %q is not suggested for handoff %d: %w", ext, t.ID, relais.ErrNotFound))
		return
	}
	a, err := s.cfg.Knowledge.ArticleByExternalID(r.Context(), ext)
	if err != nil {
		if !errors.Is(err, relais.ErrNotFound) {
			err = fmt.Errorf("suggested article %q: %w", ext, err)
		}
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"article_id": a.ExternalID, "title": a.Title, "body": a.Body})
}
