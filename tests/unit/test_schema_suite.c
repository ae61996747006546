/*
 * test_schema_suite.c - the validator against the JSON-Schema-Test-Suite
 * files for draft 2020-12, read in place from
 * ../shared/corpus/json-schema/draft2020-12/ (relative to the repository
 * root, where the tests run), optional/format/ included.
 *
 * Each group's schema goes through ds_schema_compile() and each test's
 * data through ds_schema_validate(); the data is valid when no error is
 * reported. ../shared/corpus/json-schema/SCOPE_INDEX.tsv says which groups
 * use only the subset dossier supports (in_subset=yes): every test of those
 * must give the suite's answer, and their schemas must compile. The other
 * groups are compiled and, when that works, run (so they still exercise the
 * code under the sanitizers), but they are counted as skipped, never as
 * passed. A group the index does not list fails the run, as does a group
 * whose number of tests differs from the index.
 *
 * The suite's convention for "format" is followed: the required files treat
 * it as an annotation (DS_SCHEMA_FORMAT_ANNOTATION), the files under
 * optional/format/ as an assertion, which is what dossier does everywhere
 * else.
 *
 * The counts go to stderr per file and in total, so `make test` shows them.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "err.h"
#include "json.h"
#include "mem.h"
#include "schema.h"

#define CORPUS "../shared/corpus/json-schema"
#define DRAFT "draft2020-12"
#define MAX_FILE (4u << 20)
/* The test files wrap schemas two levels down (file, group). */
#define FILE_DEPTH (DS_SCHEMA_MAX_DOC_DEPTH + 8)

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(schema_suite, .init = setup);

/* ---- the scope index ---- */

struct entry {
	char *file;                 /* "draft2020-12/ref.json" */
	long group;
	long tests;
	bool in_scope;
	bool seen;
};

struct index {
	struct entry *e;
	size_t n;
};

static char *slurp(const char *path, size_t *len)
{
	char *text = NULL;
	ds_err err = { 0, "" };
	int rc = ds_read_file(path, MAX_FILE, &text, len, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	return text;
}

/* Fields of one tab-separated line, in place; returns their number. */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == '\t') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

static void index_load(struct index *ix)
{
	size_t len = 0;
	char *text = slurp(CORPUS "/SCOPE_INDEX.tsv", &len);
	ix->e = NULL;
	ix->n = 0;
	bool header = true;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		if (!*line)
			continue;
		char *f[8];
		size_t nf = split_tabs(line, f, 8);
		if (header) {
			cr_assert(nf >= 5 && strcmp(f[0], "file") == 0 && strcmp(f[1], "group") == 0
				  && strcmp(f[3], "tests") == 0 && strcmp(f[4], "in_subset") == 0,
				  "SCOPE_INDEX.tsv: unexpected header");
			header = false;
			continue;
		}
		cr_assert(nf >= 5, "SCOPE_INDEX.tsv: short line for %s", f[0]);
		cr_assert(strcmp(f[4], "yes") == 0 || strcmp(f[4], "no") == 0,
			  "SCOPE_INDEX.tsv: in_subset is \"%s\" for %s group %s", f[4], f[0], f[1]);
		ix->e = realloc(ix->e, (ix->n + 1) * sizeof *ix->e);
		cr_assert(ix->e);
		struct entry *e = &ix->e[ix->n++];
		e->file = strdup(f[0]);
		cr_assert(e->file);
		e->group = strtol(f[1], NULL, 10);
		e->tests = strtol(f[3], NULL, 10);
		e->in_scope = strcmp(f[4], "yes") == 0;
		e->seen = false;
	}
	ds_free(text);
	cr_assert(ix->n > 0, "SCOPE_INDEX.tsv lists no group");
}

static struct entry *index_find(struct index *ix, const char *file, long group)
{
	for (size_t i = 0; i < ix->n; i++)
		if (ix->e[i].group == group && strcmp(ix->e[i].file, file) == 0)
			return &ix->e[i];
	return NULL;
}

static void index_free(struct index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->e[i].file);
	free(ix->e);
}

/* ---- the test files ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the *.json files under CORPUS/rel, recursively, as paths
 * relative to CORPUS ("draft2020-12/optional/format/uri.json"). */
static void list_files(const char *rel, char ***names, size_t *n)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/%s", CORPUS, rel);
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s", dir);
	char **here = NULL;
	size_t nhere = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		here = realloc(here, (nhere + 1) * sizeof *here);
		cr_assert(here);
		here[nhere] = strdup(de->d_name);
		cr_assert(here[nhere]);
		nhere++;
	}
	closedir(d);
	if (nhere)
		qsort(here, nhere, sizeof *here, cmp_names);
	for (size_t i = 0; i < nhere; i++) {
		char path[1024], sub[1024];
		snprintf(sub, sizeof sub, "%s/%s", rel, here[i]);
		snprintf(path, sizeof path, "%s/%s", CORPUS, sub);
		struct stat st;
		cr_assert_eq(stat(path, &st), 0, "cannot stat %s", path);
		size_t len = strlen(here[i]);
		if (S_ISDIR(st.st_mode)) {
			list_files(sub, names, n);
		} else if (S_ISREG(st.st_mode) && len > 5
			   && strcmp(here[i] + len - 5, ".json") == 0) {
			*names = realloc(*names, (*n + 1) * sizeof **names);
			cr_assert(*names);
			(*names)[*n] = strdup(sub);
			cr_assert((*names)[*n]);
			(*n)++;
		}
		free(here[i]);
	}
	free(here);
}

struct counts {
	size_t tests, in_scope, passed, failed, skipped;
	size_t skipped_compiled, skipped_agree;
};

static void add(struct counts *a, const struct counts *b)
{
	a->tests += b->tests;
	a->in_scope += b->in_scope;
	a->passed += b->passed;
	a->failed += b->failed;
	a->skipped += b->skipped;
	a->skipped_compiled += b->skipped_compiled;
	a->skipped_agree += b->skipped_agree;
}

static void first_error(void *ud, const char *pointer, const char *keyword,
			const char *message)
{
	char *buf = ud;
	if (!buf[0])
		snprintf(buf, 512, "%s: %s: %s", *pointer ? pointer : "/", keyword, message);
}

/* Runs the groups of one file; returns its counts. */
static struct counts run_file(struct index *ix, const char *rel)
{
	struct counts c = { 0, 0, 0, 0, 0, 0, 0 };
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", CORPUS, rel);
	size_t len = 0;
	char *text = slurp(path, &len);
	cJSON *doc = NULL;
	ds_err err = { 0, "" };
	int rc = ds_json_parse(text, len, FILE_DEPTH, &doc, &err);
	cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
	ds_free(text);
	cr_assert(cJSON_IsArray(doc), "%s: not an array of groups", path);
	/* The required files treat format as an annotation. */
	unsigned flags = strncmp(rel, DRAFT "/optional/", strlen(DRAFT "/optional/")) == 0
			 ? 0 : DS_SCHEMA_FORMAT_ANNOTATION;
	long gi = 0;
	for (const cJSON *g = doc->child; g; g = g->next, gi++) {
		const char *desc = ds_json_str(g, "description");
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(g, "schema");
		const cJSON *tests = cJSON_GetObjectItemCaseSensitive(g, "tests");
		cr_assert(desc && schema && cJSON_IsArray(tests), "%s group %ld: malformed", rel, gi);
		long ntests = cJSON_GetArraySize(tests);
		struct entry *e = index_find(ix, rel, gi);
		bool in_scope = e ? e->in_scope : true;
		c.tests += (size_t)ntests;
		if (!e) {
			fprintf(stderr, "json-schema FAIL %s group %ld \"%s\": not in SCOPE_INDEX.tsv\n",
				rel, gi, desc);
			c.failed += (size_t)ntests;
			c.in_scope += (size_t)ntests;
			continue;
		}
		e->seen = true;
		if (e->tests != ntests) {
			fprintf(stderr, "json-schema FAIL %s group %ld \"%s\": %ld tests, the index "
				"says %ld\n", rel, gi, desc, ntests, e->tests);
			c.failed += (size_t)ntests;
			c.in_scope += (size_t)ntests;
			continue;
		}
		ds_diag d;
		ds_diag_init(&d);
		ds_schema *s = NULL;
		ds_err cerr = { 0, "" };
		rc = ds_schema_compile_opts(schema, rel, flags, &d, &s, &cerr);
		if (rc) {
			cr_assert(rc == DS_ECONFIG, "%s group %ld: compile returned %d: %s", rel, gi,
				  rc, cerr.msg);
			if (in_scope) {
				fprintf(stderr, "json-schema FAIL %s group %ld \"%s\": the schema does "
					"not compile:\n", rel, gi, desc);
				for (size_t k = 0; k < d.count; k++)
					if (!d.items[k].warning)
						fprintf(stderr, "    %s: %s\n", d.items[k].path,
							d.items[k].message);
				c.in_scope += (size_t)ntests;
				c.failed += (size_t)ntests;
			} else {
				c.skipped += (size_t)ntests;
			}
			ds_diag_free(&d);
			continue;
		}
		ds_diag_free(&d);
		long ti = 0;
		for (const cJSON *t = tests->child; t; t = t->next, ti++) {
			const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
			const cJSON *valid = cJSON_GetObjectItemCaseSensitive(t, "valid");
			const char *tdesc = ds_json_str(t, "description");
			cr_assert(data && cJSON_IsBool(valid), "%s group %ld test %ld: malformed",
				  rel, gi, ti);
			char why[512] = "";
			size_t nerr = 0;
			ds_err verr = { 0, "" };
			rc = ds_schema_validate(s, data, first_error, why, &nerr, &verr);
			cr_assert_eq(rc, 0, "%s group %ld test %ld: validate returned %d: %s", rel,
				     gi, ti, rc, verr.msg);
			bool agree = (nerr == 0) == cJSON_IsTrue(valid);
			if (!in_scope) {
				c.skipped++;
				c.skipped_compiled++;
				c.skipped_agree += agree;
				continue;
			}
			c.in_scope++;
			if (agree) {
				c.passed++;
				continue;
			}
			c.failed++;
			char *shown = cJSON_PrintUnformatted(data);
			fprintf(stderr, "json-schema FAIL %s group %ld \"%s\" test %ld \"%s\": data "
				"%.200s should be %s%s%s\n", rel, gi, desc, ti, tdesc ? tdesc : "",
				shown ? shown : "?", cJSON_IsTrue(valid) ? "valid" : "invalid",
				why[0] ? "; got " : "", why);
			cJSON_free(shown);
		}
		ds_schema_free(s);
	}
	cJSON_Delete(doc);
	return c;
}

static void print_counts(const char *what, const struct counts *c)
{
	fprintf(stderr, "json-schema %s: %zu in scope, %zu passed, %zu failed, %zu skipped "
		"(%zu of them compiled and ran, %zu of those agree with the suite)\n", what,
		c->in_scope, c->passed, c->failed, c->skipped, c->skipped_compiled,
		c->skipped_agree);
}

Test(schema_suite, in_scope_tests_pass_and_the_rest_are_skipped)
{
	struct stat st;
	cr_assert(stat(CORPUS "/" DRAFT, &st) == 0 && S_ISDIR(st.st_mode)
		  && stat(CORPUS "/SCOPE_INDEX.tsv", &st) == 0,
		  "the JSON Schema corpus is missing: expected %s/%s/ and %s/SCOPE_INDEX.tsv "
		  "(relative to the repository root; run the tests from there)",
		  CORPUS, DRAFT, CORPUS);
	struct index ix;
	index_load(&ix);
	char **files = NULL;
	size_t nfiles = 0;
	list_files(DRAFT, &files, &nfiles);
	cr_assert(nfiles > 0, "no test file under %s/%s", CORPUS, DRAFT);
	struct counts total = { 0, 0, 0, 0, 0, 0, 0 };
	for (size_t i = 0; i < nfiles; i++) {
		struct counts c = run_file(&ix, files[i]);
		print_counts(files[i], &c);
		add(&total, &c);
		free(files[i]);
	}
	free(files);
	size_t unseen = 0;
	for (size_t i = 0; i < ix.n; i++)
		if (!ix.e[i].seen) {
			fprintf(stderr, "json-schema FAIL %s group %ld: in SCOPE_INDEX.tsv but not "
				"in the corpus\n", ix.e[i].file, ix.e[i].group);
			unseen++;
			if (ix.e[i].in_scope) {
				total.in_scope += (size_t)ix.e[i].tests;
				total.failed += (size_t)ix.e[i].tests;
			}
		}
	index_free(&ix);
	print_counts(DRAFT, &total);
	cr_expect(total.in_scope > 0, "no test is in scope");
	cr_expect_eq(unseen, 0, "%zu indexed groups are missing from the corpus", unseen);
	cr_expect_eq(total.failed, 0, "%zu in-scope tests failed (listed above)", total.failed);
	cr_expect_eq(total.passed + total.failed, total.in_scope);
}
