/*
 * gen_inputs.c - synthetic emails, contact forms and UBL orders, one file
 * per input, for the benchmarks.
 *
 *   gen_inputs CHANNEL N SEED DIR
 *
 *   email  DIR/mail-NNNNNNN.eml: customer emails to the complaints mailbox
 *          (source complaints-inbox), 5 to 30 KB
 *   form   DIR/contact-NNNNNNN.form: urlencoded posts of the contact form
 *          (source web-contact)
 *   xml    DIR/order-NNNNNNN.xml: UBL 2.1 Order documents (source
 *          erp-orders)
 *
 * DIR must exist. The files depend only on CHANNEL, N and SEED (own PRNG,
 * no rand(), no clock): input i is a pure function of (SEED, i). On
 * success one line goes to stdout:
 *
 *   files=N bytes=TOTAL min=BYTES max=BYTES expect_records=R expect_unmapped=U
 *
 * where R inputs should each give one record and U (emails only) are not
 * complaints, so that the source maps nothing and they are quarantined.
 *
 * Emails. Headers as a mailbox receives them (Return-Path, Received, a
 * DKIM signature, sometimes ARC headers), From with the customer's name,
 * Subject in RFC 2047 encoded words (Q or B, UTF-8 or ISO-8859-1) when it
 * is not ASCII, a distinct Message-ID each. Bodies, by share of messages:
 * text/plain UTF-8 8bit 20 %, text/plain UTF-8 quoted-printable 15 %,
 * text/plain ISO-8859-1 quoted-printable 15 %, multipart/alternative
 * (text + HTML) quoted-printable 25 %, the same in base64 10 %, text/html
 * alone 5 %, multipart/mixed of an alternative and a small PDF-ish
 * attachment in base64 10 %. About a third are replies quoting the earlier
 * exchange; a third use CRLF line ends. ISO-8859-1 bodies carry the
 * Windows-1252 bytes mail clients put there (euro sign, curly apostrophe,
 * œ). 80 % say "réclamation", "litige"... in the subject, 15 % only in the
 * text, 5 % are questions that match neither (expect_unmapped). The text
 * of a message stays under the complaint's 20,000 characters.
 *
 * Forms. The fields of fixtures/forms/contact-*.form in the browser's
 * order, urlencoded ('+' for spaces, CRLF line ends in the message as
 * browsers send them), phone numbers and emails written in the ways people
 * type them; 15 % are posted in windows-1252 with _charset_. Every email is
 * distinct, so no post is a duplicate of another.
 *
 * Orders. The UBL elements erp-orders picks plus the usual others (UUID,
 * notes, delivery, monetary totals), 1 to 8 lines; order numbers
 * CMD-<2027 + i / 10000>-<i % 10000> (some in lower case, the source
 * upper-cases them), valid SIRETs.
 *
 * Every output is built in a bounded buffer; an overflow (impossible with
 * these tables) stops the run. Exit codes: 0 done, 1 write error, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prng.h"

#define MAX_INPUTS 10000000ULL
#define BUF_MAX (256u * 1024u)
/* Plain text of one email, under the complaint schema's 20,000 characters. */
#define TEXT_MAX 15000u
/* Sizes of the emails, CRLF included. */
#define EMAIL_MIN_BYTES (5u * 1024u)
#define EMAIL_MAX_BYTES (30u * 1024u)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define PICK(rng, a) ((a)[below((rng), COUNT(a))])

/* ---- bounded buffers ---- */

struct buf {
	char d[BUF_MAX];
	size_t len;
	int overflow;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (n > sizeof(b->d) - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->d + b->len, s, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putc_(struct buf *b, char c)
{
	put(b, &c, 1);
}

static void putu(struct buf *b, uint64_t v, unsigned width)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 || sizeof(tmp) - i < width);
	put(b, tmp + i, sizeof(tmp) - i);
}

__attribute__((format(printf, 2, 3))) static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->overflow = 1;
		return;
	}
	put(b, tmp, (size_t)n);
}

static const char hexdig[] = "0123456789ABCDEF";
static const char b64dig[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* n random base64 characters (signatures, tokens). */
static void put_b64_noise(struct buf *b, uint64_t *rng, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putc_(b, b64dig[below(rng, 64)]);
}

/* ---- the people and places ---- */

struct name {
	const char *text;  /* as written, UTF-8 */
	const char *ascii; /* for the email local part */
};

static const struct name first_names[] = {
	{"Hélène", "helene"},     {"François", "francois"}, {"Zoë", "zoe"},
	{"Anaïs", "anais"},       {"Noël", "noel"},         {"Cécile", "cecile"},
	{"Loïc", "loic"},         {"Gaëlle", "gaelle"},     {"Agnès", "agnes"},
	{"Jérôme", "jerome"},     {"Théo", "theo"},         {"Ève", "eve"},
	{"Raphaël", "raphael"},   {"Inès", "ines"},         {"Élodie", "elodie"},
	{"Aurélien", "aurelien"}, {"Stéphanie", "stephanie"}, {"Joël", "joel"},
	{"Chloé", "chloe"},       {"Benoît", "benoit"},     {"Clémence", "clemence"},
	{"Frédéric", "frederic"}, {"Marc", "marc"},         {"Sophie", "sophie"},
	{"Thomas", "thomas"},     {"Nathalie", "nathalie"}, {"Jean-Noël", "jean-noel"},
	{"Renée", "renee"},       {"Patrick", "patrick"},   {"Isabelle", "isabelle"},
	{"Michel", "michel"},     {"Sylvie", "sylvie"},
};

static const struct name last_names[] = {
	{"Dupré", "dupre"},       {"Lefèvre", "lefevre"},   {"Château", "chateau"},
	{"Béranger", "beranger"}, {"Frémont", "fremont"},   {"Garçon", "garcon"},
	{"Pérès", "peres"},       {"Séguin", "seguin"},     {"Ménard", "menard"},
	{"Marçais", "marcais"},   {"Dubœuf", "duboeuf"},    {"Crémieux", "cremieux"},
	{"Lhôte", "lhote"},       {"Béguin", "beguin"},     {"Vergès", "verges"},
	{"Prévôt", "prevot"},     {"Lemaître", "lemaitre"}, {"Fauré", "faure"},
	{"Hébert", "hebert"},     {"Lévêque", "leveque"},   {"Rivière", "riviere"},
	{"Kerjean", "kerjean"},   {"Martin", "martin"},     {"Bernard", "bernard"},
	{"Moreau", "moreau"},     {"Le Goff", "legoff"},    {"Müller", "muller"},
	{"Petit", "petit"},       {"Durand", "durand"},     {"Leroy", "leroy"},
	{"Roux", "roux"},         {"Fournier", "fournier"},
};

static const char *const domains[] = {
	"example.fr", "example.com", "example.org", "example.net",
};

static const struct {
	const char *postcode;
	const char *city;
} cities[] = {
	{"75002", "Paris"},          {"75011", "Paris"},        {"69003", "Lyon"},
	{"13008", "Marseille"},      {"31000", "Toulouse"},     {"06000", "Nice"},
	{"44000", "Nantes"},         {"67000", "Strasbourg"},   {"33000", "Bordeaux"},
	{"59000", "Lille"},          {"35000", "Rennes"},       {"42000", "Saint-Étienne"},
	{"38000", "Grenoble"},       {"21000", "Dijon"},        {"30000", "Nîmes"},
	{"25000", "Besançon"},       {"45000", "Orléans"},      {"88000", "Épinal"},
	{"27000", "Évreux"},         {"34500", "Béziers"},      {"16000", "Angoulême"},
	{"01000", "Bourg-en-Bresse"}, {"20000", "Ajaccio"},     {"94240", "L'Haÿ-les-Roses"},
};

static const char *const streets[] = {
	"rue de la Paix",       "chemin des Écoliers", "allée des Châtaigniers",
	"place de l'Église",    "avenue Jean Jaurès",  "rue du Général Leclerc",
	"boulevard Gambetta",   "impasse de la Forêt", "rue Étienne Marcel",
	"rue des Pêcheurs",     "route de Besançon",   "allée des Mûriers",
};

static const char *const company_kinds[] = {
	"Boulangerie", "Garage", "SCI", "Hôtel", "Pâtisserie", "Crèche", "Cabinet",
	"Pharmacie", "Fromagerie", "Brasserie",
};

static const char *const company_suffixes[] = {" SARL", " SAS", "", " & Fils", " EURL"};

struct person {
	const struct name *first, *last;
	char email[128];
	char phone[32];   /* as the person writes it */
	char company[128];
	const char *street;
	unsigned number;
	unsigned city;
};

/* A person drawn from rng; the email is unique to `id`. */
static void person_make(struct person *p, uint64_t *rng, uint64_t id)
{
	p->first = &PICK(rng, first_names);
	p->last = &PICK(rng, last_names);
	snprintf(p->email, sizeof(p->email), "%s.%s.%" PRIx64 "@%s", p->first->ascii,
		 p->last->ascii, id, PICK(rng, domains));
	uint64_t r = next64(rng);
	static const char lead[] = "6712345";
	char c = lead[r % (sizeof(lead) - 1)];
	/* 10..38 after the leading digit: never an overseas prefix (0262,
	 * 0639, 0690...), which the normalizer would rightly read as one. */
	unsigned a = 10 + (unsigned)(r >> 8) % 29, b = (unsigned)(r >> 16) % 100,
		 d = (unsigned)(r >> 24) % 100, e = (unsigned)(r >> 32) % 100;
	switch ((r >> 40) % 5) {
	case 0:
		snprintf(p->phone, sizeof(p->phone), "0%c %02u %02u %02u %02u", c, a, b, d, e);
		break;
	case 1:
		snprintf(p->phone, sizeof(p->phone), "0%c%02u%02u%02u%02u", c, a, b, d, e);
		break;
	case 2:
		snprintf(p->phone, sizeof(p->phone), "+33 %c %02u %02u %02u %02u", c, a, b, d, e);
		break;
	case 3:
		snprintf(p->phone, sizeof(p->phone), "+33 (0)%c %02u %02u %02u %02u", c, a, b, d, e);
		break;
	default:
		snprintf(p->phone, sizeof(p->phone), "0%c.%02u.%02u.%02u.%02u", c, a, b, d, e);
		break;
	}
	snprintf(p->company, sizeof(p->company), "%s %s%s", PICK(rng, company_kinds),
		 p->last->text, PICK(rng, company_suffixes));
	p->street = PICK(rng, streets);
	p->number = 1 + (unsigned)below(rng, 120);
	p->city = (unsigned)below(rng, COUNT(cities));
}

/* ---- text with placeholders ---- */

/* What a template's {X} stands for. */
struct vars {
	char order[16];   /* {O} CMD-2026-NNNN */
	char offer[16];   /* {D} DEV-2026-NNNN */
	char date[16];    /* {J} 12/11/2026 */
	char amount[24];  /* {M} 2 310,45 € */
	char invoice[16]; /* {F} F-2026-NNNN */
	const char *tech; /* {T} */
	const char *equip; /* {E}, a feminine noun */
};

static const char *const technicians[] = {
	"M. Garnier", "Kévin", "le technicien", "M. Rousseau", "Mme Faucher", "Jérémie",
};

static const char *const equipments[] = {
	"chaudière", "pompe à chaleur", "climatisation", "chaudière à condensation",
	"pompe à chaleur air/eau", "VMC double flux",
};

static void vars_make(struct vars *v, uint64_t *rng)
{
	snprintf(v->order, sizeof(v->order), "CMD-2026-%04u", (unsigned)below(rng, 10000));
	snprintf(v->offer, sizeof(v->offer), "DEV-2026-%04u", (unsigned)below(rng, 10000));
	snprintf(v->date, sizeof(v->date), "%02u/11/2026", 1 + (unsigned)below(rng, 20));
	unsigned euros = 80 + (unsigned)below(rng, 9000), cents = (unsigned)below(rng, 100);
	if (euros >= 1000)
		snprintf(v->amount, sizeof(v->amount), "%u %03u,%02u €", euros / 1000, euros % 1000,
			 cents);
	else
		snprintf(v->amount, sizeof(v->amount), "%u,%02u €", euros, cents);
	snprintf(v->invoice, sizeof(v->invoice), "F-2026-%04u", (unsigned)below(rng, 10000));
	v->tech = PICK(rng, technicians);
	v->equip = PICK(rng, equipments);
}

static void put_tpl(struct buf *b, const char *t, const struct vars *v)
{
	for (const char *p = t; *p; p++) {
		if (*p != '{' || !p[1] || p[2] != '}') {
			putc_(b, *p);
			continue;
		}
		switch (p[1]) {
		case 'O': puts_(b, v->order); break;
		case 'D': puts_(b, v->offer); break;
		case 'J': puts_(b, v->date); break;
		case 'M': puts_(b, v->amount); break;
		case 'F': puts_(b, v->invoice); break;
		case 'T': puts_(b, v->tech); break;
		case 'E': puts_(b, v->equip); break;
		default: put(b, p, 3); break;
		}
		p += 2;
	}
}

/* ---- what the emails say ---- */

/* Subjects that name a complaint (the source's "when" matches them). */
static const char *const subjects_complaint[] = {
	"Réclamation : facture {O}",
	"Réclamation concernant l’intervention du {J}",
	"Litige sur la commande {O}",
	"RE: Réclamation devis {D}",
	"Plainte : {E} toujours en panne",
	"Pas satisfait de l’installation – commande {O}",
	"Mécontentement suite à votre passage du {J}",
	"TR: litige facture {F} – relance",
	"reclamation urgente !!",
	"Réclamation n°2 – toujours aucune réponse ({O})",
	"RÉCLAMATION – {E} défectueuse",
	"Très mécontente du service après-vente",
	"Litige – montant facturé {M}",
	"Fwd: Réclamation client {D}",
};

/* Subjects that do not, for messages whose text does. */
static const char *const subjects_neutral[] = {
	"Suite à votre intervention du {J}",
	"Facture {F}",
	"{E} en panne depuis lundi",
	"RE: Votre devis {D}",
	"Commande {O}",
	"Rendez-vous du {J}",
};

/* Subjects of questions (no complaint anywhere). */
static const char *const subjects_question[] = {
	"Demande de renseignements",
	"Question sur le contrat d’entretien",
	"Prise de rendez-vous pour l’entretien annuel",
	"Devis pour une {E}",
};

static const char *const greetings[] = {
	"Bonjour,", "Madame, Monsieur,", "Bonjour Madame, Monsieur,", "Bonsoir,",
	"Bonjour à toute l’équipe,",
};

/* Paragraphs that say it is a complaint (the text rule matches them). */
static const char *const paras_complaint[] = {
	"Je me permets de vous écrire pour déposer une réclamation concernant l’intervention "
	"de {T} le {J}. Depuis son passage, notre {E} s’arrête plusieurs fois par jour et "
	"affiche un code d’erreur que personne ne sait nous expliquer.",
	"Je ne suis pas satisfait du tout : la facture {F} indique {M} alors que le devis "
	"{D} que nous avions signé prévoyait un montant bien inférieur, sans qu’aucun "
	"supplément ne nous ait été annoncé.",
	"Nous sommes très mécontents de la façon dont notre dossier est traité. Voilà trois "
	"semaines que nous attendons la pièce promise pour la {E}, et chaque appel au "
	"standard se termine par « on vous rappelle ».",
	"Je vous informe que je considère ce dossier comme un litige tant que la commande "
	"{O} n’aura pas été livrée complète. Il manque toujours le kit de raccordement et "
	"le thermostat, pourtant facturés.",
	"Par la présente, je formule une réclamation officielle : le technicien a laissé "
	"le chantier dans un état déplorable (gravats dans le garage, traces de suie sur le "
	"mur) et n’a pas remis en service la {E} avant de partir.",
	"Je suis mécontente de constater que ma demande du {J} est restée sans réponse. "
	"Je vous rappelle que l’appareil est toujours sous garantie et que nous sommes "
	"sans eau chaude depuis plus d’une semaine.",
	"Je ne suis pas satisfaite de la réponse de votre service client, qui me renvoie "
	"vers le fabricant alors que c’est bien votre entreprise qui a posé la {E} et qui "
	"m’a facturé la mise en service ({M}).",
};

/* Paragraphs without a complaint word, for every kind of message. */
static const char *const paras_neutral[] = {
	"Pour rappel, l’installation a été réalisée en septembre par votre équipe, et le "
	"contrat d’entretien a été souscrit le même jour. Vous trouverez toutes les "
	"références dans votre dossier client, au nom de la société ou au mien.",
	"Le {J}, {T} est venu pour la visite annuelle. Il a changé le joint du "
	"circulateur, nettoyé le filtre et vérifié la pression du vase d’expansion. "
	"Le soir même, la {E} s’est mise en sécurité à deux reprises.",
	"J’ai essayé de joindre votre agence à plusieurs reprises au numéro indiqué sur "
	"la facture, sans succès : la ligne sonne dans le vide après 17 h et le répondeur "
	"est saturé le matin. Un courriel me semble donc la meilleure solution.",
	"Nous avons deux enfants en bas âge et les températures sont descendues sous les "
	"cinq degrés cette semaine ; nous chauffons la maison avec un radiateur d’appoint "
	"prêté par un voisin, ce qui ne peut pas durer.",
	"Je vous joins les photos de l’écran de la {E} et du compteur, ainsi que la copie "
	"du devis {D}. Le numéro de série figure sur l’étiquette à l’arrière de "
	"l’appareil, à côté de la date de fabrication.",
	"Je souhaiterais qu’un technicien repasse dans les meilleurs délais, idéalement "
	"un matin en semaine, car je travaille l’après-midi. Je peux aussi me libérer "
	"le samedi si c’est plus simple pour votre planning.",
	"Je vous demande également de m’adresser une facture rectificative et, le cas "
	"échéant, un avoir correspondant à la différence, afin que je puisse régler le "
	"solde restant par virement comme convenu.",
	"Votre commercial nous avait assuré que la pose se ferait en une journée. Elle en "
	"a finalement pris trois, pendant lesquelles nous n’avons eu ni chauffage ni eau "
	"chaude, et personne ne nous a prévenus du retard.",
	"Le voyant rouge clignote trois fois puis s’éteint, et l’écran affiche « E133 ». "
	"D’après la notice, il s’agirait d’un défaut d’allumage, mais l’arrivée de gaz "
	"a été contrôlée par GRDF la semaine dernière.",
	"Nous sommes clients chez vous depuis plus de dix ans et nous avons toujours été "
	"bien servis ; c’est pourquoi la situation actuelle nous surprend d’autant plus.",
	"Pouvez-vous me confirmer par retour de courriel la date et le créneau de "
	"l’intervention, ainsi que le nom du technicien ? Le code du portail est le 2580, "
	"et il faut sonner à l’interphone « Bâtiment B ».",
	"Pour information, le paiement de l’acompte de 30 % a été effectué le {J} par "
	"virement (référence {F}), et le solde devait être réglé à la mise en service.",
};

/* What the company wrote before, quoted in replies. */
static const char *const paras_reply[] = {
	"Bonjour,\n\nNous accusons bonne réception de votre message et vous remercions "
	"de nous avoir contactés. Votre demande a été transmise au responsable de "
	"l’agence, qui reviendra vers vous sous 48 heures ouvrées.",
	"Un technicien passera chez vous le {J} entre 8 h et 12 h. Merci de nous "
	"confirmer votre présence en répondant à ce message.",
	"Nous avons vérifié votre dossier : la facture {F} correspond aux travaux "
	"réalisés selon le devis {D} et aux pièces remplacées lors de l’intervention.",
	"Cordialement,\n\nLe service clients\nThermeo Services SARL\n12 rue des Artisans, "
	"69003 Lyon\nTél. 04 72 00 00 00 – du lundi au vendredi, de 8 h 30 à 18 h",
};

static const char *const questions[] = {
	"Je souhaiterais connaître les conditions de votre contrat d’entretien pour une "
	"{E} installée il y a cinq ans, ainsi que le tarif annuel.",
	"Serait-il possible de prendre rendez-vous pour la visite annuelle au début du "
	"mois prochain ? Je suis disponible tous les matins.",
	"Proposez-vous des facilités de paiement pour le remplacement d’une {E} ? Nous "
	"avons reçu une aide de l’État et voudrions savoir comment elle se déduit.",
};

static const char *const closings[] = {
	"Dans l’attente de votre retour, je vous prie d’agréer, Madame, Monsieur, "
	"l’expression de mes salutations distinguées.",
	"Merci de faire le nécessaire rapidement.\n\nCordialement,",
	"Je compte sur vous pour régler ce problème au plus vite.\n\nBien cordialement,",
	"Merci d’avance pour votre réponse.\n\nCordialement,",
	"Sans réponse de votre part sous huit jours, je saisirai le médiateur de la "
	"consommation.\n\nSalutations,",
};

static const char *const mailers[] = {
	"User-Agent: Mozilla Thunderbird",
	"X-Mailer: Apple Mail (2.3774.300.61.1.2)",
	"X-Mailer: Microsoft Outlook 16.0",
	"X-Mailer: iPhone Mail (21F90)",
	"User-Agent: Roundcube Webmail/1.6.6",
	"X-Mailer: Zimbra 9.0.0_GA_4546 (ZimbraWebClient - FF125 (Win)/9.0.0_GA_4546)",
};

static const char *const weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const weekdays_fr[] = {"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."};

/* Wraps UTF-8 text at about `width` columns on spaces, each line started
 * with `prefix` (quoting); blank lines get the prefix without its space. */
static void put_wrapped(struct buf *b, const char *s, size_t n, size_t width, const char *prefix)
{
	size_t i = 0;
	while (i < n) {
		size_t eol = i;
		while (eol < n && s[eol] != '\n')
			eol++;
		if (eol == i) {
			if (*prefix)
				put(b, prefix, 1);
			putc_(b, '\n');
			i++;
			continue;
		}
		while (i < eol) {
			size_t end = eol, cols = 0, last_space = 0;
			for (size_t k = i; k < eol; k++) {
				if (((unsigned char)s[k] & 0xC0) != 0x80)
					cols++;
				if (s[k] == ' ')
					last_space = k;
				if (cols > width && last_space > i) {
					end = last_space;
					break;
				}
			}
			puts_(b, prefix);
			put(b, s + i, end - i);
			putc_(b, '\n');
			i = end < eol ? end + 1 : eol;
		}
		if (i < n)
			i++; /* the '\n' */
	}
}

/* UTF-8 to ISO-8859-1 as mail clients write it, that is Windows-1252 for
 * the few characters ISO-8859-1 lacks; anything else becomes '?'. */
static void to_latin1(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		unsigned cp;
		size_t k;
		if (c < 0x80)
			cp = c, k = 1;
		else if ((c & 0xE0) == 0xC0 && i + 1 < n)
			cp = ((c & 0x1Fu) << 6) | ((unsigned char)s[i + 1] & 0x3Fu), k = 2;
		else if ((c & 0xF0) == 0xE0 && i + 2 < n)
			cp = ((c & 0x0Fu) << 12) | (((unsigned char)s[i + 1] & 0x3Fu) << 6) |
			     ((unsigned char)s[i + 2] & 0x3Fu),
			k = 3;
		else
			cp = '?', k = 1;
		i += k;
		char o;
		if (cp < 0x100)
			o = (char)cp;
		else if (cp == 0x20AC)
			o = (char)0x80;
		else if (cp == 0x2019)
			o = (char)0x92;
		else if (cp == 0x2013)
			o = (char)0x96;
		else if (cp == 0x2026)
			o = (char)0x85;
		else if (cp == 0x0153)
			o = (char)0x9C;
		else if (cp == 0x0152)
			o = (char)0x8C;
		else if (cp == 0x0178)
			o = (char)0x9F;
		else
			o = '?';
		putc_(out, o);
	}
}

/* Quoted-printable (RFC 2045), "\n" line ends, soft breaks before 76. */
static void put_qp(struct buf *b, const char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			putc_(b, '\n');
			col = 0;
			continue;
		}
		int lit = (c >= 33 && c <= 126 && c != '=') ||
			  ((c == ' ' || c == '\t') && i + 1 < n && s[i + 1] != '\n');
		size_t w = lit ? 1 : 3;
		if (col + w > 75) {
			puts_(b, "=\n");
			col = 0;
		}
		if (lit) {
			putc_(b, (char)c);
		} else {
			putc_(b, '=');
			putc_(b, hexdig[c >> 4]);
			putc_(b, hexdig[c & 15]);
		}
		col += w;
	}
	putc_(b, '\n');
}

/* Base64 (RFC 2045), 76-character lines. */
static void put_base64(struct buf *b, const unsigned char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		char q[4] = {b64dig[(v >> 18) & 63], b64dig[(v >> 12) & 63],
			     i + 1 < n ? b64dig[(v >> 6) & 63] : '=', i + 2 < n ? b64dig[v & 63] : '='};
		put(b, q, 4);
		col += 4;
		if (col >= 76) {
			putc_(b, '\n');
			col = 0;
		}
	}
	if (col)
		putc_(b, '\n');
}

/* A header whose value may need RFC 2047 encoded words (Subject, display
 * names): ASCII as is, else encoded words of whole characters, at most 75
 * characters each, folded. latin1: the words carry ISO-8859-1. */
static void put_encoded_words(struct buf *b, const char *s, int latin1, int base64)
{
	size_t n = strlen(s);
	int ascii = 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		puts_(b, s);
		return;
	}
	static struct buf bytes;
	bytes.len = 0;
	bytes.overflow = 0;
	if (latin1)
		to_latin1(&bytes, s, n);
	else
		put(&bytes, s, n);
	if (bytes.overflow) {
		b->overflow = 1;
		return;
	}
	const char *cs = latin1 ? "ISO-8859-1" : "UTF-8";
	size_t i = 0, first = 1;
	while (i < bytes.len) {
		/* Take whole characters while the word stays within 75 columns. */
		size_t room = 75 - strlen(cs) - 7, j = i, cost = 0;
		while (j < bytes.len) {
			size_t k = 1;
			unsigned char c = (unsigned char)bytes.d[j];
			if (!latin1 && c >= 0xC0)
				k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			size_t add = 0;
			for (size_t m = 0; m < k && j + m < bytes.len; m++) {
				unsigned char e = (unsigned char)bytes.d[j + m];
				int lit = (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
					  (e >= 'A' && e <= 'Z') || e == ' ' || e == '-' || e == '!';
				add += lit ? 1 : 3;
			}
			size_t next = base64 ? (j + k - i + 2) / 3 * 4 : cost + add;
			if (next > room && j > i)
				break;
			cost += add;
			j += k;
		}
		if (!first)
			puts_(b, "\n ");
		first = 0;
		putf(b, "=?%s?%c?", cs, base64 ? 'B' : 'Q');
		if (base64) {
			static struct buf enc;
			enc.len = 0;
			enc.overflow = 0;
			put_base64(&enc, (const unsigned char *)bytes.d + i, j - i);
			put(b, enc.d, enc.len - 1); /* without its '\n' */
		} else {
			for (size_t m = i; m < j; m++) {
				unsigned char e = (unsigned char)bytes.d[m];
				int lit = (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
					  (e >= 'A' && e <= 'Z') || e == '-' || e == '!';
				if (e == ' ')
					putc_(b, '_');
				else if (lit)
					putc_(b, (char)e);
				else {
					putc_(b, '=');
					putc_(b, hexdig[e >> 4]);
					putc_(b, hexdig[e & 15]);
				}
			}
		}
		puts_(b, "?=");
		i = j;
	}
}

static void put_html_escaped(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': puts_(b, "&amp;"); break;
		case '<': puts_(b, "&lt;"); break;
		case '>': puts_(b, "&gt;"); break;
		case '"': puts_(b, "&quot;"); break;
		case '\n': puts_(b, "<br>\n"); break;
		default: putc_(b, s[i]); break;
		}
	}
}

/* Paragraphs (separated by blank lines) of s, each as one HTML block. */
static void put_html_paras(struct buf *b, const char *s, size_t n, int outlook)
{
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && !(s[end] == '\n' && end + 1 < n && s[end + 1] == '\n'))
			end++;
		if (outlook)
			puts_(b, "<p class=\"MsoNormal\"><span style=\"font-size:11.0pt;"
				 "font-family:&quot;Calibri&quot;,sans-serif\">");
		else
			puts_(b, "<div>");
		put_html_escaped(b, s + i, end - i);
		puts_(b, outlook ? "<o:p></o:p></span></p>\n<p class=\"MsoNormal\"><o:p>&nbsp;"
				   "</o:p></p>\n"
				 : "</div>\n<div><br></div>\n");
		i = end;
		while (i < n && s[i] == '\n')
			i++;
	}
}

/* The HTML alternative of the message: its own paragraphs, then the
 * attribution line and the quoted exchange in a blockquote (nq 0: none).
 * Outlook's markup is the heavier one. charset: the meta tag's. */
static void put_html(struct buf *b, const char *own, size_t n, const char *attribution,
		     const char *quoted, size_t nq, int outlook, const char *charset)
{
	putf(b, "<html><head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; "
		"charset=%s\">\n", charset);
	if (outlook)
		puts_(b, "<style><!--\n@font-face {font-family:\"Cambria Math\"; panose-1:2 4 5 3 5 4 "
			 "6 3 2 4;}\n@font-face {font-family:Calibri; panose-1:2 15 5 2 2 2 4 3 2 4;}\n"
			 "p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; font-size:11.0pt; "
			 "font-family:\"Calibri\",sans-serif; mso-fareast-language:EN-US;}\n"
			 "a:link, span.MsoHyperlink {mso-style-priority:99; color:#0563C1; "
			 "text-decoration:underline;}\nspan.EmailStyle17 {mso-style-type:personal-compose; "
			 "font-family:\"Calibri\",sans-serif; color:windowtext;}\n.MsoChpDefault "
			 "{mso-style-type:export-only; font-family:\"Calibri\",sans-serif; "
			 "mso-fareast-language:EN-US;}\n@page WordSection1 {size:612.0pt 792.0pt; "
			 "margin:70.85pt 70.85pt 70.85pt 70.85pt;}\ndiv.WordSection1 {page:WordSection1;}\n"
			 "--></style>\n</head>\n<body lang=\"FR\" link=\"#0563C1\" vlink=\"#954F72\" "
			 "style=\"word-wrap:break-word\">\n<div class=\"WordSection1\">\n");
	else
		puts_(b, "</head>\n<body>\n<div dir=\"ltr\">\n");
	put_html_paras(b, own, n, outlook);
	if (nq) {
		puts_(b, outlook ? "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;"
				   "padding:3.0pt 0cm 0cm 0cm\">\n<p class=\"MsoNormal\"><b>"
				 : "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">");
		put_html_escaped(b, attribution, strlen(attribution));
		puts_(b, outlook ? "</b></p>\n"
				 : "</div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px "
				   "0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">\n");
		put_html_paras(b, quoted, nq, outlook);
		puts_(b, outlook ? "</div>\n" : "</blockquote></div>\n");
	}
	puts_(b, outlook ? "</div>\n</body>\n</html>\n" : "</div>\n</body></html>\n");
}

/* A PDF-ish file: the header, a catalog, one compressed-looking stream of
 * random bytes, a cross-reference table and the trailer. */
static void put_pdf(struct buf *b, uint64_t *rng, size_t stream_len)
{
	puts_(b, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
		 "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
		 "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\n"
		 "endobj\n");
	putf(b, "4 0 obj\n<< /Length %zu /Filter /FlateDecode >>\nstream\n", stream_len);
	for (size_t i = 0; i < stream_len; i += 8) {
		uint64_t r = next64(rng);
		put(b, &r, stream_len - i < 8 ? stream_len - i : 8);
	}
	puts_(b, "\nendstream\nendobj\nxref\n0 5\n0000000000 65535 f \n0000000015 00000 n \n"
		 "0000000064 00000 n \n0000000121 00000 n \n0000000213 00000 n \n"
		 "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n");
	putu(b, 260 + stream_len, 1);
	puts_(b, "\n%%EOF\n");
}

enum body {
	PLAIN_8BIT,   /* text/plain UTF-8 8bit */
	PLAIN_QP,     /* text/plain UTF-8 quoted-printable */
	PLAIN_LATIN1, /* text/plain ISO-8859-1 quoted-printable */
	ALT_QP,       /* multipart/alternative, both quoted-printable */
	ALT_B64,      /* multipart/alternative, both base64 */
	HTML_ONLY,    /* text/html quoted-printable */
	MIXED_PDF,    /* multipart/mixed: alternative (QP) + PDF (base64) */
};

static enum body body_of(uint64_t r)
{
	unsigned k = (unsigned)(r % 100);
	return k < 20 ? PLAIN_8BIT : k < 35 ? PLAIN_QP : k < 50 ? PLAIN_LATIN1 : k < 75 ? ALT_QP
	       : k < 85 ? ALT_B64 : k < 90 ? HTML_ONLY : MIXED_PDF;
}

/* One leaf part: its headers and its body in the transfer encoding, the
 * text converted to the charset first. */
static void put_leaf(struct buf *b, const char *type, int latin1, int b64, const char *s, size_t n)
{
	static struct buf conv;
	conv.len = conv.overflow = 0;
	if (latin1)
		to_latin1(&conv, s, n);
	else
		put(&conv, s, n);
	putf(b, "Content-Type: %s; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n", type,
	     latin1 ? "iso-8859-1" : "utf-8", b64 ? "base64" : "quoted-printable");
	if (b64)
		put_base64(b, (const unsigned char *)conv.d, conv.len);
	else
		put_qp(b, conv.d, conv.len);
	if (conv.overflow)
		b->overflow = 1;
}

/* Email i, LF line ends, into msg, its text budget scaled by pct percent.
 * Returns 1 when it is not a complaint. */
static int make_email(struct buf *msg, uint64_t seed, uint64_t i, size_t pct)
{
	static struct buf text, quoted, html, tmp, pdf;
	uint64_t rng = mix64(seed ^ (i * 0xd1342543de82ef95ULL) ^ 0x656d61696cULL);
	struct person p;
	struct vars v;
	person_make(&p, &rng, i);
	vars_make(&v, &rng);
	uint64_t r = next64(&rng);
	enum body kind = body_of(r);
	unsigned kindpct = (unsigned)((r >> 8) % 100);
	int complaint_subject = kindpct < 80, complaint_text = kindpct < 95;
	int reply = (r >> 16) % 3 == 0;
	int latin1 = kind == PLAIN_LATIN1 || ((kind == ALT_QP || kind == ALT_B64 || kind == HTML_ONLY)
					      && (r >> 20) % 4 == 0);
	int outlook = (r >> 24) % 3 == 0;
	unsigned day = 1 + (unsigned)((r >> 28) % 30), hour = 7 + (unsigned)((r >> 33) % 14),
		 min = (unsigned)((r >> 38) % 60), sec = (unsigned)((r >> 44) % 60);

	/* Size: 5 to 30 KB, most near 8 to 12 KB. */
	size_t target = 5000 + (size_t)(below(&rng, 25001) * below(&rng, 25001) / 25000);
	size_t room = target > 2600 ? target - 2600 : 1000;
	size_t budget, attach = 0;
	size_t markup = kind == PLAIN_8BIT || kind == PLAIN_QP || kind == PLAIN_LATIN1 ? 0
			: outlook ? 2500 : 600;
	if (kind == MIXED_PDF)
		attach = 1500 + (size_t)below(&rng, room / 2 > 1500 ? room / 2 - 1500 + 1 : 1);
	room = room > markup + attach * 4 / 3 + 1000 ? room - markup - attach * 4 / 3 : 1000;
	switch (kind) {
	case PLAIN_8BIT: budget = room; break;
	case PLAIN_QP: budget = room * 10 / 12; break;
	case PLAIN_LATIN1: budget = room * 10 / 11; break;
	case ALT_B64: budget = room * 10 / 32; break;
	case HTML_ONLY: budget = room * 10 / 15; break;
	default: budget = room * 10 / 26; break; /* ALT_QP, MIXED_PDF */
	}
	if (budget > TEXT_MAX)
		budget = TEXT_MAX;
	budget = budget * pct / 100;
	if (budget < 1000)
		budget = 1000;
	if (budget > TEXT_MAX)
		budget = TEXT_MAX;

	/* The text: greeting, what happened, closing, signature, then the
	 * quoted exchange of a reply. */
	text.len = text.overflow = 0;
	puts_(&text, PICK(&rng, greetings));
	puts_(&text, "\n\n");
	if (complaint_text) {
		put_tpl(&text, PICK(&rng, paras_complaint), &v);
		puts_(&text, "\n\n");
	} else {
		put_tpl(&text, PICK(&rng, questions), &v);
		puts_(&text, "\n\n");
	}
	size_t own = reply ? budget / 2 : budget;
	size_t tail = 400;
	while (text.len + tail < own) {
		if (complaint_text && below(&rng, 4) == 0)
			put_tpl(&text, PICK(&rng, paras_complaint), &v);
		else
			put_tpl(&text, PICK(&rng, paras_neutral), &v);
		puts_(&text, "\n\n");
	}
	puts_(&text, PICK(&rng, closings));
	putf(&text, "\n\n%s %s\n%s\n%u %s\n%s %s", p.first->text, p.last->text, p.phone, p.number,
	     p.street, cities[p.city].postcode, cities[p.city].city);
	if ((r >> 50) % 5 == 0)
		puts_(&text, "\n\nEnvoyé de mon iPhone");
	size_t split = text.len;
	char attribution[256] = "";
	quoted.len = quoted.overflow = 0;
	if (reply) {
		unsigned qday = day > 3 ? day - 3 : 1;
		snprintf(attribution, sizeof(attribution),
			 "Le %s %u nov. 2026 à %02u:%02u, Service clients Thermeo "
			 "<service.clients@thermeo.example.fr> a écrit :",
			 weekdays_fr[(qday - 1) % 7], qday, hour > 8 ? hour - 2 : 9, min);
		while (quoted.len + 200 < budget - (split < budget ? split : budget) &&
		       !quoted.overflow) {
			put_tpl(&quoted, PICK(&rng, paras_reply), &v);
			puts_(&quoted, "\n\n");
			if (below(&rng, 3) == 0) {
				/* The customer's earlier message, quoted in the quote. */
				tmp.len = tmp.overflow = 0;
				put_tpl(&tmp, complaint_text ? PICK(&rng, paras_complaint)
							     : PICK(&rng, questions),
					&v);
				put_wrapped(&quoted, tmp.d, tmp.len, 70, "> ");
				putc_(&quoted, '\n');
			}
		}
		while (quoted.len && quoted.d[quoted.len - 1] == '\n')
			quoted.len--;
		puts_(&text, "\n\n");
		puts_(&text, attribution);
		putc_(&text, '\n');
		put_wrapped(&text, quoted.d, quoted.len, 72, "> ");
	}

	/* Headers. */
	static const char *const relays[] = {"smtp.example.fr", "mail-ed1-f41.google.com",
					     "smtpout.orange.fr", "mx.laposte.net",
					     "outbound.protection.outlook.com"};
	putf(msg, "Return-Path: <%s>\n", p.email);
	puts_(msg, "Delivered-To: reclamations@thermeo.example.fr\n");
	putf(msg, "Received: from %s (%s [198.51.100.%u])\n\tby mx1.thermeo.example.fr (Postfix) "
		  "with ESMTPS id 4%c%c%c%c%c%c%c%c\n\tfor <reclamations@thermeo.example.fr>; %s, %u Nov "
		  "2026 %02u:%02u:%02u +0100 (CET)\n",
	     PICK(&rng, relays), "relay.example.net", 1 + (unsigned)below(&rng, 250), b64dig[below(&rng, 26)],
	     b64dig[below(&rng, 62)], b64dig[below(&rng, 62)], b64dig[below(&rng, 62)],
	     b64dig[below(&rng, 62)], b64dig[below(&rng, 62)], b64dig[below(&rng, 62)],
	     b64dig[below(&rng, 62)], weekdays[(day - 1) % 7], day, hour, min,
	     sec < 59 ? sec + 1 : sec);
	putf(msg, "Received: from [192.168.1.%u] (lfbn-lyo-1-%u-%u.w86-%u.abo.example.net "
		  "[203.0.113.%u])\n\tby %s with ESMTPSA id %016" PRIx64 "\n\tfor "
		  "<reclamations@thermeo.example.fr>; %s, %u Nov 2026 %02u:%02u:%02u +0100\n",
	     2 + (unsigned)below(&rng, 200), (unsigned)below(&rng, 999), (unsigned)below(&rng, 999),
	     (unsigned)below(&rng, 250), 1 + (unsigned)below(&rng, 250), "smtp.example.fr",
	     next64(&rng), weekdays[(day - 1) % 7], day, hour, min, sec);
	if ((r >> 52) % 3 == 0) {
		putf(msg, "ARC-Seal: i=1; a=rsa-sha256; t=%u; cv=none;\n\td=example.fr; s=arc-20240605;\n\tb=",
		     1795000000u + (unsigned)i);
		for (int k = 0; k < 5; k++) {
			put_b64_noise(msg, &rng, 70);
			puts_(msg, k < 4 ? "\n\t " : "==\n");
		}
		puts_(msg, "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=example.fr;\n"
			   "\ts=arc-20240605; h=subject:message-id:date:to:from:mime-version;\n\tbh=");
		put_b64_noise(msg, &rng, 43);
		puts_(msg, "=;\n\tb=");
		for (int k = 0; k < 5; k++) {
			put_b64_noise(msg, &rng, 70);
			puts_(msg, k < 4 ? "\n\t " : "==\n");
		}
		puts_(msg, "ARC-Authentication-Results: i=1; mx.example.fr; dkim=pass; spf=pass\n");
	}
	putf(msg, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s;\n\ts=mail; t=%u;\n"
		  "\th=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;\n\tbh=",
	     strchr(p.email, '@') + 1, 1795000000u + (unsigned)i);
	put_b64_noise(msg, &rng, 43);
	puts_(msg, "=;\n\tb=");
	for (int k = 0; k < 5; k++) {
		put_b64_noise(msg, &rng, 68);
		puts_(msg, k < 4 ? "\n\t " : "=\n");
	}
	puts_(msg, "Authentication-Results: mx1.thermeo.example.fr; dkim=pass; spf=pass "
		   "smtp.mailfrom=example.fr\n");

	/* From, with the name in encoded words when it is not ASCII. */
	int hlatin1 = latin1 || (r >> 54) % 4 == 0, hb64 = (r >> 56) % 4 == 0;
	tmp.len = tmp.overflow = 0;
	putf(&tmp, "%s %s", p.first->text, p.last->text);
	putc_(&tmp, '\0');
	puts_(msg, "From: ");
	put_encoded_words(msg, tmp.d, hlatin1, hb64);
	putf(msg, " <%s>\n", p.email);
	puts_(msg, "To: =?UTF-8?Q?Service_r=C3=A9clamations?= <reclamations@thermeo.example.fr>\n");
	if ((r >> 58) % 8 == 0)
		putf(msg, "Cc: %s.%s@example.com\n", p.first->ascii, p.last->ascii);

	const char *subj = complaint_subject ? PICK(&rng, subjects_complaint)
			   : complaint_text  ? PICK(&rng, subjects_neutral)
					     : PICK(&rng, subjects_question);
	tmp.len = tmp.overflow = 0;
	put_tpl(&tmp, subj, &v);
	putc_(&tmp, '\0');
	puts_(msg, "Subject: ");
	put_encoded_words(msg, tmp.d, hlatin1, hb64);
	putc_(msg, '\n');
	putf(msg, "Date: %s, %u Nov 2026 %02u:%02u:%02u +0100\n", weekdays[(day - 1) % 7], day,
	     hour, min, sec);
	putf(msg, "Message-ID: <202611%02u%02u%02u%02u.%07" PRIu64 ".%08" PRIx64 "@%s>\n", day,
	     hour, min, sec, i, next64(&rng) & 0xffffffffu, strchr(p.email, '@') + 1);
	if (reply) {
		putf(msg, "In-Reply-To: <%016" PRIx64 "@thermeo.example.fr>\n", next64(&rng));
		putf(msg, "References: <%016" PRIx64 "@thermeo.example.fr>\n", next64(&rng));
	}
	puts_(msg, "MIME-Version: 1.0\n");
	puts_(msg, PICK(&rng, mailers));
	putc_(msg, '\n');
	puts_(msg, "Content-Language: fr\n");

	/* Body. */
	char boundary[64], inner[64];
	snprintf(boundary, sizeof(boundary), "----=_Part_%" PRIu64 "_%08" PRIx64, i,
		 next64(&rng) & 0xffffffffu);
	snprintf(inner, sizeof(inner), "000000000000%012" PRIx64, (uint64_t)(next64(&rng) & 0xffffffffffffULL));
	const char *cs = latin1 ? "iso-8859-1" : "utf-8";
	switch (kind) {
	case PLAIN_8BIT:
		puts_(msg, "Content-Type: text/plain; charset=UTF-8\n"
			   "Content-Transfer-Encoding: 8bit\n\n");
		put_wrapped(msg, text.d, text.len, 72, "");
		break;
	case PLAIN_QP:
	case PLAIN_LATIN1:
		tmp.len = tmp.overflow = 0;
		if (latin1)
			to_latin1(&tmp, text.d, text.len);
		else
			put(&tmp, text.d, text.len);
		putf(msg, "Content-Type: text/plain; charset=%s\nContent-Transfer-Encoding: "
			  "quoted-printable\n\n", latin1 ? "ISO-8859-1" : "UTF-8");
		put_qp(msg, tmp.d, tmp.len);
		break;
	case HTML_ONLY:
		html.len = html.overflow = 0;
		put_html(&html, text.d, split, attribution, quoted.d, quoted.len, outlook, cs);
		put_leaf(msg, "text/html", latin1, 0, html.d, html.len);
		break;
	case ALT_QP:
	case ALT_B64:
	case MIXED_PDF: {
		const char *alt = kind == MIXED_PDF ? inner : boundary;
		if (kind == MIXED_PDF) {
			putf(msg, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
				  "This is a multi-part message in MIME format.\n\n--%s\n",
			     boundary, boundary);
		}
		putf(msg, "Content-Type: multipart/alternative; boundary=\"%s\"\n\n", alt);
		if (kind != MIXED_PDF)
			puts_(msg, "This is a multi-part message in MIME format.\n");
		putf(msg, "\n--%s\n", alt);
		put_leaf(msg, "text/plain", latin1, kind == ALT_B64, text.d, text.len);
		putf(msg, "\n--%s\n", alt);
		html.len = html.overflow = 0;
		put_html(&html, text.d, split, attribution, quoted.d, quoted.len, outlook, cs);
		put_leaf(msg, "text/html", latin1, kind == ALT_B64, html.d, html.len);
		putf(msg, "\n--%s--\n", alt);
		if (kind == MIXED_PDF) {
			pdf.len = pdf.overflow = 0;
			put_pdf(&pdf, &rng, attach > 600 ? attach - 600 : 200);
			putf(msg, "\n--%s\n", boundary);
			if ((r >> 60) % 2)
				putf(msg, "Content-Type: application/pdf; name=\"facture-%s.pdf\"\n"
					  "Content-Disposition: attachment; filename=\"facture-%s.pdf\"\n",
				     v.invoice, v.invoice);
			else
				puts_(msg, "Content-Type: application/pdf; name=\"=?UTF-8?Q?r=C3=A9clamation"
					   ".pdf?=\"\nContent-Disposition: attachment;\n"
					   " filename*=UTF-8''r%C3%A9clamation.pdf\n");
			puts_(msg, "Content-Transfer-Encoding: base64\n\n");
			put_base64(msg, (const unsigned char *)pdf.d, pdf.len);
			if (pdf.overflow)
				msg->overflow = 1;
			putf(msg, "\n--%s--\n", boundary);
		}
		break;
	}
	}
	if (text.overflow || html.overflow || tmp.overflow)
		msg->overflow = 1;
	return !complaint_text && !complaint_subject;
}

/* ---- contact forms ---- */

static const char *const form_subjects[] = {
	"Devis chaudière", "Demande de devis pompe à chaleur", "Entretien annuel",
	"Panne chauffe-eau", "Rendez-vous", "Climatisation bureau", "Question facture",
	"Contrat d'entretien", "Remplacement chaudière fioul",
};

static const char *const form_messages[] = {
	"Bonjour, notre chaudière a 20 ans. Pouvez-vous nous faire une offre ?",
	"Nous souhaitons remplacer notre vieille chaudière fioul par une pompe à chaleur "
	"air/eau. La maison fait 120 m², sur deux niveaux, construite en 1978.",
	"Je souhaite un contrat d'entretien pour ma pompe à chaleur installée l'an dernier "
	"par un autre artisan.",
	"Le chauffe-eau ne chauffe plus depuis hier soir, le disjoncteur saute dès qu'on le "
	"rallume. Pouvez-vous passer rapidement ?",
	"Pour nos bureaux (3 pièces, 65 m²), nous aimerions installer une climatisation "
	"réversible avant l'été. Quelles marques proposez-vous ?",
	"Pourriez-vous me rappeler en fin de journée, après 18 h ? Merci d'avance.",
	"Suite à votre passage, j'aimerais un devis pour le remplacement du vase "
	"d'expansion et l'ajout d'un thermostat connecté.",
	"Bonjour,\nnous avons reçu l'aide « MaPrimeRénov' » : pouvez-vous établir le devis "
	"à mon nom ? Le logement est une maison individuelle à Nîmes.\nCordialement",
	"Boulangerie : le four est chauffé au gaz et la chaudière du fournil fait un bruit "
	"anormal. Intervention possible avant 5 h du matin ?",
};

/* Percent-encoding as browsers do for application/x-www-form-urlencoded:
 * '+' for spaces, CRLF for line ends; latin1: windows-1252 bytes. */
static void put_urlenc(struct buf *b, const char *s, int latin1)
{
	static struct buf conv;
	conv.len = conv.overflow = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			putc_(&conv, '\r');
		putc_(&conv, *p);
	}
	static struct buf l1;
	l1.len = l1.overflow = 0;
	if (latin1)
		to_latin1(&l1, conv.d, conv.len);
	const struct buf *src = latin1 ? &l1 : &conv;
	for (size_t i = 0; i < src->len; i++) {
		unsigned char c = (unsigned char)src->d[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '*' || c == '-' || c == '.' || c == '_')
			putc_(b, (char)c);
		else if (c == ' ')
			putc_(b, '+');
		else {
			putc_(b, '%');
			putc_(b, hexdig[c >> 4]);
			putc_(b, hexdig[c & 15]);
		}
	}
	if (conv.overflow || l1.overflow)
		b->overflow = 1;
}

static void form_field(struct buf *b, const char *name, const char *value, int latin1, int first)
{
	if (!first)
		putc_(b, '&');
	puts_(b, name);
	putc_(b, '=');
	put_urlenc(b, value, latin1);
}

static void make_form(struct buf *out, uint64_t seed, uint64_t i)
{
	static struct buf msg;
	uint64_t rng = mix64(seed ^ (i * 0xd1342543de82ef95ULL) ^ 0x666f726dULL);
	struct person p;
	person_make(&p, &rng, i);
	uint64_t r = next64(&rng);
	int latin1 = r % 100 < 15;
	char name[160], email[160];
	snprintf(name, sizeof(name), (r >> 8) % 10 == 0 ? "%s  %s " : "%s %s", p.first->text,
		 p.last->text);
	switch ((r >> 12) % 8) {
	case 0:
		snprintf(email, sizeof(email), " %s ", p.email);
		break;
	case 1:
		snprintf(email, sizeof(email), "%s", p.email);
		for (char *c = email; *c; c++)
			if (*c >= 'a' && *c <= 'z' && (c == email || c[-1] == '.'))
				*c = (char)(*c - 'a' + 'A');
		break;
	default:
		snprintf(email, sizeof(email), "%s", p.email);
		break;
	}
	form_field(out, "nom", name, latin1, 1);
	form_field(out, "email", email, latin1, 0);
	if ((r >> 16) % 10 != 0)
		form_field(out, "telephone", p.phone, latin1, 0);
	if ((r >> 20) % 10 < 4)
		form_field(out, "societe", p.company, latin1, 0);
	if ((r >> 24) % 10 < 7)
		form_field(out, "code_postal", cities[p.city].postcode, latin1, 0);
	if ((r >> 28) % 10 < 8)
		form_field(out, "objet", PICK(&rng, form_subjects), latin1, 0);
	msg.len = msg.overflow = 0;
	unsigned nmsg = 1 + (unsigned)below(&rng, 3);
	for (unsigned k = 0; k < nmsg; k++) {
		if (k)
			puts_(&msg, "\n");
		puts_(&msg, PICK(&rng, form_messages));
	}
	if ((r >> 32) % 3 == 0)
		putf(&msg, "\n%u %s, %s %s", p.number, p.street, cities[p.city].postcode,
		     cities[p.city].city);
	putc_(&msg, '\0');
	form_field(out, "message", msg.d, latin1, 0);
	unsigned consent = (unsigned)((r >> 36) % 10);
	if (consent < 5)
		form_field(out, "consentement", "on", latin1, 0);
	else if (consent < 6)
		form_field(out, "consentement", "oui", latin1, 0);
	if (latin1)
		form_field(out, "_charset_", "windows-1252", 0, 0);
	putc_(out, '\n');
	if (msg.overflow)
		out->overflow = 1;
}

/* ---- UBL orders ---- */

static const struct product {
	const char *sku;
	const char *name;
	uint32_t cents;
	const char *vat;
	const char *unit;
} products[] = {
	{"CHD-200", "Chaudière gaz à condensation 24 kW", 245000, "5.5", "C62"},
	{"CHD-350", "Chaudière gaz à condensation 35 kW avec ballon intégré", 389000, "20.0", "C62"},
	{"PAC-AE08", "Pompe à chaleur air/eau 8 kW", 729000, "5.5", "C62"},
	{"PAC-AA25", "Pompe à chaleur air/air monosplit 2,5 kW", 129000, "10.0", "C62"},
	{"CLIM-35", "Climatiseur réversible mural 3,5 kW", 89000, "20.0", "C62"},
	{"BEC-200", "Ballon d'eau chaude électrique 200 L", 58900, "10.0", "C62"},
	{"POSE-CHD", "Pose et mise en service chaudière", 89000, "10.0", "C62"},
	{"MO-H", "Main-d'œuvre (heure)", 6550, "10.0", "HUR"},
	{"KIT-RACC", "Kit de raccordement hydraulique", 18735, "20.0", "C62"},
	{"THERM-CONN", "Thermostat connecté", 24999, "20.0", "C62"},
	{"ROB-TH", "Robinet thermostatique 1/2\"", 3870, "20.0", "C62"},
	{"VASE-18", "Vase d'expansion 18 L", 6415, "20.0", "C62"},
	{"FILTRE", "Filtre à boues magnétique", 14280, "20.0", "C62"},
	{"DEPL-Z1", "Déplacement zone 1", 4500, "20.0", "C62"},
};

static void put_xml_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': puts_(b, "&amp;"); break;
		case '<': puts_(b, "&lt;"); break;
		case '>': puts_(b, "&gt;"); break;
		case '"': puts_(b, "&quot;"); break;
		default: putc_(b, *s); break;
		}
	}
}

/* <indent><tag attrs>text</tag>, the text escaped. */
static void el(struct buf *b, unsigned indent, const char *tag, const char *attrs, const char *text)
{
	for (unsigned k = 0; k < indent; k++)
		puts_(b, "  ");
	putf(b, "<%s%s%s>", tag, attrs ? " " : "", attrs ? attrs : "");
	put_xml_text(b, text);
	putf(b, "</%s>\n", tag);
}

static void open_(struct buf *b, unsigned indent, const char *tag)
{
	for (unsigned k = 0; k < indent; k++)
		puts_(b, "  ");
	putf(b, "<%s>\n", tag);
}

static void close_(struct buf *b, unsigned indent, const char *tag)
{
	for (unsigned k = 0; k < indent; k++)
		puts_(b, "  ");
	putf(b, "</%s>\n", tag);
}

/* A valid SIRET (Luhn over 14 digits, the SIREN's 9 too), spaced or not. */
static void make_siret(char *out, size_t cap, uint64_t *rng, int spaced)
{
	int d[14];
	for (int k = 0; k < 8; k++)
		d[k] = (int)below(rng, 10);
	if (d[0] == 0)
		d[0] = 3;
	for (int k = 9; k < 13; k++)
		d[k] = (int)below(rng, 10);
	/* Check digits: position 8 makes the SIREN valid, 13 the SIRET. */
	for (int pass = 0; pass < 2; pass++) {
		int len = pass ? 14 : 9, pos = len - 1;
		int sum = 0;
		for (int k = 0; k < pos; k++) {
			int v = d[k];
			if ((len - k) % 2 == 0) {
				v *= 2;
				if (v > 9)
					v -= 9;
			}
			sum += v;
		}
		d[pos] = (10 - sum % 10) % 10;
	}
	char s[32];
	size_t n = 0;
	for (int k = 0; k < 14; k++) {
		if (spaced && (k == 3 || k == 6 || k == 9))
			s[n++] = ' ';
		s[n++] = (char)('0' + d[k]);
	}
	s[n] = '\0';
	snprintf(out, cap, "%s", s);
}

static void money(char *out, size_t cap, uint64_t cents)
{
	snprintf(out, cap, "%" PRIu64 ".%02" PRIu64, cents / 100, cents % 100);
}

static void make_order(struct buf *b, uint64_t seed, uint64_t i)
{
	uint64_t rng = mix64(seed ^ (i * 0xd1342543de82ef95ULL) ^ 0x786d6cULL);
	struct person p;
	person_make(&p, &rng, i);
	uint64_t r = next64(&rng);
	char id[32], tmp[256], siret[32], amount[32];
	snprintf(id, sizeof(id), (r % 10 == 0) ? "cmd-%04" PRIu64 "-%04" PRIu64
					       : "CMD-%04" PRIu64 "-%04" PRIu64,
		 2027 + i / 10000, i % 10000);
	unsigned day = 1 + (unsigned)((r >> 8) % 28);
	make_siret(siret, sizeof(siret), &rng, (r >> 16) % 2 == 0);

	puts_(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<Order xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Order-2\"\n"
		 "       xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:"
		 "CommonAggregateComponents-2\"\n"
		 "       xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:"
		 "CommonBasicComponents-2\">\n");
	el(b, 1, "cbc:UBLVersionID", NULL, "2.1");
	el(b, 1, "cbc:CustomizationID", NULL, "urn:www.cenbii.eu:transaction:biitrns001:ver2.0");
	el(b, 1, "cbc:ProfileID", NULL, "urn:www.cenbii.eu:profile:bii28:ver2.0");
	el(b, 1, "cbc:ID", NULL, id);
	el(b, 1, "cbc:CopyIndicator", NULL, "false");
	snprintf(tmp, sizeof(tmp), "%08" PRIx64 "-%04x-4%03x-a%03x-%012" PRIx64,
		 next64(&rng) & 0xffffffffu, (unsigned)below(&rng, 0x10000),
		 (unsigned)below(&rng, 0x1000), (unsigned)below(&rng, 0x1000),
		 (uint64_t)(next64(&rng) & 0xffffffffffffULL));
	el(b, 1, "cbc:UUID", NULL, tmp);
	snprintf(tmp, sizeof(tmp), "2026-11-%02u", day);
	el(b, 1, "cbc:IssueDate", NULL, tmp);
	snprintf(tmp, sizeof(tmp), "%02u:%02u:00", 8 + (unsigned)below(&rng, 10),
		 (unsigned)below(&rng, 60));
	el(b, 1, "cbc:IssueTime", NULL, tmp);
	if ((r >> 20) % 2)
		el(b, 1, "cbc:Note", NULL, "Livraison sur chantier, prévenir 24 h avant. "
					   "Accès poids lourds par la rue arrière.");
	el(b, 1, "cbc:DocumentCurrencyCode", NULL, "EUR");
	snprintf(tmp, sizeof(tmp), "AFF-%05u", (unsigned)below(&rng, 100000));
	el(b, 1, "cbc:CustomerReference", NULL, tmp);
	open_(b, 1, "cac:ValidityPeriod");
	snprintf(tmp, sizeof(tmp), "2026-12-%02u", day);
	el(b, 2, "cbc:EndDate", NULL, tmp);
	close_(b, 1, "cac:ValidityPeriod");

	open_(b, 1, "cac:BuyerCustomerParty");
	snprintf(tmp, sizeof(tmp), "C-%05u", (unsigned)below(&rng, 100000));
	el(b, 2, "cbc:CustomerAssignedAccountID", NULL, tmp);
	open_(b, 2, "cac:Party");
	snprintf(tmp, sizeof(tmp), "30%011" PRIu64, below(&rng, 100000000000ULL));
	el(b, 3, "cbc:EndpointID", "schemeID=\"0009\"", siret);
	open_(b, 3, "cac:PartyIdentification");
	el(b, 4, "cbc:ID", "schemeID=\"0088\"", tmp);
	close_(b, 3, "cac:PartyIdentification");
	open_(b, 3, "cac:PartyName");
	el(b, 4, "cbc:Name", NULL, (r >> 24) % 4 ? p.company : "Société   Œnologique du Rhône");
	close_(b, 3, "cac:PartyName");
	open_(b, 3, "cac:PostalAddress");
	snprintf(tmp, sizeof(tmp), "%u %s", p.number, p.street);
	el(b, 4, "cbc:StreetName", NULL, tmp);
	el(b, 4, "cbc:CityName", NULL, cities[p.city].city);
	el(b, 4, "cbc:PostalZone", NULL, cities[p.city].postcode);
	open_(b, 4, "cac:Country");
	el(b, 5, "cbc:IdentificationCode", NULL, "FR");
	close_(b, 4, "cac:Country");
	close_(b, 3, "cac:PostalAddress");
	open_(b, 3, "cac:PartyTaxScheme");
	/* The VAT number's key is the SIREN's: (12 + 3 * (SIREN mod 97)) mod 97. */
	uint64_t siren = 0;
	for (int k = 0, n = 0; siret[k] && n < 9; k++)
		if (siret[k] != ' ')
			siren = siren * 10 + (uint64_t)(siret[k] - '0'), n++;
	snprintf(tmp, sizeof(tmp), "FR%02u%09" PRIu64, (unsigned)((12 + 3 * (siren % 97)) % 97),
		 siren);
	el(b, 4, "cbc:CompanyID", NULL, tmp);
	open_(b, 4, "cac:TaxScheme");
	el(b, 5, "cbc:ID", NULL, "VAT");
	close_(b, 4, "cac:TaxScheme");
	close_(b, 3, "cac:PartyTaxScheme");
	open_(b, 3, "cac:PartyLegalEntity");
	el(b, 4, "cbc:RegistrationName", NULL, p.company);
	el(b, 4, "cbc:CompanyID", NULL, siret);
	close_(b, 3, "cac:PartyLegalEntity");
	open_(b, 3, "cac:Contact");
	snprintf(tmp, sizeof(tmp), "%s %s", p.first->text, p.last->text);
	el(b, 4, "cbc:Name", NULL, tmp);
	el(b, 4, "cbc:Telephone", NULL, p.phone);
	char mail[160];
	snprintf(mail, sizeof(mail), "%s", p.email);
	if ((r >> 28) % 4 == 0)
		mail[0] = (char)(mail[0] - 'a' + 'A');
	el(b, 4, "cbc:ElectronicMail", NULL, mail);
	close_(b, 3, "cac:Contact");
	close_(b, 2, "cac:Party");
	close_(b, 1, "cac:BuyerCustomerParty");

	open_(b, 1, "cac:SellerSupplierParty");
	open_(b, 2, "cac:Party");
	open_(b, 3, "cac:PartyName");
	el(b, 4, "cbc:Name", NULL, "Thermeo Services SARL");
	close_(b, 3, "cac:PartyName");
	open_(b, 3, "cac:PostalAddress");
	el(b, 4, "cbc:StreetName", NULL, "12 rue des Artisans");
	el(b, 4, "cbc:CityName", NULL, "Lyon");
	el(b, 4, "cbc:PostalZone", NULL, "69003");
	close_(b, 3, "cac:PostalAddress");
	close_(b, 2, "cac:Party");
	close_(b, 1, "cac:SellerSupplierParty");

	open_(b, 1, "cac:Delivery");
	open_(b, 2, "cac:DeliveryLocation");
	open_(b, 3, "cac:Address");
	snprintf(tmp, sizeof(tmp), "%u %s", p.number, p.street);
	el(b, 4, "cbc:StreetName", NULL, tmp);
	el(b, 4, "cbc:CityName", NULL, cities[p.city].city);
	el(b, 4, "cbc:PostalZone", NULL, cities[p.city].postcode);
	close_(b, 3, "cac:Address");
	close_(b, 2, "cac:DeliveryLocation");
	open_(b, 2, "cac:RequestedDeliveryPeriod");
	snprintf(tmp, sizeof(tmp), "2026-12-%02u", day);
	el(b, 3, "cbc:StartDate", NULL, tmp);
	close_(b, 2, "cac:RequestedDeliveryPeriod");
	close_(b, 1, "cac:Delivery");

	unsigned nlines = 1 + (unsigned)below(&rng, 8);
	uint64_t total = 0;
	static struct buf lines;
	lines.len = lines.overflow = 0;
	for (unsigned k = 0; k < nlines; k++) {
		const struct product *pr = &PICK(&rng, products);
		uint64_t q = 1 + below(&rng, 4);
		uint64_t cents = (uint64_t)pr->cents * (95 + below(&rng, 11)) / 100;
		open_(&lines, 1, "cac:OrderLine");
		open_(&lines, 2, "cac:LineItem");
		snprintf(tmp, sizeof(tmp), "%u", k + 1);
		el(&lines, 3, "cbc:ID", NULL, tmp);
		snprintf(tmp, sizeof(tmp), (k % 3 == 1) ? "%" PRIu64 ".00" : "%" PRIu64, q);
		char attr[32];
		snprintf(attr, sizeof(attr), "unitCode=\"%s\"", pr->unit);
		el(&lines, 3, "cbc:Quantity", attr, tmp);
		money(amount, sizeof(amount), cents * q);
		el(&lines, 3, "cbc:LineExtensionAmount", "currencyID=\"EUR\"", amount);
		total += cents * q;
		open_(&lines, 3, "cac:Price");
		money(amount, sizeof(amount), cents);
		el(&lines, 4, "cbc:PriceAmount", "currencyID=\"EUR\"", amount);
		el(&lines, 4, "cbc:BaseQuantity", "unitCode=\"C62\"", "1");
		close_(&lines, 3, "cac:Price");
		open_(&lines, 3, "cac:Item");
		el(&lines, 4, "cbc:Description", NULL, pr->name);
		el(&lines, 4, "cbc:Name", NULL, pr->name);
		if (below(&rng, 5)) {
			open_(&lines, 4, "cac:SellersItemIdentification");
			el(&lines, 5, "cbc:ID", NULL, pr->sku);
			close_(&lines, 4, "cac:SellersItemIdentification");
		}
		open_(&lines, 4, "cac:ClassifiedTaxCategory");
		el(&lines, 5, "cbc:ID", NULL, "S");
		el(&lines, 5, "cbc:Percent", NULL, pr->vat);
		open_(&lines, 5, "cac:TaxScheme");
		el(&lines, 6, "cbc:ID", NULL, "VAT");
		close_(&lines, 5, "cac:TaxScheme");
		close_(&lines, 4, "cac:ClassifiedTaxCategory");
		close_(&lines, 3, "cac:Item");
		close_(&lines, 2, "cac:LineItem");
		close_(&lines, 1, "cac:OrderLine");
	}
	open_(b, 1, "cac:AnticipatedMonetaryTotal");
	money(amount, sizeof(amount), total);
	el(b, 2, "cbc:LineExtensionAmount", "currencyID=\"EUR\"", amount);
	el(b, 2, "cbc:PayableAmount", "currencyID=\"EUR\"", amount);
	close_(b, 1, "cac:AnticipatedMonetaryTotal");
	put(b, lines.d, lines.len);
	puts_(b, "</Order>\n");
	if (lines.overflow)
		b->overflow = 1;
}

/* ---- main ---- */

static int parse_u64(const char *s, uint64_t *out)
{
	if (*s == '\0')
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: gen_inputs email|form|xml N SEED DIR\n"
			"  N     number of files, 0..%llu\n"
			"  SEED  any unsigned 64-bit integer\n"
			"  DIR   an existing folder; files are named <kind>-NNNNNNN.<ext>\n",
		MAX_INPUTS);
	return 2;
}

/* Writes n bytes to path, replacing it; CRLF line ends when crlf. */
static int write_file(const char *path, const char *d, size_t n, int crlf)
{
	static struct buf conv;
	if (crlf) {
		conv.len = conv.overflow = 0;
		for (size_t k = 0; k < n; k++) {
			if (d[k] == '\n')
				putc_(&conv, '\r');
			putc_(&conv, d[k]);
		}
		if (conv.overflow) {
			errno = EFBIG;
			return -1;
		}
		d = conv.d;
		n = conv.len;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (n) {
		ssize_t w = write(fd, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		d += w;
		n -= (size_t)w;
	}
	return close(fd);
}

int main(int argc, char **argv)
{
	static struct buf out;
	uint64_t n, seed;
	if (argc != 5)
		return usage();
	const char *channel = argv[1], *dir = argv[4];
	int kind = !strcmp(channel, "email") ? 0 : !strcmp(channel, "form") ? 1
						   : !strcmp(channel, "xml")  ? 2
									      : -1;
	if (kind < 0)
		return usage();
	if (parse_u64(argv[2], &n) != 0 || n > MAX_INPUTS) {
		fprintf(stderr, "gen_inputs: N must be an integer 0..%llu: %s\n", MAX_INPUTS, argv[2]);
		return 2;
	}
	if (parse_u64(argv[3], &seed) != 0) {
		fprintf(stderr, "gen_inputs: SEED must be an unsigned integer: %s\n", argv[3]);
		return 2;
	}
	static const char *const prefix[] = {"mail", "contact", "order"};
	static const char *const ext[] = {"eml", "form", "xml"};
	uint64_t total = 0, unmapped = 0;
	size_t min = SIZE_MAX, max = 0;
	for (uint64_t i = 0; i < n; i++) {
		out.len = out.overflow = 0;
		int crlf = 0;
		if (kind == 0) {
			/* The size the message comes to is only known once built:
			 * scale its text until it falls within 5 to 30 KB. */
			crlf = mix64(seed ^ i) % 3 == 0;
			size_t pct = 100;
			int not_complaint = 0;
			for (int attempt = 0; attempt < 8; attempt++) {
				out.len = out.overflow = 0;
				not_complaint = make_email(&out, seed, i, pct);
				size_t size = out.len;
				if (crlf)
					for (size_t k = 0; k < out.len; k++)
						size += out.d[k] == '\n';
				if (size > EMAIL_MAX_BYTES)
					pct = pct * (EMAIL_MAX_BYTES - 2048) / size;
				else if (size < EMAIL_MIN_BYTES)
					pct = pct * (EMAIL_MIN_BYTES + 1024) / size + 1;
				else
					break;
			}
			unmapped += (uint64_t)not_complaint;
		} else if (kind == 1) {
			make_form(&out, seed, i);
		} else {
			make_order(&out, seed, i);
		}
		if (out.overflow) {
			fprintf(stderr, "gen_inputs: %s %" PRIu64 " exceeds %u bytes\n", channel, i,
				BUF_MAX);
			return 1;
		}
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s-%07" PRIu64 ".%s", dir, prefix[kind], i,
			     ext[kind]) >= (int)sizeof(path)) {
			fprintf(stderr, "gen_inputs: path too long: %s\n", dir);
			return 2;
		}
		if (write_file(path, out.d, out.len, crlf) != 0) {
			fprintf(stderr, "gen_inputs: %s: %s\n", path, strerror(errno));
			return 1;
		}
		size_t size = out.len;
		if (crlf)
			for (size_t k = 0; k < out.len; k++)
				size += out.d[k] == '\n';
		total += size;
		min = size < min ? size : min;
		max = size > max ? size : max;
	}
	printf("files=%" PRIu64 " bytes=%" PRIu64 " min=%zu max=%zu expect_records=%" PRIu64
	       " expect_unmapped=%" PRIu64 "\n",
	       n, total, n ? min : 0, max, n - unmapped, unmapped);
	return fflush(stdout) == 0 ? 0 : 1;
}
