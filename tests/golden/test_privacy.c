/*
 * test_privacy.c - the rights of the people in the store (docs/privacy.md)
 * on the cases of fixtures/privacy/: each folder holds inputs, and
 * fixtures/expected/privacy/FOLDER.json the story:
 *
 *   {"description": "...",
 *    "settings": {...dossier.json...},                        (optional)
 *    "steps": [{"now": "...", "ingest": "01-offer.json", "exit": 3},
 *              {"now": "...", "event": "DEV-2026-0901", "name": "send",
 *               "role": "sales"},
 *              {"now": "...", "tick": {...what tick --json must say...}},
 *              {"check": "before"}, {"check": "after"},
 *              {"now": "...", "forget": "REF", "counts": {...},
 *               "export": {"records": 5, ...}},
 *              {"case": "KEY", "state": "...", "history": 4, "data": {...},
 *               "erased": true},
 *              {"profile": "REF", "traits": {...}, "identities": 1,
 *               "interactions": {"erased": 4, "kept": 1}}],
 *    "gone": ["strings"], "kept": ["strings"]}
 *
 * A check looks for each string, in any case, in the store's database and
 * write-ahead log (bytes) and in the documents folder (file names, bytes
 * and the text of the PDFs): "before", every gone and kept string is
 * found (so the check "after" can fail); "after", no gone string is and
 * every kept string is. A reader stays connected to the store from before
 * the first input, as `dossier serve` would, so the write-ahead log is not
 * removed when a command ends: what is in it is searched too.
 *
 * A forget step first exports the person (the document holds every gone
 * string, and as many of each thing as "export" says), asks without --yes
 * (exit 2, the counts that would go, nothing gone), then erases: the counts
 * are "counts"; every case is still there in the same state and version
 * with its whole history; the pseudonym holds the person's traits and no
 * identity; the reference finds nobody; the inputs ingested again are
 * duplicates. A profile step names a profile by reference, or the last
 * pseudonym as "forgotten". After the steps, `profile rebuild --check`
 * must agree.
 */
#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "helpers.h"

#define CASES "fixtures/privacy"
#define EXPECTED "fixtures/expected/privacy"

/* ---- searching the store and the documents ---- */

static void lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

static bool holds(char *bytes, size_t n, const char *needle)
{
	char low[256];
	snprintf(low, sizeof low, "%s", needle);
	lower(low, strlen(low));
	lower(bytes, n);
	return memmem(bytes, n, low, strlen(low)) != NULL;
}

/* What command prints holds needle. The store's files are read by
 * another process: closing a file in this one would drop the locks of the
 * reader it keeps connected (POSIX locks are per process). */
static bool output_holds(const char *command, const char *path, const char *needle)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "%s '%s'", command, path);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "cannot run %s", cmd);
	size_t n;
	char *text = th_read_all(p, &n);
	pclose(p);
	bool hit = holds(text, n, needle);
	free(text);
	return hit;
}

static bool file_holds(const char *path, const char *needle)
{
	return !access(path, R_OK) && output_holds("cat", path, needle);
}

static bool pdf_holds(const char *path, const char *needle)
{
	return output_holds("pdftotext -q -enc UTF-8", path, needle);
}

/* Whether a file below dir holds needle in its name, bytes or PDF text;
 * where says which. */
static bool dir_holds(const char *dir, const char *needle, char *where, size_t cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool hit = false;
	while (!hit && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX], name[NAME_MAX + 1];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		snprintf(name, sizeof name, "%s", e->d_name);
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			hit = dir_holds(path, needle, where, cap);
			continue;
		}
		hit = holds(name, strlen(name), needle) || file_holds(path, needle) ||
		      (strstr(name, ".pdf") && pdf_holds(path, needle));
		if (hit)
			snprintf(where, cap, "%s", path);
	}
	closedir(d);
	return hit;
}

static bool found(th_home *h, const char *needle, char *where, size_t cap)
{
	static const char *const files[] = { "var/dossier.db", "var/dossier.db-wal" };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/%s", h->dir, files[i]);
		if (file_holds(path, needle)) {
			snprintf(where, cap, "%s", files[i]);
			return true;
		}
	}
	char docs[PATH_MAX + 32];
	snprintf(docs, sizeof docs, "%s/var/documents", h->dir);
	return dir_holds(docs, needle, where, cap);
}

static void check(th_home *h, const char *name, const cJSON *c, bool after)
{
	char where[PATH_MAX];
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "gone")) {
		bool hit = found(h, it->valuestring, where, sizeof where);
		if (after)
			cr_expect(!hit, "%s: \"%s\" is still in %s", name, it->valuestring, where);
		else
			cr_expect(hit, "%s: \"%s\" is nowhere before: this check could not fail", name,
				  it->valuestring);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "kept"))
		cr_expect(found(h, it->valuestring, where, sizeof where), "%s: \"%s\" is gone", name,
			  it->valuestring);
}

/* ---- comparing ---- */

static char *text(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : strdup("(nothing)");
}

/* Every member of want is in got, equal (objects compared member by
 * member, anything else exactly). */
static void expect_subset(const char *name, const char *what, const cJSON *want, const cJSON *got)
{
	const cJSON *it;
	if (!cJSON_IsObject(want)) {
		char *w = text(want), *g = text(got);
		cr_expect(got && cJSON_Compare(want, got, true), "%s: %s is %s, expected %s", name,
			  what, g, w);
		free(w);
		free(g);
		return;
	}
	cJSON_ArrayForEach(it, want) {
		char sub[512];
		snprintf(sub, sizeof sub, "%s.%s", what, it->string);
		expect_subset(name, sub, it, cJSON_GetObjectItemCaseSensitive(got, it->string));
	}
}

/* ---- steps ---- */

typedef struct story {
	th_home h;
	const char *name;
	cJSON *c;
	char dir[PATH_MAX];
	cJSON *ingested;             /* inputs stored without a quarantine */
	sqlite3 *reader;
	double pseudonym;            /* of the last person forgotten */
} story;

/* Creates the store and connects to it: a connection that has read it
 * keeps its write-ahead log from being removed when a command ends. */
static void keep_reader(story *s)
{
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/var/dossier.db", s->h.dir);
	cr_assert_eq(th_run(&s->h, NULL, NULL, "case list"), 0);
	cr_assert_eq(sqlite3_open_v2(db, &s->reader, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(s->reader, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL),
		     SQLITE_OK);
}

static void ingest(story *s, const char *now, const char *file, int want)
{
	char *out = NULL, *err = NULL;
	int rc = th_run(&s->h, &out, &err, "--now %s ingest '%s/%s'", now, s->dir, file);
	cr_assert_eq(rc, want, "%s: ingest %s: exit %d, expected %d: %s%s", s->name, file, rc, want,
		     out, err);
	if (!want)
		cJSON_AddItemToArray(s->ingested, cJSON_CreateString(file));
	free(out);
	free(err);
}

static double array_size(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsArray(v), "no array \"%s\"", key);
	return cJSON_GetArraySize(v);
}

/* The export of ref: holds every gone string, and as many things as want
 * says. */
static void export_person(story *s, const char *ref, const cJSON *want)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/export.json", s->h.dir);
	cr_assert_eq(th_run(&s->h, NULL, NULL, "profile export '%s' --out '%s'", ref, path), 0);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "%s: the export is readable by others", s->name);
	size_t n;
	char *raw = th_slurp(path, &n);
	cJSON *doc = cJSON_Parse(raw);
	cr_assert(doc, "%s: the export is not JSON", s->name);
	const cJSON *it;
	cJSON_ArrayForEach(it, want)
		cr_expect_eq(array_size(doc, it->string), it->valuedouble, "%s: export: %s", s->name,
			     it->string);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s->c, "gone"))
		cr_expect(holds(raw, n, it->valuestring), "%s: the export lacks \"%s\"", s->name,
			  it->valuestring);
	cJSON_Delete(doc);
	free(raw);
	unlink(path);
}

/* A case's id, state, version and length of history, as one string. */
static char *case_summary(story *s, const cJSON *c)
{
	cJSON *d = th_json(&s->h, 0, "case show %.0f", th_num(c, "id"));
	char *r = NULL;
	cr_assert(asprintf(&r, "%.0f %s %s v%.0f, %d entries", th_num(d, "id"), th_str(d, "process"),
			   th_str(d, "state"), th_num(d, "version"),
			   cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "history"))) > 0);
	cJSON_Delete(d);
	return r;
}

static cJSON *case_summaries(story *s)
{
	cJSON *list = th_json(&s->h, 0, "case list");
	cJSON *out = cJSON_CreateArray();
	const cJSON *c;
	cJSON_ArrayForEach(c, list) {
		char *t = case_summary(s, c);
		cJSON_AddItemToArray(out, cJSON_CreateString(t));
		free(t);
	}
	cJSON_Delete(list);
	return out;
}

static void forget(story *s, const char *now, const cJSON *step)
{
	const char *ref = th_str(step, "forget");
	const cJSON *counts = cJSON_GetObjectItemCaseSensitive(step, "counts");
	char wal[PATH_MAX + 32];
	struct stat st;
	snprintf(wal, sizeof wal, "%s/var/dossier.db-wal", s->h.dir);
	cr_assert(stat(wal, &st) == 0 && st.st_size > 0, "%s: the write-ahead log is not in use",
		  s->name);
	export_person(s, ref, cJSON_GetObjectItemCaseSensitive(step, "export"));
	cJSON *before = case_summaries(s);
	cJSON *profile = th_json(&s->h, 0, "profile show '%s'", ref);
	/* without --yes: what would go, and nothing gone */
	cJSON *plan = th_json(&s->h, 2, "--now %s profile forget '%s'", now, ref);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(plan, "erased")));
	expect_subset(s->name, "would_erase", counts, cJSON_GetObjectItemCaseSensitive(plan, "would_erase"));
	check(&s->h, s->name, s->c, false);
	cJSON *r = th_json(&s->h, 0, "--now %s profile forget '%s' --yes", now, ref);
	expect_subset(s->name, "counts", counts, cJSON_GetObjectItemCaseSensitive(r, "counts"));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "log_emptied")));
	cr_expect_eq(th_num(r, "files_deleted"),
		     th_num(cJSON_GetObjectItemCaseSensitive(r, "counts"), "documents"));
	/* the history stays, case by case */
	cJSON *after = case_summaries(s);
	char *b = text(before), *a = text(after);
	cr_expect(cJSON_Compare(before, after, true), "%s: cases before %s, after %s", s->name, b, a);
	free(b);
	free(a);
	/* the counts, on a pseudonym that names nobody */
	cJSON *pseudo = th_json(&s->h, 0, "profile show %.0f", th_num(r, "pseudonym"));
	expect_subset(s->name, "the pseudonym's traits", cJSON_GetObjectItemCaseSensitive(profile, "traits"),
		      cJSON_GetObjectItemCaseSensitive(pseudo, "traits"));
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pseudo, "identities")), 0);
	cr_expect(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pseudo, "forgotten_at")));
	s->pseudonym = th_num(r, "pseudonym");
	cr_expect_eq(th_run(&s->h, NULL, NULL, "profile show '%s'", ref), 5);
	cr_expect_eq(th_run(&s->h, NULL, NULL, "profile forget %.0f --yes", th_num(r, "pseudonym")), 4);
	/* the same inputs again bring nothing back */
	const cJSON *f;
	cJSON_ArrayForEach(f, s->ingested) {
		cJSON *again = th_json(&s->h, 0, "--now %s ingest '%s/%s'", now, s->dir, f->valuestring);
		cr_expect_eq(th_num(again, "new"), 0, "%s: %s ingested again is new", s->name,
			     f->valuestring);
		cJSON_Delete(again);
	}
	cJSON_Delete(pseudo);
	cJSON_Delete(after);
	cJSON_Delete(r);
	cJSON_Delete(plan);
	cJSON_Delete(profile);
	cJSON_Delete(before);
}

static void case_step(story *s, const cJSON *step)
{
	cJSON *d = th_json(&s->h, 0, "case show '%s'", th_str(step, "case"));
	const cJSON *w;
	if ((w = cJSON_GetObjectItemCaseSensitive(step, "state")))
		cr_expect_str_eq(th_str(d, "state"), w->valuestring, "%s: %s", s->name, th_str(step, "case"));
	if ((w = cJSON_GetObjectItemCaseSensitive(step, "erased")))
		cr_expect_eq(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "erased_at")),
			     cJSON_IsTrue(w), "%s: %s erased or not", s->name, th_str(step, "case"));
	if ((w = cJSON_GetObjectItemCaseSensitive(step, "history")))
		cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "history")),
			     w->valueint, "%s: history of %s", s->name, th_str(step, "case"));
	if ((w = cJSON_GetObjectItemCaseSensitive(step, "data"))) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(d, "data");
		char *gt = text(g), *wt = text(w);
		cr_expect(cJSON_Compare(g, w, true), "%s: data of %s is %s, expected %s", s->name,
			  th_str(step, "case"), gt, wt);
		free(gt);
		free(wt);
	}
	cJSON_Delete(d);
}

/* "profile": a reference, or "forgotten": the last pseudonym. */
static void profile_step(story *s, const cJSON *step)
{
	char ref[512];
	snprintf(ref, sizeof ref, "%s", th_str(step, "profile"));
	if (!strcmp(ref, "forgotten"))
		snprintf(ref, sizeof ref, "%.0f", s->pseudonym);
	cJSON *d = th_json(&s->h, 0, "profile show '%s'", ref);
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(step, "traits");
	if (w)
		expect_subset(s->name, "traits", w, cJSON_GetObjectItemCaseSensitive(d, "traits"));
	if ((w = cJSON_GetObjectItemCaseSensitive(step, "identities")))
		cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "identities")),
			     w->valueint, "%s: identities of %s", s->name, ref);
	cJSON_Delete(d);
	if (!(w = cJSON_GetObjectItemCaseSensitive(step, "interactions")))
		return;
	char *out = NULL;
	cr_assert_eq(th_run(&s->h, &out, NULL, "profile export '%s'", ref), 0);
	cJSON *doc = cJSON_Parse(out);
	cr_assert(doc, "%s: the export of %s is not JSON", s->name, ref);
	int erased = 0, kept = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "interactions")) {
		bool gone = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "erased_at"));
		cr_expect_eq(!*th_str(it, "content"), gone, "%s: interaction %.0f", s->name,
			     th_num(it, "id"));
		if (gone)
			erased++;
		else
			kept++;
	}
	cr_expect_eq(erased, th_num(w, "erased"), "%s: %s: erased interactions", s->name, ref);
	cr_expect_eq(kept, th_num(w, "kept"), "%s: %s: kept interactions", s->name, ref);
	cJSON_Delete(doc);
	free(out);
}

static void run_step(story *s, const cJSON *step)
{
	const cJSON *now = cJSON_GetObjectItemCaseSensitive(step, "now"), *v;
	const char *t = cJSON_IsString(now) ? now->valuestring : "2026-01-01T00:00:00Z";
	if ((v = cJSON_GetObjectItemCaseSensitive(step, "ingest"))) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(step, "exit");
		ingest(s, t, v->valuestring, x ? x->valueint : 0);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(step, "event"))) {
		char *err = NULL;
		int rc = th_run(&s->h, NULL, &err, "--now %s case event '%s' '%s' --role '%s'", t,
				v->valuestring, th_str(step, "name"), th_str(step, "role"));
		cr_assert_eq(rc, 0, "%s: event %s on %s: %s", s->name, th_str(step, "name"),
			     v->valuestring, err);
		free(err);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(step, "tick"))) {
		cJSON *r = th_json(&s->h, 0, "--now %s tick", t);
		expect_subset(s->name, "tick", v, r);
		cJSON_Delete(r);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(step, "check"))) {
		check(&s->h, s->name, s->c, !strcmp(v->valuestring, "after"));
	} else if (cJSON_GetObjectItemCaseSensitive(step, "forget")) {
		forget(s, t, step);
	} else if (cJSON_GetObjectItemCaseSensitive(step, "case")) {
		case_step(s, step);
	} else if (cJSON_GetObjectItemCaseSensitive(step, "profile")) {
		profile_step(s, step);
	} else {
		cr_assert_fail("%s: unknown step", s->name);
	}
}

static void run_case(const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.json", EXPECTED, name);
	cr_assert(access(path, R_OK) == 0, "%s: no case %s", name, path);
	char *raw = th_slurp(path, NULL);
	story s = { .name = name, .c = cJSON_Parse(raw), .ingested = cJSON_CreateArray() };
	cr_assert(s.c, "%s: %s is not JSON", name, path);
	th_home_init(&s.h);
	snprintf(s.dir, sizeof s.dir, "%s/%s/%s", s.h.repo, CASES, name);
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(s.c, "settings");
	if (settings) {
		char file[PATH_MAX + 32], *t = cJSON_Print(settings);
		snprintf(file, sizeof file, "%s/dossier.json", s.h.dir);
		FILE *f = fopen(file, "w");
		cr_assert(f && fputs(t, f) >= 0 && fclose(f) == 0);
		free(t);
	}
	keep_reader(&s);
	const cJSON *step;
	cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(s.c, "steps"))
		run_step(&s, step);
	cJSON *rb = th_json(&s.h, 0, "profile rebuild --check");
	char *diffs = text(cJSON_GetObjectItemCaseSensitive(rb, "differences"));
	cr_expect_eq(th_num(rb, "changed"), 0, "%s: rebuilt traits differ: %s", name, diffs);
	free(diffs);
	cJSON_Delete(rb);
	sqlite3_close(s.reader);
	th_home_fini(&s.h);
	cJSON_Delete(s.ingested);
	cJSON_Delete(s.c);
	free(raw);
}

static int is_case(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && !(n > 3 && !strcmp(e->d_name + n - 3, ".md"));
}

Test(privacy, fixture_cases, .timeout = 300)
{
	struct dirent **names;
	int n = scandir(CASES, &names, is_case, alphasort);
	cr_assert(n > 0, "no cases under %s", CASES);
	for (int i = 0; i < n; i++) {
		run_case(names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static bool has(const char *text, const char *part)
{
	return text && strstr(text, part);
}

/* The id of the document of case key, 0 when it has none. */
static double document_of(th_home *h, const char *key)
{
	cJSON *list = th_json(h, 0, "document list");
	const cJSON *d;
	double id = 0;
	cJSON_ArrayForEach(d, list)
		if (!strcmp(th_str(d, "case"), key))
			id = th_num(d, "id");
	cJSON_Delete(list);
	return id;
}

Test(privacy, commands_answer_as_the_specification_says)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL, *err = NULL;
	static const char *const subs[] = { "export", "forget" };
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		char usage[64];
		snprintf(usage, sizeof usage, "usage: dossier profile %s", subs[i]);
		cr_expect_eq(th_run(&h, &out, NULL, "profile %s --help", subs[i]), 0);
		cr_expect(has(out, usage), "%s", out);
		free(out);
		cr_expect_eq(th_run(&h, NULL, &err, "profile %s", subs[i]), 2);
		cr_expect(has(err, "give the person's id, email or phone"), "%s", err);
		free(err);
	}
	cr_expect_eq(th_run(&h, &out, NULL, "profile --help"), 0);
	cr_expect(has(out, "forget REF [--yes]"), "%s", out);
	free(out);
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T09:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0011.json fixtures/forms/contact-helene-dupre.form "
			    "fixtures/email/2026-11-06-horde-double-prelevement.eml"), 0, "%s", err);
	free(err);
	/* nobody: 5 */
	cr_expect_eq(th_run(&h, NULL, &err, "profile export nobody@example.fr"), 5);
	cr_expect(has(err, "no profile holds email nobody@example.fr"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile forget nobody@example.fr --yes"), 5);
	/* an email in ISO-8859-15 is exported in base64, byte for byte */
	cr_assert_eq(th_run(&h, &out, NULL, "profile export jp.lemaire@example.org"), 0);
	cJSON *doc = cJSON_Parse(out);
	cr_assert(doc, "%s", out);
	free(out);
	const cJSON *in = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "interactions"), 0);
	cr_assert(in);
	cr_expect_str_eq(th_str(in, "encoding"), "base64");
	FILE *p = popen("base64 -w0 fixtures/email/2026-11-06-horde-double-prelevement.eml", "r");
	char b64[16384] = "";
	cr_assert(p && fgets(b64, sizeof b64, p));
	pclose(p);
	cr_expect_str_eq(th_str(in, "content"), b64);
	cJSON_Delete(doc);
	/* --out: written whole, or not at all */
	char file[PATH_MAX + 32];
	snprintf(file, sizeof file, "%s/helene.json", h.dir);
	cr_expect_eq(th_run(&h, NULL, &err, "profile export helene.dupre@example.fr --out '%s'", file), 0);
	cr_expect(has(err, "exported to"), "%s", err);
	free(err);
	char *raw = th_slurp(file, NULL);
	doc = cJSON_Parse(raw);
	cr_expect(doc && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "records")) == 2);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "interactions"),
						    0), "encoding"), "utf-8");
	cJSON_Delete(doc);
	free(raw);
	snprintf(file, sizeof file, "%s/helene.json.tmp", h.dir);
	cr_expect(access(file, F_OK), "the temporary file is left behind");
	cr_expect_eq(th_run(&h, NULL, &err, "profile export helene.dupre@example.fr "
			    "--out /nonexistent/helene.json"), 2);
	cr_expect(has(err, "cannot write /nonexistent/helene.json.tmp"), "%s", err);
	free(err);
	/* forget without --yes: says what, erases nothing */
	double doc_id = document_of(&h, "DEV-2026-0011");
	cr_assert(doc_id > 0);
	cr_expect_eq(th_run(&h, NULL, &err, "profile forget helene.dupre@example.fr"), 2);
	cr_expect(has(err, "would erase") && has(err, "email helene.dupre@example.fr") &&
		  has(err, "2 records") && has(err, "1 document (PDF files deleted)") &&
		  has(err, "run again with --yes"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile show helene.dupre@example.fr"), 0);
	cr_expect_eq(document_of(&h, "DEV-2026-0011"), doc_id);
	/* with --yes */
	cr_expect_eq(th_run(&h, &out, NULL, "profile forget helene.dupre@example.fr --yes"), 0);
	cr_expect(has(out, "forgot profile") && has(out, "pseudonymous profile"), "%s", out);
	free(out);
	cr_expect_eq(document_of(&h, "DEV-2026-0011"), 0, "an erased document is listed");
	cr_expect_eq(th_run(&h, NULL, &err, "document get %.0f", doc_id), 5);
	cr_expect(has(err, "was erased"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile show helene.dupre@example.fr"), 5);
	cJSON *list = th_json(&h, 0, "profile list");
	const cJSON *it;
	double pseudonym = 0;
	cJSON_ArrayForEach(it, list)
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "forgotten_at")))
			pseudonym = th_num(it, "id");
	cJSON_Delete(list);
	cr_assert(pseudonym > 0, "no pseudonym in the profile list");
	cr_expect_eq(th_run(&h, &out, NULL, "profile list"), 0);
	cr_expect(has(out, "(forgotten 2026-"), "%s", out);
	free(out);
	/* a pseudonym is nobody's: not merged by hand, not forgotten again */
	cr_expect_eq(th_run(&h, NULL, &err, "profile merge %.0f jp.lemaire@example.org", pseudonym), 4);
	cr_expect(has(err, "pseudonym of a forgotten person"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, &err, "profile forget %.0f --yes", pseudonym), 4);
	cr_expect(has(err, "holds nothing personal"), "%s", err);
	free(err);
	/* the other customer is still there */
	cr_expect_eq(th_run(&h, NULL, NULL, "profile show jp.lemaire@example.org"), 0);
	th_home_fini(&h);
}

/* The state a crash leaves between an erasure's commit and the deletion of
 * its files: a document marked erased, its file still there. The next tick
 * deletes the file and forgets its path. */
Test(privacy, an_erasure_cut_short_is_finished_by_the_next_tick)
{
	th_home h;
	th_home_init(&h);
	char *err = NULL;
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T09:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0011.json"), 0, "%s", err);
	free(err);
	cJSON *d = th_json(&h, 0, "document get %.0f", document_of(&h, "DEV-2026-0011"));
	char pdf[PATH_MAX];
	snprintf(pdf, sizeof pdf, "%s", th_str(d, "path"));
	cJSON_Delete(d);
	cr_assert_eq(access(pdf, F_OK), 0);
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/var/dossier.db", h.dir);
	sqlite3 *c = NULL;
	cr_assert_eq(sqlite3_open(db, &c), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(c, "UPDATE documents SET erased_at = 1", NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(c);
	cr_expect_eq(document_of(&h, "DEV-2026-0011"), 0, "an erased document is listed");
	cr_expect_eq(access(pdf, F_OK), 0);
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-24T10:00:00Z tick"));
	cr_expect(access(pdf, F_OK), "%s is still there", pdf);
	cr_assert_eq(sqlite3_open(db, &c), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	cr_assert_eq(sqlite3_prepare_v2(c, "SELECT path, sha256 FROM documents", -1, &q, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(q, 0), "");
	cr_expect_str_eq((const char *)sqlite3_column_text(q, 1), "");
	sqlite3_finalize(q);
	sqlite3_close(c);
	th_home_fini(&h);
}
