package intent

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
	{text: "can i pls talk to an actual human", intent: HumanRequest},
	{text: "get me a representative", intent: HumanRequest},
	{text: "je voudrais un conseiller svp", intent: HumanRequest},
	{text: "i want a real person not a bot", intent: HumanRequest},
	{text: "REPRESENTATIVE!!!", intent: HumanRequest},
	{text: "speak to agent", intent: HumanRequest},
	{text: "could you connect me with someone from your staff", intent: HumanRequest},
	{text: "is there a human i can talk to", intent: HumanRequest},
	{text: "humn agent please", intent: HumanRequest},
	{text: "i need to speek to an operator", intent: HumanRequest},
	{text: "can someone from your team call me back", intent: HumanRequest},
	{text: "transfer me to a live agent now", intent: HumanRequest},
	{text: "let me talk to your supervisor", intent: HumanRequest},
	{text: "parler à un humain", intent: HumanRequest},
	{text: "je veux parler a quelqu'un de votre service", intent: HumanRequest},
	{text: "passez moi un opérateur", intent: HumanRequest},
	{text: "est-ce que je peux avoir un vrai interlocuteur ?", intent: HumanRequest},
	{text: "j'aimerais être mis en relation avec un conseiller", intent: HumanRequest},
	{text: "un humain svp", intent: HumanRequest},
	{text: "y a-t-il une vraie personne derrière ce chat ?", intent: HumanRequest},
	{text: "your bot is useless, i want to speak with somebody", intent: HumanRequest},
	{text: "I'd prefer to discuss this with a human being", intent: HumanRequest},
	{text: "can i chat w/ a customer service rep", intent: HumanRequest},
	{text: "agent please", intent: HumanRequest},
	{text: "hello, i need an agent", intent: HumanRequest},
	{text: "no, I want to talk to someone", awaiting: true, intent: HumanRequest},
	{text: "je souhaite parler à un conseiller clientèle", intent: HumanRequest},
	{text: "un conseilller svp", intent: HumanRequest},

	// Complaints.
	{text: "this is the third time I complain and nobody answers", intent: Sensitive, topic: TopicComplaint},
	{text: "i'm filing an official complaint about the way you handled my claim", intent: Sensitive, topic: TopicComplaint},
	{text: "I am absolutely furious with your service, I want to complain", intent: Sensitive, topic: TopicComplaint},
	{text: "je suis vraiment pas content du tout, je veux faire une réclamation", intent: Sensitive, topic: TopicComplaint},
	{text: "votre service client est nul, personne ne répond jamais", intent: Sensitive, topic: TopicComplaint},
	{text: "I want to register a formal complaint", intent: Sensitive, topic: TopicComplaint},
	{text: "honestly the worst service ive ever had, absolutely disgraceful", intent: Sensitive, topic: TopicComplaint},

	// Legal threats.
	{text: "I'll take you to court", intent: Sensitive, topic: TopicLegalThreat},
	{text: "my lawyer will be in touch", intent: Sensitive, topic: TopicLegalThreat},
	{text: "im going to sue your company", intent: Sensitive, topic: TopicLegalThreat},
	{text: "expect to hear from my solicitor", intent: Sensitive, topic: TopicLegalThreat},
	{text: "je vais porter plainte contre vous", intent: Sensitive, topic: TopicLegalThreat},
	{text: "mon avocat va vous envoyer une mise en demeure", intent: Sensitive, topic: TopicLegalThreat},
	{text: "je vais vous attaquer en justice", intent: Sensitive, topic: TopicLegalThreat},

	// Fraud.
	{text: "quelqu'un a utilisé ma carte", intent: Sensitive, topic: TopicFraud},
	{text: "there's a charge on my card i never made", intent: Sensitive, topic: TopicFraud},
	{text: "i think someone hacked my acount", intent: Sensitive, topic: TopicFraud},
	{text: "somebody took out a loan in my name", intent: Sensitive, topic: TopicFraud},
	{text: "j'ai été victime d'une escroquerie", intent: Sensitive, topic: TopicFraud},
	{text: "on a piraté mon compte", intent: Sensitive, topic: TopicFraud},
	{text: "unauthorised transactions on my account", intent: Sensitive, topic: TopicFraud},

	// Contract cancellation.
	{text: "I want to stop my insurance contract", intent: Sensitive, topic: TopicContractCancellation},
	{text: "pls cancel my car insurance policy", intent: Sensitive, topic: TopicContractCancellation},
	{text: "i'd like to terminate my subscription", intent: Sensitive, topic: TopicContractCancellation},
	{text: "je veux résilier mon assurance habitation", intent: Sensitive, topic: TopicContractCancellation},
	{text: "comment mettre fin à mon contrat ?", intent: Sensitive, topic: TopicContractCancellation},
	{text: "i want to get out of my contract", intent: Sensitive, topic: TopicContractCancellation},

	// Emergencies.
	{text: "my house is on fire", intent: Sensitive, topic: TopicEmergency},
	{text: "my dad has chest pains and can't breathe", intent: Sensitive, topic: TopicEmergency},
	{text: "there's been an accident, my wife is injured", intent: Sensitive, topic: TopicEmergency},
	{text: "i smell gas in the kitchen", intent: Sensitive, topic: TopicEmergency},
	{text: "au secours ma maison brûle", intent: Sensitive, topic: TopicEmergency},
	{text: "urgence, mon fils a fait un malaise", intent: Sensitive, topic: TopicEmergency},
	{text: "call an ambulance", intent: Sensitive, topic: TopicEmergency},

	// Self-harm and abuse.
	{text: "i want to kill myself", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "I don't want to live anymore", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "im thinking about suicide", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "my husband hits me", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "j'ai envie d'en finir", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "je veux mourir", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "je n'ai plus envie de vivre", intent: Sensitive, topic: TopicVulnerableCustomer},

	// Smalltalk.
	{text: "hiii", intent: Greeting},
	{text: "hello there!", intent: Greeting},
	{text: "hey, good morning", intent: Greeting},
	{text: "coucou", intent: Greeting},
	{text: "thx a lot", intent: Thanks},
	{text: "merci beaucoup !", intent: Thanks},
	{text: "thank you sooo much for your help", intent: Thanks},
	{text: "bye bye", intent: Goodbye},
	{text: "bonne journée", intent: Goodbye},
	{text: "ok thanks bye", intent: Goodbye},
	{text: "cheers mate", intent: Thanks},

	// Feedback, only right after "did this help?".
	{text: "yes", awaiting: true, intent: FeedbackYes},
	{text: "yep it helped thanks", awaiting: true, intent: FeedbackYes},
	{text: "oui, ça m'a bien aidé", awaiting: true, intent: FeedbackYes},
	{text: "thanks!", awaiting: true, intent: FeedbackYes},
	{text: "no", awaiting: true, intent: FeedbackNo},
	{text: "not really", awaiting: true, intent: FeedbackNo},
	{text: "nope, that doesn't answer my question", awaiting: true, intent: FeedbackNo},
	{text: "non ça répond pas du tout", awaiting: true, intent: FeedbackNo},
	{text: "pas vraiment non", awaiting: true, intent: FeedbackNo},
	{text: "nah", awaiting: true, intent: FeedbackNo},
	{text: "yes", intent: Question},
	{text: "no", intent: Question},
	{text: "no, how do I track my refund?", awaiting: true, intent: Question},

	// Questions, including ones that mention sensitive words in passing.
	{text: "how do I cancel my order", intent: Question},
	{text: "can an agent change my delivery address?", intent: Question},
	{text: "what documents do I need for a claim", intent: Question},
	{text: "how do I file a complaint about a product?", intent: Question},
	{text: "what is the fee to cancel", intent: Question},
	{text: "is my card accepted abroad", intent: Question},
	{text: "what is your complaints procedure?", intent: Question},
	{text: "how do I report a lost card", intent: Question},
	{text: "how long does a refund take", intent: Question},
	{text: "hi, how do I cancel my order?", intent: Question},
	{text: "bonjour, comment suivre mon colis ?", intent: Question},
	{text: "cancel order 12345", intent: Question},
	{text: "i want to cancel my purchase", intent: Question},
	{text: "how can i delete my acount", intent: Question},
	{text: "do you have a fire insurance product?", intent: Question},
	{text: "does my policy cover ambulance costs?", intent: Question},
	{text: "my order number is 999", intent: Question},
	{text: "how do I contact customer service", intent: Question},
	{text: "what are your agents' working hours?", intent: Question},
	{text: "comment annuler ma commande ?", intent: Question},
	{text: "comment déclarer un sinistre ?", intent: Question},
	{text: "ma carte marche à l'étranger ?", intent: Question},
	{text: "I contacted an agent last week about my claim, any update?", intent: Question},
	{text: "does the courier call before delivery?", intent: Question},
	{text: "how do i become an agent", intent: Question},
	{text: "my card was declined, why?", intent: Question},
	{text: "can i speak french with you?", intent: Question},
	{text: "how do I unsubscribe from the newsletter", intent: Question},
	{text: "je veux récupérer mon argent", intent: Question},
	{text: "my parcel was packed but never shipped", intent: Question},
	{text: "where can I see the charges on my account", intent: Question},
	{text: "what happens at the end of my contract?", intent: Question},
	{text: "comment faire une réclamation ?", intent: Question},
	{text: "i want to manage my account", intent: Question},
	{text: "is there a number I can call?", intent: Question},
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

func checkHeldOut(t *testing.T, c *Classifier, cases []heldOutCase, minAccuracy float64) {
	type counts struct{ tp, fp, fn int }
	groups := map[string]*counts{}
	group := func(intent, topic string) string {
		switch intent {
		case Sensitive:
			return "sensitive:" + topic
		case Greeting, Thanks, Goodbye:
			return "smalltalk"
		case FeedbackYes, FeedbackNo:
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
		case tc.topic == TopicEmergency || tc.topic == TopicVulnerableCustomer || tc.intent == HumanRequest:
			t.Errorf("missed: %s", wrong[len(wrong)-1])
		case tc.intent == Question && (got.Intent == Sensitive || got.Intent == HumanRequest):
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

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := New(DefaultExamples())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
