/*
 * pdf.c - document templates and their rendering with libharu; see pdf.h
 * and docs/documents.md for the template format.
 *
 * Loading compiles every text of a template into pieces (literals and
 * bindings with their path already split), so rendering never parses the
 * template again. Rendering draws in one pass: blocks are laid out top to
 * bottom, a page is added when the next line or row does not fit, and the
 * footers are drawn last, once the page count is known.
 *
 * Text goes through "codes": for the built-in fonts and TrueType fonts in
 * CP1252 mode a code is a Windows-1252 byte (anything else becomes '?'); for
 * TrueType fonts in unicode mode it is a code point of the basic plane,
 * shown as UTF-8. Widths come from the font metrics, so wrapping and
 * truncation are exact and nothing is drawn outside the margins.
 *
 * The renderer keeps one HPDF_Doc for its whole life: HPDF_NewDoc() and
 * HPDF_FreeDoc() reset the document between renders but keep libharu's
 * font definitions and encoders, so built-in metrics and TrueType files are
 * read once. Each TrueType family is loaded in a fresh document state, which
 * makes libharu's subset tags (HPDFAA, HPDFAB) independent of what the
 * renderer rendered before, and the bytes reproducible.
 */
#include "pdf.h"

#include <hpdf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "caltime.h"
#include "decimal.h"
#include "json.h"

#define MM (72.0f / 25.4f)
#define LEADING 1.25f      /* line height as a multiple of the font size */
#define CELL_PAD_X 3.0f
#define CELL_PAD_Y 2.5f
#define FOOTER_SIZE 7.5f
#define MAX_LINE_CODES 1024  /* codes drawn on one line, at most */
#define MAX_TTF 8            /* TrueType families cached per renderer */
#define OMIT 1               /* eval(): an optional binding was missing */

/* ---------------------------------------------------------------- model */

enum root {
	R_CASE, R_DATA, R_NOW, R_ITEM, R_ROW, R_PAGE, R_PAGES, R_DISCOUNT,
	R_RATE, R_COUNT
};

static const char *const root_names[R_COUNT] = {
	"case", "data", "now", "item", "row", "page", "pages", "discount",
	"rate",
};

#define BIT(r) (1u << (r))
#define ROOTS_CASE (BIT(R_CASE) | BIT(R_DATA) | BIT(R_NOW))
#define ROOTS_ROW (ROOTS_CASE | BIT(R_ITEM) | BIT(R_ROW))
#define ROOTS_FOOTER (ROOTS_CASE | BIT(R_PAGE) | BIT(R_PAGES))

enum filter { F_NONE, F_MONEY, F_DECIMAL, F_PERCENT, F_DATE, F_PHONE };

static const char *const filter_names[] = {
	"", "money", "decimal", "percent", "date", "phone",
};

struct bind {
	int root;
	int filter;
	bool optional;
	bool row_total;      /* R_ROW: "total" rather than "number" */
	const char *text;    /* the path as written, for messages */
	const char *rest;    /* R_ITEM: the path after "item." */
	const char **seg;    /* the segments after the root */
	size_t nseg;
};

struct piece {
	const char *lit;     /* a literal when b is NULL */
	size_t len;
	const struct bind *b;
};

struct tstr {
	const struct piece *p;
	size_t n;
};

enum align { A_LEFT, A_CENTER, A_RIGHT };
enum kind { K_COMPANY, K_TITLE, K_TEXT, K_COLUMNS, K_ITEMS, K_SPACER };

static const char *const kind_names[] = {
	"company", "title", "text", "columns", "items", "spacer",
};

struct column {
	struct tstr header;
	struct tstr value;
	float weight;
	int align;
	int max_lines;
};

enum { L_SUBTOTAL, L_DISCOUNT, L_NET, L_VAT, L_TOTAL, L_COUNT };

struct block {
	int kind;
	/* company, title, text */
	float size;          /* 0: the template's size */
	bool bold;
	int align;
	int max_lines;       /* 0: no limit */
	bool has_label;
	struct tstr label;
	struct tstr *lines;
	size_t nlines;
	/* spacer */
	float height;
	/* columns */
	struct block *sub;
	float *weights;
	size_t nsub;
	float gap;
	/* items */
	struct bind source, quantity, unit_price, vat_rate, discount;
	bool has_discount;
	bool totals;
	size_t max_rows;
	struct column *cols;
	size_t ncols;
	struct tstr labels[L_COUNT];
};

struct ds_doc_template {
	ds_arena *arena;
	char *name;
	float page_w, page_h;
	float m_top, m_right, m_bottom, m_left;
	int base_family;     /* index in base_fonts when ttf is empty */
	char ttf[64];
	bool unicode;
	float size;
	bool has_title, has_footer, has_currency;
	struct tstr title, footer;
	struct bind currency;
	struct block *blocks;
	size_t nblocks;
};

static const struct {
	const char *name, *regular, *bold;
} base_fonts[] = {
	{ "Helvetica", "Helvetica", "Helvetica-Bold" },
	{ "Times", "Times-Roman", "Times-Bold" },
	{ "Courier", "Courier", "Courier-Bold" },
};
#define NBASE (sizeof base_fonts / sizeof base_fonts[0])

static const struct {
	const char *name;
	float w, h;
} page_sizes[] = {
	{ "A4", 595.276f, 841.89f },
	{ "A5", 419.528f, 595.276f },
	{ "Letter", 612.0f, 792.0f },
};

/* ---------------------------------------------------------------- codes */

/* Unicode of the Windows-1252 bytes 0x80-0x9F (0: undefined). */
static const uint16_t cp1252_80[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static uint16_t cp1252_from_unicode(uint32_t cp)
{
	if ((cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xFF))
		return (uint16_t)cp;
	for (unsigned i = 0; i < 32; i++)
		if (cp1252_80[i] && cp1252_80[i] == cp)
			return (uint16_t)(0x80 + i);
	switch (cp) {
	case 0x2007: case 0x2009: case 0x202F:  /* narrow spaces */
		return 0xA0;
	case 0x2010: case 0x2011: case 0x2212:  /* hyphens, minus */
		return '-';
	default:
		return '?';
	}
}

static uint32_t cp1252_to_unicode(uint16_t c)
{
	if (c >= 0x80 && c < 0xA0)
		return cp1252_80[c - 0x80] ? cp1252_80[c - 0x80] : '?';
	return c;
}

/* One code point from s[*i], or U+FFFD for an invalid sequence (then one
 * byte is consumed): overlongs, surrogates and values past U+10FFFF are
 * refused. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80) {
		(*i)++;
		return c;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2; cp = c & 0x1Fu; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3; cp = c & 0x0Fu; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4; cp = c & 0x07u; min = 0x10000;
	} else {
		(*i)++;
		return 0xFFFD;
	}
	if (n - *i < len) {
		(*i)++;
		return 0xFFFD;
	}
	for (size_t k = 1; k < len; k++) {
		if ((s[*i + k] & 0xC0) != 0x80) {
			(*i)++;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[*i + k] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		(*i)++;
		return 0xFFFD;
	}
	*i += len;
	return cp;
}

/* ---------------------------------------------------------------- loading */

struct loader {
	ds_doc_template *t;
	ds_arena *tmp;       /* JSON Pointers, freed after loading */
	ds_diag *diag;
	const char *file;
	size_t errors;
	bool nomem;
};

static void problem(struct loader *ld, const char *jp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct loader *ld, const char *jp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ds_diag_error(ld->diag, ld->file, jp, "%s", msg);
	ld->errors++;
}

static void *talloc(struct loader *ld, size_t n)
{
	void *p = ds_arena_alloc(ld->t->arena, n ? n : 1);
	if (!p)
		ld->nomem = true;
	else
		memset(p, 0, n ? n : 1);
	return p;
}

static char *tstrndup(struct loader *ld, const char *s, size_t n)
{
	char *d = ds_arena_strndup(ld->t->arena, s, n);
	if (!d)
		ld->nomem = true;
	return d;
}

/* base + "/" + key as a JSON Pointer ('~' and '/' escaped). */
static const char *jp_key(struct loader *ld, const char *base, const char *key)
{
	size_t bl = strlen(base), kl = strlen(key), extra = 0;
	for (size_t i = 0; i < kl; i++)
		extra += key[i] == '~' || key[i] == '/';
	char *p = ds_arena_alloc(ld->tmp, bl + 1 + kl + extra + 1);
	if (!p) {
		ld->nomem = true;
		return base;
	}
	memcpy(p, base, bl);
	size_t o = bl;
	p[o++] = '/';
	for (size_t i = 0; i < kl; i++) {
		if (key[i] == '~' || key[i] == '/') {
			p[o++] = '~';
			p[o++] = key[i] == '~' ? '0' : '1';
		} else {
			p[o++] = key[i];
		}
	}
	p[o] = '\0';
	return p;
}

static const char *jp_index(struct loader *ld, const char *base, size_t i)
{
	const char *p = ds_arena_printf(ld->tmp, "%s/%zu", base, i);
	if (!p)
		ld->nomem = true;
	return p ? p : base;
}

static bool is_in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Reports every member of obj that is not in allowed. */
static void check_members(struct loader *ld, const cJSON *obj, const char *jp,
			  const char *const *allowed)
{
	for (const cJSON *it = obj->child; it; it = it->next)
		if (!it->string || !is_in(it->string, allowed))
			problem(ld, jp_key(ld, jp, it->string ? it->string : ""),
				"unknown member \"%s\"",
				it->string ? it->string : "");
}

/* A number member in [lo, hi]; *out keeps its default when absent. */
static void get_num(struct loader *ld, const cJSON *obj, const char *jp,
		    const char *key, double lo, double hi, float *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
		problem(ld, jp_key(ld, jp, key),
			"\"%s\" must be a number from %g to %g", key, lo, hi);
		return;
	}
	*out = (float)v->valuedouble;
}

static void get_int(struct loader *ld, const cJSON *obj, const char *jp,
		    const char *key, int lo, int hi, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint ||
	    v->valueint < lo || v->valueint > hi) {
		problem(ld, jp_key(ld, jp, key),
			"\"%s\" must be an integer from %d to %d", key, lo, hi);
		return;
	}
	*out = v->valueint;
}

static void get_bool(struct loader *ld, const cJSON *obj, const char *jp,
		     const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return;
	if (!cJSON_IsBool(v)) {
		problem(ld, jp_key(ld, jp, key), "\"%s\" must be true or false", key);
		return;
	}
	*out = cJSON_IsTrue(v);
}

/* A string member naming one of names[0..n); *out keeps its default. */
static void get_enum(struct loader *ld, const cJSON *obj, const char *jp,
		     const char *key, const char *const *names, int n, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return;
	if (cJSON_IsString(v))
		for (int i = 0; i < n; i++)
			if (names[i][0] && strcmp(v->valuestring, names[i]) == 0) {
				*out = i;
				return;
			}
	char list[256] = "";
	for (int i = 0; i < n; i++)
		if (names[i][0]) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", names[i]);
		}
	problem(ld, jp_key(ld, jp, key), "\"%s\" must be one of %s", key, list);
}

static const char *const align_names[] = { "left", "center", "right" };

static bool seg_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void roots_list(unsigned roots, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int r = 0; r < R_COUNT; r++)
		if (roots & BIT(r)) {
			size_t l = strlen(buf);
			snprintf(buf + l, n - l, "%s%s", l ? ", " : "", root_names[r]);
		}
}

/* Parses a dotted path (len bytes of s) whose root is in roots. */
static bool parse_path(struct loader *ld, const char *s, size_t len,
		       const char *jp, unsigned roots, struct bind *b)
{
	char *text = tstrndup(ld, s, len);
	if (!text)
		return false;
	b->text = text;
	size_t nseg = 1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			nseg++;
		} else if (!seg_char(s[i])) {
			problem(ld, jp, "\"%s\" is not a field path: use names "
				"of letters, digits, '_' or '-' joined by dots", text);
			return false;
		}
	}
	if (len == 0 || s[0] == '.' || s[len - 1] == '.' || strstr(text, "..")) {
		problem(ld, jp, "\"%s\" is not a field path (empty name)", text);
		return false;
	}
	size_t rl = strcspn(text, ".");
	b->root = -1;
	for (int r = 0; r < R_COUNT; r++)
		if (strlen(root_names[r]) == rl && memcmp(text, root_names[r], rl) == 0)
			b->root = r;
	if (b->root < 0 || !(roots & BIT(b->root))) {
		char list[128];
		roots_list(roots, list, sizeof list);
		if (roots)
			problem(ld, jp, "\"%s\" must start with one of: %s", text, list);
		else
			problem(ld, jp, "\"%s\": this text is static and cannot "
				"bind fields", text);
		return false;
	}
	b->nseg = nseg - 1;
	b->seg = talloc(ld, sizeof *b->seg * (b->nseg ? b->nseg : 1));
	if (!b->seg)
		return false;
	const char *p = text + rl;
	for (size_t k = 0; k < b->nseg; k++) {
		p++;   /* the dot */
		size_t sl = strcspn(p, ".");
		b->seg[k] = tstrndup(ld, p, sl);
		if (!b->seg[k])
			return false;
		p += sl;
	}
	b->rest = b->root == R_ITEM && b->nseg ? text + rl + 1 : "";
	switch (b->root) {
	case R_CASE: case R_DATA: case R_ITEM:
		if (b->nseg == 0) {
			problem(ld, jp, "\"%s\" names a whole object: name a field in it",
				text);
			return false;
		}
		return true;
	case R_ROW:
		if (b->nseg != 1 || (strcmp(b->seg[0], "number") != 0 &&
				     strcmp(b->seg[0], "total") != 0)) {
			problem(ld, jp, "\"%s\": a row has only \"row.number\" and "
				"\"row.total\"", text);
			return false;
		}
		b->row_total = strcmp(b->seg[0], "total") == 0;
		return true;
	default:
		if (b->nseg) {
			problem(ld, jp, "\"%s\": \"%s\" has no fields", text,
				root_names[b->root]);
			return false;
		}
		return true;
	}
}

/* Parses the inside of {...}: path, optional '?', optional '|filter'. */
static bool parse_binding(struct loader *ld, const char *s, size_t len,
			  const char *jp, unsigned roots, struct bind *b)
{
	const char *bar = memchr(s, '|', len);
	size_t plen = bar ? (size_t)(bar - s) : len;
	if (plen && s[plen - 1] == '?') {
		b->optional = true;
		plen--;
	}
	if (bar) {
		const char *f = bar + 1;
		size_t fl = len - (size_t)(f - s);
		b->filter = -1;
		for (int i = 1; i < (int)(sizeof filter_names / sizeof *filter_names); i++)
			if (strlen(filter_names[i]) == fl && memcmp(f, filter_names[i], fl) == 0)
				b->filter = i;
		if (b->filter < 0) {
			problem(ld, jp, "unknown filter \"%.*s\" (expected money, "
				"decimal, percent, date or phone)", (int)fl, f);
			return false;
		}
	}
	return parse_path(ld, s, plen, jp, roots, b);
}

/* Compiles a text with {bindings}; "{{" and "}}" are literal braces. */
static bool parse_tstr(struct loader *ld, const char *src, const char *jp,
		       unsigned roots, struct tstr *out)
{
	size_t len = strlen(src), cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += src[i] == '{' ? 2 : 0;
	struct piece *p = talloc(ld, sizeof *p * cap);
	char *lit = talloc(ld, len + 1);
	if (!p || !lit)
		return false;
	size_t n = 0, o = 0, start = 0;
	bool ok = true;
	for (size_t i = 0; i < len;) {
		char c = src[i];
		if ((c == '{' || c == '}') && src[i + 1] == c) {
			lit[o++] = c;
			i += 2;
		} else if (c == '}') {
			problem(ld, jp, "unmatched \"}\" in \"%s\" (write \"}}\" for "
				"a brace)", src);
			return false;
		} else if (c == '{') {
			const char *end = strchr(src + i + 1, '}');
			if (!end) {
				problem(ld, jp, "unclosed \"{\" in \"%s\"", src);
				return false;
			}
			if (o > start)
				p[n++] = (struct piece){ lit + start, o - start, NULL };
			start = o;
			struct bind *b = talloc(ld, sizeof *b);
			if (!b)
				return false;
			size_t bl = (size_t)(end - (src + i + 1));
			if (parse_binding(ld, src + i + 1, bl, jp, roots, b))
				p[n++] = (struct piece){ NULL, 0, b };
			else
				ok = false;
			i += bl + 2;
		} else {
			lit[o++] = c;
			i++;
		}
	}
	if (o > start)
		p[n++] = (struct piece){ lit + start, o - start, NULL };
	out->p = p;
	out->n = n;
	return ok;
}

/* A member that is a text with bindings; required reports its absence. */
static bool get_tstr(struct loader *ld, const cJSON *obj, const char *jp,
		     const char *key, unsigned roots, bool required,
		     struct tstr *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *sub = jp_key(ld, jp, key);
	if (!v) {
		if (required)
			problem(ld, sub, "\"%s\" is required", key);
		return false;
	}
	if (!cJSON_IsString(v)) {
		problem(ld, sub, "\"%s\" must be a string", key);
		return false;
	}
	return parse_tstr(ld, v->valuestring, sub, roots, out);
}

/* A member that is a plain field path ("data.lines"). */
static bool get_path(struct loader *ld, const cJSON *obj, const char *jp,
		     const char *key, unsigned roots, bool required,
		     const char *dflt, struct bind *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *sub = jp_key(ld, jp, key);
	const char *s = dflt;
	if (v) {
		if (!cJSON_IsString(v)) {
			problem(ld, sub, "\"%s\" must be a field path string", key);
			return false;
		}
		s = v->valuestring;
	} else if (!dflt) {
		if (required)
			problem(ld, sub, "\"%s\" is required", key);
		return false;
	}
	return parse_path(ld, s, strlen(s), sub, roots, out);
}

/* "lines": [texts] or "text": text, into b->lines. */
static void get_lines(struct loader *ld, const cJSON *obj, const char *jp,
		      struct block *b, bool is_static)
{
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(obj, "lines");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
	unsigned roots = is_static ? 0 : ROOTS_CASE;
	if (lines && text) {
		problem(ld, jp_key(ld, jp, "text"), "give \"lines\" or \"text\", not both");
		return;
	}
	if (text) {
		b->lines = talloc(ld, sizeof *b->lines);
		if (b->lines && get_tstr(ld, obj, jp, "text", roots, true, b->lines))
			b->nlines = 1;
		return;
	}
	const char *sub = jp_key(ld, jp, "lines");
	if (!lines) {
		problem(ld, sub, "\"lines\" (or \"text\") is required");
		return;
	}
	int n = cJSON_GetArraySize(lines);
	if (!cJSON_IsArray(lines) || n < 1 || n > 100) {
		problem(ld, sub, "\"lines\" must be an array of 1 to 100 strings");
		return;
	}
	b->lines = talloc(ld, sizeof *b->lines * (size_t)n);
	if (!b->lines)
		return;
	size_t i = 0;
	for (const cJSON *it = lines->child; it; it = it->next, i++) {
		const char *ip = jp_index(ld, sub, i);
		if (!cJSON_IsString(it)) {
			problem(ld, ip, "a line must be a string");
			continue;
		}
		if (parse_tstr(ld, it->valuestring, ip, roots, &b->lines[b->nlines]))
			b->nlines++;
	}
}

static void load_textual(struct loader *ld, const cJSON *obj, const char *jp,
			 struct block *b)
{
	static const char *const company_keys[] = {
		"kind", "lines", "size", "align", NULL };
	static const char *const title_keys[] = {
		"kind", "text", "size", "align", NULL };
	static const char *const text_keys[] = {
		"kind", "label", "lines", "text", "size", "bold", "align",
		"max_lines", NULL };
	b->align = A_LEFT;
	switch (b->kind) {
	case K_COMPANY:
		check_members(ld, obj, jp, company_keys);
		get_lines(ld, obj, jp, b, true);
		break;
	case K_TITLE:
		check_members(ld, obj, jp, title_keys);
		b->bold = true;
		b->size = 16;
		b->lines = talloc(ld, sizeof *b->lines);
		if (b->lines && get_tstr(ld, obj, jp, "text", ROOTS_CASE, true, b->lines))
			b->nlines = 1;
		break;
	default:
		check_members(ld, obj, jp, text_keys);
		get_lines(ld, obj, jp, b, false);
		if (cJSON_GetObjectItemCaseSensitive(obj, "label"))
			b->has_label = get_tstr(ld, obj, jp, "label", ROOTS_CASE,
						false, &b->label);
		get_bool(ld, obj, jp, "bold", &b->bold);
		get_int(ld, obj, jp, "max_lines", 1, 1000, &b->max_lines);
		break;
	}
	get_num(ld, obj, jp, "size", 5, 48, &b->size);
	get_enum(ld, obj, jp, "align", align_names, 3, &b->align);
}

static int kind_of(struct loader *ld, const cJSON *obj, const char *jp)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const char *sub = jp_key(ld, jp, "kind");
	if (!k) {
		problem(ld, sub, "\"kind\" is required");
		return -1;
	}
	if (cJSON_IsString(k))
		for (int i = 0; i < (int)(sizeof kind_names / sizeof *kind_names); i++)
			if (strcmp(k->valuestring, kind_names[i]) == 0)
				return i;
	problem(ld, sub, "unknown block kind %s%s%s (expected company, title, "
		"text, columns, items or spacer)",
		cJSON_IsString(k) ? "\"" : "",
		cJSON_IsString(k) ? k->valuestring : "(not a string)",
		cJSON_IsString(k) ? "\"" : "");
	return -1;
}

static void load_columns(struct loader *ld, const cJSON *obj, const char *jp,
			 struct block *b)
{
	static const char *const keys[] = { "kind", "blocks", "widths", "gap_mm", NULL };
	check_members(ld, obj, jp, keys);
	float gap = 8;
	get_num(ld, obj, jp, "gap_mm", 0, 50, &gap);
	b->gap = gap * MM;
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(obj, "blocks");
	const char *sub = jp_key(ld, jp, "blocks");
	int n = cJSON_GetArraySize(blocks);
	if (!cJSON_IsArray(blocks) || n < 2 || n > 4) {
		problem(ld, sub, "\"blocks\" must be an array of 2 to 4 blocks");
		return;
	}
	b->sub = talloc(ld, sizeof *b->sub * (size_t)n);
	b->weights = talloc(ld, sizeof *b->weights * (size_t)n);
	if (!b->sub || !b->weights)
		return;
	b->nsub = (size_t)n;
	size_t i = 0;
	for (const cJSON *it = blocks->child; it; it = it->next, i++) {
		const char *ip = jp_index(ld, sub, i);
		b->weights[i] = 1;
		if (!cJSON_IsObject(it)) {
			problem(ld, ip, "a block must be an object");
			continue;
		}
		b->sub[i].kind = kind_of(ld, it, ip);
		if (b->sub[i].kind < 0)
			continue;
		if (b->sub[i].kind != K_COMPANY && b->sub[i].kind != K_TITLE &&
		    b->sub[i].kind != K_TEXT) {
			problem(ld, jp_key(ld, ip, "kind"), "a column holds a company, "
				"title or text block, not \"%s\"",
				kind_names[b->sub[i].kind]);
			continue;
		}
		load_textual(ld, it, ip, &b->sub[i]);
	}
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(obj, "widths");
	if (w) {
		const char *wp = jp_key(ld, jp, "widths");
		if (!cJSON_IsArray(w) || cJSON_GetArraySize(w) != n) {
			problem(ld, wp, "\"widths\" must have one number per block");
			return;
		}
		i = 0;
		for (const cJSON *it = w->child; it; it = it->next, i++) {
			if (!cJSON_IsNumber(it) || !(it->valuedouble > 0 && it->valuedouble <= 100))
				problem(ld, jp_index(ld, wp, i), "a width must be a number "
					"above 0 and at most 100");
			else
				b->weights[i] = (float)it->valuedouble;
		}
	}
}

static const char *const label_keys[L_COUNT + 1] = {
	"subtotal", "discount", "net", "vat", "total", NULL,
};
static const char *const label_defaults[L_COUNT] = {
	"Total HT", "Remise {discount|percent}", "Net HT",
	"TVA {rate|percent}", "Total TTC",
};

static void load_items(struct loader *ld, const cJSON *obj, const char *jp,
		       struct block *b)
{
	static const char *const keys[] = {
		"kind", "source", "max_rows", "quantity", "unit_price",
		"vat_rate", "discount", "columns", "size", "totals", "labels",
		NULL };
	static const char *const col_keys[] = {
		"header", "value", "width", "align", "max_lines", NULL };
	check_members(ld, obj, jp, keys);
	get_path(ld, obj, jp, "source", BIT(R_DATA), true, NULL, &b->source);
	get_path(ld, obj, jp, "quantity", BIT(R_ITEM), true, "item.quantity",
		 &b->quantity);
	get_path(ld, obj, jp, "unit_price", BIT(R_ITEM), true, "item.unit_price",
		 &b->unit_price);
	get_path(ld, obj, jp, "vat_rate", BIT(R_ITEM), true, "item.vat_rate",
		 &b->vat_rate);
	if (cJSON_GetObjectItemCaseSensitive(obj, "discount"))
		b->has_discount = get_path(ld, obj, jp, "discount", ROOTS_CASE,
					   false, NULL, &b->discount);
	int max_rows = DS_PDF_DEFAULT_ROWS;
	get_int(ld, obj, jp, "max_rows", 1, DS_PDF_MAX_ROWS, &max_rows);
	b->max_rows = (size_t)max_rows;
	b->totals = true;
	get_bool(ld, obj, jp, "totals", &b->totals);
	get_num(ld, obj, jp, "size", 5, 24, &b->size);

	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(obj, "labels");
	const char *lp = jp_key(ld, jp, "labels");
	if (labels && !cJSON_IsObject(labels)) {
		problem(ld, lp, "\"labels\" must be an object");
		labels = NULL;
	}
	if (labels)
		check_members(ld, labels, lp, label_keys);
	for (int i = 0; i < L_COUNT; i++) {
		unsigned roots = ROOTS_CASE | (i == L_DISCOUNT ? BIT(R_DISCOUNT) : 0) |
				 (i == L_VAT ? BIT(R_RATE) : 0);
		if (!labels || !get_tstr(ld, labels, lp, label_keys[i], roots, false,
					 &b->labels[i]))
			parse_tstr(ld, label_defaults[i], lp, roots, &b->labels[i]);
	}

	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(obj, "columns");
	const char *cp = jp_key(ld, jp, "columns");
	int n = cJSON_GetArraySize(cols);
	if (!cols) {
		problem(ld, cp, "\"columns\" is required");
		return;
	}
	if (!cJSON_IsArray(cols) || n < 1 || n > 12) {
		problem(ld, cp, "\"columns\" must be an array of 1 to 12 columns");
		return;
	}
	b->cols = talloc(ld, sizeof *b->cols * (size_t)n);
	if (!b->cols)
		return;
	b->ncols = (size_t)n;
	size_t i = 0;
	for (const cJSON *it = cols->child; it; it = it->next, i++) {
		const char *ip = jp_index(ld, cp, i);
		struct column *c = &b->cols[i];
		c->weight = 1;
		c->max_lines = 3;
		if (!cJSON_IsObject(it)) {
			problem(ld, ip, "a column must be an object");
			continue;
		}
		check_members(ld, it, ip, col_keys);
		if (!get_tstr(ld, it, ip, "header", 0, false, &c->header))
			c->header = (struct tstr){ NULL, 0 };
		get_tstr(ld, it, ip, "value", ROOTS_ROW, true, &c->value);
		get_num(ld, it, ip, "width", 0.1, 100, &c->weight);
		get_enum(ld, it, ip, "align", align_names, 3, &c->align);
		get_int(ld, it, ip, "max_lines", 1, 10, &c->max_lines);
	}
}

static void load_block(struct loader *ld, const cJSON *obj, const char *jp,
		       struct block *b)
{
	if (!cJSON_IsObject(obj)) {
		problem(ld, jp, "a block must be an object");
		b->kind = K_SPACER;
		return;
	}
	int kind = kind_of(ld, obj, jp);
	b->kind = kind < 0 ? K_SPACER : kind;
	if (kind < 0)
		return;
	switch (kind) {
	case K_COLUMNS:
		load_columns(ld, obj, jp, b);
		break;
	case K_ITEMS:
		load_items(ld, obj, jp, b);
		break;
	case K_SPACER: {
		static const char *const keys[] = { "kind", "height_mm", NULL };
		check_members(ld, obj, jp, keys);
		float h = 5;
		get_num(ld, obj, jp, "height_mm", 0, 200, &h);
		b->height = h * MM;
		break;
	}
	default:
		load_textual(ld, obj, jp, b);
		break;
	}
}

static void load_page(struct loader *ld, const cJSON *page)
{
	static const char *const keys[] = { "size", "orientation", "margins_mm", NULL };
	static const char *const mkeys[] = { "top", "right", "bottom", "left", NULL };
	static const char *const orient[] = { "portrait", "landscape" };
	static const char *const sizes[] = { "A4", "A5", "Letter" };
	ds_doc_template *t = ld->t;
	int size = 0, o = 0;
	float m[4] = { 15, 15, 15, 15 };
	if (page && !cJSON_IsObject(page)) {
		problem(ld, "/page", "\"page\" must be an object");
		page = NULL;
	}
	if (page) {
		check_members(ld, page, "/page", keys);
		get_enum(ld, page, "/page", "size", sizes, 3, &size);
		get_enum(ld, page, "/page", "orientation", orient, 2, &o);
		const cJSON *mm = cJSON_GetObjectItemCaseSensitive(page, "margins_mm");
		if (mm && !cJSON_IsObject(mm)) {
			problem(ld, "/page/margins_mm", "\"margins_mm\" must be an object");
		} else if (mm) {
			check_members(ld, mm, "/page/margins_mm", mkeys);
			for (int i = 0; i < 4; i++)
				get_num(ld, mm, "/page/margins_mm", mkeys[i], 0, 100, &m[i]);
		}
	}
	t->page_w = o ? page_sizes[size].h : page_sizes[size].w;
	t->page_h = o ? page_sizes[size].w : page_sizes[size].h;
	t->m_top = m[0] * MM;
	t->m_right = m[1] * MM;
	t->m_bottom = m[2] * MM;
	t->m_left = m[3] * MM;
	if (t->page_w - t->m_left - t->m_right < 50 * MM ||
	    t->page_h - t->m_top - t->m_bottom < 50 * MM)
		problem(ld, "/page/margins_mm", "the margins leave less than 50 mm "
			"of the page for content");
}

static bool ttf_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 40 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!seg_char(s[i]))
			return false;
	return true;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void load_font(struct loader *ld, const cJSON *font)
{
	static const char *const keys[] = { "name", "ttf", "unicode", "size", NULL };
	static const char *const names[] = { "Helvetica", "Times", "Courier" };
	ds_doc_template *t = ld->t;
	t->size = 10;
	if (!font)
		return;
	if (!cJSON_IsObject(font)) {
		problem(ld, "/font", "\"font\" must be an object");
		return;
	}
	check_members(ld, font, "/font", keys);
	get_num(ld, font, "/font", "size", 5, 24, &t->size);
	get_enum(ld, font, "/font", "name", names, 3, &t->base_family);
	get_bool(ld, font, "/font", "unicode", &t->unicode);
	const cJSON *ttf = cJSON_GetObjectItemCaseSensitive(font, "ttf");
	if (!ttf) {
		if (t->unicode)
			problem(ld, "/font/unicode", "\"unicode\" needs a \"ttf\" font");
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(font, "name"))
		problem(ld, "/font/name", "give \"name\" (built-in) or \"ttf\", not both");
	if (!cJSON_IsString(ttf) || !ttf_name_ok(ttf->valuestring)) {
		problem(ld, "/font/ttf", "\"ttf\" must be a font file name without "
			"its extension, such as \"DejaVuSans\"");
		return;
	}
	snprintf(t->ttf, sizeof t->ttf, "%s", ttf->valuestring);
	char path[256];
	snprintf(path, sizeof path, "%s/%s.ttf", DS_PDF_FONT_DIR, t->ttf);
	if (!file_exists(path))
		problem(ld, "/font/ttf", "font file %s not found (Debian package "
			"fonts-dejavu-core)", path);
}

static void load_template(struct loader *ld, const cJSON *root)
{
	static const char *const keys[] = {
		"description", "page", "font", "title", "currency", "footer",
		"blocks", NULL };
	ds_doc_template *t = ld->t;
	if (!cJSON_IsObject(root)) {
		problem(ld, "", "a document template must be a JSON object");
		return;
	}
	check_members(ld, root, "", keys);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "description");
	if (d && !cJSON_IsString(d))
		problem(ld, "/description", "\"description\" must be a string");
	load_page(ld, cJSON_GetObjectItemCaseSensitive(root, "page"));
	load_font(ld, cJSON_GetObjectItemCaseSensitive(root, "font"));
	if (cJSON_GetObjectItemCaseSensitive(root, "title"))
		t->has_title = get_tstr(ld, root, "", "title", ROOTS_CASE, false,
					&t->title);
	if (cJSON_GetObjectItemCaseSensitive(root, "footer"))
		t->has_footer = get_tstr(ld, root, "", "footer", ROOTS_FOOTER, false,
					 &t->footer);
	if (cJSON_GetObjectItemCaseSensitive(root, "currency"))
		t->has_currency = get_path(ld, root, "", "currency", ROOTS_CASE,
					   false, NULL, &t->currency);
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks");
	int n = cJSON_GetArraySize(blocks);
	if (!blocks) {
		problem(ld, "/blocks", "\"blocks\" is required");
		return;
	}
	if (!cJSON_IsArray(blocks) || n < 1 || n > 200) {
		problem(ld, "/blocks", "\"blocks\" must be an array of 1 to 200 blocks");
		return;
	}
	t->blocks = talloc(ld, sizeof *t->blocks * (size_t)n);
	if (!t->blocks)
		return;
	t->nblocks = (size_t)n;
	size_t i = 0;
	for (const cJSON *it = blocks->child; it; it = it->next, i++)
		load_block(ld, it, jp_index(ld, "/blocks", i), &t->blocks[i]);
}

static char *name_from_path(ds_arena *a, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	return ds_arena_strndup(a, base, n);
}

int ds_doc_template_load(const char *path, ds_diag *diag,
			 ds_doc_template **out, ds_err *err)
{
	int rc = DS_OK;
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	ds_doc_template *t = NULL;
	struct loader ld = { .diag = diag, .file = path };
	ds_err perr = { DS_OK, "" };
	*out = NULL;

	rc = ds_read_file(path, DS_CONFIG_MAX_BYTES, &text, &len, &perr);
	if (rc == DS_ENOMEM) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if (rc) {
		/* A file too large is a configuration problem; any other
		 * failure to read it (missing included) is an I/O error. */
		ds_diag_error(diag, path, "", "%s", perr.msg);
		rc = ds_err_set(err, rc == DS_ELIMIT ? DS_ECONFIG : DS_EIO, "%s",
				perr.msg);
		goto done;
	}
	rc = ds_json_parse(text, len, DS_JSON_MAX_DEPTH, &root, &perr);
	if (rc == DS_ENOMEM) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if (rc) {
		ds_diag_error(diag, path, "", "%s", perr.msg);
		rc = ds_err_set(err, DS_ECONFIG, "%s: %s", path, perr.msg);
		goto done;
	}
	t = ds_calloc(1, sizeof *t);
	ld.tmp = ds_arena_new(4096);
	if (!t || !ld.tmp || !(t->arena = ds_arena_new(8192)) ||
	    !(t->name = name_from_path(t->arena, path))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	ld.t = t;
	load_template(&ld, root);
	if (ld.nomem) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory loading %s", path);
		goto done;
	}
	if (ld.errors) {
		rc = ds_err_set(err, DS_ECONFIG, "%s: %zu problem%s in the template",
				path, ld.errors, ld.errors > 1 ? "s" : "");
		goto done;
	}
	*out = t;
	t = NULL;   /* handed to the caller */
done:
	ds_doc_template_free(t);
	ds_arena_free(ld.tmp);
	cJSON_Delete(root);
	ds_free(text);
	return rc;
}

void ds_doc_template_free(ds_doc_template *t)
{
	if (!t)
		return;
	ds_arena_free(t->arena);
	ds_free(t);
}

const char *ds_doc_template_name(const ds_doc_template *t)
{
	return t->name;
}

/* ---------------------------------------------------------------- renderer */

struct ttf_fonts {
	char family[64];
	const char *regular;   /* names owned by libharu's font definitions */
	const char *bold;
};

struct ds_pdf {
	HPDF_Doc doc;
	HPDF_STATUS hno;       /* first libharu error since the last reset */
	HPDF_STATUS hdetail;
	ds_arena *scratch;     /* per-render allocations */
	ds_buf text;           /* the text being evaluated */
	bool broken;           /* libharu failed: start afresh next time */
	bool utf_encodings;
	bool base_ready[NBASE];
	int16_t base_w[NBASE][2][256];  /* built-in widths by CP1252 byte */
	struct ttf_fonts ttf[MAX_TTF];
	size_t nttf;
};

static void hpdf_on_error(HPDF_STATUS no, HPDF_STATUS detail, void *data)
{
	ds_pdf *r = data;
	if (!r->hno) {
		r->hno = no;
		r->hdetail = detail;
	}
}

static void *hpdf_alloc(HPDF_UINT size)
{
	return ds_malloc(size);
}

static void hpdf_free(void *p)
{
	ds_free(p);
}

static int hpdf_fail(ds_pdf *r, ds_err *err, const char *what)
{
	if (r->hno == HPDF_FAILD_TO_ALLOC_MEM)
		return ds_err_set(err, DS_ENOMEM, "out of memory in libharu (%s)", what);
	return ds_err_set(err, DS_EINTERNAL, "libharu error 0x%04X (detail %u) "
			  "while %s", (unsigned)r->hno, (unsigned)r->hdetail, what);
}

/* (Re)creates the libharu object; the fonts it held are forgotten. */
static int hpdf_open(ds_pdf *r, ds_err *err)
{
	if (r->doc)
		HPDF_Free(r->doc);
	r->nttf = 0;
	r->utf_encodings = false;
	r->broken = false;
	r->hno = r->hdetail = 0;
	r->doc = HPDF_NewEx(hpdf_on_error, hpdf_alloc, hpdf_free, 0, r);
	if (!r->doc) {
		r->broken = true;
		return r->hno == HPDF_FAILD_TO_ALLOC_MEM || !r->hno
		       ? ds_err_set(err, DS_ENOMEM, "out of memory starting libharu")
		       : hpdf_fail(r, err, "starting");
	}
	/* Each render starts with HPDF_NewDoc(); the one made by HPDF_NewEx
	 * is not used. */
	HPDF_FreeDoc(r->doc);
	return DS_OK;
}

int ds_pdf_new(ds_pdf **out, ds_err *err)
{
	ds_pdf *r = ds_calloc(1, sizeof *r);
	*out = NULL;
	if (!r || !(r->scratch = ds_arena_new(32768))) {
		ds_free(r);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	ds_buf_init(&r->text, DS_PDF_MAX_TEXT);
	int rc = hpdf_open(r, err);
	if (rc) {
		ds_pdf_free(r);
		return rc;
	}
	*out = r;
	return DS_OK;
}

void ds_pdf_free(ds_pdf *r)
{
	if (!r)
		return;
	if (r->doc)
		HPDF_Free(r->doc);
	ds_buf_free(&r->text);
	ds_arena_free(r->scratch);
	ds_free(r);
}

/* ---------------------------------------------------------------- layout */

struct face {
	HPDF_Font font;
	const int16_t *w;    /* built-in: widths by byte; NULL: ask libharu */
	bool utf8;           /* codes are code points shown as UTF-8 */
};

/* The state of one render. */
struct lay {
	ds_pdf *r;
	const ds_doc_template *t;
	const cJSON *vars;
	ds_err *err;
	ds_arena *a;
	struct face reg, bold;
	HPDF_Page page;
	HPDF_Page *pages;
	size_t npages;
	float left, right, top, bottom, y;
	bool in_text;
	const struct face *cur;
	float cur_size;
	float cur_gray;
	/* binding scope */
	const cJSON *item;
	size_t item_index;
	const char *source;
	int64_t row_number;
	ds_dec row_total;
	int64_t page_no, page_count;
	ds_dec disc, rate;
};

static float code_width(const struct face *f, uint16_t c)
{
	if (c == '\n')
		return 0;
	if (f->w)
		return f->w[c & 0xFF];
	uint32_t u = f->utf8 ? c : cp1252_to_unicode(c);
	HPDF_INT w = HPDF_Font_GetUnicodeWidth(f->font, (HPDF_UNICODE)u);
	return (float)w;
}

static float text_width(const struct face *f, float size, const uint16_t *c,
			size_t n)
{
	float w = 0;
	for (size_t i = 0; i < n; i++)
		w += code_width(f, c[i]);
	return w * size / 1000.0f;
}

/* UTF-8 text to codes for face f, in the scratch arena. With breaks, "\n"
 * stays a line break; otherwise it is a space, like tabs and CR. Other
 * control characters and what the font cannot show become '?'. */
static uint16_t *decode(struct lay *L, const struct face *f, const char *s,
			size_t len, bool breaks, size_t *n)
{
	uint16_t *c = ds_arena_alloc(L->a, sizeof *c * (len + 1));
	size_t k = 0;
	if (!c)
		return NULL;
	for (size_t i = 0; i < len;) {
		uint32_t cp = utf8_next((const unsigned char *)s, len, &i);
		uint16_t code;
		if (cp == '\n')
			code = breaks ? '\n' : ' ';
		else if (cp == '\t' || cp == '\r')
			code = ' ';
		else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xFFFD)
			code = '?';
		else if (f->utf8)
			code = cp > 0xFFFF ? '?' : (uint16_t)cp;
		else
			code = cp1252_from_unicode(cp);
		c[k++] = code;
	}
	*n = k;
	return c;
}

/* Codes to the bytes libharu shows; buf holds 3 * MAX_LINE_CODES + 1. */
static void encode(const struct face *f, const uint16_t *c, size_t n, char *buf)
{
	size_t o = 0;
	if (n > MAX_LINE_CODES)
		n = MAX_LINE_CODES;
	for (size_t i = 0; i < n; i++) {
		uint16_t u = c[i];
		if (!f->utf8) {
			buf[o++] = (char)(u & 0xFF);
		} else if (u < 0x80) {
			buf[o++] = (char)u;
		} else if (u < 0x800) {
			buf[o++] = (char)(0xC0 | (u >> 6));
			buf[o++] = (char)(0x80 | (u & 0x3F));
		} else {
			buf[o++] = (char)(0xE0 | (u >> 12));
			buf[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			buf[o++] = (char)(0x80 | (u & 0x3F));
		}
	}
	buf[o] = '\0';
}

/* The drawing helpers do nothing once libharu has reported an error: after
 * a failure (a failed allocation in particular) its objects may be half
 * built, and later calls can crash inside it. Callers check r->hno. */
static void text_end(struct lay *L)
{
	if (L->in_text && !L->r->hno) {
		HPDF_Page_EndText(L->page);
		L->in_text = false;
	}
}

static void fill_gray(struct lay *L, float g)
{
	if (L->cur_gray != g && !L->r->hno) {
		HPDF_Page_SetGrayFill(L->page, g);
		L->cur_gray = g;
	}
}

/* Draws codes with their left end at x and their baseline at y. */
static void show(struct lay *L, const struct face *f, float size, float x,
		 float y, const uint16_t *c, size_t n)
{
	char buf[3 * MAX_LINE_CODES + 1];
	if (n == 0 || L->r->hno)
		return;
	encode(f, c, n, buf);
	if (!L->in_text) {
		HPDF_Page_BeginText(L->page);
		if (L->r->hno)
			return;
		L->in_text = true;
	}
	if (L->cur != f || L->cur_size != size) {
		HPDF_Page_SetFontAndSize(L->page, f->font, size);
		if (L->r->hno)
			return;
		L->cur = f;
		L->cur_size = size;
	}
	HPDF_Page_TextOut(L->page, x, y, buf);
}

/* Draws codes aligned in [x, x + w]. */
static void show_aligned(struct lay *L, const struct face *f, float size,
			 float x, float w, float y, int align,
			 const uint16_t *c, size_t n)
{
	float tw = text_width(f, size, c, n);
	if (align == A_RIGHT)
		x += w - tw;
	else if (align == A_CENTER)
		x += (w - tw) / 2;
	show(L, f, size, x, y, c, n);
}

static void hline(struct lay *L, float x0, float x1, float y, float width,
		  float gray)
{
	text_end(L);
	if (L->r->hno)
		return;
	HPDF_Page_SetGrayStroke(L->page, gray);
	HPDF_Page_SetLineWidth(L->page, width);
	HPDF_Page_MoveTo(L->page, x0, y);
	HPDF_Page_LineTo(L->page, x1, y);
	HPDF_Page_Stroke(L->page);
}

static void fill_rect(struct lay *L, float x, float y, float w, float h,
		      float gray)
{
	text_end(L);
	fill_gray(L, gray);
	if (L->r->hno)
		return;
	HPDF_Page_Rectangle(L->page, x, y, w, h);
	HPDF_Page_Fill(L->page);
	fill_gray(L, 0);
}

static int new_page(struct lay *L)
{
	text_end(L);
	if (L->r->hno)
		return hpdf_fail(L->r, L->err, "drawing");
	if (L->npages == DS_PDF_MAX_PAGES)
		return ds_err_set(L->err, DS_ELIMIT, "the document would have more "
				  "than %d pages", DS_PDF_MAX_PAGES);
	HPDF_Page page = HPDF_AddPage(L->r->doc);
	if (!page || L->r->hno)
		return hpdf_fail(L->r, L->err, "adding a page");
	HPDF_Page_SetWidth(page, L->t->page_w);
	HPDF_Page_SetHeight(page, L->t->page_h);
	L->pages[L->npages++] = page;
	L->page = page;
	L->y = L->top;
	L->cur = NULL;
	L->cur_gray = 0;
	return DS_OK;
}

/* ---------------------------------------------------------------- values */

enum { V_NONE, V_JSON, V_DEC, V_INT };

struct val {
	int kind;
	const cJSON *j;
	ds_dec d;
	int64_t i;
};

static const cJSON *walk(const cJSON *node, const char *const *seg, size_t n)
{
	for (size_t k = 0; k < n && node; k++) {
		if (cJSON_IsObject(node)) {
			node = cJSON_GetObjectItemCaseSensitive(node, seg[k]);
		} else if (cJSON_IsArray(node)) {
			const char *s = seg[k];
			size_t idx = 0;
			if (!*s)
				return NULL;
			for (; *s; s++) {
				if (*s < '0' || *s > '9' || idx > 100000)
					return NULL;
				idx = idx * 10 + (size_t)(*s - '0');
			}
			node = idx < 100000 ? cJSON_GetArrayItem(node, (int)idx) : NULL;
		} else {
			return NULL;
		}
	}
	return node;
}

static void resolve(struct lay *L, const struct bind *b, struct val *v)
{
	const cJSON *node = NULL;
	*v = (struct val){ .kind = V_NONE };
	switch (b->root) {
	case R_CASE:
	case R_DATA:
	case R_NOW:
		node = cJSON_IsObject(L->vars)
		       ? cJSON_GetObjectItemCaseSensitive(L->vars, root_names[b->root])
		       : NULL;
		break;
	case R_ITEM:
		node = L->item;
		break;
	case R_ROW:
		if (b->row_total) {
			v->kind = V_DEC;
			v->d = L->row_total;
		} else {
			v->kind = V_INT;
			v->i = L->row_number;
		}
		return;
	case R_PAGE:
	case R_PAGES:
		v->kind = V_INT;
		v->i = b->root == R_PAGE ? L->page_no : L->page_count;
		return;
	default:
		v->kind = V_DEC;
		v->d = b->root == R_DISCOUNT ? L->disc : L->rate;
		return;
	}
	node = walk(node, b->seg, b->nseg);
	if (!node || cJSON_IsNull(node) ||
	    (cJSON_IsString(node) && (!node->valuestring || !node->valuestring[0])))
		return;
	v->kind = V_JSON;
	v->j = node;
}

/* The name of a binding's field for messages: "data.lines.2.unit_price"
 * inside a table row. */
static const char *bind_name(const struct lay *L, const struct bind *b,
			     char *buf, size_t n)
{
	if (b->root != R_ITEM || !L->source)
		return b->text;
	snprintf(buf, n, "%s.%zu.%s", L->source, L->item_index, b->rest);
	return buf;
}

/* A short rendering of a bad value for messages. */
static const char *show_value(const struct val *v, char *buf, size_t n)
{
	const cJSON *j = v->j;
	if (v->kind != V_JSON)
		snprintf(buf, n, "(computed)");
	else if (cJSON_IsString(j))
		snprintf(buf, n, "\"%.40s\"", j->valuestring);
	else if (cJSON_IsNumber(j))
		snprintf(buf, n, "%.17g", j->valuedouble);
	else if (cJSON_IsBool(j))
		snprintf(buf, n, "%s", cJSON_IsTrue(j) ? "true" : "false");
	else
		snprintf(buf, n, "%s", cJSON_IsArray(j) ? "an array" : "an object");
	return buf;
}

static int val_dec(const struct val *v, ds_dec *d)
{
	switch (v->kind) {
	case V_DEC:
		*d = v->d;
		return DS_OK;
	case V_INT:
		*d = ds_dec_from_int(v->i);
		return DS_OK;
	case V_JSON:
		return ds_dec_from_json(v->j, d);
	default:
		return DS_EINVAL;
	}
}

/* The decimal at binding b; a missing or malformed value is DS_EINVAL. */
static int bind_dec(struct lay *L, const struct bind *b, const char *what,
		    ds_dec *d)
{
	struct val v;
	char nb[160], vb[64];
	resolve(L, b, &v);
	if (v.kind == V_NONE)
		return ds_err_set(L->err, DS_EINVAL, "%s: required field is missing",
				  bind_name(L, b, nb, sizeof nb));
	if (val_dec(&v, d))
		return ds_err_set(L->err, DS_EINVAL, "%s: %s is not a decimal %s",
				  bind_name(L, b, nb, sizeof nb),
				  show_value(&v, vb, sizeof vb), what);
	return DS_OK;
}

static ds_dec dec_trim(ds_dec d)
{
	while (d.scale > 0 && d.units % 10 == 0) {
		d.units /= 10;
		d.scale--;
	}
	return d;
}

static const char *const months[12] = {
	"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
	"août", "septembre", "octobre", "novembre", "décembre",
};

/* Appends v, formatted by b's filter, to L->r->text. */
static int put_value(struct lay *L, const struct bind *b, const struct val *v)
{
	ds_buf *out = &L->r->text;
	char nb[160], vb[64], buf[96];
	ds_dec d;
	int rc = DS_OK;
	switch (b->filter) {
	case F_MONEY:
	case F_DECIMAL:
	case F_PERCENT:
		if (val_dec(v, &d) ||
		    (b->filter == F_MONEY && ds_dec_round(d, 2, &d)))
			return ds_err_set(L->err, DS_EINVAL, "%s: %s is not a decimal %s",
					  bind_name(L, b, nb, sizeof nb),
					  show_value(v, vb, sizeof vb),
					  b->filter == F_MONEY ? "amount" : "number");
		if (b->filter != F_MONEY)
			d = dec_trim(d);
		ds_dec_format_fr(d, d.scale, " ", buf, sizeof buf);
		rc = ds_buf_puts(out, buf);
		if (!rc && b->filter == F_MONEY)
			rc = ds_buf_puts(out, " €");
		else if (!rc && b->filter == F_PERCENT)
			rc = ds_buf_puts(out, " %");
		break;
	case F_DATE: {
		int y, m, day;
		ds_time t;
		const char *s = v->kind == V_JSON && cJSON_IsString(v->j)
				? v->j->valuestring : NULL;
		char date[11] = "";
		/* The date as written, once the whole text is known to be valid:
		 * "2026-11-20T23:30:00-02:00" is the 20th. */
		bool ok = s && ds_time_parse(s, &t) == 0 && strlen(s) >= 10;
		if (ok) {
			memcpy(date, s, 10);
			ok = ds_date_parse(date, &y, &m, &day) == 0;
		}
		if (!ok)
			return ds_err_set(L->err, DS_EINVAL, "%s: %s is not an ISO 8601 date",
					  bind_name(L, b, nb, sizeof nb),
					  show_value(v, vb, sizeof vb));
		rc = ds_buf_printf(out, "%d%s %s %d", day, day == 1 ? "er" : "",
				   months[m - 1], y);
		break;
	}
	default:
		if (v->kind == V_DEC) {
			ds_dec_format(v->d, buf, sizeof buf);
			rc = ds_buf_puts(out, buf);
		} else if (v->kind == V_INT) {
			rc = ds_buf_printf(out, "%lld", (long long)v->i);
		} else if (cJSON_IsString(v->j)) {
			const char *s = v->j->valuestring;
			size_t n = strlen(s);
			/* E.164 French numbers read as 06 12 34 56 78. */
			if (b->filter == F_PHONE && n == 12 && strncmp(s, "+33", 3) == 0 &&
			    strspn(s + 3, "0123456789") == 9 && s[3] != '0')
				rc = ds_buf_printf(out, "0%c %.2s %.2s %.2s %.2s", s[3],
						   s + 4, s + 6, s + 8, s + 10);
			else
				rc = ds_buf_append(out, s, n);
		} else if (cJSON_IsNumber(v->j)) {
			if (ds_dec_from_json(v->j, &d) == DS_OK)
				ds_dec_format(d, buf, sizeof buf);
			else
				snprintf(buf, sizeof buf, "%.15g", v->j->valuedouble);
			rc = ds_buf_puts(out, buf);
		} else if (cJSON_IsBool(v->j)) {
			rc = ds_buf_puts(out, cJSON_IsTrue(v->j) ? "oui" : "non");
		} else {
			return ds_err_set(L->err, DS_EINVAL, "%s: is %s, not a value "
					  "to print", bind_name(L, b, nb, sizeof nb),
					  cJSON_IsArray(v->j) ? "an array" : "an object");
		}
		break;
	}
	if (rc == DS_ELIMIT)
		return ds_err_set(L->err, DS_ELIMIT, "%s: text longer than %u bytes",
				  bind_name(L, b, nb, sizeof nb), DS_PDF_MAX_TEXT);
	if (rc)
		return ds_err_set(L->err, rc, "out of memory");
	return DS_OK;
}

/* Evaluates ts into L->r->text: 0, OMIT when an optional binding is
 * missing, or a negative error. */
static int eval(struct lay *L, const struct tstr *ts)
{
	ds_buf *out = &L->r->text;
	ds_buf_reset(out);
	for (size_t i = 0; i < ts->n; i++) {
		const struct piece *p = &ts->p[i];
		int rc;
		if (!p->b) {
			rc = ds_buf_append(out, p->lit, p->len);
			if (rc == DS_ELIMIT)
				return ds_err_set(L->err, rc, "text longer than %u bytes",
						  DS_PDF_MAX_TEXT);
			if (rc)
				return ds_err_set(L->err, rc, "out of memory");
			continue;
		}
		struct val v;
		resolve(L, p->b, &v);
		if (v.kind == V_NONE) {
			char nb[160];
			if (p->b->optional)
				return OMIT;
			return ds_err_set(L->err, DS_EINVAL, "%s: required field is missing",
					  bind_name(L, p->b, nb, sizeof nb));
		}
		rc = put_value(L, p->b, &v);
		if (rc)
			return rc;
	}
	return DS_OK;
}

/* Evaluates ts and decodes it for face f: 0 (codes in *c, *n), OMIT, or
 * an error. */
static int eval_codes(struct lay *L, const struct tstr *ts, const struct face *f,
		      bool breaks, uint16_t **c, size_t *n)
{
	int rc = eval(L, ts);
	if (rc)
		return rc;
	*c = decode(L, f, L->r->text.data ? L->r->text.data : "", L->r->text.len,
		    breaks, n);
	if (!*c)
		return ds_err_set(L->err, DS_ENOMEM, "out of memory");
	return DS_OK;
}

/* ---------------------------------------------------------------- text */

struct pline {
	const struct face *f;
	float size;
	int align;
	const uint16_t *c;
	size_t n;
};

struct pbox {
	struct pline *l;
	size_t n, cap;
	float height;
};

static int box_add(struct lay *L, struct pbox *bx, const struct face *f,
		   float size, int align, const uint16_t *c, size_t n)
{
	if (bx->n == bx->cap) {
		size_t cap = bx->cap ? bx->cap * 2 : 16;
		struct pline *l = ds_arena_alloc(L->a, sizeof *l * cap);
		if (!l)
			return ds_err_set(L->err, DS_ENOMEM, "out of memory");
		if (bx->n)
			memcpy(l, bx->l, sizeof *l * bx->n);
		bx->l = l;
		bx->cap = cap;
	}
	bx->l[bx->n++] = (struct pline){ f, size, align, c, n };
	bx->height += size * LEADING;
	return DS_OK;
}

static uint16_t ellipsis(const struct face *f)
{
	return f->utf8 ? 0x2026 : 0x85;
}

/* The codes of one line cut to width w, ending with an ellipsis when
 * something was cut or when forced. */
static const uint16_t *fit_line(struct lay *L, const struct face *f,
				float size, const uint16_t *c, size_t n,
				float w, bool force, size_t *out_n)
{
	if (!force && text_width(f, size, c, n) <= w) {
		*out_n = n;
		return c;
	}
	uint16_t e = ellipsis(f);
	float room = w - code_width(f, e) * size / 1000.0f, acc = 0;
	size_t k = 0;
	while (k < n && acc + code_width(f, c[k]) * size / 1000.0f <= room) {
		acc += code_width(f, c[k]) * size / 1000.0f;
		k++;
	}
	while (k > 0 && c[k - 1] == ' ')
		k--;
	uint16_t *d = ds_arena_alloc(L->a, sizeof *d * (k + 1));
	if (!d) {
		*out_n = 0;
		return c;
	}
	memcpy(d, c, sizeof *d * k);
	d[k] = e;
	*out_n = k + 1;
	return d;
}

/* Wraps codes to width w into box lines, at spaces when possible; "\n"
 * breaks a line. At most max lines (0: no limit): the last one then ends
 * with an ellipsis. */
static int wrap(struct lay *L, struct pbox *bx, const struct face *f,
		float size, int align, const uint16_t *c, size_t n, float w,
		size_t max)
{
	size_t i = 0, lines = 0;
	float scale = size / 1000.0f;
	do {
		size_t start = i, end, next, last_space = SIZE_MAX;
		float acc = 0;
		for (;;) {
			if (i == n || c[i] == '\n') {
				end = i;
				next = i < n ? i + 1 : i;
				break;
			}
			float cw = code_width(f, c[i]) * scale;
			if (acc + cw > w && i > start) {
				if (c[i] == ' ') {
					end = i;
				} else if (last_space != SIZE_MAX) {
					end = last_space;
				} else {
					end = i;
				}
				next = end;
				while (next < n && c[next] == ' ')
					next++;
				break;
			}
			if (c[i] == ' ')
				last_space = i;
			acc += cw;
			i++;
		}
		size_t e = end;
		while (e > start && c[e - 1] == ' ')
			e--;
		if (max && lines + 1 == max && next < n) {
			/* The last line allowed: the rest is cut. */
			size_t ln;
			const uint16_t *lc = fit_line(L, f, size, c + start, e - start,
						      w, true, &ln);
			return box_add(L, bx, f, size, align, lc, ln);
		}
		int rc = box_add(L, bx, f, size, align, c + start,
				 e - start > MAX_LINE_CODES ? MAX_LINE_CODES : e - start);
		if (rc)
			return rc;
		lines++;
		i = next;
	} while (i < n);
	return DS_OK;
}

/* Lays out a company, title or text block for width w into bx; an empty
 * box means the block is left out. */
static int prepare_text(struct lay *L, const struct block *b, float w,
			struct pbox *bx)
{
	float size = b->size > 0 ? b->size : L->t->size;
	const struct face *f = b->bold ? &L->bold : &L->reg;
	int rc;
	memset(bx, 0, sizeof *bx);
	for (size_t i = 0; i < b->nlines; i++) {
		const struct face *lf = f;
		float ls = size;
		uint16_t *c;
		size_t n;
		if (b->kind == K_COMPANY && i == 0) {
			lf = &L->bold;
			ls = size + 2;
		}
		rc = eval_codes(L, &b->lines[i], lf, true, &c, &n);
		if (rc == OMIT)
			continue;
		if (rc)
			return rc;
		size_t left = 0;
		if (b->max_lines) {
			if (bx->n >= (size_t)b->max_lines)
				break;
			left = (size_t)b->max_lines - bx->n;
		}
		rc = wrap(L, bx, lf, ls, b->align, c, n, w, left);
		if (rc)
			return rc;
	}
	if (bx->n && b->has_label) {
		uint16_t *c;
		size_t n;
		rc = eval_codes(L, &b->label, &L->bold, false, &c, &n);
		if (rc == OMIT)
			return DS_OK;
		if (rc)
			return rc;
		/* The label goes first: add it, then rotate it to the front. */
		size_t ln;
		const uint16_t *lc = fit_line(L, &L->bold, size, c, n, w, false, &ln);
		rc = box_add(L, bx, &L->bold, size, b->align, lc, ln);
		if (rc)
			return rc;
		struct pline label = bx->l[bx->n - 1];
		memmove(bx->l + 1, bx->l, sizeof *bx->l * (bx->n - 1));
		bx->l[0] = label;
	}
	return DS_OK;
}

static void draw_line(struct lay *L, const struct pline *pl, float x, float w)
{
	show_aligned(L, pl->f, pl->size, x, w, L->y - pl->size, pl->align,
		     pl->c, pl->n);
	L->y -= pl->size * LEADING;
}

/* A block at full width: its lines flow onto new pages as needed. */
static int flow_text(struct lay *L, const struct block *b)
{
	struct pbox bx;
	float w = L->right - L->left;
	int rc = prepare_text(L, b, w, &bx);
	if (rc)
		return rc;
	for (size_t i = 0; i < bx.n; i++) {
		float need = bx.l[i].size * LEADING;
		/* Keep a label with the line after it. */
		if (i == 0 && b->has_label && bx.n > 1)
			need += bx.l[1].size * LEADING;
		if (L->y - need < L->bottom && L->y < L->top) {
			rc = new_page(L);
			if (rc)
				return rc;
		}
		draw_line(L, &bx.l[i], L->left, w);
	}
	return DS_OK;
}

/* Blocks side by side; they move to a new page together, and what does
 * not fit on a whole page is cut. */
static int draw_columns(struct lay *L, const struct block *b)
{
	float total = 0, avail = L->right - L->left - b->gap * (float)(b->nsub - 1);
	struct pbox *bx = ds_arena_alloc(L->a, sizeof *bx * b->nsub);
	float height = 0;
	int rc;
	if (!bx)
		return ds_err_set(L->err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nsub; i++)
		total += b->weights[i];
	for (size_t i = 0; i < b->nsub; i++) {
		rc = prepare_text(L, &b->sub[i], avail * b->weights[i] / total, &bx[i]);
		if (rc)
			return rc;
		if (bx[i].height > height)
			height = bx[i].height;
	}
	if (height == 0)
		return DS_OK;
	if (L->y - height < L->bottom && L->y < L->top) {
		rc = new_page(L);
		if (rc)
			return rc;
	}
	float x = L->left, y0 = L->y, lowest = L->y;
	for (size_t i = 0; i < b->nsub; i++) {
		float w = avail * b->weights[i] / total;
		L->y = y0;
		for (size_t k = 0; k < bx[i].n; k++) {
			if (L->y - bx[i].l[k].size * LEADING < L->bottom)
				break;
			draw_line(L, &bx[i].l[k], x, w);
		}
		if (L->y < lowest)
			lowest = L->y;
		x += w + b->gap;
	}
	L->y = lowest;
	return DS_OK;
}

/* ---------------------------------------------------------------- items */

struct rate_sum {
	ds_dec rate;
	ds_dec base;
};

struct cell {
	struct pbox box;     /* wrapped lines, or one shrunk line */
};

static int money_err(struct lay *L, int rc, const char *what)
{
	return ds_err_set(L->err, rc == DS_ELIMIT ? DS_EINVAL : rc,
			  "%s: amount too large to compute", what);
}

/* Prices every row: line totals, subtotal and bases per VAT rate. */
static int price_rows(struct lay *L, const struct block *b, const cJSON *arr,
		      ds_dec *totals, struct rate_sum *rates, size_t *nrates,
		      ds_dec *subtotal)
{
	size_t i = 0;
	*subtotal = ds_dec_from_int(0);
	*nrates = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		ds_dec q, p, r;
		int rc;
		char nb[160];
		L->item = it;
		L->item_index = i;
		if (!cJSON_IsObject(it))
			return ds_err_set(L->err, DS_EINVAL, "%s.%zu: a line must be an "
					  "object", L->source, i);
		if ((rc = bind_dec(L, &b->quantity, "quantity", &q)) ||
		    (rc = bind_dec(L, &b->unit_price, "amount", &p)) ||
		    (rc = bind_dec(L, &b->vat_rate, "rate", &r)))
			return rc;
		if (r.units < 0 || ds_dec_cmp(r, ds_dec_from_int(100)) > 0)
			return ds_err_set(L->err, DS_EINVAL, "%s: VAT rate must be "
					  "between 0 and 100",
					  bind_name(L, &b->vat_rate, nb, sizeof nb));
		if ((rc = ds_dec_mul(q, p, &totals[i])) ||
		    (rc = ds_dec_add(*subtotal, totals[i], subtotal)))
			return money_err(L, rc, bind_name(L, &b->unit_price, nb, sizeof nb));
		size_t k = 0;
		while (k < *nrates && ds_dec_cmp(rates[k].rate, r) != 0)
			k++;
		if (k == *nrates) {
			/* Kept sorted by rate, for the totals. */
			while (k > 0 && ds_dec_cmp(rates[k - 1].rate, r) > 0) {
				rates[k] = rates[k - 1];
				k--;
			}
			rates[k] = (struct rate_sum){ r, ds_dec_from_int(0) };
			(*nrates)++;
		}
		if ((rc = ds_dec_add(rates[k].base, totals[i], &rates[k].base)))
			return money_err(L, rc, bind_name(L, &b->unit_price, nb, sizeof nb));
	}
	L->item = NULL;
	return DS_OK;
}

static int lay_cell(struct lay *L, const struct column *col, float size,
		    float w, struct cell *cell)
{
	uint16_t *c;
	size_t n;
	memset(&cell->box, 0, sizeof cell->box);
	int rc = eval_codes(L, &col->value, &L->reg, col->align == A_LEFT, &c, &n);
	if (rc == OMIT)
		return DS_OK;
	if (rc)
		return rc;
	if (col->align == A_LEFT)
		return wrap(L, &cell->box, &L->reg, size, A_LEFT, c, n, w,
			    (size_t)col->max_lines);
	/* Numbers are never wrapped nor cut: they are set smaller instead. */
	float tw = text_width(&L->reg, size, c, n), s = size;
	if (tw > w && tw > 0)
		s = size * w / tw * 0.999f;
	rc = box_add(L, &cell->box, &L->reg, s, col->align, c,
		     n > MAX_LINE_CODES ? MAX_LINE_CODES : n);
	cell->box.height = size * LEADING;
	return rc;
}

static int table_header(struct lay *L, const struct block *b, const float *cx,
			const float *cw, float size)
{
	float h = size * LEADING + 2 * CELL_PAD_Y;
	fill_rect(L, L->left, L->y - h, L->right - L->left, h, 0.9f);
	for (size_t k = 0; k < b->ncols; k++) {
		uint16_t *c;
		size_t n, ln;
		int rc = eval_codes(L, &b->cols[k].header, &L->bold, false, &c, &n);
		if (rc)
			return rc;
		const uint16_t *lc = fit_line(L, &L->bold, size, c, n, cw[k], false, &ln);
		show_aligned(L, &L->bold, size, cx[k], cw[k],
			     L->y - CELL_PAD_Y - size, b->cols[k].align, lc, ln);
	}
	L->y -= h;
	return DS_OK;
}

struct total_line {
	const struct tstr *label;
	ds_dec value;
	bool bold;
	ds_dec disc, rate;   /* the scope of the label */
};

/* The totals in the right part of the width, labels left, amounts right;
 * they move to a new page together. */
static int draw_totals(struct lay *L, struct total_line *tl, size_t n,
		       float size)
{
	float lh = size * LEADING + 2, need = (float)n * lh + 8;
	float w = (L->right - L->left) * 0.45f;
	float x0 = L->right - w, vw = w * 0.45f;
	if (L->y - need < L->bottom && L->y < L->top) {
		int rc = new_page(L);
		if (rc)
			return rc;
	}
	L->y -= 6;
	for (size_t i = 0; i < n; i++) {
		const struct face *f = tl[i].bold ? &L->bold : &L->reg;
		uint16_t *c;
		size_t cn, ln;
		char buf[96];
		L->disc = tl[i].disc;
		L->rate = tl[i].rate;
		if (tl[i].bold)
			hline(L, x0, L->right, L->y - 1, 0.6f, 0);
		int rc = eval_codes(L, tl[i].label, f, false, &c, &cn);
		if (rc && rc != OMIT)
			return rc;
		float base = L->y - 1 - size;
		if (rc == 0) {
			const uint16_t *lc = fit_line(L, f, size, c, cn,
						      w - vw - CELL_PAD_X, false, &ln);
			show(L, f, size, x0 + CELL_PAD_X, base, lc, ln);
		}
		ds_dec v;
		if (ds_dec_round(tl[i].value, 2, &v))
			return ds_err_set(L->err, DS_EINVAL, "total amount too large");
		size_t bl = ds_dec_format_fr(v, 2, " ", buf, sizeof buf - 8);
		memcpy(buf + bl, " €", sizeof " €");
		c = decode(L, f, buf, strlen(buf), false, &cn);
		if (!c)
			return ds_err_set(L->err, DS_ENOMEM, "out of memory");
		float tw = text_width(f, size, c, cn), s = size;
		if (tw > vw)
			s = size * vw / tw * 0.999f;
		show_aligned(L, f, s, L->right - vw - CELL_PAD_X, vw, base, A_RIGHT,
			     c, cn);
		L->y -= lh;
	}
	return DS_OK;
}

static int draw_items(struct lay *L, const struct block *b)
{
	char nb[160];
	struct val v;
	int rc;
	resolve(L, &b->source, &v);
	if (v.kind == V_NONE)
		return ds_err_set(L->err, DS_EINVAL, "%s: required field is missing",
				  b->source.text);
	if (v.kind != V_JSON || !v.j || !cJSON_IsArray(v.j))
		return ds_err_set(L->err, DS_EINVAL, "%s: must be an array of lines",
				  b->source.text);
	const cJSON *arr = v.j;
	size_t nrows = (size_t)cJSON_GetArraySize(arr);
	if (nrows > b->max_rows)
		return ds_err_set(L->err, DS_ELIMIT, "%s: %zu lines, more than the %zu "
				  "this template prints", b->source.text, nrows,
				  b->max_rows);
	L->source = b->source.text;
	ds_dec *totals = ds_arena_alloc(L->a, sizeof *totals * (nrows + 1));
	struct rate_sum *rates = ds_arena_alloc(L->a, sizeof *rates * (nrows + 1));
	float *cx = ds_arena_alloc(L->a, sizeof *cx * b->ncols * 2);
	struct cell *cells = ds_arena_alloc(L->a, sizeof *cells * b->ncols);
	if (!totals || !rates || !cx || !cells)
		return ds_err_set(L->err, DS_ENOMEM, "out of memory");
	float *cw = cx + b->ncols;
	size_t nrates;
	ds_dec subtotal;
	rc = price_rows(L, b, arr, totals, rates, &nrates, &subtotal);
	if (rc)
		return rc;

	float size = b->size > 0 ? b->size : (L->t->size > 6 ? L->t->size - 1 : L->t->size);
	float wsum = 0, x = L->left, width = L->right - L->left;
	for (size_t k = 0; k < b->ncols; k++)
		wsum += b->cols[k].weight;
	for (size_t k = 0; k < b->ncols; k++) {
		float w = width * b->cols[k].weight / wsum;
		cx[k] = x + CELL_PAD_X;
		cw[k] = w - 2 * CELL_PAD_X;
		x += w;
	}
	if (L->y - 2 * (size * LEADING + 2 * CELL_PAD_Y) < L->bottom && L->y < L->top)
		if ((rc = new_page(L)))
			return rc;
	if ((rc = table_header(L, b, cx, cw, size)))
		return rc;

	size_t i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		float h = 0;
		L->item = it;
		L->item_index = i;
		L->row_number = (int64_t)i + 1;
		L->row_total = totals[i];
		for (size_t k = 0; k < b->ncols; k++) {
			if ((rc = lay_cell(L, &b->cols[k], size, cw[k], &cells[k])))
				return rc;
			if (cells[k].box.height > h)
				h = cells[k].box.height;
		}
		if (h == 0)
			h = size * LEADING;
		h += 2 * CELL_PAD_Y;
		if (L->y - h < L->bottom) {
			if ((rc = new_page(L)) || (rc = table_header(L, b, cx, cw, size)))
				return rc;
		}
		for (size_t k = 0; k < b->ncols; k++) {
			float y0 = L->y;
			L->y -= CELL_PAD_Y;
			for (size_t j = 0; j < cells[k].box.n; j++) {
				const struct pline *pl = &cells[k].box.l[j];
				show_aligned(L, pl->f, pl->size, cx[k], cw[k],
					     L->y - size, pl->align, pl->c, pl->n);
				L->y -= size * LEADING;
			}
			L->y = y0;
		}
		L->y -= h;
		hline(L, L->left, L->right, L->y, 0.4f, 0.75f);
		if (L->r->hno)
			return hpdf_fail(L->r, L->err, "drawing a table");
	}
	L->item = NULL;
	L->source = NULL;
	if (!b->totals)
		return DS_OK;

	/* Totals: the discount is rounded to cents once, on the subtotal; the
	 * VAT of each rate is base * (100 - pct) * rate / 10000 rounded to
	 * cents, so that a discount never moves VAT between rates. */
	ds_dec pct = ds_dec_from_int(0), discount = ds_dec_from_int(0), net;
	if (b->has_discount) {
		resolve(L, &b->discount, &v);
		if (v.kind != V_NONE && val_dec(&v, &pct))
			return ds_err_set(L->err, DS_EINVAL, "%s: %s is not a decimal "
					  "percentage", b->discount.text,
					  show_value(&v, nb, sizeof nb));
		if (pct.units < 0 || ds_dec_cmp(pct, ds_dec_from_int(100)) > 0)
			return ds_err_set(L->err, DS_EINVAL, "%s: a discount must be "
					  "between 0 and 100 %%", b->discount.text);
	}
	if ((rc = ds_dec_percent(subtotal, pct, 2, &discount)) ||
	    (rc = ds_dec_sub(subtotal, discount, &net)))
		return money_err(L, rc, L->t->name);
	size_t nt = 0;
	struct total_line *tl = ds_arena_alloc(L->a, sizeof *tl * (nrates + 4));
	if (!tl)
		return ds_err_set(L->err, DS_ENOMEM, "out of memory");
	ds_dec zero = ds_dec_from_int(0), ttc = net, keep, vat;
	tl[nt++] = (struct total_line){ &b->labels[L_SUBTOTAL], subtotal, false, pct, zero };
	if (!ds_dec_is_zero(pct)) {
		ds_dec neg = { -discount.units, discount.scale };
		tl[nt++] = (struct total_line){ &b->labels[L_DISCOUNT], neg, false, pct, zero };
		tl[nt++] = (struct total_line){ &b->labels[L_NET], net, false, pct, zero };
	}
	if ((rc = ds_dec_sub(ds_dec_from_int(100), pct, &keep)))
		return money_err(L, rc, L->t->name);
	for (size_t k = 0; k < nrates; k++) {
		ds_dec t1, t2;
		if ((rc = ds_dec_mul(rates[k].base, keep, &t1)) ||
		    (rc = ds_dec_mul(t1, rates[k].rate, &t2)) ||
		    (rc = ds_dec_percent(t2, (ds_dec){ 1, 2 }, 2, &vat)) ||
		    (rc = ds_dec_add(ttc, vat, &ttc)))
			return money_err(L, rc, L->t->name);
		tl[nt++] = (struct total_line){ &b->labels[L_VAT], vat, false, pct,
						rates[k].rate };
	}
	tl[nt++] = (struct total_line){ &b->labels[L_TOTAL], ttc, true, pct, zero };
	return draw_totals(L, tl, nt, size + 0.5f);
}

/* ---------------------------------------------------------------- render */

/* Built-in fonts are measured once per renderer. */
static void base_widths(ds_pdf *r, int fam, HPDF_Font reg, HPDF_Font bold)
{
	if (r->base_ready[fam])
		return;
	for (int w = 0; w < 2; w++)
		for (unsigned c = 0; c < 256; c++) {
			uint32_t u = cp1252_to_unicode((uint16_t)c);
			HPDF_INT cw = c < 0x20 ? 0 :
				HPDF_Font_GetUnicodeWidth(w ? bold : reg, (HPDF_UNICODE)u);
			r->base_w[fam][w][c] = (int16_t)cw;
		}
	r->base_ready[fam] = true;
}

/* The TrueType family's font names, loading its files on first use. */
static int ttf_fonts(struct lay *L, const char **reg, const char **bold)
{
	ds_pdf *r = L->r;
	const char *family = L->t->ttf;
	for (size_t i = 0; i < r->nttf; i++)
		if (strcmp(r->ttf[i].family, family) == 0) {
			*reg = r->ttf[i].regular;
			*bold = r->ttf[i].bold;
			return DS_OK;
		}
	if (r->nttf == MAX_TTF)
		return ds_err_set(L->err, DS_ELIMIT, "more than %d TrueType families "
				  "in one renderer", MAX_TTF);
	char path[256];
	snprintf(path, sizeof path, "%s/%s.ttf", DS_PDF_FONT_DIR, family);
	if (!file_exists(path))
		return ds_err_set(L->err, DS_ECONFIG, "font file %s not found", path);
	*reg = HPDF_LoadTTFontFromFile(r->doc, path, HPDF_TRUE);
	if (!*reg || r->hno)
		return r->hno == HPDF_FAILD_TO_ALLOC_MEM
		       ? hpdf_fail(r, L->err, "loading a font")
		       : ds_err_set(L->err, DS_ECONFIG, "cannot load font %s "
				    "(libharu error 0x%04X)", path, (unsigned)r->hno);
	snprintf(path, sizeof path, "%s/%s-Bold.ttf", DS_PDF_FONT_DIR, family);
	*bold = *reg;
	if (file_exists(path)) {
		*bold = HPDF_LoadTTFontFromFile(r->doc, path, HPDF_TRUE);
		if (!*bold || r->hno)
			return r->hno == HPDF_FAILD_TO_ALLOC_MEM
			       ? hpdf_fail(r, L->err, "loading a font")
			       : ds_err_set(L->err, DS_ECONFIG, "cannot load font %s "
					    "(libharu error 0x%04X)", path,
					    (unsigned)r->hno);
	}
	struct ttf_fonts *e = &r->ttf[r->nttf++];
	snprintf(e->family, sizeof e->family, "%s", family);
	e->regular = *reg;
	e->bold = *bold;
	return DS_OK;
}

static int setup_fonts(struct lay *L)
{
	ds_pdf *r = L->r;
	const ds_doc_template *t = L->t;
	if (!t->ttf[0]) {
		int fam = t->base_family;
		HPDF_Font reg = HPDF_GetFont(r->doc, base_fonts[fam].regular,
					     "WinAnsiEncoding");
		HPDF_Font bold = HPDF_GetFont(r->doc, base_fonts[fam].bold,
					      "WinAnsiEncoding");
		if (!reg || !bold || r->hno)
			return hpdf_fail(r, L->err, "loading the built-in fonts");
		base_widths(r, fam, reg, bold);
		L->reg = (struct face){ reg, r->base_w[fam][0], false };
		L->bold = (struct face){ bold, r->base_w[fam][1], false };
		return DS_OK;
	}
	const char *rn = NULL, *bn = NULL;
	int rc = ttf_fonts(L, &rn, &bn);
	if (rc)
		return rc;
	if (t->unicode && !r->utf_encodings) {
		if (HPDF_UseUTFEncodings(r->doc) != HPDF_OK || r->hno)
			return hpdf_fail(r, L->err, "enabling UTF-8");
		r->utf_encodings = true;
	}
	const char *enc = t->unicode ? "UTF-8" : "WinAnsiEncoding";
	HPDF_Font reg = HPDF_GetFont(r->doc, rn, enc);
	HPDF_Font bold = HPDF_GetFont(r->doc, bn, enc);
	if (!reg || !bold || r->hno)
		return hpdf_fail(r, L->err, "loading a TrueType font");
	L->reg = (struct face){ reg, NULL, t->unicode };
	L->bold = (struct face){ bold, NULL, t->unicode };
	return DS_OK;
}

static int check_currency(struct lay *L)
{
	struct val v;
	if (!L->t->has_currency)
		return DS_OK;
	resolve(L, &L->t->currency, &v);
	if (v.kind == V_NONE || (v.kind == V_JSON && cJSON_IsString(v.j) &&
				 strcmp(v.j->valuestring, "EUR") == 0))
		return DS_OK;
	char vb[64];
	return ds_err_set(L->err, DS_EINVAL, "%s: %s cannot be printed: amounts "
			  "are printed in euros only", L->t->currency.text,
			  show_value(&v, vb, sizeof vb));
}

static int draw_footers(struct lay *L)
{
	const ds_doc_template *t = L->t;
	if (!t->has_footer)
		return DS_OK;
	L->page_count = (int64_t)L->npages;
	for (size_t i = 0; i < L->npages; i++) {
		uint16_t *c;
		size_t n, ln;
		text_end(L);
		L->page = L->pages[i];
		L->cur = NULL;
		L->cur_gray = 0;
		L->page_no = (int64_t)i + 1;
		int rc = eval_codes(L, &t->footer, &L->reg, false, &c, &n);
		if (rc == OMIT)
			return DS_OK;
		if (rc)
			return rc;
		const uint16_t *lc = fit_line(L, &L->reg, FOOTER_SIZE, c, n,
					      L->right - L->left, false, &ln);
		fill_gray(L, 0.35f);
		float y = t->m_bottom / 2 > FOOTER_SIZE ? t->m_bottom / 2 : 2;
		show_aligned(L, &L->reg, FOOTER_SIZE, L->left, L->right - L->left,
			     y, A_CENTER, lc, ln);
		fill_gray(L, 0);
	}
	text_end(L);
	return DS_OK;
}

/* UTF-8 to PDFDocEncoding for the document information; the characters it
 * lacks become '?'. */
static char *pdfdoc_text(ds_arena *a, const char *s, size_t len)
{
	static const struct { uint16_t u; unsigned char b; } extra[] = {
		{ 0x20AC, 0xA0 }, { 0x0153, 0x9C }, { 0x0152, 0x96 },
		{ 0x2019, 0x90 }, { 0x2018, 0x8F }, { 0x201C, 0x8D },
		{ 0x201D, 0x8E }, { 0x2013, 0x85 }, { 0x2014, 0x84 },
		{ 0x2026, 0x83 }, { 0x0160, 0x97 }, { 0x0161, 0x9D },
		{ 0x017D, 0x99 }, { 0x017E, 0x9E }, { 0x0178, 0x98 },
	};
	char *d = ds_arena_alloc(a, len + 1);
	size_t o = 0;
	if (!d)
		return NULL;
	for (size_t i = 0; i < len;) {
		uint32_t cp = utf8_next((const unsigned char *)s, len, &i);
		unsigned char b = '?';
		if ((cp >= 0x20 && cp < 0x7F) || (cp >= 0xA1 && cp <= 0xFF && cp != 0xAD))
			b = (unsigned char)cp;
		else if (cp == 0xA0 || cp == 0x202F || cp == '\t' || cp == '\n')
			b = ' ';
		for (size_t k = 0; k < sizeof extra / sizeof *extra; k++)
			if (extra[k].u == cp)
				b = extra[k].b;
		d[o++] = (char)b;
	}
	d[o] = '\0';
	return d;
}

static int set_info(struct lay *L)
{
	ds_pdf *r = L->r;
	const ds_doc_template *t = L->t;
	const struct tstr *title = t->has_title ? &t->title : NULL;
	for (size_t i = 0; !title && i < t->nblocks; i++)
		if (t->blocks[i].kind == K_TITLE && t->blocks[i].nlines)
			title = &t->blocks[i].lines[0];
	if (HPDF_SetInfoAttr(r->doc, HPDF_INFO_CREATOR, "dossier") != HPDF_OK)
		return hpdf_fail(r, L->err, "writing the document information");
	if (title) {
		int rc = eval(L, title);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			char *s = pdfdoc_text(L->a, r->text.data ? r->text.data : "",
					      r->text.len);
			if (!s)
				return ds_err_set(L->err, DS_ENOMEM, "out of memory");
			HPDF_SetInfoAttr(r->doc, HPDF_INFO_TITLE, s);
		}
	}
	const cJSON *now = cJSON_GetObjectItemCaseSensitive(L->vars, "now");
	ds_time tm;
	if (cJSON_IsString(now) && ds_time_parse(now->valuestring, &tm) == 0) {
		int64_t days = tm >= 0 ? tm / 86400 : -((-tm + 86399) / 86400);
		int64_t sec = tm - days * 86400;
		int y, m, d;
		ds_civil_from_days(days, &y, &m, &d);
		if (y >= 1 && y <= 9999) {
			HPDF_Date date = { y, m, d, (int)(sec / 3600),
					   (int)(sec / 60 % 60), (int)(sec % 60),
					   'Z', 0, 0 };
			HPDF_SetInfoDateAttr(r->doc, HPDF_INFO_CREATION_DATE, date);
		}
	}
	return r->hno ? hpdf_fail(r, L->err, "writing the document information")
		      : DS_OK;
}

static int save(ds_pdf *r, ds_buf *out, ds_err *err)
{
	if (HPDF_SaveToStream(r->doc) != HPDF_OK || r->hno)
		return hpdf_fail(r, err, "saving the document");
	HPDF_UINT32 size = HPDF_GetStreamSize(r->doc), done = 0;
	if (size == 0)
		return hpdf_fail(r, err, "saving the document");
	if (size > out->max - out->len)
		return ds_err_set(err, DS_ELIMIT, "the document (%u bytes) does not "
				  "fit in the output buffer", (unsigned)size);
	while (done < size) {
		HPDF_BYTE chunk[8192];
		HPDF_UINT32 n = size - done < sizeof chunk ? size - done
			       : (HPDF_UINT32)sizeof chunk;
		/* Exactly the bytes left, so libharu never reports an EOF. */
		if (HPDF_ReadFromStream(r->doc, chunk, &n) != HPDF_OK || n == 0 || r->hno)
			return hpdf_fail(r, err, "reading the document");
		int rc = ds_buf_append(out, chunk, n);
		if (rc)
			return ds_err_set(err, rc, rc == DS_ELIMIT ? "the document does "
					  "not fit in the output buffer" : "out of memory");
		done += n;
	}
	return DS_OK;
}

static int draw(struct lay *L)
{
	const ds_doc_template *t = L->t;
	int rc;
	if ((rc = setup_fonts(L)) || (rc = check_currency(L)) || (rc = new_page(L)))
		return rc;
	for (size_t i = 0; i < t->nblocks; i++) {
		const struct block *b = &t->blocks[i];
		switch (b->kind) {
		case K_SPACER:
			L->y -= b->height;
			if (L->y < L->bottom)
				L->y = L->bottom;
			break;
		case K_COLUMNS:
			rc = draw_columns(L, b);
			break;
		case K_ITEMS:
			rc = draw_items(L, b);
			break;
		default:
			rc = flow_text(L, b);
			break;
		}
		if (rc)
			return rc;
		if (L->r->hno)
			return hpdf_fail(L->r, L->err, "drawing");
	}
	if ((rc = draw_footers(L)))
		return rc;
	text_end(L);
	return set_info(L);
}

int ds_pdf_render(ds_pdf *r, const ds_doc_template *t, const cJSON *vars,
		  ds_buf *out, ds_err *err)
{
	if (!r || !t || !out)
		return ds_err_set(err, DS_EINTERNAL, "ds_pdf_render: missing argument");
	size_t start = out->len;
	int rc;
	ds_arena_reset(r->scratch);
	/* After a libharu failure its state may be half built (fonts half
	 * loaded, tags consumed): a new object keeps the output reproducible. */
	if (r->broken && (rc = hpdf_open(r, err)))
		return rc;
	r->hno = r->hdetail = 0;
	struct lay L = {
		.r = r, .t = t, .vars = vars, .err = err, .a = r->scratch,
		.left = t->m_left, .right = t->page_w - t->m_right,
		.top = t->page_h - t->m_top, .bottom = t->m_bottom,
	};
	L.pages = ds_arena_alloc(r->scratch, sizeof *L.pages * DS_PDF_MAX_PAGES);
	if (!L.pages) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if (HPDF_NewDoc(r->doc) != HPDF_OK || r->hno) {
		rc = hpdf_fail(r, err, "starting a document");
		goto done;
	}
	HPDF_SetCompressionMode(r->doc, HPDF_COMP_ALL);
	rc = draw(&L);
	if (!rc)
		rc = save(r, out, err);
done:
	HPDF_FreeDoc(r->doc);
	ds_buf_reset(&r->text);
	if (r->hno)
		r->broken = true;
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		ds_err_prefix(err, "%s", t->name);
	}
	return rc;
}
