/*
 * test_form.c - the urlencoded form parser (form.h): the WHATWG parser
 * data of web-platform-tests, read in place from
 * ../shared/corpus/forms/urlencoded/ (relative to the repository root,
 * where the tests run), then our own table of French forms, charsets,
 * `_charset_`, limits and malformed escapes, the JSON shapes, bounded
 * memory on oversized bodies, and every allocation failing in turn.
 *
 * Every case is parsed three ways, which must agree: the whole body at
 * once, one byte at a time, and in chunks of pseudo-random sizes. Fields
 * are compared as "[name|value]" strings, bytes below 0x20 written \xNN.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "form.h"
#include "json.h"
#include "mem.h"

#define CORPUS "../shared/corpus/forms/urlencoded/wpt-urlencoded-parser-data.visible.json"
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(form, .init = setup);

/* ---- helpers ---- */

static void put_escaped(ds_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc = c < 0x20 ? ds_buf_printf(b, "\\x%02X", c) : ds_buf_putc(b, (char)c);
		cr_assert_eq(rc, 0);
	}
}

static int collect(void *ud, const char *name, size_t nlen, const char *value,
		   size_t vlen, ds_err *err)
{
	(void)err;
	ds_buf *b = ud;
	cr_assert_eq(name[nlen], '\0');
	cr_assert_eq(value[vlen], '\0');
	cr_assert(ds_utf8_valid(name, nlen));
	cr_assert(ds_utf8_valid(value, vlen));
	ds_buf_putc(b, '[');
	put_escaped(b, name, nlen);
	ds_buf_putc(b, '|');
	put_escaped(b, value, vlen);
	ds_buf_putc(b, ']');
	return 0;
}

/* Feeds the body in chunks: chunk bytes each, or pseudo-random sizes from
 * 1 to 7 when chunk is 0. */
static int parse_chunked(const char *in, size_t len, const ds_form_opts *o,
			 size_t chunk, ds_buf *out, ds_err *err)
{
	ds_form_parser *p = NULL;
	int rc = ds_form_new(&p, o, collect, out, err);
	if (rc)
		return rc;
	unsigned seed = (unsigned)len * 2654435761u + 1;
	size_t at = 0;
	while (!rc && at < len) {
		seed = seed * 1103515245u + 12345u;
		size_t n = chunk ? chunk : 1 + (seed >> 16) % 7;
		if (n > len - at)
			n = len - at;
		rc = ds_form_feed(p, in + at, n, err);
		at += n;
	}
	if (!rc)
		rc = ds_form_finish(p, err);
	ds_form_free(p);
	return rc;
}

/* Parses in the three ways, checks they agree, and returns the whole-body
 * result in *out (free with ds_free) with its code. */
static int parse3(const char *in, size_t len, const ds_form_opts *o,
		  char **out, ds_err *err)
{
	ds_buf whole, bytes, random;
	ds_buf_init(&whole, 1u << 26);
	ds_buf_init(&bytes, 1u << 26);
	ds_buf_init(&random, 1u << 26);
	ds_err e1, e2;
	int rc = ds_form_parse(in, len, o, collect, &whole, err);
	int rc1 = parse_chunked(in, len, o, 1, &bytes, &e1);
	int rc2 = parse_chunked(in, len, o, 0, &random, &e2);
	cr_expect_eq(rc1, rc, "one byte at a time: %d, whole: %d, for %.*s",
		     rc1, rc, (int)len, in);
	cr_expect_eq(rc2, rc, "random chunks: %d, whole: %d, for %.*s",
		     rc2, rc, (int)len, in);
	if (!rc) {
		cr_expect_str_eq(bytes.data ? bytes.data : "", whole.data ? whole.data : "");
		cr_expect_str_eq(random.data ? random.data : "", whole.data ? whole.data : "");
	}
	ds_buf_free(&bytes);
	ds_buf_free(&random);
	*out = whole.data ? ds_buf_steal(&whole) : ds_strdup("");
	return rc;
}

/* ---- the WHATWG corpus ---- */

static char *expected_fields(const cJSON *pairs)
{
	ds_buf b;
	ds_buf_init(&b, 1u << 20);
	const cJSON *pair;
	cJSON_ArrayForEach(pair, pairs) {
		const cJSON *n = cJSON_GetArrayItem(pair, 0);
		const cJSON *v = cJSON_GetArrayItem(pair, 1);
		cr_assert(cJSON_IsString(n) && cJSON_IsString(v));
		ds_buf_putc(&b, '[');
		put_escaped(&b, n->valuestring, strlen(n->valuestring));
		ds_buf_putc(&b, '|');
		put_escaped(&b, v->valuestring, strlen(v->valuestring));
		ds_buf_putc(&b, ']');
	}
	return b.data ? ds_buf_steal(&b) : ds_strdup("");
}

/* The URL Standard's parser ignores `_charset_`; this is the one corpus
 * case where honouring it (the default) reads the body differently. */
static const char *const charset_field_cases[] = {
	"_charset_=windows-1252&test=%C2x",
};

Test(form, whatwg_corpus)
{
	char *text = NULL;
	size_t len = 0;
	ds_err err;
	int rc = ds_read_file(CORPUS, 1u << 20, &text, &len, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cJSON *cases = cJSON_Parse(text);
	ds_free(text);
	cr_assert(cJSON_IsArray(cases));

	int total = 0, passed = 0, known = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, cases) {
		const char *in = ds_json_str(c, "input");
		cr_assert(in);
		char *want = expected_fields(cJSON_GetObjectItem(c, "output"));
		char *got = NULL;
		total++;

		/* The URL Standard exactly. */
		ds_form_opts whatwg = { .flags = DS_FORM_NO_CHARSET_FIELD };
		rc = parse3(in, strlen(in), &whatwg, &got, &err);
		cr_expect_eq(rc, 0, "%s: %s", in, err.msg);
		cr_expect_str_eq(got, want, "input %s", in);
		if (!rc && !strcmp(got, want))
			passed++;
		ds_free(got);

		/* With `_charset_` honoured, the same except where it is set. */
		rc = parse3(in, strlen(in), NULL, &got, &err);
		cr_expect_eq(rc, 0, "%s: %s", in, err.msg);
		bool listed = false;
		for (size_t i = 0; i < N(charset_field_cases); i++)
			listed |= !strcmp(in, charset_field_cases[i]);
		if (listed) {
			cr_expect_str_neq(got, want, "%s is listed as read differently", in);
			known++;
		} else {
			cr_expect_str_eq(got, want, "input %s, _charset_ honoured", in);
		}
		ds_free(got);
		ds_free(want);
	}
	cJSON_Delete(cases);
	cr_expect_eq(total, 24);
	cr_expect_eq(known, (int)N(charset_field_cases));
	fprintf(stderr, "urlencoded corpus: %d/%d passed (URL Standard parser); "
		"%d read differently with _charset_ honoured, as listed\n",
		passed, total, known);
}

/* ---- our cases ---- */

#define FFFD "\xEF\xBF\xBD"

static const struct tcase {
	const char *in;
	ds_form_opts opts;
	const char *out;  /* expected fields, or NULL when refused */
	int rc;
	const char *msg;  /* part of the error message */
} cases[] = {
	/* French text in UTF-8 */
	{ "pr%C3%A9nom=H%C3%A9l%C3%A8ne&nom=Le+Gall&ville=Qu%C3%A9bec",
	  {0}, "[prénom|Hélène][nom|Le Gall][ville|Québec]", 0, NULL },
	{ "message=Bonjour%2C+je+souhaiterais+un+devis+pour+2+chaudi%C3%A8res"
	  "+%C3%A0+12%C2%A0000+%E2%82%AC.%0D%0AMerci+!",
	  {0}, "[message|Bonjour, je souhaiterais un devis pour 2 chaudières à 12\xC2\xA0" "000 €."
	  "\\x0D\\x0AMerci !]", 0, NULL },
	{ "ville=Qu\xC3\xA9" "bec", {0}, "[ville|Québec]", 0, NULL },
	/* windows-1252 and friends from the caller's charset parameter */
	{ "pr%E9nom=H%E9l%E8ne&prix=12%80&c%9Cur=%C7a", { .charset = "windows-1252" },
	  "[prénom|Hélène][prix|12€][cœur|Ça]", 0, NULL },
	{ "prix=12%80", { .charset = "ISO-8859-1" }, "[prix|12€]", 0, NULL },
	{ "prix=12%80", { .charset = " Latin1 " }, "[prix|12€]", 0, NULL },
	{ "a=%81%8D%8F%90%9D%A0%FF", { .charset = "cp1252" },
	  "[a|\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D\xC2\xA0\xC3\xBF]", 0, NULL },
	{ "a=%A4%A6%A8%B4%B8%BC%BD%BE%E9", { .charset = "iso-8859-15" },
	  "[a|€ŠšŽžŒœŸé]", 0, NULL },
	{ "a=%80", { .charset = "l9" }, "[a|\xC2\x80]", 0, NULL },
	{ "a=%E9", { .charset = "us-ascii" }, "[a|é]", 0, NULL },
	{ "a=%C3%A9", { .charset = "UTF8" }, "[a|é]", 0, NULL },
	{ "a=1", { .charset = "koi8-r" }, NULL, DS_EINVAL,
	  "unsupported form charset \"koi8-r\"" },
	/* _charset_, before or after the fields it concerns */
	{ "_charset_=windows-1252&pr%E9nom=H%E9l%E8ne", {0},
	  "[_charset_|windows-1252][prénom|Hélène]", 0, NULL },
	{ "pr%E9nom=H%E9l%E8ne&consent=on&_charset_=ISO-8859-1", {0},
	  "[prénom|Hélène][consent|on][_charset_|ISO-8859-1]", 0, NULL },
	{ "a=%E9&_CHARSET_=Windows-1252", {0}, "[a|é][_CHARSET_|Windows-1252]", 0, NULL },
	{ "a=%E9&%5Fcharset%5F=windows%2D1252", {0},
	  "[a|é][_charset_|windows-1252]", 0, NULL },
	{ "a=%E9&_charset_=+windows-1252+", {0}, "[a|é][_charset_| windows-1252 ]", 0, NULL },
	{ "a=%A4&_charset_=iso-8859-15", {0}, "[a|€][_charset_|iso-8859-15]", 0, NULL },
	/* _charset_ wins over the parameter */
	{ "a=%E9&_charset_=windows-1252", { .charset = "utf-8" },
	  "[a|é][_charset_|windows-1252]", 0, NULL },
	{ "a=%C3%A9&_charset_=UTF-8", { .charset = "windows-1252" },
	  "[a|é][_charset_|UTF-8]", 0, NULL },
	/* the first non-blank _charset_ decides */
	{ "_charset_=&a=%C3%A9", {0}, "[_charset_|][a|é]", 0, NULL },
	{ "_charset_=+&a=%E9&_charset_=windows-1252&_charset_=utf-8&b=%E9", {0},
	  "[_charset_| ][a|é][_charset_|windows-1252][_charset_|utf-8][b|é]", 0, NULL },
	{ "a=%E9&_charset_=shift_jis", {0}, NULL, DS_EINVAL,
	  "unsupported charset \"shift_jis\" in form field _charset_" },
	/* an ordinary field when switched off */
	{ "_charset_=windows-1252&a=%E9", { .flags = DS_FORM_NO_CHARSET_FIELD },
	  "[_charset_|windows-1252][a|" FFFD "]", 0, NULL },
	{ "_charset_=shift_jis&a=%E9", { .flags = DS_FORM_NO_CHARSET_FIELD,
	  .charset = "windows-1252" }, "[_charset_|shift_jis][a|é]", 0, NULL },
	/* repeated fields and checkboxes */
	{ "produit=chaudi%C3%A8re&produit=pompe&qte=1&produit=ballon", {0},
	  "[produit|chaudière][produit|pompe][qte|1][produit|ballon]", 0, NULL },
	{ "email=jean.dupont%40exemple.fr&consent=on", {0},
	  "[email|jean.dupont@exemple.fr][consent|on]", 0, NULL },
	{ "interets%5B%5D=pompe&interets%5B%5D=solaire", {0},
	  "[interets[]|pompe][interets[]|solaire]", 0, NULL },
	/* splitting and escapes */
	{ "=", {0}, "[|]", 0, NULL },
	{ "=x&y=", {0}, "[|x][y|]", 0, NULL },
	{ "a=b=c&d==", {0}, "[a|b=c][d|=]", 0, NULL },
	{ "%%%41&%4&%&%g1=%1g", {0}, "[%%A|][%4|][%|][%g1|%1g]", 0, NULL },
	{ "a=%2B+%2b%20", {0}, "[a|+ + ]", 0, NULL },
	{ "a%3Db=c%26d", {0}, "[a=b|c&d]", 0, NULL },
	{ "a=%00b&%00=", {0}, "[a|\\x00b][\\x00|]", 0, NULL },
	{ "\xEF\xBB\xBF" "a=1", {0}, "[\xEF\xBB\xBF" "a|1]", 0, NULL },
	/* invalid UTF-8: one U+FFFD per maximal invalid subpart */
	{ "a=\xE9t\xE9", {0}, "[a|" FFFD "t" FFFD "]", 0, NULL },
	{ "a=%F0%9F%98%80&b=%F0%9F%98&c=%F0%9F%98x", {0},
	  "[a|\xF0\x9F\x98\x80][b|" FFFD "][c|" FFFD "x]", 0, NULL },
	{ "a=%ED%A0%80&b=%E0%80%80&c=%C0%AF&d=%F4%90%80%80", {0},
	  "[a|" FFFD FFFD FFFD "][b|" FFFD FFFD FFFD "][c|" FFFD FFFD "][d|"
	  FFFD FFFD FFFD FFFD "]", 0, NULL },
	{ "a=%C3%C3%A9%80", {0}, "[a|" FFFD "é" FFFD "]", 0, NULL },
	/* strict: what no browser sends is refused, naming the field and byte */
	{ "nom=Ren%C3%A9e&message=10%+de+remise", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL,
	  "malformed percent-encoding \"%+\" at byte 25 of the form body, in the value of "
	  "field \"message\"" },
	{ "a=1&b%ZZ=2", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL,
	  "\"%Z\" at byte 5 of the form body, in the name of field \"b\"" },
	{ "a=%4", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL, "\"%4\" at byte 2" },
	{ "a=%", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL, "\"%\" at byte 2" },
	{ "a=1&b=x\x01y", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL,
	  "not form data: control byte 0x01 at byte 7" },
	{ "a=1\n&b=2", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL, "control byte 0x0A at byte 3" },
	{ "nom=Ren%E9e", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL,
	  "form field \"nom\" is not valid UTF-8: byte 0xE9 at byte 3 of its value" },
	{ "caf%E9=1", { .flags = DS_FORM_STRICT }, NULL, DS_EINVAL,
	  "a form field name is not valid UTF-8: byte 0xE9 at byte 3" },
	{ "nom=Ren%E9e&_charset_=windows-1252", { .flags = DS_FORM_STRICT },
	  "[nom|Renée][_charset_|windows-1252]", 0, NULL },
	{ "a=\xE9", { .flags = DS_FORM_STRICT, .charset = "windows-1252" }, "[a|é]", 0, NULL },
	{ "nom=Ren%C3%A9e&a=%25&b=%00&ville=Qu\xC3\xA9" "bec", { .flags = DS_FORM_STRICT },
	  "[nom|Renée][a|%][b|\\x00][ville|Québec]", 0, NULL },
	/* limits, at and past each one */
	{ "a&b", { .max_fields = 2 }, "[a|][b|]", 0, NULL },
	{ "&&a&&&b&&", { .max_fields = 2 }, "[a|][b|]", 0, NULL },
	{ "a&b&c", { .max_fields = 2 }, NULL, DS_ELIMIT,
	  "more than 2 form fields (max_fields)" },
	{ "abcde=1", { .max_name = 5 }, "[abcde|1]", 0, NULL },
	{ "abcdef=1", { .max_name = 5 }, NULL, DS_ELIMIT,
	  "form field name \"abcde\" longer than 5 bytes (max_name)" },
	{ "abcdef", { .max_name = 5 }, NULL, DS_ELIMIT, "(max_name)" },
	{ "%C3%A9%C3%A9%C3%A9", { .max_name = 5 }, NULL, DS_ELIMIT, "(max_name)" },
	{ "%E9%E9%E9=1", { .max_name = 5, .charset = "windows-1252" }, NULL, DS_ELIMIT,
	  "form field name \"ééé\" longer than 5 bytes (max_name)" },
	{ "%E9%E9=1", { .max_name = 5, .charset = "windows-1252" }, "[éé|1]", 0, NULL },
	{ "a=abc", { .max_value = 3 }, "[a|abc]", 0, NULL },
	{ "nom=abcd", { .max_value = 3 }, NULL, DS_ELIMIT,
	  "value of form field \"nom\" longer than 3 bytes (max_value)" },
	{ "a=%E9%E9", { .max_value = 3, .charset = "windows-1252" }, NULL, DS_ELIMIT,
	  "(max_value)" },
	{ "a=%E9%E9&_charset_=windows-1252", { .max_value = 3 }, NULL, DS_ELIMIT,
	  "(max_value)" },
	{ "a=12345678", { .max_total = 10 }, "[a|12345678]", 0, NULL },
	{ "a=123456789", { .max_total = 10 }, NULL, DS_ELIMIT,
	  "form body larger than 10 bytes (max_total)" },
};

Test(form, table)
{
	for (size_t i = 0; i < N(cases); i++) {
		const struct tcase *t = &cases[i];
		char *got = NULL;
		ds_err err;
		ds_err_clear(&err);
		int rc = parse3(t->in, strlen(t->in), &t->opts, &got, &err);
		cr_expect_eq(rc, t->rc, "case %zu %s: %d (%s)", i, t->in, rc, err.msg);
		if (t->out)
			cr_expect_str_eq(got, t->out, "case %zu %s", i, t->in);
		if (t->msg)
			cr_expect(strstr(err.msg, t->msg), "case %zu %s: message \"%s\"",
				  i, t->in, err.msg);
		ds_free(got);
	}
}

Test(form, charset_in_effect)
{
	ds_form_parser *p = NULL;
	ds_buf b;
	ds_buf_init(&b, 1024);
	ds_err err;
	cr_assert_eq(ds_form_new(&p, NULL, collect, &b, &err), 0);
	cr_expect_str_eq(ds_form_charset(p), "UTF-8");
	const char *body = "pr%E9nom=H%E9l%E8ne&_charset_=windows-1252";
	cr_assert_eq(ds_form_feed(p, body, 20, &err), 0);
	cr_expect_null(b.data, "fields before _charset_ are kept");
	cr_expect_gt(ds_form_memory(p), 0);
	cr_assert_eq(ds_form_feed(p, body + 20, strlen(body) - 20, &err), 0);
	cr_assert_eq(ds_form_finish(p, &err), 0);
	cr_expect_str_eq(ds_form_charset(p), "windows-1252");
	cr_expect_str_eq(b.data, "[prénom|Hélène][_charset_|windows-1252]");
	ds_form_free(p);

	/* Switched off, each field is delivered when its '&' arrives. */
	ds_buf_reset(&b);
	ds_form_opts o = { .flags = DS_FORM_NO_CHARSET_FIELD, .charset = "latin1" };
	cr_assert_eq(ds_form_new(&p, &o, collect, &b, &err), 0);
	cr_assert_eq(ds_form_feed(p, "a=%E9&b", 7, &err), 0);
	cr_expect_str_eq(b.data, "[a|é]");
	cr_assert_eq(ds_form_finish(p, &err), 0);
	cr_expect_str_eq(b.data, "[a|é][b|]");
	cr_expect_str_eq(ds_form_charset(p), "windows-1252");
	ds_form_free(p);
	ds_buf_free(&b);
	ds_form_free(NULL);
}

Test(form, charset_labels)
{
	cr_expect_eq(ds_form_charset_lookup("UTF-8", 5), DS_FORM_UTF8);
	cr_expect_eq(ds_form_charset_lookup("\tIso_8859-1:1987 ", 17), DS_FORM_WINDOWS_1252);
	cr_expect_eq(ds_form_charset_lookup("ISO-8859-15", 11), DS_FORM_ISO_8859_15);
	cr_expect_eq(ds_form_charset_lookup("utf-16", 6), -1);
	cr_expect_eq(ds_form_charset_lookup("", 0), -1);
	cr_expect_eq(ds_form_charset_lookup("utf-8x", 5), DS_FORM_UTF8);

	/* Every windows-1252 byte is one character; 0xA0-0xFF are Latin-1. */
	char in[256], out[DS_FORM_UTF8_MAX(256)];
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	size_t n = ds_form_to_utf8(DS_FORM_WINDOWS_1252, in, 256, out);
	cr_expect(ds_utf8_valid(out, n));
	/* 0x80-0x9F: 17 characters of three bytes, 15 of two */
	cr_expect_eq(n, 128 + 17 * 3 + 15 * 2 + 96 * 2, "%zu", n);
	cr_expect_eq(memcmp(out + 128, "€", 3), 0);
	cr_expect_eq(memcmp(out + n - 2, "ÿ", 2), 0);
	n = ds_form_to_utf8(DS_FORM_UTF8, in + 0x80, 128, out);
	cr_expect_eq(n, 128 * 3, "each stray byte is one U+FFFD");
}

/* ---- errors ---- */

struct stop {
	int calls;
	int at;
};

static int stop_at(void *ud, const char *name, size_t nlen, const char *value,
		   size_t vlen, ds_err *err)
{
	(void)name; (void)nlen; (void)value; (void)vlen;
	struct stop *s = ud;
	if (++s->calls == s->at)
		return ds_err_set(err, DS_EINVAL, "no field %s here", name);
	return 0;
}

Test(form, callback_error_stops)
{
	struct stop s = { 0, 2 };
	ds_err err;
	int rc = ds_form_parse("a=1&b=2&c=3", 11, NULL, stop_at, &s, &err);
	cr_expect_eq(rc, DS_EINVAL);
	cr_expect_str_eq(err.msg, "no field b here");
	cr_expect_eq(s.calls, 2);

	/* Incrementally, and the failure sticks. */
	s.calls = 0;
	ds_form_parser *p = NULL;
	ds_form_opts o = { .flags = DS_FORM_NO_CHARSET_FIELD };
	cr_assert_eq(ds_form_new(&p, &o, stop_at, &s, &err), 0);
	cr_expect_eq(ds_form_feed(p, "a=1&b=2&c", 9, &err), DS_EINVAL);
	cr_expect_eq(ds_form_feed(p, "=3", 2, &err), DS_EINVAL);
	cr_expect(strstr(err.msg, "earlier error"), "%s", err.msg);
	cr_expect_eq(ds_form_finish(p, &err), DS_EINVAL);
	cr_expect_eq(s.calls, 2);
	ds_form_free(p);

	/* Nothing after finish. */
	s = (struct stop){ 0, 0 };
	cr_assert_eq(ds_form_new(&p, NULL, stop_at, &s, &err), 0);
	cr_expect_eq(ds_form_finish(p, &err), 0);
	cr_expect_eq(ds_form_feed(p, "a", 1, &err), DS_EINTERNAL);
	cr_expect_eq(ds_form_finish(p, &err), DS_EINTERNAL);
	ds_form_free(p);

	cr_expect_eq(ds_form_new(&p, &(ds_form_opts){ .charset = "ebcdic" }, stop_at,
				 &s, &err), DS_EINVAL);
	cr_expect_null(p);
}

/* ---- bounded memory ---- */

static int count_fields(void *ud, const char *name, size_t nlen,
			const char *value, size_t vlen, ds_err *err)
{
	(void)name; (void)nlen; (void)value; (void)vlen; (void)err;
	(*(size_t *)ud)++;
	return 0;
}

/* Streams a 10 MB body (head, then unit repeated) in 16 KiB chunks until
 * the parser refuses it; returns the bytes fed and the parser's peak
 * memory. */
static int stream_10mb(const ds_form_opts *o, const char *head, const char *unit,
		       size_t *fed, size_t *peak, ds_err *err)
{
	enum { CHUNK = 16384, BODY = 10 << 20 };
	static char chunk[CHUNK];
	size_t hl = strlen(head), ul = strlen(unit);
	size_t fields = 0;
	ds_form_parser *p = NULL;
	cr_assert_eq(ds_form_new(&p, o, count_fields, &fields, err), 0);
	int rc = 0;
	*fed = *peak = 0;
	size_t pos = 0;  /* position in the body being generated */
	while (!rc && pos < BODY) {
		for (size_t i = 0; i < CHUNK; i++, pos++)
			chunk[i] = pos < hl ? head[pos] : unit[(pos - hl) % ul];
		rc = ds_form_feed(p, chunk, CHUNK, err);
		if (!rc)
			*fed += CHUNK;
		if (ds_form_memory(p) > *peak)
			*peak = ds_form_memory(p);
	}
	if (!rc)
		rc = ds_form_finish(p, err);
	ds_form_free(p);
	return rc;
}

Test(form, oversized_bodies_refused_early)
{
	size_t fed, peak;
	ds_err err;
	const size_t mb = 1u << 20;

	/* The body limit: refused at the chunk that would pass it. */
	ds_form_opts o = { .max_total = mb, .max_fields = 30000 };
	int rc = stream_10mb(&o, "", "champ=une+valeur+assez+longue+pour+un+formulaire&",
			     &fed, &peak, &err);
	cr_expect_eq(rc, DS_ELIMIT);
	cr_expect(strstr(err.msg, "(max_total)"), "%s", err.msg);
	cr_expect_leq(fed, mb);
	cr_expect_lt(peak, mb + mb / 4, "peak %zu", peak);

	/* The same without _charset_: nothing is kept. */
	o.flags = DS_FORM_NO_CHARSET_FIELD;
	rc = stream_10mb(&o, "", "champ=valeur&", &fed, &peak, &err);
	cr_expect_eq(rc, DS_ELIMIT);
	cr_expect_lt(peak, 4096, "peak %zu", peak);

	/* One endless value: refused at max_value, whatever max_total. */
	o = (ds_form_opts){ .max_total = 64 * mb, .max_value = 256 << 10 };
	rc = stream_10mb(&o, "message=", "x", &fed, &peak, &err);
	cr_expect_eq(rc, DS_ELIMIT);
	cr_expect(strstr(err.msg, "\"message\" longer than 262144 bytes (max_value)"),
		  "%s", err.msg);
	cr_expect_leq(fed, 256 << 10);
	cr_expect_lt(peak, 600 << 10, "peak %zu", peak);

	/* Endless fields: refused at max_fields. */
	rc = stream_10mb(NULL, "", "a&", &fed, &peak, &err);
	cr_expect_eq(rc, DS_ELIMIT);
	cr_expect(strstr(err.msg, "(max_fields)"), "%s", err.msg);
	cr_expect_lt(fed, 4 * DS_FORM_MAX_FIELDS);

	/* A whole buffer past max_total: no field is delivered. */
	char *big = malloc(10u << 20);
	cr_assert(big);
	memset(big, 'a', 10u << 20);
	big[1] = '&';
	size_t fields = 0;
	o = (ds_form_opts){ .max_total = mb };
	rc = ds_form_parse(big, 10u << 20, &o, count_fields, &fields, &err);
	cr_expect_eq(rc, DS_ELIMIT);
	cr_expect_eq(fields, 0);
	free(big);
}

/* ---- JSON ---- */

static char *json_of(const char *body, const ds_form_opts *o, ds_form_shape shape)
{
	cJSON *j = NULL;
	ds_err err;
	int rc = ds_form_parse_json(body, strlen(body), o, shape, &j, &err);
	cr_assert_eq(rc, 0, "%s: %s", body, err.msg);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

Test(form, json_shapes)
{
	static const struct {
		const char *in;
		ds_form_shape shape;
		const char *out;
	} js[] = {
		{ "a=1&b=2&a=3&c=&a=4&b=5", DS_FORM_OBJECT,
		  "{\"a\":[\"1\",\"3\",\"4\"],\"b\":[\"2\",\"5\"],\"c\":\"\"}" },
		{ "x=1&y=2&z=3&z=4&x=5&y=6", DS_FORM_OBJECT,
		  "{\"x\":[\"1\",\"5\"],\"y\":[\"2\",\"6\"],\"z\":[\"3\",\"4\"]}" },
		{ "solo=1&solo=2", DS_FORM_OBJECT, "{\"solo\":[\"1\",\"2\"]}" },
		{ "nom=Le+Gall&consent=on&pr%C3%A9nom=H%C3%A9l%C3%A8ne", DS_FORM_OBJECT,
		  "{\"nom\":\"Le Gall\",\"consent\":\"on\",\"prénom\":\"Hélène\"}" },
		{ "", DS_FORM_OBJECT, "{}" },
		{ "a=1&b=%C3%A9&a=", DS_FORM_LIST,
		  "[{\"name\":\"a\",\"value\":\"1\"},{\"name\":\"b\",\"value\":\"é\"},"
		  "{\"name\":\"a\",\"value\":\"\"}]" },
		{ "&&", DS_FORM_LIST, "[]" },
	};
	for (size_t i = 0; i < N(js); i++) {
		char *s = json_of(js[i].in, NULL, js[i].shape);
		cr_expect_str_eq(s, js[i].out, "%s", js[i].in);
		cJSON_free(s);
	}

	cJSON *j = (cJSON *)1;
	ds_err err;
	cr_expect_eq(ds_form_parse_json("a=1&b%00=2", 10, NULL, DS_FORM_OBJECT, &j, &err),
		     DS_EINVAL);
	cr_expect_null(j);
	cr_expect_str_eq(err.msg, "form field \"b?\" holds a NUL byte");
}

Test(form, json_many_names_incremental)
{
	/* 3000 distinct names, each twice: the object keeps first-seen order
	 * and every name is an array of its two values. */
	ds_buf body;
	ds_buf_init(&body, 1u << 20);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3000; i++)
			ds_buf_printf(&body, "f%d=%d-%d&", i, i, round);
	ds_form_opts o = { .max_fields = 6000 };
	ds_form_json *col = NULL;
	ds_form_parser *p = NULL;
	ds_err err;
	cr_assert_eq(ds_form_json_new(&col, DS_FORM_OBJECT, &err), 0);
	cr_assert_eq(ds_form_new(&p, &o, ds_form_json_field, col, &err), 0);
	for (size_t at = 0; at < body.len; at += 1000) {
		size_t n = body.len - at < 1000 ? body.len - at : 1000;
		cr_assert_eq(ds_form_feed(p, body.data + at, n, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(ds_form_finish(p, &err), 0, "%s", err.msg);
	cJSON *tree = ds_form_json_take(col);
	cr_assert(cJSON_IsObject(tree));
	cr_expect_eq(cJSON_GetArraySize(tree), 3000);
	cr_expect_str_eq(tree->child->string, "f0");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(tree, "f2999");
	cr_assert(cJSON_IsArray(v));
	cr_expect_str_eq(cJSON_GetArrayItem(v, 0)->valuestring, "2999-0");
	cr_expect_str_eq(cJSON_GetArrayItem(v, 1)->valuestring, "2999-1");
	cJSON_Delete(tree);

	/* The collector starts again empty. */
	tree = ds_form_json_take(col);
	cr_expect(cJSON_IsObject(tree) && !tree->child);
	cJSON_Delete(tree);
	ds_form_free(p);
	ds_form_json_free(col);
	ds_buf_free(&body);
}

/* ---- allocation failures ---- */

/* Kept fields, a heap field buffer, conversion, repeats into arrays. */
static int alloc_scenario(ds_form_shape shape, cJSON **out, ds_err *err)
{
	static char body[4096];
	if (!body[0]) {
		strcpy(body, "pr%E9nom=H%E9l%E8ne&tag=a&tag=b&tag=c&long=");
		size_t n = strlen(body);
		memset(body + n, 'x', 1500);
		strcpy(body + n + 1500, "&_charset_=windows-1252&apr%E8s=%80");
	}
	*out = NULL;
	ds_form_json *col = NULL;
	ds_form_parser *p = NULL;
	int rc = ds_form_json_new(&col, shape, err);
	if (!rc)
		rc = ds_form_new(&p, NULL, ds_form_json_field, col, err);
	for (size_t at = 0, len = strlen(body); !rc && at < len; at += 100)
		rc = ds_form_feed(p, body + at, len - at < 100 ? len - at : 100, err);
	if (!rc)
		rc = ds_form_finish(p, err);
	if (!rc && !(*out = ds_form_json_take(col)))
		rc = DS_ENOMEM;
	ds_form_free(p);
	ds_form_json_free(col);
	return rc;
}

Test(form, every_allocation_failure)
{
	for (int shape = DS_FORM_OBJECT; shape <= DS_FORM_LIST; shape++) {
		bool done = false;
		for (long n = 0; n < 1000 && !done; n++) {
			cJSON *tree = NULL;
			ds_err err;
			ds_mem_fail_after(n);
			int rc = alloc_scenario((ds_form_shape)shape, &tree, &err);
			ds_mem_fail_after(-1);
			cr_assert(rc == 0 || rc == DS_ENOMEM, "after %ld: %d %s", n, rc, err.msg);
			if (rc == 0) {
				if (shape == DS_FORM_OBJECT)
					cr_expect_eq(cJSON_GetArraySize(
						cJSON_GetObjectItem(tree, "tag")), 3);
				else
					cr_expect_eq(cJSON_GetArraySize(tree), 7);
				done = true;
			}
			cJSON_Delete(tree);
		}
		cr_expect(done);
	}
	/* The whole-buffer path too. */
	for (long n = 0; n < 100; n++) {
		cJSON *tree = NULL;
		ds_err err;
		ds_mem_fail_after(n);
		int rc = ds_form_parse_json("a=1&a=2&b=%E9", 13, NULL, DS_FORM_OBJECT,
					    &tree, &err);
		ds_mem_fail_after(-1);
		cr_assert(rc == 0 || rc == DS_ENOMEM);
		cr_assert(rc == 0 || tree == NULL);
		cJSON_Delete(tree);
		if (!rc)
			break;
	}
}
