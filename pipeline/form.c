/*
 * form.c - the application/x-www-form-urlencoded parser; see form.h.
 *
 * One pass over the body, one byte of look-behind: a field's bytes are
 * percent-decoded into a buffer (name, NUL, value) as they arrive, runs of
 * ordinary bytes copied at once, and a '%' or '%X' cut by a chunk boundary
 * is remembered in the state. When the field ends, it is delivered straight
 * from that buffer if it is already valid UTF-8 (ASCII, in a single-byte
 * charset), and otherwise converted into a second buffer first. Small
 * fields live in a buffer inside the parser, so a typical form costs one
 * allocation (none through ds_form_parse) besides what the callback does.
 * While `_charset_` is awaited, finished fields are appended to a third
 * buffer as (name length, value length, name, NUL, value, NUL) records.
 */
#include "form.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "mem.h"

enum { S_IDLE, S_NAME, S_VALUE };

/* Longest LEB128 encoding of a size_t. */
#define HDR_MAX ((sizeof(size_t) * 8 + 6) / 7)

struct ds_form_parser {
	ds_form_field_fn cb;
	void *ud;
	size_t max_fields, max_name, max_value, max_total;
	int cs;            /* charset fields are decoded with */
	bool await;        /* keeping fields until `_charset_` or the end */
	bool strict;       /* DS_FORM_STRICT */
	bool finished;
	int failed;        /* the first error, returned by every later call */
	int state;
	int pct;           /* 0; 1 after '%'; 2 after '%' and one hex digit */
	unsigned char hexc;  /* that digit, kept as written */
	size_t total;      /* body bytes received */
	size_t nfields;
	char *fld;         /* current field: name, NUL, value (decoded bytes) */
	size_t flen, fcap;
	size_t nlen;       /* name length, once the name has ended */
	char *conv;        /* the field converted to UTF-8 */
	size_t ccap;
	char *held;        /* fields kept while `_charset_` is awaited */
	size_t hlen, hcap;
	size_t hold_max;   /* the most held can need */
	char small[480];   /* fld until a field outgrows it */
};

/* Bytes that end a run of plain field bytes; in a strict parse, control
 * bytes too (2). */
static const unsigned char special[256] = {
	['&'] = 1, ['='] = 1, ['+'] = 1, ['%'] = 1,
};
#define CTL2 2, 2, 2, 2, 2, 2, 2, 2
static const unsigned char special_strict[256] = {
	CTL2, CTL2, CTL2, CTL2, ['&'] = 1, ['='] = 1, ['+'] = 1, ['%'] = 1, [0x7F] = 2,
};
#undef CTL2

static int hexval(unsigned c)
{
	if (c - '0' < 10)
		return (int)(c - '0');
	c |= 0x20;
	if (c - 'a' < 6)
		return (int)(c - 'a' + 10);
	return -1;
}

static int nomem(ds_err *err)
{
	return ds_err_set(err, DS_ENOMEM, "out of memory");
}

/* Untrusted text for a message: at most 40 bytes, cut at a character
 * boundary if it is UTF-8, with control bytes (and, if it is not UTF-8,
 * every byte above 0x7F) shown as '?'. */
static const char *show(const char *s, size_t n, char out[48])
{
	size_t cut = n > 40 ? 40 : n;
	if (cut < n)
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	bool utf8 = ds_utf8_valid(s, cut);
	for (size_t i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8) ? '?' : (char)c;
	}
	strcpy(out + cut, cut < n ? "..." : "");
	return out;
}


/* ---- charsets ---- */

static const struct {
	const char *label;
	int cs;
} labels[] = {
	{ "unicode-1-1-utf-8", DS_FORM_UTF8 },
	{ "unicode11utf8", DS_FORM_UTF8 },
	{ "unicode20utf8", DS_FORM_UTF8 },
	{ "utf-8", DS_FORM_UTF8 },
	{ "utf8", DS_FORM_UTF8 },
	{ "x-unicode20utf8", DS_FORM_UTF8 },
	{ "ansi_x3.4-1968", DS_FORM_WINDOWS_1252 },
	{ "ascii", DS_FORM_WINDOWS_1252 },
	{ "cp1252", DS_FORM_WINDOWS_1252 },
	{ "cp819", DS_FORM_WINDOWS_1252 },
	{ "csisolatin1", DS_FORM_WINDOWS_1252 },
	{ "ibm819", DS_FORM_WINDOWS_1252 },
	{ "iso-8859-1", DS_FORM_WINDOWS_1252 },
	{ "iso-ir-100", DS_FORM_WINDOWS_1252 },
	{ "iso8859-1", DS_FORM_WINDOWS_1252 },
	{ "iso88591", DS_FORM_WINDOWS_1252 },
	{ "iso_8859-1", DS_FORM_WINDOWS_1252 },
	{ "iso_8859-1:1987", DS_FORM_WINDOWS_1252 },
	{ "l1", DS_FORM_WINDOWS_1252 },
	{ "latin1", DS_FORM_WINDOWS_1252 },
	{ "us-ascii", DS_FORM_WINDOWS_1252 },
	{ "windows-1252", DS_FORM_WINDOWS_1252 },
	{ "x-cp1252", DS_FORM_WINDOWS_1252 },
	{ "csisolatin9", DS_FORM_ISO_8859_15 },
	{ "iso-8859-15", DS_FORM_ISO_8859_15 },
	{ "iso8859-15", DS_FORM_ISO_8859_15 },
	{ "iso885915", DS_FORM_ISO_8859_15 },
	{ "iso_8859-15", DS_FORM_ISO_8859_15 },
	{ "l9", DS_FORM_ISO_8859_15 },
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* The label without the ASCII white space around it. */
static size_t trim(const char **s, size_t n)
{
	while (n && is_space((unsigned char)**s)) {
		(*s)++;
		n--;
	}
	while (n && is_space((unsigned char)(*s)[n - 1]))
		n--;
	return n;
}

static bool same_nocase(const char *a, size_t n, const char *lower)
{
	size_t i = 0;
	for (; i < n && lower[i]; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c - 'A' < 26)
			c |= 0x20;
		if (c != (unsigned char)lower[i])
			return false;
	}
	return i == n && !lower[i];
}

int ds_form_charset_lookup(const char *label, size_t len)
{
	len = trim(&label, len);
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (same_nocase(label, len, labels[i].label))
			return labels[i].cs;
	return -1;
}

const char *ds_form_charset_name(int cs)
{
	switch (cs) {
	case DS_FORM_WINDOWS_1252: return "windows-1252";
	case DS_FORM_ISO_8859_15: return "ISO-8859-15";
	default: return "UTF-8";
	}
}

/* windows-1252 0x80-0x9F; the five undefined bytes map to C1 controls, as
 * in the WHATWG index. 0xA0-0xFF are their own code points. */
static const uint16_t w1252[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static unsigned single_cp(int cs, unsigned b)
{
	if (b < 0xA0)
		return cs == DS_FORM_WINDOWS_1252 && b >= 0x80 ? w1252[b - 0x80] : b;
	if (cs == DS_FORM_ISO_8859_15) {
		switch (b) {
		case 0xA4: return 0x20AC;
		case 0xA6: return 0x0160;
		case 0xA8: return 0x0161;
		case 0xB4: return 0x017D;
		case 0xB8: return 0x017E;
		case 0xBC: return 0x0152;
		case 0xBD: return 0x0153;
		case 0xBE: return 0x0178;
		default: break;
		}
	}
	return b;
}

static size_t put_cp(unsigned cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	o[0] = (unsigned char)(0xE0 | cp >> 12);
	o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp & 0x3F));
	return 3;
}

/* The WHATWG UTF-8 decoder: a maximal invalid subpart becomes one U+FFFD,
 * and the byte that ended it is read again. */
static size_t utf8_fix(const unsigned char *s, size_t n, unsigned char *o)
{
	size_t w = 0, start = 0, need = 0, seen = 0;
	unsigned lower = 0x80, upper = 0xBF;
	for (size_t i = 0; i < n; i++) {
		unsigned b = s[i];
		if (!need) {
			start = i;
			if (b < 0x80) {
				o[w++] = (unsigned char)b;
			} else if (b >= 0xC2 && b <= 0xDF) {
				need = 1;
			} else if (b >= 0xE0 && b <= 0xEF) {
				lower = b == 0xE0 ? 0xA0 : 0x80;
				upper = b == 0xED ? 0x9F : 0xBF;
				need = 2;
			} else if (b >= 0xF0 && b <= 0xF4) {
				lower = b == 0xF0 ? 0x90 : 0x80;
				upper = b == 0xF4 ? 0x8F : 0xBF;
				need = 3;
			} else {
				w += put_cp(0xFFFD, o + w);
			}
			seen = 0;
			continue;
		}
		if (b < lower || b > upper) {
			w += put_cp(0xFFFD, o + w);
			need = 0;
			lower = 0x80;
			upper = 0xBF;
			i--;
			continue;
		}
		lower = 0x80;
		upper = 0xBF;
		if (++seen == need) {
			memcpy(o + w, s + start, need + 1);
			w += need + 1;
			need = 0;
		}
	}
	if (need)
		w += put_cp(0xFFFD, o + w);
	return w;
}

size_t ds_form_to_utf8(int cs, const char *in, size_t n, char *out)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char *o = (unsigned char *)out;
	if (cs != DS_FORM_WINDOWS_1252 && cs != DS_FORM_ISO_8859_15)
		return utf8_fix(s, n, o);
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		w += put_cp(single_cp(cs, s[i]), o + w);
	return w;
}

/* Length of the ASCII prefix of s. */
static size_t ascii_len(const char *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080u)
			break;
	}
	while (i < n && !((unsigned char)s[i] & 0x80))
		i++;
	return i;
}

/* Whether s is already what charset cs decodes it to. */
static bool verbatim(int cs, const char *s, size_t n)
{
	size_t a = ascii_len(s, n);
	if (a == n)
		return true;
	return cs == DS_FORM_UTF8 && ds_utf8_valid(s + a, n - a);
}

/* ---- parser ---- */

static size_t sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static void init(ds_form_parser *p, const ds_form_opts *opts, int cs,
		 ds_form_field_fn field, void *ud)
{
	memset(p, 0, offsetof(ds_form_parser, small));
	p->cb = field;
	p->ud = ud;
	p->max_fields = opts && opts->max_fields ? opts->max_fields : DS_FORM_MAX_FIELDS;
	p->max_name = opts && opts->max_name ? opts->max_name : DS_FORM_MAX_NAME;
	p->max_value = opts && opts->max_value ? opts->max_value : DS_FORM_MAX_VALUE;
	p->max_total = opts && opts->max_total ? opts->max_total : DS_FORM_MAX_TOTAL;
	p->cs = cs;
	p->await = !(opts && (opts->flags & DS_FORM_NO_CHARSET_FIELD));
	p->strict = opts && (opts->flags & DS_FORM_STRICT);
	p->state = S_IDLE;
	/* Kept fields are no longer than the body, plus per field two
	 * lengths and two NULs; a field takes two body bytes at least ("a&"),
	 * and a length above 127 one header byte per 64 bytes at most. */
	size_t fields = p->max_total / 2 + 1;
	if (fields > p->max_fields)
		fields = p->max_fields;
	p->hold_max = sat_add(sat_add(p->max_total, p->max_total / 32),
			      fields > SIZE_MAX / 4 ? SIZE_MAX : 4 * fields);
	p->fld = p->small;
	p->fcap = sizeof p->small;
}

static void release(ds_form_parser *p)
{
	if (p->fld != p->small)
		ds_free(p->fld);
	ds_free(p->conv);
	ds_free(p->held);
}

/* The caller's charset parameter, or UTF-8 when there is none. */
static int opts_charset(const ds_form_opts *opts, ds_err *err)
{
	if (!opts || !opts->charset)
		return DS_FORM_UTF8;
	int cs = ds_form_charset_lookup(opts->charset, strlen(opts->charset));
	if (cs < 0) {
		char b[48];
		return ds_err_set(err, DS_EINVAL, "unsupported form charset \"%s\"",
				  show(opts->charset, strlen(opts->charset), b));
	}
	return cs;
}

int ds_form_new(ds_form_parser **out, const ds_form_opts *opts,
		ds_form_field_fn field, void *ud, ds_err *err)
{
	*out = NULL;
	int cs = opts_charset(opts, err);
	if (cs < 0)
		return cs;
	ds_form_parser *p = ds_malloc(sizeof *p);
	if (!p)
		return nomem(err);
	init(p, opts, cs, field, ud);
	*out = p;
	return 0;
}

void ds_form_free(ds_form_parser *p)
{
	if (!p)
		return;
	release(p);
	ds_free(p);
}

const char *ds_form_charset(const ds_form_parser *p)
{
	return ds_form_charset_name(p->cs);
}

size_t ds_form_memory(const ds_form_parser *p)
{
	return sizeof *p + (p->fld != p->small ? p->fcap : 0) + p->ccap + p->hcap;
}

static int name_limit(ds_form_parser *p, const char *name, size_t n,
		      ds_err *err)
{
	char b[48];
	return ds_err_set(err, DS_ELIMIT,
			  "form field name \"%s\" longer than %zu bytes (max_name)",
			  show(name, n, b), p->max_name);
}

static int value_limit(ds_form_parser *p, const char *name, size_t n,
		       ds_err *err)
{
	char b[48];
	return ds_err_set(err, DS_ELIMIT,
			  "value of form field \"%s\" longer than %zu bytes (max_value)",
			  show(name, n, b), p->max_value);
}

/* Appends decoded bytes to the current name or value, up to its limit
 * (so that the message shows the same name however the body was cut).
 * Keeps room for the two NULs. */
static int put(ds_form_parser *p, const char *s, size_t n, ds_err *err)
{
	size_t room = p->state == S_NAME ? p->max_name - p->flen
					 : p->max_value - (p->flen - p->nlen - 1);
	size_t take = n < room ? n : room;
	size_t need = p->flen + take + 2;
	if (need > p->fcap) {
		size_t cap = p->fcap * 2 > need ? p->fcap * 2 : need;
		char *b = p->fld == p->small ? ds_malloc(cap) : ds_realloc(p->fld, cap);
		if (!b)
			return nomem(err);
		if (p->fld == p->small)
			memcpy(b, p->small, p->flen);
		p->fld = b;
		p->fcap = cap;
	}
	memcpy(p->fld + p->flen, s, take);
	p->flen += take;
	if (take == n)
		return 0;
	if (p->state == S_NAME)
		return name_limit(p, p->fld, p->flen, err);
	return value_limit(p, p->fld, p->nlen, err);
}

/* Strict: a '%' at byte `at` of the body, followed by what p->pct says
 * and then by c (-1: the body ended), is not a percent-encoded byte. */
static int bad_pct(ds_form_parser *p, size_t at, int c, ds_err *err)
{
	char lit[4] = "%", b[48];
	size_t n = 1;
	if (p->pct == 2)
		lit[n++] = (char)p->hexc;
	if (c >= 0)
		lit[n++] = (char)c;
	lit[n] = '\0';
	for (size_t i = 1; i < n; i++)
		if ((unsigned char)lit[i] < 0x21 || (unsigned char)lit[i] > 0x7E)
			lit[i] = '?';
	const char *name = p->fld;
	size_t nl = p->state == S_VALUE ? p->nlen : p->flen;
	return ds_err_set(err, DS_EINVAL,
			  "malformed percent-encoding \"%s\" at byte %zu of the form body, in the "
			  "%s of field \"%s\": '%%' must be followed by two hex digits (a '%%' "
			  "itself is sent as %%25)", lit, at, p->state == S_VALUE ? "value" : "name",
			  show(name, nl, b));
}

/* A '%' not followed by two hex digits stands for itself. */
static int pct_literal(ds_form_parser *p, ds_err *err)
{
	char lit[2] = { '%', (char)p->hexc };
	size_t n = (size_t)p->pct;
	p->pct = 0;
	return put(p, lit, n, err);
}

static int call(ds_form_parser *p, const char *name, size_t nlen,
		const char *value, size_t vlen, ds_err *err)
{
	int rc = p->cb(p->ud, name, nlen, value, vlen, err);
	if (rc > 0)
		rc = ds_err_set(err, DS_EINTERNAL,
				"form field callback returned %d", rc);
	return rc;
}

/* Strict: a name or value read as UTF-8 that is not UTF-8. */
static int bad_utf8(const char *name, size_t nlen, const char *value, size_t vlen,
		    ds_err *err)
{
	char b[48];
	size_t at = ds_utf8_bad_at(name, nlen);
	if (at < nlen)
		return ds_err_set(err, DS_EINVAL,
				  "a form field name is not valid UTF-8: byte 0x%02X at byte %zu of "
				  "\"%s\" (a form sent in another charset must say so in a _charset_ "
				  "field)", (unsigned char)name[at], at, show(name, nlen, b));
	at = ds_utf8_bad_at(value, vlen);
	if (at < vlen)
		return ds_err_set(err, DS_EINVAL,
				  "form field \"%s\" is not valid UTF-8: byte 0x%02X at byte %zu of "
				  "its value (a form sent in another charset must say so in a "
				  "_charset_ field)", show(name, nlen, b), (unsigned char)value[at], at);
	return 0;
}

/* Delivers one field in the parser's charset. */
static int emit(ds_form_parser *p, const char *name, size_t nlen,
		const char *value, size_t vlen, ds_err *err)
{
	if (verbatim(p->cs, name, nlen) && verbatim(p->cs, value, vlen))
		return call(p, name, nlen, value, vlen, err);
	int rc = p->strict && p->cs == DS_FORM_UTF8 ? bad_utf8(name, nlen, value, vlen, err) : 0;
	if (rc)
		return rc;
	if (ds_grow(&p->conv, &p->ccap, DS_FORM_UTF8_MAX(nlen + vlen) + 2))
		return nomem(err);
	size_t n = ds_form_to_utf8(p->cs, name, nlen, p->conv);
	p->conv[n] = '\0';
	char *v = p->conv + n + 1;
	size_t m = ds_form_to_utf8(p->cs, value, vlen, v);
	v[m] = '\0';
	if (n > p->max_name)
		return name_limit(p, p->conv, n, err);
	if (m > p->max_value)
		return value_limit(p, p->conv, n, err);
	return call(p, p->conv, n, v, m, err);
}

static size_t put_varint(char *o, size_t v)
{
	size_t n = 0;
	for (; v >= 0x80; v >>= 7)
		o[n++] = (char)(0x80 | (v & 0x7F));
	o[n++] = (char)v;
	return n;
}

static size_t get_varint(const char *s, size_t *v)
{
	size_t n = 0;
	unsigned char b;
	*v = 0;
	do {
		b = (unsigned char)s[n];
		*v |= (size_t)(b & 0x7F) << (7 * n);
		n++;
	} while (b & 0x80);
	return n;
}

/* Keeps a field as (name length, value length, name, NUL, value, NUL),
 * lengths as LEB128: 4 bytes more than the field for most fields. The
 * buffer doubles, but never past what max_total and max_fields allow. */
static int hold(ds_form_parser *p, const char *name, size_t nlen,
		const char *value, size_t vlen, ds_err *err)
{
	size_t need = p->hlen + 2 * HDR_MAX + nlen + vlen + 2;
	if (need > p->hcap) {
		size_t cap = p->hcap < 256 ? 256 : 2 * p->hcap;
		if (cap > p->hold_max)
			cap = p->hold_max;
		if (cap < need)
			cap = need;
		char *b = ds_realloc(p->held, cap);
		if (!b)
			return nomem(err);
		p->held = b;
		p->hcap = cap;
	}
	char *o = p->held + p->hlen;
	o += put_varint(o, nlen);
	o += put_varint(o, vlen);
	memcpy(o, name, nlen + 1);
	memcpy(o + nlen + 1, value, vlen + 1);
	p->hlen = (size_t)(o - p->held) + nlen + vlen + 2;
	return 0;
}

static int flush_held(ds_form_parser *p, ds_err *err)
{
	int rc = 0;
	for (size_t at = 0; at < p->hlen && !rc;) {
		size_t nlen, vlen;
		at += get_varint(p->held + at, &nlen);
		at += get_varint(p->held + at, &vlen);
		const char *name = p->held + at;
		rc = emit(p, name, nlen, name + nlen + 1, vlen, err);
		at += nlen + vlen + 2;
	}
	p->hlen = 0;
	return rc;
}

static bool is_charset_field(const char *name, size_t n)
{
	return same_nocase(name, n, "_charset_");
}

/* The charset a `_charset_` value names; -1 when blank (ignored), or an
 * error when unsupported. */
static int charset_field(const char *value, size_t n, ds_err *err)
{
	const char *v = value;
	if (!trim(&v, n))
		return -1;
	int cs = ds_form_charset_lookup(value, n);
	if (cs < 0) {
		char b[48];
		return ds_err_set(err, DS_EINVAL,
				  "unsupported charset \"%s\" in form field _charset_",
				  show(value, n, b));
	}
	return cs;
}

static int deliver(ds_form_parser *p, const char *name, size_t nlen,
		   const char *value, size_t vlen, ds_err *err)
{
	if (!p->await)
		return emit(p, name, nlen, value, vlen, err);
	if (!is_charset_field(name, nlen))
		return hold(p, name, nlen, value, vlen, err);
	int cs = charset_field(value, vlen, err);
	if (cs < -1)
		return cs;
	if (cs == -1)
		return hold(p, name, nlen, value, vlen, err);
	p->cs = cs;
	p->await = false;
	int rc = flush_held(p, err);
	return rc ? rc : emit(p, name, nlen, value, vlen, err);
}

static int field_start(ds_form_parser *p, ds_err *err)
{
	if (p->nfields == p->max_fields)
		return ds_err_set(err, DS_ELIMIT,
				  "more than %zu form fields (max_fields)",
				  p->max_fields);
	p->nfields++;
	p->flen = 0;
	p->state = S_NAME;
	return 0;
}

/* put() keeps room for both NULs. */
static void name_end(ds_form_parser *p)
{
	p->nlen = p->flen;
	p->fld[p->flen++] = '\0';
	p->state = S_VALUE;
}

static int field_end(ds_form_parser *p, ds_err *err)
{
	if (p->state == S_NAME)
		name_end(p);
	p->fld[p->flen] = '\0';
	p->state = S_IDLE;
	return deliver(p, p->fld, p->nlen, p->fld + p->nlen + 1,
		       p->flen - p->nlen - 1, err);
}

static int run(ds_form_parser *p, const unsigned char *s,
	       const unsigned char *end, ds_err *err)
{
	const unsigned char *tab = p->strict ? special_strict : special;
	int rc = 0;
	while (s < end && !rc) {
		unsigned c = *s;
		if (p->pct) {
			int h = hexval(c);
			if (h >= 0) {
				s++;
				if (p->pct == 1) {
					p->hexc = (unsigned char)c;
					p->pct = 2;
					continue;
				}
				char b = (char)(hexval(p->hexc) << 4 | h);
				p->pct = 0;
				rc = put(p, &b, 1, err);
				continue;
			}
			if (p->strict) {
				size_t at = p->total - (size_t)(end - s) - (size_t)p->pct;
				rc = bad_pct(p, at, (int)c, err);
				break;
			}
			if ((rc = pct_literal(p, err)))
				break;
		}
		if (p->state == S_IDLE) {
			if (c == '&') {
				s++;
				continue;
			}
			if ((rc = field_start(p, err)))
				break;
		}
		const unsigned char *r = s;
		while (r < end && !tab[*r])
			r++;
		if (r > s) {
			rc = put(p, (const char *)s, (size_t)(r - s), err);
			s = r;
			continue;
		}
		s++;
		if (tab[c] == 2) {
			rc = ds_err_set(err, DS_EINVAL,
					"not form data: control byte 0x%02X at byte %zu of the body (a "
					"browser sends it percent-encoded, as %%%02X)", c,
					p->total - (size_t)(end - s) - 1, c);
			break;
		}
		switch (c) {
		case '&':
			rc = field_end(p, err);
			break;
		case '=':
			if (p->state == S_NAME)
				name_end(p);
			else
				rc = put(p, "=", 1, err);
			break;
		case '+':
			rc = put(p, " ", 1, err);
			break;
		default: /* '%' */
			p->pct = 1;
			break;
		}
	}
	return rc;
}

static int stopped(const ds_form_parser *p, ds_err *err)
{
	if (p->failed)
		return ds_err_set(err, p->failed,
				  "form parser stopped by an earlier error");
	return ds_err_set(err, DS_EINTERNAL, "form parser already finished");
}

int ds_form_feed(ds_form_parser *p, const char *data, size_t len,
		 ds_err *err)
{
	if (p->failed || p->finished)
		return stopped(p, err);
	if (len > p->max_total - p->total)
		return p->failed = ds_err_set(err, DS_ELIMIT,
					      "form body larger than %zu bytes (max_total)",
					      p->max_total);
	p->total += len;
	const unsigned char *s = (const unsigned char *)data;
	int rc = len ? run(p, s, s + len, err) : 0;
	return p->failed = rc;
}

int ds_form_finish(ds_form_parser *p, ds_err *err)
{
	if (p->failed || p->finished)
		return stopped(p, err);
	int rc = 0;
	if (p->pct)
		rc = p->strict ? bad_pct(p, p->total - (size_t)p->pct, -1, err)
			       : pct_literal(p, err);
	if (!rc && p->state != S_IDLE)
		rc = field_end(p, err);
	if (!rc && p->await) {
		p->await = false;
		rc = flush_held(p, err);
	}
	p->finished = true;
	return p->failed = rc;
}

/* Percent-decodes (and turns '+' into a space) n bytes into out, which has
 * room for n. */
static size_t decode(const char *s, size_t n, char *out)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		int hi = 0, lo = 0;
		if (s[i] == '+') {
			out[w++] = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
			   (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
			   (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out[w++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[w++] = s[i];
		}
	}
	return w;
}

/* In a whole body, the charset the first `_charset_` field with a
 * non-blank value names, or -1 when there is none or it is not supported
 * (the parse then meets it in order and reports it as ds_form_feed would). */
static int find_charset(const char *buf, size_t len)
{
	const char *end = buf + len;
	for (const char *s = buf; s < end;) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *e = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(e - s));
		const char *v = eq ? eq + 1 : e;
		size_t rn = (size_t)((eq ? eq : e) - s), rv = (size_t)(e - v);
		char name[27], value[192];
		if (rn >= 9 && rn <= sizeof name &&
		    is_charset_field(name, decode(s, rn, name))) {
			if (rv > sizeof value)
				return -1;
			size_t vn = decode(v, rv, value);
			const char *t = value;
			if (trim(&t, vn))
				return ds_form_charset_lookup(value, vn);
		}
		if (e == end)
			break;
		s = e + 1;
	}
	return -1;
}

int ds_form_parse(const char *buf, size_t len, const ds_form_opts *opts,
		  ds_form_field_fn field, void *ud, ds_err *err)
{
	int cs = opts_charset(opts, err);
	if (cs < 0)
		return cs;
	ds_form_parser p;
	init(&p, opts, cs, field, ud);
	if (len > p.max_total)
		return ds_err_set(err, DS_ELIMIT,
				  "form body larger than %zu bytes (max_total)",
				  p.max_total);
	if (p.await) {
		int found = find_charset(buf, len);
		if (found >= 0) {
			p.cs = found;
			p.await = false;
		}
	}
	int rc = ds_form_feed(&p, buf, len, err);
	if (!rc)
		rc = ds_form_finish(&p, err);
	release(&p);
	return rc;
}

/* ---- JSON ---- */

struct slot {
	uint64_t hash;
	cJSON *item;  /* the member of the object with that name */
};

struct ds_form_json {
	ds_form_shape shape;
	cJSON *root;
	struct slot *tab;  /* open addressing, OBJECT only */
	size_t cap, used;
};

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
	return h;
}

int ds_form_json_new(ds_form_json **out, ds_form_shape shape, ds_err *err)
{
	*out = ds_calloc(1, sizeof **out);
	if (!*out)
		return nomem(err);
	(*out)->shape = shape;
	return 0;
}

void ds_form_json_free(ds_form_json *j)
{
	if (!j)
		return;
	cJSON_Delete(j->root);
	ds_free(j->tab);
	ds_free(j);
}

cJSON *ds_form_json_take(ds_form_json *j)
{
	cJSON *r = j->root;
	if (!r)
		r = j->shape == DS_FORM_LIST ? cJSON_CreateArray() : cJSON_CreateObject();
	j->root = NULL;
	if (j->tab)
		memset(j->tab, 0, j->cap * sizeof *j->tab);
	j->used = 0;
	return r;
}

static struct slot *find_slot(ds_form_json *j, uint64_t h, const char *name)
{
	size_t mask = j->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct slot *s = &j->tab[i];
		if (!s->item || (s->hash == h && !strcmp(s->item->string, name)))
			return s;
	}
}

/* Keeps the table at most half full. */
static int rehash(ds_form_json *j)
{
	if (2 * (j->used + 1) <= j->cap)
		return 0;
	struct slot *old = j->tab;
	size_t ocap = j->cap;
	size_t cap = ocap ? 2 * ocap : 32;
	j->tab = ds_calloc(cap, sizeof *j->tab);
	if (!j->tab) {
		j->tab = old;
		return DS_ENOMEM;
	}
	j->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].item)
			*find_slot(j, old[i].hash, old[i].item->string) = old[i];
	ds_free(old);
	return 0;
}

/* A second value for a name: the member becomes an array of both. */
static int to_array(cJSON *obj, struct slot *s, const char *value)
{
	cJSON *m = s->item;
	cJSON *arr = cJSON_CreateArray();
	cJSON *first = arr ? cJSON_CreateString(m->valuestring) : NULL;
	if (first)
		cJSON_AddItemToArray(arr, first);
	cJSON *second = first ? cJSON_CreateString(value) : NULL;
	if (!second) {
		cJSON_Delete(arr);
		return DS_ENOMEM;
	}
	cJSON_AddItemToArray(arr, second);
	arr->string = m->string;  /* the key moves to the array */
	m->string = NULL;
	cJSON_ReplaceItemViaPointer(obj, m, arr);  /* frees m */
	s->item = arr;
	return 0;
}

static int add_object(ds_form_json *j, const char *name, size_t nlen,
		      const char *value)
{
	if (rehash(j))
		return DS_ENOMEM;
	uint64_t h = fnv1a(name, nlen);
	struct slot *s = find_slot(j, h, name);
	if (s->item) {
		if (!cJSON_IsArray(s->item))
			return to_array(j->root, s, value);
		cJSON *v = cJSON_CreateString(value);
		if (!v)
			return DS_ENOMEM;
		cJSON_AddItemToArray(s->item, v);
		return 0;
	}
	cJSON *v = cJSON_CreateString(value);
	if (!v)
		return DS_ENOMEM;
	if (!cJSON_AddItemToObject(j->root, name, v)) {
		cJSON_Delete(v);
		return DS_ENOMEM;
	}
	s->hash = h;
	s->item = v;
	j->used++;
	return 0;
}

static int add_list(ds_form_json *j, const char *name, const char *value)
{
	cJSON *f = cJSON_CreateObject();
	if (!f || !cJSON_AddStringToObject(f, "name", name) ||
	    !cJSON_AddStringToObject(f, "value", value) ||
	    !cJSON_AddItemToArray(j->root, f)) {
		cJSON_Delete(f);
		return DS_ENOMEM;
	}
	return 0;
}

int ds_form_json_field(void *ud, const char *name, size_t nlen,
		       const char *value, size_t vlen, ds_err *err)
{
	ds_form_json *j = ud;
	if (memchr(name, '\0', nlen) || memchr(value, '\0', vlen)) {
		char b[48];
		return ds_err_set(err, DS_EINVAL,
				  "form field \"%s\" holds a NUL byte", show(name, nlen, b));
	}
	if (!j->root) {
		j->root = j->shape == DS_FORM_LIST ? cJSON_CreateArray()
						   : cJSON_CreateObject();
		if (!j->root)
			return nomem(err);
	}
	int rc = j->shape == DS_FORM_LIST ? add_list(j, name, value)
					  : add_object(j, name, nlen, value);
	return rc ? nomem(err) : 0;
}

int ds_form_parse_json(const char *buf, size_t len, const ds_form_opts *opts,
		       ds_form_shape shape, cJSON **out, ds_err *err)
{
	*out = NULL;
	ds_form_json *j = NULL;
	int rc = ds_form_json_new(&j, shape, err);
	if (rc)
		goto done;
	rc = ds_form_parse(buf, len, opts, ds_form_json_field, j, err);
	if (rc)
		goto done;
	*out = ds_form_json_take(j);
	if (!*out)
		rc = nomem(err);
done:
	ds_form_json_free(j);
	return rc;
}
