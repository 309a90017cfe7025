package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
)

// articleJSON is the API's view of an article.
type articleJSON struct {
	ID         int64     `json:"id"`
	ExternalID string    `json:"external_id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Language   string    `json:"language"`
	Topic      string    `json:"topic,omitempty"`
	Tags       []string  `json:"tags"`
	Phrasings  []string  `json:"phrasings"`
	Source     string    `json:"source"`
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toArticleJSON(a knowledge.Article) articleJSON {
	tags, phr := a.Tags, a.Phrasings
	if tags == nil {
		tags = []string{}
	}
	if phr == nil {
		phr = []string{}
	}
	return articleJSON{
		ID: a.ID, ExternalID: a.ExternalID, Title: a.Title, Body: a.Body, Language: a.Language,
		Topic: a.Topic, Tags: tags, Phrasings: phr, Source: a.Source, Version: a.Version,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

// articleInput is what a client sends to create or replace an article.
type articleInput struct {
	ExternalID string   `json:"external_id"`
	Title      string   `json:"title"`
	Body       string   `json:"body"`
	Language   string   `json:"language"`
	Topic      string   `json:"topic"`
	Tags       []string `json:"tags"`
	Phrasings  []string `json:"phrasings"`
}

func (in articleInput) article() (knowledge.Article, error) {
	if strings.TrimSpace(in.Title) == "" {
		return knowledge.Article{}, fmt.Errorf("title is required: %w", relais.ErrInvalid)
	}
	if strings.TrimSpace(in.Body) == "" {
		return knowledge.Article{}, fmt.Errorf("body is required: %w", relais.ErrInvalid)
	}
	switch in.Language {
	case "", language.English, language.French:
	default:
		return knowledge.Article{}, fmt.Errorf("language %q is not supported: use \"en\", \"fr\" or leave it empty to detect: %w", in.Language, relais.ErrInvalid)
	}
	return knowledge.Article{
		ExternalID: strings.TrimSpace(in.ExternalID), Title: in.Title, Body: in.Body, Language: in.Language,
		Topic: in.Topic, Tags: in.Tags, Phrasings: in.Phrasings,
	}, nil
}

func (s *Server) listArticles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 50, 1, 500, "limit")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	offset, err := intParam(q.Get("offset"), 0, 0, 1<<31-1, "offset")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	arts, err := s.cfg.Knowledge.Articles(r.Context(), knowledge.ListOptions{Source: q.Get("source"), Limit: limit, Offset: offset})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]articleJSON, len(arts))
	for i, a := range arts {
		out[i] = toArticleJSON(a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"articles": out, "limit": limit, "offset": offset})
}

// lookupArticle resolves {id}: a number is the store id, anything else the
// external id (URL-escaped, since external ids hold ':' and '#').
func (s *Server) lookupArticle(r *http.Request) (knowledge.Article, error) {
	raw := chi.URLParam(r, "id")
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return s.cfg.Knowledge.Article(r.Context(), id)
	}
	return s.cfg.Knowledge.ArticleByExternalID(r.Context(), raw)
}

func (s *Server) getArticle(w http.ResponseWriter, r *http.Request) {
	a, err := s.lookupArticle(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toArticleJSON(a))
}

func (s *Server) createArticle(w http.ResponseWriter, r *http.Request) {
	var in articleInput
	if err := decodeJSON(w, r, &in, 1<<20); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := in.article()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if a.ExternalID == "" {
		a.ExternalID = "api:" + randomID()
	} else if _, err := s.cfg.Knowledge.ArticleByExternalID(r.Context(), a.ExternalID); err == nil {
		writeError(w, r, s.log, fmt.Errorf("article %q already exists: update it with PUT: %w", a.ExternalID, relais.ErrConflict))
		return
	} else if !errors.Is(err, relais.ErrNotFound) {
		writeError(w, r, s.log, err)
		return
	}
	saved, err := s.cfg.Importer.SaveArticle(r.Context(), a)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/v1/knowledge/articles/"+strconv.FormatInt(saved.ID, 10))
	writeJSON(w, http.StatusCreated, toArticleJSON(saved))
}

func (s *Server) updateArticle(w http.ResponseWriter, r *http.Request) {
	old, err := s.lookupArticle(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var in articleInput
	if err := decodeJSON(w, r, &in, 1<<20); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.ExternalID != "" && in.ExternalID != old.ExternalID {
		writeError(w, r, s.log, fmt.Errorf("external_id cannot change (was %q): %w", old.ExternalID, relais.ErrInvalid))
		return
	}
	a, err := in.article()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a.ExternalID = old.ExternalID
	a.Source = old.Source
	saved, err := s.cfg.Importer.SaveArticle(r.Context(), a)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toArticleJSON(saved))
}

func (s *Server) deleteArticle(w http.ResponseWriter, r *http.Request) {
	a, err := s.lookupArticle(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.cfg.Knowledge.DeleteArticle(r.Context(), a.ID); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type hitJSON struct {
	ArticleID   int64   `json:"id"`
	ExternalID  string  `json:"article_id"`
	Title       string  `json:"title"`
	Score       float64 `json:"score"`
	VectorScore float64 `json:"vector_score"`
	VectorRank  int     `json:"vector_rank"`
	TextScore   float64 `json:"text_score"`
	TextRank    int     `json:"text_rank"`
	Passage     string  `json:"passage"`
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		writeError(w, r, s.log, fmt.Errorf("query parameter q is required: %w", relais.ErrInvalid))
		return
	}
	if len(q) > knowledge.MaxQueryBytes {
		writeError(w, r, s.log, fmt.Errorf("q is longer than %d bytes: %w", knowledge.MaxQueryBytes, relais.ErrInvalid))
		return
	}
	limit, err := intParam(r.URL.Query().Get("limit"), 5, 1, 50, "limit")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.cfg.Searcher.Search(r.Context(), q, knowledge.SearchOptions{Limit: limit, Language: language.Detect(q)})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	hits := make([]hitJSON, len(res.Hits))
	for i, h := range res.Hits {
		hits[i] = hitJSON{
			ArticleID: h.Article.ID, ExternalID: h.Article.ExternalID, Title: h.Article.Title,
			Score: h.Score, VectorScore: h.VectorScore, VectorRank: h.VectorRank,
			TextScore: h.TextScore, TextRank: h.TextRank, Passage: h.Passage.Text,
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
}

type fileResultJSON struct {
	File      string   `json:"file"`
	Imported  int      `json:"imported"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Pruned    int      `json:"pruned"`
	Chunks    int      `json:"chunks"`
	Problems  []string `json:"problems"`
	Error     string   `json:"error,omitempty"`
}

// importKnowledge takes one or more files as multipart/form-data (field
// "file"), or one file as the raw body with its name in ?name=. A file that
// fails does not stop the others; the status is 200 when all imported, 422
// when some had problems, and the error's own status when the only file
// could not be read at all.
func (s *Server) importKnowledge(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	opts := ingest.Options{Prune: r.URL.Query().Get("prune") == "true"}
	var results []ingest.FileResult
	var err error
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "multipart/form-data" {
		results, err = s.importParts(r, opts)
	} else {
		results, err = s.importBody(r, opts)
	}
	if err == nil {
		err = s.soleFileTooLarge(results)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out, status := fileResultsJSON(results)
	writeJSON(w, status, map[string]any{"files": out})
}

// importParts imports every "file" part of a multipart upload, in order;
// an upload without one is relais.ErrInvalid.
func (s *Server) importParts(r *http.Request, opts ingest.Options) ([]ingest.FileResult, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("read upload: %v: %w", err, relais.ErrInvalid)
	}
	var results []ingest.FileResult
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, uploadError(err, s.cfg.MaxUploadBytes)
		}
		name := filepath.Base(part.FileName())
		if part.FormName() != "file" || name == "." || name == "/" {
			part.Close()
			continue
		}
		res, err := s.cfg.Importer.ImportData(r.Context(), name, "upload:"+name, part, opts)
		part.Close()
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no file in the upload: send multipart/form-data with a \"file\" field: %w", relais.ErrInvalid)
	}
	return results, nil
}

// importBody imports the raw body as the file named by ?name=.
func (s *Server) importBody(r *http.Request, opts ingest.Options) ([]ingest.FileResult, error) {
	name := filepath.Base(r.URL.Query().Get("name"))
	if name == "." || name == "/" || name == "" {
		return nil, fmt.Errorf("send multipart/form-data with a \"file\" field, or the raw file with ?name=FILE.ext: %w", relais.ErrInvalid)
	}
	res, err := s.cfg.Importer.ImportData(r.Context(), name, "upload:"+name, r.Body, opts)
	if err != nil {
		return nil, err
	}
	return []ingest.FileResult{res}, nil
}

// soleFileTooLarge is the upload error when the only file could not be read
// for being over the limit: the answer is then that error's status, not a
// list of one failed file.
func (s *Server) soleFileTooLarge(results []ingest.FileResult) error {
	if len(results) != 1 || results[0].Err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if err := results[0].Err; errors.Is(err, relais.ErrTooLarge) || errors.As(err, &mbe) {
		return uploadError(err, s.cfg.MaxUploadBytes)
	}
	return nil
}

// fileResultsJSON is the answer's list of files, and its status: 200 when
// every file imported, 422 when any had problems.
func fileResultsJSON(results []ingest.FileResult) ([]fileResultJSON, int) {
	status := http.StatusOK
	out := make([]fileResultJSON, len(results))
	for i, res := range results {
		out[i] = fileResultJSON{
			File: res.File, Imported: res.Imported, Updated: res.Updated, Unchanged: res.Unchanged,
			Pruned: res.Pruned, Chunks: res.Chunks, Problems: []string{},
		}
		for _, p := range res.Problems {
			out[i].Problems = append(out[i].Problems, p.Error())
		}
		if res.Err != nil {
			out[i].Error = res.Err.Error()
		}
		if res.Failed() {
			status = http.StatusUnprocessableEntity
		}
	}
	return out, status
}

func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, relais.ErrTooLarge) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "upload is larger than the %d-byte limit", limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return bodyTimeout()
	}
	return fmt.Errorf("read upload: %v: %w", err, relais.ErrInvalid)
}

func intParam(raw string, def, lo, hi int, name string) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, got %q: %w", name, lo, hi, raw, relais.ErrInvalid)
	}
	return n, nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
