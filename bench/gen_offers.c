/*
 * gen_offers.c - synthetic offers (devis) as NDJSON, for the benchmarks.
 *
 *   gen_offers N SEED [MINPCT]
 *
 * Writes N offers to stdout, one compact JSON object per line, in the shape
 * the offer schema accepts. The output depends only on N, SEED and MINPCT
 * (own PRNG, no rand(), no clock), so a run can be repeated exactly.
 *
 * - References are DEV-<year>-<number> with year = 2027 + i / 10000 and
 *   number = i % 10000: unique for N up to 10,000,000.
 * - Customers come from a pool of N/2: a keyed permutation of 0..N-1 taken
 *   modulo N/2 gives each customer exactly two offers (three for one of
 *   them when N is odd) at scattered positions, so half of the offers find
 *   their profile already there. A customer's name, email, phone, company
 *   and address depend only on its index; about one offer in eight spells
 *   the email with capitals or surrounding spaces (the engine normalises).
 * - 1 to 4 lines from a heating catalogue, prices in cents printed with
 *   exactly two decimals, VAT among the rates the product allows.
 * - discount_pct is MINPCT..40 in steps of 0.5 (default MINPCT 21: every
 *   offer then waits for approval and ingest prints nothing).
 *
 * Every string in the tables below is ready to be written inside JSON
 * quotes (UTF-8, escapes already in place), so nothing is escaped at run
 * time. Lines are built in a bounded buffer and written through a 1 MiB
 * stdio buffer. Exit codes: 0 done, 1 write error, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

#define MAX_OFFERS 10000000ULL
#define MAX_PCT 40U
#define LINE_MAX_BYTES 4096

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct name {
	const char *text;  /* as printed */
	const char *ascii; /* for the email local part */
};

static const struct name first_names[] = {
	{"Hélène", "helene"},     {"François", "francois"}, {"Zoë", "zoe"},
	{"Anaïs", "anais"},       {"Noël", "noel"},         {"Cécile", "cecile"},
	{"Loïc", "loic"},         {"Gaëlle", "gaelle"},     {"Agnès", "agnes"},
	{"Jérôme", "jerome"},     {"Théo", "theo"},         {"Ève", "eve"},
	{"Raphaël", "raphael"},   {"Inès", "ines"},         {"Mathéo", "matheo"},
	{"Élodie", "elodie"},     {"Aurélien", "aurelien"}, {"Stéphanie", "stephanie"},
	{"Joël", "joel"},         {"Maëlle", "maelle"},     {"Gaëtan", "gaetan"},
	{"Chloé", "chloe"},       {"Léa", "lea"},           {"Benoît", "benoit"},
	{"Clémence", "clemence"}, {"Frédéric", "frederic"}, {"Lætitia", "laetitia"},
	{"Marc", "marc"},         {"Sophie", "sophie"},     {"Thomas", "thomas"},
	{"Nathalie", "nathalie"}, {"Jean-Noël", "jean-noel"},
};

static const struct name last_names[] = {
	{"Dupré", "dupre"},       {"Lefèvre", "lefevre"},     {"Château", "chateau"},
	{"Béranger", "beranger"}, {"Frémont", "fremont"},     {"Garçon", "garcon"},
	{"Pérès", "peres"},       {"Séguin", "seguin"},       {"Ménard", "menard"},
	{"Marçais", "marcais"},   {"Dubœuf", "duboeuf"},      {"Crémieux", "cremieux"},
	{"Desprès", "despres"},   {"Lhôte", "lhote"},         {"Béguin", "beguin"},
	{"Cœurdevey", "coeurdevey"}, {"Vergès", "verges"},    {"Prévôt", "prevot"},
	{"Lemaître", "lemaitre"}, {"Fauré", "faure"},         {"Géraud", "geraud"},
	{"Hébert", "hebert"},     {"Lévêque", "leveque"},     {"Rivière", "riviere"},
	{"Bénard", "benard"},     {"Aubrée", "aubree"},       {"Kerjean", "kerjean"},
	{"Martin", "martin"},     {"Bernard", "bernard"},     {"Moreau", "moreau"},
	{"Le Goff", "legoff"},    {"Müller", "muller"},
};

static const char *const domains[] = {"example.fr", "example.com", "example.org"};

/* Real postcodes; several with a leading zero. */
static const struct {
	const char *postcode;
	const char *city;
} cities[] = {
	{"75002", "Paris"},          {"75011", "Paris"},
	{"75015", "Paris"},          {"69003", "Lyon"},
	{"13008", "Marseille"},      {"31000", "Toulouse"},
	{"06000", "Nice"},           {"44000", "Nantes"},
	{"67000", "Strasbourg"},     {"34000", "Montpellier"},
	{"33000", "Bordeaux"},       {"59000", "Lille"},
	{"35000", "Rennes"},         {"51100", "Reims"},
	{"42000", "Saint-Étienne"},  {"76600", "Le Havre"},
	{"83000", "Toulon"},         {"38000", "Grenoble"},
	{"21000", "Dijon"},          {"49000", "Angers"},
	{"30000", "Nîmes"},          {"69100", "Villeurbanne"},
	{"63000", "Clermont-Ferrand"}, {"72000", "Le Mans"},
	{"13100", "Aix-en-Provence"}, {"29200", "Brest"},
	{"37000", "Tours"},          {"80000", "Amiens"},
	{"87000", "Limoges"},        {"74000", "Annecy"},
	{"25000", "Besançon"},       {"45000", "Orléans"},
	{"71000", "Mâcon"},          {"88000", "Épinal"},
	{"27000", "Évreux"},         {"34500", "Béziers"},
	{"16000", "Angoulême"},      {"51000", "Châlons-en-Champagne"},
	{"01000", "Bourg-en-Bresse"}, {"20000", "Ajaccio"},
	{"25300", "Pontarlier"},     {"94240", "L'Haÿ-les-Roses"},
	{"69200", "Vénissieux"},     {"34200", "Sète"},
	{"35300", "Fougères"},       {"26200", "Montélimar"},
	{"12000", "Rodez"},          {"24000", "Périgueux"},
};

static const char *const streets[] = {
	"rue de la Paix",        "chemin des Écoliers",   "allée des Châtaigniers",
	"place de l'Église",     "avenue Jean Jaurès",    "rue du Général Leclerc",
	"boulevard Gambetta",    "impasse de la Forêt",   "rue Étienne Marcel",
	"quai de la Fosse",      "rue des Pêcheurs",      "route de Besançon",
	"rue du Château d'Eau",  "allée des Mûriers",     "rue Émile Zola",
	"cours Léon Gambetta",
};

static const char *const company_kinds[] = {
	"Boulangerie", "Garage",    "SCI",       "Hôtel",      "Pâtisserie",
	"Crèche",      "Cabinet",   "Pharmacie", "Fromagerie", "Brasserie",
};

static const char *const company_suffixes[] = {
	" SARL", " SAS", "", " & Fils", " EURL",
};

static const char *const salespeople[] = {
	"Marc Lefèvre", "Sandrine Aubrée", "Rémi Faucher",
	"Océane Brûlé", "Jérémie Noël",    "Françoise Hervé",
};

static const char *const notes[] = {
	"Installation comprise.",
	"Accès par la cour intérieure.",
	"Prévoir l’échelle pour les combles.",
	"Travaux hors horaires d’ouverture.",
	"Remise « fidélité » accordée par l’agence.",
	"Chantier vitrine : photos autorisées.",
	"Ancienne chaudière fioul à déposer.\\nCuve à neutraliser.",
	"Paiement en trois fois sans frais.",
};

/* VAT rates a product may carry, as bits of vat_rates[]. */
static const char *const vat_rates[] = {"0.0", "2.1", "5.5", "10.0", "20.0"};
enum { V0 = 1, V2 = 2, V5 = 4, V10 = 8, V20 = 16 };

static const struct product {
	const char *sku;
	const char *description;
	uint32_t price_cents;
	uint32_t max_qty;
	unsigned vat;
} catalogue[] = {
	{"CHD-200", "Chaudière gaz à condensation 24 kW", 245000, 1, V5 | V20},
	{"CHD-350", "Chaudière gaz à condensation 35 kW avec ballon intégré", 389000, 1, V5 | V20},
	{"PAC-AE08", "Pompe à chaleur air/eau 8 kW", 729000, 1, V5 | V20},
	{"PAC-AE12", "Pompe à chaleur air/eau 12 kW", 985000, 2, V5 | V20},
	{"PAC-AA25", "Pompe à chaleur air/air monosplit 2,5 kW", 129000, 3, V10 | V20},
	{"CLIM-MS35", "Climatiseur mural multisplit 3,5 kW", 164990, 4, V10 | V20},
	{"BEC-200", "Ballon d'eau chaude électrique 200 L", 58900, 2, V10 | V20},
	{"BET-270", "Chauffe-eau thermodynamique 270 L", 219000, 1, V5 | V20},
	{"POSE-CHD", "Pose et mise en service chaudière", 89000, 1, V5 | V10 | V20},
	{"POSE-PAC", "Pose pompe à chaleur (forfait)", 185000, 1, V5 | V20},
	{"DEPL-Z1", "Déplacement zone 1", 4500, 3, V10 | V20},
	{"DEPL-Z2", "Déplacement zone 2", 6550, 3, V10 | V20},
	{"ENT-CHD", "Contrat d'entretien annuel chaudière gaz", 15900, 2, V10 | V20},
	{"ENT-PAC", "Contrat d'entretien annuel pompe à chaleur", 21900, 2, V10 | V20},
	{"ENT-CLIM", "Contrat d'entretien climatisation (par unité)", 8900, 6, V10 | V20},
	{"DEP-CHD", "Dépose et évacuation de l’ancienne chaudière", 32000, 1, V10 | V20},
	{"KIT-RACC", "Kit de raccordement hydraulique", 18735, 2, V10 | V20},
	{"THERM-CONN", "Thermostat connecté", 24999, 2, V5 | V20},
	{"ROB-TH", "Robinet thermostatique 1/2\\\"", 3870, 12, V5 | V10 | V20},
	{"VASE-18", "Vase d'expansion 18 L", 6415, 2, V10 | V20},
	{"FILTRE", "Filtre à boues magnétique", 14280, 2, V10 | V20},
	{"MO-H", "Main-d'œuvre (heure)", 5800, 16, V10 | V20},
	{"DEBOURS", "Débours : frais de mise en décharge agréée", 3500, 1, V0},
	{"LIVRE", "Guide d'utilisation imprimé", 1290, 5, V5},
};

/* A line under construction; every append is bounded, and an overflow
 * (impossible with these tables) is reported once the line is complete. */
struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	int overflow;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->buf) - l->len) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putc_(struct line *l, char c)
{
	put(l, &c, 1);
}

/* v in decimal, at least `width` digits (zero-padded). */
static void putu(struct line *l, uint64_t v, unsigned width)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 || sizeof(tmp) - i < width);
	put(l, tmp + i, sizeof(tmp) - i);
}

/* "key":"value", with the comma before it unless it opens an object. */
static void field(struct line *l, const char *key, const char *value, int first)
{
	if (!first)
		putc_(l, ',');
	putc_(l, '"');
	puts_(l, key);
	puts_(l, "\":\"");
	puts_(l, value);
	putc_(l, '"');
}

/* The email of customer c; variant 0 is the canonical lower-case form,
 * 1 capitalises each word, 2 is all upper case, 3 adds spaces around. */
static void put_email(struct line *l, const struct name *fn, const struct name *ln,
		      uint64_t c, const char *domain, unsigned variant)
{
	char mail[128];
	int n = snprintf(mail, sizeof(mail), "%s.%s.%" PRIx64 "@%s", fn->ascii,
			 ln->ascii, c, domain);
	if (n < 0 || (size_t)n >= sizeof(mail)) {
		l->overflow = 1;
		return;
	}
	if (variant == 1) {
		int start = 1;
		for (char *p = mail; *p; p++) {
			if (start && *p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
			start = (*p == '.' || *p == '@' || *p == '-');
		}
	} else if (variant == 2) {
		for (char *p = mail; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
	}
	puts_(l, ",\"email\":\"");
	if (variant == 3)
		puts_(l, "  ");
	puts_(l, mail);
	if (variant == 3)
		putc_(l, ' ');
	putc_(l, '"');
}

/* The customer object of pool index c: a pure function of (seed, c). */
static void put_customer(struct line *l, uint64_t seed, uint64_t c, unsigned variant)
{
	uint64_t h = seed ^ (c * 0xd1342543de82ef95ULL);
	uint64_t r1 = next64(&h), r2 = next64(&h), r3 = next64(&h);
	const struct name *fn = &first_names[r1 % COUNT(first_names)];
	const struct name *ln = &last_names[(r1 >> 16) % COUNT(last_names)];

	puts_(l, "\"customer\":{\"name\":\"");
	puts_(l, fn->text);
	putc_(l, ' ');
	puts_(l, ln->text);
	putc_(l, '"');
	if ((r1 >> 32) % 4 == 0) {
		puts_(l, ",\"company\":\"");
		puts_(l, company_kinds[(r1 >> 36) % COUNT(company_kinds)]);
		putc_(l, ' ');
		puts_(l, ln->text);
		puts_(l, company_suffixes[(r1 >> 44) % COUNT(company_suffixes)]);
		putc_(l, '"');
	}
	put_email(l, fn, ln, c, domains[(r1 >> 52) % COUNT(domains)], variant);
	if (r2 % 10 < 7) {
		/* Mobile (6, 7) or landline (1..5) number, nine digits after +33. */
		static const char lead[] = "6761234";
		puts_(l, ",\"phone\":\"+33");
		putc_(l, lead[(r2 >> 8) % (sizeof(lead) - 1)]);
		putu(l, (r2 >> 16) % 100000000, 8);
		putc_(l, '"');
	}
	puts_(l, ",\"address\":{\"street\":\"");
	putu(l, 1 + r3 % 120, 1);
	putc_(l, ' ');
	puts_(l, streets[(r3 >> 8) % COUNT(streets)]);
	putc_(l, '"');
	size_t city = (r3 >> 16) % COUNT(cities);
	field(l, "postcode", cities[city].postcode, 0);
	field(l, "city", cities[city].city, 0);
	puts_(l, "}}");
}

static void put_lines(struct line *l, uint64_t *rng)
{
	unsigned n = 1 + (unsigned)below(rng, 4);
	puts_(l, ",\"lines\":[");
	for (unsigned i = 0; i < n; i++) {
		const struct product *p = &catalogue[below(rng, COUNT(catalogue))];
		uint64_t r = next64(rng);
		/* Prices move by -5 %..+5 % around the catalogue, in cents. */
		uint64_t cents = (uint64_t)p->price_cents * (95 + r % 11) / 100;
		uint64_t qty = 1 + (r >> 8) % p->max_qty;
		unsigned choices[COUNT(vat_rates)], k = 0;
		for (unsigned v = 0; v < COUNT(vat_rates); v++)
			if (p->vat & (1U << v))
				choices[k++] = v;

		if (i > 0)
			putc_(l, ',');
		putc_(l, '{');
		int first = 1;
		if ((r >> 24) % 10 != 0) {
			field(l, "sku", p->sku, 1);
			first = 0;
		}
		field(l, "description", p->description, first);
		puts_(l, ",\"quantity\":");
		putu(l, qty, 1);
		puts_(l, ",\"unit_price\":\"");
		putu(l, cents / 100, 1);
		putc_(l, '.');
		putu(l, cents % 100, 2);
		putc_(l, '"');
		field(l, "vat_rate", vat_rates[choices[(r >> 32) % k]], 0);
		putc_(l, '}');
	}
	putc_(l, ']');
}

/* Offer i, complete with its newline. */
static void put_offer(struct line *l, uint64_t i, uint64_t seed, uint64_t customer,
		      unsigned minpct, uint64_t *rng)
{
	uint64_t r = next64(rng);
	unsigned day = 1 + (unsigned)(r % 20);
	unsigned variant = (r >> 8) % 8 == 0 ? 1 + (unsigned)((r >> 12) % 3) : 0;

	l->len = 0;
	l->overflow = 0;
	puts_(l, "{\"reference\":\"DEV-");
	putu(l, 2027 + i / 10000, 4);
	putc_(l, '-');
	putu(l, i % 10000, 4);
	puts_(l, "\",\"date\":\"2026-11-");
	putu(l, day, 2);
	putc_(l, '"');
	if ((r >> 16) % 20 < 17) {
		/* Thirty days later. */
		puts_(l, ",\"valid_until\":\"2026-12-");
		putu(l, day, 2);
		putc_(l, '"');
	}
	putc_(l, ',');
	put_customer(l, seed, customer, variant);
	if ((r >> 24) % 5 != 0)
		field(l, "salesperson", salespeople[(r >> 28) % COUNT(salespeople)], 0);
	put_lines(l, rng);

	/* Half-percent steps from minpct to MAX_PCT inclusive. */
	uint64_t halves = 2 * minpct + below(rng, 2 * (MAX_PCT - minpct) + 1);
	puts_(l, ",\"discount_pct\":");
	putu(l, halves / 2, 1);
	if (halves % 2)
		puts_(l, ".5");
	puts_(l, ",\"currency\":\"EUR\"");
	if ((r >> 40) % 5 < 2)
		field(l, "notes", notes[(r >> 44) % COUNT(notes)], 0);
	puts_(l, "}\n");
}

/* Strict unsigned decimal: digits only, no sign, no overflow. */
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
	fprintf(stderr,
		"usage: gen_offers N SEED [MINPCT]\n"
		"  N       number of offers, 0..%llu\n"
		"  SEED    any unsigned 64-bit integer\n"
		"  MINPCT  lowest discount_pct, 0..%u (default 21)\n",
		MAX_OFFERS, MAX_PCT);
	return 2;
}

int main(int argc, char **argv)
{
	static char iobuf[1 << 20];
	static struct line line;
	uint64_t n, seed, minpct = 21;

	if (argc < 3 || argc > 4)
		return usage();
	if (parse_u64(argv[1], &n) != 0 || n > MAX_OFFERS) {
		fprintf(stderr, "gen_offers: N must be an integer 0..%llu: %s\n",
			MAX_OFFERS, argv[1]);
		return 2;
	}
	if (parse_u64(argv[2], &seed) != 0) {
		fprintf(stderr, "gen_offers: SEED must be an unsigned integer: %s\n", argv[2]);
		return 2;
	}
	if (argc == 4 && (parse_u64(argv[3], &minpct) != 0 || minpct > MAX_PCT)) {
		fprintf(stderr, "gen_offers: MINPCT must be an integer 0..%u: %s\n",
			MAX_PCT, argv[3]);
		return 2;
	}
	if (setvbuf(stdout, iobuf, _IOFBF, sizeof(iobuf)) != 0) {
		fprintf(stderr, "gen_offers: cannot set the output buffer\n");
		return 1;
	}

	uint64_t pool = n / 2 > 0 ? n / 2 : 1;
	struct perm perm;
	perm_init(&perm, n > 0 ? n : 1, mix64(seed ^ 0x70657266ULL));
	uint64_t rng = mix64(seed);
	uint64_t cseed = mix64(seed ^ 0x637573746f6dULL);

	for (uint64_t i = 0; i < n; i++) {
		uint64_t customer = perm_apply(&perm, i) % pool;
		put_offer(&line, i, cseed, customer, (unsigned)minpct, &rng);
		if (line.overflow) {
			fprintf(stderr, "gen_offers: offer %" PRIu64 " exceeds %d bytes\n",
				i, LINE_MAX_BYTES);
			return 1;
		}
		if (fwrite(line.buf, 1, line.len, stdout) != line.len)
			break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gen_offers: write error: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
