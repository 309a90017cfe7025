package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
)

var _ assistant.Generator = (*Client)(nil)

// answerSchema is the reply Generate asks for, in the subset of JSON Schema
// that strict mode accepts (every property required, no others allowed).
// It deliberately does not enumerate the request's article ids: OpenAI
// preprocesses each new schema before first use, so a schema that changed
// with every request would pay that delay every time. Citations are checked
// after the reply instead.
const answerSchema = `{
	"type": "object",
	"properties": {
		"refuse": {"type": "boolean", "description": "true when the passages do not answer the question"},
		"answer": {"type": "string", "description": "the answer for the customer; empty when refusing"},
		"citations": {"type": "array", "items": {"type": "string"}, "description": "ids of the passages used, most important first"}
	},
	"required": ["refuse", "answer", "citations"],
	"additionalProperties": false
}`

// answerSchemaName names the schema in requests; servers may show it in
// their logs.
const answerSchemaName = "relais_answer"

// Generate asks the chat model for an answer to req.Question grounded in
// req.Passages (at most the first 8), as JSON: {"refuse", "answer",
// "citations"}. The reply is checked strictly; see the errors below. Without
// passages it refuses at once, without calling the model.
//
// A Generated that does not refuse has a non-empty Text and at least one
// citation, all of them ArticleIDs of the request's passages, deduplicated;
// citations of anything else are dropped (and logged as a count). Links,
// email addresses and phone numbers in its Text all appear in the passages
// (phone numbers may also come from the customer's own messages). A refusal
// has an empty Text and may keep the citations the model gave. Model is the
// model that answered, as the server names it.
//
// Errors wrap relais.ErrInvalid when the request is unusable (empty
// question, a passage without an ArticleID, no Config.ChatModel) or the
// model's reply is: not JSON, missing a field or with a field of the wrong
// type, cut off by Config.ChatMaxTokens, withheld by a content filter, an
// empty answer that does not refuse, an answer citing nothing it was given,
// or an answer with a link, address or number not found in its sources.
// Such replies are not retried (at temperature 0 the model would write the
// same again). Those that point at the server or its configuration rather
// than at one question (not JSON, missing fields, cut off, empty) count
// against the chat circuit breaker, so that a server ignoring the response
// format or a bound set too low soon fails fast instead of costing every
// customer a full generation before the assistant degrades; the others do
// not, so that one customer's odd question cannot open it. Other errors are
// those of Embed: relais.ErrUnavailable when the provider cannot be reached
// or fails, or the breaker is open; relais.ErrUnauthorized, relais.ErrTooLarge,
// relais.ErrInvalid for a rejected request (a server without json_schema
// support answers 400: set Config.ChatResponseFormat to
// ResponseFormatJSONObject); ctx.Err() when ctx ends first. Errors never
// contain the question, the passages or the model's reply.
func (c *Client) Generate(ctx context.Context, req assistant.GenerateRequest) (assistant.Generated, error) {
	if c.chatModel == "" {
		return assistant.Generated{}, fmt.Errorf("openai %s: Config.ChatModel is not set: %w", endpointChat, relais.ErrInvalid)
	}
	p, err := buildAnswerPrompt(req)
	if err != nil {
		return assistant.Generated{}, fmt.Errorf("openai %s: %w", endpointChat, err)
	}
	if len(p.citable) == 0 {
		// Nothing to ground an answer on: a refusal is the only honest
		// reply, and it needs no round trip.
		return assistant.Generated{Refused: true, Model: c.chatModel}, nil
	}

	var dropped int
	g, err := chat(ctx, c, c.chatRequest(p, c.jsonFormat(answerSchemaName, answerSchema)), func(comp completion) (assistant.Generated, error) {
		g, n, err := c.parseAnswer(comp, p)
		dropped = n
		return g, err
	})
	if err != nil {
		return assistant.Generated{}, fmt.Errorf("generate answer: %w", err)
	}
	if dropped > 0 {
		// The ids themselves are not logged: the model may have copied
		// them from the customer's text.
		c.logger.WarnContext(ctx, "chat model cited articles it was not given; dropped them",
			"model", g.Model, "dropped", dropped, "kept", len(g.Citations), "refused", g.Refused)
	}
	return g, nil
}

// Summarize writes a summary of a conversation for the human agent taking it
// over: at most 3 sentences in language ("en", "fr", or "" for the
// conversation's own language) saying what the customer needs, what was
// tried and what is open, as one paragraph of plain text. A long transcript
// is shortened to its first turn and its latest ones; turns are labelled by
// Role ("customer", "assistant" or "agent"; anything else reads as customer).
//
// Errors wrap relais.ErrInvalid when the transcript has no text, no
// Config.ChatModel is set, or the model's reply is unusable (empty, cut off,
// refused or filtered), and are otherwise those of Generate. They never
// contain the transcript or the reply.
func (c *Client) Summarize(ctx context.Context, transcript []assistant.Turn, language string) (string, error) {
	if c.chatModel == "" {
		return "", fmt.Errorf("summarize conversation: openai %s: Config.ChatModel is not set: %w", endpointChat, relais.ErrInvalid)
	}
	p, err := buildSummaryPrompt(transcript, language)
	if err != nil {
		return "", fmt.Errorf("summarize conversation: openai %s: %w", endpointChat, err)
	}
	summary, err := chat(ctx, c, c.chatRequest(p, nil), c.parseSummary)
	if err != nil {
		return "", fmt.Errorf("summarize conversation: %w", err)
	}
	return summary, nil
}

// completion is what Relais uses of a chat completion response.
type completion struct {
	content string
	refusal string // set by OpenAI when the model declines for safety reasons
	finish  goopenai.FinishReason
	model   string
}

// chat sends req through the chat breaker with retries. parse runs inside
// each attempt so that an unusable reply counts for the breaker as its
// badReplyError says; the value kept is the one from the attempt that
// succeeded, the last one.
func chat[T any](ctx context.Context, c *Client, req goopenai.ChatCompletionRequest, parse func(completion) (T, error)) (T, error) {
	var out T
	_, err := call(ctx, c, c.chatBreaker, endpointChat, func(ctx context.Context) (completion, error) {
		comp, err := c.complete(ctx, req)
		if err != nil {
			return comp, err
		}
		v, err := parse(comp)
		if err != nil {
			return comp, err
		}
		out = v
		return comp, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// complete is one attempt at a chat completion.
func (c *Client) complete(ctx context.Context, req goopenai.ChatCompletionRequest) (completion, error) {
	resp, err := c.api.CreateChatCompletion(ctx, req)
	if err != nil {
		return completion{}, withRetryAfter(err, resp.Header())
	}
	if len(resp.Choices) == 0 {
		return completion{}, badResponse("server returned no choices")
	}
	choice := resp.Choices[0]
	model := resp.Model
	if model == "" {
		model = c.chatModel
	}
	return completion{
		content: choice.Message.Content,
		refusal: choice.Message.Refusal,
		finish:  choice.FinishReason,
		model:   model,
	}, nil
}

// chatRequest is the request for p; format nil asks for plain text.
func (c *Client) chatRequest(p prompt, format *goopenai.ChatCompletionResponseFormat) goopenai.ChatCompletionRequest {
	req := goopenai.ChatCompletionRequest{
		Model: c.chatModel,
		Messages: []goopenai.ChatCompletionMessage{
			{Role: goopenai.ChatMessageRoleSystem, Content: p.system},
			{Role: goopenai.ChatMessageRoleUser, Content: p.user},
		},
		ResponseFormat: format,
	}
	if reasoningModel(c.chatModel) {
		// These accept neither a temperature nor max_tokens; go-openai
		// refuses to send them rather than let the API answer 400.
		req.MaxCompletionTokens = c.chatMaxTokens
		return req
	}
	req.MaxTokens = c.chatMaxTokens
	req.Temperature = greedyTemperature
	return req
}

// greedyTemperature stands for temperature 0, which gives the most
// deterministic, least inventive answers. go-openai drops a zero
// temperature (omitempty) and servers then use their default, usually 1.
// The smallest float32, often used instead, is a trap: local samplers
// divide logits by any non-zero temperature, and dividing by 1.4e-45
// overflows to infinities and NaN probabilities. 1e-6 makes sampling
// greedy everywhere without overflow (vLLM raises anything below 0.01 to
// 0.01, still near-greedy).
const greedyTemperature = 1e-6

// jsonFormat is the response_format of a request whose reply must match
// schema: the strict schema itself, or only "some JSON object" when
// Config.ChatResponseFormat says the server lacks json_schema.
func (c *Client) jsonFormat(name, schema string) *goopenai.ChatCompletionResponseFormat {
	if c.responseFormat == ResponseFormatJSONObject {
		return &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return &goopenai.ChatCompletionResponseFormat{
		Type: goopenai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{
			Name:   name,
			Schema: json.RawMessage(schema),
			Strict: true,
		},
	}
}

// reasoningModel reports whether OpenAI's API and go-openai treat model as a
// reasoning model. Other servers' names do not match these prefixes.
func reasoningModel(model string) bool {
	model = strings.ToLower(model)
	for _, prefix := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, prefix) {
			return true
		}
	}
	return false
}
