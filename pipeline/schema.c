/*
 * schema.c - compiler and validator for the JSON Schema subset; see
 * schema.h.
 *
 * Compilation turns each schema object into a struct node whose keywords
 * are decoded once: type bits, exact bounds, compiled regexes, and a hash
 * table of property names that also holds the required names, so a single
 * pass over an instance object serves properties, required and
 * additionalProperties. Everything a schema owns (nodes, tables, its JSON
 * tree, regexes as cleanups) lives in one arena, freed in one call; the
 * schemas of a set share the set's arena because $ref may cross files.
 *
 * Validation first measures the instance's nesting without recursion, so
 * the recursive walk that follows is bounded by DS_SCHEMA_MAX_DEPTH, and
 * $ref chains by DS_SCHEMA_MAX_REF_DEPTH (cycles that would not descend
 * into the instance are refused at compile time). The way to the current
 * value is a stack of (key, index) frames, turned into a JSON Pointer only
 * when an error is reported, so a valid record costs no string work.
 * Subschemas of anyOf, oneOf and not run in a quiet mode that stops at the
 * first failure and reports nothing.
 */
#include "schema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decimal.h"
#include "ident.h"
#include "json.h"
#include "mem.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define SUFFIX ".schema.json"
#define QUOTE_MAX 60            /* bytes of a received string in a message */
#define MAX_DOC_ERRORS 200      /* problems reported per schema file */
#define MATCH_LIMIT 1000000     /* PCRE2 backtracking budget per match */

/* Instance types, in the order messages list them. */
enum {
	T_OBJECT = 1 << 0,
	T_ARRAY = 1 << 1,
	T_STRING = 1 << 2,
	T_NUMBER = 1 << 3,
	T_INTEGER = 1 << 4,
	T_BOOLEAN = 1 << 5,
	T_NULL = 1 << 6,
};

static const struct {
	const char *name;
	const char *article;
} type_info[] = {
	{ "object", "an object" }, { "array", "an array" },
	{ "string", "a string" }, { "number", "a number" },
	{ "integer", "an integer" }, { "boolean", "a boolean" },
	{ "null", "null" },
};
#define NTYPES (sizeof type_info / sizeof type_info[0])

/* Which keywords a node carries, so validation skips the rest. */
enum {
	K_TYPE = 1u << 0,
	K_ENUM = 1u << 1,
	K_CONST = 1u << 2,
	K_PATTERN = 1u << 3,
	K_FORMAT = 1u << 4,
	K_MIN = 1u << 5,
	K_MAX = 1u << 6,
	K_XMIN = 1u << 7,
	K_XMAX = 1u << 8,
	K_MINLEN = 1u << 9,
	K_MAXLEN = 1u << 10,
	K_ITEMS = 1u << 11,
	K_MINITEMS = 1u << 12,
	K_MAXITEMS = 1u << 13,
	K_OBJECT = 1u << 14,    /* properties, required or additionalProperties */
	K_REF = 1u << 15,
	K_ALLOF = 1u << 16,
	K_ANYOF = 1u << 17,
	K_ONEOF = 1u << 18,
	K_NOT = 1u << 19,
	K_MULTIPLE = 1u << 20,
};
#define K_NUMERIC (K_MIN | K_MAX | K_XMIN | K_XMAX | K_MULTIPLE)
#define K_STRINGY (K_PATTERN | K_FORMAT | K_MINLEN | K_MAXLEN)
#define K_ARRAYISH (K_ITEMS | K_MINITEMS | K_MAXITEMS)

enum {
	F_NONE, F_EMAIL, F_DATE, F_DATETIME, F_URI, F_DECIMAL, F_CURRENCY,
	F_PHONE, F_SIREN, F_SIRET, F_VATFR, F_IBAN, F_POSTCODE_FR, F_IPV4, F_IPV6,
	F_COUNT
};

static const struct {
	const char *name;
	const char *message;
} format_info[F_COUNT] = {
	[F_NONE] = { "", "" },
	[F_EMAIL] = { "email", "must be an email address" },
	[F_DATE] = { "date", "must be a date (YYYY-MM-DD)" },
	[F_DATETIME] = { "date-time",
			 "must be a date-time (RFC 3339, e.g. 2026-11-20T09:30:00Z)" },
	[F_URI] = { "uri", "must be an absolute URI" },
	[F_DECIMAL] = { "decimal", "must be a decimal such as \"12.50\"" },
	[F_CURRENCY] = { "currency", "must be an ISO 4217 currency code" },
	[F_PHONE] = { "phone", "must be a phone number in E.164 form (+33612345678)" },
	[F_SIREN] = { "siren", "must be a SIREN number (9 digits, valid key)" },
	[F_SIRET] = { "siret", "must be a SIRET number (14 digits, valid key)" },
	[F_VATFR] = { "vat-fr", "must be a French VAT number (FR, key, SIREN)" },
	[F_IBAN] = { "iban", "must be an IBAN" },
	[F_POSTCODE_FR] = { "postcode-fr", "must be a French postcode (5 digits)" },
	[F_IPV4] = { "ipv4", "must be an IPv4 address such as 192.0.2.1" },
	[F_IPV6] = { "ipv6", "must be an IPv6 address such as 2001:db8::1" },
};

/* A number as exact decimal when it fits, else as the double cJSON holds. */
struct num {
	bool exact;
	ds_dec dec;
	double d;
};

struct prop {
	const char *name;
	size_t len;
	uint32_t hash;              /* key_hash */
	const struct node *schema;  /* NULL: a required name not in properties */
};

struct node {
	uint32_t has;
	unsigned types;
	bool is_bool;               /* a boolean schema: bool_value says which */
	bool bool_value;
	bool additional_false;
	bool additional_given;      /* additionalProperties present, whatever it says */
	int format;
	int scale;                  /* "scale" beside format decimal, or -1 */
	struct num min, max, xmin, xmax;
	struct num mult;            /* multipleOf, > 0 */
	size_t min_len, max_len, min_items, max_items;
	const cJSON *enum_vals;     /* the enum array, in the schema's tree */
	const char *enum_text;
	const cJSON *const_val;
	const char *const_text;
	pcre2_code *re;
	const char *pattern;
	const struct node *items;   /* NULL when absent or always true */
	const struct node *additional;
	struct prop *props;
	size_t nprops;
	uint32_t *slots;            /* open addressing: index + 1, 0 empty */
	uint32_t mask;
	uint32_t *required;         /* indexes into props */
	size_t nrequired;
	struct node **all, **any, **one;
	size_t nall, nany, none;
	struct node *not_;
	const char *ref;
	struct node *target;        /* resolved $ref */
	const char *path;           /* JSON path in its document */
	ds_schema *doc;
	struct node *next;          /* the document's nodes, for $ref */
	int mark;                   /* cycle check scratch */
	size_t edge;
};

/* What a schema or a set allocates from. */
struct env {
	ds_arena *arena;
	pcre2_general_context *gctx;
	pcre2_compile_context *cctx;
	pcre2_match_context *mctx;
};

struct ds_schema {
	struct node *root;
	struct node *nodes;         /* in document order */
	struct node *last;
	const char *file;           /* for diagnostics */
	const char *name;           /* file name without directory, for $ref */
	const char *type;           /* record type, in a set */
	const char *id;             /* $id without a trailing '#', or NULL */
	struct env *env;
	struct env own;             /* used by a standalone schema */
	bool standalone;
	bool failed;                /* errors while compiling or linking */
	bool bad;                   /* failed, or refers to a failed document */
};

struct ds_schema_set {
	struct env env;
	ds_schema **docs;
	size_t ndocs;
	ds_schema **types;          /* the usable ones, sorted by type */
	size_t ntypes;
};

/* ---- memory ---- */

static void *pc_malloc(size_t n, void *ud)
{
	(void)ud;
	return ds_malloc(n);
}

static void pc_free(void *p, void *ud)
{
	(void)ud;
	ds_free(p);
}

static void free_code(void *p) { pcre2_code_free(p); }

static void free_json(void *p) { cJSON_Delete(p); }

static int env_init(struct env *e)
{
	memset(e, 0, sizeof *e);
	e->arena = ds_arena_new(16384);
	e->gctx = pcre2_general_context_create(pc_malloc, pc_free, NULL);
	if (!e->arena || !e->gctx)
		return DS_ENOMEM;
	e->cctx = pcre2_compile_context_create(e->gctx);
	e->mctx = pcre2_match_context_create(e->gctx);
	if (!e->cctx || !e->mctx)
		return DS_ENOMEM;
	/* ECMA-262 escapes: \uHHHH and \u{H...} */
	pcre2_set_compile_extra_options(e->cctx, PCRE2_EXTRA_ALT_BSUX);
	pcre2_set_match_limit(e->mctx, MATCH_LIMIT);
	return DS_OK;
}

static void env_fini(struct env *e)
{
	ds_arena_free(e->arena);
	pcre2_match_context_free(e->mctx);
	pcre2_compile_context_free(e->cctx);
	pcre2_general_context_free(e->gctx);
	memset(e, 0, sizeof *e);
}

/* ---- values ---- */

static const char *type_of(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	return "invalid value";
}

static struct num num_of(const cJSON *v)
{
	struct num x = { .exact = false, .dec = { 0, 0 }, .d = v->valuedouble };
	double d = v->valuedouble;
	/* Integers below 10^15 are exact in a double and print as
	 * themselves through "%.15g": skip the text round trip. */
	if (d > -1e15 && d < 1e15 && d == trunc(d)) {
		x.exact = true;
		x.dec.units = (int64_t)d;
		return x;
	}
	/* Fractions: the fewest decimals k such that units / 10^k reads back
	 * as d, with at most 15 significant digits, is the text "%.15g" would
	 * give (two such decimals would lie closer together than the doubles
	 * around d); formatting a double costs far more than this loop. */
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
				      1e11, 1e12, 1e13, 1e14, 1e15 };
	if (d > -1e15 && d < 1e15) {
		for (int k = 1; k <= 15; k++) {
			double u = nearbyint(d * p10[k]);
			if (u <= -1e15 || u >= 1e15)
				break;
			if (u / p10[k] == d) {
				x.exact = true;
				x.dec = (ds_dec){ (int64_t)u, k };
				return x;
			}
		}
	}
	x.exact = ds_dec_from_json(v, &x.dec) == DS_OK;
	return x;
}

static int num_cmp(const struct num *a, const struct num *b)
{
	if (a->exact && b->exact)
		return ds_dec_cmp(a->dec, b->dec);
	return (a->d > b->d) - (a->d < b->d);
}

static bool num_is_integer(const struct num *x)
{
	if (x->exact) {
		int64_t p = 1;
		for (int i = 0; i < x->dec.scale; i++)
			p *= 10;
		return x->dec.units % p == 0;
	}
	/* Beyond the decimal range: huge doubles are all integral. */
	return isfinite(x->d) && x->d == trunc(x->d);
}

__extension__ typedef __int128 i128;

/* Whether x is an integer multiple of m (m > 0): exactly when both are
 * decimals (0.0075 is a multiple of 0.0001), else through the doubles, where
 * a quotient too large to hold is not an integer. */
static bool num_is_multiple(const struct num *x, const struct num *m)
{
	if (x->exact && m->exact) {
		/* Scales are at most 18 and units below 2^63: both fit in i128
		 * at the common scale. */
		int s = x->dec.scale > m->dec.scale ? x->dec.scale : m->dec.scale;
		i128 a = x->dec.units, b = m->dec.units;
		for (int i = x->dec.scale; i < s; i++)
			a *= 10;
		for (int i = m->dec.scale; i < s; i++)
			b *= 10;
		return b != 0 && a % b == 0;
	}
	double q = x->d / m->d;
	return isfinite(q) && q == trunc(q);
}

static void fmt_num(const struct num *x, char *buf, size_t n)
{
	if (x->exact) {
		ds_dec_format(x->dec, buf, n);
		return;
	}
	/* The shortest text that reads back as the same double. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, x->d);
		if (strtod(buf, NULL) == x->d)
			return;
	}
}

/* s quoted for a message, cut after about QUOTE_MAX bytes on a character
 * boundary; buf holds at least 96 bytes. */
static void quote(char *buf, size_t n, const char *s)
{
	size_t o = 0, i = 0;
	buf[o++] = '"';
	while (s[i]) {
		unsigned char ch = (unsigned char)s[i];
		if (i >= QUOTE_MAX && (ch & 0xC0) != 0x80)
			break;
		char esc[8];
		size_t k = 0;
		if (ch == '"' || ch == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)ch;
		} else if (ch == '\n') {
			memcpy(esc, "\\n", 2);
			k = 2;
		} else if (ch == '\t') {
			memcpy(esc, "\\t", 2);
			k = 2;
		} else if (ch < 0x20 || ch == 0x7F) {
			k = (size_t)snprintf(esc, sizeof esc, "\\u%04x", ch);
		} else {
			esc[k++] = (char)ch;
		}
		if (o + k + 5 > n)
			break;
		memcpy(buf + o, esc, k);
		o += k;
		i++;
	}
	if (s[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* A short text for a received value: "jean@" quoted, 12.5, true, an array. */
static void describe(char *buf, size_t n, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		quote(buf, n, v->valuestring ? v->valuestring : "");
	} else if (cJSON_IsNumber(v)) {
		struct num x = num_of(v);
		fmt_num(&x, buf, n);
	} else if (cJSON_IsTrue(v)) {
		snprintf(buf, n, "true");
	} else if (cJSON_IsFalse(v)) {
		snprintf(buf, n, "false");
	} else if (cJSON_IsNull(v)) {
		snprintf(buf, n, "null");
	} else if (cJSON_IsArray(v)) {
		snprintf(buf, n, "an array");
	} else {
		snprintf(buf, n, "an object");
	}
}

/* JSON Schema equality: numbers by value (1 == 1.0), objects unordered.
 * Recursion is bounded by the instance's nesting, checked beforehand. */
static bool json_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
		struct num x = num_of(a), y = num_of(b);
		return num_cmp(&x, &y) == 0;
	}
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return false;
	if (cJSON_IsString(a))  /* see DS_JSON_STRING_NUL */
		return strcmp(a->valuestring, b->valuestring) == 0
		       && (a->type & DS_JSON_STRING_NUL) == (b->type & DS_JSON_STRING_NUL);
	if (cJSON_IsArray(a)) {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return !x && !y;
	}
	if (cJSON_IsObject(a)) {
		size_t na = 0, nb = 0;
		for (const cJSON *x = a->child; x; x = x->next)
			na++;
		for (const cJSON *y = b->child; y; y = y->next)
			nb++;
		if (na != nb)
			return false;
		for (const cJSON *x = a->child; x; x = x->next) {
			const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y || !json_equal(x, y))
				return false;
		}
		return true;
	}
	return true;  /* null, true, false */
}

/* Whether v nests more than max arrays/objects, without recursion; stack
 * holds max entries. */
static bool nesting_exceeds(const cJSON *v, int max, const cJSON **stack)
{
	int depth = 0;
	for (;;) {
		if ((cJSON_IsArray(v) || cJSON_IsObject(v))) {
			if (depth == max)
				return true;
			if (v->child) {
				stack[depth++] = v;
				v = v->child;
				continue;
			}
		}
		for (;;) {
			if (depth == 0)
				return false;
			if (v->next) {
				v = v->next;
				break;
			}
			v = stack[--depth];
		}
	}
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/*
 * The hash of the property tables, which validation computes for every
 * member of every object: the length and three bytes of the name, mixed
 * (murmur3's finaliser), instead of a loop over every byte. A table is
 * fixed at compile time and at most half full, so whatever names an
 * instance brings, a probe never runs longer than the table's own
 * clusters; names that share a hash are told apart by length and bytes.
 */
static uint32_t key_hash(const char *s, size_t len)
{
	uint32_t x = (uint32_t)len;
	if (len)
		x ^= (uint32_t)(unsigned char)s[0] << 8 ^ (uint32_t)(unsigned char)s[len / 2] << 16
		     ^ (uint32_t)(unsigned char)s[len - 1] << 24;
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	return x ^ (x >> 16);
}

static const struct prop *prop_find(const struct node *n, const char *key)
{
	if (!n->slots)
		return NULL;
	size_t len = strlen(key);
	uint32_t h = key_hash(key, len);
	for (uint32_t i = h & n->mask;; i = (i + 1) & n->mask) {
		uint32_t s = n->slots[i];
		if (!s)
			return NULL;
		const struct prop *p = &n->props[s - 1];
		if (p->hash == h && p->len == len && memcmp(p->name, key, len) == 0)
			return p;
	}
}

static size_t utf8_count(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/* ---- formats ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return n > 0;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool is_date(const char *s, size_t len)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (len != 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2)
	    || s[7] != '-' || !all_digits(s + 8, 2))
		return false;
	int y = num2(s) * 100 + num2(s + 2), m = num2(s + 5), d = num2(s + 8);
	if (m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* RFC 3339 section 5.6; a leap second only where UTC reads 23:59:60. */
static bool is_datetime(const char *s, size_t len)
{
	if (len < 20 || !is_date(s, 10) || (s[10] != 'T' && s[10] != 't'))
		return false;
	const char *t = s + 11;
	if (!all_digits(t, 2) || t[2] != ':' || !all_digits(t + 3, 2) || t[5] != ':'
	    || !all_digits(t + 6, 2))
		return false;
	int hh = num2(t), mm = num2(t + 3), ss = num2(t + 6);
	size_t i = 19;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return false;
	}
	if (i >= len)
		return false;
	int off = 0;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (len - i != 6 || !all_digits(s + i + 1, 2) || s[i + 3] != ':'
		    || !all_digits(s + i + 4, 2))
			return false;
		int oh = num2(s + i + 1), om = num2(s + i + 4);
		if (oh > 23 || om > 59)
			return false;
		off = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
		i += 6;
	} else {
		return false;
	}
	if (i != len || hh > 23 || mm > 59 || ss > 60)
		return false;
	if (ss == 60) {
		int utc = ((hh * 60 + mm - off) % 1440 + 1440) % 1440;
		return utc == 23 * 60 + 59;
	}
	return true;
}

/* Dotted-quad IPv4 (RFC 2673 section 3.2): four decimal numbers 0-255
 * without leading zeros, which some readers take for octal. */
static bool is_ipv4(const char *s, size_t len)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < len && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		size_t n = i - start;
		if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
			return false;
	}
	return i == len;
}

/* IPv6 text (RFC 4291 section 2.2): eight groups of 1-4 hex digits, one
 * "::" standing for one or more groups of zeros, the last two groups
 * optionally written as a dotted-quad IPv4 address. No zone index. */
static bool is_ipv6(const char *s, size_t len)
{
	size_t i = 0;
	int groups = 0;
	bool gap = false;
	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = true;
		i = 2;
		if (i == len)
			return true;
	}
	for (;;) {
		size_t start = i;
		while (i < len && is_hex(s[i]) && i - start < 5)
			i++;
		if (i < len && s[i] == '.') {
			if (groups > 6 || !is_ipv4(s + start, len - start))
				return false;
			groups += 2;
			break;
		}
		if (i == start || i - start > 4)
			return false;
		groups++;
		if (i == len)
			break;
		if (s[i] != ':' || ++i == len)
			return false;
		if (s[i] == ':') {
			if (gap)
				return false;
			gap = true;
			if (++i == len)
				break;
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

/* An IP-literal of RFC 3986 without its brackets: IPv6 or IPvFuture. */
static bool is_ip_literal(const char *s, size_t len)
{
	if (len && (s[0] == 'v' || s[0] == 'V')) {
		size_t i = 1;
		while (i < len && is_hex(s[i]))
			i++;
		if (i == 1 || i >= len || s[i] != '.' || i + 1 == len)
			return false;
		for (i++; i < len; i++)
			if (!is_alpha(s[i]) && !is_digit(s[i]) && !strchr("-._~!$&'()*+,;=:", s[i]))
				return false;
		return true;
	}
	return is_ipv6(s, len);
}

/* RFC 5321 section 4.1.2 Mailbox, ASCII only: a dot-string or quoted-string
 * local part, then a domain of two or more labels (letters, digits, inner
 * hyphens) or an IPv4 or IPv6 address literal; RFC 5321 lengths.
 * Single-label domains are refused on purpose: they are not customer
 * addresses. Non-ASCII addresses are "idn-email", which is not supported. */
static bool is_email(const char *s, size_t len)
{
	if (len < 3 || len > 254)
		return false;
	size_t llen;
	if (s[0] == '"') {
		/* qtextSMTP and quoted-pairSMTP */
		size_t i = 1;
		for (; i < len && s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				if (++i >= len || s[i] < 0x20 || s[i] > 0x7E)
					return false;
			} else if (c < 0x20 || c > 0x7E) {
				return false;
			}
		}
		if (i >= len || i == 1)
			return false;
		llen = i + 1;
		if (llen >= len || s[llen] != '@')
			return false;
	} else {
		const char *at = memchr(s, '@', len);
		if (!at)
			return false;
		llen = (size_t)(at - s);
		for (size_t i = 0; i < llen; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c <= 0x20 || c >= 0x7F || strchr("()<>[]\\,;:\"", c))
				return false;
			if (c == '.' && (i == 0 || i == llen - 1 || s[i - 1] == '.'))
				return false;
		}
	}
	size_t dlen = len - llen - 1;
	if (llen < 1 || llen > 64 || dlen < 3 || dlen > 253)
		return false;
	const char *d = s + llen + 1;
	if (d[0] == '[') {
		if (d[dlen - 1] != ']')
			return false;
		if (dlen > 7 && memcmp(d + 1, "IPv6:", 5) == 0)
			return is_ipv6(d + 6, dlen - 7);
		return is_ipv4(d + 1, dlen - 2);
	}
	size_t labels = 0, start = 0;
	for (size_t i = 0; i <= dlen; i++) {
		if (i < dlen && d[i] != '.') {
			if (!is_alpha(d[i]) && !is_digit(d[i]) && d[i] != '-')
				return false;
			continue;
		}
		size_t l = i - start;
		if (l < 1 || l > 63 || d[start] == '-' || d[i - 1] == '-')
			return false;
		labels++;
		start = i + 1;
	}
	return labels >= 2;
}

static bool uri_unreserved(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool uri_subdelim(char c) { return c && strchr("!$&'()*+,;=", c); }

/* Characters of RFC 3986 part [a, b) among unreserved, sub-delims, valid
 * %HH and the characters of extra. */
static bool uri_chars(const char *s, size_t a, size_t b, const char *extra)
{
	for (size_t i = a; i < b; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= b || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return false;
			i += 2;
		} else if (!uri_unreserved(c) && !uri_subdelim(c) && !(c && strchr(extra, c))) {
			return false;
		}
	}
	return true;
}

/* An absolute URI (RFC 3986 section 4.3 plus a fragment): scheme ":"
 * hier-part, the authority's host and port checked, every other part
 * checked for its characters. */
static bool is_uri(const char *s, size_t len)
{
	size_t i = 0;
	if (len == 0 || !is_alpha(s[0]))
		return false;
	while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-'
			   || s[i] == '.'))
		i++;
	if (i >= len || s[i] != ':')
		return false;
	i++;
	size_t hash = len;
	for (size_t k = i; k < len; k++)
		if (s[k] == '#') {
			hash = k;
			break;
		}
	if (hash < len && !uri_chars(s, hash + 1, len, ":@/?"))
		return false;
	size_t end = hash;
	if (end - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		size_t a = i + 2, b = a;
		while (b < end && s[b] != '/' && s[b] != '?')
			b++;
		size_t host = a;
		for (size_t k = a; k < b; k++)
			if (s[k] == '@')
				host = k + 1;
		if (host > a && !uri_chars(s, a, host - 1, ":"))
			return false;
		size_t port = b;
		if (host < b && s[host] == '[') {
			const char *close = memchr(s + host, ']', b - host);
			if (!close)
				return false;
			size_t k = (size_t)(close - s);
			if (!is_ip_literal(s + host + 1, k - host - 1))
				return false;
			port = k + 1;
			if (port < b && s[port] != ':')
				return false;
		} else {
			for (port = host; port < b && s[port] != ':'; port++)
				;
			if (!uri_chars(s, host, port, ""))
				return false;
		}
		if (port < b && !(port + 1 == b || all_digits(s + port + 1, b - port - 1)))
			return false;
		i = b;
	}
	return uri_chars(s, i, end, ":@/?");
}

/* Business identifiers: the rules live in ident.c. */
static bool is_siren(const char *s, size_t len) { return !ds_id_siren_check(s, len); }
static bool is_siret(const char *s, size_t len) { return !ds_id_siret_check(s, len); }
static bool is_vat_fr(const char *s, size_t len) { return !ds_id_vat_fr_check(s, len); }
static bool is_iban(const char *s, size_t len) { return !ds_id_iban_check(s, len); }
static bool is_phone(const char *s, size_t len) { return !ds_id_phone_check(s, len); }
static bool is_postcode_fr(const char *s, size_t len) { return !ds_id_postcode_fr_check(s, len); }
static bool is_currency(const char *s, size_t len) { return !ds_id_currency_check(s, len); }

enum { FMT_OK, FMT_BAD, FMT_SCALE, FMT_RANGE };

/* dec receives the value of a valid decimal. */
static int check_format(int format, int scale, const char *s, size_t len, ds_dec *dec)
{
	switch (format) {
	case F_EMAIL: return is_email(s, len) ? FMT_OK : FMT_BAD;
	case F_DATE: return is_date(s, len) ? FMT_OK : FMT_BAD;
	case F_DATETIME: return is_datetime(s, len) ? FMT_OK : FMT_BAD;
	case F_URI: return is_uri(s, len) ? FMT_OK : FMT_BAD;
	case F_CURRENCY: return is_currency(s, len) ? FMT_OK : FMT_BAD;
	case F_PHONE: return is_phone(s, len) ? FMT_OK : FMT_BAD;
	case F_SIREN: return is_siren(s, len) ? FMT_OK : FMT_BAD;
	case F_SIRET: return is_siret(s, len) ? FMT_OK : FMT_BAD;
	case F_VATFR: return is_vat_fr(s, len) ? FMT_OK : FMT_BAD;
	case F_IBAN: return is_iban(s, len) ? FMT_OK : FMT_BAD;
	case F_POSTCODE_FR: return is_postcode_fr(s, len) ? FMT_OK : FMT_BAD;
	case F_IPV4: return is_ipv4(s, len) ? FMT_OK : FMT_BAD;
	case F_IPV6: return is_ipv6(s, len) ? FMT_OK : FMT_BAD;
	case F_DECIMAL: {
		int rc = ds_dec_parse(s, len, dec);
		if (rc == DS_ELIMIT)
			return FMT_RANGE;
		if (rc)
			return FMT_BAD;
		const char *dot = memchr(s, '.', len);
		if (scale >= 0 && dot && (size_t)(s + len - dot - 1) > (size_t)scale)
			return FMT_SCALE;
		return FMT_OK;
	}
	default: return FMT_OK;
	}
}

/* ---- compilation ---- */

struct cc {
	struct env *env;
	ds_schema *doc;
	ds_diag *diag;
	size_t *problems;           /* errors reported, across documents */
	size_t nerr;                /* errors in this document */
	int rc;                     /* DS_ENOMEM stops everything */
	bool stopped;               /* too many errors in this document */
	unsigned flags;             /* DS_SCHEMA_FORMAT_ANNOTATION */
	size_t plen;
	char path[2048];
};

static void cerr(struct cc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cerr(struct cc *c, const char *fmt, ...)
{
	c->doc->failed = true;
	if (c->stopped)
		return;
	(*c->problems)++;
	if (++c->nerr > MAX_DOC_ERRORS) {
		ds_diag_error(c->diag, c->doc->file, "",
			      "too many errors; stopped after %d", MAX_DOC_ERRORS);
		c->stopped = true;
		return;
	}
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ds_diag_error(c->diag, c->doc->file, c->path, "%s", msg);
}

static void cwarn(struct cc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cwarn(struct cc *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ds_diag_warn(c->diag, c->doc->file, c->path, "%s", msg);
}

/* Appends "/seg" (RFC 6901 escaped) to the path; returns the length to
 * restore. A path too long for the buffer ends in "...". */
static size_t path_push(struct cc *c, const char *seg)
{
	const size_t lim = sizeof c->path - 4;  /* room for "..." and NUL */
	size_t old = c->plen;
	if (c->plen >= lim)
		return old;
	c->path[c->plen++] = '/';
	for (const char *p = seg ? seg : ""; *p; p++) {
		const char *rep = *p == '~' ? "~0" : *p == '/' ? "~1" : NULL;
		size_t k = rep ? 2 : 1;
		if (c->plen + k > lim) {
			memcpy(c->path + c->plen, "...", 3);
			c->plen += 3;
			break;
		}
		memcpy(c->path + c->plen, rep ? rep : p, k);
		c->plen += k;
	}
	c->path[c->plen] = '\0';
	return old;
}

static size_t path_push_index(struct cc *c, size_t i)
{
	char b[24];
	snprintf(b, sizeof b, "%zu", i);
	return path_push(c, b);
}

static void path_pop(struct cc *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static bool oom(struct cc *c, const void *p)
{
	if (!p)
		c->rc = DS_ENOMEM;
	return !p;
}

enum {
	KW_TYPE, KW_PROPERTIES, KW_REQUIRED, KW_ADDITIONAL, KW_ENUM, KW_CONST,
	KW_PATTERN, KW_FORMAT, KW_SCALE, KW_MINIMUM, KW_MAXIMUM, KW_XMIN,
	KW_XMAX, KW_MINLEN, KW_MAXLEN, KW_ITEMS, KW_MINITEMS, KW_MAXITEMS,
	KW_REF, KW_DEFS, KW_ALLOF, KW_ANYOF, KW_ONEOF, KW_NOT, KW_SCHEMA,
	KW_ID, KW_TITLE, KW_DESCRIPTION, KW_COMMENT, KW_EXAMPLES, KW_DEFAULT,
	KW_DEPRECATED, KW_READONLY, KW_WRITEONLY, KW_MULTIPLE, KW_COUNT
};

static const char *const kw_names[KW_COUNT] = {
	[KW_TYPE] = "type", [KW_PROPERTIES] = "properties",
	[KW_REQUIRED] = "required", [KW_ADDITIONAL] = "additionalProperties",
	[KW_ENUM] = "enum", [KW_CONST] = "const", [KW_PATTERN] = "pattern",
	[KW_FORMAT] = "format", [KW_SCALE] = "scale", [KW_MINIMUM] = "minimum",
	[KW_MAXIMUM] = "maximum", [KW_XMIN] = "exclusiveMinimum",
	[KW_XMAX] = "exclusiveMaximum", [KW_MINLEN] = "minLength",
	[KW_MAXLEN] = "maxLength", [KW_ITEMS] = "items",
	[KW_MINITEMS] = "minItems", [KW_MAXITEMS] = "maxItems",
	[KW_REF] = "$ref", [KW_DEFS] = "$defs", [KW_ALLOF] = "allOf",
	[KW_ANYOF] = "anyOf", [KW_ONEOF] = "oneOf", [KW_NOT] = "not",
	[KW_SCHEMA] = "$schema", [KW_ID] = "$id", [KW_TITLE] = "title",
	[KW_DESCRIPTION] = "description", [KW_COMMENT] = "$comment",
	[KW_EXAMPLES] = "examples", [KW_DEFAULT] = "default",
	[KW_DEPRECATED] = "deprecated", [KW_READONLY] = "readOnly",
	[KW_WRITEONLY] = "writeOnly", [KW_MULTIPLE] = "multipleOf",
};

static int kw_find(const char *name)
{
	for (int i = 0; i < KW_COUNT; i++)
		if (strcmp(kw_names[i], name) == 0)
			return i;
	return -1;
}

static struct node *compile(struct cc *c, const cJSON *v, int depth);

static struct node *compile_at(struct cc *c, const char *seg, const cJSON *v, int depth)
{
	size_t old = path_push(c, seg);
	struct node *n = compile(c, v, depth + 1);
	path_pop(c, old);
	return n;
}

/* A subschema that accepts everything needs no visit. */
static bool always_true(const struct node *n)
{
	return n && (n->is_bool ? n->bool_value : n->has == 0);
}

static bool get_number(struct cc *c, const cJSON *m, struct num *out)
{
	if (!cJSON_IsNumber(m)) {
		cerr(c, "%s must be a number, got %s", m->string, type_of(m));
		return false;
	}
	*out = num_of(m);
	return true;
}

static bool get_count(struct cc *c, const cJSON *m, size_t *out)
{
	if (cJSON_IsNumber(m)) {
		struct num x = num_of(m);
		if (num_is_integer(&x) && m->valuedouble >= 0 && m->valuedouble <= 9007199254740992.0) {
			*out = (size_t)m->valuedouble;
			return true;
		}
	}
	cerr(c, "%s must be a non-negative integer", m->string);
	return false;
}

static const char *dup_text(struct cc *c, const char *s)
{
	char *d = ds_arena_strdup(c->env->arena, s);
	oom(c, d);
	return d;
}

/* The text of a value for an enum or const message. */
static void value_text(char *buf, size_t n, const cJSON *v)
{
	if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		char *p = cJSON_PrintUnformatted(v);
		if (p && strlen(p) <= QUOTE_MAX)
			snprintf(buf, n, "%s", p);
		else
			describe(buf, n, v);
		cJSON_free(p);
	} else {
		describe(buf, n, v);
	}
}

static void compile_enum(struct cc *c, struct node *n, const cJSON *m)
{
	if (!cJSON_IsArray(m)) {
		cerr(c, "enum must be an array, got %s", type_of(m));
		return;
	}
	if (!m->child)
		cwarn(c, "enum is empty: no value is valid");
	char text[200] = "";
	size_t len = 0;
	for (const cJSON *e = m->child; e; e = e->next) {
		char one[128];
		value_text(one, sizeof one, e);
		const char *sep = e == m->child ? "" : ", ";
		if (len + strlen(sep) + strlen(one) + 6 >= sizeof text) {
			snprintf(text + len, sizeof text - len, ", ...");
			break;
		}
		len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", sep, one);
	}
	n->enum_vals = m;
	n->enum_text = dup_text(c, text);
	n->has |= K_ENUM;
}

/* ECMA-262 names of Unicode general categories, which PCRE2 10.42 knows
 * only by their short names. */
static const struct {
	const char *ecma;
	const char *pcre;
} gc_names[] = {
	{ "Cased_Letter", "LC" }, { "Close_Punctuation", "Pe" },
	{ "Connector_Punctuation", "Pc" }, { "Control", "Cc" }, { "cntrl", "Cc" },
	{ "Currency_Symbol", "Sc" }, { "Dash_Punctuation", "Pd" },
	{ "Decimal_Number", "Nd" }, { "digit", "Nd" }, { "Enclosing_Mark", "Me" },
	{ "Final_Punctuation", "Pf" }, { "Format", "Cf" },
	{ "Initial_Punctuation", "Pi" }, { "Letter", "L" }, { "Letter_Number", "Nl" },
	{ "Line_Separator", "Zl" }, { "Lowercase_Letter", "Ll" }, { "Mark", "M" },
	{ "Combining_Mark", "M" }, { "Math_Symbol", "Sm" }, { "Modifier_Letter", "Lm" },
	{ "Modifier_Symbol", "Sk" }, { "Nonspacing_Mark", "Mn" }, { "Number", "N" },
	{ "Open_Punctuation", "Ps" }, { "Other", "C" }, { "Other_Letter", "Lo" },
	{ "Other_Number", "No" }, { "Other_Punctuation", "Po" }, { "Other_Symbol", "So" },
	{ "Paragraph_Separator", "Zp" }, { "Private_Use", "Co" }, { "Punctuation", "P" },
	{ "punct", "P" }, { "Separator", "Z" }, { "Space_Separator", "Zs" },
	{ "Spacing_Mark", "Mc" }, { "Surrogate", "Cs" }, { "Symbol", "S" },
	{ "Titlecase_Letter", "Lt" }, { "Unassigned", "Cn" }, { "Uppercase_Letter", "Lu" },
};

/* The short name of general category name[0..len) (long, short, or after
 * "General_Category=" or "gc="), or NULL when it is none. */
static const char *gc_short(const char *name, size_t len)
{
	const char *eq = memchr(name, '=', len);
	if (eq) {
		size_t k = (size_t)(eq - name);
		if (!((k == 2 && memcmp(name, "gc", 2) == 0)
		      || (k == 16 && memcmp(name, "General_Category", 16) == 0)))
			return NULL;
		len -= k + 1;
		name = eq + 1;
	}
	for (size_t i = 0; i < sizeof gc_names / sizeof gc_names[0]; i++) {
		const char *e = gc_names[i].ecma, *p = gc_names[i].pcre;
		if ((strlen(e) == len && memcmp(e, name, len) == 0)
		    || (eq && strlen(p) == len && memcmp(p, name, len) == 0))
			return p;
	}
	return NULL;
}

/* The pattern with \p{Letter}, \p{gc=Lu} and the like rewritten to the
 * short names PCRE2 reads (never longer than the original), in the arena;
 * the pattern itself when there is nothing to rewrite; NULL when out of
 * memory. */
static const char *ecma_properties(struct cc *c, const char *pat)
{
	if (!strstr(pat, "\\p{") && !strstr(pat, "\\P{"))
		return pat;
	size_t len = strlen(pat), o = 0;
	char *out = ds_arena_alloc(c->env->arena, len + 1);
	if (oom(c, out))
		return NULL;
	for (size_t i = 0; i < len;) {
		if (pat[i] != '\\' || i + 1 == len) {
			out[o++] = pat[i++];
			continue;
		}
		const char *close;
		if ((pat[i + 1] == 'p' || pat[i + 1] == 'P') && pat[i + 2] == '{'
		    && (close = strchr(pat + i + 3, '}'))) {
			const char *name = pat + i + 3;
			const char *sh = gc_short(name, (size_t)(close - name));
			if (sh) {
				o += (size_t)sprintf(out + o, "\\%c{%s}", pat[i + 1], sh);
				i = (size_t)(close - pat) + 1;
				continue;
			}
		}
		/* Any other escape, copied whole: an escaped backslash before
		 * "p{" stays a literal backslash. */
		out[o++] = pat[i++];
		out[o++] = pat[i++];
	}
	out[o] = '\0';
	return out;
}

static void compile_pattern(struct cc *c, struct node *n, const cJSON *m)
{
	if (!cJSON_IsString(m)) {
		cerr(c, "pattern must be a string, got %s", type_of(m));
		return;
	}
	const char *pat = ecma_properties(c, m->valuestring);
	if (!pat)
		return;
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY
				       | PCRE2_ALT_BSUX | PCRE2_NEVER_BACKSLASH_C,
				       &code, &off, c->env->cctx);
	if (!re) {
		if (code == PCRE2_ERROR_HEAP_FAILED) {
			c->rc = DS_ENOMEM;
			return;
		}
		PCRE2_UCHAR why[256];
		pcre2_get_error_message(code, why, sizeof why);
		if (pat == m->valuestring)
			cerr(c, "pattern does not compile at offset %zu: %s", (size_t)off,
			     (const char *)why);
		else  /* the offset would be in the rewritten text */
			cerr(c, "pattern does not compile: %s", (const char *)why);
		return;
	}
	if (ds_arena_defer(c->env->arena, free_code, re)) {
		c->rc = DS_ENOMEM;
		return;
	}
	/* Without JIT (no memory, unsupported CPU) the interpreter runs. */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	n->re = re;
	n->pattern = m->valuestring;
	n->has |= K_PATTERN;
}

static void compile_type(struct cc *c, struct node *n, const cJSON *m)
{
	if (!cJSON_IsString(m) && !(cJSON_IsArray(m) && m->child)) {
		cerr(c, "type must be a type name or a non-empty array of them");
		return;
	}
	const cJSON *one = cJSON_IsString(m) ? m : m->child;
	size_t i = 0;
	for (; one; one = cJSON_IsString(m) ? NULL : one->next, i++) {
		size_t old = cJSON_IsString(m) ? c->plen : path_push_index(c, i);
		unsigned bit = 0;
		if (cJSON_IsString(one))
			for (size_t t = 0; t < NTYPES; t++)
				if (strcmp(one->valuestring, type_info[t].name) == 0)
					bit = 1u << t;
		if (!cJSON_IsString(one))
			cerr(c, "a type name must be a string, got %s", type_of(one));
		else if (!bit)
			cerr(c, "unknown type \"%.60s\" (expected object, array, string, number, "
			     "integer, boolean or null)", one->valuestring);
		else if (n->types & bit)
			cerr(c, "type \"%s\" is listed twice", one->valuestring);
		n->types |= bit;
		path_pop(c, old);
	}
	n->has |= K_TYPE;
}

static struct node **compile_list(struct cc *c, const cJSON *m, size_t *count, int depth)
{
	if (!cJSON_IsArray(m) || !m->child) {
		cerr(c, "%s must be a non-empty array of schemas", m->string);
		return NULL;
	}
	size_t k = 0;
	for (const cJSON *e = m->child; e; e = e->next)
		k++;
	struct node **list = ds_arena_alloc(c->env->arena, k * sizeof *list);
	if (oom(c, list))
		return NULL;
	size_t i = 0;
	for (const cJSON *e = m->child; e; e = e->next, i++) {
		size_t old = path_push_index(c, i);
		list[i] = compile(c, e, depth + 1);
		path_pop(c, old);
		if (!list[i])
			return NULL;
	}
	*count = k;
	return list;
}

/* Reports members of obj that repeat an earlier name (cJSON keeps both). */
static void check_unique(struct cc *c, const cJSON *obj, const char *what)
{
	size_t k = 0;
	for (const cJSON *m = obj->child; m; m = m->next)
		k++;
	size_t cap = 8;
	while (cap < 2 * k)
		cap *= 2;
	const cJSON **tab = ds_calloc(cap, sizeof *tab);
	if (oom(c, tab))
		return;
	for (const cJSON *m = obj->child; m; m = m->next) {
		const char *name = m->string ? m->string : "";
		for (size_t i = hash_str(name) & (cap - 1);; i = (i + 1) & (cap - 1)) {
			if (!tab[i]) {
				tab[i] = m;
				break;
			}
			if (strcmp(tab[i]->string ? tab[i]->string : "", name) == 0) {
				size_t old = path_push(c, name);
				cerr(c, "duplicate %s \"%.60s\"", what, name);
				path_pop(c, old);
				break;
			}
		}
	}
	ds_free(tab);
}

static bool prop_insert(struct node *n, const char *name, const struct node *schema,
			size_t *index)
{
	size_t len = strlen(name);
	uint32_t h = key_hash(name, len);
	uint32_t i = h & n->mask;
	for (; n->slots[i]; i = (i + 1) & n->mask) {
		struct prop *p = &n->props[n->slots[i] - 1];
		if (p->hash == h && p->len == len && memcmp(p->name, name, len) == 0) {
			*index = n->slots[i] - 1;
			return false;
		}
	}
	n->props[n->nprops] = (struct prop){ name, len, h, schema };
	n->slots[i] = (uint32_t)++n->nprops;
	*index = n->nprops - 1;
	return true;
}

/* properties and required, into one hash table. */
static void compile_object(struct cc *c, struct node *n, const cJSON *props,
			   const cJSON *req, int depth)
{
	size_t np = 0, nr = 0;
	for (const cJSON *m = props ? props->child : NULL; m; m = m->next)
		np++;
	for (const cJSON *m = req ? req->child : NULL; m; m = m->next)
		nr++;
	if (np + nr == 0)
		return;
	if (np + nr > UINT32_MAX / 4) {
		cerr(c, "too many properties");
		return;
	}
	uint32_t cap = 8;
	while (cap < 2 * (np + nr))
		cap *= 2;
	n->props = ds_arena_alloc(c->env->arena, (np + nr) * sizeof *n->props);
	n->slots = ds_arena_alloc(c->env->arena, cap * sizeof *n->slots);
	n->required = ds_arena_alloc(c->env->arena, (nr ? nr : 1) * sizeof *n->required);
	if (oom(c, n->props) || oom(c, n->slots) || oom(c, n->required))
		return;
	memset(n->slots, 0, cap * sizeof *n->slots);
	n->mask = cap - 1;
	if (props) {
		size_t old = path_push(c, "properties");
		check_unique(c, props, "property");
		for (const cJSON *m = props->child; m && !c->rc; m = m->next) {
			struct node *sub = compile_at(c, m->string, m, depth);
			size_t idx;
			if (sub)
				prop_insert(n, m->string, sub, &idx);
		}
		path_pop(c, old);
	}
	for (const cJSON *m = req ? req->child : NULL; m && !c->rc; m = m->next) {
		size_t idx;
		if (!cJSON_IsString(m))
			continue;  /* reported by the caller */
		prop_insert(n, m->valuestring, NULL, &idx);
		bool dup = false;
		for (size_t i = 0; i < n->nrequired; i++)
			dup |= n->required[i] == idx;
		if (!dup)
			n->required[n->nrequired++] = (uint32_t)idx;
	}
	n->has |= K_OBJECT;
}

static void check_required(struct cc *c, const cJSON *m)
{
	if (!cJSON_IsArray(m)) {
		cerr(c, "required must be an array of property names, got %s", type_of(m));
		return;
	}
	size_t i = 0;
	for (const cJSON *e = m->child; e; e = e->next, i++) {
		size_t old = path_push_index(c, i);
		if (!cJSON_IsString(e))
			cerr(c, "a required property name must be a string, got %s", type_of(e));
		else
			for (const cJSON *p = m->child; p != e; p = p->next)
				if (cJSON_IsString(p) && strcmp(p->valuestring, e->valuestring) == 0) {
					cerr(c, "\"%.60s\" is listed twice", e->valuestring);
					break;
				}
		path_pop(c, old);
	}
}

static void annotation(struct cc *c, int id, const cJSON *m, int depth)
{
	switch (id) {
	case KW_SCHEMA:
		if (!cJSON_IsString(m))
			cerr(c, "$schema must be a string");
		else if (strcmp(m->valuestring, DRAFT_2020_12) != 0
			 && strcmp(m->valuestring, DRAFT_2020_12 "#") != 0)
			cerr(c, "unsupported dialect \"%.80s\": only %s is supported",
			     m->valuestring, DRAFT_2020_12);
		break;
	case KW_ID:
		if (!cJSON_IsString(m)) {
			cerr(c, "$id must be a string");
		} else if (depth > 0) {
			cerr(c, "unsupported keyword \"$id\" in a subschema: "
			     "only the document root may have one");
		} else {
			size_t len = strlen(m->valuestring);
			if (len && m->valuestring[len - 1] == '#')
				len--;
			char *uri = ds_arena_strndup(c->env->arena, m->valuestring, len);
			if (!oom(c, uri))
				c->doc->id = uri;
		}
		break;
	case KW_TITLE:
	case KW_DESCRIPTION:
	case KW_COMMENT:
		if (!cJSON_IsString(m))
			cerr(c, "%s must be a string, got %s", m->string, type_of(m));
		break;
	case KW_DEPRECATED:
	case KW_READONLY:
	case KW_WRITEONLY:
		if (!cJSON_IsBool(m))
			cerr(c, "%s must be true or false, got %s", m->string, type_of(m));
		break;
	case KW_EXAMPLES:
		if (!cJSON_IsArray(m))
			cerr(c, "examples must be an array, got %s", type_of(m));
		break;
	default:  /* default: any value */
		break;
	}
}

static struct node *compile(struct cc *c, const cJSON *v, int depth)
{
	if (c->rc)
		return NULL;
	struct env *e = c->env;
	struct node *n = ds_arena_alloc(e->arena, sizeof *n);
	if (oom(c, n))
		return NULL;
	memset(n, 0, sizeof *n);
	n->scale = -1;
	n->doc = c->doc;
	n->path = ds_arena_strndup(e->arena, c->path, c->plen);
	if (oom(c, n->path))
		return NULL;
	if (c->doc->last)
		c->doc->last->next = n;
	else
		c->doc->nodes = n;
	c->doc->last = n;
	if (cJSON_IsBool(v)) {
		n->is_bool = true;
		n->bool_value = cJSON_IsTrue(v);
		return n;
	}
	if (!cJSON_IsObject(v)) {
		cerr(c, "a schema must be an object or a boolean, got %s", type_of(v));
		n->is_bool = n->bool_value = true;
		return n;
	}
	uint64_t seen = 0;
	const cJSON *props = NULL, *req = NULL, *kw[KW_COUNT] = { NULL };
	for (const cJSON *m = v->child; m && !c->rc && !c->stopped; m = m->next) {
		const char *name = m->string ? m->string : "";
		size_t old = path_push(c, name);
		int id = kw_find(name);
		if (id < 0) {
			cerr(c, "unsupported keyword \"%.60s\"%s", name,
			     strcmp(name, "definitions") == 0 ? " (use \"$defs\")" : "");
		} else if (seen & (1ull << id)) {
			cerr(c, "duplicate keyword \"%s\"", name);
		} else {
			seen |= 1ull << id;
			kw[id] = m;
		}
		switch (id < 0 || kw[id] != m ? -1 : id) {
		case -1:
			break;
		case KW_TYPE:
			compile_type(c, n, m);
			break;
		case KW_PROPERTIES:
			if (cJSON_IsObject(m))
				props = m;
			else
				cerr(c, "properties must be an object, got %s", type_of(m));
			break;
		case KW_REQUIRED:
			check_required(c, m);
			if (cJSON_IsArray(m))
				req = m;
			break;
		case KW_ADDITIONAL:
			n->additional_given = true;
			if (cJSON_IsFalse(m)) {
				n->additional_false = true;
				n->has |= K_OBJECT;
			} else {
				struct node *sub = compile(c, m, depth + 1);
				if (sub && !always_true(sub)) {
					n->additional = sub;
					n->has |= K_OBJECT;
				}
			}
			break;
		case KW_ENUM:
			compile_enum(c, n, m);
			break;
		case KW_CONST: {
			char text[128];
			value_text(text, sizeof text, m);
			n->const_val = m;
			n->const_text = dup_text(c, text);
			n->has |= K_CONST;
			break;
		}
		case KW_PATTERN:
			compile_pattern(c, n, m);
			break;
		case KW_FORMAT:
			if (!cJSON_IsString(m)) {
				cerr(c, "format must be a string, got %s", type_of(m));
				break;
			}
			for (int f = 1; f < F_COUNT; f++)
				if (strcmp(m->valuestring, format_info[f].name) == 0)
					n->format = f;
			if (c->flags & DS_SCHEMA_FORMAT_ANNOTATION)
				break;  /* any name, nothing checked */
			if (n->format)
				n->has |= K_FORMAT;
			else
				cerr(c, "unsupported format \"%.60s\"", m->valuestring);
			break;
		case KW_SCALE: {
			size_t s;
			if (get_count(c, m, &s)) {
				if (s > DS_DEC_MAX_SCALE)
					cerr(c, "scale must be at most %d", DS_DEC_MAX_SCALE);
				else
					n->scale = (int)s;
			}
			break;
		}
		case KW_MINIMUM:
			if (get_number(c, m, &n->min))
				n->has |= K_MIN;
			break;
		case KW_MAXIMUM:
			if (get_number(c, m, &n->max))
				n->has |= K_MAX;
			break;
		case KW_XMIN:
			if (get_number(c, m, &n->xmin))
				n->has |= K_XMIN;
			break;
		case KW_XMAX:
			if (get_number(c, m, &n->xmax))
				n->has |= K_XMAX;
			break;
		case KW_MULTIPLE:
			if (!get_number(c, m, &n->mult))
				break;
			if (m->valuedouble > 0)
				n->has |= K_MULTIPLE;
			else
				cerr(c, "multipleOf must be greater than 0");
			break;
		case KW_MINLEN:
			if (get_count(c, m, &n->min_len))
				n->has |= K_MINLEN;
			break;
		case KW_MAXLEN:
			if (get_count(c, m, &n->max_len))
				n->has |= K_MAXLEN;
			break;
		case KW_MINITEMS:
			if (get_count(c, m, &n->min_items))
				n->has |= K_MINITEMS;
			break;
		case KW_MAXITEMS:
			if (get_count(c, m, &n->max_items))
				n->has |= K_MAXITEMS;
			break;
		case KW_ITEMS:
			if (cJSON_IsArray(m)) {
				cerr(c, "items must be a schema; the array form (tuples) is "
				     "not supported");
			} else {
				struct node *sub = compile(c, m, depth + 1);
				if (sub && !always_true(sub)) {
					n->items = sub;
					n->has |= K_ITEMS;
				}
			}
			break;
		case KW_REF:
			if (!cJSON_IsString(m)) {
				cerr(c, "$ref must be a string, got %s", type_of(m));
			} else {
				n->ref = m->valuestring;
				n->has |= K_REF;
			}
			break;
		case KW_DEFS:
			if (!cJSON_IsObject(m)) {
				cerr(c, "$defs must be an object, got %s", type_of(m));
				break;
			}
			check_unique(c, m, "definition");
			for (const cJSON *d = m->child; d && !c->rc; d = d->next)
				compile_at(c, d->string, d, depth);
			break;
		case KW_ALLOF:
			if ((n->all = compile_list(c, m, &n->nall, depth)))
				n->has |= K_ALLOF;
			break;
		case KW_ANYOF:
			if ((n->any = compile_list(c, m, &n->nany, depth)))
				n->has |= K_ANYOF;
			break;
		case KW_ONEOF:
			if ((n->one = compile_list(c, m, &n->none, depth)))
				n->has |= K_ONEOF;
			break;
		case KW_NOT:
			if ((n->not_ = compile(c, m, depth + 1)))
				n->has |= K_NOT;
			break;
		default:
			annotation(c, id, m, depth);
			break;
		}
		path_pop(c, old);
	}
	if (c->rc || c->stopped)
		return n;
	compile_object(c, n, props, req, depth);

	/* Cross-keyword checks, reported at the keyword that is wrong. */
	size_t old;
	if (kw[KW_SCALE] && n->format != F_DECIMAL) {
		old = path_push(c, "scale");
		cerr(c, "scale needs \"format\": \"decimal\" beside it");
		path_pop(c, old);
	}
	if ((n->has & K_MULTIPLE) && (n->has & K_TYPE) && !(n->types & (T_NUMBER | T_INTEGER))
	    && !((n->types & T_STRING) && n->format == F_DECIMAL)) {
		old = path_push(c, "multipleOf");
		cwarn(c, "multipleOf only applies to numbers and to strings of format decimal, "
		      "which this schema excludes");
		path_pop(c, old);
	}
	if ((n->has & K_TYPE) && !(n->types & T_STRING)
	    && (n->has & (K_FORMAT | K_PATTERN | K_MINLEN | K_MAXLEN))) {
		old = path_push(c, "type");
		cwarn(c, "format, pattern and lengths only apply to strings, which this "
		      "type excludes");
		path_pop(c, old);
	}
	if ((n->has & K_MIN) && (n->has & K_MAX) && num_cmp(&n->min, &n->max) > 0) {
		old = path_push(c, "minimum");
		cwarn(c, "minimum is greater than maximum: no number is valid");
		path_pop(c, old);
	}
	if ((n->has & K_MINLEN) && (n->has & K_MAXLEN) && n->min_len > n->max_len) {
		old = path_push(c, "minLength");
		cwarn(c, "minLength is greater than maxLength: no string is valid");
		path_pop(c, old);
	}
	if ((n->has & K_MINITEMS) && (n->has & K_MAXITEMS) && n->min_items > n->max_items) {
		old = path_push(c, "minItems");
		cwarn(c, "minItems is greater than maxItems: no array is valid");
		path_pop(c, old);
	}
	return n;
}

/* ---- $ref resolution and checks over documents ---- */

struct linker {
	ds_schema **docs;
	size_t ndocs;
	ds_diag *diag;
	size_t *problems;
	int rc;
};

static void lerr(struct linker *L, struct node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerr(struct linker *L, struct node *n, const char *fmt, ...)
{
	char msg[768], path[2100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof path, "%s/$ref", n->path);
	ds_diag_error(L->diag, n->doc->file, path, "%s", msg);
	(*L->problems)++;
	n->doc->failed = true;
}

static bool uri_eq(const char *a, const char *b, size_t blen)
{
	return a && strlen(a) == blen && memcmp(a, b, blen) == 0;
}

/* The document a $ref names: by file name or $id, or relative to the
 * referring document's $id. */
static ds_schema *find_doc(struct linker *L, ds_schema *from, const char *uri, size_t len)
{
	for (size_t i = 0; i < L->ndocs; i++)
		if (uri_eq(L->docs[i]->name, uri, len) || uri_eq(L->docs[i]->id, uri, len))
			return L->docs[i];
	const char *colon = memchr(uri, ':', len), *slash = memchr(uri, '/', len);
	bool relative = !colon || (slash && slash < colon);
	const char *base_end = from->id ? strrchr(from->id, '/') : NULL;
	if (!relative || !base_end || !strchr(from->id, ':'))
		return NULL;
	char abs[2048];
	int k = snprintf(abs, sizeof abs, "%.*s%.*s", (int)(base_end - from->id + 1), from->id,
			 (int)len, uri);
	if (k < 0 || (size_t)k >= sizeof abs)
		return NULL;
	for (size_t i = 0; i < L->ndocs; i++)
		if (uri_eq(L->docs[i]->id, abs, (size_t)k))
			return L->docs[i];
	return NULL;
}

static void link_ref(struct linker *L, struct node *n)
{
	const char *ref = n->ref, *hash = strchr(ref, '#');
	size_t ulen = hash ? (size_t)(hash - ref) : strlen(ref);
	const char *frag = hash ? hash + 1 : "";
	ds_schema *doc = n->doc;
	if (ulen > 0) {
		doc = find_doc(L, n->doc, ref, ulen);
		if (!doc) {
			lerr(L, n, "cannot resolve $ref \"%.200s\": %s", ref,
			     n->doc->standalone ? "references to other files need a schema set"
						: "no such schema file in the set");
			return;
		}
	}
	if (*frag && *frag != '/') {
		lerr(L, n, "unsupported $ref \"%.200s\": only JSON Pointer fragments "
		     "(#/...) are supported", ref);
		return;
	}
	char ptr[2048];
	size_t o = 0;
	for (const char *p = frag; *p; p++) {
		char ch = *p;
		if (ch == '%') {
			if (!is_hex(p[1]) || !is_hex(p[2])) {
				lerr(L, n, "bad percent-encoding in $ref \"%.200s\"", ref);
				return;
			}
			char hex[3] = { p[1], p[2], 0 };
			ch = (char)strtol(hex, NULL, 16);
			p += 2;
		}
		if (o + 1 >= sizeof ptr) {
			lerr(L, n, "$ref too long");
			return;
		}
		ptr[o++] = ch;
	}
	ptr[o] = '\0';
	for (struct node *t = doc->nodes; t; t = t->next)
		if (strcmp(t->path, ptr) == 0) {
			n->target = t;
			return;
		}
	lerr(L, n, "$ref \"%.200s\" does not lead to a subschema", ref);
}

static size_t nedges(const struct node *n)
{
	return 2 + n->nall + n->nany + n->none;
}

/* The subschemas applied to the same instance value as n: $ref first. */
static struct node *edge(const struct node *n, size_t i)
{
	if (i == 0)
		return n->target;
	i--;
	if (i < n->nall)
		return n->all[i];
	i -= n->nall;
	if (i < n->nany)
		return n->any[i];
	i -= n->nany;
	if (i < n->none)
		return n->one[i];
	return n->not_;
}

/* A $ref cycle through subschemas applied to the same value would loop
 * forever: find them with an iterative depth-first search. */
static void check_cycles(struct linker *L)
{
	size_t cap = 64, sp = 0;
	struct node **st = ds_malloc(cap * sizeof *st);
	if (!st) {
		L->rc = DS_ENOMEM;
		return;
	}
	for (size_t d = 0; d < L->ndocs; d++)
		for (struct node *r = L->docs[d]->nodes; r; r = r->next) {
			if (r->mark)
				continue;
			r->mark = 1;
			r->edge = 0;
			st[sp++] = r;
			while (sp) {
				struct node *t = st[sp - 1];
				if (t->edge == nedges(t)) {
					t->mark = 2;
					sp--;
					continue;
				}
				struct node *u = edge(t, t->edge++);
				if (!u || u->mark == 2)
					continue;
				if (u->mark == 1) {
					/* The cycle is on the stack from u up; name a $ref
					 * in it (only $ref can close one). */
					size_t k = sp;
					while (k > 0 && st[k - 1] != u)
						k--;
					struct node *at = t;
					for (size_t j = k ? k - 1 : 0; j < sp; j++)
						if (st[j]->edge == 1 && st[j]->target) {
							at = st[j];
							break;
						}
					lerr(L, at, "$ref cycle: comes back to %s#%s without "
					     "descending into the value", u->doc->name, u->path);
					continue;
				}
				if (sp == cap) {
					struct node **ns = ds_realloc(st, 2 * cap * sizeof *st);
					if (!ns) {
						ds_free(st);
						L->rc = DS_ENOMEM;
						return;
					}
					st = ns;
					cap *= 2;
				}
				u->mark = 1;
				u->edge = 0;
				st[sp++] = u;
			}
		}
	ds_free(st);
}

/* Resolves every $ref, refuses cycles, then marks documents that refer to
 * failed ones as unusable too. */
static void link_docs(struct linker *L)
{
	for (size_t d = 0; d < L->ndocs; d++)
		for (struct node *n = L->docs[d]->nodes; n; n = n->next)
			if (n->ref)
				link_ref(L, n);
	check_cycles(L);
	for (size_t d = 0; d < L->ndocs; d++)
		L->docs[d]->bad = L->docs[d]->failed;
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t d = 0; d < L->ndocs; d++) {
			ds_schema *doc = L->docs[d];
			if (doc->bad)
				continue;
			for (struct node *n = doc->nodes; n; n = n->next)
				if (n->target && n->target->doc->bad) {
					lerr(L, n, "$ref \"%.200s\" leads to %s, which has errors",
					     n->ref, n->target->doc->file);
					doc->bad = changed = true;
				}
		}
	}
}

static const char *base_name(const char *file)
{
	const char *s = strrchr(file, '/');
	return s ? s + 1 : file;
}

/* Compiles json (whose ownership passes to env's arena) as doc. */
static int compile_doc(struct env *env, ds_schema *doc, cJSON *json, unsigned flags,
		       ds_diag *diag, size_t *problems)
{
	if (ds_arena_defer(env->arena, free_json, json))
		return DS_ENOMEM;
	struct cc *c = ds_malloc(sizeof *c);
	if (!c)
		return DS_ENOMEM;
	memset(c, 0, offsetof(struct cc, path));
	c->path[0] = '\0';
	c->env = env;
	c->doc = doc;
	c->diag = diag;
	c->problems = problems;
	c->flags = flags;
	const cJSON *stack[DS_SCHEMA_MAX_DOC_DEPTH];
	if (nesting_exceeds(json, DS_SCHEMA_MAX_DOC_DEPTH, stack))
		cerr(c, "schema nesting deeper than %d", DS_SCHEMA_MAX_DOC_DEPTH);
	else
		doc->root = compile(c, json, 0);
	int rc = c->rc;
	ds_free(c);
	return rc;
}

/* ---- public: one schema ---- */

int ds_schema_compile(const cJSON *doc, const char *file, ds_diag *diag,
		      ds_schema **out, ds_err *err)
{
	return ds_schema_compile_opts(doc, file, 0, diag, out, err);
}

int ds_schema_compile_opts(const cJSON *doc, const char *file, unsigned flags,
			   ds_diag *diag, ds_schema **out, ds_err *err)
{
	if (!out || !doc)
		return ds_err_set(err, DS_EINVAL, "schema: no document");
	*out = NULL;
	const char *fname = file ? file : "";
	size_t problems = 0;
	int rc;
	ds_schema *s = ds_calloc(1, sizeof *s);
	if (!s)
		return ds_err_set(err, DS_ENOMEM, "schema: out of memory");
	s->standalone = true;
	s->env = &s->own;
	if ((rc = env_init(&s->own)))
		goto done;
	s->file = ds_arena_strdup(s->env->arena, fname);
	if (!s->file) {
		rc = DS_ENOMEM;
		goto done;
	}
	s->name = base_name(s->file);
	/* A private copy, so the caller may free doc at once. The depth is
	 * checked first: cJSON_Duplicate recurses. */
	const cJSON *stack[DS_SCHEMA_MAX_DOC_DEPTH];
	if (nesting_exceeds(doc, DS_SCHEMA_MAX_DOC_DEPTH, stack)) {
		ds_diag_error(diag, fname, "", "schema nesting deeper than %d",
			      DS_SCHEMA_MAX_DOC_DEPTH);
		rc = DS_ECONFIG;
		goto done;
	}
	cJSON *copy = cJSON_Duplicate(doc, true);
	if (!copy) {
		rc = DS_ENOMEM;
		goto done;
	}
	if ((rc = compile_doc(s->env, s, copy, flags, diag, &problems)))
		goto done;
	struct linker L = { .docs = &s, .ndocs = 1, .diag = diag, .problems = &problems };
	link_docs(&L);
	if ((rc = L.rc))
		goto done;
	if (problems || s->failed)
		rc = DS_ECONFIG;
done:
	if (rc == DS_ENOMEM)
		ds_err_set(err, rc, "schema %s: out of memory", fname);
	else if (rc)
		ds_err_set(err, rc, "schema %s: %zu problem%s", fname, problems,
			   problems == 1 ? "" : "s");
	if (rc) {
		ds_schema_free(s);
		return rc;
	}
	*out = s;
	return DS_OK;
}

void ds_schema_free(ds_schema *s)
{
	if (!s || !s->standalone)
		return;
	env_fini(&s->own);
	ds_free(s);
}

/* ---- public: a directory of record schemas ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_type(const void *a, const void *b)
{
	return strcmp((*(ds_schema *const *)a)->type, (*(ds_schema *const *)b)->type);
}

static bool type_name_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* Reads, parses and compiles one file into the set; problems go to diag. */
static int load_file(ds_schema_set *set, const char *path, const char *name,
		     ds_diag *diag, size_t *problems)
{
	/* Bounded size, valid UTF-8, bounded nesting; problems are reported
	 * with a line and column. */
	cJSON *json = ds_json_load_file(path, diag);
	if (!json) {
		(*problems)++;
		return DS_OK;
	}
	ds_schema *doc = ds_arena_alloc(set->env.arena, sizeof *doc);
	if (!doc) {
		cJSON_Delete(json);
		return DS_ENOMEM;
	}
	memset(doc, 0, sizeof *doc);
	doc->env = &set->env;
	doc->file = ds_arena_strdup(set->env.arena, path);
	doc->name = ds_arena_strdup(set->env.arena, name);
	doc->type = ds_arena_strndup(set->env.arena, name, strlen(name) - strlen(SUFFIX));
	if (!doc->file || !doc->name || !doc->type) {
		cJSON_Delete(json);
		return DS_ENOMEM;
	}
	set->docs[set->ndocs++] = doc;
	return compile_doc(&set->env, doc, json, 0, diag, problems);
}

int ds_schema_set_load_dir(const char *dir, ds_diag *diag, ds_schema_set **out, ds_err *err)
{
	if (!out || !dir)
		return ds_err_set(err, DS_EINVAL, "schemas: no directory");
	*out = NULL;
	size_t problems = 0, nnames = 0, cap = 0;
	char **names = NULL;
	DIR *d = NULL;
	int rc;
	ds_schema_set *set = ds_calloc(1, sizeof *set);
	if (!set)
		return ds_err_set(err, DS_ENOMEM, "schemas %s: out of memory", dir);
	if ((rc = env_init(&set->env)))
		goto done;

	d = opendir(dir);
	if (!d) {
		ds_diag_error(diag, dir, "", "cannot open the schema directory: %s",
			      strerror(errno));
		problems++;
	}
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(SUFFIX);
		if (de->d_name[0] == '.' || len <= sl || strcmp(de->d_name + len - sl, SUFFIX))
			continue;
		if (nnames == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = ds_realloc(names, ncap * sizeof *nn);
			if (!nn) {
				rc = DS_ENOMEM;
				goto done;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[nnames] = ds_strdup(de->d_name))) {
			rc = DS_ENOMEM;
			goto done;
		}
		nnames++;
	}
	if (nnames)
		qsort(names, nnames, sizeof *names, cmp_str);
	set->docs = ds_arena_alloc(set->env.arena, (nnames ? nnames : 1) * sizeof *set->docs);
	set->types = ds_arena_alloc(set->env.arena, (nnames ? nnames : 1) * sizeof *set->types);
	if (!set->docs || !set->types) {
		rc = DS_ENOMEM;
		goto done;
	}
	size_t dlen = strlen(dir);
	const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";
	for (size_t i = 0; i < nnames; i++) {
		char *path = ds_arena_printf(set->env.arena, "%s%s%s", dir, sep, names[i]);
		if (!path) {
			rc = DS_ENOMEM;
			goto done;
		}
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (!type_name_ok(names[i], strlen(names[i]) - strlen(SUFFIX))) {
			ds_diag_error(diag, path, "", "a record type name uses only letters, "
				      "digits, '-' and '_'");
			problems++;
			continue;
		}
		if ((rc = load_file(set, path, names[i], diag, &problems)))
			goto done;
	}
	struct linker L = { .docs = set->docs, .ndocs = set->ndocs, .diag = diag,
			    .problems = &problems };
	link_docs(&L);
	if ((rc = L.rc))
		goto done;
	for (size_t i = 0; i < set->ndocs; i++)
		if (!set->docs[i]->bad)
			set->types[set->ntypes++] = set->docs[i];
	qsort(set->types, set->ntypes, sizeof *set->types, cmp_type);
	rc = problems ? DS_ECONFIG : DS_OK;
done:
	if (d)
		closedir(d);
	for (size_t i = 0; i < nnames; i++)
		ds_free(names[i]);
	ds_free(names);
	if (rc == DS_ENOMEM) {
		ds_schema_set_free(set);
		return ds_err_set(err, rc, "schemas %s: out of memory", dir);
	}
	if (rc)
		ds_err_set(err, rc, "schemas %s: %zu problem%s", dir, problems,
			   problems == 1 ? "" : "s");
	*out = set;
	return rc;
}

const ds_schema *ds_schema_set_get(const ds_schema_set *s, const char *type)
{
	if (!s || !type)
		return NULL;
	size_t lo = 0, hi = s->ntypes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->types[mid]->type, type);
		if (c == 0)
			return s->types[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t ds_schema_set_count(const ds_schema_set *s) { return s ? s->ntypes : 0; }

const char *ds_schema_set_name(const ds_schema_set *s, size_t i)
{
	return s && i < s->ntypes ? s->types[i]->type : NULL;
}

void ds_schema_set_free(ds_schema_set *s)
{
	if (!s)
		return;
	env_fini(&s->env);
	ds_free(s);
}

/* ---- validation ---- */

struct frame {
	const char *key;            /* member name, or NULL for an array index */
	size_t index;
};

struct vctx {
	ds_schema_error_fn fn;
	void *ud;
	size_t count;
	bool stop;                  /* error limit reached or internal failure */
	int rc;
	ds_err *err;
	const struct env *env;
	pcre2_match_data *md;
	int depth;
	int refdepth;
	struct frame frames[DS_SCHEMA_MAX_DEPTH + 1];
};

static void pointer_of(const struct vctx *c, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->depth; i++) {
		char idx[24];
		const char *seg = c->frames[i].key;
		if (!seg) {
			snprintf(idx, sizeof idx, "%zu", c->frames[i].index);
			seg = idx;
		}
		if (o + 2 >= n)
			break;
		buf[o++] = '/';
		for (; *seg; seg++) {
			const char *rep = *seg == '~' ? "~0" : *seg == '/' ? "~1" : NULL;
			size_t k = rep ? 2 : 1;
			if (o + k + 4 >= n) {
				memcpy(buf + o, "...", 3);
				buf[o + 3] = '\0';
				return;
			}
			memcpy(buf + o, rep ? rep : seg, k);
			o += k;
		}
		buf[o] = '\0';
	}
}

static void verr(struct vctx *c, const char *kw, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void verr(struct vctx *c, const char *kw, const char *fmt, ...)
{
	if (c->stop)
		return;
	c->count++;
	if (c->count > DS_SCHEMA_MAX_ERRORS) {
		c->stop = true;
		if (c->fn) {
			char msg[64];
			snprintf(msg, sizeof msg, "too many errors, stopped after %d",
				 DS_SCHEMA_MAX_ERRORS);
			c->fn(c->ud, "", "maxErrors", msg);
		}
		return;
	}
	if (!c->fn)
		return;
	char ptr[1024], msg[512];
	pointer_of(c, ptr, sizeof ptr);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->fn(c->ud, ptr, kw, msg);
}

static bool eval(struct vctx *c, const struct node *n, const cJSON *v, bool rep);

#define BAD()                                   \
	do {                                    \
		ok = false;                     \
		if (!rep || c->stop)            \
			return false;           \
	} while (0)

static void type_error(struct vctx *c, unsigned types, const cJSON *v, const struct num *x)
{
	char want[160] = "", got[96];
	size_t len = 0, k = 0, total = 0;
	if ((types & T_NUMBER) && (types & T_INTEGER))
		types &= ~(unsigned)T_INTEGER;
	for (size_t t = 0; t < NTYPES; t++)
		total += (types >> t) & 1;
	for (size_t t = 0; t < NTYPES; t++) {
		if (!(types & (1u << t)))
			continue;
		k++;
		const char *sep = k == 1 ? "" : k == total ? " or " : ", ";
		len += (size_t)snprintf(want + len, sizeof want - len, "%s%s", sep,
					type_info[t].article);
	}
	if (cJSON_IsNumber(v) && (types & T_INTEGER))
		fmt_num(x, got, sizeof got);
	else
		snprintf(got, sizeof got, "%s", type_of(v));
	verr(c, "type", "must be %s, got %s", want, got);
}

static bool type_ok(unsigned types, const cJSON *v, const struct num *x)
{
	switch (v->type & 0xFF) {
	case cJSON_NULL: return types & T_NULL;
	case cJSON_True:
	case cJSON_False: return types & T_BOOLEAN;
	case cJSON_Object: return types & T_OBJECT;
	case cJSON_Array: return types & T_ARRAY;
	case cJSON_String: return types & T_STRING;
	case cJSON_Number:
		return (types & T_NUMBER) || ((types & T_INTEGER) && num_is_integer(x));
	default: return false;
	}
}

static bool in_enum(const struct node *n, const cJSON *v)
{
	for (const cJSON *e = n->enum_vals->child; e; e = e->next)
		if (json_equal(e, v))
			return true;
	return false;
}

static bool check_number(struct vctx *c, const struct node *n, const struct num *x, bool rep)
{
	bool ok = true;
	char a[40], b[40];
	if ((n->has & K_MIN) && num_cmp(x, &n->min) < 0) {
		if (rep) {
			fmt_num(&n->min, a, sizeof a);
			fmt_num(x, b, sizeof b);
			verr(c, "minimum", "must be >= %s, got %s", a, b);
		}
		BAD();
	}
	if ((n->has & K_XMIN) && num_cmp(x, &n->xmin) <= 0) {
		if (rep) {
			fmt_num(&n->xmin, a, sizeof a);
			fmt_num(x, b, sizeof b);
			verr(c, "exclusiveMinimum", "must be > %s, got %s", a, b);
		}
		BAD();
	}
	if ((n->has & K_MAX) && num_cmp(x, &n->max) > 0) {
		if (rep) {
			fmt_num(&n->max, a, sizeof a);
			fmt_num(x, b, sizeof b);
			verr(c, "maximum", "must be <= %s, got %s", a, b);
		}
		BAD();
	}
	if ((n->has & K_XMAX) && num_cmp(x, &n->xmax) >= 0) {
		if (rep) {
			fmt_num(&n->xmax, a, sizeof a);
			fmt_num(x, b, sizeof b);
			verr(c, "exclusiveMaximum", "must be < %s, got %s", a, b);
		}
		BAD();
	}
	if ((n->has & K_MULTIPLE) && !num_is_multiple(x, &n->mult)) {
		if (rep) {
			fmt_num(&n->mult, a, sizeof a);
			fmt_num(x, b, sizeof b);
			verr(c, "multipleOf", "must be a multiple of %s, got %s", a, b);
		}
		BAD();
	}
	return ok;
}

/* 1 match, 0 no match, -1 too costly; internal failures stop validation. */
static int match(struct vctx *c, const struct node *n, const char *s, size_t len)
{
	if (!c->md) {
		c->md = pcre2_match_data_create(1, c->env->gctx);
		if (!c->md) {
			c->rc = ds_err_set(c->err, DS_ENOMEM, "schema: out of memory");
			c->stop = true;
			return 0;
		}
	}
	int rc = pcre2_match(n->re, (PCRE2_SPTR)s, len, 0, 0, c->md, c->env->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT
	    || rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return -1;
	if (rc == PCRE2_ERROR_NOMEMORY) {
		c->rc = ds_err_set(c->err, DS_ENOMEM, "schema: out of memory");
	} else {
		PCRE2_UCHAR why[256];
		pcre2_get_error_message(rc, why, sizeof why);
		c->rc = ds_err_set(c->err, DS_EINTERNAL, "schema: pattern match failed: %s",
				   (const char *)why);
	}
	c->stop = true;
	return 0;
}

static bool check_string(struct vctx *c, const struct node *n, const cJSON *v, bool rep)
{
	bool ok = true;
	const char *s = v->valuestring;
	size_t len = strlen(s);
	char q[96], p[96];
	if (n->has & (K_MINLEN | K_MAXLEN)) {
		/* Code points <= bytes <= 4 * code points: count only when the
		 * byte length does not settle it. */
		bool need = ((n->has & K_MINLEN) && len / 4 < n->min_len)
			    || ((n->has & K_MAXLEN) && len > n->max_len);
		size_t cp = need ? utf8_count(s, len) : 0;
		if (need && (n->has & K_MINLEN) && cp < n->min_len) {
			if (rep)
				verr(c, "minLength", "must be at least %zu character%s long, got %zu",
				     n->min_len, n->min_len == 1 ? "" : "s", cp);
			BAD();
		}
		if (need && (n->has & K_MAXLEN) && cp > n->max_len) {
			if (rep)
				verr(c, "maxLength", "must be at most %zu character%s long, got %zu",
				     n->max_len, n->max_len == 1 ? "" : "s", cp);
			BAD();
		}
	}
	if (n->has & K_PATTERN) {
		int m = match(c, n, s, len);
		if (c->stop)
			return false;
		if (m != 1) {
			if (rep) {
				quote(q, sizeof q, s);
				quote(p, sizeof p, n->pattern);
				if (m < 0)
					verr(c, "pattern", "too costly to match against the pattern "
					     "%s, got %s", p, q);
				else
					verr(c, "pattern", "must match the pattern %s, got %s", p, q);
			}
			BAD();
		}
	}
	if (n->has & K_FORMAT) {
		ds_dec dec = { 0, 0 };
		/* No format admits U+0000, and what follows it is out of sight. */
		bool nul = v->type & DS_JSON_STRING_NUL;
		int f = nul ? FMT_BAD : check_format(n->format, n->scale, s, len, &dec);
		if (f == FMT_OK && n->format == F_DECIMAL && (n->has & K_MULTIPLE)) {
			/* multipleOf limits a decimal string's scale, or its step. */
			struct num x = { true, dec, 0 };
			if (!num_is_multiple(&x, &n->mult)) {
				if (rep) {
					char a[40];
					fmt_num(&n->mult, a, sizeof a);
					quote(q, sizeof q, s);
					verr(c, "multipleOf", "must be a multiple of %s, got %s", a, q);
				}
				BAD();
			}
		}
		if (f != FMT_OK) {
			if (rep) {
				quote(q, sizeof q, s);
				if (f == FMT_SCALE)
					verr(c, "format", "must have at most %d decimal place%s, got %s",
					     n->scale, n->scale == 1 ? "" : "s", q);
				else if (f == FMT_RANGE)
					verr(c, "format", "decimal out of range, got %s", q);
				else
					verr(c, "format", "%s, got %s%s", format_info[n->format].message, q,
					     nul ? " followed by U+0000" : "");
			}
			BAD();
		}
	}
	return ok;
}

static bool check_array(struct vctx *c, const struct node *n, const cJSON *v, bool rep)
{
	bool ok = true;
	if (n->has & (K_MINITEMS | K_MAXITEMS)) {
		size_t count = 0;
		for (const cJSON *e = v->child; e; e = e->next)
			count++;
		if ((n->has & K_MINITEMS) && count < n->min_items) {
			if (rep)
				verr(c, "minItems", "must have at least %zu item%s, got %zu",
				     n->min_items, n->min_items == 1 ? "" : "s", count);
			BAD();
		}
		if ((n->has & K_MAXITEMS) && count > n->max_items) {
			if (rep)
				verr(c, "maxItems", "must have at most %zu item%s, got %zu",
				     n->max_items, n->max_items == 1 ? "" : "s", count);
			BAD();
		}
	}
	if (n->items) {
		size_t i = 0;
		for (const cJSON *e = v->child; e; e = e->next, i++) {
			c->frames[c->depth++] = (struct frame){ NULL, i };
			bool r = eval(c, n->items, e, rep);
			c->depth--;
			if (!r)
				BAD();
		}
	}
	return ok;
}

static bool check_object(struct vctx *c, const struct node *n, const cJSON *v, bool rep)
{
	bool ok = true;
	uint64_t seen[8] = { 0 };
	bool track = n->nprops <= 64 * (sizeof seen / sizeof seen[0]);
	for (const cJSON *m = v->child; m; m = m->next) {
		const char *key = m->string ? m->string : "";
		const struct prop *p = prop_find(n, key);
		if (p) {
			size_t i = (size_t)(p - n->props);
			seen[i / 64 & 7] |= (uint64_t)1 << (i % 64);
		}
		const struct node *sub = p ? p->schema : NULL;
		if (!sub) {
			if (n->additional_false) {
				if (rep) {
					char q[96];
					quote(q, sizeof q, key);
					verr(c, "additionalProperties", "property %s is not allowed", q);
				}
				BAD();
				continue;
			}
			sub = n->additional;
		}
		if (!sub)
			continue;
		c->frames[c->depth++] = (struct frame){ key, 0 };
		bool r = eval(c, sub, m, rep);
		c->depth--;
		if (!r)
			BAD();
	}
	for (size_t r = 0; r < n->nrequired; r++) {
		uint32_t i = n->required[r];
		bool present = track ? (seen[i / 64] >> (i % 64)) & 1
				     : cJSON_GetObjectItemCaseSensitive(v, n->props[i].name) != NULL;
		if (!present) {
			if (rep) {
				char q[96];
				quote(q, sizeof q, n->props[i].name);
				verr(c, "required", "missing required property %s", q);
			}
			BAD();
		}
	}
	return ok;
}

static bool eval(struct vctx *c, const struct node *n, const cJSON *v, bool rep)
{
	if (c->stop)
		return false;
	if (n->is_bool) {
		if (!n->bool_value && rep)
			verr(c, "false", "no value is allowed here");
		return n->bool_value;
	}
	bool ok = true;
	uint32_t has = n->has;
	if ((has & K_REF) && n->target) {
		if (c->refdepth >= DS_SCHEMA_MAX_REF_DEPTH) {
			if (rep)
				verr(c, "$ref", "schema references nested deeper than %d",
				     DS_SCHEMA_MAX_REF_DEPTH);
			BAD();
		} else {
			c->refdepth++;
			bool r = eval(c, n->target, v, rep);
			c->refdepth--;
			if (!r)
				BAD();
		}
	}
	/* The exact value is needed for bounds and for "integer" alone. */
	struct num x = { false, { 0, 0 }, 0 };
	if (cJSON_IsNumber(v) && ((has & K_NUMERIC)
				  || ((has & K_TYPE) && (n->types & (T_NUMBER | T_INTEGER)) == T_INTEGER)))
		x = num_of(v);
	if ((has & K_TYPE) && !type_ok(n->types, v, &x)) {
		if (rep)
			type_error(c, n->types, v, &x);
		BAD();
	}
	if ((has & K_ENUM) && !in_enum(n, v)) {
		if (rep) {
			char got[96];
			describe(got, sizeof got, v);
			if (n->enum_vals->child)
				verr(c, "enum", "must be one of %s, got %s", n->enum_text, got);
			else
				verr(c, "enum", "no value is valid (the enum is empty), got %s", got);
		}
		BAD();
	}
	if ((has & K_CONST) && !json_equal(n->const_val, v)) {
		if (rep) {
			char got[96];
			describe(got, sizeof got, v);
			verr(c, "const", "must be %s, got %s", n->const_text, got);
		}
		BAD();
	}
	switch (v->type & 0xFF) {
	case cJSON_Number:
		if ((has & K_NUMERIC) && !check_number(c, n, &x, rep))
			BAD();
		break;
	case cJSON_String:
		if ((has & K_STRINGY) && !check_string(c, n, v, rep))
			BAD();
		break;
	case cJSON_Array:
		if ((has & K_ARRAYISH) && !check_array(c, n, v, rep))
			BAD();
		break;
	case cJSON_Object:
		if ((has & K_OBJECT) && !check_object(c, n, v, rep))
			BAD();
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n->nall; i++)
		if (!eval(c, n->all[i], v, rep))
			BAD();
	if (n->nany) {
		bool any = false;
		for (size_t i = 0; i < n->nany && !any; i++)
			any = eval(c, n->any[i], v, false);
		if (c->stop)
			return false;
		if (!any) {
			if (rep)
				verr(c, "anyOf", "must match at least one schema in anyOf");
			BAD();
		}
	}
	if (n->none) {
		size_t matched = 0;
		for (size_t i = 0; i < n->none && matched < 2; i++)
			matched += eval(c, n->one[i], v, false);
		if (c->stop)
			return false;
		if (matched != 1) {
			if (rep)
				verr(c, "oneOf", "must match exactly one schema in oneOf, matched %s",
				     matched ? "several" : "none");
			BAD();
		}
	}
	if (n->not_) {
		bool r = eval(c, n->not_, v, false);
		if (c->stop)
			return false;
		if (r) {
			if (rep)
				verr(c, "not", "must not match the schema in not");
			BAD();
		}
	}
	return ok;
}

int ds_schema_validate(const ds_schema *s, const cJSON *instance, ds_schema_error_fn fn,
		       void *ud, size_t *nerrors, ds_err *err)
{
	if (nerrors)
		*nerrors = 0;
	if (!s || !instance || !s->root)
		return ds_err_set(err, DS_EINVAL, "schema: nothing to validate");
	struct vctx c;
	c.fn = fn;
	c.ud = ud;
	c.count = 0;
	c.stop = false;
	c.rc = DS_OK;
	c.err = err;
	c.env = s->env;
	c.md = NULL;
	c.depth = 0;
	c.refdepth = 0;
	const cJSON *stack[DS_SCHEMA_MAX_DEPTH];
	if (nesting_exceeds(instance, DS_SCHEMA_MAX_DEPTH, stack))
		verr(&c, "depth", "nesting deeper than %d", DS_SCHEMA_MAX_DEPTH);
	else
		eval(&c, s->root, instance, true);
	pcre2_match_data_free(c.md);
	if (nerrors)
		*nerrors = c.count;
	return c.rc;
}

/* ---- what a schema lets a record hold ---- */

/* The first step of a JSON Pointer ("/a~1b/c"), unescaped into seg (at
 * most 255 bytes, *len of them); returns the rest, or NULL when the step
 * is too long. */
static const char *first_step(const char *ptr, char seg[static 256], size_t *len)
{
	const char *p = ptr + 1;
	*len = 0;
	while (*p && *p != '/') {
		char c = *p++;
		if (c == '~' && (*p == '0' || *p == '1'))
			c = *p++ == '0' ? '~' : '/';
		if (*len + 1 >= 256)
			return NULL;
		seg[(*len)++] = c;
	}
	seg[*len] = '\0';
	return p;
}

/* The subschema n gives a step by name (properties) or, for an index, by
 * items; NULL when neither does. */
static const struct node *step(const struct node *n, const char *seg, size_t len, bool index)
{
	for (size_t i = 0; i < n->nprops; i++)
		if (n->props[i].len == len && !memcmp(n->props[i].name, seg, len) &&
		    n->props[i].schema)
			return n->props[i].schema;
	return index ? n->items : NULL;
}

/* Whether an instance may hold a value at ptr (the rest of a JSON
 * Pointer) under n: every applicable branch ($ref, allOf) must let it
 * through, one of anyOf / oneOf when present, and the node's own
 * properties, additionalProperties and items decide the next step. */
static bool allows(const struct node *n, const char *ptr, int depth)
{
	if (!n)
		return true;
	if (depth > DS_SCHEMA_MAX_REF_DEPTH)
		return true;
	if (n->is_bool)
		return n->bool_value || !*ptr;
	if (!*ptr)
		return true;
	if (n->target && !allows(n->target, ptr, depth + 1))
		return false;
	for (size_t i = 0; i < n->nall; i++)
		if (!allows(n->all[i], ptr, depth + 1))
			return false;
	struct node *const *alts[2] = { n->any, n->one };
	size_t nalts[2] = { n->nany, n->none };
	for (int k = 0; k < 2; k++) {
		bool some = !nalts[k];
		for (size_t i = 0; i < nalts[k] && !some; i++)
			some = allows(alts[k][i], ptr, depth + 1);
		if (!some)
			return false;
	}
	char seg[256];
	size_t len;
	const char *p = first_step(ptr, seg, &len);
	if (!p)
		return false;
	/* Something below this step needs an object or an array here. */
	bool index = len && strspn(seg, "0123456789") == len;
	if ((n->has & K_TYPE) && !(n->types & T_OBJECT) && !(index && (n->types & T_ARRAY)))
		return false;
	const struct node *next = step(n, seg, len, index);
	if (next)
		return allows(next, p, depth + 1);
	if (n->additional_false)
		return false;
	return allows(n->additional, p, depth + 1);
}

/* Whether the names along ptr are declared under n: 1 when they are (by
 * properties, additionalProperties given, or items for an index), 0
 * when a step is not (n lists its properties, and not this one), -1 when
 * n says nothing of names there (no properties, or an empty schema). One
 * applicable branch ($ref, allOf, anyOf, oneOf) declaring a name is
 * enough: the names of an allOf are those of all its parts. */
static int declared(const struct node *n, const char *ptr, int depth)
{
	if (!n || depth > DS_SCHEMA_MAX_REF_DEPTH)
		return -1;
	if (!*ptr)
		return 1;
	if (n->is_bool)
		return n->bool_value ? -1 : 0;
	char seg[256];
	size_t len;
	const char *p = first_step(ptr, seg, &len);
	if (!p)
		return 0;
	bool index = len && strspn(seg, "0123456789") == len;
	const struct node *next = step(n, seg, len, index);
	if (!next)
		next = n->additional;
	int r = -1;
	if (next)
		r = declared(next, p, depth + 1) ? 1 : 0;
	else if (n->additional_given && !n->additional_false)
		r = 1;  /* "additionalProperties": true, said on purpose */
	else if (n->nprops || n->additional_false)
		r = 0;
	struct node *const ref[1] = { n->target };
	struct node *const *branches[4] = { ref, n->all, n->any, n->one };
	size_t nbranches[4] = { n->target != NULL, n->nall, n->nany, n->none };
	for (int k = 0; k < 4 && r != 1; k++)
		for (size_t i = 0; i < nbranches[k] && r != 1; i++) {
			int b = declared(branches[k][i], ptr, depth + 1);
			if (b == 1 || (b == 0 && r == -1))
				r = b;
		}
	return r;
}

bool ds_schema_allows_pointer(const ds_schema *s, const char *pointer)
{
	if (!s || !pointer || (*pointer && *pointer != '/'))
		return false;
	return allows(s->root, pointer, 0);
}

bool ds_schema_declares_pointer(const ds_schema *s, const char *pointer)
{
	return ds_schema_allows_pointer(s, pointer) && declared(s->root, pointer, 0) != 0;
}
