package intent

// freshHeldOut is a second held-out list, written after the classifier was
// built to check it with phrasings nobody had tuned against. The gaps it
// found were fixed in the rules (never by copying its phrasings into
// intents.txt), so from then on it guards against regressions rather than
// measuring generalisation.
var freshHeldOut = []heldOutCase{
	{text: "I need to talk to a person asap", intent: HumanRequest},
	{text: "put me in touch with a human", intent: HumanRequest},
	{text: "Can I have a real agent please", intent: HumanRequest},
	{text: "operator", intent: HumanRequest},
	{text: "i'd like to speak to someone in charge", intent: HumanRequest},
	{text: "stop wasting my time and get me a human", intent: HumanRequest},
	{text: "are there any humans working there??", intent: HumanRequest},
	{text: "je veux un humain", intent: HumanRequest},
	{text: "puis-je parler à une personne physique ?", intent: HumanRequest},
	{text: "mettez moi en contact avec un conseiller", intent: HumanRequest},
	{text: "j'aimerais discuter avec un agent", intent: HumanRequest},
	{text: "je préférerais avoir quelqu'un au téléphone", intent: HumanRequest},
	{text: "appelez-moi svp", intent: HumanRequest},
	{text: "need a rep", intent: HumanRequest},

	{text: "I wish to make a complaint about the engineer who visited", intent: Sensitive, topic: TopicComplaint},
	{text: "this is absolutely unacceptable, three weeks and no reply", intent: Sensitive, topic: TopicComplaint},
	{text: "je tiens à déposer une réclamation", intent: Sensitive, topic: TopicComplaint},
	{text: "c'est scandaleux, ça fait un mois que j'attends", intent: Sensitive, topic: TopicComplaint},
	{text: "I'm sick of being ignored by your company", intent: Sensitive, topic: TopicComplaint},

	{text: "I'm contacting my attorney tomorrow", intent: Sensitive, topic: TopicLegalThreat},
	{text: "you'll be hearing from my lawyers", intent: Sensitive, topic: TopicLegalThreat},
	{text: "je vais saisir les prud'hommes", intent: Sensitive, topic: TopicLegalThreat},
	{text: "we are considering legal action against you", intent: Sensitive, topic: TopicLegalThreat},

	{text: "someone stole my card details and bought stuff online", intent: Sensitive, topic: TopicFraud},
	{text: "I got scammed by a fake seller using your site", intent: Sensitive, topic: TopicFraud},
	{text: "des paiements frauduleux sur mon compte", intent: Sensitive, topic: TopicFraud},
	{text: "je ne reconnais pas ce débit", intent: Sensitive, topic: TopicFraud},
	{text: "my identity was stolen and a policy was opened with it", intent: Sensitive, topic: TopicFraud},

	{text: "cancel my home insurance please", intent: Sensitive, topic: TopicContractCancellation},
	{text: "I want to terminate the policy at renewal", intent: Sensitive, topic: TopicContractCancellation},
	{text: "je souhaite résilier", intent: Sensitive, topic: TopicContractCancellation},
	{text: "je voudrais annuler mon abonnement", intent: Sensitive, topic: TopicContractCancellation},

	{text: "my mother fell and she is not breathing", intent: Sensitive, topic: TopicEmergency},
	{text: "kitchen fire help", intent: Sensitive, topic: TopicEmergency},
	{text: "il y a le feu chez moi", intent: Sensitive, topic: TopicEmergency},
	{text: "je fais une crise cardiaque je crois", intent: Sensitive, topic: TopicEmergency},
	{text: "car accident on the motorway, my son is bleeding a lot", intent: Sensitive, topic: TopicEmergency},

	{text: "i just want it all to end, i want to die", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "ma femme me bat", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "je pense au suicide", intent: Sensitive, topic: TopicVulnerableCustomer},
	{text: "sometimes I think about hurting myself", intent: Sensitive, topic: TopicVulnerableCustomer},

	{text: "good evening!", intent: Greeting},
	{text: "salut !", intent: Greeting},
	{text: "thanks so much!!", intent: Thanks},
	{text: "merci, bonne soirée", intent: Goodbye},
	{text: "great, thank you", intent: Thanks},

	{text: "yes it did, thanks", awaiting: true, intent: FeedbackYes},
	{text: "oui parfait", awaiting: true, intent: FeedbackYes},
	{text: "no not at all", awaiting: true, intent: FeedbackNo},
	{text: "non", awaiting: true, intent: FeedbackNo},

	{text: "how do I speak to someone about a return?", intent: HumanRequest},
	{text: "what are the opening hours of your call centre", intent: Question},
	{text: "how do I change the agent on my account", intent: Question},
	{text: "can I cancel my order before it ships?", intent: Question},
	{text: "what's the penalty for cancelling my contract early", intent: Question},
	{text: "how do I report fraud on my card", intent: Sensitive, topic: TopicFraud},
	{text: "what should I do if I suspect fraud?", intent: Question},
	{text: "is legal protection included in my policy", intent: Question},
	{text: "does the policy cover accidents abroad", intent: Question},
	{text: "how do I update my payment details", intent: Question},
	{text: "where do I send a complaint letter", intent: Question},
	{text: "hello, is my parcel on its way?", intent: Question},
	{text: "comment changer mon mot de passe ?", intent: Question},
	{text: "combien de temps pour être remboursé ?", intent: Question},
	{text: "quels sont les délais de livraison", intent: Question},
	{text: "comment ajouter un conducteur à mon contrat auto", intent: Question},
	{text: "je n'ai pas reçu ma commande", intent: Question},
	{text: "my payment didn't go through", intent: Question},
	{text: "why was I charged twice?", intent: Question},
	{text: "the delivery man was rude", intent: Question},
	{text: "how much is fire and theft cover?", intent: Question},
	{text: "I want to order a new card", intent: Question},
	{text: "can I pause my subscription for a month?", intent: Question},
	{text: "how do I get out of the app?", intent: Question},
}
