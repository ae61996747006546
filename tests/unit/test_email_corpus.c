/*
 * test_email_corpus.c - the email reader (email.h) against the public
 * email corpora in ../shared/corpus/email/ (paths relative to the
 * repository root, where the tests run):
 *
 *   mime4j    every NAME.msg of mime4j-mimetools-testmsgs/: the part tree
 *             (paths, content types, nesting, count) against the tree of
 *             NAME_decoded.xml, and the decoded bytes of every leaf
 *             (ds_email_part) against NAME_decoded_<id>.txt/.bin.
 *   fields    every message of mail-gem/ and mailparser/ parses or is
 *             refused with a reason, and a parsed one has a subject, a
 *             sender, a date and body text.
 *   oracle    the same messages read by the npm package mailparser
 *             (tests/oracle/mailparser.js, one node process for all):
 *             subject, From address, To addresses, date, attachment names
 *             and sizes, text body.
 *
 * Where a message is read differently on purpose, or GMime reads malformed
 * input its own way, the case is listed by name in a table below with its
 * reason. A listed case that starts to agree fails the test as surely as an
 * unlisted disagreement does, so the tables stay true.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "email.h"
#include "err.h"
#include "json.h"
#include "mem.h"

#define CORPUS "../shared/corpus/email/"
#define MIME4J CORPUS "mime4j-mimetools-testmsgs/"

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(email_corpus, .init = setup);

/* A known difference: a corpus file (relative to CORPUS, or a mime4j
 * message name), what differs (a field, or for mime4j the kind of
 * difference) and why. */
typedef struct known {
	const char *name;
	const char *what;
	const char *reason;
} known;

/* The entry for name and what (any what when NULL), or NULL. */
static const known *find_known(const known *tab, size_t n, const char *name,
			       const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0 && (!what || strcmp(tab[i].what, what) == 0))
			return &tab[i];
	return NULL;
}

/* Checks one case against its table: returns false (and says why) when it
 * differs without being listed or is listed but agrees. */
static bool honest(const known *tab, size_t n, const char *name, const char *what,
		   bool differs, const char *detail)
{
	const known *k = find_known(tab, n, name, what);
	if (differs && !k) {
		printf("UNLISTED DIFFERENCE %s (%s): %s\n", name, what, detail);
		return false;
	}
	if (!differs && k) {
		printf("LISTED BUT AGREES %s (%s, listed as: %s): remove it from the table\n", name,
		       k->what, k->reason);
		return false;
	}
	return true;
}

/* ---- files ---- */

typedef struct files {
	char **v;
	size_t n, cap;
} files;

static void files_add(files *f, const char *path)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->v = realloc(f->v, f->cap * sizeof(*f->v));
		cr_assert_not_null(f->v);
	}
	f->v[f->n] = strdup(path);
	cr_assert_not_null(f->v[f->n]);
	f->n++;
}

static void files_free(files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* Every regular file below dir whose name does not start with '.', in
 * name order, depth first. */
static void collect(const char *dir, files *f)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);
	cr_assert_geq(n, 0, "cannot read %s", dir);
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		char path[1024];
		struct stat st;
		if (nm[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, nm);
			cr_assert_eq(stat(path, &st), 0, "%s", path);
			if (S_ISDIR(st.st_mode))
				collect(path, f);
			else if (S_ISREG(st.st_mode))
				files_add(f, path);
		}
		free(ents[i]);
	}
	free(ents);
}

static char *slurp(const char *path, size_t *n)
{
	char *buf = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_read_file(path, 64u << 20, &buf, n, &err), 0, "%s: %s", path, err.msg);
	return buf;
}

/* ---- mime4j: the expected tree ---- */

typedef struct want_part {
	char path[64];   /* IMAP section number */
	char type[128];  /* lower-case type/subtype */
	char file[256];  /* decoded body file of a leaf, "" for a container */
} want_part;

typedef struct want {
	char type[128];  /* the top-level message's */
	want_part p[64];
	size_t n;
} want;

static const xmlNode *elem(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

static bool tokenish(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || strchr("()<>@,;:\\\"/[]?=", s[i]))
			return false;
	return true;
}

/* The content type mime4j gives an entity: its first Content-Type field's
 * type/subtype when both are tokens, else text/plain (message/rfc822 in a
 * multipart/digest). */
static void mime4j_type(const xmlNode *entity, bool digest, char out[128])
{
	snprintf(out, 128, "%s", digest ? "message/rfc822" : "text/plain");
	for (const xmlNode *f = elem(entity, "header") ? elem(entity, "header")->children : NULL;
	     f; f = f->next) {
		if (f->type != XML_ELEMENT_NODE || strcmp((const char *)f->name, "field") != 0)
			continue;
		/* libxml2's string, freed with xmlFree */
		xmlChar *x = xmlNodeGetContent(f);
		const char *s = (const char *)x;
		while (s && isspace((unsigned char)*s))
			s++;
		bool ct = s && strncasecmp(s, "content-type", 12) == 0;
		if (ct) {
			s += 12;
			while (*s == ' ' || *s == '\t')
				s++;
			ct = *s == ':';
		}
		if (ct) {
			s++;
			while (isspace((unsigned char)*s))
				s++;
			size_t end = strcspn(s, ";");
			while (end > 0 && isspace((unsigned char)s[end - 1]))
				end--;
			const char *slash = memchr(s, '/', end);
			if (slash && tokenish(s, (size_t)(slash - s)) &&
			    tokenish(slash + 1, end - (size_t)(slash - s) - 1) && end < 128) {
				for (size_t i = 0; i < end; i++)
					out[i] = (char)tolower((unsigned char)s[i]);
				out[end] = '\0';
			}
		}
		xmlFree(x);
		if (ct)
			return;
	}
}

static void want_entity(want *w, const xmlNode *e, const char *path, bool digest);

/* The parts below a message whose own parts are numbered under prefix:
 * the children of its multipart, or its single body as prefix.1 (or "1"
 * for the top-level message). */
static void want_message(want *w, const xmlNode *m, const char *prefix)
{
	const xmlNode *mp = elem(m, "multipart");
	char path[64];
	if (!mp) {
		snprintf(path, sizeof(path), "%s%s1", prefix, *prefix ? "." : "");
		want_entity(w, m, path, false);
		return;
	}
	char type[128];
	mime4j_type(m, false, type);
	int i = 0;
	for (const xmlNode *c = mp->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "body-part") != 0)
			continue;
		snprintf(path, sizeof(path), "%s%s%d", prefix, *prefix ? "." : "", ++i);
		want_entity(w, c, path, strcmp(type, "multipart/digest") == 0);
	}
}

/* One entity at IMAP path `path`, then what it holds. */
static void want_entity(want *w, const xmlNode *e, const char *path, bool digest)
{
	cr_assert_lt(w->n, sizeof(w->p) / sizeof(w->p[0]));
	want_part *p = &w->p[w->n++];
	snprintf(p->path, sizeof(p->path), "%s", path);
	mime4j_type(e, digest, p->type);
	p->file[0] = '\0';
	const xmlNode *mp = elem(e, "multipart");
	const xmlNode *msg = elem(e, "message");
	if (mp) {
		int i = 0;
		for (const xmlNode *c = mp->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)c->name, "body-part") != 0)
				continue;
			char cp[64];
			snprintf(cp, sizeof(cp), "%s.%d", path, ++i);
			want_entity(w, c, cp, strcmp(p->type, "multipart/digest") == 0);
		}
	} else if (msg) {
		want_message(w, msg, path);
	} else {
		const xmlNode *b = elem(e, "text-body");
		if (!b)
			b = elem(e, "binary-body");
		cr_assert_not_null(b, "entity %s has no body", path);
		/* libxml2's string, freed with xmlFree */
		xmlChar *nm = xmlGetProp(b, (const xmlChar *)"name");
		cr_assert_not_null(nm);
		snprintf(p->file, sizeof(p->file), "%s", (const char *)nm);
		xmlFree(nm);
	}
}

/*
 * mime4j names a decoded body by its entity id: the message is 1, the
 * children of a multipart append _1, _2..., and the message inside a
 * message/rfc822 entity appends _1. IMAP numbering drops the message's own
 * 1 and, where a message's body is a multipart, that message's _1 (its
 * parts number straight after the message/rfc822 entity: 1_2_1_1 is 2.1);
 * a message whose body is not multipart keeps it (1_2_1 is 2.1, and a
 * top-level single-part body 1 is 1). The tree walk above applies this,
 * taking each leaf's file name from the XML rather than recomputing it.
 */
static void mime4j_want(const char *name, want *w)
{
	char path[512];
	snprintf(path, sizeof(path), MIME4J "%s_decoded.xml", name);
	size_t n = 0;
	char *xml = slurp(path, &n);
	/* libxml2's document, freed with xmlFreeDoc; the files are ISO-8859-1 */
	xmlDocPtr doc = xmlReadMemory(xml, (int)n, path, "ISO-8859-1",
				      XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	cr_assert_not_null(doc, "%s does not parse", path);
	const xmlNode *root = xmlDocGetRootElement(doc);
	cr_assert(root && strcmp((const char *)root->name, "message") == 0, "%s", path);
	w->n = 0;
	mime4j_type(root, false, w->type);
	want_message(w, root, "");
	xmlFreeDoc(doc);
	ds_free(xml);
}

/* Known differences: where GMime reads a malformed message otherwise than
 * mime4j did when it wrote the expected files, and where the two keep
 * different line ends. */
#define QP_CRLF "mime4j writes a quoted-printable hard line break as CRLF; GMime keeps " \
		"the message's own LF"
static const known mime4j_known[] = {
	{"2002_06_12_doublebound", "tree",
	 "two boundary lines in a row: mime4j reads an empty text/plain part between "
	 "them, GMime no part"},
	{"double-bound", "tree",
	 "doubled boundary lines: mime4j reads an empty part between each pair, GMime none"},
	{"empty-preamble", "line ends", QP_CRLF},
	{"german-qp", "line ends", QP_CRLF},
	{"jt-0498", "line ends", QP_CRLF},
	{"mp-msg-rfc822", "line ends", QP_CRLF},
	{"multi-2gifs-base64", "tree",
	 "a base64-encoded message/rfc822 (RFC 2046 allows only 7bit, 8bit, binary): "
	 "mime4j decodes and parses it, GMime keeps it as one opaque part"},
	{"multi-bad", "tree",
	 "two Content-Type headers: mime4j takes the first (multipart/mixed), GMime the "
	 "last (text/plain)"},
	{"multi-digest", "tree",
	 "\"Content-type: text\" without a subtype: mime4j reads text/plain, GMime "
	 "application/octet-stream"},
};

/* Whether a and b are equal once every CRLF is read as LF. */
static bool same_but_line_ends(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, k = 0;
	while (i < an && k < bn) {
		if (a[i] == '\r' && i + 1 < an && a[i + 1] == '\n')
			i++;
		if (b[k] == '\r' && k + 1 < bn && b[k + 1] == '\n')
			k++;
		if (a[i++] != b[k++])
			return false;
	}
	return i == an && k == bn;
}

/* Compares one message. Returns NULL when it matches, else the kind of
 * difference: "tree" (types, nesting, part count), "bytes" (a decoded body)
 * or "line ends" (a decoded body, where only CRLF against LF differs); why
 * gets the first difference. */
static const char *mime4j_one(const char *name, char *why, size_t whylen)
{
	want w;
	mime4j_want(name, &w);
	char path[512];
	snprintf(path, sizeof(path), MIME4J "%s.msg", name);
	size_t len = 0;
	char *msg = slurp(path, &len);
	cJSON *j = NULL;
	ds_err err = {0};
	const char *kind = "tree";
	int rc = ds_email_parse(msg, len, NULL, &j, &err);
	if (rc) {
		snprintf(why, whylen, "refused: %s", err.msg);
		goto done;
	}
	const char *top = ds_json_str(j, "content_type");
	if (!top || strcmp(top, w.type) != 0) {
		snprintf(why, whylen, "message is %s, want %s", top ? top : "(none)", w.type);
		goto done;
	}
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(j, "parts");
	size_t got = (size_t)cJSON_GetArraySize(parts);
	for (size_t i = 0; i < w.n || i < got; i++) {
		const cJSON *p = cJSON_GetArrayItem(parts, (int)i);
		const char *gp = p ? ds_json_str(p, "path") : "(none)";
		const char *gt = p ? ds_json_str(p, "content_type") : "(none)";
		const char *wp = i < w.n ? w.p[i].path : "(none)";
		const char *wt = i < w.n ? w.p[i].type : "(none)";
		if (strcmp(gp, wp) != 0 || strcmp(gt, wt) != 0) {
			snprintf(why, whylen, "part #%zu is %s %s, want %s %s (%zu parts, want %zu)",
				 i, gp, gt, wp, wt, got, w.n);
			goto done;
		}
	}
	kind = NULL;
	for (size_t i = 0; i < w.n; i++) {
		if (!w.p[i].file[0])
			continue;
		char fp[512];
		snprintf(fp, sizeof(fp), MIME4J "%s", w.p[i].file);
		size_t wn = 0, gn = 0;
		char *wb = slurp(fp, &wn), *gb = NULL;
		rc = ds_email_part(msg, len, NULL, w.p[i].path, &gb, &gn, &err);
		if (rc) {
			snprintf(why, whylen, "part %s: %s", w.p[i].path, err.msg);
			kind = "bytes";
		} else if (gn != wn || memcmp(gb, wb, wn) != 0) {
			size_t k = 0;
			while (k < gn && k < wn && gb[k] == wb[k])
				k++;
			snprintf(why, whylen, "part %s (%s): %zu bytes, want %zu, first difference at %zu",
				 w.p[i].path, w.p[i].file, gn, wn, k);
			/* a body that differs otherwise outranks one that differs
			 * only in line ends */
			if (!kind || strcmp(kind, "line ends") == 0)
				kind = same_but_line_ends(gb, gn, wb, wn) ? "line ends" : "bytes";
		}
		ds_free(gb);
		ds_free(wb);
		if (kind && strcmp(kind, "bytes") == 0)
			break;
	}
done:
	cJSON_Delete(j);
	ds_free(msg);
	return kind;
}

Test(email_corpus, mime4j)
{
	struct dirent **ents = NULL;
	int n = scandir(MIME4J, &ents, NULL, alphasort);
	cr_assert_gt(n, 0);
	int msgs = 0, match = 0, knownd = 0, bad = 0;
	const size_t nk = sizeof(mime4j_known) / sizeof(mime4j_known[0]);
	for (int i = 0; i < n; i++) {
		char name[256];
		size_t l = strlen(ents[i]->d_name);
		bool is_msg = l > 4 && strcmp(ents[i]->d_name + l - 4, ".msg") == 0 && l - 4 < sizeof(name);
		if (is_msg) {
			memcpy(name, ents[i]->d_name, l - 4);
			name[l - 4] = '\0';
		}
		free(ents[i]);
		if (!is_msg)
			continue;
		msgs++;
		char why[1400] = "";
		const char *kind = mime4j_one(name, why, sizeof(why));
		if (!kind)
			match++;
		else if (find_known(mime4j_known, nk, name, kind))
			knownd++;
		if (!honest(mime4j_known, nk, name, kind, kind != NULL, why))
			bad++;
		else if (kind)
			printf("mime4j known difference %s (%s): %s\n", name, kind, why);
	}
	free(ents);
	/* every listed name is a message of the corpus */
	for (size_t k = 0; k < nk; k++) {
		char p[512];
		struct stat st;
		snprintf(p, sizeof(p), MIME4J "%s.msg", mime4j_known[k].name);
		if (stat(p, &st) != 0) {
			printf("LISTED BUT ABSENT %s\n", mime4j_known[k].name);
			bad++;
		}
	}
	printf("mime4j: %d messages, %d match, %d known differences\n", msgs, match, knownd);
	cr_assert_eq(msgs, 48);
	cr_assert_eq(bad, 0, "%d mime4j cases disagree with the known-differences table", bad);
}

/* ---- mail-gem and mailparser: the fields every message should give ---- */

static const char *const field_dirs[] = {CORPUS "mail-gem", CORPUS "mailparser"};

static void field_corpus(files *f)
{
	for (size_t i = 0; i < sizeof(field_dirs) / sizeof(field_dirs[0]); i++)
		collect(field_dirs[i], f);
	cr_assert_gt(f->n, 0);
}

/* Counts (and names) the table entries that name no file of f. */
static int absent(const known *tab, size_t n, const files *f)
{
	int bad = 0;
	for (size_t k = 0; k < n; k++) {
		bool found = false;
		for (size_t i = 0; i < f->n && !found; i++)
			found = strcmp(f->v[i] + strlen(CORPUS), tab[k].name) == 0;
		if (!found) {
			printf("LISTED BUT ABSENT %s\n", tab[k].name);
			bad++;
		}
	}
	return bad;
}

/* Messages that are refused (what = "refused"), and parsed messages that
 * lack a field (what = the field) because the fixture has none to give. */
#define NO_SUBJECT "the message has no Subject header"
#define NO_DATE "the message has no Date header"
static const known field_known[] = {
	{"mail-gem/attachment_emails/attachment_message_rfc822_inline_image.eml", "text",
	 "the HTML body holds only an image"},
	{"mail-gem/attachment_emails/attachment_only_email.eml", "text",
	 "the message is one application/x-gzip attachment"},
	{"mail-gem/attachment_emails/attachment_with_quoted_filename.eml", "text",
	 "the only part is a JPEG attachment"},
	{"mail-gem/mime_emails/raw_email_with_binary_encoded.eml", "text",
	 "the only part is a JPEG attachment"},
	{"mail-gem/multi_charset/japanese.eml", "date", NO_DATE},
	{"mail-gem/multi_charset/japanese_attachment_long_name.eml", "text",
	 "the only part is a text/plain attachment"},
	{"mail-gem/multi_charset/japanese_iso_2022.eml", "date", NO_DATE},
	{"mail-gem/multipart_report_emails/multipart_report_multiple_status.eml", "text",
	 "the notice is labelled message/delivery-status; the only text/plain is inside "
	 "the returned message/rfc822"},
	{"mail-gem/plain_emails/mix_caps_content_type.eml", "from",
	 "\"From: Big Bug bb@bug.com\" has no angle brackets: GMime reads no mailbox"},
	{"mail-gem/plain_emails/raw_email10.eml", "subject", NO_SUBJECT},
	{"mail-gem/plain_emails/raw_email5.eml", "subject", NO_SUBJECT},
	{"mail-gem/plain_emails/raw_email6.eml", "subject", NO_SUBJECT},
	{"mail-gem/plain_emails/raw_email_with_bad_date.eml", "date",
	 "\"Date: Pn, 29 paX 2007 21:13:00 +0100\" names no month"},
	{"mail-gem/rfc2822/example03.eml", "subject", NO_SUBJECT},
	{"mail-gem/rfc2822/example04.eml", "subject", NO_SUBJECT},
	{"mail-gem/rfc2822/example10.eml", "subject", NO_SUBJECT},
	{"mail-gem/rfc2822/example11.eml", "subject", NO_SUBJECT},
	{"mail-gem/rfc6532/utf8_headers.eml", "date", NO_DATE},
	{"mail-gem/sample_output_multipart", "refused", "an empty file"},
	{"mailparser/base64encodedroot.eml", "subject", NO_SUBJECT},
	{"mailparser/base64encodedroot.eml", "date", NO_DATE},
	{"mailparser/base64encodedroot.eml", "text", "the message is one PNG image"},
	{"mailparser/mixed.eml", "subject", "the message has only MIME headers"},
	{"mailparser/mixed.eml", "from", "the message has only MIME headers"},
	{"mailparser/mixed.eml", "date", "the message has only MIME headers"},
	{"mailparser/nested.eml", "subject", NO_SUBJECT},
	{"mailparser/nested.eml", "date", NO_DATE},
};

Test(email_corpus, fields)
{
	files f = {0};
	field_corpus(&f);
	const size_t nk = sizeof(field_known) / sizeof(field_known[0]);
	int parsed = 0, refused = 0, complete = 0, bad = 0;
	for (size_t i = 0; i < f.n; i++) {
		const char *rel = f.v[i] + strlen(CORPUS);
		size_t len = 0;
		char *buf = slurp(f.v[i], &len);
		cJSON *j = NULL;
		ds_err err = {0};
		int rc = ds_email_parse(buf, len, NULL, &j, &err);
		ds_free(buf);
		if (rc) {
			refused++;
			cr_assert(rc == DS_EINVAL || rc == DS_ELIMIT, "%s: %d %s", rel, rc, err.msg);
			cr_assert(err.msg[0], "%s refused without a reason", rel);
			printf("refused %s: %s\n", rel, err.msg);
			if (!honest(field_known, nk, rel, "refused", true, err.msg))
				bad++;
			continue;
		}
		parsed++;
		if (!honest(field_known, nk, rel, "refused", false, ""))
			bad++;
		const char *subject = ds_json_str(j, "subject");
		const char *from = ds_json_str(cJSON_GetObjectItemCaseSensitive(j, "from"), "address");
		const char *date = ds_json_str(j, "date");
		const char *text = ds_json_str(j, "text");
		const struct {
			const char *what;
			bool has;
		} need[] = {
			{"subject", subject && *subject},
			{"from", from && *from},
			{"date", date != NULL},
			{"text", text && *text},
		};
		bool all = true;
		for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
			all = all && need[k].has;
			if (!honest(field_known, nk, rel, need[k].what, !need[k].has, "absent"))
				bad++;
		}
		if (all)
			complete++;
		cJSON_Delete(j);
	}
	bad += absent(field_known, nk, &f);
	printf("mail-gem+mailparser: %zu messages, %d parsed (%d with every field), %d refused\n",
	       f.n, parsed, complete, refused);
	files_free(&f);
	cr_assert_eq(bad, 0, "%d field cases disagree with the known-differences table", bad);
}

/* ---- mail-gem and mailparser: differential test against mailparser ---- */

#define ORACLE "tests/oracle/mailparser.js"
#define ORACLE_MODULE "tests/oracle/node_modules/mailparser/package.json"
#define ORACLE_MAX_OUT (64u << 20)

/* Runs node on the oracle script with every file as an argument and
 * returns its output parsed (one array, one object per file). */
static cJSON *run_oracle(const files *f)
{
	struct stat st;
	cr_assert_eq(stat(ORACLE_MODULE, &st), 0,
		     "mailparser is not installed: `make test` runs npm ci --prefix tests/oracle");
	char **argv = calloc(f->n + 3, sizeof(*argv));
	cr_assert_not_null(argv);
	argv[0] = (char *)"node";
	argv[1] = (char *)ORACLE;
	for (size_t i = 0; i < f->n; i++)
		argv[i + 2] = f->v[i];
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	posix_spawn_file_actions_addclose(&fa, fd[1]);
	pid_t pid;
	int rc = posix_spawnp(&pid, "node", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	free(argv);
	cr_assert_eq(rc, 0, "cannot run node: %s", strerror(rc));
	size_t cap = 1u << 16, n = 0;
	char *out = malloc(cap);
	cr_assert_not_null(out);
	for (;;) {
		if (n == cap) {
			cr_assert_lt(cap, ORACLE_MAX_OUT, "the oracle's output is too long");
			cap *= 2;
			out = realloc(out, cap);
			cr_assert_not_null(out);
		}
		ssize_t k = read(fd[0], out + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		cr_assert_geq(k, 0, "reading the oracle: %s", strerror(errno));
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd[0]);
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the oracle failed (%d)", status);
	cJSON *j = cJSON_ParseWithLength(out, n);
	free(out);
	cr_assert(cJSON_IsArray(j), "the oracle's output is not a JSON array");
	cr_assert_eq((size_t)cJSON_GetArraySize(j), f->n);
	return j;
}

/* s with every run of white space (ASCII, and U+00A0) as one space, and
 * none at either end; malloc'd. */
static char *squash(const char *s)
{
	char *o = malloc(strlen(s ? s : "") + 1);
	cr_assert_not_null(o);
	size_t n = 0;
	bool space = false;
	for (const char *p = s ? s : ""; *p; p++) {
		bool ws = isspace((unsigned char)*p);
		if (!ws && (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0) {
			ws = true;
			p++;
		}
		if (ws) {
			space = n > 0;
			continue;
		}
		if (space)
			o[n++] = ' ';
		space = false;
		o[n++] = *p;
	}
	o[n] = '\0';
	return o;
}

/* Compares two strings (either may be NULL) after squash(). */
static bool same_text(const char *a, const char *b, char *why, size_t whylen)
{
	char q1[72], q2[72];
	if (!a || !b) {
		snprintf(why, whylen, "ours %s, mailparser %s", a ? ds_quote(a, q1) : "null",
			 b ? ds_quote(b, q2) : "null");
		return !a && !b;
	}
	char *x = squash(a), *y = squash(b);
	bool same = strcmp(x, y) == 0;
	if (!same) {
		size_t k = 0;
		while (x[k] && x[k] == y[k])
			k++;
		snprintf(why, whylen, "differ at %zu: ours \"%s\", mailparser \"%s\"", k,
			 ds_quote(x + k, q1), ds_quote(y + k, q2));
	}
	free(x);
	free(y);
	return same;
}

/* Appends "a, b, c" of the string members key of the array's objects (or
 * of the array's strings when key is NULL) to out. */
static void list_of(const cJSON *arr, const char *key, const char *key2, char *out, size_t max)
{
	size_t n = 0;
	out[0] = '\0';
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		const char *s = key ? ds_json_str(e, key) : e->valuestring;
		int k;
		if (key2) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key2);
			k = snprintf(out + n, max - n, "%s%s:%.0f", n ? ", " : "", s ? s : "(none)",
				     cJSON_IsNumber(v) ? v->valuedouble : -1.0);
		} else {
			k = snprintf(out + n, max - n, "%s%s", n ? ", " : "", s ? s : "(none)");
		}
		if (k < 0 || (size_t)k >= max - n)
			break;
		n += (size_t)k;
	}
}

/* Where our reading and mailparser's differ on purpose or through a
 * malformed fixture: the file and the field. */
#define MSG_ATT "an attached message/rfc822: mailparser lists it as one attachment, we " \
		"read inside it and list its own attachments"
#define TEXT_ATT "a text part neither plain nor HTML and without a name (text/enriched, " \
		 "text/watch-html): mailparser lists it as an attachment, we do not"
#define REPORT_ATT "a delivery report: mailparser lists the returned message or its " \
		   "headers, we the message/delivery-status part (and read inside the " \
		   "returned message)"
#define REPORT_TEXT "a delivery report: mailparser adds the message/delivery-status part " \
		    "to the body text, we keep to text/plain and text/html"
#define MORE_TEXT "several inline text parts: mailparser joins them all into the text, " \
		  "we keep the first"
#define BAD_2231 "name*=iso-2022-jp'ja'...%8a...: 0x8A is not ISO-2022-JP; mailparser " \
		 "drops it, we read the stray byte as Windows-1252"
static const known oracle_known[] = {
	{"mail-gem/attachment_emails/attachment_message_rfc822.eml", "attachments", MSG_ATT},
	{"mail-gem/attachment_emails/attachment_message_rfc822_inline_image.eml", "attachments",
	 MSG_ATT},
	{"mail-gem/attachment_emails/attachment_with_encoded_name.eml", "attachments", BAD_2231},
	{"mail-gem/mime_emails/raw_email11.eml", "attachments", TEXT_ATT},
	{"mail-gem/mime_emails/raw_email4.eml", "text", MORE_TEXT},
	{"mail-gem/mime_emails/raw_email_with_mimepart_without_content_type.eml", "attachments",
	 REPORT_ATT},
	{"mail-gem/mime_emails/raw_email_with_mimepart_without_content_type.eml", "text",
	 REPORT_TEXT},
	{"mail-gem/multi_charset/japanese_attachment_long_name.eml", "attachments",
	 "CRLF lines but a closing boundary line ending in LF: GMime then keeps the CR of "
	 "the CRLF before it (19 bytes, mailparser 18)"},
	{"mail-gem/multipart_report_emails/multi_address_bounce1.eml", "attachments", REPORT_ATT},
	{"mail-gem/multipart_report_emails/multi_address_bounce1.eml", "text", REPORT_TEXT},
	{"mail-gem/multipart_report_emails/multi_address_bounce2.eml", "attachments", REPORT_ATT},
	{"mail-gem/multipart_report_emails/multi_address_bounce2.eml", "text", REPORT_TEXT},
	{"mail-gem/multipart_report_emails/multipart_report_multiple_status.eml", "attachments",
	 REPORT_ATT},
	{"mail-gem/multipart_report_emails/multipart_report_multiple_status.eml", "text",
	 REPORT_TEXT},
	{"mail-gem/multipart_report_emails/report_422.eml", "attachments", REPORT_ATT},
	{"mail-gem/multipart_report_emails/report_422.eml", "text", REPORT_TEXT},
	{"mail-gem/multipart_report_emails/report_530.eml", "attachments", REPORT_ATT},
	{"mail-gem/multipart_report_emails/report_530.eml", "text", REPORT_TEXT},
	{"mail-gem/plain_emails/mix_caps_content_type.eml", "from",
	 "\"From: Big Bug bb@bug.com\" has no angle brackets: mailparser takes the address, "
	 "GMime reads no mailbox"},
	{"mail-gem/plain_emails/raw_email8.eml", "attachments", BAD_2231},
	{"mail-gem/plain_emails/raw_email_multiple_from.eml", "to",
	 "\"To: a b\" without a comma: GMime reads two mailboxes, mailparser one"},
	{"mail-gem/rfc2822/example11.eml", "to",
	 "obsolete domain \"jdoe@test   . example\": GMime reads test.example (RFC 5322 "
	 "obs-domain), mailparser stops at test"},
	{"mail-gem/rfc2822/example13.eml", "from",
	 "obsolete \"From  :\" with white space before the colon (RFC 5322 4.5): GMime "
	 "reads it, mailparser does not"},
	{"mail-gem/rfc2822/example13.eml", "date",
	 "obsolete \"Date  :\" with comments inside the time: GMime reads it, mailparser "
	 "does not"},
	{"mail-gem/sample_output_multipart", "refused",
	 "an empty file: we refuse it, mailparser gives an empty message"},
	{"mailparser/decoderended.eml", "attachments", MSG_ATT},
	{"mailparser/delivery-status.eml", "attachments", REPORT_ATT},
	{"mailparser/delivery-status.eml", "text", REPORT_TEXT},
	{"mailparser/mixed.eml", "text", MORE_TEXT},
	{"mailparser/nested.eml", "text", MORE_TEXT},
	{"mailparser/nodemailer.eml", "attachments", TEXT_ATT},
	{"mailparser/spam.eml", "text",
	 "text/html with a boundary parameter: mailparser splits it like a multipart and "
	 "gives no text, we read one HTML part whose boundary lines are text"},
};



/* One field of one message compared. */
typedef struct field_cmp {
	const char *what;
	bool same;
	char why[2048];
} field_cmp;

#define NFIELDS 6

/* Compares our reading j of a message with mailparser's o. */
static void compare_message(const cJSON *j, const cJSON *o, field_cmp c[NFIELDS])
{
	static const char *const what[NFIELDS] = {"subject", "from", "to", "date",
						  "attachments", "text"};
	char ours[900], theirs[900];
	for (size_t k = 0; k < NFIELDS; k++)
		c[k].what = what[k];
	c[0].same = same_text(ds_json_str(j, "subject"), ds_json_str(o, "subject"), c[0].why,
			      sizeof(c[0].why));
	c[1].same = same_text(ds_json_str(cJSON_GetObjectItemCaseSensitive(j, "from"), "address"),
			      ds_json_str(o, "from"), c[1].why, sizeof(c[1].why));
	list_of(cJSON_GetObjectItemCaseSensitive(j, "to"), "address", NULL, ours, sizeof(ours));
	list_of(cJSON_GetObjectItemCaseSensitive(o, "to"), NULL, NULL, theirs, sizeof(theirs));
	c[2].same = strcmp(ours, theirs) == 0;
	snprintf(c[2].why, sizeof(c[2].why), "ours [%s], mailparser [%s]", ours, theirs);
	c[3].same = same_text(ds_json_str(j, "date"), ds_json_str(o, "date"), c[3].why,
			      sizeof(c[3].why));
	list_of(cJSON_GetObjectItemCaseSensitive(j, "attachments"), "filename", "size", ours,
		sizeof(ours));
	list_of(cJSON_GetObjectItemCaseSensitive(o, "attachments"), "filename", "size", theirs,
		sizeof(theirs));
	c[4].same = strcmp(ours, theirs) == 0;
	snprintf(c[4].why, sizeof(c[4].why), "ours [%s], mailparser [%s]", ours, theirs);
	c[5].same = same_text(ds_json_str(j, "text"), ds_json_str(o, "text"), c[5].why,
			      sizeof(c[5].why));
}

Test(email_corpus, oracle)
{
	files f = {0};
	field_corpus(&f);
	cJSON *oracle = run_oracle(&f);
	const size_t nk = sizeof(oracle_known) / sizeof(oracle_known[0]);
	int agree = 0, knownd = 0, nfields = 0, same_fields = 0, bad = 0;
	for (size_t i = 0; i < f.n; i++) {
		const char *rel = f.v[i] + strlen(CORPUS);
		const cJSON *o = cJSON_GetArrayItem(oracle, (int)i);
		cr_assert_str_eq(ds_json_str(o, "file"), f.v[i]);
		size_t len = 0;
		char *buf = slurp(f.v[i], &len);
		cJSON *j = NULL;
		int rc = ds_email_parse(buf, len, NULL, &j, NULL);
		ds_free(buf);
		/* a message refused by either reader is one case: both refuse */
		const char *oerr = ds_json_str(o, "error");
		field_cmp c[1 + NFIELDS];
		size_t nc = 1;
		c[0].what = "refused";
		c[0].same = (rc != 0) == (oerr != NULL);
		snprintf(c[0].why, sizeof(c[0].why), "ours %s, mailparser %s",
			 rc ? "refuses" : "parses", oerr ? oerr : "parses");
		if (!rc && !oerr) {
			compare_message(j, o, c + 1);
			nc += NFIELDS;
		}
		bool all = true, listed = false;
		for (size_t k = 0; k < nc; k++) {
			nfields++;
			same_fields += c[k].same;
			all = all && c[k].same;
			if (!c[k].same && find_known(oracle_known, nk, rel, c[k].what))
				listed = true;
			if (!honest(oracle_known, nk, rel, c[k].what, !c[k].same, c[k].why))
				bad++;
			else if (!c[k].same)
				printf("mailparser known difference %s (%s): %s\n", rel, c[k].what,
				       c[k].why);
		}
		if (all)
			agree++;
		else if (listed)
			knownd++;
		cJSON_Delete(j);
	}
	bad += absent(oracle_known, nk, &f);
	printf("mailparser differential: %zu messages, %d agree, %d with known differences; "
	       "%d of %d fields agree\n", f.n, agree, knownd, same_fields, nfields);
	cJSON_Delete(oracle);
	files_free(&f);
	cr_assert_eq(bad, 0, "%d differential cases disagree with the known-differences table", bad);
}
