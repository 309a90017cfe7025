package assistant

import (
	"fmt"
	"strconv"
	"strings"
)

// The rules are a small pattern language over folded words, kept as text so
// that a reviewer can read them as phrase lists rather than as code.
//
//	@NAME = word word~ word* @OTHER    a concept; "+=" extends it
//	LABEL NAME: PATTERN [! VETO]...    a rule
//
// A pattern is a sequence of elements. An element is a word, a concept or
// alternatives joined by "|". "word~" also matches one typo, "word*" any word
// starting with "word". "_N" before an element allows up to N words in
// between, all from @LIGHT (articles, pronouns, "real", "please"); "~N"
// allows any N words. "^" as the first element pins the match to the start
// of the message, "$" as the last to its end. A rule fires when its pattern
// occurs and none of its vetoes does. Labels are human_request or
// sensitive:TOPIC; the stage of Classify that runs a rule follows from it.
//
// Recall or precision is chosen per label, and it shows in how loose the
// patterns are. Emergencies, self-harm and requests for a person must
// almost never be missed: a missed one leaves someone in danger or stuck
// with a bot, while a false one costs an agent a minute. So those patterns
// are broad, typo-tolerant, and vetoed only by clearly informational
// phrasings ("in case of emergency", "emergency number"). Complaints, legal
// threats, fraud and contract cancellation favour precision: every false hit
// sends an answerable question to a person, and customers mention these
// words in ordinary questions all the time ("what is your complaints
// procedure?", "do you offer fraud protection?"). Their rules only cover
// unambiguous phrasings; paraphrases are left to the examples, which are
// weighed against [question] counter-examples.
const intentRules = `
# Words that may sit between the parts of a phrase without changing what it
# asks for: "talk to a real live human", "parler avec un vrai conseiller".
@LIGHT = a an the to with~ w of one some any your~ you ur u yr my me our us own
@LIGHT += real actual live proper physical true right now please~ pls plz directly
@LIGHT += immediately asap again just from~ at on in this that it about~ customer
@LIGHT += service support member members team for by via who whom i be is are s
@LIGHT += au aux un une le la les l d de du des avec vrai vraie vrais veritable reel
@LIGHT += reelle en directement maintenant svp stp il t vous plait plais moi m
@LIGHT += votre vos ton tes quelqu client clientele par telephone tel rapidement
@LIGHT += immediatement enfin vite ce cette mon ma mes son sa ses notre nos leur leurs je j
@LIGHT += pour
# Swearing pads a request without changing it: "talk to a bloody human".
@LIGHT += fucking fuckin fking effing freaking frigging bloody damn damned goddamn
@LIGHT += goddamned flipping putain

# Real words one typo away from a rule word. A word the lexicon knows
# exactly is never read as a typo of another, so listing them here is
# enough: "employer" is not "employee", "argent" (money) is not "agent".
@NOTYPO = employer employers employed assistance cancer chance constat constater
@NOTYPO += contacted emergence urgency urgente demain exchange

@PERSON_ROLE = human~ humans~ humain~ humaine~ humains~ agent~ agents~ operator~
@PERSON_ROLE += operators~ operateur~ operatrice~ operateurs~ representative~
@PERSON_ROLE += representatives~ rep reps advisor~ advisors~ adviser~ advisers~
@PERSON_ROLE += conseiller~ conseillere~ conseillers~ conseilleres~ interlocuteur~
@PERSON_ROLE += interlocutrice~ supervisor~ supervisors~ superviseur~ manager managers
@PERSON_ROLE += responsable responsables employee~ employees~ employe employes staff
@PERSON_ROLE += colleague~ colleagues~ collegue collegues specialist~ specialiste~
@PERSON_ROLE += expert experts
@PERSON_REF = someone~ somebody~ anyone~ anybody~ person~ persons people personne~
@PERSON_REF += quelquun~ quelqu assistant~ assistante~ individual
@PERSON_ANY = @PERSON_ROLE @PERSON_REF
@REAL = real actual live physical true proper vrai vraie vrais veritable~ reel reelle
@REAL += reels physique flesh
@COMM = talk talking~ speak~ speaking~ chat chatting~ contact~ contacting~ reach
@COMM += reaching~ call calling~ phone phoning ring ringing communicate~
@COMM += communicating~ discuss~ discussing~ converse~ connect~ connected~
@COMM += connecting~ transfer~ transferred~ transfering~ transferring~ escalate~
@COMM += escalated~ escalating~ deal dealing~ touch parler~ parle parlez parlons
@COMM += discuter~ discute joindre~ contacter~ contacte contactez appeler~ appelle
@COMM += appelez echanger~ transferer~ transfere transferez
@WANT = want wanna wants need needs require~ request requesting demand~ prefer~
@WANT += like give gimme get getting veux voudrais~ voudrait souhaite~
@WANT += souhaiterais~ aimerais~ besoin~ exige~ passez passe donnez avoir prefere
@WANT += preferer prefererais~
@BOT = bot~ bots robot~ robots chatbot~ machine machines automate ia ai computer
@BOT += ordinateur algorithm~
@NEG = dont not no never pas plus jamais

# --- requests for a person (recall) ---
# "I don't want to talk to a human" and "do I need to speak to an agent to
# ...?" mention a person without asking for one.
human_request talk_to_person: @COMM _5 @PERSON_ANY ! @NEG _1 want|wanna|need|wish|like ~5 @PERSON_ANY ! veux|voudrais|souhaite|besoin|aimerais pas|plus ~5 @PERSON_ANY ! pas besoin ~5 @PERSON_ANY ! ^ do|does|did|will|would|must|should|is|am i|we|you|it _1 need|have|require|required|necessary ~5 @PERSON_ANY ! faut il ~5 @PERSON_ANY
human_request want_person: @WANT _3 @PERSON_ROLE ! @NEG _1 want|wanna|need|wish|like ~5 @PERSON_ANY ! veux|voudrais|souhaite|besoin|aimerais pas|plus ~5 @PERSON_ANY ! pas besoin ~5 @PERSON_ANY ! ^ do|does|did|will|would|must|should|is|am i|we|you|it _1 need|have|require|required|necessary ~5 @PERSON_ANY
human_request real_person: @REAL _1 @PERSON_ANY ! @NEG _1 want|wanna|need|wish|like ~5 @PERSON_ANY ! veux|voudrais|souhaite|besoin|aimerais pas|plus ~5 @PERSON_ANY
human_request real_person: chair _2 os
human_request have_person: can|could|may i|we _1 have|get _3 @PERSON_ROLE
# "Is there a human?" asks for one; "is anybody there?" often opens a
# question ("is anybody there? do you ship to Lyon?"), so it is left to the
# examples, which only match when the message is little else.
human_request is_there_human: is|are there _1 a|an|any|real|actual _1 human~|humans~|humain~|humains~
human_request is_there_human: is|are there human~|humans~
human_request is_there_human: y a _3 humain~|humains~|quelquun|quelqu
human_request put_through: put|patch|pass|switch me|us _2 through
human_request put_through: transfer|transferez|transfere|transferer|connect|connectez|connecter|passez|passer me|moi|us
human_request put_through: mettre|mettez|mets|mis|mise|met _3 en relation
human_request callback: call|ring|phone me back
human_request callback: callback
human_request callback: rappelez|rappeler|rappelle|rappeliez moi|me
human_request callback: me rappeler|rappelle|rappeliez|rappelez
human_request callback: etre rappele|rappelee
human_request callback: appelez|appelle|rappelez moi
human_request callback: me|m _1 appeler|appelle|appelez|appeliez
human_request callback: please|pls|plz|can|could _2 call|phone|ring me
human_request on_the_phone: @WANT|have|prefererais _3 @PERSON_ANY _2 telephone|phone|line|tel
human_request no_bot: @NEG _1 want|wanna|like|veux|souhaite|voudrais ~4 @BOT
human_request no_bot: veux|souhaite|voudrais pas ~4 @BOT
human_request no_bot: not|pas _2 @BOT
human_request no_bot: stop|arrete|enough|assez|marre _3 @BOT
human_request no_bot: @BOT ~3 useless|stupid|dumb|rubbish|nul|nulle|inutile|idiot|pointless|comprend

# --- emergencies (recall) ---
sensitive:emergency chest_pain: chest~ _2 pain|pains|tightness|hurts|hurting|pressure|ache
sensitive:emergency chest_pain: pain|pains _3 chest~
sensitive:emergency chest_pain: douleur|douleurs|mal ~3 poitrine|thoracique|thoraciques
sensitive:emergency heart: heart attack
sensitive:emergency heart: cardiac arrest
sensitive:emergency heart: crise|arret _1 cardiaque
sensitive:emergency heart: stroke|avc
sensitive:emergency breathing: cant|cannot|unable|not|trouble|difficulty|struggling|hard|stopped ~3 breathe~|breathing~
sensitive:emergency breathing: pas|plus|mal|difficulte|difficultes|peine ~3 respirer~|respire~
sensitive:emergency breathing: respire|respirer _1 pas|plus|mal|difficilement
sensitive:emergency breathing: etouffe|etouffer|suffoque|choking|suffocating
sensitive:emergency unconscious: unconscious~|inconscient~|inconsciente|unresponsive~|fainted|evanoui*|seizure~|seizures|convulsion*|overdose~|surdose|anaphyla*
sensitive:emergency unconscious: passed out
sensitive:emergency unconscious: allergic reaction
sensitive:emergency unconscious: fait|faire|fais _2 malaise
sensitive:emergency unconscious: he|she|husband|wife|partner|mother|father|mum|mom|dad|son|daughter|child|baby|someone|somebody|friend|colleague ~2 collapsed|collapse
sensitive:emergency bleeding: bleeding~ ~2 heavily|badly|lot|everywhere|profusely
sensitive:emergency bleeding: lot|lots _2 blood
sensitive:emergency bleeding: saigne|saignement|saigner _2 beaucoup|abondamment|enormement
sensitive:emergency bleeding: beaucoup _1 sang
sensitive:emergency fire: on fire
sensitive:emergency fire: house|home|kitchen|building|flat|apartment|garage|car|chimney|electrical _1 fire ! fire _1 insurance|cover|coverage|damage|alarm|alarms|extinguisher|safety|door|drill|risk|policy|claim
sensitive:emergency fire: caught|catching fire
sensitive:emergency fire: there|theres _2 fire|flames ! fire _1 insurance|cover|coverage|damage|alarm|alarms|extinguisher|safety|door|drill|risk|policy
sensitive:emergency fire: burning|burns|burnt|burned _2 down|house|home|kitchen|building|car|flat|apartment|garage
sensitive:emergency fire: house|home|kitchen|building|flat|apartment|garage|room|office ~3 burning|flames
sensitive:emergency fire: smoke _2 coming|everywhere|pouring|filling
sensitive:emergency fire: au feu
sensitive:emergency fire: y a _2 feu|incendie
sensitive:emergency fire: en|pris|prend|prendre feu
sensitive:emergency fire: maison|appartement|cuisine|voiture|immeuble|garage|batiment ~4 brule|brulent|bruler|flammes
sensitive:emergency fire: flammes
sensitive:emergency fire: au secours
sensitive:emergency gas: gas _1 leak|leaking
sensitive:emergency gas: smell|smells|smelling _2 gas
sensitive:emergency gas: fuite|odeur _2 gaz
sensitive:emergency gas: explosion|exploded
sensitive:emergency services: call|dial|ring _1 911|999|112
sensitive:emergency services: call|need|send|get|want _3 ambulance~|paramedics|paramedic|firefighters|firemen
sensitive:emergency services: call|need|send|get _3 fire brigade|department
sensitive:emergency services: appelez|appeler|appelle|faut|besoin|envoyez|envoyer _3 pompiers|samu|ambulance|secours|15|18|112
sensitive:emergency injury: accident|crash|collision|accidente ~8 injured|injuries|injury|hurt|bleeding|blesse|blesses|blessee|blessees|blessure|blessures|unconscious|dead|died|killed|mort|morts|tue|sang|blood
sensitive:emergency injury: injured|hurt|blesse|blessee|blesses ~8 accident|crash|collision
sensitive:emergency injury: badly|seriously|severely|gravement|grievement _2 hurt|injured|blesse|blessee|blesses|burned|burnt|brule|brulee
sensitive:emergency injury: someone|somebody|people ~2 hurt|injured
sensitive:emergency injury: y _1 a _3 blesses|blessee|blesse|morts
sensitive:emergency attack: being _1 attacked|followed|robbed
sensitive:emergency attack: someone|somebody ~3 breaking|broke|broken _1 in|into
sensitive:emergency attack: intruder|intruders|cambrioleur|cambrioleurs|agresse|agressee|agression
# The word alone, unless the message plainly asks about emergencies rather
# than reporting one.
sensitive:emergency emergency_word: emergency~|emergencies|urgence~|urgences ! case _2 emergency|emergencies|urgence ! emergency ~2 number|numbers|line|lines|phone|contact|contacts|fund|funds|exit|exits|brake|kit|cover|coverage|insurance|policy|plan|product ! numero|numeros|frais|cas|sortie|fonds _2 urgence|urgences ! counts|considered|qualifies _2 emergency|urgence ! not|pas|non _3 emergency|urgence|urgent

# --- self-harm and abuse (recall) ---
sensitive:vulnerable_customer self_harm: kill|killing|hurt|hurting|harm|harming|cut|cutting|end _1 myself~|meself
sensitive:vulnerable_customer self_harm: self _1 harm|harming
sensitive:vulnerable_customer self_harm: selfharm
sensitive:vulnerable_customer self_harm: me _1 suicider|tuer|blesser
sensitive:vulnerable_customer self_harm: me faire du mal
sensitive:vulnerable_customer end_life: end|ending|take|taking _3 life ! life _1 insurance|cover|policy|assurance
sensitive:vulnerable_customer end_life: end _1 it _1 all
sensitive:vulnerable_customer end_life: mettre|mets|met _1 fin _3 jours|vie
sensitive:vulnerable_customer end_life: en finir ! finir _1 avec|de|une
sensitive:vulnerable_customer end_life: finir _2 avec _2 vie
sensitive:vulnerable_customer suicide: suicide~|suicidal~|suicidaire~|suicider~|suicid*
sensitive:vulnerable_customer want_die: i|im|ill|id|je ~2 want|wanna|going|ready|rather|gonna _2 die
sensitive:vulnerable_customer want_die: wish _1 i _1 was|were _1 dead
sensitive:vulnerable_customer want_die: better _1 off _1 dead
sensitive:vulnerable_customer want_die: dont|not|no ~3 want|wish _2 live|living|alive|exist ! live _1 in|at|here|there|with|near|abroad|elsewhere
sensitive:vulnerable_customer want_die: no|nothing _3 reason|point|worth|left _3 live|living
sensitive:vulnerable_customer want_die: worth _1 living
sensitive:vulnerable_customer want_die: veux|voudrais|envie|prefere|prefererais|aimerais ~3 mourir
sensitive:vulnerable_customer want_die: plus|pas|marre|envie _4 vivre ! vivre _1 dans|a|en|chez|ici|au|aux
sensitive:vulnerable_customer abuse: being _1 abused|beaten|threatened
sensitive:vulnerable_customer abuse: he|she|husband|wife|partner|boyfriend|girlfriend|ex|father|mother|dad|mum|mom|son|daughter|brother|sister|spouse|carer|family ~3 abuses|abusing|beats|beating|hits|hitting|hurts|hurting|threatens|threatening|beat|hit|attacks|attacked|rapes|raped|abused|hurt|strangled|chokes|choked _1 me|us
sensitive:vulnerable_customer abuse: domestic _1 violence|abuse
sensitive:vulnerable_customer abuse: violence|violences _1 conjugale|conjugales|domestique|domestiques|familiale|familiales
sensitive:vulnerable_customer abuse: il|elle|mari|conjoint|conjointe|compagnon|compagne|copain|copine|femme|pere|mere|ex|fils|fille|frere _3 me|m _1 frappe|bat|battre|maltraite|menace|viole|violente|agresse|etrangle
sensitive:vulnerable_customer abuse: suis _2 battue|battu|frappee|violee|maltraitee
sensitive:vulnerable_customer abuse: maltraitance|raped|rape|viol
sensitive:vulnerable_customer abuse: afraid|scared|fear|terrified|frightened|fearing _4 my _1 life|safety
sensitive:vulnerable_customer abuse: peur _4 ma|mes _1 vie|securite

# --- legal threats (precision) ---
sensitive:legal_threat sue: sue|suing _2 you|u|your|ur|the|this|company|them|yall
sensitive:legal_threat sue: ill|will|gonna|going|to|shall|ll|would _1 sue
# A bare "lawyer" or "avocat" as the whole message is a threat, not a
# question about legal cover.
sensitive:legal_threat lawyer_alone: ^ lawyer|lawyers|attorney|solicitor|avocat|avocats $
sensitive:legal_threat lawsuit: lawsuit|lawsuits|litigation
sensitive:legal_threat lawsuit: class action
sensitive:legal_threat lawsuit: small claims
sensitive:legal_threat lawyer: my|our _1 lawyer~|lawyers|attorney~|attorneys|solicitor~|solicitors|barrister
sensitive:legal_threat lawyer: contact|contacting|call|calling|instruct|instructed|instructing|hire|hiring|hired|get|getting|consult|consulting|involve|involving|speak|speaking|talk|talking|engage|engaged _3 lawyer~|lawyers|attorney~|attorneys|solicitor~|solicitors
sensitive:legal_threat court: take|taking|see|bring|drag|dragging|sue|report _4 court|courts
sensitive:legal_threat court: legal _1 action|proceedings|steps|recourse|measures ! cover|covers|covered|insurance|protection _4 legal ! legal _2 cover|costs|expenses|protection|insurance|fees
sensitive:legal_threat ombudsman: report|reporting|complain|escalate|refer|referring|contact|contacting _4 ombudsman|regulator|mediateur|mediator|dgccrf|acpr|fca
sensitive:legal_threat avocat: mon|notre|ma _1 avocat~|avocats|avocate
sensitive:legal_threat avocat: contacter|prendre|consulter|saisir|voir|appeler|engager|prevenir|mandater _3 avocat~|avocats|avocate
sensitive:legal_threat demeure: mise|mettre|mets|mettons|met _1 en _1 demeure
sensitive:legal_threat plainte: porter|porte|porterai|porterons|deposer|depose|deposerai _1 plainte
sensitive:legal_threat plainte: plainte _2 contre
sensitive:legal_threat justice: en justice
sensitive:legal_threat justice: tribunal|tribunaux|prudhommes
sensitive:legal_threat justice: vais|allons|va _2 poursuivre|attaquer|assigner
sensitive:legal_threat justice: faire|intenter|intenterai _2 proces

# --- fraud (precision) ---
@TXN = charge charges charged transaction~ transactions~ payment~ payments~ purchase
@TXN += purchases debit debits debited withdrawal withdrawals withdrawn paiement~
@TXN += paiements~ prelevement~ prelevements~ achat achats retrait retraits operation
@TXN += operations virement virements
@NOTMINE = make made authorise authorize authorised authorized order ordered recognise
@NOTMINE += recognize recognised recognized buy bought approve approved request requested
# "A charge I didn't make" is fraud; "I didn't make the payment because the
# site crashed" is not, so the verb-first form needs a verb that only fits a
# transaction someone else made, or a pointing word ("these payments").
sensitive:fraud not_mine: @TXN ~8 i|we ~3 didnt|never|not|dont|havent _2 @NOTMINE
sensitive:fraud not_mine: didnt|never|not|dont|havent _2 authorise|authorize|authorised|authorized|recognise|recognize|recognised|recognized|approve|approved ~4 @TXN
sensitive:fraud not_mine: didnt|never|not|dont|havent _2 make|made|buy|bought|order|ordered _1 these|this|those|that _2 @TXN
sensitive:fraud not_mine: pas|jamais _2 fait|effectue|commande _1 ces|cet|cette|ce _1 @TXN
sensitive:fraud not_mine: pas|jamais _2 autorise|reconnais|valide ~4 @TXN
sensitive:fraud not_mine: @TXN ~8 je|j|n ~3 pas|jamais _2 fait|effectue|autorise|reconnais|commande|valide|demande
sensitive:fraud not_mine: reconnais|reconnait _1 pas ~4 @TXN
sensitive:fraud unauthorised: unauthorised~|unauthorized~|unrecognised|unrecognized|suspicious~|fraudulent~ _3 @TXN|access|use|login|activity|logins
sensitive:fraud unauthorised: @TXN _3 frauduleux|frauduleuse|frauduleuses|suspect|suspects|suspecte|suspectes|inconnu|inconnus|inconnue|inconnues
sensitive:fraud unauthorised: non _1 autorise|autorises|autorisee|autorisees
sensitive:fraud identity: identity~ ~2 theft|stolen|fraud|thief
sensitive:fraud identity: stole|stolen|steal|stealing|vole|volee _3 identity~|identite
sensitive:fraud identity: usurpation|usurpe|usurper _3 identite
sensitive:fraud identity: vol _2 identite
sensitive:fraud identity: pretending|pretends|impersonating|impersonate|impersonated _3 me
sensitive:fraud identity: passer _1 pour _1 moi
sensitive:fraud identity: someone|somebody|they|scammer|scammers ~6 in _1 my _1 name
sensitive:fraud identity: on _2 a|m _3 ouvert|souscrit|pris|commande|contracte ~4 a|en _1 mon _1 nom
sensitive:fraud hacked: hacked|hacker|hackers|piratage|phished
sensitive:fraud hacked: compte|carte|email|mail|telephone|messagerie|identifiants ~3 pirate|piratee|pirates|piratees
sensitive:fraud hacked: pirate|piratee|pirates _3 compte|carte|email|mail|telephone|messagerie|identifiants
sensitive:fraud hacked: account|card|details|password|email ~3 compromised
# Using a card or account is fraud; a stolen card alone is a lost-card
# question the knowledge base answers (block it, order a new one).
sensitive:fraud someone_used: someone|somebody|quelquun|quelqu|stranger|thief|thieves ~3 used|using|use|utilise|utilisee|utilisent|spent|withdrew|withdrawn|emptied|accessed|access|debite|retire|vide _3 card|carte|account|compte|money|argent|details|identity|identite|coordonnees|cb|credit|savings|epargne|password|mot ! can|could|may|will|would|should|allowed|let _3 someone|somebody|anyone|quelquun|quelqu
sensitive:fraud someone_used: someone|somebody|quelquun|quelqu|stranger|thief|thieves ~3 stole|stolen|steal|took|taken|vole|volee|pris ~3 money|argent|savings|epargne|identity|identite|details|coordonnees|password ! can|could|may|will|would|should|allowed|let _3 someone|somebody|anyone|quelquun|quelqu
sensitive:fraud report: report|reporting|signaler|signale|declarer _3 fraud|fraude|scam|scams|arnaque|escroquerie|fraudulent|frauduleux|frauduleuse|frauduleuses
sensitive:fraud victim: been|was|were|got|get|getting|being _2 scammed|defrauded|conned|tricked|hacked|phished
sensitive:fraud victim: victim|victime _3 fraud|scam|fraude|arnaque|escroquerie|usurpation|vol|piratage|phishing|hameconnage
sensitive:fraud victim: fait _1 arnaquer|escroquer|pirater|voler
sensitive:fraud victim: ete|suis _2 arnaque|arnaquee|escroque|escroquee

# --- cancelling a contract or policy (precision) ---
# Cancelling an order, an account or a newsletter is an ordinary question; a
# fee question is answerable whatever is being cancelled.
@CANCEL = cancel~ cancelling~ canceling~ cancellation~ cancelation~ cancelled canceled
@CANCEL += terminate~ terminating~ termination~ end ending stop stopping quit quitting
@CANCEL += resilier~ resilie resiliation~ resiliez annuler annule annulation arreter
@CANCEL += arrete rompre rupture
@CONTRACT = policy~ policies~ contract~ contracts~ insurance~ cover coverage
@CONTRACT += subscription~ subscriptions~ membership~ memberships contrat~ contrats police
@CONTRACT += polices assurance~ assurances abonnement~ abonnements adhesion mutuelle forfait
@NOTCONTRACT = fee fees cost costs charge charges penalty penalties frais penalite
@NOTCONTRACT += penalites cout coute combien much newsletter~ newsletters~ email emails
@NOTCONTRACT += mailing notifications alerts sms order orders commande commandes purchase
@NOTCONTRACT += achat
sensitive:contract_cancellation cancel_contract: @CANCEL ~4 @CONTRACT ! @NOTCONTRACT ! cancellation|cancelation|annulation _1 insurance|cover|coverage|protection|assurance ! end|fin _1 of|de|du|d
sensitive:contract_cancellation cancel_contract: resilier~|resiliation~|resilie|resiliez|resilierai ! @NOTCONTRACT
sensitive:contract_cancellation cancel_contract: mettre|mets|met _1 fin _3 @CONTRACT
sensitive:contract_cancellation cancel_contract: get _1 out _1 of _2 @CONTRACT
sensitive:contract_cancellation switch_provider: switch|switching|change|changing ~3 insurer|insurers|provider
sensitive:contract_cancellation switch_provider: changer _2 assureur|mutuelle|banque
sensitive:contract_cancellation switch_provider: loi _1 hamon|chatel
sensitive:contract_cancellation no_renewal: dont|not _1 want|wish _2 renew|renewing
sensitive:contract_cancellation no_renewal: souhaite|veux|voudrais|desire _2 pas|plus _2 renouveler
sensitive:contract_cancellation no_renewal: non _1 renouvellement

# --- complaints (precision) ---
# Declaring a complaint goes to a person; asking how the complaints process
# works is a question the knowledge base answers.
@COMPLAINT = complaint~ complaints~ grievance reclamation~ reclamations plainte plaintes
@ASKHOW = how where what which who whom can could should comment ou quelle quel quels
@ASKHOW += quelles puis peut peux est
sensitive:complaint formal: formal|official|formelle|officielle _2 @COMPLAINT ! ^ @ASKHOW ~6 @COMPLAINT ! procedure|process|policy|procedures|processus|politique
sensitive:complaint formal: @COMPLAINT _1 formelle|officielle ! ^ @ASKHOW ~6 @COMPLAINT
sensitive:complaint i_complain: i|im|we|ive|weve ~3 complain~|complaining~|complained ! ^ @ASKHOW ~6 complain|complaining
sensitive:complaint declare: want|wanna|wish|like|need|going|gonna|intend|demand|ill|will _3 file|make|lodge|raise|submit|register|open|put|send|making|filing|lodging|raising _3 @COMPLAINT ! ^ @ASKHOW ~6 @COMPLAINT
sensitive:complaint declare: veux|voudrais|souhaite|souhaiterais|vais|aimerais|desire|tiens _4 faire|deposer|adresser|formuler|envoyer|ouvrir|porter _3 @COMPLAINT ! ^ @ASKHOW ~6 @COMPLAINT
sensitive:complaint declare: veux|voudrais|souhaite|vais|tiens|aimerais _3 plaindre ! ^ @ASKHOW ~6 plaindre
sensitive:complaint declare: je _2 plains
sensitive:complaint declare: porte _1 reclamation
# Words customers keep for their anger at the company rather than for a
# question; "nul" only about the service, since "nulle part" is "nowhere".
sensitive:complaint outrage: disgraceful|disgrace|appalling|appalled|outraged|scandalous|shameful|disgusted|disgusting|furious|unacceptable|inadmissible|inacceptable|scandaleux|scandaleuse|scandalise|scandalisee|honteux|honteuse|lamentable|indigne|revoltant|revoltee|revolte
sensitive:complaint outrage: fed _1 up
sensitive:complaint outrage: sick _1 of
sensitive:complaint outrage: being|keep|keeps|kept _1 ignored|ignoring
sensitive:complaint outrage: sick _1 and _1 tired
sensitive:complaint outrage: worst _3 service|experience|company|support|insurer|shop|store
sensitive:complaint outrage: service|services|support|entreprise|societe|compagnie ~3 nul|nulle|minable|catastrophique|deplorable|pitoyable
sensitive:complaint unanswered: nobody|noone|personne ~1 answers|answered|answer|replies|replied|reply|responds|responded|respond|repond|reponds|repondu|rappelle|helps|cares|bothers
sensitive:complaint unanswered: no _1 one ~1 answers|answered|answer|replies|replied|reply|responds|responded|respond|helps|cares|bothers
sensitive:complaint unanswered: jamais _2 eu _1 de _1 reponse
`

// element is one step of a pattern.
type element struct {
	set   bitset
	gap   int  // words allowed before this element
	light bool // the skipped words must be in @LIGHT
}

type pattern struct {
	anchored bool // the first element must be the first word
	ended    bool // the last element must be the last word
	els      []element
}

type rule struct {
	intent string
	topic  string
	name   string
	pat    pattern
	vetoes []pattern
}

// ruleSet is the compiled rules, grouped by the stage of Classify that runs
// them.
type ruleSet struct {
	lex   *lexicon
	light bitset
	// bare-request words: a message made only of these and at least one
	// person word ("agent", "human please", "un conseiller svp") asks for a
	// person.
	bareOK   bitset
	bareRole bitset
	safety   []rule // emergencies and self-harm
	precise  []rule // legal, fraud, cancellation, complaint
	human    []rule
}

func compileRules(src string) (*ruleSet, error) {
	type rawRule struct {
		line   int
		label  string
		name   string
		pat    string
		vetoes []string
	}
	lex := newLexicon()
	concepts := map[string][]int32{}
	var raws []rawRule

	// First pass: intern every word and resolve concepts, so that bitsets
	// can be sized once the vocabulary is complete.
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			name, words, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("rules line %d: concept without \"=\"", n)
			}
			name = strings.TrimSpace(name)
			extend := strings.HasSuffix(name, "+")
			name = strings.TrimSpace(strings.TrimSuffix(name, "+"))
			if _, exists := concepts[name]; exists && !extend {
				return nil, fmt.Errorf("rules line %d: concept %s defined twice", n, name)
			}
			for _, w := range strings.Fields(words) {
				if strings.HasPrefix(w, "@") {
					ids, ok := concepts[w]
					if !ok {
						return nil, fmt.Errorf("rules line %d: unknown concept %s", n, w)
					}
					concepts[name] = append(concepts[name], ids...)
					continue
				}
				concepts[name] = append(concepts[name], lex.add(w))
			}
			continue
		}
		head, body, ok := strings.Cut(line, ":")
		// The label itself may contain a colon ("sensitive:fraud name: ...").
		if ok && strings.HasPrefix(head, "sensitive") {
			var rest string
			rest, body, ok = strings.Cut(body, ":")
			head = head + ":" + rest
		}
		fields := strings.Fields(head)
		if !ok || len(fields) != 2 {
			return nil, fmt.Errorf("rules line %d: want \"LABEL NAME: PATTERN\"", n)
		}
		parts := strings.Split(body, "!")
		raws = append(raws, rawRule{line: n, label: fields[0], name: fields[1], pat: parts[0], vetoes: parts[1:]})
		for _, p := range parts {
			for _, tok := range strings.Fields(p) {
				for _, alt := range strings.Split(tok, "|") {
					if alt != "" && alt != "^" && alt != "$" && !strings.HasPrefix(alt, "@") && !isGap(alt) {
						lex.add(alt)
					}
				}
			}
		}
	}

	toSet := func(ids []int32) bitset {
		b := newBitset(lex.size)
		for _, id := range ids {
			b.set(id)
		}
		return b
	}
	need := func(name string) (bitset, error) {
		ids, ok := concepts[name]
		if !ok {
			return nil, fmt.Errorf("rules: concept %s is required", name)
		}
		return toSet(ids), nil
	}
	rs := &ruleSet{lex: lex}
	var err error
	if rs.light, err = need("@LIGHT"); err != nil {
		return nil, err
	}
	if rs.bareRole, err = need("@PERSON_ROLE"); err != nil {
		return nil, err
	}
	bare := append(append([]int32(nil), concepts["@LIGHT"]...), concepts["@PERSON_ANY"]...)
	rs.bareOK = toSet(append(bare, concepts["@REAL"]...))

	compile := func(line int, src string) (pattern, error) {
		var p pattern
		gap, light := 0, false
		for _, tok := range strings.Fields(src) {
			switch {
			case tok == "^":
				if len(p.els) > 0 {
					return p, fmt.Errorf("rules line %d: \"^\" must come first", line)
				}
				p.anchored = true
				continue
			case tok == "$":
				p.ended = true
				continue
			case p.ended:
				return p, fmt.Errorf("rules line %d: \"$\" must come last", line)
			case isGap(tok):
				g, _ := strconv.Atoi(tok[1:])
				gap, light = g, tok[0] == '_'
				continue
			}
			var ids []int32
			for _, alt := range strings.Split(tok, "|") {
				switch {
				case alt == "":
					return p, fmt.Errorf("rules line %d: empty alternative in %q", line, tok)
				case strings.HasPrefix(alt, "@"):
					c, ok := concepts[alt]
					if !ok {
						return p, fmt.Errorf("rules line %d: unknown concept %s", line, alt)
					}
					ids = append(ids, c...)
				default:
					ids = append(ids, lex.add(alt))
				}
			}
			p.els = append(p.els, element{set: toSet(ids), gap: gap, light: light})
			gap, light = 0, false
		}
		if len(p.els) == 0 {
			return p, fmt.Errorf("rules line %d: empty pattern", line)
		}
		return p, nil
	}
	for _, r := range raws {
		intent, topic, err := parseIntentLabel(r.label)
		if err != nil {
			return nil, fmt.Errorf("rules line %d: %w", r.line, err)
		}
		pat, err := compile(r.line, r.pat)
		if err != nil {
			return nil, err
		}
		ru := rule{intent: intent, topic: topic, name: r.name, pat: pat}
		for _, v := range r.vetoes {
			vp, err := compile(r.line, v)
			if err != nil {
				return nil, err
			}
			ru.vetoes = append(ru.vetoes, vp)
		}
		switch {
		case intent == IntentHumanRequest:
			rs.human = append(rs.human, ru)
		case topic == TopicEmergency || topic == TopicVulnerableCustomer:
			rs.safety = append(rs.safety, ru)
		case intent == IntentSensitive:
			rs.precise = append(rs.precise, ru)
		default:
			return nil, fmt.Errorf("rules line %d: rules may only label human_request or sensitive topics", r.line)
		}
	}
	return rs, nil
}

func isGap(tok string) bool {
	if len(tok) < 2 || (tok[0] != '_' && tok[0] != '~') {
		return false
	}
	_, err := strconv.Atoi(tok[1:])
	return err == nil
}

// first returns the first rule of rules that fires on t.
func (rs *ruleSet) first(rules []rule, t tokens) (rule, bool) {
	for _, r := range rules {
		if rs.matches(r.pat, t) && !rs.vetoed(r, t) {
			return r, true
		}
	}
	return rule{}, false
}

func (rs *ruleSet) vetoed(r rule, t tokens) bool {
	for _, v := range r.vetoes {
		if rs.matches(v, t) {
			return true
		}
	}
	return false
}

func (rs *ruleSet) matches(p pattern, t tokens) bool {
	end := t.len()
	if p.anchored {
		end = min(end, 1)
	}
	for i := 0; i < end; i++ {
		if p.els[0].set.hasAny(t.at(i)) && rs.matchFrom(p, 1, t, i+1) {
			return true
		}
	}
	return false
}

// matchFrom matches p.els[k:] starting at word pos, trying every allowed
// gap. Patterns are short and gaps small, so the backtracking stays cheap.
func (rs *ruleSet) matchFrom(p pattern, k int, t tokens, pos int) bool {
	if k == len(p.els) {
		return !p.ended || pos == t.len()
	}
	e := p.els[k]
	for j := pos; j <= pos+e.gap && j < t.len(); j++ {
		if j > pos && e.light && !rs.light.hasAny(t.at(j-1)) {
			return false
		}
		if e.set.hasAny(t.at(j)) && rs.matchFrom(p, k+1, t, j+1) {
			return true
		}
	}
	return false
}

// bareRequest reports whether every word of t is a person word or filler,
// with at least one word naming a role ("agent", "human please") or a real
// person ("une vraie personne").
func (rs *ruleSet) bareRequest(t tokens) bool {
	role := false
	for i := 0; i < t.len(); i++ {
		ids := t.at(i)
		if !rs.bareOK.hasAny(ids) {
			return false
		}
		if rs.bareRole.hasAny(ids) {
			role = true
		}
	}
	return role
}
