/*
 * helpers.h - running the dossier binary from tests: a fresh home per test
 * (schemas/ linked to the repository's), commands with their exit code and
 * output, JSON output parsed.
 *
 * DOSSIER_BIN names the binary (tests/run-tests sets it); tests run from
 * the repository root.
 */
#ifndef DS_TEST_HELPERS_H
#define DS_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct th_home {
	char dir[PATH_MAX];
	char repo[PATH_MAX];
	char bin[PATH_MAX];
} th_home;

static inline void th_home_init(th_home *h)
{
	cr_assert(getcwd(h->repo, sizeof h->repo));
	const char *bin = getenv("DOSSIER_BIN");
	snprintf(h->bin, sizeof h->bin, "%s", bin && *bin ? bin : "./dossier");
	if (h->bin[0] != '/') {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s/%s", h->repo, h->bin);
		snprintf(h->bin, sizeof h->bin, "%s", tmp);
	}
	cr_assert(access(h->bin, X_OK) == 0, "no dossier binary at %s", h->bin);
	snprintf(h->dir, sizeof h->dir, "/tmp/dossier-test-XXXXXX");
	cr_assert(mkdtemp(h->dir));
	char link[PATH_MAX + 16], target[PATH_MAX + 16];
	snprintf(link, sizeof link, "%s/schemas", h->dir);
	snprintf(target, sizeof target, "%s/schemas", h->repo);
	cr_assert(symlink(target, link) == 0);
}

static inline void th_home_fini(th_home *h)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
	cr_assert(system(cmd) == 0);
}

/* Replaces the home's schemas/ (the link, or an earlier overlay) by a
 * copy of the repository's, with the files of the repository's
 * DIR/schemas/ laid over it. */
static inline void th_home_overlay(th_home *h, const char *dir)
{
	char cmd[PATH_MAX * 4];
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s/schemas' && cp -r '%s/schemas' '%s/schemas' && "
		 "cp -r '%s/%s/schemas/.' '%s/schemas/'",
		 h->dir, h->repo, h->dir, h->repo, dir, h->dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Reads f to its end into a malloc'd NUL-terminated buffer (its length in
 * *len when not NULL); does not close f. */
static inline char *th_read_all(FILE *f, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	cr_assert(m);
	char chunk[8192];
	size_t r;
	while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, r, m);
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

/* Runs `dossier --home DIR ARGS` (ARGS is shell text) and returns its exit
 * code; stdout goes to *out (malloc'd, may be NULL), stderr to *errout. */
static inline int th_run(th_home *h, char **out, char **errout, const char *fmt, ...)
{
	char args[4096], cmd[8192], ofile[PATH_MAX + 16], efile[PATH_MAX + 16];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(ofile, sizeof ofile, "%s/.out", h->dir);
	snprintf(efile, sizeof efile, "%s/.err", h->dir);
	snprintf(cmd, sizeof cmd, "'%s' --home '%s' %s >'%s' 2>'%s'", h->bin, h->dir, args, ofile,
		 efile);
	int st = system(cmd);
	cr_assert(st != -1 && WIFEXITED(st), "command did not exit normally: %s", cmd);
	const char *files[2] = { ofile, efile };
	char **dest[2] = { out, errout };
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "rb");
		cr_assert(f);
		char *buf = th_read_all(f, NULL);
		fclose(f);
		if (dest[i])
			*dest[i] = buf;
		else
			free(buf);
	}
	return WEXITSTATUS(st);
}

/* Runs a --json command, asserts its exit code, returns the parsed output. */
static inline cJSON *th_json(th_home *h, int want_rc, const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, "--json %s", args);
	cr_assert_eq(rc, want_rc, "dossier %s: exit %d, expected %d; stderr: %s", args, rc,
		     want_rc, err);
	cJSON *doc = cJSON_Parse(out);
	cr_assert(doc, "dossier %s printed no JSON: %s", args, out);
	free(out);
	free(err);
	return doc;
}

static inline double th_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsNumber(v), "no number \"%s\"", key);
	return v->valuedouble;
}

static inline const char *th_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsString(v), "no string \"%s\"", key);
	return v->valuestring;
}

/* The state of the case ref (an id or a key) names, as `case show` gives
 * it; in a static buffer, until the next call. */
static inline const char *th_state(th_home *h, const char *ref)
{
	static char st[64];
	cJSON *c = th_json(h, 0, "case show %s", ref);
	snprintf(st, sizeof st, "%s", th_str(c, "state"));
	cJSON_Delete(c);
	return st;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
static inline char *th_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	char *buf = th_read_all(f, len);
	fclose(f);
	return buf;
}

/* The JSON document of file path (asserted). The caller deletes it. */
static inline cJSON *th_read_json(const char *path)
{
	char *raw = th_slurp(path, NULL);
	cJSON *doc = cJSON_Parse(raw);
	cr_assert(doc, "%s is not JSON", path);
	free(raw);
	return doc;
}

/* The column key of each line of an NDJSON text (each line asserted a
 * JSON object ending in a line feed), as a JSON array of strings. */
static inline cJSON *th_ndjson_column(const char *ndjson, const char *key)
{
	cJSON *out = cJSON_CreateArray();
	for (const char *p = ndjson; p && *p;) {
		const char *nl = strchr(p, '\n');
		cr_assert(nl, "an NDJSON line ends with a line feed: %s", p);
		cJSON *row = cJSON_ParseWithLength(p, (size_t)(nl - p));
		cr_assert(cJSON_IsObject(row), "not a JSON object: %.*s", (int)(nl - p), p);
		cJSON_AddItemToArray(out, cJSON_CreateString(th_str(row, key)));
		cJSON_Delete(row);
		p = nl + 1;
	}
	return out;
}

/* COMMAND --help mentions word, each COMMAND SUB --help gives its usage
 * and its exit codes (exit 0), and an unknown COMMAND SUB is a usage
 * error (2). */
static inline void th_expect_help(th_home *h, const char *command, const char *word,
				  const char *const *subs, size_t n)
{
	char *out = NULL, *err = NULL, usage[64];
	cr_expect_eq(th_run(h, &out, NULL, "%s --help", command), 0);
	cr_expect(strstr(out, word), "%s", out);
	free(out);
	snprintf(usage, sizeof usage, "usage: dossier %s", command);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(th_run(h, &out, NULL, "%s %s --help", command, subs[i]), 0, "%s", subs[i]);
		cr_expect(strstr(out, usage), "%s: %s", subs[i], out);
		cr_expect(strstr(out, "Exit codes: 0 "), "%s: no exit codes: %s", subs[i], out);
		free(out);
	}
	cr_expect_eq(th_run(h, NULL, &err, "%s frobnicate", command), 2);
	cr_expect(strstr(err, "unknown command"), "%s", err);
	free(err);
}

static inline int th_not_md(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && !(n > 3 && !strcmp(e->d_name + n - 3, ".md"));
}

/* Calls fn with dir and each entry of dir in order (hidden names and .md
 * files left out); there must be one. */
static inline void th_each_story(const char *dir, void (*fn)(const char *dir, const char *name))
{
	struct dirent **names;
	int n = scandir(dir, &names, th_not_md, alphasort);
	cr_assert(n > 0, "nothing under %s", dir);
	for (int i = 0; i < n; i++) {
		fn(dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* Undoes the latest merge into the profile ref finds. */
static inline void th_unmerge(th_home *h, const char *name, const char *now, const char *ref)
{
	cJSON *p = th_json(h, 0, "profile show '%s'", ref);
	const cJSON *m, *last = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(p, "merges"))
		if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "undone_at")))
			last = m;
	cr_assert(last, "%s: no merge into the profile of %s to undo", name, ref);
	cJSON *r = th_json(h, 0, "--now %s profile unmerge %.0f", now, th_num(last, "merged"));
	cr_expect_eq(th_num(r, "merged"), th_num(last, "merged"));
	cJSON_Delete(r);
	cJSON_Delete(p);
}

/* One step of a story of fixtures (DIR/NAME holds its inputs), at its
 * "now": {"ingest": FILE}, {"event": CASE, "name": EVENT, "role": ROLE}
 * or {"unmerge": REF} (the latest merge into the profile REF finds). */
static inline void th_story_step(th_home *h, const char *dir, const char *name,
				 const cJSON *step)
{
	const char *now = th_str(step, "now");
	const cJSON *v;
	char *out = NULL, *err = NULL;
	int rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(step, "ingest"))) {
		rc = th_run(h, &out, &err, "--now %s ingest '%s/%s/%s/%s'", now, h->repo, dir, name,
			    v->valuestring);
		cr_assert_eq(rc, 0, "%s: ingest %s: exit %d: %s%s", name, v->valuestring, rc, out, err);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(step, "event"))) {
		rc = th_run(h, &out, &err, "--now %s case event '%s' '%s' --role '%s'", now,
			    v->valuestring, th_str(step, "name"), th_str(step, "role"));
		cr_assert_eq(rc, 0, "%s: event %s on %s: exit %d: %s", name, th_str(step, "name"),
			     v->valuestring, rc, err);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(step, "unmerge"))) {
		th_unmerge(h, name, now, v->valuestring);
	} else {
		cr_assert_fail("%s: a step ingests, sends an event or unmerges", name);
	}
	free(out);
	free(err);
}

/* Plays the story expected/NAME.json in home h: each of its "steps"
 * (th_story_step) with the inputs of dir. Returns the story's document;
 * the caller deletes it. */
static inline cJSON *th_story_play(th_home *h, const char *expected, const char *dir,
				   const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.json", expected, name);
	cr_assert(access(path, R_OK) == 0, "%s: no case %s", name, path);
	cJSON *c = th_read_json(path);
	const cJSON *step;
	cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(c, "steps"))
		th_story_step(h, dir, name, step);
	return c;
}

#endif
