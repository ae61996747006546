/*
 * multipart.c - multipart/form-data parser: a byte-driven state machine
 * that needs no look-ahead beyond one delimiter, so chunks may split the
 * body anywhere and parsing one byte at a time gives what parsing the
 * whole buffer gives.
 *
 * Guarantees: every byte received is counted against max_total before it
 * is read; part headers, field values and decoded files are bounded while
 * they grow; file bytes go to the callback and are never stored; every
 * string handed out is UTF-8. The delimiter "\r\n--boundary" holds its
 * only CR at position 0 (boundaries carry no CR), so a failed partial
 * match is plain data and matching restarts at the current byte.
 */
#include "multipart.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "json.h"
#include "mem.h"

enum {
	S_START,    /* matching the first "--boundary" */
	S_AFTER,    /* just after a delimiter */
	S_PAD,      /* transport padding after a delimiter */
	S_PAD_LF,   /* CR seen after the padding */
	S_HEADERS,  /* a part's headers */
	S_BODY,     /* a part's data */
	S_END,      /* after the closing delimiter: epilogue */
	S_DONE,     /* finished */
};

enum { ENC_IDENTITY, ENC_BASE64, ENC_QP };

/* A field kept until `_charset_` is known: name NUL value NUL. */
struct held {
	struct held *next;
	int vcs;
	size_t nlen, vlen;
	char data[];
};

struct ds_multipart_parser {
	ds_multipart_cb cb;
	size_t max_parts, max_header, max_value, max_file, max_total;
	unsigned flags;
	int cs;                 /* the form's charset */
	bool cs_found;          /* `_charset_` seen (or not awaited) */
	char delim[4 + DS_MULTIPART_MAX_BOUNDARY];
	size_t dlen;
	int state;
	size_t m;               /* delimiter bytes matched */
	char after[2];
	size_t nafter;
	size_t total, parts;
	int failed;
	bool in_part;
	/* the current part */
	char *hbuf;
	size_t hlen, hcap;
	bool is_file;
	int enc, vcs;
	char *name;             /* raw bytes, NUL-terminated */
	size_t nlen;
	char *filename, *ctype; /* UTF-8 */
	ds_multipart_file file;
	ds_sha256 *sha;
	char *val;
	size_t vlen, vcap;
	/* decoders */
	uint32_t acc;
	int b64n;
	bool b64end;
	int qp;
	char qph;
	/* fields kept */
	struct held *head, **tail;
	/* conversion scratch */
	char *conv;
	size_t convcap;
};

static int nomem(ds_err *err)
{
	return ds_err_set(err, DS_ENOMEM, "out of memory");
}


static bool lower_eq(const char *a, size_t n, const char *lower)
{
	size_t i = 0;
	for (; i < n && lower[i]; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c != (unsigned char)lower[i])
			return false;
	}
	return i == n && !lower[i];
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t trim(const char **s, size_t n)
{
	while (n && is_ows((unsigned char)**s)) {
		(*s)++;
		n--;
	}
	while (n && is_ows((unsigned char)(*s)[n - 1]))
		n--;
	return n;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- header parameters ---- */

/* Finds parameter key in a header value "type; k=v; k2="v2"" and sets
 * *out (ds_malloc'd, NUL-terminated, quotes and backslash escapes undone)
 * and *olen; *out stays NULL when absent. */
static int param_get(const char *v, size_t n, const char *key, char **out,
		     size_t *olen)
{
	*out = NULL;
	size_t i = 0;
	/* skip the type */
	while (i < n && v[i] != ';')
		i++;
	while (i < n) {
		i++; /* ';' */
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		size_t ks = i;
		while (i < n && v[i] != '=' && v[i] != ';')
			i++;
		const char *k = v + ks;
		size_t kl = trim(&k, i - ks);
		if (i >= n || v[i] == ';')
			continue;
		i++; /* '=' */
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		size_t vs = i, vl;
		char *buf = ds_malloc(n - vs + 1);
		if (!buf)
			return DS_ENOMEM;
		vl = 0;
		if (i < n && v[i] == '"') {
			for (i++; i < n; i++) {
				if (v[i] == '\\' && i + 1 < n)
					buf[vl++] = v[++i];
				else if (v[i] == '"') {
					i++;
					break;
				} else
					buf[vl++] = v[i];
			}
			while (i < n && v[i] != ';')
				i++;
		} else {
			while (i < n && v[i] != ';')
				buf[vl++] = v[i++];
			const char *t = buf;
			vl = trim(&t, vl);
			memmove(buf, t, vl);
		}
		buf[vl] = '\0';
		if (lower_eq(k, kl, key)) {
			*out = buf;
			*olen = vl;
			return 0;
		}
		ds_free(buf);
	}
	return 0;
}

/* Bytes in charset cs as a new UTF-8 string. */
static char *to_utf8(int cs, const char *s, size_t n)
{
	char *o = ds_malloc(DS_FORM_UTF8_MAX(n) + 1);
	if (!o)
		return NULL;
	o[ds_form_to_utf8(cs, s, n, o)] = '\0';
	return o;
}

/* RFC 5987 ext-value: charset'lang'pct-encoded, as UTF-8; NULL when
 * malformed (the caller falls back to filename). */
static char *ext_value(const char *s, size_t n, bool *oom)
{
	const char *q1 = memchr(s, '\'', n);
	if (!q1)
		return NULL;
	const char *q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s));
	if (!q2)
		return NULL;
	int cs = ds_form_charset_lookup(s, (size_t)(q1 - s));
	if (cs != DS_FORM_UTF8 && cs != DS_FORM_WINDOWS_1252)
		return NULL;
	const char *p = q2 + 1, *end = s + n;
	char *raw = ds_malloc((size_t)(end - p) + 1);
	if (!raw) {
		*oom = true;
		return NULL;
	}
	size_t k = 0;
	for (; p < end; p++) {
		if (*p == '%') {
			int h = end - p > 2 ? hexval((unsigned char)p[1]) : -1;
			int l = h >= 0 ? hexval((unsigned char)p[2]) : -1;
			if (l < 0) {
				ds_free(raw);
				return NULL;
			}
			raw[k++] = (char)(h * 16 + l);
			p += 2;
		} else
			raw[k++] = *p;
	}
	char *o = to_utf8(cs, raw, k);
	ds_free(raw);
	if (!o)
		*oom = true;
	return o;
}

/* Strict: an ext-value that says UTF-8 and is not. */
static int ext_strict(const char *s, size_t n, const char *part, ds_err *err)
{
	const char *q1 = memchr(s, '\'', n);
	const char *q2 = q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : NULL;
	if (!q2 || ds_form_charset_lookup(s, (size_t)(q1 - s)) != DS_FORM_UTF8)
		return 0;
	char raw[256];
	size_t k = 0;
	for (const char *p = q2 + 1, *end = s + n; p < end && k < sizeof raw; p++) {
		int h = *p == '%' && end - p > 2 ? hexval((unsigned char)p[1]) : -1;
		int l = h >= 0 ? hexval((unsigned char)p[2]) : -1;
		if (*p == '%' && l < 0)
			return 0; /* malformed: filename is used instead */
		raw[k++] = l >= 0 ? (char)(h * 16 + l) : *p;
		if (l >= 0)
			p += 2;
	}
	size_t at = ds_utf8_bad_at(raw, k);
	/* a sequence cut by the end of raw is not an error */
	if (at == k || (k == sizeof raw && k - at < 4))
		return 0;
	char q[72];
	return ds_err_set(err, DS_EINVAL,
			  "the filename* of part \"%s\" says UTF-8 and is not: byte 0x%02X at "
			  "byte %zu", ds_quote(part, q), (unsigned char)raw[at], at);
}

/* ---- parser life ---- */

static void part_clear(ds_multipart_parser *p)
{
	ds_free(p->name);
	ds_free(p->filename);
	ds_free(p->ctype);
	p->name = p->filename = p->ctype = NULL;
	if (p->sha) {
		char tmp[65];
		ds_sha256_end(p->sha, tmp);
		p->sha = NULL;
	}
	p->in_part = false;
}

int ds_multipart_new(ds_multipart_parser **out, const char *boundary,
		     size_t blen, const ds_multipart_opts *opts,
		     const ds_multipart_cb *cb, ds_err *err)
{
	*out = NULL;
	if (blen == 0 || blen > DS_MULTIPART_MAX_BOUNDARY)
		return ds_err_set(err, DS_EINVAL,
				  "multipart boundary must be 1 to %d bytes",
				  DS_MULTIPART_MAX_BOUNDARY);
	for (size_t i = 0; i < blen; i++)
		if (boundary[i] == '\r' || boundary[i] == '\n' || !boundary[i])
			return ds_err_set(err, DS_EINVAL,
					  "multipart boundary holds a control byte");
	int cs = DS_FORM_UTF8;
	if (opts && opts->charset) {
		cs = ds_form_charset_lookup(opts->charset, strlen(opts->charset));
		if (cs < 0) {
			char q[72];
			return ds_err_set(err, DS_EINVAL,
					  "unsupported form charset \"%s\"",
					  ds_quote(opts->charset, q));
		}
	}
	ds_multipart_parser *p = ds_calloc(1, sizeof *p);
	if (!p)
		return nomem(err);
	ds_multipart_opts o = opts ? *opts : (ds_multipart_opts){ 0 };
	p->max_parts = o.max_parts ? o.max_parts : DS_MULTIPART_MAX_PARTS;
	p->max_header = o.max_header ? o.max_header : DS_MULTIPART_MAX_HEADER;
	p->max_value = o.max_value ? o.max_value : DS_MULTIPART_MAX_VALUE;
	p->max_file = o.max_file ? o.max_file : DS_MULTIPART_MAX_FILE;
	p->max_total = o.max_total ? o.max_total : DS_MULTIPART_MAX_TOTAL;
	p->flags = o.flags;
	p->cs = cs;
	p->cs_found = (o.flags & DS_MULTIPART_NO_CHARSET_FIELD) != 0;
	if (cb)
		p->cb = *cb;
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, boundary, blen);
	p->dlen = blen + 4;
	p->state = S_START;
	p->m = 2; /* the first boundary has no CRLF before it */
	p->tail = &p->head;
	*out = p;
	return 0;
}

void ds_multipart_free(ds_multipart_parser *p)
{
	if (!p)
		return;
	part_clear(p);
	for (struct held *h = p->head, *n; h; h = n) {
		n = h->next;
		ds_free(h);
	}
	ds_free(p->hbuf);
	ds_free(p->val);
	ds_free(p->conv);
	ds_free(p);
}

size_t ds_multipart_parts(const ds_multipart_parser *p)
{
	return p->parts;
}

/* ---- fields ---- */

/* Strict: text of a part (what: "value", "filename"...) read in charset
 * cs that is not what cs says; part names it. */
static int bad_utf8(int cs, const char *what, const char *s, size_t n, const char *part,
		    ds_err *err)
{
	if (cs != DS_FORM_UTF8)
		return 0;
	size_t at = ds_utf8_bad_at(s, n);
	if (at == n)
		return 0;
	char q[72];
	return ds_err_set(err, DS_EINVAL,
			  "the %s of part \"%s\" is not valid UTF-8: byte 0x%02X at byte %zu (a "
			  "form sent in another charset must say so, in a charset parameter or a "
			  "_charset_ field)", what, ds_quote(part, q), (unsigned char)s[at], at);
}

static int emit(ds_multipart_parser *p, const char *name, size_t nlen,
		const char *val, size_t vlen, int vcs, ds_err *err)
{
	if (!p->cb.field)
		return 0;
	if (p->flags & DS_MULTIPART_STRICT) {
		int rc = bad_utf8(p->cs, "field name", name, nlen, name, err);
		if (!rc)
			rc = bad_utf8(vcs >= 0 ? vcs : p->cs, "value", val, vlen, name, err);
		if (rc)
			return rc;
	}
	size_t need = DS_FORM_UTF8_MAX(nlen) + DS_FORM_UTF8_MAX(vlen) + 2;
	if (ds_grow(&p->conv, &p->convcap, need))
		return nomem(err);
	size_t n = ds_form_to_utf8(p->cs, name, nlen, p->conv);
	p->conv[n] = '\0';
	char *v = p->conv + n + 1;
	size_t k = ds_form_to_utf8(vcs >= 0 ? vcs : p->cs, val, vlen, v);
	v[k] = '\0';
	int rc = p->cb.field(p->cb.ud, p->conv, n, v, k, err);
	if (rc < 0 && (!err || err->code != rc))
		rc = ds_err_set(err, rc, "form field callback failed");
	return rc;
}

static int flush_held(ds_multipart_parser *p, ds_err *err)
{
	int rc = 0;
	while (p->head) {
		struct held *h = p->head;
		if (!rc)
			rc = emit(p, h->data, h->nlen, h->data + h->nlen + 1,
				  h->vlen, h->vcs, err);
		p->head = h->next;
		ds_free(h);
	}
	p->tail = &p->head;
	return rc;
}

static int field_done(ds_multipart_parser *p, ds_err *err)
{
	const char *val = p->val ? p->val : "";
	if (p->cs_found)
		return emit(p, p->name, p->nlen, val, p->vlen, p->vcs, err);
	struct held *h = ds_malloc(sizeof *h + p->nlen + p->vlen + 2);
	if (!h)
		return nomem(err);
	h->next = NULL;
	h->vcs = p->vcs;
	h->nlen = p->nlen;
	h->vlen = p->vlen;
	memcpy(h->data, p->name, p->nlen + 1);
	memcpy(h->data + p->nlen + 1, val, p->vlen);
	h->data[p->nlen + 1 + p->vlen] = '\0';
	*p->tail = h;
	p->tail = &h->next;
	if (lower_eq(p->name, p->nlen, "_charset_") && p->vlen > 0) {
		int cs = ds_form_charset_lookup(val, p->vlen);
		if (cs < 0) {
			char q[72], tmp[73];
			size_t n = p->vlen < 72 ? p->vlen : 71;
			memcpy(tmp, val, n);
			tmp[n] = '\0';
			return ds_err_set(err, DS_EINVAL,
					  "unsupported form charset \"%s\"",
					  ds_quote(tmp, q));
		}
		p->cs = cs;
		p->cs_found = true;
		return flush_held(p, err);
	}
	return 0;
}

/* ---- part data ---- */

static int cb_rc(int rc, const char *what, ds_err *err)
{
	if (rc < 0 && (!err || err->code != rc))
		rc = ds_err_set(err, rc, "%s callback failed", what);
	return rc;
}

/* Decoded bytes of the current part. */
static int sink(ds_multipart_parser *p, const char *s, size_t n, ds_err *err)
{
	if (!n)
		return 0;
	if (p->is_file) {
		if (n > p->max_file - p->file.size)
			return ds_err_set(err, DS_ELIMIT,
					  "file \"%s\" is larger than max_file (%zu bytes)",
					  p->file.filename, p->max_file);
		p->file.size += n;
		ds_sha256_update(p->sha, s, n);
		if (p->cb.file_data)
			return cb_rc(p->cb.file_data(p->cb.ud, &p->file, s, n, err),
				     "file data", err);
		return 0;
	}
	if (n > p->max_value - p->vlen) {
		char q[72];
		return ds_err_set(err, DS_ELIMIT,
				  "value of field \"%s\" is longer than max_value (%zu bytes)",
				  ds_quote(p->name, q), p->max_value);
	}
	if (ds_grow(&p->val, &p->vcap, p->vlen + n + 1))
		return nomem(err);
	memcpy(p->val + p->vlen, s, n);
	p->vlen += n;
	return 0;
}

static const signed char b64[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
}; /* value + 1; 0 is not base64 */

static int bad_b64(ds_multipart_parser *p, ds_err *err)
{
	char q[72];
	return ds_err_set(err, DS_EINVAL, "bad base64 in part \"%s\" near byte %zu",
			  ds_quote(p->name, q), p->total);
}

/* Decodes up to 1024 input bytes into out (room for 3072 + 2). */
static int decode(ds_multipart_parser *p, const unsigned char *s, size_t n,
		  char *out, size_t *olen, ds_err *err)
{
	size_t k = 0;
	if (p->enc == ENC_BASE64) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = s[i];
			if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
				continue;
			if (c == '=') {
				if (p->b64end)
					continue;
				if (p->b64n == 2)
					out[k++] = (char)((p->acc >> 4) & 0xFF);
				else if (p->b64n == 3) {
					out[k++] = (char)((p->acc >> 10) & 0xFF);
					out[k++] = (char)((p->acc >> 2) & 0xFF);
				} else
					return bad_b64(p, err);
				p->b64n = 0;
				p->b64end = true;
				continue;
			}
			if (!b64[c] || p->b64end)
				return bad_b64(p, err);
			p->acc = (p->acc << 6) | (uint32_t)(b64[c] - 1);
			if (++p->b64n == 4) {
				out[k++] = (char)((p->acc >> 16) & 0xFF);
				out[k++] = (char)((p->acc >> 8) & 0xFF);
				out[k++] = (char)(p->acc & 0xFF);
				p->b64n = 0;
			}
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = s[i];
			switch (p->qp) {
			case 0:
				if (c == '=')
					p->qp = 1;
				else
					out[k++] = (char)c;
				break;
			case 1:
				if (hexval(c) >= 0) {
					p->qph = (char)c;
					p->qp = 2;
				} else if (c == '\r') {
					p->qp = 3;
				} else if (c == '\n') {
					p->qp = 0;
				} else {
					out[k++] = '=';
					p->qp = 0;
					i--; /* again in state 0 */
				}
				break;
			case 2:
				p->qp = 0;
				if (hexval(c) >= 0) {
					out[k++] = (char)(hexval((unsigned char)p->qph) * 16 +
							  hexval(c));
				} else {
					out[k++] = '=';
					out[k++] = p->qph;
					i--;
				}
				break;
			default: /* "=\r" */
				p->qp = 0;
				if (c != '\n') {
					out[k++] = '=';
					out[k++] = '\r';
					i--;
				}
				break;
			}
		}
	}
	*olen = k;
	return 0;
}

static int data(ds_multipart_parser *p, const char *s, size_t n, ds_err *err)
{
	if (p->enc == ENC_IDENTITY)
		return sink(p, s, n, err);
	char out[3 * 1024 + 8];
	while (n) {
		size_t take = n < 1024 ? n : 1024, k = 0;
		int rc = decode(p, (const unsigned char *)s, take, out, &k, err);
		if (!rc)
			rc = sink(p, out, k, err);
		if (rc)
			return rc;
		s += take;
		n -= take;
	}
	return 0;
}

/* The part's data ended at a delimiter. */
static int part_end(ds_multipart_parser *p, ds_err *err)
{
	int rc = 0;
	if (p->enc == ENC_BASE64 && p->b64n)
		return bad_b64(p, err);
	if (p->enc == ENC_QP && p->qp) {
		char tail[2] = { '=', p->qp == 2 ? p->qph : '\r' };
		rc = sink(p, tail, p->qp == 1 ? 1 : 2, err);
		if (rc)
			return rc;
	}
	if (p->is_file) {
		ds_sha256_end(p->sha, p->file.sha256);
		p->sha = NULL;
		if (p->cb.file_end)
			rc = cb_rc(p->cb.file_end(p->cb.ud, &p->file, err), "file end", err);
	} else {
		rc = field_done(p, err);
	}
	part_clear(p);
	return rc;
}

/* ---- headers ---- */

static int bad(ds_multipart_parser *p, const char *what, ds_err *err)
{
	return ds_err_set(err, DS_EINVAL, "multipart body: %s at byte %zu", what,
			  p->total);
}

static int headers_done(ds_multipart_parser *p, ds_err *err)
{
	char *h = p->hbuf;
	size_t n = p->hlen - 2; /* the blank line */
	const char *cd = NULL, *ct = NULL, *cte = NULL;
	size_t cdl = 0, ctl = 0, ctel = 0;
	/* unfold continuation lines */
	for (size_t i = 0; i + 2 < n; i++)
		if (h[i] == '\r' && is_ows((unsigned char)h[i + 2]))
			h[i] = h[i + 1] = ' ';
	for (size_t i = 0; i < n;) {
		char *line = h + i;
		char *eol = memchr(line, '\r', n - i);
		size_t ll = (size_t)(eol - line);
		i += ll + 2;
		if (ll && is_ows((unsigned char)line[0]))
			return bad(p, "a continuation line without a header", err);
		char *colon = memchr(line, ':', ll);
		if (!colon || colon == line)
			return bad(p, "a header line without a name", err);
		for (char *c = line; c < colon; c++)
			if (!is_tchar((unsigned char)*c))
				return bad(p, "a bad header name", err);
		const char *v = colon + 1;
		size_t vl = trim(&v, ll - (size_t)(v - line));
		size_t nl = (size_t)(colon - line);
		if (lower_eq(line, nl, "content-disposition")) {
			cd = v;
			cdl = vl;
		} else if (lower_eq(line, nl, "content-type")) {
			ct = v;
			ctl = vl;
		} else if (lower_eq(line, nl, "content-transfer-encoding")) {
			cte = v;
			ctel = vl;
		}
	}
	if (!cd)
		return bad(p, "a part without Content-Disposition", err);
	char *fn = NULL, *fnx = NULL, *cs = NULL;
	size_t fnl = 0, fnxl = 0, csl = 0;
	int rc = param_get(cd, cdl, "name", &p->name, &p->nlen);
	if (!rc)
		rc = param_get(cd, cdl, "filename", &fn, &fnl);
	if (!rc)
		rc = param_get(cd, cdl, "filename*", &fnx, &fnxl);
	if (!rc && ct)
		rc = param_get(ct, ctl, "charset", &cs, &csl);
	if (rc) {
		rc = nomem(err);
		goto done;
	}
	if (!p->name) {
		rc = bad(p, "a part without a name", err);
		goto done;
	}
	p->enc = ENC_IDENTITY;
	if (cte && lower_eq(cte, ctel, "base64"))
		p->enc = ENC_BASE64;
	else if (cte && lower_eq(cte, ctel, "quoted-printable"))
		p->enc = ENC_QP;
	p->acc = 0;
	p->b64n = 0;
	p->b64end = false;
	p->qp = 0;
	p->vlen = 0;
	p->is_file = fn || fnx;
	p->vcs = -1;
	p->in_part = true;
	if (!p->is_file) {
		if (cs) {
			p->vcs = ds_form_charset_lookup(cs, csl);
			if (p->vcs < 0) {
				char q[72];
				rc = ds_err_set(err, DS_EINVAL,
						"unsupported charset \"%s\" in part \"%s\"",
						ds_quote(cs, q), p->name);
			}
		}
		goto done;
	}
	bool oom = false;
	if (p->flags & DS_MULTIPART_STRICT) {
		rc = bad_utf8(p->cs, "field name", p->name, p->nlen, p->name, err);
		if (!rc && fn)
			rc = bad_utf8(p->cs, "filename", fn, fnl, p->name, err);
		if (!rc && fnx)
			rc = ext_strict(fnx, fnxl, p->name, err);
		if (rc)
			goto done;
	}
	if (fnx)
		p->filename = ext_value(fnx, fnxl, &oom);
	if (!p->filename && !oom)
		p->filename = fn ? to_utf8(p->cs, fn, fnl) : ds_strdup("");
	p->ctype = ct ? to_utf8(DS_FORM_UTF8, ct, ctl)
		      : ds_strdup("application/octet-stream");
	char *nm = to_utf8(p->cs, p->name, p->nlen);
	if (nm) {
		ds_free(p->name);
		p->name = nm;
		p->nlen = strlen(nm);
	}
	p->sha = ds_sha256_begin();
	if (!p->filename || !p->ctype || !nm || !p->sha) {
		rc = nomem(err);
		goto done;
	}
	memset(&p->file, 0, sizeof p->file);
	p->file.name = p->name;
	p->file.filename = p->filename;
	p->file.content_type = p->ctype;
	if (p->cb.file_begin)
		rc = cb_rc(p->cb.file_begin(p->cb.ud, &p->file, err), "file begin", err);
done:
	ds_free(fn);
	ds_free(fnx);
	ds_free(cs);
	return rc;
}

/* "--boundary" for a message, as ds_quote shows it. */
static const char *show_boundary(const char *b, size_t n, char q[static 72])
{
	char raw[2 + DS_MULTIPART_MAX_BOUNDARY + 1];
	memcpy(raw, "--", 2);
	memcpy(raw + 2, b, n);
	raw[n + 2] = '\0';
	return ds_quote(raw, q);
}

/* The body does not start with "--boundary". */
static int no_start(ds_multipart_parser *p, ds_err *err)
{
	char q[72];
	return ds_err_set(err, DS_EINVAL,
			  "multipart body: the body starts with something other than its "
			  "boundary \"%s\" (byte %zu differs)",
			  show_boundary(p->delim + 4, p->dlen - 4, q), p->total);
}

/* A delimiter followed by CRLF: a new part's headers start. */
static int part_start(ds_multipart_parser *p, ds_err *err)
{
	if (p->parts >= p->max_parts)
		return ds_err_set(err, DS_ELIMIT,
				  "multipart body has more than max_parts (%zu) parts",
				  p->max_parts);
	p->parts++;
	p->hlen = 0;
	p->state = S_HEADERS;
	return 0;
}

/* The bytes after a delimiter were not "--" or padding and CRLF: the
 * delimiter was data. */
static int not_delim(ds_multipart_parser *p, ds_err *err)
{
	if (!p->in_part)
		return bad(p, "no boundary where the body starts", err);
	int rc = data(p, p->delim, p->dlen, err);
	if (!rc)
		rc = data(p, p->after, p->nafter, err);
	p->state = S_BODY;
	p->m = 0;
	p->nafter = 0;
	return rc;
}

/* The delimiter is confirmed. */
static int delim_end(ds_multipart_parser *p, bool last, ds_err *err)
{
	int rc = p->in_part ? part_end(p, err) : 0;
	if (rc)
		return rc;
	if (last) {
		p->state = S_END;
		return 0;
	}
	return part_start(p, err);
}

static int run(ds_multipart_parser *p, const char *s, size_t len, ds_err *err)
{
	size_t i = 0;
	int rc = 0;
	while (i < len && !rc) {
		unsigned char c = (unsigned char)s[i];
		switch (p->state) {
		case S_START:
			if (c != (unsigned char)p->delim[p->m])
				return no_start(p, err);
			p->total++, i++;
			if (++p->m == p->dlen) {
				p->state = S_AFTER;
				p->nafter = 0;
				p->m = 0;
			}
			break;
		case S_AFTER:
			if (p->nafter == 0) {
				if (c == '-' || c == '\r') {
					p->after[p->nafter++] = (char)c;
					p->total++, i++;
				} else if (is_ows(c)) {
					p->state = S_PAD;
					p->total++, i++;
				} else {
					rc = not_delim(p, err);
				}
			} else if ((p->after[0] == '-' && c == '-') ||
				   (p->after[0] == '\r' && c == '\n')) {
				p->total++, i++;
				p->nafter = 0;
				rc = delim_end(p, c == '-', err);
			} else {
				rc = not_delim(p, err);
			}
			break;
		case S_PAD:
			if (c == '\r')
				p->state = S_PAD_LF;
			else if (!is_ows(c))
				return bad(p, "a boundary followed by other text", err);
			p->total++, i++;
			break;
		case S_PAD_LF:
			if (c != '\n')
				return bad(p, "a boundary followed by other text", err);
			p->total++, i++;
			rc = delim_end(p, false, err);
			break;
		case S_HEADERS:
			if (p->hlen && p->hbuf[p->hlen - 1] == '\r' && c != '\n')
				return bad(p, "a CR without LF in part headers", err);
			if (c == '\n' && (!p->hlen || p->hbuf[p->hlen - 1] != '\r'))
				return bad(p, "a LF without CR in part headers", err);
			if (!c)
				return bad(p, "a NUL byte in part headers", err);
			if (p->hlen >= p->max_header)
				return ds_err_set(err, DS_ELIMIT,
						  "the headers of part %zu are longer than max_header (%zu bytes)",
						  p->parts, p->max_header);
			if (ds_grow(&p->hbuf, &p->hcap, p->hlen + 1))
				return nomem(err);
			p->hbuf[p->hlen++] = (char)c;
			p->total++, i++;
			if (c == '\n' && (p->hlen == 2 ||
					  (p->hlen >= 4 && !memcmp(p->hbuf + p->hlen - 4, "\r\n\r\n", 4)))) {
				p->state = S_BODY;
				p->m = 0;
				rc = headers_done(p, err);
			}
			break;
		case S_BODY:
			if (p->m == 0) {
				const char *r = memchr(s + i, '\r', len - i);
				size_t end = r ? (size_t)(r - s) : len;
				if (end > i) {
					rc = data(p, s + i, end - i, err);
					p->total += end - i;
					i = end;
					break;
				}
				p->m = 1;
				p->total++, i++;
				break;
			}
			if (c == (unsigned char)p->delim[p->m]) {
				p->total++, i++;
				if (++p->m == p->dlen) {
					p->state = S_AFTER;
					p->nafter = 0;
					p->m = 0;
				}
				break;
			}
			rc = data(p, p->delim, p->m, err);
			p->m = 0;
			break;
		case S_END:
			p->total += len - i;
			i = len;
			break;
		default:
			return ds_err_set(err, DS_EINTERNAL, "multipart parser already finished");
		}
	}
	return rc;
}

/* The body ended before "--boundary--". */
static int cut_off(ds_multipart_parser *p, ds_err *err)
{
	char q[72], bq[72], where[120] = "";
	if (p->state == S_START)
		return ds_err_set(err, DS_EINVAL, "multipart body: empty, or shorter than its boundary");
	if (p->in_part)
		snprintf(where, sizeof where, ", in part %zu (\"%s\"),", p->parts, ds_quote(p->name, q));
	else if (p->state == S_HEADERS)
		snprintf(where, sizeof where, ", in the headers of part %zu,", p->parts);
	return ds_err_set(err, DS_EINVAL,
			  "multipart body: the body ends at byte %zu%s without its closing boundary "
			  "\"%s--\" (an upload cut off?)", p->total, where,
			  show_boundary(p->delim + 4, p->dlen - 4, bq));
}

static int stopped(const ds_multipart_parser *p, ds_err *err)
{
	return ds_err_set(err, p->failed,
			  "multipart parser stopped by an earlier error");
}

int ds_multipart_feed(ds_multipart_parser *p, const char *data_, size_t len,
		      ds_err *err)
{
	if (p->failed)
		return stopped(p, err);
	if (len > p->max_total - p->total)
		return p->failed = ds_err_set(err, DS_ELIMIT,
					      "multipart body is longer than max_total (%zu bytes)",
					      p->max_total);
	int rc = run(p, data_, len, err);
	if (rc)
		p->failed = rc;
	return rc;
}

int ds_multipart_finish(ds_multipart_parser *p, ds_err *err)
{
	if (p->failed)
		return stopped(p, err);
	int rc;
	if (p->state == S_DONE)
		rc = ds_err_set(err, DS_EINTERNAL, "multipart parser already finished");
	else if (p->state != S_END)
		rc = cut_off(p, err);
	else
		rc = flush_held(p, err);
	p->state = S_DONE;
	if (rc)
		p->failed = rc;
	return rc;
}

int ds_multipart_parse(const char *buf, size_t len, const char *boundary,
		       size_t blen, const ds_multipart_opts *opts,
		       const ds_multipart_cb *cb, ds_err *err)
{
	ds_multipart_parser *p = NULL;
	int rc = ds_multipart_new(&p, boundary, blen, opts, cb, err);
	if (!rc)
		rc = ds_multipart_feed(p, buf, len, err);
	if (!rc)
		rc = ds_multipart_finish(p, err);
	ds_multipart_free(p);
	return rc;
}

/* ---- Content-Type and .mime ---- */

int ds_multipart_boundary(const char *ct, size_t len, const char **boundary,
			  size_t *blen, int *charset, ds_err *err)
{
	const char *semi = memchr(ct, ';', len);
	const char *t = ct;
	size_t tl = trim(&t, semi ? (size_t)(semi - ct) : len);
	if (!lower_eq(t, tl, "multipart/form-data"))
		return ds_err_set(err, DS_EINVAL, "content type is not multipart/form-data");
	char *b = NULL, *cs = NULL;
	size_t bl = 0, csl = 0;
	if (param_get(ct, len, "boundary", &b, &bl) ||
	    (charset && param_get(ct, len, "charset", &cs, &csl))) {
		ds_free(b);
		return nomem(err);
	}
	int rc = 0;
	if (!b || !bl || bl > DS_MULTIPART_MAX_BOUNDARY) {
		rc = ds_err_set(err, DS_EINVAL, "multipart/form-data without a usable boundary");
		goto done;
	}
	/* point into ct: the decoded boundary appears there verbatim unless
	 * it held backslash escapes, which no boundary needs */
	const char *at = NULL;
	for (size_t i = 0; i + bl <= len; i++)
		if (!memcmp(ct + i, b, bl) && (i + bl == len || ct[i + bl] == '"' ||
					       ct[i + bl] == ';' || is_ows((unsigned char)ct[i + bl]))) {
			at = ct + i;
			break;
		}
	if (!at) {
		rc = ds_err_set(err, DS_EINVAL, "multipart boundary with escapes");
		goto done;
	}
	*boundary = at;
	*blen = bl;
	if (charset) {
		*charset = -1;
		if (cs) {
			*charset = ds_form_charset_lookup(cs, csl);
			if (*charset < 0) {
				char q[72];
				rc = ds_err_set(err, DS_EINVAL, "unsupported form charset \"%s\"",
						ds_quote(cs, q));
			}
		}
	}
done:
	ds_free(b);
	ds_free(cs);
	return rc;
}

int ds_multipart_parse_mime(const char *buf, size_t len,
			    const ds_multipart_opts *opts,
			    const ds_multipart_cb *cb, ds_err *err)
{
	size_t scan = len < 4096 ? len : 4096;
	const char *nl = memchr(buf, '\n', scan);
	if (!nl || (size_t)(nl - buf) < 13 || !lower_eq(buf, 13, "content-type:"))
		return ds_err_set(err, DS_EINVAL,
				  ".mime input does not start with a Content-Type line");
	size_t ll = (size_t)(nl - buf);
	if (buf[ll - 1] == '\r')
		ll--;
	const char *b;
	size_t bl;
	int cs;
	int rc = ds_multipart_boundary(buf + 13, ll - 13, &b, &bl, &cs, err);
	if (rc)
		return rc;
	size_t off = (size_t)(nl - buf) + 1;
	if (len - off >= 2 && buf[off] == '\r' && buf[off + 1] == '\n')
		off += 2;
	else if (len - off >= 1 && buf[off] == '\n')
		off += 1;
	ds_multipart_opts o = opts ? *opts : (ds_multipart_opts){ 0 };
	if (!o.charset && cs >= 0)
		o.charset = ds_form_charset_name(cs);
	/* A body that never holds its boundary: say so rather than where
	 * the parse stopped. */
	char d[2 + DS_MULTIPART_MAX_BOUNDARY];
	memcpy(d, "--", 2);
	memcpy(d + 2, b, bl);
	if (len - off && !memmem(buf + off, len - off, d, bl + 2)) {
		char q[72];
		return ds_err_set(err, DS_EINVAL,
				  "multipart body: its boundary \"%s\" (from the Content-Type line) "
				  "appears nowhere in the body", show_boundary(b, bl, q));
	}
	return ds_multipart_parse(buf + off, len - off, b, bl, &o, cb, err);
}

/* ---- JSON ---- */

struct ds_multipart_json {
	ds_form_json *fields;
	ds_form_shape shape;
	cJSON *files;
};

int ds_multipart_json_new(ds_multipart_json **out, ds_form_shape shape,
			  ds_err *err)
{
	*out = ds_calloc(1, sizeof **out);
	if (!*out)
		return nomem(err);
	(*out)->shape = shape;
	int rc = ds_form_json_new(&(*out)->fields, shape, err);
	if (rc) {
		ds_free(*out);
		*out = NULL;
	}
	return rc;
}

void ds_multipart_json_free(ds_multipart_json *j)
{
	if (!j)
		return;
	ds_form_json_free(j->fields);
	cJSON_Delete(j->files);
	ds_free(j);
}

static int json_file_end(void *ud, const ds_multipart_file *f, ds_err *err)
{
	ds_multipart_json *j = ud;
	if (!j->files && !(j->files = cJSON_CreateArray()))
		return nomem(err);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return nomem(err);
	cJSON_AddItemToArray(j->files, o);
	if (!cJSON_AddStringToObject(o, "name", f->name) ||
	    !cJSON_AddStringToObject(o, "filename", f->filename) ||
	    !cJSON_AddStringToObject(o, "content_type", f->content_type) ||
	    !cJSON_AddNumberToObject(o, "size", (double)f->size) ||
	    !cJSON_AddStringToObject(o, "sha256", f->sha256))
		return nomem(err);
	return 0;
}

static int json_field(void *ud, const char *name, size_t nlen,
		      const char *value, size_t vlen, ds_err *err)
{
	ds_multipart_json *j = ud;
	return ds_form_json_field(j->fields, name, nlen, value, vlen, err);
}

void ds_multipart_json_callbacks(ds_multipart_json *j, ds_multipart_cb *cb)
{
	*cb = (ds_multipart_cb){ .field = json_field, .file_end = json_file_end,
				 .ud = j };
}

cJSON *ds_multipart_json_take(ds_multipart_json *j)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *fields = ds_form_json_take(j->fields);
	cJSON *files = j->files ? j->files : cJSON_CreateArray();
	j->files = NULL;
	if (!root || !fields || !files) {
		cJSON_Delete(root);
		cJSON_Delete(fields);
		cJSON_Delete(files);
		return NULL;
	}
	/* adding copies the key, which may fail: the item is then ours */
	if (!cJSON_AddItemToObject(root, "fields", fields)) {
		cJSON_Delete(fields);
		cJSON_Delete(files);
		cJSON_Delete(root);
		return NULL;
	}
	if (!cJSON_AddItemToObject(root, "files", files)) {
		cJSON_Delete(files);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int ds_multipart_parse_json(const char *buf, size_t len, const char *boundary,
			    size_t blen, const ds_multipart_opts *opts,
			    ds_form_shape shape, cJSON **out, ds_err *err)
{
	*out = NULL;
	ds_multipart_json *j = NULL;
	ds_multipart_cb cb;
	int rc = ds_multipart_json_new(&j, shape, err);
	if (rc)
		return rc;
	ds_multipart_json_callbacks(j, &cb);
	rc = ds_multipart_parse(buf, len, boundary, blen, opts, &cb, err);
	if (!rc && !(*out = ds_multipart_json_take(j)))
		rc = nomem(err);
	ds_multipart_json_free(j);
	return rc;
}

int ds_multipart_parse_mime_json(const char *buf, size_t len, const ds_multipart_opts *opts,
				 ds_form_shape shape, cJSON **out, ds_err *err)
{
	*out = NULL;
	ds_multipart_json *j = NULL;
	ds_multipart_cb cb;
	int rc = ds_multipart_json_new(&j, shape, err);
	if (rc)
		return rc;
	ds_multipart_json_callbacks(j, &cb);
	rc = ds_multipart_parse_mime(buf, len, opts, &cb, err);
	if (!rc && !(*out = ds_multipart_json_take(j)))
		rc = nomem(err);
	ds_multipart_json_free(j);
	return rc;
}
