/*
 * test_fixtures.c - every input under fixtures/email, fixtures/forms,
 * fixtures/xml and fixtures/orders has its expectation beside the others,
 * in fixtures/expected/<folder>/<file name>.json, and this test holds each:
 *
 *   {"source": "web-contact",
 *    "records": [{"type": "lead", "data": {...}}, ...]}
 *   {"source": "erp-orders",
 *    "quarantine": {"stage": "read", "reason": "entity"}}
 *
 * `dossier inspect --source S FILE` must give exactly those records, each
 * valid against its type, in order; or the quarantine at that stage with a
 * reason that contains the text given. Then the folder is ingested file by
 * file, in name order, into one home, and each file's summary must agree:
 * one new interaction and its records, or one quarantined input; an
 * optional "ingest" object gives the summary counts to expect instead
 * (a message fetched twice: {"new": 0, "duplicates": 1, "records": 0}).
 * Ingesting each file once more creates nothing. Last, the whole folder is
 * ingested at once into a fresh home without naming sources: each input
 * goes to the source whose rules accept it (none is ambiguous, and what is
 * quarantined after reading is quarantined by the source its expectation
 * names), and the totals are the sums of the files'. A fixture without an
 * expectation, or an expectation without its fixture, fails the test: a new
 * case is two new files and no new code.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "helpers.h"

#define NOW "--now 2026-11-24T09:00:00Z"

static int is_input(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	if (e->d_name[0] == '.')
		return 0;
	return !(n > 3 && !strcmp(e->d_name + n - 3, ".md"));
}

static char *show(const cJSON *j)
{
	char *p = j ? cJSON_Print(j) : NULL;
	char *s = strdup(p ? p : "(nothing)");
	cJSON_free(p);
	return s;
}

static void expect_summary(const char *file, const cJSON *sum, const cJSON *want)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, want) {
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(sum, k->string);
		cr_expect(cJSON_IsNumber(got) && got->valuedouble == k->valuedouble,
			  "%s: ingest gave %s = %g, expected %g", file, k->string,
			  cJSON_IsNumber(got) ? got->valuedouble : -1.0, k->valuedouble);
	}
}

/* Compares what inspect printed with the expectation; returns the summary
 * counts ingest must give for this file (a new object). */
static cJSON *check_inspect(th_home *h, const char *path, const char *name,
			    const cJSON *want)
{
	const char *source = th_str(want, "source");
	const cJSON *wrecs = cJSON_GetObjectItemCaseSensitive(want, "records");
	const cJSON *wq = cJSON_GetObjectItemCaseSensitive(want, "quarantine");
	cr_assert(cJSON_IsArray(wrecs) != cJSON_IsObject(wq),
		  "%s: the expectation gives either \"records\" or \"quarantine\"", name);
	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, "--json " NOW " inspect --source '%s' '%s'", source, path);
	cJSON *got = cJSON_Parse(out);
	cr_assert(got, "%s: inspect printed no JSON (exit %d): %s", name, rc, err);
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(got, "quarantine");
	cJSON *sum = cJSON_CreateObject();
	if (wq) {
		const char *stage = th_str(wq, "stage");
		const char *reason = th_str(wq, "reason");
		cJSON_AddNumberToObject(sum, "quarantined", 1);
		cJSON_AddNumberToObject(sum, "records", 0);
		if (!strcmp(stage, "advance")) {
			/* only ingest reaches cases: inspect shows the records */
			cr_expect_eq(rc, 0, "%s: inspect exit %d: %s", name, rc, out);
		} else {
			cr_expect_eq(rc, 3, "%s: inspect exit %d, expected 3: %s", name, rc, out);
			cr_expect(cJSON_IsObject(q), "%s: no quarantine; inspect printed %s", name,
				  out);
			if (cJSON_IsObject(q)) {
				cr_expect_str_eq(th_str(q, "stage"), stage, "%s: quarantined at %s",
						 name, th_str(q, "stage"));
				cr_expect(strstr(th_str(q, "reason"), reason),
					  "%s: reason \"%s\" does not say \"%s\"", name,
					  th_str(q, "reason"), reason);
			}
		}
	} else {
		cr_expect_eq(rc, 0, "%s: inspect exit %d: %s", name, rc, out);
		const cJSON *recs = cJSON_GetObjectItemCaseSensitive(got, "records");
		cr_expect_eq(cJSON_GetArraySize(recs), cJSON_GetArraySize(wrecs),
			     "%s: %d records, expected %d: %s", name, cJSON_GetArraySize(recs),
			     cJSON_GetArraySize(wrecs), out);
		for (int i = 0; i < cJSON_GetArraySize(wrecs) && i < cJSON_GetArraySize(recs); i++) {
			const cJSON *w = cJSON_GetArrayItem(wrecs, i);
			const cJSON *r = cJSON_GetArrayItem(recs, i);
			cr_expect_str_eq(th_str(r, "type"), th_str(w, "type"), "%s: record %d", name,
					 i);
			cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "valid")),
				  "%s: record %d is not valid: %s", name, i, out);
			const cJSON *wd = cJSON_GetObjectItemCaseSensitive(w, "data");
			const cJSON *rd = cJSON_GetObjectItemCaseSensitive(r, "data");
			if (!cJSON_Compare(wd, rd, true)) {
				char *a = show(rd), *b = show(wd);
				cr_expect_fail("%s: record %d data differs.\ngot:\n%s\nexpected:\n%s",
					       name, i, a, b);
				free(a);
				free(b);
			}
		}
		cJSON_AddNumberToObject(sum, "new", 1);
		cJSON_AddNumberToObject(sum, "quarantined", 0);
		cJSON_AddNumberToObject(sum, "records", cJSON_GetArraySize(wrecs));
	}
	cJSON_Delete(got);
	free(out);
	free(err);
	return sum;
}

static void folder(const char *dir)
{
	th_home h;
	th_home_init(&h);
	char path[PATH_MAX], epath[PATH_MAX];
	struct dirent **names = NULL;
	int n = scandir(dir, &names, is_input, alphasort);
	cr_assert(n > 0, "no fixtures in %s", dir);
	cJSON *wants = cJSON_CreateArray();
	int checked = 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		struct stat st;
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			cJSON_AddItemToArray(wants, cJSON_CreateNull());
			continue;
		}
		snprintf(epath, sizeof epath, "fixtures/expected/%s/%s.json", dir + strlen("fixtures/"),
			 names[i]->d_name);
		cr_assert(access(epath, R_OK) == 0, "%s has no expectation %s", path, epath);
		char *text = th_slurp(epath, NULL);
		cJSON *want = cJSON_Parse(text);
		cr_assert(want, "%s is not JSON", epath);
		free(text);
		cJSON *sum = check_inspect(&h, path, names[i]->d_name, want);
		const cJSON *ing = cJSON_GetObjectItemCaseSensitive(want, "ingest");
		if (cJSON_IsObject(ing)) {
			cJSON_Delete(sum);
			sum = cJSON_Duplicate(ing, true);
		}
		cJSON_AddStringToObject(sum, "_source", th_str(want, "source"));
		const cJSON *wq = cJSON_GetObjectItemCaseSensitive(want, "quarantine");
		if (wq && strcmp(th_str(wq, "stage"), "read") && !strstr(th_str(wq, "reason"), "unmapped"))
			cJSON_AddStringToObject(sum, "_stage", th_str(wq, "stage"));
		cJSON_AddItemToArray(wants, sum);
		cJSON_Delete(want);
		checked++;
	}
	/* ingested in name order, so that a reply finds what it answers */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			const cJSON *want = cJSON_GetArrayItem(wants, i);
			if (cJSON_IsNull(want))
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
			char *out = NULL, *err = NULL;
			int rc = th_run(&h, &out, &err, "--json " NOW " ingest --source '%s' '%s'",
					th_str(want, "_source"), path);
			cJSON *sum = cJSON_Parse(out);
			cr_assert(sum, "%s: ingest printed no JSON (exit %d): %s", path, rc, err);
			cr_expect(rc == 0 || rc == 3, "%s: ingest exit %d: %s", path, rc, err);
			if (pass == 0) {
				cJSON *counts = cJSON_Duplicate(want, true);
				cJSON_DeleteItemFromObjectCaseSensitive(counts, "_source");
				cJSON_DeleteItemFromObjectCaseSensitive(counts, "_stage");
				expect_summary(path, sum, counts);
				cJSON_Delete(counts);
			} else {
				cr_expect_eq(th_num(sum, "new"), 0, "%s: ingested twice", path);
				cr_expect_eq(th_num(sum, "records"), 0, "%s: ingested twice", path);
			}
			cJSON_Delete(sum);
			free(out);
			free(err);
		}
	}
	/* the folder at once, each input routed to its source */
	double total[3] = { 0 };
	const char *keys[3] = { "records", "quarantined", "duplicates" };
	for (int i = 0; i < n; i++) {
		const cJSON *want = cJSON_GetArrayItem(wants, i);
		for (int k = 0; k < 3; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(want, keys[k]);
			total[k] += cJSON_IsNumber(v) ? v->valuedouble : 0;
		}
	}
	th_home fresh;
	th_home_init(&fresh);
	char *out = NULL, *err = NULL;
	int rc = th_run(&fresh, &out, &err, "--json " NOW " ingest '%s/%s'", h.repo, dir);
	cJSON *sum = cJSON_Parse(out);
	cr_assert(sum, "%s: ingest printed no JSON (exit %d): %s", dir, rc, err);
	for (int k = 0; k < 3; k++)
		cr_expect_eq(th_num(sum, keys[k]), total[k],
			     "%s ingested at once: %s %g, the files' expectations add up to %g",
			     dir, keys[k], th_num(sum, keys[k]), total[k]);
	cJSON_Delete(sum);
	free(out);
	free(err);
	/* routed as their expectations say: each input quarantined after it was
	 * routed has its expected source and stage, and none was ambiguous */
	cJSON *ql = th_json(&fresh, 0, "quarantine list");
	const cJSON *q;
	cJSON_ArrayForEach(q, ql) {
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(q, "reason");
		cr_expect(!cJSON_IsString(reason) || !strstr(reason->valuestring, "ambiguous"),
			  "%s ingested at once: %s", dir, reason->valuestring);
	}
	for (int i = 0; i < n; i++) {
		const cJSON *want = cJSON_GetArrayItem(wants, i);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(want, "_stage");
		if (!cJSON_IsString(st))
			continue;
		const char *src = th_str(want, "_source");
		int expected = 0, got = 0;
		for (int k = 0; k < n; k++) {
			const cJSON *w = cJSON_GetArrayItem(wants, k);
			const cJSON *s2 = cJSON_GetObjectItemCaseSensitive(w, "_stage");
			expected += cJSON_IsString(s2) && !strcmp(s2->valuestring, st->valuestring) &&
				    !strcmp(th_str(w, "_source"), src);
		}
		cJSON_ArrayForEach(q, ql) {
			const cJSON *qs = cJSON_GetObjectItemCaseSensitive(q, "source");
			got += cJSON_IsString(qs) && !strcmp(qs->valuestring, src) &&
			       !strcmp(th_str(q, "stage"), st->valuestring);
		}
		cr_expect_eq(got, expected,
			     "%s ingested at once: %d inputs quarantined at %s by source %s, expected %d",
			     dir, got, st->valuestring, src, expected);
	}
	cJSON_Delete(ql);
	th_home_fini(&fresh);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cJSON_Delete(wants);
	/* every expectation has its fixture */
	char edir[PATH_MAX];
	snprintf(edir, sizeof edir, "fixtures/expected/%s", dir + strlen("fixtures/"));
	DIR *d = opendir(edir);
	cr_assert(d, "no folder %s", edir);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		snprintf(path, sizeof path, "%s/%.*s", dir, (int)(len - 5), e->d_name);
		cr_expect(access(path, R_OK) == 0, "%s/%s expects a fixture %s that is not there",
			  edir, e->d_name, path);
	}
	closedir(d);
	printf("fixtures: %s: %d inputs hold their expectations\n", dir, checked);
	th_home_fini(&h);
}

Test(fixtures, email) { folder("fixtures/email"); }
Test(fixtures, forms) { folder("fixtures/forms"); }
Test(fixtures, xml) { folder("fixtures/xml"); }
Test(fixtures, orders) { folder("fixtures/orders"); }
