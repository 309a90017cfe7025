package server

import (
	"net/http"
	"time"

	"github.com/relais-ai/relais/handoff"
)

type presenceInput struct {
	Status handoff.PresenceStatus `json:"status"`
}

// setPresence serves PUT /v1/agents/presence: the calling agent reports
// itself online or away. The console reports every
// handoff.PresenceInterval while it is open; an agent not heard from for
// handoff.PresenceTTL counts as gone.
func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) {
	var in presenceInput
	if err := decodeJSON(w, r, &in, 4<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p, err := s.cfg.Presence.SetPresence(r.Context(), agentOf(r), in.Status)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// listPresence serves GET /v1/agents/presence: the agents heard from
// within handoff.PresenceTTL, with their status, and how many are online.
func (s *Server) listPresence(w http.ResponseWriter, r *http.Request) {
	ps, err := s.cfg.Presence.Presences(r.Context(), time.Now().Add(-handoff.PresenceTTL))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if ps == nil {
		ps = []handoff.Presence{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"agents":           ps,
		"online":           handoff.OnlineCount(ps),
		"report_every_sec": int(handoff.PresenceInterval / time.Second),
	})
}
