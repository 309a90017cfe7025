package assistant

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// heldOut are phrasings written for this test before the classifier, not
// taken from intents.txt: how customers actually type (typos, no accents,
// shouting, texting), in English and French. The gaps they revealed were
// fixed in the method; adding one of them to intents.txt would only hide a
// weakness.
//
// Decisions they record:
//   - A question that mentions an agent is a question unless it asks for one:
//     "can an agent change my delivery address?" is a question, "can I talk
//     to an agent?" is a request.
//   - Asking how the complaints process works is a question the knowledge
//     base answers; declaring a complaint goes to a person.
//   - Cancelling an order, an account or a newsletter, and the fee for
//     cancelling, are ordinary questions; cancelling a contract or policy,
//     however it is asked, is sensitive.
//   - "Contact customer service" asks for contact details, which the
//     knowledge base has; "connect me", "transfer me", or naming a person
//     (agent, human, advisor) asks for a person.
var heldOut = []heldOutCase{
	// Requests for a person.
	{text: "can i pls talk to an actual human", intent: IntentHumanRequest},
	{text: "get me a representative", intent: IntentHumanRequest},
	{text: "je voudrais un conseiller svp", intent: IntentHumanRequest},
	{text: "i want a real person not a bot", intent: IntentHumanRequest},
	{text: "REPRESENTATIVE!!!", intent: IntentHumanRequest},
	{text: "speak to agent", intent: IntentHumanRequest},
	{text: "could you connect me with someone from your staff", intent: IntentHumanRequest},
	{text: "is there a human i can talk to", intent: IntentHumanRequest},
	{text: "humn agent please", intent: IntentHumanRequest},
	{text: "i need to speek to an operator", intent: IntentHumanRequest},
	{text: "can someone from your team call me back", intent: IntentHumanRequest},
	{text: "transfer me to a live agent now", intent: IntentHumanRequest},
	{text: "let me talk to your supervisor", intent: IntentHumanRequest},
	{text: "parler à un humain", intent: IntentHumanRequest},
	{text: "je veux parler a quelqu'un de votre service", intent: IntentHumanRequest},
	{text: "passez moi un opérateur", intent: IntentHumanRequest},
	{text: "est-ce que je peux avoir un vrai interlocuteur ?", intent: IntentHumanRequest},
	{text: "j'aimerais être mis en relation avec un conseiller", intent: IntentHumanRequest},
	{text: "un humain svp", intent: IntentHumanRequest},
	{text: "y a-t-il une vraie personne derrière ce chat ?", intent: IntentHumanRequest},
	{text: "your bot is useless, i want to speak with somebody", intent: IntentHumanRequest},
	{text: "I'd prefer to discuss this with a human being", intent: IntentHumanRequest},
	{text: "can i chat w/ a customer service rep", intent: IntentHumanRequest},
	{text: "agent please", intent: IntentHumanRequest},
	{text: "hello, i need an agent", intent: IntentHumanRequest},
	{text: "no, I want to talk to someone", awaiting: true, intent: IntentHumanRequest},
	{text: "je souhaite parler à un conseiller clientèle", intent: IntentHumanRequest},
	{text: "un conseilller svp", intent: IntentHumanRequest},

	// Complaints.
	{text: "this is the third time I complain and nobody answers", intent: IntentSensitive, topic: TopicComplaint},
	{text: "i'm filing an official complaint about the way you handled my claim", intent: IntentSensitive, topic: TopicComplaint},
	{text: "I am absolutely furious with your service, I want to complain", intent: IntentSensitive, topic: TopicComplaint},
	{text: "je suis vraiment pas content du tout, je veux faire une réclamation", intent: IntentSensitive, topic: TopicComplaint},
	{text: "votre service client est nul, personne ne répond jamais", intent: IntentSensitive, topic: TopicComplaint},
	{text: "I want to register a formal complaint", intent: IntentSensitive, topic: TopicComplaint},
	{text: "honestly the worst service ive ever had, absolutely disgraceful", intent: IntentSensitive, topic: TopicComplaint},

	// Legal threats.
	{text: "I'll take you to court", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "my lawyer will be in touch", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "im going to sue your company", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "expect to hear from my solicitor", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "je vais porter plainte contre vous", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "mon avocat va vous envoyer une mise en demeure", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "je vais vous attaquer en justice", intent: IntentSensitive, topic: TopicLegalThreat},

	// Fraud.
	{text: "quelqu'un a utilisé ma carte", intent: IntentSensitive, topic: TopicFraud},
	{text: "there's a charge on my card i never made", intent: IntentSensitive, topic: TopicFraud},
	{text: "i think someone hacked my acount", intent: IntentSensitive, topic: TopicFraud},
	{text: "somebody took out a loan in my name", intent: IntentSensitive, topic: TopicFraud},
	{text: "j'ai été victime d'une escroquerie", intent: IntentSensitive, topic: TopicFraud},
	{text: "on a piraté mon compte", intent: IntentSensitive, topic: TopicFraud},
	{text: "unauthorised transactions on my account", intent: IntentSensitive, topic: TopicFraud},

	// Contract cancellation.
	{text: "I want to stop my insurance contract", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "pls cancel my car insurance policy", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "i'd like to terminate my subscription", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "je veux résilier mon assurance habitation", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "comment mettre fin à mon contrat ?", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "i want to get out of my contract", intent: IntentSensitive, topic: TopicContractCancellation},

	// Emergencies.
	{text: "my house is on fire", intent: IntentSensitive, topic: TopicEmergency},
	{text: "my dad has chest pains and can't breathe", intent: IntentSensitive, topic: TopicEmergency},
	{text: "there's been an accident, my wife is injured", intent: IntentSensitive, topic: TopicEmergency},
	{text: "i smell gas in the kitchen", intent: IntentSensitive, topic: TopicEmergency},
	{text: "au secours ma maison brûle", intent: IntentSensitive, topic: TopicEmergency},
	{text: "urgence, mon fils a fait un malaise", intent: IntentSensitive, topic: TopicEmergency},
	{text: "call an ambulance", intent: IntentSensitive, topic: TopicEmergency},

	// Self-harm and abuse.
	{text: "i want to kill myself", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "I don't want to live anymore", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "im thinking about suicide", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "my husband hits me", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "j'ai envie d'en finir", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "je veux mourir", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "je n'ai plus envie de vivre", intent: IntentSensitive, topic: TopicVulnerableCustomer},

	// Smalltalk.
	{text: "hiii", intent: IntentGreeting},
	{text: "hello there!", intent: IntentGreeting},
	{text: "hey, good morning", intent: IntentGreeting},
	{text: "coucou", intent: IntentGreeting},
	{text: "thx a lot", intent: IntentThanks},
	{text: "merci beaucoup !", intent: IntentThanks},
	{text: "thank you sooo much for your help", intent: IntentThanks},
	{text: "bye bye", intent: IntentGoodbye},
	{text: "bonne journée", intent: IntentGoodbye},
	{text: "ok thanks bye", intent: IntentGoodbye},
	{text: "cheers mate", intent: IntentThanks},

	// Feedback, only right after "did this help?".
	{text: "yes", awaiting: true, intent: IntentFeedbackYes},
	{text: "yep it helped thanks", awaiting: true, intent: IntentFeedbackYes},
	{text: "oui, ça m'a bien aidé", awaiting: true, intent: IntentFeedbackYes},
	{text: "thanks!", awaiting: true, intent: IntentFeedbackYes},
	{text: "no", awaiting: true, intent: IntentFeedbackNo},
	{text: "not really", awaiting: true, intent: IntentFeedbackNo},
	{text: "nope, that doesn't answer my question", awaiting: true, intent: IntentFeedbackNo},
	{text: "non ça répond pas du tout", awaiting: true, intent: IntentFeedbackNo},
	{text: "pas vraiment non", awaiting: true, intent: IntentFeedbackNo},
	{text: "nah", awaiting: true, intent: IntentFeedbackNo},
	{text: "yes", intent: IntentQuestion},
	{text: "no", intent: IntentQuestion},
	{text: "no, how do I track my refund?", awaiting: true, intent: IntentQuestion},

	// Questions, including ones that mention sensitive words in passing.
	{text: "how do I cancel my order", intent: IntentQuestion},
	{text: "can an agent change my delivery address?", intent: IntentQuestion},
	{text: "what documents do I need for a claim", intent: IntentQuestion},
	{text: "how do I file a complaint about a product?", intent: IntentQuestion},
	{text: "what is the fee to cancel", intent: IntentQuestion},
	{text: "is my card accepted abroad", intent: IntentQuestion},
	{text: "what is your complaints procedure?", intent: IntentQuestion},
	{text: "how do I report a lost card", intent: IntentQuestion},
	{text: "how long does a refund take", intent: IntentQuestion},
	{text: "hi, how do I cancel my order?", intent: IntentQuestion},
	{text: "bonjour, comment suivre mon colis ?", intent: IntentQuestion},
	{text: "cancel order 12345", intent: IntentQuestion},
	{text: "i want to cancel my purchase", intent: IntentQuestion},
	{text: "how can i delete my acount", intent: IntentQuestion},
	{text: "do you have a fire insurance product?", intent: IntentQuestion},
	{text: "does my policy cover ambulance costs?", intent: IntentQuestion},
	{text: "my order number is 999", intent: IntentQuestion},
	{text: "how do I contact customer service", intent: IntentQuestion},
	{text: "what are your agents' working hours?", intent: IntentQuestion},
	{text: "comment annuler ma commande ?", intent: IntentQuestion},
	{text: "comment déclarer un sinistre ?", intent: IntentQuestion},
	{text: "ma carte marche à l'étranger ?", intent: IntentQuestion},
	{text: "I contacted an agent last week about my claim, any update?", intent: IntentQuestion},
	{text: "does the courier call before delivery?", intent: IntentQuestion},
	{text: "how do i become an agent", intent: IntentQuestion},
	{text: "my card was declined, why?", intent: IntentQuestion},
	{text: "can i speak french with you?", intent: IntentQuestion},
	{text: "how do I unsubscribe from the newsletter", intent: IntentQuestion},
	{text: "je veux récupérer mon argent", intent: IntentQuestion},
	{text: "my parcel was packed but never shipped", intent: IntentQuestion},
	{text: "where can I see the charges on my account", intent: IntentQuestion},
	{text: "what happens at the end of my contract?", intent: IntentQuestion},
	{text: "comment faire une réclamation ?", intent: IntentQuestion},
	{text: "i want to manage my account", intent: IntentQuestion},
	{text: "is there a number I can call?", intent: IntentQuestion},
}

// TestClassifyHeldOut checks the classifier on phrasings it was not built
// from, and reports precision and recall per intent group. It fails on a
// miss of an emergency, self-harm or request for a person (recall comes
// first there), on a question sent to a person (precision comes first for
// everything else), and when precision or recall fall below the floors.
func TestClassifyHeldOut(t *testing.T) {
	t.Parallel()
	c := newTestClassifier(t)
	t.Run("fresh", func(t *testing.T) { checkHeldOut(t, c, freshHeldOut, 0.85) })
	checkHeldOut(t, c, heldOut, 0.9)
}

type heldOutCase = struct {
	text     string
	awaiting bool
	intent   string
	topic    string
}

func checkHeldOut(t *testing.T, c *IntentClassifier, cases []heldOutCase, minAccuracy float64) {
	type counts struct{ tp, fp, fn int }
	groups := map[string]*counts{}
	group := func(intent, topic string) string {
		switch intent {
		case IntentSensitive:
			return "sensitive:" + topic
		case IntentGreeting, IntentThanks, IntentGoodbye:
			return "smalltalk"
		case IntentFeedbackYes, IntentFeedbackNo:
			return "feedback"
		}
		return intent
	}
	get := func(g string) *counts {
		if groups[g] == nil {
			groups[g] = &counts{}
		}
		return groups[g]
	}
	var wrong []string
	for _, tc := range cases {
		got := c.Classify(tc.text, "", tc.awaiting)
		want, have := group(tc.intent, tc.topic), group(got.Intent, got.Topic)
		exact := got.Intent == tc.intent && got.Topic == tc.topic
		if exact {
			get(want).tp++
			continue
		}
		wrong = append(wrong, fmt.Sprintf("%q (awaiting=%v): got %s %s [%s], want %s %s",
			tc.text, tc.awaiting, got.Intent, got.Topic, got.Evidence, tc.intent, tc.topic))
		get(want).fn++
		get(have).fp++
		switch {
		case tc.topic == TopicEmergency || tc.topic == TopicVulnerableCustomer || tc.intent == IntentHumanRequest:
			t.Errorf("missed: %s", wrong[len(wrong)-1])
		case tc.intent == IntentQuestion && (got.Intent == IntentSensitive || got.Intent == IntentHumanRequest):
			t.Errorf("question sent to a person: %s", wrong[len(wrong)-1])
		}
	}
	for _, w := range wrong {
		t.Logf("wrong: %s", w)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	var report strings.Builder
	var all counts
	for _, g := range names {
		n := groups[g]
		all.tp, all.fp, all.fn = all.tp+n.tp, all.fp+n.fp, all.fn+n.fn
		fmt.Fprintf(&report, "\n  %-34s precision %.2f recall %.2f (tp %d fp %d fn %d)", g, ratio(n.tp, n.tp+n.fp), ratio(n.tp, n.tp+n.fn), n.tp, n.fp, n.fn)
	}
	t.Logf("held-out intent classification, %d messages, %d right:%s", len(cases), len(cases)-len(wrong), report.String())
	if acc := ratio(len(cases)-len(wrong), len(cases)); acc < minAccuracy {
		t.Errorf("held-out accuracy %.2f, want >= %.2f", acc, minAccuracy)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func newTestClassifier(t testing.TB) *IntentClassifier {
	t.Helper()
	c, err := NewIntentClassifier(DefaultIntentExamples())
	if err != nil {
		t.Fatalf("NewIntentClassifier: %v", err)
	}
	return c
}
