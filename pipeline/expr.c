/*
 * expr.c - parser and evaluator of the expression language; see expr.h.
 *
 * The parser is a recursive descent over a one-token lexer. Everything an
 * expression owns (nodes, strings, path segments, a copy of the source)
 * lives in one arena; compiled regexes hang off it as cleanups, so
 * ds_expr_free() is one call. Recursion is bounded by DS_EXPR_MAX_DEPTH
 * because only parentheses and 'not' nest ('and'/'or' chains are flat
 * nodes, lists hold only literals). Evaluation keeps every value on the
 * stack and allocates only PCRE2 match data, so it is thread-safe on a
 * shared tree.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "expr.h"

#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* PCRE2 limits per match: a catastrophic pattern on hostile data stops
 * with DS_ELIMIT instead of burning a worker. */
#define RE_MATCH_LIMIT 1000000u
#define RE_HEAP_LIMIT_KIB 8192u

/* A node as allocated: the public part first, then what evaluation needs
 * and compilers do not. */
struct inode {
	ds_expr_node n;
	pcre2_code *re;  /* DS_EXPR_MATCHES */
};

struct ds_expr {
	ds_arena *arena;
	const char *src;
	const ds_expr_node *root;
	bool multiline;
	pcre2_general_context *gctx;  /* NULL until a regex is compiled */
	pcre2_match_context *mctx;
};

/* ---- positions and messages ---- */

struct pos {
	unsigned line, column;
};

/* Prefix of every message about a place in the source. */
static void pos_text(bool multiline, unsigned line, unsigned column,
		     char *buf, size_t n)
{
	if (multiline)
		snprintf(buf, n, "line %u, column %u", line, column);
	else
		snprintf(buf, n, "column %u", column);
}

static bool is_ident_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Offset of the first byte that is not well-formed UTF-8, or len. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 2; cp = c & 0x1F; min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3; cp = c & 0x0F; min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4; cp = c & 0x07; min = 0x10000;
		} else {
			return i;
		}
		if (len - i < n)
			return i;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3Fu);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n;
	}
	return len;
}

/* ---- lexer ---- */

enum tk {
	T_END, T_NUM, T_DUR, T_STR, T_PATH,
	T_AND, T_OR, T_NOT, T_IN, T_CONTAINS, T_MATCHES, T_TRUE, T_FALSE,
	T_NULL,
	T_LP, T_RP, T_LB, T_RB, T_COMMA,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
};

struct tok {
	enum tk k;
	size_t start, end;     /* bytes of the source */
	ds_dec num;            /* T_NUM */
	ds_duration dur;       /* T_DUR */
	char *s;               /* T_STR, in the arena */
	size_t len;
	char **segs;           /* T_PATH, in the arena */
	size_t nsegs;
};

struct parser {
	const char *src;
	size_t len;
	size_t pos;            /* next byte to lex */
	struct tok tok;        /* the current token */
	ds_arena *a;
	ds_expr *e;
	ds_err *err;
	int depth;
	struct pos *where;     /* line and column of every byte, and of len */
	pcre2_compile_context *cctx;
};

static struct pos where(const struct parser *p, size_t off)
{
	return p->where[off <= p->len ? off : p->len];
}

static int perr(struct parser *p, int code, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct parser *p, int code, size_t off, const char *fmt, ...)
{
	char at[64], msg[768];
	struct pos w = where(p, off);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pos_text(p->e->multiline, w.line, w.column, at, sizeof at);
	return ds_err_set(p->err, code, "%s: %s", at, msg);
}

static int nomem(struct parser *p)
{
	return ds_err_set(p->err, DS_ENOMEM, "out of memory parsing an expression");
}

/* Quoted text of src[off..off+n), cut to a readable length on a character
 * boundary; control characters are shown as U+XXXX. */
static void quote_text(const char *s, size_t n, char *buf, size_t cap)
{
	size_t max = 32, o = 0;
	bool cut = false;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		cut = true;
	}
	if (n == 1 && (unsigned char)s[0] < 0x20) {
		snprintf(buf, cap, "U+%04X", (unsigned char)s[0]);
		return;
	}
	buf[o++] = '\'';
	for (size_t i = 0; i < n && o + 6 < cap; i++)
		buf[o++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	if (cut && o + 6 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
}

/* What the current token is, for "found ..." in messages. */
static void describe(const struct parser *p, char *buf, size_t cap)
{
	const struct tok *t = &p->tok;
	if (t->k == T_END)
		snprintf(buf, cap, "the end");
	else if (t->k == T_STR)
		snprintf(buf, cap, "a string");
	else
		quote_text(p->src + t->start, t->end - t->start, buf, cap);
}

/* Length of the UTF-8 character at s (already validated). */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static void *grow_array(struct parser *p, void *old, size_t n, size_t *cap,
			size_t size)
{
	if (n < *cap)
		return old;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *v = ds_arena_alloc(p->a, ncap * size);
	if (!v)
		return NULL;
	if (n)
		memcpy(v, old, n * size);
	*cap = ncap;
	return v;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static int lex_string(struct parser *p)
{
	const char *s = p->src;
	size_t open = p->pos, i = open + 1;
	char q = s[open];
	while (i < p->len && s[i] != q)
		i += (s[i] == '\\' && i + 1 < p->len) ? 2 : 1;
	if (i >= p->len)
		return perr(p, DS_EINVAL, open, "unterminated string");
	size_t close = i;
	/* Escapes never lengthen the text. */
	char *out = ds_arena_alloc(p->a, close - open);
	if (!out)
		return nomem(p);
	size_t o = 0;
	for (i = open + 1; i < close;) {
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		char c = s[i + 1];
		switch (c) {
		case '\\': case '"': case '\'':
			out[o++] = c;
			i += 2;
			continue;
		case 'n': out[o++] = '\n'; i += 2; continue;
		case 'r': out[o++] = '\r'; i += 2; continue;
		case 't': out[o++] = '\t'; i += 2; continue;
		case 'u':
			break;
		default:
			/* Kept as written, for regex patterns ('\d', '\.'). */
			out[o++] = '\\';
			out[o++] = c;
			i += 2;
			continue;
		}
		uint32_t cp, lo;
		if (close - i < 6 || hex4(s + i + 2, &cp) < 0)
			return perr(p, DS_EINVAL, i,
				    "expected 4 hex digits after \\u");
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return perr(p, DS_EINVAL, i,
				    "\\u%04X is half of a surrogate pair", cp);
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (close - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u'
			    || hex4(s + i + 8, &lo) < 0
			    || lo < 0xDC00 || lo > 0xDFFF)
				return perr(p, DS_EINVAL, i,
					    "\\u%04X must be followed by a low "
					    "surrogate \\uDC00-\\uDFFF", cp);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i += 6;
		}
		if (cp == 0)
			return perr(p, DS_EINVAL, i,
				    "\\u0000 is not allowed in a string");
		o += put_utf8(out + o, cp);
		i += 6;
	}
	out[o] = '\0';
	p->tok.k = T_STR;
	p->tok.s = out;
	p->tok.len = o;
	p->pos = close + 1;
	return 0;
}

static int lex_number(struct parser *p)
{
	const char *s = p->src;
	size_t start = p->pos, i = start;
	bool neg = false, frac = false;
	if (s[i] == '-') {
		neg = true;
		i++;
	}
	while (i < p->len && is_digit((unsigned char)s[i]))
		i++;
	if (i < p->len && s[i] == '.') {
		if (i + 1 >= p->len || !is_digit((unsigned char)s[i + 1]))
			return perr(p, DS_EINVAL, i + 1,
				    "expected a digit after '.' in a number");
		frac = true;
		i++;
		while (i < p->len && is_digit((unsigned char)s[i]))
			i++;
	}
	if (i < p->len && is_ident_start((unsigned char)s[i])) {
		size_t u = i;
		while (i < p->len && is_ident((unsigned char)s[i]))
			i++;
		size_t ulen = i - u;
		bool unit = (ulen == 1 && (s[u] == 'm' || s[u] == 'h'
					    || s[u] == 'd'))
			    || (ulen == 2 && s[u] == 'b' && s[u + 1] == 'd');
		if (!unit) {
			char q[64];
			quote_text(s + u, ulen, q, sizeof q);
			return perr(p, DS_EINVAL, u,
				    "unknown duration unit %s (expected m, h, "
				    "d or bd)", q);
		}
		if (neg || frac)
			return perr(p, DS_EINVAL, start,
				    "a duration is a whole, non-negative "
				    "number of m, h, d or bd");
		char buf[32];
		size_t n = i - start;
		if (n < sizeof buf) {
			memcpy(buf, s + start, n);
			buf[n] = '\0';
		}
		if (n >= sizeof buf || ds_duration_parse(buf, &p->tok.dur) < 0)
			return perr(p, DS_EINVAL, start,
				    "duration '%.*s' is out of range",
				    (int)(i - start), s + start);
		p->tok.k = T_DUR;
		p->pos = i;
		return 0;
	}
	if (ds_dec_parse(s + start, i - start, &p->tok.num) < 0)
		return perr(p, DS_EINVAL, start,
			    "number '%.*s' does not fit an exact decimal (at "
			    "most 18 digits)", (int)(i - start), s + start);
	p->tok.k = T_NUM;
	p->pos = i;
	return 0;
}

static const struct {
	const char *word;
	enum tk k;
} keywords[] = {
	{ "and", T_AND }, { "or", T_OR }, { "not", T_NOT }, { "in", T_IN },
	{ "contains", T_CONTAINS }, { "matches", T_MATCHES },
	{ "true", T_TRUE }, { "false", T_FALSE }, { "null", T_NULL },
};

static int lex_path(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos, cap = 0, n = 0;
	char **segs = NULL;
	for (;;) {
		size_t st = i;
		while (i < p->len && is_ident((unsigned char)s[i]))
			i++;
		if (i == st)
			return perr(p, DS_EINVAL, i,
				    "expected a field name after '.'");
		if (is_digit((unsigned char)s[st])) {
			for (size_t k = st; k < i; k++)
				if (!is_digit((unsigned char)s[k]))
					return perr(p, DS_EINVAL, st,
						    "a field name cannot start "
						    "with a digit");
		}
		segs = grow_array(p, segs, n, &cap, sizeof *segs);
		if (!segs || !(segs[n] = ds_arena_strndup(p->a, s + st, i - st)))
			return nomem(p);
		n++;
		if (i >= p->len || s[i] != '.')
			break;
		i++;
	}
	p->tok.k = T_PATH;
	p->tok.segs = segs;
	p->tok.nsegs = n;
	p->pos = i;
	if (n == 1) {
		for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++)
			if (!strcmp(segs[0], keywords[k].word))
				p->tok.k = keywords[k].k;
	}
	return 0;
}

static size_t skip_space(const struct parser *p, size_t i)
{
	while (i < p->len && (p->src[i] == ' ' || p->src[i] == '\t'
			      || p->src[i] == '\n' || p->src[i] == '\r'))
		i++;
	return i;
}

/* Reads the next token into p->tok. */
static int lex(struct parser *p)
{
	const char *s = p->src;
	int rc = 0;
	p->pos = skip_space(p, p->pos);
	size_t i = p->pos;
	p->tok.start = i;
	if (i >= p->len) {
		p->tok.k = T_END;
		p->tok.end = i;
		return 0;
	}
	unsigned char c = (unsigned char)s[i];
	unsigned char d = i + 1 < p->len ? (unsigned char)s[i + 1] : 0;
	enum tk k = T_END;
	size_t w = 1;
	switch (c) {
	case '(': k = T_LP; break;
	case ')': k = T_RP; break;
	case '[': k = T_LB; break;
	case ']': k = T_RB; break;
	case ',': k = T_COMMA; break;
	case '=': k = T_EQ; w = d == '=' ? 2 : 1; break;
	case '<': k = d == '=' ? T_LE : T_LT; w = d == '=' ? 2 : 1; break;
	case '>': k = d == '=' ? T_GE : T_GT; w = d == '=' ? 2 : 1; break;
	case '!':
		if (d != '=')
			return perr(p, DS_EINVAL, i, "expected '=' after '!'");
		k = T_NE;
		w = 2;
		break;
	case '"': case '\'':
		rc = lex_string(p);
		goto done;
	default:
		if (is_digit(c) || (c == '-' && is_digit(d))) {
			rc = lex_number(p);
			goto done;
		}
		if (c == '-')
			return perr(p, DS_EINVAL, i,
				    "expected a digit after '-'");
		if (is_ident_start(c)) {
			rc = lex_path(p);
			goto done;
		}
		char q[64];
		quote_text(s + i, char_len(s + i), q, sizeof q);
		return perr(p, DS_EINVAL, i, "unexpected character %s", q);
	}
	p->tok.k = k;
	p->pos = i + w;
done:
	p->tok.end = p->pos;
	return rc;
}

/* ---- parser ---- */

static ds_expr_node *mk(struct parser *p, ds_expr_kind kind, size_t off)
{
	struct inode *in = ds_arena_alloc(p->a, sizeof *in);
	if (!in)
		return NULL;
	memset(in, 0, sizeof *in);
	struct pos w = where(p, off);
	in->n.kind = kind;
	in->n.line = w.line;
	in->n.column = w.column;
	return &in->n;
}

static void set_kids(ds_expr_node *n, ds_expr_node **kids, size_t nkids)
{
	n->kids = (const ds_expr_node *const *)kids;
	n->nkids = nkids;
}

static int mk_kids(struct parser *p, ds_expr_node *n, size_t nkids,
		   ds_expr_node *a, ds_expr_node *b)
{
	ds_expr_node **kids = ds_arena_alloc(p->a, nkids * sizeof *kids);
	if (!kids)
		return nomem(p);
	kids[0] = a;
	if (nkids > 1)
		kids[1] = b;
	set_kids(n, kids, nkids);
	return 0;
}

static bool is_literal(enum tk k)
{
	return k == T_NUM || k == T_DUR || k == T_STR || k == T_TRUE
	       || k == T_FALSE || k == T_NULL;
}

static bool is_cmp(enum tk k)
{
	return k == T_EQ || k == T_NE || k == T_LT || k == T_LE || k == T_GT
	       || k == T_GE;
}

/* The literal in the current token as a node; advances. */
static int parse_literal(struct parser *p, ds_expr_node **out)
{
	static const ds_expr_kind kinds[] = {
		[T_NUM] = DS_EXPR_NUMBER, [T_DUR] = DS_EXPR_DURATION,
		[T_STR] = DS_EXPR_STRING, [T_TRUE] = DS_EXPR_BOOL,
		[T_FALSE] = DS_EXPR_BOOL, [T_NULL] = DS_EXPR_NULL,
	};
	ds_expr_node *n = mk(p, kinds[p->tok.k], p->tok.start);
	if (!n)
		return nomem(p);
	switch (p->tok.k) {
	case T_NUM: n->v.number = p->tok.num; break;
	case T_DUR: n->v.duration = p->tok.dur; break;
	case T_STR:
		n->v.string.s = p->tok.s;
		n->v.string.len = p->tok.len;
		break;
	case T_TRUE: n->v.boolean = true; break;
	default: break;
	}
	*out = n;
	return lex(p);
}

static int parse_path(struct parser *p, ds_expr_node **out)
{
	ds_expr_node *n = mk(p, DS_EXPR_PATH, p->tok.start);
	if (!n)
		return nomem(p);
	n->v.path.segs = (const char *const *)p->tok.segs;
	n->v.path.nsegs = p->tok.nsegs;
	*out = n;
	return lex(p);
}

static int parse_list(struct parser *p, ds_expr_node **out)
{
	char found[64];
	size_t open = p->tok.start, n = 0, cap = 0;
	ds_expr_node **items = NULL, *list = mk(p, DS_EXPR_LIST, open);
	int rc;
	if (!list)
		return nomem(p);
	if ((rc = lex(p)) < 0)
		return rc;
	if (p->tok.k != T_RB) {
		for (;;) {
			if (!is_literal(p->tok.k)) {
				describe(p, found, sizeof found);
				return perr(p, DS_EINVAL, p->tok.start,
					    "expected a number, string, "
					    "duration, true, false or null in "
					    "the list, found %s", found);
			}
			if (n == DS_EXPR_MAX_LIST)
				return perr(p, DS_ELIMIT, open,
					    "a list holds at most %d items",
					    DS_EXPR_MAX_LIST);
			items = grow_array(p, items, n, &cap, sizeof *items);
			if (!items)
				return nomem(p);
			if ((rc = parse_literal(p, &items[n++])) < 0)
				return rc;
			if (p->tok.k == T_RB)
				break;
			if (p->tok.k != T_COMMA) {
				describe(p, found, sizeof found);
				return perr(p, DS_EINVAL, p->tok.start,
					    "expected ',' or ']' in the list "
					    "opened at column %u, found %s",
					    list->column, found);
			}
			if ((rc = lex(p)) < 0)
				return rc;
		}
	}
	set_kids(list, items, n);
	*out = list;
	return lex(p);
}

static int parse_or(struct parser *p, const char *after, ds_expr_node **out);

static int expect_value(struct parser *p, const char *after)
{
	char found[64];
	describe(p, found, sizeof found);
	return perr(p, DS_EINVAL, p->tok.start, "expected a value%s%s, found %s",
		    after ? " after " : "", after ? after : "", found);
}

static int enter(struct parser *p, size_t off)
{
	if (++p->depth > DS_EXPR_MAX_DEPTH)
		return perr(p, DS_ELIMIT, off,
			    "expression nested deeper than %d levels",
			    DS_EXPR_MAX_DEPTH);
	return 0;
}

static int parse_call(struct parser *p, ds_expr_node **out)
{
	static const struct {
		const char *name;
		ds_expr_kind kind;
		bool arg;
	} funcs[] = {
		{ "exists", DS_EXPR_EXISTS, true },
		{ "now", DS_EXPR_NOW, false },
		{ "days_since", DS_EXPR_DAYS_SINCE, true },
	};
	char found[64];
	size_t at = p->tok.start, f;
	int rc;
	for (f = 0; f < sizeof funcs / sizeof *funcs; f++)
		if (p->tok.nsegs == 1 && !strcmp(p->tok.segs[0], funcs[f].name))
			break;
	if (f == sizeof funcs / sizeof *funcs) {
		quote_text(p->src + at, p->tok.end - at, found, sizeof found);
		return perr(p, DS_EINVAL, at,
			    "unknown function %s (expected exists, now or "
			    "days_since)", found);
	}
	ds_expr_node *n = mk(p, funcs[f].kind, at), *arg = NULL;
	if (!n)
		return nomem(p);
	if ((rc = lex(p)) < 0 || (rc = lex(p)) < 0)  /* the name, '(' */
		return rc;
	if (funcs[f].arg) {
		if (p->tok.k != T_PATH) {
			describe(p, found, sizeof found);
			return perr(p, DS_EINVAL, p->tok.start,
				    "%s() expects a field path, found %s",
				    funcs[f].name, found);
		}
		if ((rc = parse_path(p, &arg)) < 0
		    || (rc = mk_kids(p, n, 1, arg, NULL)) < 0)
			return rc;
	}
	if (p->tok.k != T_RP) {
		describe(p, found, sizeof found);
		return perr(p, DS_EINVAL, p->tok.start,
			    "expected ')' to close %s(, found %s",
			    funcs[f].name, found);
	}
	*out = n;
	return lex(p);
}

static int parse_operand(struct parser *p, const char *after,
			 ds_expr_node **out)
{
	char found[64];
	int rc;
	switch (p->tok.k) {
	case T_NUM: case T_DUR: case T_STR: case T_TRUE: case T_FALSE:
	case T_NULL:
		return parse_literal(p, out);
	case T_LB:
		return parse_list(p, out);
	case T_PATH: {
		size_t next = skip_space(p, p->pos);
		if (next < p->len && p->src[next] == '(')
			return parse_call(p, out);
		return parse_path(p, out);
	}
	case T_LP: {
		size_t open = p->tok.start;
		if ((rc = enter(p, open)) < 0 || (rc = lex(p)) < 0
		    || (rc = parse_or(p, "'('", out)) < 0)
			return rc;
		if (p->tok.k != T_RP) {
			struct pos w = where(p, open);
			describe(p, found, sizeof found);
			return perr(p, DS_EINVAL, p->tok.start,
				    "expected ')' to close the '(' at column "
				    "%u, found %s", w.column, found);
		}
		p->depth--;
		return lex(p);
	}
	default:
		return expect_value(p, after);
	}
}

static void free_code(void *re) { pcre2_code_free(re); }

/* PCRE2 allocates through the wrapper too, so tests can make it fail. */
static void *re_alloc(PCRE2_SIZE n, void *ud)
{
	(void)ud;
	return ds_malloc(n);
}

static void re_release(void *ptr, void *ud)
{
	(void)ud;
	ds_free(ptr);
}

static int parse_test(struct parser *p, const char *after, ds_expr_node **out)
{
	static const ds_expr_op ops[] = {
		[T_EQ] = DS_EXPR_EQ, [T_NE] = DS_EXPR_NE, [T_LT] = DS_EXPR_LT,
		[T_LE] = DS_EXPR_LE, [T_GT] = DS_EXPR_GT, [T_GE] = DS_EXPR_GE,
	};
	char found[64], optext[16];
	ds_expr_node *left = NULL, *right = NULL, *n = NULL;
	size_t start = p->tok.start;
	int rc;
	if ((rc = parse_operand(p, after, &left)) < 0)
		return rc;
	enum tk k = p->tok.k;
	if (!is_cmp(k) && k != T_IN && k != T_CONTAINS && k != T_MATCHES) {
		*out = left;
		return 0;
	}
	snprintf(optext, sizeof optext, "'%.*s'",
		 (int)(p->tok.end - p->tok.start), p->src + p->tok.start);
	if ((rc = lex(p)) < 0)
		return rc;
	if (is_cmp(k)) {
		if (!(n = mk(p, DS_EXPR_CMP, start)))
			return nomem(p);
		n->op = ops[k];
		rc = parse_operand(p, optext, &right);
	} else if (k == T_IN) {
		if (!(n = mk(p, DS_EXPR_IN, start)))
			return nomem(p);
		if (p->tok.k == T_LB) {
			rc = parse_list(p, &right);
		} else if (p->tok.k == T_PATH) {
			rc = parse_path(p, &right);
		} else {
			describe(p, found, sizeof found);
			return perr(p, DS_EINVAL, p->tok.start,
				    "expected a list or a field after 'in', "
				    "found %s", found);
		}
	} else if (k == T_CONTAINS) {
		if (!(n = mk(p, DS_EXPR_CONTAINS, start)))
			return nomem(p);
		rc = parse_operand(p, optext, &right);
	} else {
		if (!(n = mk(p, DS_EXPR_MATCHES, start)))
			return nomem(p);
		if (p->tok.k != T_STR) {
			describe(p, found, sizeof found);
			return perr(p, DS_EINVAL, p->tok.start,
				    "expected a string (the pattern) after "
				    "'matches', found %s", found);
		}
		size_t pat = p->tok.start;
		if ((rc = parse_literal(p, &right)) < 0)
			return rc;
		ds_expr *e = p->e;
		if (!e->gctx) {
			e->gctx = pcre2_general_context_create(re_alloc,
							       re_release, NULL);
			e->mctx = e->gctx ? pcre2_match_context_create(e->gctx)
					  : NULL;
			if (!e->mctx)
				return nomem(p);
			pcre2_set_match_limit(e->mctx, RE_MATCH_LIMIT);
			pcre2_set_heap_limit(e->mctx, RE_HEAP_LIMIT_KIB);
		}
		if (!p->cctx && !(p->cctx = pcre2_compile_context_create(e->gctx)))
			return nomem(p);
		int ecode;
		PCRE2_SIZE eoff;
		pcre2_code *re = pcre2_compile(
			(PCRE2_SPTR)right->v.string.s, right->v.string.len,
			PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF
				| PCRE2_NEVER_BACKSLASH_C,
			&ecode, &eoff, p->cctx);
		if (!re) {
			PCRE2_UCHAR msg[256];
			if (ecode == PCRE2_ERROR_HEAP_FAILED
			    || ecode == PCRE2_ERROR_NOMEMORY)
				return nomem(p);
			if (pcre2_get_error_message(ecode, msg, sizeof msg) < 0)
				snprintf((char *)msg, sizeof msg, "error %d",
					 ecode);
			return perr(p, DS_EINVAL, pat,
				    "invalid pattern after 'matches': %s (at "
				    "byte %zu of the pattern)", (char *)msg,
				    (size_t)eoff);
		}
		/* Compiled to machine code when the platform allows; the
		 * interpreter runs it otherwise. The match limit holds either way. */
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		/* On failure the arena runs the cleanup at once. */
		if (ds_arena_defer(p->a, free_code, re) < 0)
			return nomem(p);
		((struct inode *)n)->re = re;
	}
	if (rc < 0 || (rc = mk_kids(p, n, 2, left, right)) < 0)
		return rc;
	if (is_cmp(p->tok.k) || p->tok.k == T_IN || p->tok.k == T_CONTAINS
	    || p->tok.k == T_MATCHES) {
		describe(p, found, sizeof found);
		return perr(p, DS_EINVAL, p->tok.start,
			    "expected 'and', 'or' or the end after the test "
			    "at column %u, found %s (tests do not chain; join "
			    "them with 'and')", n->column, found);
	}
	*out = n;
	return 0;
}

static int parse_not(struct parser *p, const char *after, ds_expr_node **out)
{
	if (p->tok.k != T_NOT)
		return parse_test(p, after, out);
	size_t at = p->tok.start;
	ds_expr_node *n = mk(p, DS_EXPR_NOT, at), *kid = NULL;
	int rc;
	if (!n)
		return nomem(p);
	if ((rc = enter(p, at)) < 0 || (rc = lex(p)) < 0
	    || (rc = parse_not(p, "'not'", &kid)) < 0
	    || (rc = mk_kids(p, n, 1, kid, NULL)) < 0)
		return rc;
	p->depth--;
	*out = n;
	return 0;
}

/* One level of 'and' or 'or': a flat node when the operator occurs. */
static int parse_chain(struct parser *p, const char *after, enum tk op,
		       ds_expr_node **out)
{
	ds_expr_node **kids = NULL, *first = NULL, *n;
	size_t nkids = 0, cap = 0;
	int rc = op == T_OR ? parse_chain(p, after, T_AND, &first)
			    : parse_not(p, after, &first);
	if (rc < 0)
		return rc;
	if (p->tok.k != op) {
		*out = first;
		return 0;
	}
	if (!(n = mk(p, op == T_OR ? DS_EXPR_OR : DS_EXPR_AND, 0)))
		return nomem(p);
	n->line = first->line;
	n->column = first->column;
	if (!(kids = grow_array(p, kids, nkids, &cap, sizeof *kids)))
		return nomem(p);
	kids[nkids++] = first;
	while (p->tok.k == op) {
		const char *name = op == T_OR ? "'or'" : "'and'";
		if ((rc = lex(p)) < 0)
			return rc;
		if (!(kids = grow_array(p, kids, nkids, &cap, sizeof *kids)))
			return nomem(p);
		rc = op == T_OR ? parse_chain(p, name, T_AND, &kids[nkids])
				: parse_not(p, name, &kids[nkids]);
		if (rc < 0)
			return rc;
		nkids++;
	}
	set_kids(n, kids, nkids);
	*out = n;
	return 0;
}

static int parse_or(struct parser *p, const char *after, ds_expr_node **out)
{
	return parse_chain(p, after, T_OR, out);
}

static void free_contexts(ds_expr *e)
{
	pcre2_match_context_free(e->mctx);
	pcre2_general_context_free(e->gctx);
}

void ds_expr_free(ds_expr *e)
{
	if (!e)
		return;
	/* The arena's cleanups free the compiled patterns. */
	ds_arena_free(e->arena);
	free_contexts(e);
	ds_free(e);
}

/* Line and column of every byte: columns count characters, not bytes. */
static struct pos *positions(const char *s, size_t len, bool *multiline)
{
	struct pos *w = ds_malloc((len + 1) * sizeof *w);
	if (!w)
		return NULL;
	unsigned line = 1, col = 1;
	*multiline = false;
	for (size_t i = 0; i <= len; i++) {
		w[i].line = line;
		w[i].column = col;
		if (i == len)
			break;
		if (s[i] == '\n') {
			line++;
			col = 1;
			*multiline = true;
		} else if (i + 1 == len
			   || ((unsigned char)s[i + 1] & 0xC0) != 0x80) {
			/* After the last byte of a character. */
			col++;
		}
	}
	return w;
}

int ds_expr_parse(const char *src, ds_expr **out, ds_err *err)
{
	struct parser p = { 0 };
	ds_expr *e = NULL;
	char found[64];
	int rc = 0;
	*out = NULL;
	if (!src)
		return ds_err_set(err, DS_EINVAL, "no expression");
	size_t len = strnlen(src, DS_EXPR_MAX_SOURCE + 1);
	if (len > DS_EXPR_MAX_SOURCE)
		return ds_err_set(err, DS_ELIMIT,
				  "expression longer than %d bytes",
				  DS_EXPR_MAX_SOURCE);
	p.src = src;
	p.len = len;
	p.err = err;
	if (!(e = ds_calloc(1, sizeof *e)) || !(e->arena = ds_arena_new(1024))
	    || !(p.where = positions(src, len, &e->multiline))) {
		rc = ds_err_set(err, DS_ENOMEM,
				"out of memory parsing an expression");
		goto done;
	}
	p.e = e;
	p.a = e->arena;
	size_t bad = utf8_check((const unsigned char *)src, len);
	if (bad < len) {
		rc = perr(&p, DS_EINVAL, bad, "invalid UTF-8");
		goto done;
	}
	if (!(e->src = ds_arena_strndup(e->arena, src, len))) {
		rc = nomem(&p);
		goto done;
	}
	ds_expr_node *root = NULL;
	if ((rc = lex(&p)) < 0 || (rc = parse_or(&p, NULL, &root)) < 0)
		goto done;
	if (p.tok.k != T_END) {
		describe(&p, found, sizeof found);
		if (p.tok.k == T_RP)
			rc = perr(&p, DS_EINVAL, p.tok.start, "unmatched ')'");
		else
			rc = perr(&p, DS_EINVAL, p.tok.start,
				  "expected an operator, 'and', 'or' or the "
				  "end, found %s", found);
		goto done;
	}
	e->root = root;
	*out = e;
	e = NULL;  /* handed to the caller */
done:
	pcre2_compile_context_free(p.cctx);
	ds_free(p.where);
	ds_expr_free(e);
	return rc;
}

const char *ds_expr_source(const ds_expr *e) { return e->src; }

const ds_expr_node *ds_expr_root(const ds_expr *e) { return e->root; }

const char *ds_expr_op_name(ds_expr_op op)
{
	static const char *const names[] = {
		[DS_EXPR_EQ] = "=", [DS_EXPR_NE] = "!=", [DS_EXPR_LT] = "<",
		[DS_EXPR_LE] = "<=", [DS_EXPR_GT] = ">", [DS_EXPR_GE] = ">=",
	};
	return (unsigned)op < sizeof names / sizeof *names ? names[op] : "?";
}

const char *ds_expr_kind_name(ds_expr_kind kind)
{
	static const char *const names[] = {
		[DS_EXPR_NULL] = "null", [DS_EXPR_BOOL] = "boolean",
		[DS_EXPR_NUMBER] = "number", [DS_EXPR_STRING] = "string",
		[DS_EXPR_DURATION] = "duration", [DS_EXPR_LIST] = "list",
		[DS_EXPR_PATH] = "path", [DS_EXPR_NOT] = "not",
		[DS_EXPR_AND] = "and", [DS_EXPR_OR] = "or",
		[DS_EXPR_CMP] = "comparison", [DS_EXPR_IN] = "in",
		[DS_EXPR_CONTAINS] = "contains", [DS_EXPR_MATCHES] = "matches",
		[DS_EXPR_EXISTS] = "exists", [DS_EXPR_NOW] = "now",
		[DS_EXPR_DAYS_SINCE] = "days_since",
	};
	return (unsigned)kind < sizeof names / sizeof *names ? names[kind]
							      : "?";
}

/* ---- paths ---- */

static void walk_paths(const ds_expr_node *n,
		       void (*fn)(void *, const char *const *, size_t),
		       void *ud)
{
	if (n->kind == DS_EXPR_PATH)
		fn(ud, n->v.path.segs, n->v.path.nsegs);
	for (size_t i = 0; i < n->nkids; i++)
		walk_paths(n->kids[i], fn, ud);
}

void ds_expr_foreach_path(const ds_expr *e,
			  void (*fn)(void *ud, const char *const *segs,
				     size_t nsegs),
			  void *ud)
{
	if (e && e->root)
		walk_paths(e->root, fn, ud);
}

void ds_expr_node_foreach_path(const ds_expr_node *n,
			       void (*fn)(void *ud, const char *const *segs,
					  size_t nsegs),
			       void *ud)
{
	if (n)
		walk_paths(n, fn, ud);
}

const cJSON *ds_expr_json_path(const cJSON *root, const char *const *segs,
			       size_t nsegs)
{
	const cJSON *j = root;
	for (size_t i = 0; j && i < nsegs; i++) {
		const char *s = segs[i];
		if (cJSON_IsObject(j)) {
			j = cJSON_GetObjectItemCaseSensitive(j, s);
		} else if (cJSON_IsArray(j) && is_digit((unsigned char)*s)) {
			size_t idx = 0;
			for (; *s; s++) {
				if (!is_digit((unsigned char)*s)
				    || idx > (SIZE_MAX - 9) / 10)
					return NULL;
				idx = idx * 10 + (size_t)(*s - '0');
			}
			j = j->child;
			while (j && idx--)
				j = j->next;
		} else {
			return NULL;
		}
	}
	return j;
}

/* ---- evaluation ---- */

enum vt { V_NULL, V_BOOL, V_NUM, V_STR, V_DUR, V_TIME, V_LIST, V_JLIST,
	  V_OBJ };

struct val {
	enum vt t;
	union {
		bool b;
		ds_dec num;
		struct {
			const char *s;  /* NUL-terminated */
			size_t len;
		} str;
		ds_duration dur;
		ds_time time;
		const ds_expr_node *list;  /* V_LIST: a literal list */
		const cJSON *json;         /* V_JLIST, V_OBJ */
	} u;
};

struct ev {
	const ds_expr *e;
	const ds_expr_env *env;
	ds_err *err;
};

static int everr(const struct ev *x, const ds_expr_node *n, int code,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int everr(const struct ev *x, const ds_expr_node *n, int code,
		 const char *fmt, ...)
{
	char at[64], msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pos_text(x->e->multiline, n->line, n->column, at, sizeof at);
	return ds_err_set(x->err, code, "%s: %s", at, msg);
}

static const char *type_name(enum vt t)
{
	switch (t) {
	case V_NULL: return "null";
	case V_BOOL: return "true or false";
	case V_NUM: return "a number";
	case V_STR: return "a string";
	case V_DUR: return "a duration";
	case V_TIME: return "a time";
	case V_LIST: case V_JLIST: return "a list";
	default: return "an object";
	}
}

static int from_json(const struct ev *x, const ds_expr_node *at,
		     const cJSON *j, struct val *out)
{
	if (!j || cJSON_IsNull(j)) {
		out->t = V_NULL;
	} else if (cJSON_IsBool(j)) {
		out->t = V_BOOL;
		out->u.b = cJSON_IsTrue(j);
	} else if (cJSON_IsNumber(j)) {
		out->t = V_NUM;
		if (ds_dec_from_json(j, &out->u.num) < 0)
			return everr(x, at, DS_EINVAL,
				     "the number %.17g in the data does not "
				     "fit an exact decimal", j->valuedouble);
	} else if (cJSON_IsString(j) && j->valuestring) {
		out->t = V_STR;
		out->u.str.s = j->valuestring;
		out->u.str.len = strlen(j->valuestring);
	} else if (cJSON_IsArray(j)) {
		out->t = V_JLIST;
		out->u.json = j;
	} else if (cJSON_IsObject(j)) {
		out->t = V_OBJ;
		out->u.json = j;
	} else {
		out->t = V_NULL;
	}
	return 0;
}

static void literal(const ds_expr_node *n, struct val *out)
{
	switch (n->kind) {
	case DS_EXPR_BOOL:
		out->t = V_BOOL;
		out->u.b = n->v.boolean;
		break;
	case DS_EXPR_NUMBER:
		out->t = V_NUM;
		out->u.num = n->v.number;
		break;
	case DS_EXPR_STRING:
		out->t = V_STR;
		out->u.str.s = n->v.string.s;
		out->u.str.len = n->v.string.len;
		break;
	case DS_EXPR_DURATION:
		out->t = V_DUR;
		out->u.dur = n->v.duration;
		break;
	case DS_EXPR_LIST:
		out->t = V_LIST;
		out->u.list = n;
		break;
	default:
		out->t = V_NULL;
		break;
	}
}

static const cJSON *resolve(const struct ev *x, const ds_expr_node *path)
{
	if (!x->env->resolve)
		return NULL;
	return x->env->resolve(x->env->ud, path->v.path.segs,
			       path->v.path.nsegs);
}

/* Items of a list value, literal or from the data. */
struct iter {
	const ds_expr_node *lit;
	size_t i;
	const cJSON *j;
};

static void iter_init(struct iter *it, const struct val *v)
{
	it->lit = v->t == V_LIST ? v->u.list : NULL;
	it->i = 0;
	it->j = v->t == V_JLIST ? v->u.json->child : NULL;
}

/* 1 and the next item in *out, 0 at the end, or an error. */
static int iter_next(const struct ev *x, const ds_expr_node *at,
		     struct iter *it, struct val *out)
{
	if (it->lit) {
		if (it->i >= it->lit->nkids)
			return 0;
		literal(it->lit->kids[it->i++], out);
		return 1;
	}
	if (!it->j)
		return 0;
	int rc = from_json(x, at, it->j, out);
	it->j = it->j->next;
	return rc < 0 ? rc : 1;
}

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

/* Reads a string as the type of the other side of a comparison. */
static bool coerce(const struct val *s, enum vt t, struct val *out)
{
	out->t = t;
	switch (t) {
	case V_NUM:
		return ds_dec_parse(s->u.str.s, s->u.str.len, &out->u.num) == 0;
	case V_DUR:
		return ds_duration_parse(s->u.str.s, &out->u.dur) == 0;
	case V_TIME:
		return ds_time_parse(s->u.str.s, &out->u.time) == 0;
	default:
		return false;
	}
}

/* Orders two scalar values; false when they are not comparable. */
static bool order(const struct val *a, const struct val *b, int *c)
{
	struct val tmp;
	if (a->t == V_STR && b->t != V_STR) {
		if (!coerce(a, b->t, &tmp))
			return false;
		return order(&tmp, b, c);
	}
	if (b->t == V_STR && a->t != V_STR) {
		if (!coerce(b, a->t, &tmp))
			return false;
		return order(a, &tmp, c);
	}
	if (a->t == V_DUR && b->t == V_NUM) {
		if (!order(b, a, c))
			return false;
		*c = -*c;
		return true;
	}
	if (a->t == V_NUM && b->t == V_DUR) {
		/* n days against the duration's seconds, exactly. */
		ds_dec secs;
		if (ds_dec_mul(a->u.num, ds_dec_from_int(86400), &secs) < 0) {
			/* Far beyond any duration (at most 100000 days). */
			*c = a->u.num.units < 0 ? -1 : 1;
			return true;
		}
		*c = ds_dec_cmp(secs,
				ds_dec_from_int(ds_duration_seconds(b->u.dur)));
		return true;
	}
	if (a->t != b->t)
		return false;
	switch (a->t) {
	case V_NUM:
		*c = ds_dec_cmp(a->u.num, b->u.num);
		return true;
	case V_STR: {
		size_t n = a->u.str.len < b->u.str.len ? a->u.str.len
						       : b->u.str.len;
		int r = memcmp(a->u.str.s, b->u.str.s, n);
		*c = r ? (r > 0) - (r < 0)
		       : (a->u.str.len > b->u.str.len)
				 - (a->u.str.len < b->u.str.len);
		return true;
	}
	case V_DUR:
		*c = cmp_i64(ds_duration_seconds(a->u.dur),
			     ds_duration_seconds(b->u.dur));
		return true;
	case V_TIME:
		*c = cmp_i64(a->u.time, b->u.time);
		return true;
	default:
		return false;
	}
}

static int equal(const struct ev *x, const ds_expr_node *at,
		 const struct val *a, const struct val *b, bool *eq)
{
	bool la = a->t == V_LIST || a->t == V_JLIST;
	bool lb = b->t == V_LIST || b->t == V_JLIST;
	int c;
	*eq = false;
	if (a->t == V_NULL || b->t == V_NULL) {
		*eq = a->t == b->t;
	} else if (a->t == V_BOOL || b->t == V_BOOL) {
		*eq = a->t == b->t && a->u.b == b->u.b;
	} else if (la && lb) {
		struct iter ia, ib;
		struct val va, vb;
		iter_init(&ia, a);
		iter_init(&ib, b);
		for (;;) {
			int ra = iter_next(x, at, &ia, &va);
			int rb = iter_next(x, at, &ib, &vb);
			if (ra < 0 || rb < 0)
				return ra < 0 ? ra : rb;
			if (ra == 0 || rb == 0) {
				*eq = ra == rb;
				return 0;
			}
			int rc = equal(x, at, &va, &vb, eq);
			if (rc < 0 || !*eq)
				return rc;
		}
	} else if (a->t == V_OBJ && b->t == V_OBJ) {
		*eq = cJSON_Compare(a->u.json, b->u.json, true);
	} else if (order(a, b, &c)) {
		*eq = c == 0;
	}
	return 0;
}

/* Is v an item of the list value l (false when l is not a list)? */
static int member(const struct ev *x, const ds_expr_node *at,
		  const struct val *l, const struct val *v, bool *found)
{
	struct iter it;
	struct val item;
	int rc;
	*found = false;
	if (l->t != V_LIST && l->t != V_JLIST)
		return 0;
	iter_init(&it, l);
	while ((rc = iter_next(x, at, &it, &item)) > 0) {
		if ((rc = equal(x, at, &item, v, found)) < 0 || *found)
			return rc;
	}
	return rc;
}

static int eval(const struct ev *x, const ds_expr_node *n, struct val *out);

/* The truth of a value for 'and', 'or', 'not' and the result. */
static int truth(const struct ev *x, const ds_expr_node *n,
		 const struct val *v, const char *who, bool *b)
{
	if (v->t == V_NULL) {
		*b = false;
		return 0;
	}
	if (v->t == V_BOOL) {
		*b = v->u.b;
		return 0;
	}
	if (!who)
		return everr(x, n, DS_EINVAL,
			     "the expression gives %s, not true or false",
			     type_name(v->t));
	return everr(x, n, DS_EINVAL, "'%s' needs true or false, got %s", who,
		     type_name(v->t));
}

static int eval_matches(const struct ev *x, const ds_expr_node *n,
			const struct val *s, bool *b)
{
	const struct inode *in = (const struct inode *)n;
	*b = false;
	if (s->t != V_STR)
		return 0;
	pcre2_match_data *md = pcre2_match_data_create(1, x->e->gctx);
	if (!md)
		return ds_err_set(x->err, DS_ENOMEM,
				  "out of memory evaluating an expression");
	int r = pcre2_match(in->re, (PCRE2_SPTR)s->u.str.s, s->u.str.len, 0,
			    0, md, x->e->mctx);
	pcre2_match_data_free(md);
	if (r >= 0) {
		*b = true;
		return 0;
	}
	switch (r) {
	case PCRE2_ERROR_NOMATCH:
		return 0;
	case PCRE2_ERROR_MATCHLIMIT: case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT: case PCRE2_ERROR_JIT_STACKLIMIT:
		return everr(x, n, DS_ELIMIT,
			     "'matches' gave up: the pattern needs too much "
			     "work on this text");
	case PCRE2_ERROR_NOMEMORY:
		return ds_err_set(x->err, DS_ENOMEM,
				  "out of memory evaluating an expression");
	default: {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(r, msg, sizeof msg) < 0)
			snprintf((char *)msg, sizeof msg, "error %d", r);
		return everr(x, n, DS_EINTERNAL, "'matches' failed: %s",
			     (char *)msg);
	}
	}
}

static int eval_bool_op(const struct ev *x, const ds_expr_node *n,
			struct val *out)
{
	struct val v;
	bool b = false;
	int rc;
	out->t = V_BOOL;
	if (n->kind == DS_EXPR_NOT) {
		if ((rc = eval(x, n->kids[0], &v)) < 0
		    || (rc = truth(x, n->kids[0], &v, "not", &b)) < 0)
			return rc;
		out->u.b = !b;
		return 0;
	}
	bool is_and = n->kind == DS_EXPR_AND;
	for (size_t i = 0; i < n->nkids; i++) {
		if ((rc = eval(x, n->kids[i], &v)) < 0
		    || (rc = truth(x, n->kids[i], &v, is_and ? "and" : "or",
				   &b)) < 0)
			return rc;
		if (b != is_and)
			break;
	}
	out->u.b = b;
	return 0;
}

static int eval(const struct ev *x, const ds_expr_node *n, struct val *out)
{
	struct val a, b;
	bool r = false;
	int rc, c;
	switch (n->kind) {
	case DS_EXPR_NULL: case DS_EXPR_BOOL: case DS_EXPR_NUMBER:
	case DS_EXPR_STRING: case DS_EXPR_DURATION: case DS_EXPR_LIST:
		literal(n, out);
		return 0;
	case DS_EXPR_PATH:
		return from_json(x, n, resolve(x, n), out);
	case DS_EXPR_NOW:
		out->t = V_TIME;
		out->u.time = x->env->now;
		return 0;
	case DS_EXPR_EXISTS: {
		const cJSON *j = resolve(x, n->kids[0]);
		out->t = V_BOOL;
		out->u.b = j && !cJSON_IsNull(j);
		return 0;
	}
	case DS_EXPR_DAYS_SINCE: {
		const cJSON *j = resolve(x, n->kids[0]);
		ds_time t, d;
		out->t = V_NULL;
		if (cJSON_IsString(j) && j->valuestring
		    && ds_time_parse(j->valuestring, &t) == 0
		    && !__builtin_sub_overflow(x->env->now, t, &d)) {
			out->t = V_NUM;
			out->u.num = ds_dec_from_int(d / 86400);
		}
		return 0;
	}
	case DS_EXPR_NOT: case DS_EXPR_AND: case DS_EXPR_OR:
		return eval_bool_op(x, n, out);
	default:
		break;
	}
	/* Binary tests. */
	if ((rc = eval(x, n->kids[0], &a)) < 0)
		return rc;
	if (n->kind == DS_EXPR_MATCHES) {
		rc = eval_matches(x, n, &a, &r);
	} else {
		if ((rc = eval(x, n->kids[1], &b)) < 0)
			return rc;
		if (n->kind == DS_EXPR_IN) {
			rc = member(x, n, &b, &a, &r);
		} else if (n->kind == DS_EXPR_CONTAINS) {
			if (a.t == V_STR && b.t == V_STR)
				r = b.u.str.len == 0
				    || memmem(a.u.str.s, a.u.str.len, b.u.str.s,
					      b.u.str.len) != NULL;
			else
				rc = member(x, n, &a, &b, &r);
		} else if (n->op == DS_EXPR_EQ || n->op == DS_EXPR_NE) {
			rc = equal(x, n, &a, &b, &r);
			if (n->op == DS_EXPR_NE)
				r = !r;
		} else if (order(&a, &b, &c)) {
			r = n->op == DS_EXPR_LT   ? c < 0
			    : n->op == DS_EXPR_LE ? c <= 0
			    : n->op == DS_EXPR_GT ? c > 0
						  : c >= 0;
		}
	}
	if (rc < 0)
		return rc;
	out->t = V_BOOL;
	out->u.b = r;
	return 0;
}

int ds_expr_eval_bool(const ds_expr *e, const ds_expr_env *env, bool *out,
		      ds_err *err)
{
	return ds_expr_eval_node(e, e->root, env, out, err);
}

int ds_expr_eval_node(const ds_expr *e, const ds_expr_node *n,
		      const ds_expr_env *env, bool *out, ds_err *err)
{
	struct ev x = { .e = e, .env = env, .err = err };
	struct val v;
	int rc;
	*out = false;
	if ((rc = eval(&x, n, &v)) < 0)
		return rc;
	return truth(&x, n, &v, NULL, out);
}

/* ---- canonical text ---- */

static int fmt_string(ds_buf *b, const char *s, size_t len)
{
	int rc = ds_buf_putc(b, '"');
	for (size_t i = 0; rc == 0 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			rc = ds_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			rc = ds_buf_puts(b, "\\n");
		else if (c == '\r')
			rc = ds_buf_puts(b, "\\r");
		else if (c == '\t')
			rc = ds_buf_puts(b, "\\t");
		else if (c < 0x20)
			rc = ds_buf_printf(b, "\\u%04X", c);
		else
			rc = ds_buf_putc(b, (char)c);
	}
	return rc ? rc : ds_buf_putc(b, '"');
}

static int fmt_node(ds_buf *b, const ds_expr_node *n)
{
	char tmp[48];
	int rc = 0;
	switch (n->kind) {
	case DS_EXPR_NULL:
		return ds_buf_puts(b, "null");
	case DS_EXPR_BOOL:
		return ds_buf_puts(b, n->v.boolean ? "true" : "false");
	case DS_EXPR_NUMBER:
		ds_dec_format(n->v.number, tmp, sizeof tmp);
		return ds_buf_puts(b, tmp);
	case DS_EXPR_STRING:
		return fmt_string(b, n->v.string.s, n->v.string.len);
	case DS_EXPR_DURATION:
		ds_duration_format(n->v.duration, tmp);
		return ds_buf_puts(b, tmp);
	case DS_EXPR_PATH:
		for (size_t i = 0; rc == 0 && i < n->v.path.nsegs; i++)
			rc = ds_buf_printf(b, "%s%s", i ? "." : "",
					   n->v.path.segs[i]);
		return rc;
	case DS_EXPR_LIST:
		rc = ds_buf_putc(b, '[');
		for (size_t i = 0; rc == 0 && i < n->nkids; i++) {
			if (i)
				rc = ds_buf_puts(b, ", ");
			if (rc == 0)
				rc = fmt_node(b, n->kids[i]);
		}
		return rc ? rc : ds_buf_putc(b, ']');
	case DS_EXPR_NOW:
		return ds_buf_puts(b, "now()");
	case DS_EXPR_EXISTS: case DS_EXPR_DAYS_SINCE:
		if ((rc = ds_buf_printf(b, "%s(", ds_expr_kind_name(n->kind))) < 0
		    || (rc = fmt_node(b, n->kids[0])) < 0)
			return rc;
		return ds_buf_putc(b, ')');
	case DS_EXPR_NOT:
		if ((rc = ds_buf_puts(b, "(not ")) < 0
		    || (rc = fmt_node(b, n->kids[0])) < 0)
			return rc;
		return ds_buf_putc(b, ')');
	default:
		break;
	}
	const char *op = n->kind == DS_EXPR_CMP ? ds_expr_op_name(n->op)
						: ds_expr_kind_name(n->kind);
	rc = ds_buf_putc(b, '(');
	for (size_t i = 0; rc == 0 && i < n->nkids; i++) {
		if (i)
			rc = ds_buf_printf(b, " %s ", op);
		if (rc == 0)
			rc = fmt_node(b, n->kids[i]);
	}
	return rc ? rc : ds_buf_putc(b, ')');
}

int ds_expr_format(const ds_expr *e, ds_buf *out)
{
	return fmt_node(out, e->root);
}
