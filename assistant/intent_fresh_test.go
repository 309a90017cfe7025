package assistant

// freshHeldOut is a second held-out list, written after the classifier was
// built to check it with phrasings nobody had tuned against. The gaps it
// found were fixed in the rules (never by copying its phrasings into
// intents.txt), so from then on it guards against regressions rather than
// measuring generalisation.
var freshHeldOut = []heldOutCase{
	{text: "I need to talk to a person asap", intent: IntentHumanRequest},
	{text: "put me in touch with a human", intent: IntentHumanRequest},
	{text: "Can I have a real agent please", intent: IntentHumanRequest},
	{text: "operator", intent: IntentHumanRequest},
	{text: "i'd like to speak to someone in charge", intent: IntentHumanRequest},
	{text: "stop wasting my time and get me a human", intent: IntentHumanRequest},
	{text: "are there any humans working there??", intent: IntentHumanRequest},
	{text: "je veux un humain", intent: IntentHumanRequest},
	{text: "puis-je parler à une personne physique ?", intent: IntentHumanRequest},
	{text: "mettez moi en contact avec un conseiller", intent: IntentHumanRequest},
	{text: "j'aimerais discuter avec un agent", intent: IntentHumanRequest},
	{text: "je préférerais avoir quelqu'un au téléphone", intent: IntentHumanRequest},
	{text: "appelez-moi svp", intent: IntentHumanRequest},
	{text: "need a rep", intent: IntentHumanRequest},

	{text: "I wish to make a complaint about the engineer who visited", intent: IntentSensitive, topic: TopicComplaint},
	{text: "this is absolutely unacceptable, three weeks and no reply", intent: IntentSensitive, topic: TopicComplaint},
	{text: "je tiens à déposer une réclamation", intent: IntentSensitive, topic: TopicComplaint},
	{text: "c'est scandaleux, ça fait un mois que j'attends", intent: IntentSensitive, topic: TopicComplaint},
	{text: "I'm sick of being ignored by your company", intent: IntentSensitive, topic: TopicComplaint},

	{text: "I'm contacting my attorney tomorrow", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "you'll be hearing from my lawyers", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "je vais saisir les prud'hommes", intent: IntentSensitive, topic: TopicLegalThreat},
	{text: "we are considering legal action against you", intent: IntentSensitive, topic: TopicLegalThreat},

	{text: "someone stole my card details and bought stuff online", intent: IntentSensitive, topic: TopicFraud},
	{text: "I got scammed by a fake seller using your site", intent: IntentSensitive, topic: TopicFraud},
	{text: "des paiements frauduleux sur mon compte", intent: IntentSensitive, topic: TopicFraud},
	{text: "je ne reconnais pas ce débit", intent: IntentSensitive, topic: TopicFraud},
	{text: "my identity was stolen and a policy was opened with it", intent: IntentSensitive, topic: TopicFraud},

	{text: "cancel my home insurance please", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "I want to terminate the policy at renewal", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "je souhaite résilier", intent: IntentSensitive, topic: TopicContractCancellation},
	{text: "je voudrais annuler mon abonnement", intent: IntentSensitive, topic: TopicContractCancellation},

	{text: "my mother fell and she is not breathing", intent: IntentSensitive, topic: TopicEmergency},
	{text: "kitchen fire help", intent: IntentSensitive, topic: TopicEmergency},
	{text: "il y a le feu chez moi", intent: IntentSensitive, topic: TopicEmergency},
	{text: "je fais une crise cardiaque je crois", intent: IntentSensitive, topic: TopicEmergency},
	{text: "car accident on the motorway, my son is bleeding a lot", intent: IntentSensitive, topic: TopicEmergency},

	{text: "i just want it all to end, i want to die", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "ma femme me bat", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "je pense au suicide", intent: IntentSensitive, topic: TopicVulnerableCustomer},
	{text: "sometimes I think about hurting myself", intent: IntentSensitive, topic: TopicVulnerableCustomer},

	{text: "good evening!", intent: IntentGreeting},
	{text: "salut !", intent: IntentGreeting},
	{text: "thanks so much!!", intent: IntentThanks},
	{text: "merci, bonne soirée", intent: IntentGoodbye},
	{text: "great, thank you", intent: IntentThanks},

	{text: "yes it did, thanks", awaiting: true, intent: IntentFeedbackYes},
	{text: "oui parfait", awaiting: true, intent: IntentFeedbackYes},
	{text: "no not at all", awaiting: true, intent: IntentFeedbackNo},
	{text: "non", awaiting: true, intent: IntentFeedbackNo},

	{text: "how do I speak to someone about a return?", intent: IntentHumanRequest},
	{text: "what are the opening hours of your call centre", intent: IntentQuestion},
	{text: "how do I change the agent on my account", intent: IntentQuestion},
	{text: "can I cancel my order before it ships?", intent: IntentQuestion},
	{text: "what's the penalty for cancelling my contract early", intent: IntentQuestion},
	{text: "how do I report fraud on my card", intent: IntentSensitive, topic: TopicFraud},
	{text: "what should I do if I suspect fraud?", intent: IntentQuestion},
	{text: "is legal protection included in my policy", intent: IntentQuestion},
	{text: "does the policy cover accidents abroad", intent: IntentQuestion},
	{text: "how do I update my payment details", intent: IntentQuestion},
	{text: "where do I send a complaint letter", intent: IntentQuestion},
	{text: "hello, is my parcel on its way?", intent: IntentQuestion},
	{text: "comment changer mon mot de passe ?", intent: IntentQuestion},
	{text: "combien de temps pour être remboursé ?", intent: IntentQuestion},
	{text: "quels sont les délais de livraison", intent: IntentQuestion},
	{text: "comment ajouter un conducteur à mon contrat auto", intent: IntentQuestion},
	{text: "je n'ai pas reçu ma commande", intent: IntentQuestion},
	{text: "my payment didn't go through", intent: IntentQuestion},
	{text: "why was I charged twice?", intent: IntentQuestion},
	{text: "the delivery man was rude", intent: IntentQuestion},
	{text: "how much is fire and theft cover?", intent: IntentQuestion},
	{text: "I want to order a new card", intent: IntentQuestion},
	{text: "can I pause my subscription for a month?", intent: IntentQuestion},
	{text: "how do I get out of the app?", intent: IntentQuestion},
}
