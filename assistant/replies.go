package assistant

import "github.com/relais-ai/relais/language"

// The assistant's own words, in the languages it detects. English is the
// fallback for an unknown language.
var replies = map[string]map[string]string{
	language.English: {
		IntentGreeting:    "Hello! How can I help you today?",
		IntentThanks:      "You're welcome! Is there anything else I can help with?",
		IntentGoodbye:     "Goodbye, and thank you for getting in touch.",
		IntentFeedbackYes: "Glad that helped! Anything else?",
		"clarify":         "I'm not sure I understood. Could you rephrase your question, or tell me more? You can also ask to speak to an agent.",
		"empty":           "How can I help you?",
		"handoff":         "I'm passing your conversation to a member of our team, who will reply here.",
	},
	language.French: {
		IntentGreeting:    "Bonjour ! Comment puis-je vous aider ?",
		IntentThanks:      "Avec plaisir ! Puis-je vous aider pour autre chose ?",
		IntentGoodbye:     "Au revoir, et merci de nous avoir contactés.",
		IntentFeedbackYes: "Ravi d'avoir pu vous aider ! Autre chose ?",
		"clarify":         "Je ne suis pas sûr d'avoir compris. Pouvez-vous reformuler votre question ou m'en dire plus ? Vous pouvez aussi demander à parler à un conseiller.",
		"empty":           "Comment puis-je vous aider ?",
		"handoff":         "Je transmets votre conversation à un membre de notre équipe, qui vous répondra ici.",
	},
}

func replyText(lang, key string) string {
	if m, ok := replies[lang]; ok {
		if s, ok := m[key]; ok {
			return s
		}
	}
	return replies[language.English][key]
}

func smalltalkReply(intent, lang string) string { return replyText(lang, intent) }

func handoffText(lang string) string { return replyText(lang, "handoff") }
