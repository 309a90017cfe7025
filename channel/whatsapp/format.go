package whatsapp

import "github.com/relais-ai/relais/conversation"

// style is WhatsApp's: *bold* (its _italic_ and ~strike~ have no use in
// answers yet).
var style = conversation.TextStyle{Bold: "*"}

// FormatText returns a Markdown answer as WhatsApp shows it best
// (conversation.FormatText): soft wraps joined, bold and headings as
// *bold*, links spelled out.
func FormatText(md string) string { return conversation.FormatText(md, style) }
