/*
 * test_multipart.c - the multipart/form-data parser (multipart.h): the
 * python-multipart cases read in place from ../shared/corpus/forms/
 * multipart/ (relative to the repository root, where the tests run), then
 * French fields and charsets, file uploads with their SHA-256, every
 * limit, the `.mime` input format, the JSON collector, a 10 MB upload
 * refused under a 1 MB limit while streaming, and every allocation
 * failing in turn.
 *
 * Every body is parsed whole and one byte at a time; both must give the
 * same parts. Parts are compared as "F[name|value]" for fields and
 * "D[name|filename|type|data]" for files, bytes below 0x20 written \xNN.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "form.h"
#include "hash.h"
#include "json.h"
#include "mem.h"
#include "multipart.h"

#define CORPUS "../shared/corpus/forms/multipart/"

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(multipart, .init = setup);

/* ---- a collector that writes parts as text ---- */

struct got {
	ds_buf out;    /* the parts, in callback order */
	ds_buf fdata;  /* the current file's bytes */
	size_t data_calls;
	uint64_t data_bytes;
	bool keep_data;
};

static void put_esc(ds_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		cr_assert_eq(c < 0x20 ? ds_buf_printf(b, "\\x%02X", c)
				      : ds_buf_putc(b, (char)c), 0);
	}
}

static int g_field(void *ud, const char *name, size_t nlen, const char *value,
		   size_t vlen, ds_err *err)
{
	(void)err;
	struct got *g = ud;
	ds_buf_puts(&g->out, "F[");
	put_esc(&g->out, name, nlen);
	ds_buf_putc(&g->out, '|');
	put_esc(&g->out, value, vlen);
	ds_buf_putc(&g->out, ']');
	return 0;
}

static int g_begin(void *ud, const ds_multipart_file *f, ds_err *err)
{
	(void)err;
	(void)f;
	struct got *g = ud;
	ds_buf_reset(&g->fdata);
	return 0;
}

static int g_data(void *ud, const ds_multipart_file *f, const char *d,
		  size_t n, ds_err *err)
{
	(void)err;
	(void)f;
	struct got *g = ud;
	g->data_calls++;
	g->data_bytes += n;
	if (g->keep_data)
		cr_assert_eq(ds_buf_append(&g->fdata, d, n), 0);
	return 0;
}

static int g_end(void *ud, const ds_multipart_file *f, ds_err *err)
{
	(void)err;
	struct got *g = ud;
	char sha[65];
	ds_sha256_hex(g->fdata.data ? g->fdata.data : "", g->fdata.len, sha);
	if (g->keep_data) {
		cr_assert_eq(f->size, g->fdata.len);
		cr_assert_str_eq(f->sha256, sha);
	}
	ds_buf_printf(&g->out, "D[%s|%s|%s|", f->name, f->filename, f->content_type);
	put_esc(&g->out, g->fdata.data ? g->fdata.data : "", g->fdata.len);
	ds_buf_putc(&g->out, ']');
	return 0;
}

static void got_init(struct got *g)
{
	memset(g, 0, sizeof *g);
	ds_buf_init(&g->out, 64u << 20);
	ds_buf_init(&g->fdata, 64u << 20);
	g->keep_data = true;
}

static void got_free(struct got *g)
{
	ds_buf_free(&g->out);
	ds_buf_free(&g->fdata);
}

static ds_multipart_cb callbacks(struct got *g)
{
	return (ds_multipart_cb){ .field = g_field, .file_begin = g_begin,
				  .file_data = g_data, .file_end = g_end, .ud = g };
}

/* Parses body whole and byte by byte; both must agree (same code, same
 * parts). Returns the code; *out gets the parts (ds_free). */
static int parse2(const char *body, size_t len, const char *boundary,
		  const ds_multipart_opts *opts, char **out, ds_err *err)
{
	struct got a, b;
	got_init(&a);
	got_init(&b);
	ds_multipart_cb ca = callbacks(&a), cb = callbacks(&b);
	int rc = ds_multipart_parse(body, len, boundary, strlen(boundary), opts, &ca, err);

	ds_multipart_parser *p = NULL;
	ds_err e2;
	int rc2 = ds_multipart_new(&p, boundary, strlen(boundary), opts, &cb, &e2);
	cr_assert_eq(rc2, 0);
	for (size_t i = 0; i < len && !rc2; i++)
		rc2 = ds_multipart_feed(p, body + i, 1, &e2);
	if (!rc2)
		rc2 = ds_multipart_finish(p, &e2);
	ds_multipart_free(p);
	cr_assert_eq(rc, rc2, "whole %d (%s) vs bytewise %d (%s)", rc,
		     rc ? err->msg : "", rc2, rc2 ? e2.msg : "");
	if (!rc)
		cr_assert_str_eq(a.out.data ? a.out.data : "", b.out.data ? b.out.data : "");
	if (out)
		*out = ds_strdup(a.out.data ? a.out.data : "");
	got_free(&a);
	got_free(&b);
	return rc;
}

/* ---- the python-multipart corpus ---- */

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	ds_err err = { 0 };
	cr_assert_eq(ds_read_file(path, 64u << 20, &buf, len, &err), 0, "%s: %s", path, err.msg);
	return buf;
}

static size_t unb64(const char *s, char *out)
{
	static const char *al =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	int n = 0;
	size_t k = 0;
	for (; *s; s++) {
		const char *c = *s ? strchr(al, *s) : NULL;
		if (!c)
			continue;
		acc = (acc << 6) | (unsigned)(c - al);
		if (++n == 4) {
			out[k++] = (char)(acc >> 16);
			out[k++] = (char)(acc >> 8);
			out[k++] = (char)acc;
			n = 0;
		}
	}
	if (n == 2)
		out[k++] = (char)(acc >> 4);
	else if (n == 3) {
		out[k++] = (char)(acc >> 10);
		out[k++] = (char)(acc >> 2);
	}
	return k;
}

static const char *yval(char *line)
{
	char *v = strchr(line, ':') + 1;
	while (*v == ' ')
		v++;
	size_t n = strlen(v);
	while (n && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' '))
		v[--n] = '\0';
	if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		v++;
	}
	return v;
}

struct ypart {
	bool file;
	char name[256], fname[256], ctype[256];
	char b64[8192];
};

/* Reads the corpus' .yaml subset; returns the number of parts, or -1 for
 * an `error:` case. */
static int read_yaml(const char *path, char *boundary, struct ypart *parts)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char line[8192];
	int np = 0, err = 0;
	bool in_data = false;
	while (fgets(line, sizeof line, f)) {
		char *t = line;
		while (*t == ' ')
			t++;
		if (in_data && *t && *t != '\n' && !strchr(t, ':')) {
			t[strcspn(t, "\r\n")] = '\0';
			strcat(parts[np - 1].b64, t);
			continue;
		}
		in_data = false;
		if (!strncmp(t, "boundary:", 9))
			strcpy(boundary, yval(t));
		else if (!strncmp(t, "error:", 6))
			err = 1;
		else if (!strncmp(t, "- name:", 7)) {
			memset(&parts[np], 0, sizeof parts[np]);
			strcpy(parts[np++].name, yval(t + 2));
		} else if (!strncmp(t, "type:", 5))
			parts[np - 1].file = !strcmp(yval(t), "file");
		else if (!strncmp(t, "file_name:", 10))
			strcpy(parts[np - 1].fname, yval(t));
		else if (!strncmp(t, "content_type:", 13))
			strcpy(parts[np - 1].ctype, yval(t));
		else if (!strncmp(t, "data:", 5))
			in_data = true;
	}
	fclose(f);
	return err ? -1 : np;
}

Test(multipart, python_multipart_corpus)
{
	DIR *d = opendir(CORPUS);
	cr_assert_not_null(d, "corpus %s missing", CORPUS);
	int total = 0, passed = 0;
	struct dirent *e;
	static struct ypart parts[16];
	ds_multipart_opts opts = { .flags = DS_MULTIPART_NO_CHARSET_FIELD };
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".yaml"))
			continue;
		char path[512], boundary[256] = "";
		snprintf(path, sizeof path, CORPUS "%s", e->d_name);
		int np = read_yaml(path, boundary, parts);
		snprintf(path + strlen(path) - 5, 8, ".http");
		size_t blen;
		char *body = slurp(path, &blen);
		char *out = NULL;
		ds_err err;
		int rc = parse2(body, blen, boundary, &opts, &out, &err);
		total++;
		if (np < 0) {
			cr_expect_lt(rc, 0, "%s: accepted, should be rejected", e->d_name);
			passed += rc < 0;
		} else {
			ds_buf want;
			ds_buf_init(&want, 1u << 20);
			for (int i = 0; i < np; i++) {
				char raw[8192];
				size_t rl = unb64(parts[i].b64, raw);
				if (parts[i].file)
					ds_buf_printf(&want, "D[%s|%s|%s|", parts[i].name,
						      parts[i].fname, parts[i].ctype);
				else
					ds_buf_printf(&want, "F[%s|", parts[i].name);
				put_esc(&want, raw, rl);
				ds_buf_putc(&want, ']');
			}
			bool ok = rc == 0 && !strcmp(out, want.data ? want.data : "");
			cr_expect(ok, "%s: rc %d (%s)\n got  %s\n want %s", e->d_name, rc,
				  rc ? err.msg : "", out, want.data);
			passed += ok;
			ds_buf_free(&want);
		}
		ds_free(out);
		ds_free(body);
	}
	closedir(d);
	fprintf(stderr, "multipart corpus: %d/%d passed (python-multipart)\n", passed, total);
	cr_assert_eq(total, 20);
	cr_assert_eq(passed, total);
}

/* ---- our own cases ---- */

#define B "----dossierB7x"
#define CRLF "\r\n"

static void expect_parts(const char *body, const ds_multipart_opts *opts,
			 const char *want)
{
	char *out = NULL;
	ds_err err;
	int rc = parse2(body, strlen(body), B, opts, &out, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(out, want);
	ds_free(out);
}

static void expect_error(const char *body, const ds_multipart_opts *opts,
			 int code, const char *in_msg)
{
	ds_err err;
	int rc = parse2(body, strlen(body), B, opts, NULL, &err);
	cr_assert_eq(rc, code, "rc %d: %s", rc, rc ? err.msg : "");
	cr_assert(strstr(err.msg, in_msg), "message: %s", err.msg);
}

Test(multipart, french_fields)
{
	expect_parts("--" B CRLF
		     "Content-Disposition: form-data; name=\"nom\"" CRLF CRLF
		     "Hélène Dupré" CRLF
		     "--" B CRLF
		     "Content-Disposition: form-data; name=\"message\"" CRLF CRLF
		     "Je ne suis pas satisfait : réclamation n°42, 1 234,50 €" CRLF
		     "--" B CRLF
		     "Content-Disposition: form-data; name=\"consentement\"" CRLF CRLF
		     "on" CRLF
		     "--" B "--" CRLF,
		     NULL,
		     "F[nom|Hélène Dupré]"
		     "F[message|Je ne suis pas satisfait : réclamation n°42, 1 234,50 €]"
		     "F[consentement|on]");
}

Test(multipart, charsets)
{
	/* `_charset_` at the end applies to the fields before it */
	expect_parts("--" B CRLF
		     "Content-Disposition: form-data; name=\"ville\"" CRLF CRLF
		     "Besan\xe7on \x80" CRLF
		     "--" B CRLF
		     "Content-Disposition: form-data; name=\"_charset_\"" CRLF CRLF
		     "windows-1252" CRLF
		     "--" B "--",
		     NULL, "F[ville|Besançon €]F[_charset_|windows-1252]");
	/* the caller's charset; a part's own charset wins */
	ds_multipart_opts o = { .charset = "ISO-8859-15" };
	expect_parts("--" B CRLF
		     "Content-Disposition: form-data; name=\"a\"" CRLF CRLF
		     "\xa4" CRLF
		     "--" B CRLF
		     "Content-Type: text/plain; charset=\"UTF-8\"" CRLF
		     "Content-Disposition: form-data; name=\"b\"" CRLF CRLF
		     "é" CRLF
		     "--" B "--",
		     &o, "F[a|€]F[b|é]");
	/* invalid UTF-8 becomes U+FFFD */
	expect_parts("--" B CRLF
		     "Content-Disposition: form-data; name=\"a\"" CRLF CRLF
		     "x\xff" CRLF "--" B "--",
		     NULL, "F[a|x\xef\xbf\xbd]");
	expect_error("--" B CRLF
		     "Content-Disposition: form-data; name=\"_charset_\"" CRLF CRLF
		     "klingon" CRLF "--" B "--",
		     NULL, DS_EINVAL, "klingon");
	ds_multipart_parser *p = NULL;
	ds_multipart_opts bad = { .charset = "ebcdic" };
	ds_err err;
	cr_assert_eq(ds_multipart_new(&p, "x", 1, &bad, NULL, &err), DS_EINVAL);
	cr_assert_null(p);
}

Test(multipart, file_upload)
{
	expect_parts("--" B CRLF
		     "Content-Disposition: form-data; name=\"piece\"; filename=\"bon de \\\"commande\\\".pdf\"" CRLF
		     "Content-Type: application/pdf" CRLF CRLF
		     "%PDF-1.4\r\n--" B "x\r\n\r\n%%EOF" CRLF
		     "--" B CRLF
		     "Content-Disposition: form-data; name=\"photo\"; filename=\"x.jpg\"; filename*=UTF-8''r%C3%A9clamation.jpg" CRLF CRLF
		     "JPEG" CRLF
		     "--" B CRLF
		     "Content-Disposition: form-data; name=\"vide\"; filename=\"\"" CRLF CRLF
		     CRLF
		     "--" B "--",
		     NULL,
		     "D[piece|bon de \"commande\".pdf|application/pdf|%PDF-1.4\\x0D\\x0A--" B "x\\x0D\\x0A\\x0D\\x0A%%EOF]"
		     "D[photo|réclamation.jpg|application/octet-stream|JPEG]"
		     "D[vide||application/octet-stream|]");
}

Test(multipart, transfer_encodings)
{
	expect_parts("--" B CRLF
		     "Content-Disposition: form-data; name=\"a\"" CRLF
		     "Content-Transfer-Encoding: base64" CRLF CRLF
		     "SMOpbMOobmU=" CRLF
		     "--" B CRLF
		     "Content-Disposition: form-data; name=\"b\"" CRLF
		     "Content-Transfer-Encoding: Quoted-Printable" CRLF CRLF
		     "r=C3=A9clam=\r\nation =3D =ZZ" CRLF
		     "--" B "--",
		     NULL, "F[a|Hélène]F[b|réclamation = =ZZ]");
	expect_error("--" B CRLF
		     "Content-Disposition: form-data; name=\"a\"" CRLF
		     "Content-Transfer-Encoding: base64" CRLF CRLF
		     "SMO*" CRLF "--" B "--",
		     NULL, DS_EINVAL, "base64");
}

Test(multipart, malformed)
{
	expect_error("preamble" CRLF "--" B "--", NULL, DS_EINVAL, "starts");
	expect_error("--" B CRLF "Content-Disposition: form-data; name=a" CRLF CRLF "x",
		     NULL, DS_EINVAL, "closing");
	expect_error("--" B CRLF "Content-Type: text/plain" CRLF CRLF "x" CRLF "--" B "--",
		     NULL, DS_EINVAL, "Content-Disposition");
	expect_error("--" B CRLF "Content-Disposition: form-data" CRLF CRLF "x" CRLF "--" B "--",
		     NULL, DS_EINVAL, "name");
	expect_error("--" B CRLF "Content Disposition: form-data; name=a" CRLF CRLF "x" CRLF "--" B "--",
		     NULL, DS_EINVAL, "header name");
	/* no parts at all; padding after a boundary; folded header */
	expect_parts("--" B "--", NULL, "");
	expect_parts("--" B " \t" CRLF
		     "Content-Disposition: form-data;" CRLF "\tname=\"a\"" CRLF CRLF
		     "1" CRLF "--" B "--" CRLF "epilogue",
		     NULL, "F[a|1]");
}

Test(multipart, limits)
{
	const char *two = "--" B CRLF
			  "Content-Disposition: form-data; name=\"a\"" CRLF CRLF
			  "12345" CRLF
			  "--" B CRLF
			  "Content-Disposition: form-data; name=\"f\"; filename=\"f.txt\"" CRLF CRLF
			  "1234567890" CRLF
			  "--" B "--";
	/* fields wait for a `_charset_` that never comes: the file is
	 * delivered first */
	const char *got = "D[f|f.txt|application/octet-stream|1234567890]F[a|12345]";
	expect_parts(two, NULL, got);
	ds_multipart_opts o = { .flags = DS_MULTIPART_NO_CHARSET_FIELD };
	expect_parts(two, &o, "F[a|12345]D[f|f.txt|application/octet-stream|1234567890]");
	o = (ds_multipart_opts){ .max_parts = 1 };
	expect_error(two, &o, DS_ELIMIT, "max_parts");
	o = (ds_multipart_opts){ .max_header = 40 };
	expect_error(two, &o, DS_ELIMIT, "max_header");
	o = (ds_multipart_opts){ .max_value = 4 };
	expect_error(two, &o, DS_ELIMIT, "max_value");
	o = (ds_multipart_opts){ .max_value = 5, .max_file = 9 };
	expect_error(two, &o, DS_ELIMIT, "max_file");
	o = (ds_multipart_opts){ .max_value = 5, .max_file = 10 };
	expect_parts(two, &o, got);
	o = (ds_multipart_opts){ .max_total = strlen(two) - 1 };
	expect_error(two, &o, DS_ELIMIT, "max_total");
	o = (ds_multipart_opts){ .max_total = strlen(two) };
	expect_parts(two, &o, got);
	/* a failed parser keeps failing */
	ds_multipart_parser *p = NULL;
	ds_err err;
	o = (ds_multipart_opts){ .max_parts = 1 };
	cr_assert_eq(ds_multipart_new(&p, B, strlen(B), &o, NULL, &err), 0);
	cr_assert_eq(ds_multipart_feed(p, two, strlen(two), &err), DS_ELIMIT);
	cr_assert_eq(ds_multipart_feed(p, "x", 1, &err), DS_ELIMIT);
	cr_assert_eq(ds_multipart_finish(p, &err), DS_ELIMIT);
	ds_multipart_free(p);
}

/* A 10 MB upload under a 1 MB max_file is refused as soon as it passes
 * 1 MB, having handed at most 1 MB to the callback and kept none. */
Test(multipart, large_file_streamed_and_refused)
{
	struct got g;
	got_init(&g);
	g.keep_data = false;
	ds_multipart_cb cb = callbacks(&g);
	ds_multipart_opts o = { .max_file = 1u << 20, .max_total = 32u << 20 };
	ds_multipart_parser *p = NULL;
	ds_err err;
	cr_assert_eq(ds_multipart_new(&p, B, strlen(B), &o, &cb, &err), 0);
	const char *head = "--" B CRLF
			   "Content-Disposition: form-data; name=\"pj\"; filename=\"gros.bin\"" CRLF
			   "Content-Type: application/octet-stream" CRLF CRLF;
	cr_assert_eq(ds_multipart_feed(p, head, strlen(head), &err), 0);
	static char chunk[64 << 10];
	memset(chunk, 'A', sizeof chunk);
	int rc = 0;
	size_t fed = 0;
	while (fed < (10u << 20) && !rc) {
		rc = ds_multipart_feed(p, chunk, sizeof chunk, &err);
		fed += sizeof chunk;
	}
	cr_assert_eq(rc, DS_ELIMIT);
	cr_assert(strstr(err.msg, "max_file"), "%s", err.msg);
	cr_assert_leq(fed, (1u << 20) + sizeof chunk);
	cr_assert_leq(g.data_bytes, 1u << 20);
	cr_assert_eq(g.fdata.len, 0);
	ds_multipart_free(p);

	/* the same file under the limit: streamed in pieces, hashed */
	g.data_bytes = 0;
	g.data_calls = 0;
	o.max_file = 10u << 20;
	cr_assert_eq(ds_multipart_new(&p, B, strlen(B), &o, &cb, &err), 0);
	cr_assert_eq(ds_multipart_feed(p, head, strlen(head), &err), 0);
	ds_sha256 *h = ds_sha256_begin();
	for (fed = 0; fed < (10u << 20); fed += sizeof chunk) {
		cr_assert_eq(ds_multipart_feed(p, chunk, sizeof chunk, &err), 0);
		ds_sha256_update(h, chunk, sizeof chunk);
	}
	char want[65];
	ds_sha256_end(h, want);
	const char *tail = CRLF "--" B "--";
	cr_assert_eq(ds_multipart_feed(p, tail, strlen(tail), &err), 0, "%s", err.msg);
	cr_assert_eq(ds_multipart_finish(p, &err), 0);
	cr_assert_eq(g.data_bytes, 10u << 20);
	cr_assert_geq(g.data_calls, 160);
	ds_multipart_free(p);
	got_free(&g);
}

Test(multipart, json_collector)
{
	const char *body = "--" B CRLF
			   "Content-Disposition: form-data; name=\"produit\"" CRLF CRLF
			   "chaudière" CRLF
			   "--" B CRLF
			   "Content-Disposition: form-data; name=\"produit\"" CRLF CRLF
			   "radiateur" CRLF
			   "--" B CRLF
			   "Content-Disposition: form-data; name=\"pj\"; filename=\"a.txt\"" CRLF
			   "Content-Type: text/plain" CRLF CRLF
			   "abc" CRLF
			   "--" B "--";
	cJSON *j = NULL;
	ds_err err;
	cr_assert_eq(ds_multipart_parse_json(body, strlen(body), B, strlen(B), NULL,
					     DS_FORM_OBJECT, &j, &err), 0, "%s", err.msg);
	char *s = cJSON_PrintUnformatted(j);
	cr_assert_str_eq(s, "{\"fields\":{\"produit\":[\"chaudière\",\"radiateur\"]},"
			 "\"files\":[{\"name\":\"pj\",\"filename\":\"a.txt\","
			 "\"content_type\":\"text/plain\",\"size\":3,\"sha256\":"
			 "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]}");
	cJSON_free(s);
	cJSON_Delete(j);
	cr_assert_eq(ds_multipart_parse_json(body, strlen(body), B, strlen(B), NULL,
					     DS_FORM_LIST, &j, &err), 0);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "fields"));
	cr_assert_str_eq(s, "[{\"name\":\"produit\",\"value\":\"chaudière\"},"
			 "{\"name\":\"produit\",\"value\":\"radiateur\"}]");
	cJSON_free(s);
	cJSON_Delete(j);
	cr_assert_eq(ds_multipart_parse_json("x", 1, B, strlen(B), NULL,
					     DS_FORM_OBJECT, &j, &err), DS_EINVAL);
	cr_assert_null(j);
}

Test(multipart, mime_input)
{
	const char *bodies[] = {
		"Content-Type: multipart/form-data; boundary=" B CRLF
		"--" B CRLF "Content-Disposition: form-data; name=a" CRLF CRLF "1" CRLF "--" B "--",
		"content-type: Multipart/Form-Data; boundary=\"" B "\"; charset=iso-8859-1\n\n"
		"--" B CRLF "Content-Disposition: form-data; name=a" CRLF CRLF "\xe9" CRLF "--" B "--",
		"Content-Type: multipart/form-data; boundary=" B CRLF CRLF
		"--" B CRLF "Content-Disposition: form-data; name=a" CRLF CRLF "1" CRLF "--" B "--",
	};
	const char *want[] = { "F[a|1]", "F[a|é]", "F[a|1]" };
	for (size_t i = 0; i < 3; i++) {
		struct got g;
		got_init(&g);
		ds_multipart_cb cb = callbacks(&g);
		ds_err err;
		cr_assert_eq(ds_multipart_parse_mime(bodies[i], strlen(bodies[i]), NULL, &cb, &err),
			     0, "%zu: %s", i, err.msg);
		cr_assert_str_eq(g.out.data, want[i]);
		got_free(&g);
	}
	ds_err err;
	ds_multipart_cb none = { 0 };
	const char *bad[] = {
		"--" B "--",
		"Content-Type: text/plain" CRLF "--" B "--",
		"Content-Type: multipart/form-data" CRLF "--" B "--",
	};
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(ds_multipart_parse_mime(bad[i], strlen(bad[i]), NULL, &none, &err),
			     DS_EINVAL, "%zu", i);
	const char *bd;
	size_t bl;
	int cs;
	const char *ct = "multipart/form-data; charset=windows-1252; boundary=abc";
	cr_assert_eq(ds_multipart_boundary(ct, strlen(ct), &bd, &bl, &cs, &err), 0);
	cr_assert_eq(bl, 3);
	cr_assert_eq(memcmp(bd, "abc", 3), 0);
	cr_assert_eq(cs, DS_FORM_WINDOWS_1252);
}

/* Strict: text said (or taken) to be UTF-8 that is not is refused, naming
 * the part; what a charset says is read as it says. */
Test(multipart, strict_utf8)
{
	ds_multipart_opts o = { .flags = DS_MULTIPART_STRICT };
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"nom\"" CRLF CRLF
		     "Th\xe9r\xe8se" CRLF "--" B "--", &o, DS_EINVAL,
		     "the value of part \"nom\" is not valid UTF-8: byte 0xE9 at byte 2");
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"pr\xe9nom\"" CRLF CRLF
		     "x" CRLF "--" B "--", &o, DS_EINVAL, "the field name of part");
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"f\"; filename=\"relev\xe9.jpg\""
		     CRLF CRLF "x" CRLF "--" B "--", &o, DS_EINVAL,
		     "the filename of part \"f\" is not valid UTF-8: byte 0xE9 at byte 5");
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"f\"; "
		     "filename*=UTF-8''relev%E9.jpg" CRLF CRLF "x" CRLF "--" B "--", &o, DS_EINVAL,
		     "the filename* of part \"f\" says UTF-8 and is not: byte 0xE9 at byte 5");
	/* a charset that says so: the part's, `_charset_`, the caller's */
	expect_parts("--" B CRLF "Content-Disposition: form-data; name=\"nom\"" CRLF
		     "Content-Type: text/plain; charset=windows-1252" CRLF CRLF
		     "Th\xe9r\xe8se" CRLF "--" B "--", &o, "F[nom|Thérèse]");
	expect_parts("--" B CRLF "Content-Disposition: form-data; name=\"nom\"" CRLF CRLF
		     "Th\xe9r\xe8se" CRLF "--" B CRLF
		     "Content-Disposition: form-data; name=\"_charset_\"" CRLF CRLF
		     "ISO-8859-1" CRLF "--" B "--", &o, "F[nom|Thérèse]F[_charset_|ISO-8859-1]");
	o.charset = "windows-1252";
	expect_parts("--" B CRLF "Content-Disposition: form-data; name=\"f\"; filename=\"relev\xe9.jpg\""
		     CRLF CRLF "x" CRLF "--" B "--", &o, "D[f|relevé.jpg|application/octet-stream|x]");
	/* without the flag, U+FFFD as before */
	expect_parts("--" B CRLF "Content-Disposition: form-data; name=\"nom\"" CRLF CRLF
		     "Th\xe9" CRLF "--" B "--", NULL, "F[nom|Th\xef\xbf\xbd]");
}

/* Messages say where a body went wrong in words a person can act on. */
Test(multipart, messages)
{
	expect_error("preamble" CRLF "--" B "--", NULL, DS_EINVAL,
		     "the body starts with something other than its boundary \"--" B "\" (byte 0");
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\""
		     CRLF CRLF "\xff\xd8\xff", NULL, DS_EINVAL,
		     "in part 1 (\"photo\"), without its closing boundary \"--" B "--\"");
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"a\"" CRLF CRLF "1" CRLF
		     "--" B CRLF "Content-Disposition: form-data; na", NULL, DS_EINVAL,
		     "in the headers of part 2, without its closing boundary");
	ds_multipart_opts o = { .max_header = 60 };
	expect_error("--" B CRLF "Content-Disposition: form-data; name=\"a\"" CRLF CRLF "1" CRLF
		     "--" B CRLF "Content-Disposition: form-data; name=\"b\"; filename=\"tres-long.jpg\""
		     CRLF CRLF "x" CRLF "--" B "--", &o, DS_ELIMIT,
		     "the headers of part 2 are longer than max_header (60 bytes)");
	const char *mime = "Content-Type: multipart/form-data; boundary=abc" CRLF CRLF
			   "--xyz" CRLF "Content-Disposition: form-data; name=a" CRLF CRLF "1" CRLF
			   "--xyz--" CRLF;
	ds_multipart_cb none = { 0 };
	ds_err err;
	cr_assert_eq(ds_multipart_parse_mime(mime, strlen(mime), NULL, &none, &err), DS_EINVAL);
	cr_expect(strstr(err.msg, "its boundary \"--abc\" (from the Content-Type line) appears "
			 "nowhere in the body"), "%s", err.msg);
}

/* Every allocation fails in turn: each run ends in 0 or DS_ENOMEM, never
 * a crash or a leak (the sanitizer build checks leaks). */
Test(multipart, allocation_failures)
{
	const char *body = "--" B CRLF
			   "Content-Disposition: form-data; name=\"a\"" CRLF CRLF
			   "x" CRLF
			   "--" B CRLF
			   "Content-Disposition: form-data; name=\"f\"; filename=\"f\"" CRLF CRLF
			   "y" CRLF
			   "--" B CRLF
			   "Content-Disposition: form-data; name=\"_charset_\"" CRLF CRLF
			   "utf-8" CRLF
			   "--" B "--";
	bool ok = false;
	for (long n = 0; n < 200 && !ok; n++) {
		cJSON *j = NULL;
		ds_err err;
		ds_mem_fail_after(n);
		int rc = ds_multipart_parse_json(body, strlen(body), B, strlen(B), NULL,
						 DS_FORM_OBJECT, &j, &err);
		ds_mem_fail_after(-1);
		cr_assert(rc == 0 || rc == DS_ENOMEM, "n=%ld rc=%d %s", n, rc, err.msg);
		ok = rc == 0;
		cJSON_Delete(j);
	}
	cr_assert(ok);
}
