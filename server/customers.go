package server

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// customerID reads the {id} of a /v1/customers route. Customer ids are the
// channels' ("+33612345678", "user@example.com", "ns:123"), so clients
// path-escape them. chi matches on the escaped path when Go kept one
// (URL.RawPath, set when the request escaped something Go would not have)
// and on the decoded path otherwise; the segment is unescaped in the first
// case only, so that an id holding "%2B" is not decoded twice into "+".
// PathUnescape, not QueryUnescape: in a path a '+' is a plus, not a space.
func customerID(r *http.Request) (string, error) {
	id := chi.URLParam(r, "id")
	if r.URL.RawPath != "" {
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return "", fmt.Errorf("customer id %q is not a valid escaped path segment: %w", chi.URLParam(r, "id"), relais.ErrInvalid)
		}
	}
	if err := conversation.ValidateCustomerID(id); err != nil {
		return "", err
	}
	return id, nil
}

// exportCustomer answers a data-protection access request: everything
// Relais holds about the customer, as conversation.CustomerData. A customer
// Relais knows nothing about gets an export with no conversations.
func (s *Server) exportCustomer(w http.ResponseWriter, r *http.Request) {
	id, err := customerID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	data, err := s.cfg.Customers.ExportCustomer(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// Who exported how much, for the audit trail; never whom.
	s.log.InfoContext(r.Context(), "customer data exported", "by", principalName(r), "conversations", len(data.Conversations))
	// Personal data: no cache along the way may keep a copy.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="customer-export.json"`)
	writeJSON(w, http.StatusOK, data)
}

// erasedJSON is the answer to an erasure.
type erasedJSON struct {
	CustomerID string              `json:"customer_id"`
	Erased     conversation.Erased `json:"erased"`
}

// eraseCustomer answers a data-protection erasure request: it deletes
// everything Relais holds about the customer and says how much. Erasing a
// customer Relais knows nothing about (or erased already) erases nothing
// and succeeds, so a retried request is harmless.
func (s *Server) eraseCustomer(w http.ResponseWriter, r *http.Request) {
	id, err := customerID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	erased, err := s.cfg.Customers.EraseCustomer(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.InfoContext(r.Context(), "customer data erased", "by", principalName(r), "erased", erased)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, erasedJSON{CustomerID: id, Erased: erased})
}

func principalName(r *http.Request) string {
	p, _ := PrincipalFrom(r.Context())
	return p.Name
}
