package server

import (
	_ "embed"
	"net/http"
)

// openAPI describes the HTTP API (OpenAPI 3). It is written by hand, next
// to the routes it describes; TestOpenAPIMatchesRoutes fails when a route
// and its description part.
//
//go:embed openapi.json
var openAPI []byte

// serveOpenAPI serves GET /openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPI) // the client went away: nothing to do
}
