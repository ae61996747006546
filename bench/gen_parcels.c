/*
 * gen_parcels.c - synthetic parcel statuses as NDJSON, for the transitions
 * benchmark (bench/transitions/schemas/: source carrier-feed, process
 * parcel).
 *
 *   gen_parcels N SEED created            N parcels, status "created", in order
 *   gen_parcels N SEED updates            3N statuses of those parcels
 *   gen_parcels N SEED updates-shuffled   the same, in no order
 *
 * Writes one compact JSON object per line to stdout. The output depends
 * only on N, SEED and the kind (own PRNG, no rand(), no clock), so a run
 * can be repeated exactly.
 *
 * - Tracking numbers are PCL- and ten digits: parcel i is PCL-<i>, zero
 *   padded; N is at most 10,000,000.
 * - "created" lines carry the whole parcel (depot, weight, recipient with a
 *   real postcode and city), about 190 bytes each.
 * - "updates" come in three rounds, "picked", then "shipped", then
 *   "delivered", each over every parcel in the order a carrier reports
 *   them: the order the parcels were created in, shuffled within windows
 *   of WINDOW parcels (a keyed permutation of each window, its own for
 *   each round), as a depot handles what came in the same hour together.
 *   With "updates-shuffled", each round is one keyed permutation of all
 *   the parcels instead: consecutive lines name unrelated parcels, the
 *   worst order for the store. Each update carries the parcel, its status,
 *   when and where (about 100 bytes), and moves its case one state on: 3N
 *   transitions.
 *
 * Lines are built in a bounded buffer and written through a 1 MiB stdio
 * buffer. Exit codes: 0 done, 1 write error, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

#define MAX_PARCELS 10000000ULL
#define WINDOW 1000
#define LINE_MAX_BYTES 1024

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const depots[] = {
	"Lyon-Corbas", "Paris-Wissous", "Rennes-Cesson", "Lille-Lesquin",
	"Marseille-Vitrolles", "Toulouse-Fenouillet", "Strasbourg-Entzheim",
	"Nantes-Carquefou", "Bordeaux-Mérignac", "Besançon-École",
};

static const char *const first_names[] = {
	"Hélène", "François", "Zoë", "Anaïs", "Noël", "Cécile", "Loïc", "Gaëlle",
	"Agnès", "Jérôme", "Théo", "Ève", "Raphaël", "Inès", "Élodie", "Benoît",
};

static const char *const last_names[] = {
	"Dupré", "Lefèvre", "Château", "Béranger", "Frémont", "Garçon", "Pérès",
	"Séguin", "Ménard", "Dubœuf", "Crémieux", "Lhôte", "Vergès", "Prévôt",
	"Martin", "Le Goff",
};

/* Real postcodes; several with a leading zero. */
static const struct {
	const char *postcode;
	const char *city;
} cities[] = {
	{"69003", "Lyon"},        {"75011", "Paris"},      {"35000", "Rennes"},
	{"59000", "Lille"},       {"13001", "Marseille"},  {"31000", "Toulouse"},
	{"67000", "Strasbourg"},  {"44000", "Nantes"},     {"33000", "Bordeaux"},
	{"25000", "Besançon"},    {"01000", "Bourg-en-Bresse"}, {"06000", "Nice"},
	{"02100", "Saint-Quentin"}, {"09000", "Foix"},     {"29200", "Brest"},
	{"21000", "Dijon"},
};

static const char *const statuses[] = {"picked", "shipped", "delivered"};

/* A line under construction; every append is bounded, and an overflow
 * (impossible with these tables) is reported once the line is complete. */
struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	int overflow;
};

static void put(struct line *l, const char *s)
{
	size_t n = strlen(s);
	if (n > sizeof(l->buf) - l->len) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* v in decimal, at least `width` digits (zero-padded). */
static void putu(struct line *l, uint64_t v, unsigned width)
{
	char tmp[24];
	size_t i = sizeof(tmp) - 1;
	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 || sizeof(tmp) - 1 - i < width);
	put(l, tmp + i);
}

/* The opening of parcel p's line: tracking number, status, and a time on
 * 2026-11-(23 + day) drawn from h. */
static void put_head(struct line *l, uint64_t p, const char *status, unsigned day, uint64_t h)
{
	unsigned sec = (unsigned)(h % 86400);
	l->len = 0;
	l->overflow = 0;
	put(l, "{\"parcel\":\"PCL-");
	putu(l, p, 10);
	put(l, "\",\"status\":\"");
	put(l, status);
	put(l, "\",\"at\":\"2026-11-");
	putu(l, 23 + day, 2);
	put(l, "T");
	putu(l, sec / 3600, 2);
	put(l, ":");
	putu(l, sec / 60 % 60, 2);
	put(l, ":");
	putu(l, sec % 60, 2);
	put(l, "Z\",\"depot\":\"");
	put(l, depots[(h >> 20) % COUNT(depots)]);
	put(l, "\"");
}

static int emit(const struct line *l)
{
	if (l->overflow) {
		fprintf(stderr, "gen_parcels: line too long\n");
		return 1;
	}
	if (fwrite(l->buf, 1, l->len, stdout) != l->len || putchar('\n') == EOF) {
		fprintf(stderr, "gen_parcels: write error: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int created(uint64_t n, uint64_t seed)
{
	struct line l;
	for (uint64_t p = 0; p < n; p++) {
		uint64_t h = mix64(seed ^ (p * 0xd1342543de82ef95ULL));
		uint64_t h2 = mix64(h);
		put_head(&l, p, "created", 0, h);
		put(&l, ",\"weight_g\":");
		putu(&l, 50 + h2 % 30000, 1);
		put(&l, ",\"recipient\":{\"name\":\"");
		put(&l, first_names[(h2 >> 16) % COUNT(first_names)]);
		put(&l, " ");
		put(&l, last_names[(h2 >> 24) % COUNT(last_names)]);
		size_t c = (h2 >> 32) % COUNT(cities);
		put(&l, "\",\"postcode\":\"");
		put(&l, cities[c].postcode);
		put(&l, "\",\"city\":\"");
		put(&l, cities[c].city);
		put(&l, "\"}}");
		if (emit(&l))
			return 1;
	}
	return 0;
}

/* The three rounds of statuses, each in windows of `window` parcels (n:
 * one window, all the parcels) shuffled by a keyed permutation. */
static int rounds(uint64_t n, uint64_t seed, uint64_t window)
{
	struct line l;
	for (unsigned round = 0; round < COUNT(statuses); round++) {
		for (uint64_t w = 0; w < n; w += window) {
			struct perm perm;
			perm_init(&perm, n - w < window ? n - w : window,
				  mix64(seed + round + 1) ^ w);
			for (uint64_t i = 0; i < perm.n; i++) {
				uint64_t p = w + perm_apply(&perm, i);
				uint64_t h = mix64(seed ^ (p * 0x9e3779b97f4a7c15ULL) ^
						   ((uint64_t)(round + 1) << 60));
				put_head(&l, p, statuses[round], round + 1, h);
				put(&l, "}");
				if (emit(&l))
					return 1;
			}
		}
	}
	return 0;
}

static int updates(uint64_t n, uint64_t seed)
{
	return rounds(n, seed, WINDOW);
}

static int shuffled(uint64_t n, uint64_t seed)
{
	return rounds(n, seed, n);
}

static int usage(void)
{
	fprintf(stderr, "usage: gen_parcels N SEED created|updates|updates-shuffled   (1 <= N <= %llu)\n",
		(unsigned long long)MAX_PARCELS);
	return 2;
}

/* A decimal number in 0..max, or -1. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n, seed;
	static char obuf[1 << 20];
	if (argc != 4 || parse_u64(argv[1], MAX_PARCELS, &n) || n == 0 ||
	    parse_u64(argv[2], UINT64_MAX, &seed))
		return usage();
	int (*kind)(uint64_t, uint64_t) = !strcmp(argv[3], "created") ? created
					  : !strcmp(argv[3], "updates") ? updates
					  : !strcmp(argv[3], "updates-shuffled") ? shuffled : NULL;
	if (!kind)
		return usage();
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	if (kind(n, seed))
		return 1;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "gen_parcels: write error: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
