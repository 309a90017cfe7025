package main

import (
	"context"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/redact"
)

// Personal data is redacted here, where the providers are wired, rather
// than in the assistant, the escalator or the searcher: only here is it
// known which provider sends text off the machine (the OpenAI-compatible
// client) and which does not (the hashing embedder), and one wrapper per
// interface covers every caller (answers, handoff summaries, search, ingest,
// calibration, draft approval) without any of them changing. The wrappers
// change only what the model reads: the stored transcript, the agent and the
// customer keep the original text. The assistant keeps one duty of its own:
// never to show the customer a reply that repeats a placeholder.

// redactingGenerator sends the model the customer's question and the
// conversation's earlier turns with personal data replaced by placeholders,
// numbered across the whole request so that one value keeps one placeholder.
// The passages come from the knowledge base, not from the customer, and go
// as they are: the answer may have to quote the support line they give. Agent
// and assistant turns are redacted too, since an agent may have repeated a
// customer's details. The reply is returned as the model wrote it; a
// placeholder in it makes the assistant answer extractively.
type redactingGenerator struct{ assistant.Generator }

func (g redactingGenerator) Generate(ctx context.Context, req assistant.GenerateRequest) (assistant.Generated, error) {
	var r redact.Redactor
	req.History = redactTurns(&r, req.History)
	req.Question = r.Redact(req.Question)
	return g.Generator.Generate(ctx, req)
}

// redactingSummarizer sends the model the conversation with personal data
// replaced by placeholders, then puts the originals back into the summary it
// writes: the summary is for the agent, who may see them (the transcript
// shows them anyway), and it is never sent back to a model.
type redactingSummarizer struct{ handoff.Summarizer }

func (s redactingSummarizer) Summarize(ctx context.Context, turns []assistant.Turn, lang string) (string, error) {
	var r redact.Redactor
	summary, err := s.Summarizer.Summarize(ctx, redactTurns(&r, turns), lang)
	if err != nil {
		return "", err
	}
	return r.Restore(summary), nil
}

// redactingEmbedder embeds texts with personal data replaced by
// placeholders, each text on its own so that a text embeds the same
// whatever batch it is in. Queries and the knowledge base go through the
// same redaction, so their vectors stay comparable.
type redactingEmbedder struct{ knowledge.Embedder }

func (e redactingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	red := texts // copied on the first change: texts is the caller's
	copied := false
	for i, t := range texts {
		var r redact.Redactor
		rt := r.Redact(t)
		if rt == t {
			continue
		}
		if !copied {
			red, copied = append([]string(nil), texts...), true
		}
		red[i] = rt
	}
	return e.Embedder.Embed(ctx, red)
}

// redactTurns returns turns with their text redacted by r, in order, as a
// new slice: the caller's turns are the stored transcript's.
func redactTurns(r *redact.Redactor, turns []assistant.Turn) []assistant.Turn {
	if len(turns) == 0 {
		return turns
	}
	out := make([]assistant.Turn, len(turns))
	for i, t := range turns {
		out[i] = assistant.Turn{Role: t.Role, Text: r.Redact(t.Text)}
	}
	return out
}
