/*
 * normalize.c - the normalizers of mappings; see normalize.h.
 *
 * Each normalizer reads its input once, left to right (look-ahead is
 * bounded: an entity name, a currency word, the end of a tag), writes at
 * most as many bytes as it read, and allocates only its result in the
 * arena. Nothing passes through a binary float: amounts are assembled as
 * decimal text and checked by ds_dec_parse. Identifier rules are those of
 * ident.c, so a normalised SIRET always passes the schema's siret format.
 */
#include "normalize.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "caltime.h"
#include "decimal.h"
#include "ident.h"

static int nomem(ds_err *err)
{
	return ds_err_set(err, DS_ENOMEM, "out of memory");
}

/* Length of the space character at s: ASCII white space, U+00A0 no-break
 * space, U+2009 thin space, U+202F narrow no-break space; 0 if none. */
static size_t space_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] && isspace(u[0]))
		return 1;
	if (u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0x89 || u[2] == 0xAF))
		return 3;
	return 0;
}

/* Length of the space character that ends at e (e > b), or 0. */
static size_t space_before(const char *b, const char *e)
{
	const unsigned char *u = (const unsigned char *)e;
	if (isspace(u[-1]))
		return 1;
	if (e - b >= 2 && u[-2] == 0xC2 && u[-1] == 0xA0)
		return 2;
	if (e - b >= 3 && u[-3] == 0xE2 && u[-2] == 0x80 && (u[-1] == 0x89 || u[-1] == 0xAF))
		return 3;
	return 0;
}

/* Narrows [*b, *e) to its text without surrounding spaces. */
static void trim_bounds(const char **b, const char **e)
{
	size_t k;
	while (*b < *e && (k = space_len(*b)) != 0)
		*b += k;
	while (*e > *b && (k = space_before(*b, *e)) != 0)
		*e -= k;
}


/* DS_EINVAL: "not <what>: "<raw>"". */
static int refuse(ds_err *err, const char *what, const char *raw)
{
	char q[72];
	return ds_err_set(err, DS_EINVAL, "not %s: \"%s\"", what, ds_quote(raw, q));
}

static int keep(ds_arena *a, const char *s, size_t n, const char **out, ds_err *err)
{
	*out = ds_arena_strndup(a, s, n);
	return *out ? DS_OK : nomem(err);
}

/* ---- text ---- */

static int n_trim(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in, *e = in + strlen(in);
	trim_bounds(&b, &e);
	return keep(a, b, (size_t)(e - b), out, err);
}

/* Case mapping for ASCII and the Latin-1 letters (U+00C0..U+00FE), which
 * covers French; other characters pass through unchanged. */
static int change_case(ds_arena *a, const char *in, const char **out, ds_err *err,
		       bool upper)
{
	size_t n = strlen(in);
	char *d = ds_arena_strndup(a, in, n);
	if (!d)
		return nomem(err);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c < 0x80) {
			d[i] = (char)(upper ? toupper(c) : tolower(c));
		} else if (c == 0xC3 && i + 1 < n) {
			unsigned char c2 = (unsigned char)d[i + 1];
			if (!upper && c2 >= 0x80 && c2 <= 0x9E && c2 != 0x97)
				d[i + 1] = (char)(c2 + 0x20);
			else if (upper && c2 >= 0xA0 && c2 <= 0xBE && c2 != 0xB7)
				d[i + 1] = (char)(c2 - 0x20);
			i++;
		}
	}
	*out = d;
	return DS_OK;
}

static int n_lower(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return change_case(a, in, out, err, false);
}

static int n_upper(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return change_case(a, in, out, err, true);
}

static int n_collapse(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *t;
	int rc = n_trim(a, in, &t, err);
	if (rc)
		return rc;
	char *d = (char *)t; /* our own copy */
	size_t w = 0;
	bool space = false;
	for (size_t r = 0; d[r]; r++) {
		if (isspace((unsigned char)d[r])) {
			space = true;
			continue;
		}
		if (space && w)
			d[w++] = ' ';
		space = false;
		d[w++] = d[r];
	}
	d[w] = '\0';
	*out = d;
	return DS_OK;
}

/* Trimmed, lower-cased, and checked to look like one address. */
static int n_email(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *t;
	int rc = n_trim(a, in, &t, err);
	if (rc || (rc = n_lower(a, t, &t, err)))
		return rc;
	const char *at = strchr(t, '@');
	bool ok = at && at != t && !strchr(at + 1, '@') && strchr(at + 1, '.') &&
		  at[1] != '.' && t[strlen(t) - 1] != '.' && strlen(t) <= 254;
	for (const char *p = t; ok && *p; p++)
		if (isspace((unsigned char)*p) || *p == ',' || *p == '<' || *p == '>')
			ok = false;
	if (!ok)
		return refuse(err, "an email address", in);
	*out = t;
	return DS_OK;
}

/* ---- French phone numbers ---- */

/* Overseas départements have their own country codes; their numbers are
 * told apart by the first three digits of the 9-digit national number. */
static const struct {
	char prefix[4];
	char cc[4];
} overseas[] = {
	{ "262", "262" }, { "263", "262" }, { "269", "262" }, { "639", "262" },
	{ "692", "262" }, { "693", "262" },   /* Réunion, Mayotte */
	{ "590", "590" }, { "690", "590" }, { "691", "590" },  /* Guadeloupe, St-Martin, St-Barth */
	{ "594", "594" }, { "694", "594" },   /* Guyane */
	{ "596", "596" }, { "696", "596" }, { "697", "596" },  /* Martinique */
};

/* The country code of a 9-digit national number. */
static const char *country_of(const char *nsn)
{
	for (size_t i = 0; i < sizeof overseas / sizeof *overseas; i++)
		if (!memcmp(nsn, overseas[i].prefix, 3))
			return overseas[i].cc;
	return "33";
}

static int n_phone_fr(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	char d[24];
	size_t n = 0;
	bool plus = false, bad = false;
	for (const char *p = in; *p && !bad;) {
		size_t sp = space_len(p);
		bool intl = plus ? n > 0 : n > 2 && d[0] == '0' && d[1] == '0';
		if (sp)
			p += sp;
		else if (*p == '+' && n == 0 && !plus)
			plus = true, p++;
		else if (intl && !strncmp(p, "(0)", 3))
			p += 3; /* the trunk prefix, not dialled from abroad */
		else if (strchr(".-/()", *p))
			p++;
		else if (*p >= '0' && *p <= '9' && n + 1 < sizeof d)
			d[n++] = *p++;
		else
			bad = true;
	}
	d[n] = '\0';

	const char *nsn = NULL, *cc = NULL;
	const char *intl = plus ? d : n > 2 && d[0] == '0' && d[1] == '0' ? d + 2 : NULL;
	if (bad) {
		/* refused below */
	} else if (intl) {
		static const char *const codes[] = { "33", "262", "590", "594", "596" };
		for (size_t i = 0; i < sizeof codes / sizeof *codes && !nsn; i++) {
			size_t k = strlen(codes[i]);
			if (strncmp(intl, codes[i], k))
				continue;
			const char *rest = intl + k;
			size_t rl = strlen(rest);
			if (rl == 10 && rest[0] == '0') /* "+33 06 ...": the 0 is the trunk prefix */
				rest++, rl--;
			if (rl == 9 && rest[0] != '0'
			    && (i == 0 || !strcmp(country_of(rest), codes[i])))
				nsn = rest;
		}
	} else if (n == 10 && d[0] == '0' && d[1] != '0') {
		nsn = d + 1;
	}
	if (!nsn)
		return refuse(err, "a French phone number", in);
	cc = country_of(nsn);
	*out = ds_arena_printf(a, "+%s%s", cc, nsn);
	return *out ? DS_OK : nomem(err);
}

/* ---- amounts ---- */

/* Length of a sign at s ('-', '+', U+2212 minus), 0 if none; *neg set. */
static size_t sign_len(const char *s, const char *e, bool *neg)
{
	if (s < e && (*s == '-' || *s == '+')) {
		*neg = *s == '-';
		return 1;
	}
	if (e - s >= 3 && !memcmp(s, "\xE2\x88\x92", 3)) {
		*neg = true;
		return 3;
	}
	return 0;
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The euro written before a number: "€", "EUR", "euro", "euros" (any case),
 * a word not followed by a letter. Returns its length or 0. */
static size_t euro_prefix(const char *s, const char *e)
{
	static const char *const words[] = { "euros", "euro", "eur" };
	if (e - s >= 3 && !memcmp(s, "\xE2\x82\xAC", 3))
		return 3;
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(words[i]);
		if ((size_t)(e - s) >= k && !strncasecmp(s, words[i], k)
		    && (s + k == e || !is_letter(s[k])))
			return k;
	}
	return 0;
}

/* The euro written after a number, ending at e. Returns its length or 0. */
static size_t euro_suffix(const char *b, const char *e)
{
	static const char *const words[] = { "euros", "euro", "eur" };
	if (e - b >= 3 && !memcmp(e - 3, "\xE2\x82\xAC", 3))
		return 3;
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(words[i]);
		if ((size_t)(e - b) >= k && !strncasecmp(e - k, words[i], k)
		    && (e - k == b || !is_letter(e[-(long)k - 1])))
			return k;
	}
	return 0;
}

#define AMOUNT_DIGITS 40
#define AMOUNT_SEPS 16

/* Reads "1 234,50", "1.234,50", "1,234.50", "1234.5" between b and e into
 * plain "1234.50" (digits only, one '.'), neg prepended as '-'. Returns
 * false for malformed or ambiguous text. */
static bool plain_amount(const char *b, const char *e, bool neg, char *plain, size_t cap)
{
	char dig[AMOUNT_DIGITS];
	struct {
		char kind; /* ' ', ',' or '.' */
		size_t at; /* digits before it */
	} sep[AMOUNT_SEPS];
	size_t nd = 0, ns = 0;
	int count[3] = { 0 }; /* spaces, commas, dots */
	bool after_digit = false;
	for (const char *p = b; p < e;) {
		size_t k = space_len(p);
		char kind = k ? ' ' : *p == ',' || *p == '.' ? *p : 0;
		if (*p >= '0' && *p <= '9') {
			if (nd == sizeof dig)
				return false;
			dig[nd++] = *p++;
			after_digit = true;
			continue;
		}
		if (!kind || !after_digit || ns == AMOUNT_SEPS)
			return false;
		sep[ns].kind = kind;
		sep[ns++].at = nd;
		count[kind == ' ' ? 0 : kind == ',' ? 1 : 2]++;
		after_digit = false;
		p += k ? k : 1;
	}
	if (!nd || !after_digit)
		return false;

	/* Which mark is decimal, which separator groups thousands. */
	long dec = -1;
	char group = count[0] ? ' ' : 0;
	long last = -1;
	for (size_t i = 0; i < ns; i++)
		if (sep[i].kind != ' ')
			last = (long)i;
	if (last >= 0) {
		char k = sep[last].kind, other = k == ',' ? '.' : ',';
		int nk = count[k == ',' ? 1 : 2], nother = count[other == ',' ? 1 : 2];
		if (nother) {
			if (nk != 1 || count[0])
				return false; /* two kinds of grouping */
			dec = last;
			group = other;
		} else if (nk > 1) {
			if (count[0])
				return false;
			group = k;
		} else {
			size_t before = sep[last].at, after = nd - before;
			if (!count[0] && after == 3 && before <= 3 && dig[0] != '0')
				return false; /* "1,234": a decimal or a thousands mark? */
			dec = last;
		}
	}
	/* Nothing after the decimal mark but digits; groups of three before. */
	if (dec >= 0 && (size_t)dec != ns - 1)
		return false;
	size_t ngroup = dec >= 0 ? (size_t)dec : ns;
	size_t int_digits = dec >= 0 ? sep[dec].at : nd;
	for (size_t i = 0; i < ngroup; i++) {
		size_t start = i ? sep[i - 1].at : 0;
		size_t len = sep[i].at - start;
		if (sep[i].kind != group || len < 1 || len > 3 || (i && len != 3))
			return false;
	}
	if (ngroup && int_digits - sep[ngroup - 1].at != 3)
		return false;

	size_t w = 0;
	if (neg)
		plain[w++] = '-';
	if (w + nd + 2 > cap)
		return false;
	memcpy(plain + w, dig, int_digits);
	w += int_digits;
	if (dec >= 0) {
		plain[w++] = '.';
		memcpy(plain + w, dig + int_digits, nd - int_digits);
		w += nd - int_digits;
	}
	plain[w] = '\0';
	return true;
}

static int n_amount_fr(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in, *e = in + strlen(in);
	bool neg = false, signed_ = false;
	size_t k;
	trim_bounds(&b, &e);
	if ((k = sign_len(b, e, &neg)) != 0) {
		b += k;
		signed_ = true;
		trim_bounds(&b, &e);
	}
	bool euro = false;
	if ((k = euro_prefix(b, e)) != 0) {
		b += k;
		euro = true;
		trim_bounds(&b, &e);
		if (!signed_ && (k = sign_len(b, e, &neg)) != 0) {
			b += k;
			trim_bounds(&b, &e);
		}
	}
	if (e > b && (k = euro_suffix(b, e)) != 0) {
		if (euro)
			return refuse(err, "an amount (currency written twice)", in);
		e -= k;
		trim_bounds(&b, &e);
	}
	char plain[AMOUNT_DIGITS + 3];
	if (!plain_amount(b, e, neg, plain, sizeof plain))
		return refuse(err, "an amount", in);
	ds_dec v;
	if (ds_dec_parse(plain, strlen(plain), &v))
		return refuse(err, "an amount within range", in);
	char buf[48];
	ds_dec_format(v, buf, sizeof buf);
	return keep(a, buf, strlen(buf), out, err);
}

/* ---- dates ---- */

#define DATE_MAX 64

/* Folds a date for matching: lower-case ASCII, accents dropped from the
 * Latin-1 letters, spaces (also U+00A0, U+202F, U+2009) as ' ', superscript
 * "ᵉʳ" as "er"; any other character becomes '\1', which matches nothing.
 * False when the input is longer than DATE_MAX. */
static bool fold_date(const char *in, char *f, size_t cap)
{
	static const char latin1[65] =
		"aaaaaaaceeeeiiii" "dnooooo\1ouuuuy\1s"
		"aaaaaaaceeeeiiii" "dnooooo\1ouuuuy\1y";
	size_t n = 0;
	for (const char *p = in; *p;) {
		const unsigned char *u = (const unsigned char *)p;
		size_t k = space_len(p);
		char c;
		if (k) {
			c = ' ';
		} else if (u[0] < 0x80) {
			c = (char)tolower(u[0]);
			k = 1;
		} else if (u[0] == 0xC3 && u[1] >= 0x80 && u[1] <= 0xBF) {
			c = latin1[u[1] - 0x80];
			k = 2;
		} else if (u[0] == 0xE1 && u[1] == 0xB5 && u[2] == 0x89) {
			c = 'e'; /* U+1D49 modifier letter small e */
			k = 3;
		} else if (u[0] == 0xCA && u[1] == 0xB3) {
			c = 'r'; /* U+02B3 modifier letter small r */
			k = 2;
		} else {
			c = '\1';
			k = 1;
		}
		if (n + 1 >= cap)
			return false;
		f[n++] = c;
		p += k;
	}
	f[n] = '\0';
	return true;
}

/* The value of the n1..n2 digits at *p (advanced), or -1. */
static int digits(const char **p, int n1, int n2, int *count)
{
	int v = 0, n = 0;
	while (n < n2 && **p >= '0' && **p <= '9')
		v = v * 10 + (*(*p)++ - '0'), n++;
	if (count)
		*count = n;
	return n >= n1 ? v : -1;
}

/* "22/11/2026", "22-11-26", "22.11.2026", "2026-11-22". */
static bool numeric_date(const char *s, int *y, int *m, int *d)
{
	const char *p = s;
	int n;
	int first = digits(&p, 1, 4, &n);
	if (first < 0 || !*p || !strchr("/-.", *p))
		return false;
	char sep = *p++;
	if (n == 4) {
		if (sep != '-')
			return false;
		*y = first;
		*m = digits(&p, 2, 2, NULL);
		if (*m < 0 || *p++ != '-')
			return false;
		*d = digits(&p, 2, 2, NULL);
		return *d >= 0 && !*p;
	}
	if (n > 2)
		return false;
	*d = first;
	*m = digits(&p, 1, 2, NULL);
	if (*m < 0 || *p++ != sep)
		return false;
	*y = digits(&p, 2, 4, &n);
	if (*y < 0 || n == 3 || *p)
		return false;
	if (n == 2)
		*y += *y < 70 ? 2000 : 1900; /* as POSIX strptime %y */
	return true;
}

static const char *const weekdays[7][2] = {
	{ "lundi", "lun" }, { "mardi", "mar" }, { "mercredi", "mer" }, { "jeudi", "jeu" },
	{ "vendredi", "ven" }, { "samedi", "sam" }, { "dimanche", "dim" },
};

static const char *const months[12][4] = {
	{ "janvier", "janv", "jan", NULL },
	{ "fevrier", "fevr", "fev", NULL },
	{ "mars", NULL, NULL, NULL },
	{ "avril", "avr", NULL, NULL },
	{ "mai", NULL, NULL, NULL },
	{ "juin", NULL, NULL, NULL },
	{ "juillet", "juil", NULL, NULL },
	{ "aout", NULL, NULL, NULL },
	{ "septembre", "sept", "sep", NULL },
	{ "octobre", "oct", NULL, NULL },
	{ "novembre", "nov", NULL, NULL },
	{ "decembre", "dec", NULL, NULL },
};

/* Index of the token (a trailing '.' ignored) among the names of rows of
 * width w, or -1. */
static int lookup(const char *tok, const char *const *names, int rows, int w)
{
	size_t n = strlen(tok);
	if (n && tok[n - 1] == '.')
		n--;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < w && names[r * w + c]; c++)
			if (strlen(names[r * w + c]) == n && !memcmp(names[r * w + c], tok, n))
				return r;
	return -1;
}

/* "[le] [weekday[,]] day[er] month year", folded. *wd is -1 when no
 * weekday is written. */
static bool text_date(char *s, int *y, int *m, int *d, int *wd)
{
	char *tok[8], *save = NULL;
	int nt = 0;
	for (char *t = strtok_r(s, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		if (nt == 8)
			return false;
		tok[nt++] = t;
	}
	int i = 0;
	*wd = -1;
	if (i < nt && !strcmp(tok[i], "le"))
		i++;
	if (i < nt && (*wd = lookup(tok[i], &weekdays[0][0], 7, 2)) >= 0)
		i++;
	if (i < nt && !strcmp(tok[i], "le"))
		i++;
	if (nt - i != 3)
		return false;
	const char *p = tok[i];
	*d = digits(&p, 1, 2, NULL);
	if (*d < 0 || (*p && !(*d == 1 && !strcmp(p, "er"))))
		return false;
	if ((*m = lookup(tok[i + 1], &months[0][0], 12, 4)) < 0)
		return false;
	(*m)++;
	p = tok[i + 2];
	*y = digits(&p, 4, 4, NULL);
	return *y >= 0 && !*p;
}

static int n_date_fr(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	char f[DATE_MAX + 1];
	const char *b = in, *e = in + strlen(in);
	trim_bounds(&b, &e);
	if ((size_t)(e - b) > DATE_MAX)
		return refuse(err, "a date", in);
	char t[DATE_MAX + 1];
	memcpy(t, b, (size_t)(e - b));
	t[e - b] = '\0';
	int y = -1, m = -1, d = -1, wd = -1;
	if (!fold_date(t, f, sizeof f)
	    || !(numeric_date(f, &y, &m, &d) || text_date(f, &y, &m, &d, &wd))
	    || y < 1000 || y > 9999)
		return refuse(err, "a date", in);
	char iso[16];
	snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, d);
	int yy, mm, dd;
	if (ds_date_parse(iso, &yy, &mm, &dd))
		return refuse(err, "a date (no such day)", in);
	/* A written weekday is read and not checked: in typed French text the
	 * day number is what people copy from a calendar, and the weekday
	 * beside it is often a slip ("lundi 22 novembre 2026"). */
	(void)wd;
	return keep(a, iso, 10, out, err);
}

/* ---- HTML ---- */

/* Output of strip_html: never longer than the input (every byte written
 * stands for at least one byte read), so it is allocated once. */
struct text {
	char *d;
	size_t n, cap;
	bool space;  /* white space seen since the last character */
	int breaks;  /* line breaks just written */
};

static void put(struct text *t, const char *s, size_t k)
{
	if (t->space && t->n && !t->breaks && t->n < t->cap)
		t->d[t->n++] = ' ';
	t->space = false;
	for (size_t i = 0; i < k && t->n < t->cap; i++)
		t->d[t->n++] = s[i];
	t->breaks = 0;
}

static void line_break(struct text *t)
{
	t->space = false;
	if (t->n && t->breaks < 2 && t->n < t->cap) {
		t->d[t->n++] = '\n';
		t->breaks++;
	}
}

static size_t utf8_put(unsigned long cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	u[0] = (char)(0xF0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	u[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static const struct {
	const char *name;
	unsigned short cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", 0xA0 }, { "iexcl", 0xA1 }, { "cent", 0xA2 }, { "pound", 0xA3 },
	{ "yen", 0xA5 }, { "sect", 0xA7 }, { "copy", 0xA9 }, { "ordf", 0xAA },
	{ "laquo", 0xAB }, { "shy", 0xAD }, { "reg", 0xAE }, { "deg", 0xB0 },
	{ "plusmn", 0xB1 }, { "sup2", 0xB2 }, { "sup3", 0xB3 }, { "micro", 0xB5 },
	{ "para", 0xB6 }, { "middot", 0xB7 }, { "sup1", 0xB9 }, { "ordm", 0xBA },
	{ "raquo", 0xBB }, { "frac14", 0xBC }, { "frac12", 0xBD }, { "frac34", 0xBE },
	{ "iquest", 0xBF }, { "Agrave", 0xC0 }, { "Aacute", 0xC1 }, { "Acirc", 0xC2 },
	{ "Auml", 0xC4 }, { "AElig", 0xC6 }, { "Ccedil", 0xC7 }, { "Egrave", 0xC8 },
	{ "Eacute", 0xC9 }, { "Ecirc", 0xCA }, { "Euml", 0xCB }, { "Icirc", 0xCE },
	{ "Iuml", 0xCF }, { "Ntilde", 0xD1 }, { "Ocirc", 0xD4 }, { "Ouml", 0xD6 },
	{ "times", 0xD7 }, { "Ugrave", 0xD9 }, { "Ucirc", 0xDB }, { "Uuml", 0xDC },
	{ "szlig", 0xDF }, { "agrave", 0xE0 }, { "aacute", 0xE1 }, { "acirc", 0xE2 },
	{ "auml", 0xE4 }, { "aelig", 0xE6 }, { "ccedil", 0xE7 }, { "egrave", 0xE8 },
	{ "eacute", 0xE9 }, { "ecirc", 0xEA }, { "euml", 0xEB }, { "iacute", 0xED },
	{ "icirc", 0xEE }, { "iuml", 0xEF }, { "ntilde", 0xF1 }, { "oacute", 0xF3 },
	{ "ocirc", 0xF4 }, { "ouml", 0xF6 }, { "divide", 0xF7 }, { "ugrave", 0xF9 },
	{ "uacute", 0xFA }, { "ucirc", 0xFB }, { "uuml", 0xFC }, { "yuml", 0xFF },
	{ "OElig", 0x152 }, { "oelig", 0x153 }, { "Yuml", 0x178 }, { "ensp", 0x2002 },
	{ "emsp", 0x2003 }, { "thinsp", 0x2009 }, { "ndash", 0x2013 }, { "mdash", 0x2014 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "sbquo", 0x201A }, { "ldquo", 0x201C },
	{ "rdquo", 0x201D }, { "bdquo", 0x201E }, { "bull", 0x2022 }, { "hellip", 0x2026 },
	{ "euro", 0x20AC }, { "trade", 0x2122 },
};

/* HTML reads &#128;..&#159; as Windows-1252, as French pages written on
 * Windows expect (&#146; is an apostrophe); 0 marks the unassigned ones. */
static const unsigned short cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* Decodes the entity at s ('&...;') into u; returns the bytes it covers,
 * or 0 when it is not one (the '&' is then text). */
static size_t entity(const char *s, char u[static 4], size_t *ulen)
{
	const char *p = s + 1;
	unsigned long cp = 0;
	if (*p == '#') {
		bool hex = p[1] == 'x' || p[1] == 'X';
		p += hex ? 2 : 1;
		int n = 0;
		for (; n < 8; n++, p++) {
			int v = *p >= '0' && *p <= '9' ? *p - '0'
				: hex && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
				: hex && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
			if (v < 0)
				break;
			cp = cp * (hex ? 16 : 10) + (unsigned long)v;
		}
		if (!n || *p != ';')
			return 0;
		if (cp >= 0x80 && cp <= 0x9F && cp1252[cp - 0x80])
			cp = cp1252[cp - 0x80];
		else if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF
			 || (cp >= 0x80 && cp <= 0x9F))
			cp = 0xFFFD;
	} else {
		size_t n = 0;
		while (n < 8 && ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z')
				 || (p[n] >= '0' && p[n] <= '9')))
			n++;
		if (!n || p[n] != ';')
			return 0;
		size_t i = 0;
		while (i < sizeof entities / sizeof *entities
		       && !(strlen(entities[i].name) == n && !memcmp(entities[i].name, p, n)))
			i++;
		if (i == sizeof entities / sizeof *entities)
			return 0;
		cp = entities[i].cp;
		p += n;
	}
	*ulen = utf8_put(cp, u);
	return (size_t)(p + 1 - s);
}

/* Elements whose end is a line break. */
static bool is_block(const char *name)
{
	static const char *const blocks[] = {
		"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
		"pre", "table", "ul", "ol", "dl", "dt", "dd", "section", "article",
		"header", "footer", "address",
	};
	for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
		if (!strcmp(name, blocks[i]))
			return true;
	return false;
}

/* The end of the tag starting at s ('<'), past its '>' (quoted values may
 * hold '>'), or the end of the text. */
static const char *tag_end(const char *s)
{
	char quote_char = 0;
	for (const char *p = s + 1; *p; p++) {
		if (quote_char) {
			if (*p == quote_char)
				quote_char = 0;
		} else if (*p == '"' || *p == '\'') {
			quote_char = *p;
		} else if (*p == '>') {
			return p + 1;
		}
	}
	return s + strlen(s);
}

static int n_strip_html(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	size_t len = strlen(in);
	struct text t = { ds_arena_alloc(a, len + 1), 0, len, false, 0 };
	if (!t.d)
		return nomem(err);
	const char *p = in, *end = in + len;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '<' && !strncmp(p, "<!--", 4)) {
			const char *q = strstr(p + 4, "-->");
			p = q ? q + 3 : end;
		} else if (c == '<' && (p[1] == '!' || p[1] == '?')) {
			p = tag_end(p);
		} else if (c == '<' && (isalpha((unsigned char)p[1])
					|| (p[1] == '/' && isalpha((unsigned char)p[2])))) {
			bool closing = p[1] == '/';
			const char *q = p + (closing ? 2 : 1);
			char name[12];
			size_t n = 0;
			while (isalnum((unsigned char)*q)) {
				if (n + 1 < sizeof name)
					name[n++] = (char)tolower((unsigned char)*q);
				q++;
			}
			name[n] = '\0';
			const char *after = tag_end(p);
			p = after;
			if (!closing && (!strcmp(name, "script") || !strcmp(name, "style"))
			    && !(after - 2 > q && after[-1] == '>' && after[-2] == '/')) {
				/* Raw text up to the matching end tag, or to the end. */
				char close[10];
				snprintf(close, sizeof close, "</%s", name);
				const char *c2 = strcasestr(p, close);
				p = c2 ? tag_end(c2) : end;
			} else if (!strcmp(name, "br") || !strcmp(name, "hr")
				   || (closing && is_block(name))) {
				line_break(&t);
			}
		} else if (c == '&') {
			char u[4];
			size_t ulen = 0, used = entity(p, u, &ulen);
			if (used) {
				put(&t, u, ulen);
				p += used;
			} else {
				put(&t, p++, 1);
			}
		} else if (isspace(c)) {
			t.space = true;
			p++;
		} else {
			put(&t, p++, 1);
		}
	}
	while (t.n && t.d[t.n - 1] == '\n')
		t.n--;
	t.d[t.n] = '\0';
	*out = t.d;
	return DS_OK;
}

/* ---- booleans ---- */

static int n_bool(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	static const char *const yes[] = { "oui", "vrai", "yes", "on", "true", "1" };
	static const char *const no[] = { "non", "faux", "no", "off", "false", "0" };
	const char *b = in, *e = in + strlen(in);
	trim_bounds(&b, &e);
	size_t n = (size_t)(e - b);
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (strlen(yes[i]) == n && !strncasecmp(b, yes[i], n))
			return keep(a, "true", 4, out, err);
		if (strlen(no[i]) == n && !strncasecmp(b, no[i], n))
			return keep(a, "false", 5, out, err);
	}
	return refuse(err, "a yes/no value", in);
}

/* ---- integers ---- */

/* A whole number: optional sign, at most 15 digits (exact in a JSON
 * number), and a fraction of zeros only ("15.00" is 15, as quantities in
 * XML often are). */
static int n_integer(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in, *e = in + strlen(in);
	trim_bounds(&b, &e);
	const char *p = b;
	char buf[20];
	size_t k = 0;
	if (p < e && (*p == '-' || *p == '+')) {
		if (*p == '-')
			buf[k++] = '-';
		p++;
	}
	const char *digits = p;
	while (p < e && *p >= '0' && *p <= '9' && p - digits < 15)
		buf[k++] = *p++;
	if (p == digits || (p < e && *p >= '0' && *p <= '9'))
		return refuse(err, "a whole number", in);
	if (p < e && *p == '.') {
		p++;
		while (p < e && *p == '0')
			p++;
	}
	if (p != e)
		return refuse(err, "a whole number", in);
	/* No leading zeros in the result: "007" is 7. */
	size_t start = buf[0] == '-' ? 1 : 0, z = start;
	while (z + 1 < k && buf[z] == '0')
		z++;
	memmove(buf + start, buf + z, k - z);
	k -= z - start;
	if (k == 2 && buf[0] == '-' && buf[1] == '0')
		k = 1, buf[0] = '0';
	return keep(a, buf, k, out, err);
}

/* ---- decimals (XML Schema xs:decimal) ---- */

/* Splits "[+-]digits[.digits]" (at least one digit; the mark is '.', or
 * also ',' when comma is set) between b and e: *neg, the integer digits
 * [*ib, *ie) without leading zeros, the fraction digits [*fb, *fe). */
static bool split_decimal(const char *b, const char *e, bool comma, bool *neg,
			  const char **ib, const char **ie, const char **fb, const char **fe)
{
	const char *p = b;
	*neg = false;
	if (p < e && (*p == '-' || *p == '+'))
		*neg = *p++ == '-';
	*ib = p;
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	*ie = p;
	*fb = *fe = p;
	if (p < e && (*p == '.' || (comma && *p == ','))) {
		*fb = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		*fe = p;
	}
	if (p != e || (*ie == *ib && *fe == *fb))
		return false;
	while (*ib < *ie && **ib == '0')
		(*ib)++;
	return true;
}

/* Writes the decimal as plain text: '-' unless the value is zero, the
 * integer digits ("0" when none), then '.' and the fraction digits when
 * there are any, after dropping trailing zeros down to keep_min digits
 * (keep_min < 0: all digits written are kept). At most max_sig significant
 * digits (0: no bound) and ds_dec's range; false beyond. */
static bool plain_decimal(bool neg, const char *ib, const char *ie, const char *fb,
			  const char *fe, int keep_min, size_t max_sig, char *buf, size_t cap)
{
	if (keep_min >= 0)
		while (fe - fb > keep_min && fe[-1] == '0')
			fe--;
	bool zero = true;
	for (const char *p = ib; p < ie && zero; p++)
		zero = *p == '0';
	for (const char *p = fb; p < fe && zero; p++)
		zero = *p == '0';
	size_t ni = (size_t)(ie - ib), nf = (size_t)(fe - fb);
	if (max_sig) {
		const char *first = fb;
		while (!ni && first < fe && *first == '0')
			first++;
		if ((ni ? ni + nf : (size_t)(fe - first)) > max_sig)
			return false;
	}
	if (ni + nf + 4 > cap)
		return false;
	size_t w = 0;
	if (neg && !zero)
		buf[w++] = '-';
	if (ni) {
		memcpy(buf + w, ib, ni);
		w += ni;
	} else {
		buf[w++] = '0';
	}
	if (nf || keep_min > 0) {
		buf[w++] = '.';
		memcpy(buf + w, fb, nf);
		w += nf;
		for (int k = (int)nf; k < keep_min; k++)
			buf[w++] = '0';
	}
	buf[w] = '\0';
	ds_dec v;
	return ds_dec_parse(buf, w, &v) == DS_OK;
}

#define DECIMAL_MAX 48

/* An xs:decimal as XML Schema writes it ("1234.50", "-2", "+.5"): no
 * thousands separator, no comma, no exponent, no currency. The digits
 * written are kept ("890.00"), leading zeros dropped. */
static int n_decimal(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in, *e = in + strlen(in), *ib, *ie, *fb, *fe;
	bool neg;
	char buf[DECIMAL_MAX];
	trim_bounds(&b, &e);
	if (!split_decimal(b, e, false, &neg, &ib, &ie, &fb, &fe))
		return refuse(err, "a decimal number (digits and a dot, such as 1234.50)", in);
	if (!plain_decimal(neg, ib, ie, fb, fe, -1, 0, buf, sizeof buf))
		return refuse(err, "a decimal number within range", in);
	return keep(a, buf, strlen(buf), out, err);
}

/* An xs:decimal written as a JSON number ("2.50" -> 2.5, "3.00" -> 3): at
 * most 15 significant digits, so that the number is exactly the decimal
 * written. */
static int n_number(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in, *e = in + strlen(in), *ib, *ie, *fb, *fe;
	bool neg;
	char buf[DECIMAL_MAX];
	trim_bounds(&b, &e);
	if (!split_decimal(b, e, false, &neg, &ib, &ie, &fb, &fe))
		return refuse(err, "a number (digits and a dot, such as 2.5)", in);
	if (!plain_decimal(neg, ib, ie, fb, fe, 0, 15, buf, sizeof buf))
		return refuse(err, "a number of at most 15 significant digits", in);
	return keep(a, buf, strlen(buf), out, err);
}

/* A rate in percent, decimal point or comma, "%" after it or not: "20",
 * "20.00", "5,5 %" -> "20.0", "20.0", "5.5" (at least one decimal, other
 * trailing zeros dropped: the form VAT rates take in the schemas). */
static int n_percent(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in, *e = in + strlen(in), *ib, *ie, *fb, *fe;
	bool neg;
	char buf[DECIMAL_MAX];
	trim_bounds(&b, &e);
	if (e > b && e[-1] == '%') {
		e--;
		trim_bounds(&b, &e);
	}
	if (!split_decimal(b, e, true, &neg, &ib, &ie, &fb, &fe) ||
	    !plain_decimal(neg, ib, ie, fb, fe, 1, 15, buf, sizeof buf))
		return refuse(err, "a percentage (such as 20, 5.5 or 5,5 %)", in);
	return keep(a, buf, strlen(buf), out, err);
}

/* ---- identifiers (ident.h) ---- */

static int ident(ds_arena *a, const char *in, const char **out, ds_err *err,
		 int (*fn)(const char *, char *, ds_err *))
{
	char buf[DS_ID_MAX];
	int rc = fn(in, buf, err);
	return rc ? rc : keep(a, buf, strlen(buf), out, err);
}

static int n_siret(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return ident(a, in, out, err, ds_id_siret_normalize);
}

static int n_siren(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return ident(a, in, out, err, ds_id_siren_normalize);
}

static int n_vat_fr(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return ident(a, in, out, err, ds_id_vat_fr_normalize);
}

static int n_iban(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return ident(a, in, out, err, ds_id_iban_normalize);
}

static int n_postcode_fr(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	int rc = ident(a, in, out, err, ds_id_postcode_fr_normalize);
	const char *p = in + strspn(in, " \t");
	/* Corsica's départements are 2A and 2B; its postcodes are 20xxx. */
	if (rc == DS_EINVAL && err && p[0] == '2' && (p[1] == 'A' || p[1] == 'a' || p[1] == 'B' ||
						      p[1] == 'b')) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof err->msg - n,
			 "; 2A and 2B are Corsica's département codes, its postcodes are 5 digits "
			 "starting with 20");
	}
	return rc;
}

static int n_currency(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	return ident(a, in, out, err, ds_id_currency_normalize);
}

static const struct {
	const char *name;
	ds_normalizer_fn fn;
	ds_norm_kind kind;
} normalizers[] = {
	{ "trim", n_trim, DS_NORM_STRING },
	{ "lower", n_lower, DS_NORM_STRING },
	{ "upper", n_upper, DS_NORM_STRING },
	{ "collapse_spaces", n_collapse, DS_NORM_STRING },
	{ "email", n_email, DS_NORM_STRING },
	{ "phone_fr", n_phone_fr, DS_NORM_STRING },
	{ "amount_fr", n_amount_fr, DS_NORM_STRING },
	{ "date_fr", n_date_fr, DS_NORM_STRING },
	{ "siret", n_siret, DS_NORM_STRING },
	{ "siren", n_siren, DS_NORM_STRING },
	{ "vat_fr", n_vat_fr, DS_NORM_STRING },
	{ "iban", n_iban, DS_NORM_STRING },
	{ "postcode_fr", n_postcode_fr, DS_NORM_STRING },
	{ "currency", n_currency, DS_NORM_STRING },
	{ "strip_html", n_strip_html, DS_NORM_STRING },
	{ "bool", n_bool, DS_NORM_BOOLEAN },
	{ "integer", n_integer, DS_NORM_INTEGER },
	{ "decimal", n_decimal, DS_NORM_STRING },
	{ "number", n_number, DS_NORM_NUMBER },
	{ "percent", n_percent, DS_NORM_STRING },
};

#define NNORM (sizeof normalizers / sizeof *normalizers)

ds_normalizer_fn ds_normalizer(const char *name)
{
	for (size_t i = 0; i < NNORM; i++)
		if (!strcmp(normalizers[i].name, name))
			return normalizers[i].fn;
	return NULL;
}

ds_norm_kind ds_normalizer_kind(const char *name)
{
	for (size_t i = 0; i < NNORM; i++)
		if (!strcmp(normalizers[i].name, name))
			return normalizers[i].kind;
	return DS_NORM_STRING;
}

const char *ds_normalizer_name(size_t i)
{
	return i < NNORM ? normalizers[i].name : NULL;
}
