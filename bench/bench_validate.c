/*
 * bench_validate.c - throughput of the schema validator, alone and behind
 * the mapping of a source, on one thread.
 *
 *   bench_validate [--tsv] [--pool N] [--seconds S] [--home DIR]
 *                  [--wide FILE] [--only NAME] OFFERS.ndjson
 *
 * OFFERS.ndjson is what bench/gen_offers writes: offers as the quoting tool
 * sends them. The first N lines (--pool, default 10000) are read, parsed
 * and kept; each measure below walks that pool again and again until S
 * seconds (--seconds, default 1) have passed, and reports records per
 * second of wall time (monotonic clock):
 *
 *   parse            ds_json_parse of the NDJSON lines (for comparison)
 *   validate-offer   ds_schema_validate of the offers as the api-offers
 *                    mapping makes them, against schemas/records/offer
 *                    (mapped beforehand, outside the measure)
 *   validate-wide    ds_schema_validate of generated intervention reports
 *                    against --wide (default bench/wide.schema.json: 40
 *                    property definitions, nested arrays, $refs, formats)
 *   map-validate     ds_source_map with schemas/sources/api-offers.json,
 *                    then validation of each record it emits and its
 *                    release; the parsed input each map consumes is copied
 *                    beforehand, in batches, outside the measure
 *   parse-map-validate  the same from the NDJSON text, parsing included
 *
 * Schemas and sources are read under --home (default "."; run from the
 * repository root). Every record must be valid: an invalid one is a
 * benchmark error (its first error is shown, exit 1), since timing error
 * reports would measure something else. The output is a table, or with
 * --tsv one line per measure: name, records, seconds, records/s. --only
 * runs one measure (for a profiler).
 * Exit codes: 0 measured, 1 a load or validation failure, 2 usage.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"
#include "diag.h"
#include "err.h"
#include "json.h"
#include "mem.h"
#include "schema.h"
#include "source.h"

#define MAX_INPUT ((size_t)1 << 30)
#define BATCH 1000
#define WIDE_MAX 8192

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_validate: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- validation callbacks ---- */

struct check {
	const char *what;
	size_t index;
};

static void fail_on_error(void *ud, const char *pointer, const char *keyword,
			  const char *message)
{
	const struct check *c = ud;
	fprintf(stderr, "bench_validate: %s record %zu is invalid: %s: %s: %s\n", c->what,
		c->index, *pointer ? pointer : "/", keyword, message);
	exit(1);
}

static void validate_one(const ds_schema *s, const cJSON *rec, const char *what, size_t i)
{
	size_t nerr = 0;
	ds_err err = { 0, "" };
	if (ds_schema_validate(s, rec, NULL, NULL, &nerr, &err))
		die("validation failed: %s", err.msg);
	if (nerr) {
		/* Again, to show why (this ends the run). */
		struct check c = { what, i };
		ds_schema_validate(s, rec, fail_on_error, &c, NULL, &err);
	}
}

/* ---- the mapping ---- */

struct sink {
	const ds_schema_set *set;
	size_t records;
	size_t index;
	cJSON **keep;               /* NULL: validate and free; else keep here */
};

static int emit(void *ud, const char *type, cJSON *record)
{
	struct sink *k = ud;
	const ds_schema *s = ds_schema_set_get(k->set, type);
	if (!s) {
		cJSON_Delete(record);
		die("the source maps to the unknown record type %s", type);
	}
	if (k->keep) {
		if (*k->keep)
			die("the source makes several records of one offer");
		*k->keep = record;
	} else {
		validate_one(s, record, "mapped", k->index);
		cJSON_Delete(record);
	}
	k->records++;
	return DS_OK;
}

static void map_one(const ds_source *src, cJSON **input, ds_time at, ds_arena *a,
		    struct sink *k)
{
	ds_err err = { 0, "" };
	if (ds_source_map(src, input, NULL, at, a, emit, k, &err))
		die("mapping failed: %s", err.msg);
	cJSON_Delete(*input);       /* unless the record took it */
	*input = NULL;
	ds_arena_reset(a);
}

/* ---- generated intervention reports for the wide schema ---- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t next64(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return mix64(*state);
}

static unsigned below(uint64_t *rng, unsigned n)
{
	return (unsigned)(next64(rng) % n);
}

/* Appends the Luhn check digit of the n digits in d. */
static void luhn_complete(char *d, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v = (unsigned)(d[n - 1 - i] - '0');
		if (i % 2 == 0)
			v = v * 2 > 9 ? v * 2 - 9 : v * 2;
		sum += v;
	}
	d[n] = (char)('0' + (10 - sum % 10) % 10);
	d[n + 1] = '\0';
}

/* A SIRET whose SIREN and whole number pass Luhn (La Poste's 356000000
 * numbers are avoided: they follow another rule). */
static void make_siret(uint64_t *rng, char out[15])
{
	out[0] = (char)('1' + below(rng, 8));
	for (int i = 1; i < 8; i++)
		out[i] = (char)('0' + below(rng, 10));
	luhn_complete(out, 8);
	for (int i = 9; i < 13; i++)
		out[i] = (char)('0' + below(rng, 10));
	luhn_complete(out, 13);
}

struct wbuf {
	char *p;
	size_t len, cap;
};

static void wput(struct wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wput(struct wbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		die("a generated report exceeds %d bytes", WIDE_MAX);
	b->len += (size_t)n;
}

static const char *const cities[][2] = {
	{ "75011", "Paris" }, { "69003", "Lyon" }, { "13008", "Marseille" },
	{ "44000", "Nantes" }, { "06000", "Nice" }, { "25000", "Besançon" },
	{ "20000", "Ajaccio" }, { "97400", "Saint-Denis" },
};
static const char *const names[] = {
	"Hélène Dupré", "François Lefèvre", "Zoë Château", "Anaïs Béranger",
	"Noël Frémont", "Cécile Garçon", "Loïc Pérès", "Gaëlle Séguin",
};
static const char *const skus[] = { "CHD-200", "PAC-AE08", "ENT-CHD", "MO-H", "FILTRE-X" };
static const char *const statuses[] = { "planned", "done", "cancelled", "follow_up" };
static const char *const sensors[] = { "pressure_bar", "flow_c", "return_c", "co_ppm" };
static const char *const tags[] = { "boiler", "heat-pump", "air-con", "water-heater",
				    "urgent", "warranty" };

/* The text of report i: a pure function of i. */
static void make_report(size_t i, struct wbuf *b)
{
	uint64_t rng = mix64(i ^ 0x7769646500ULL);
	const char *const *city = cities[below(&rng, 8)];
	char siret[16];
	make_siret(&rng, siret);
	unsigned d = 1 + below(&rng, 28), h = below(&rng, 24), m = below(&rng, 60);
	b->len = 0;
	wput(b, "{\"id\":\"INT-%08zu\",\"case_ref\":\"DEV-2027-%04u\","
	     "\"created_at\":\"2026-11-%02uT%02u:%02u:00+01:00\",\"scheduled_on\":\"2026-12-%02u\","
	     "\"status\":\"%s\",\"priority\":%u,", i % 100000000, below(&rng, 10000), d, h, m,
	     d, statuses[below(&rng, 4)], 1 + below(&rng, 5));
	wput(b, "\"technician\":{\"id\":\"T%03u\",\"name\":\"%s\",\"email\":\"tech%u@example.fr\","
	     "\"phone\":\"+336%08u\"},", below(&rng, 1000), names[below(&rng, 8)],
	     below(&rng, 100), below(&rng, 100000000));
	wput(b, "\"customer\":{\"name\":\"%s\",\"email\":\"client.%zu@example.com\","
	     "\"siret\":\"%s\",\"address\":{\"street\":\"%u rue Émile Zola\",\"postcode\":\"%s\","
	     "\"city\":\"%s\",\"country\":\"FR\"}},", names[below(&rng, 8)], i, siret,
	     1 + below(&rng, 120), city[0], city[1]);
	wput(b, "\"duration_min\":%u,\"travel_km\":%u.%u,\"labour_rate\":\"%u.%02u\","
	     "\"currency\":\"EUR\",\"lines\":[", 30 + below(&rng, 400), below(&rng, 80),
	     below(&rng, 10), 40 + below(&rng, 40), below(&rng, 100));
	unsigned nlines = 1 + below(&rng, 4);
	for (unsigned l = 0; l < nlines; l++) {
		wput(b, "%s{\"sku\":\"%s\",\"description\":\"Pièce ou prestation n° %u\","
		     "\"quantity\":%u,\"unit_price\":\"%u.%02u\",\"serials\":[", l ? "," : "",
		     skus[below(&rng, 5)], l + 1, 1 + below(&rng, 6), below(&rng, 3000),
		     below(&rng, 100));
		unsigned ns = below(&rng, 3);
		for (unsigned s = 0; s < ns; s++)
			wput(b, "%s\"SN%010llX\"", s ? "," : "",
			     (unsigned long long)(next64(&rng) & 0xFFFFFFFFFFULL));
		wput(b, "]}");
	}
	wput(b, "],\"readings\":[");
	unsigned nr = below(&rng, 5);
	for (unsigned r = 0; r < nr; r++)
		wput(b, "%s{\"at\":\"2026-11-%02uT%02u:%02u:%02uZ\",\"sensor\":\"%s\",\"value\":%d.%u}",
		     r ? "," : "", d, h, m, r * 7, sensors[below(&rng, 4)],
		     (int)below(&rng, 200) - 20, below(&rng, 10));
	wput(b, "],\"photos\":[\"https://photos.example.fr/int/%zu/1.jpg\","
	     "\"https://photos.example.fr/int/%zu/2.jpg\"],\"tags\":[\"%s\",\"%s\"],"
	     "\"signed\":%s,\"notes\":\"Contrôle de combustion effectué ; RAS.\","
	     "\"follow_up_on\":%s,\"consent_marketing\":%s}", i, i, tags[below(&rng, 6)],
	     tags[below(&rng, 6)], below(&rng, 2) ? "true" : "false",
	     below(&rng, 2) ? "\"2027-01-15\"" : "null", below(&rng, 2) ? "true" : "false");
}

/* ---- input ---- */

struct lines {
	char *text;                 /* the file; lines are cut in place */
	const char **line;
	size_t *len;
	size_t n;
};

static void read_lines(const char *path, size_t max, struct lines *L)
{
	size_t size = 0;
	ds_err err = { 0, "" };
	if (ds_read_file(path, MAX_INPUT, &L->text, &size, &err))
		die("%s", err.msg);
	L->line = calloc(max, sizeof *L->line);
	L->len = calloc(max, sizeof *L->len);
	if (!L->line || !L->len)
		die("out of memory");
	L->n = 0;
	char *p = L->text, *end = L->text + size;
	while (p < end && L->n < max) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop = nl ? nl : end;
		if (stop > p) {
			L->line[L->n] = p;
			L->len[L->n] = (size_t)(stop - p);
			L->n++;
		}
		p = stop + 1;
	}
	if (L->n == 0)
		die("%s holds no line", path);
}

static cJSON *parse_or_die(const char *s, size_t len, const char *what)
{
	cJSON *v = NULL;
	ds_err err = { 0, "" };
	if (ds_json_parse(s, len, DS_JSON_MAX_DEPTH, &v, &err))
		die("%s: %s", what, err.msg);
	return v;
}

/* ---- the measures ---- */

enum { M_PARSE, M_OFFER, M_WIDE, M_MAP, M_PARSE_MAP, M_COUNT };

static const char *const measure_names[M_COUNT] = {
	[M_PARSE] = "parse", [M_OFFER] = "validate-offer", [M_WIDE] = "validate-wide",
	[M_MAP] = "map-validate", [M_PARSE_MAP] = "parse-map-validate",
};

/* What the measures work on, prepared beforehand. */
struct bench {
	const struct lines *L;
	const char *input;
	cJSON **raw;                /* parsed offers as received */
	cJSON **mapped;             /* the offers the source makes of them */
	cJSON **reports;            /* for the wide schema */
	cJSON **batch;              /* BATCH copies of raw inputs */
	const ds_schema *offer, *wide;
	const ds_schema_set *set;
	const ds_source *src;
	ds_time at;
	ds_arena *arena;
};

/* One pass of measure m over the pool; returns the seconds on the clock
 * (copies of the inputs that a map consumes are made off the clock). */
static double pass(struct bench *b, int m)
{
	size_t n = b->L->n;
	double el = 0, t0 = now_s();
	switch (m) {
	case M_PARSE:
		for (size_t i = 0; i < n; i++)
			cJSON_Delete(parse_or_die(b->L->line[i], b->L->len[i], b->input));
		break;
	case M_OFFER:
		for (size_t i = 0; i < n; i++)
			validate_one(b->offer, b->mapped[i], "offer", i);
		break;
	case M_WIDE:
		for (size_t i = 0; i < n; i++)
			validate_one(b->wide, b->reports[i], "wide", i);
		break;
	case M_MAP:
		for (size_t i0 = 0; i0 < n; i0 += BATCH) {
			size_t k = n - i0 < BATCH ? n - i0 : BATCH;
			el += now_s() - t0;
			for (size_t j = 0; j < k; j++)
				if (!(b->batch[j] = cJSON_Duplicate(b->raw[i0 + j], true)))
					die("out of memory");
			t0 = now_s();
			for (size_t j = 0; j < k; j++) {
				struct sink sk = { b->set, 0, i0 + j, NULL };
				map_one(b->src, &b->batch[j], b->at, b->arena, &sk);
			}
		}
		break;
	default:
		for (size_t i = 0; i < n; i++) {
			cJSON *in = parse_or_die(b->L->line[i], b->L->len[i], b->input);
			struct sink sk = { b->set, 0, i, NULL };
			map_one(b->src, &in, b->at, b->arena, &sk);
		}
		break;
	}
	return el + now_s() - t0;
}

/* ---- main ---- */

struct result {
	const char *name;
	size_t records;
	double seconds;
};

static double rate(const struct result *r)
{
	return (double)r->records / (r->seconds > 0 ? r->seconds : 1e-9);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_validate [--tsv] [--pool N] [--seconds S] [--home DIR] "
		"[--wide FILE] [--only NAME] OFFERS.ndjson\n");
	return 2;
}

int main(int argc, char **argv)
{
	bool tsv = false;
	long pool = 10000;
	double min_s = 1.0;
	const char *home = ".", *wide_path = "bench/wide.schema.json", *input = NULL;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		char *e = NULL;
		if (strcmp(argv[i], "--tsv") == 0) {
			tsv = true;
		} else if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
			pool = strtol(argv[++i], &e, 10);
			if (*e || pool < 1 || pool > 10000000)
				return usage();
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			min_s = strtod(argv[++i], &e);
			if (*e || !(min_s > 0 && min_s <= 3600))
				return usage();
		} else if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
			home = argv[++i];
		} else if (strcmp(argv[i], "--wide") == 0 && i + 1 < argc) {
			wide_path = argv[++i];
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (argv[i][0] == '-' || input) {
			return usage();
		} else {
			input = argv[i];
		}
	}
	if (!input)
		return usage();
	ds_mem_init();

	/* Configuration, loaded the way the engine loads it. */
	char path[4096];
	ds_diag diag;
	ds_diag_init(&diag);
	ds_err err = { 0, "" };
	ds_schema_set *set = NULL;
	snprintf(path, sizeof path, "%s/schemas/records", home);
	if (ds_schema_set_load_dir(path, &diag, &set, &err) == DS_ENOMEM)
		die("%s", err.msg);
	const ds_schema *offer = ds_schema_set_get(set, "offer");
	if (!offer)
		die("no usable offer schema in %s: %s", path, err.msg);
	ds_source *src = NULL;
	snprintf(path, sizeof path, "%s/schemas/sources/api-offers.json", home);
	if (ds_source_load(path, &diag, &src, &err))
		die("%s: %s", path, err.msg);
	cJSON *wide_doc = ds_json_load_file(wide_path, &diag);
	ds_schema *wide = NULL;
	if (!wide_doc || ds_schema_compile(wide_doc, wide_path, &diag, &wide, &err)) {
		for (size_t i = 0; i < diag.count; i++)
			fprintf(stderr, "%s %s: %s\n", diag.items[i].file, diag.items[i].path,
				diag.items[i].message);
		die("%s does not compile", wide_path);
	}
	cJSON_Delete(wide_doc);
	ds_diag_free(&diag);
	ds_time at;
	if (ds_time_parse("2026-11-24T09:00:00Z", &at))
		die("bad time");

	/* The pools, prepared outside every measure. */
	struct lines L;
	read_lines(input, (size_t)pool, &L);
	size_t n = L.n;
	cJSON **raw = calloc(n, sizeof *raw), **mapped = calloc(n, sizeof *mapped);
	cJSON **reports = calloc(n, sizeof *reports), **batch = calloc(BATCH, sizeof *batch);
	char *wtext = malloc(WIDE_MAX);
	if (!raw || !mapped || !reports || !batch || !wtext)
		die("out of memory");
	ds_arena *arena = ds_arena_new(16384);
	if (!arena)
		die("out of memory");
	struct wbuf wb = { wtext, 0, WIDE_MAX };
	size_t wide_bytes = 0, offer_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		raw[i] = parse_or_die(L.line[i], L.len[i], input);
		offer_bytes += L.len[i];
		cJSON *copy = cJSON_Duplicate(raw[i], true);
		if (!copy)
			die("out of memory");
		struct sink k = { set, 0, i, &mapped[i] };
		map_one(src, &copy, at, arena, &k);
		if (!mapped[i])
			die("the source makes no offer of line %zu", i + 1);
		validate_one(offer, mapped[i], "offer", i);
		make_report(i, &wb);
		wide_bytes += wb.len;
		reports[i] = parse_or_die(wb.p, wb.len, "generated report");
		validate_one(wide, reports[i], "wide", i);
	}

	struct bench b = { &L, input, raw, mapped, reports, batch, offer, wide, set, src, at,
			   arena };
	struct result res[M_COUNT];
	size_t nres = 0;
	for (int m = 0; m < M_COUNT; m++) {
		if (only && strcmp(only, measure_names[m]) != 0)
			continue;
		struct result *r = &res[nres++];
		*r = (struct result){ measure_names[m], 0, 0 };
		do {
			r->seconds += pass(&b, m);
			r->records += n;
		} while (r->seconds < min_s);
	}
	if (!nres)
		return usage();

	if (tsv) {
		for (size_t r = 0; r < nres; r++)
			printf("%s\t%zu\t%.3f\t%.0f\n", res[r].name, res[r].records, res[r].seconds,
			       rate(&res[r]));
	} else {
		printf("%zu offers of %.0f bytes on average, %zu reports of %.0f bytes; one "
		       "thread\n", n, (double)offer_bytes / (double)n, n,
		       (double)wide_bytes / (double)n);
		printf("%-20s %12s %9s %12s\n", "measure", "records", "seconds", "records/s");
		for (size_t r = 0; r < nres; r++)
			printf("%-20s %12zu %9.3f %12.0f\n", res[r].name, res[r].records,
			       res[r].seconds, rate(&res[r]));
	}

	for (size_t i = 0; i < n; i++) {
		cJSON_Delete(raw[i]);
		cJSON_Delete(mapped[i]);
		cJSON_Delete(reports[i]);
	}
	free(raw);
	free(mapped);
	free(reports);
	free(batch);
	free(wtext);
	free(L.line);
	free(L.len);
	ds_free(L.text);
	ds_arena_free(arena);
	ds_schema_free(wide);
	ds_source_free(src);
	ds_schema_set_free(set);
	return 0;
}
