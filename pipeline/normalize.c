/*
 * normalize.c - the normalizers of mappings; see normalize.h.
 */
#include "normalize.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int n_trim(ds_arena *a, const char *in, const char **out, ds_err *err)
{
	const char *b = in;
	/* ASCII whitespace and U+00A0 (C2 A0), common in pasted French text. */
	for (;;) {
		if (*b && isspace((unsigned char)*b))
			b++;
		else if ((unsigned char)b[0] == 0xC2 && (unsigned char)b[1] == 0xA0)
			b += 2;
		else
			break;
	}
	const char *e = b + strlen(b);
	for (;;) {
		if (e > b && isspace((unsigned char)e[-1]))
			e--;
		else if (e - b >= 2 && (unsigned char)e[-2] == 0xC2 && (unsigned char)e[-1] == 0xA0)
			e -= 2;
		else
			break;
	}
	*out = ds_arena_strndup(a, b, (size_t)(e - b));
	return *out ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
}

/* Case mapping for ASCII and the Latin-1 letters (U+00C0..U+00FE), which
 * covers French; other characters pass through unchanged. */
static int change_case(ds_arena *a, const char *in, const char **out, ds_err *err,
		       bool upper)
{
	size_t n = strlen(in);
	char *d = ds_arena_strndup(a, in, n);
	if (!d)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
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
	char *d = ds_arena_strdup(a, t);
	if (!d)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
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
		return ds_err_set(err, DS_EINVAL, "not an email address: \"%.60s\"", in);
	*out = t;
	return DS_OK;
}

static const struct {
	const char *name;
	ds_normalizer_fn fn;
} normalizers[] = {
	{ "trim", n_trim },
	{ "lower", n_lower },
	{ "upper", n_upper },
	{ "collapse_spaces", n_collapse },
	{ "email", n_email },
};

ds_normalizer_fn ds_normalizer(const char *name)
{
	for (size_t i = 0; i < sizeof normalizers / sizeof *normalizers; i++)
		if (!strcmp(normalizers[i].name, name))
			return normalizers[i].fn;
	return NULL;
}

