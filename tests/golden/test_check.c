/*
 * test_check.c - `dossier check` on broken configurations: every case
 * under tests/golden/check/ must be reported with its file, JSON path and
 * message; errors make it exit 2, warnings alone do not (see the README
 * there).
 */
#include <dirent.h>

#include "helpers.h"

#define MAX_LINES 64

typedef struct line {
	char file[256], path[512], msg[512];
} line;

/* Reads tests/golden/check/NAME/WHAT into v; returns the number of lines,
 * or -1 when the case has no such file. */
static int read_lines(const char *name, const char *what, line *v)
{
	char path[PATH_MAX + 64], buf[1400];
	snprintf(path, sizeof path, "tests/golden/check/%s/%s", name, what);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = 0;
	while (fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		char *file = buf, *jpath = strchr(file, '\t');
		char *msg = jpath ? strchr(jpath + 1, '\t') : NULL;
		cr_assert(jpath && msg, "%s: bad line %s", path, buf);
		cr_assert(n < MAX_LINES, "%s: more than %d lines", path, MAX_LINES);
		*jpath++ = '\0';
		*msg++ = '\0';
		snprintf(v[n].file, sizeof v[n].file, "%s", file);
		snprintf(v[n].path, sizeof v[n].path, "%s", jpath);
		snprintf(v[n].msg, sizeof v[n].msg, "%s", msg);
		n++;
	}
	fclose(f);
	return n;
}

/* Whether the reported problem e is the one l describes. */
static bool matches(const cJSON *e, const line *l)
{
	const char *ef = th_str(e, "file");
	size_t lf = strlen(ef), ls = strlen(l->file);
	return lf >= ls && !strcmp(ef + lf - ls, l->file) && !strcmp(th_str(e, "path"), l->path) &&
	       strstr(th_str(e, "message"), l->msg);
}

/* Every line must be among the problems of list. */
static void expect_reported(const char *name, const char *what, const line *v, int n,
			    const cJSON *list)
{
	char *all = cJSON_PrintUnformatted(list);
	for (int i = 0; i < n; i++) {
		bool found = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, list)
			found = found || matches(e, &v[i]);
		cr_expect(found, "%s: no %s at %s %s saying \"%s\"; got %s", name, what, v[i].file,
			  v[i].path, v[i].msg, all);
	}
	cJSON_free(all);
}

/* Whether file is one the case lays over the repository's schemas/. */
static bool in_overlay(const char *name, const char *file)
{
	const char *rel = strstr(file, "/schemas/");
	char path[PATH_MAX + 64];
	if (!rel)
		return false;
	snprintf(path, sizeof path, "tests/golden/check/%s%s", name, rel);
	return access(path, F_OK) == 0;
}

static int run_case(const char *name)
{
	th_home h;
	th_home_init(&h);
	char cmd[PATH_MAX * 4];
	snprintf(cmd, sizeof cmd,
		 "rm '%s/schemas' && cp -r '%s/schemas' '%s/schemas' && "
		 "{ [ ! -d '%s/tests/golden/check/%s/schemas' ] || "
		 "cp -r '%s/tests/golden/check/%s/schemas/.' '%s/schemas/'; } && "
		 "{ [ ! -f '%s/tests/golden/check/%s/dossier.json' ] || "
		 "cp '%s/tests/golden/check/%s/dossier.json' '%s/'; }",
		 h.dir, h.repo, h.dir, h.repo, name, h.repo, name, h.dir, h.repo, name, h.repo, name,
		 h.dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	static line errors[MAX_LINES], warnings[MAX_LINES];
	int nerr = read_lines(name, "expect", errors);
	int nwarn = read_lines(name, "warnings", warnings);
	cJSON *r = th_json(&h, nerr >= 0 ? 2 : 0, "check");
	const cJSON *errs = cJSON_GetObjectItem(r, "errors");
	const cJSON *warns = cJSON_GetObjectItem(r, "warnings");
	if (nerr >= 0)
		expect_reported(name, "error", errors, nerr, errs);
	if (nwarn >= 0) {
		expect_reported(name, "warning", warnings, nwarn, warns);
		/* And none but those about the case's own files. */
		const cJSON *w;
		cJSON_ArrayForEach(w, warns) {
			bool listed = !in_overlay(name, th_str(w, "file"));
			for (int i = 0; i < nwarn && !listed; i++)
				listed = matches(w, &warnings[i]);
			cr_expect(listed, "%s: unexpected warning at %s %s: %s", name,
				  th_str(w, "file"), th_str(w, "path"), th_str(w, "message"));
		}
	}
	cJSON_Delete(r);
	th_home_fini(&h);
	cr_expect(nerr >= 0 || nwarn >= 0, "%s has neither expect nor warnings", name);
	/* An empty warnings file is an expectation too: no warning at all. */
	return (nerr > 0 ? nerr : 0) + (nwarn >= 0 ? nwarn + 1 : 0);
}

Test(check, every_broken_configuration_is_reported)
{
	DIR *d = opendir("tests/golden/check");
	cr_assert(d);
	struct dirent *e;
	int cases = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.'))
			continue;
		cr_expect(run_case(e->d_name) > 0, "%s has no expectations", e->d_name);
		cases++;
	}
	closedir(d);
	cr_expect(cases >= 6);
}

Test(check, the_reference_business_has_no_problem)
{
	th_home h;
	th_home_init(&h);
	cJSON *r = th_json(&h, 0, "check");
	char *all = cJSON_PrintUnformatted(r);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "errors")), 0, "%s", all);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "warnings")), 0, "%s", all);
	cJSON_free(all);
	cJSON_Delete(r);
	th_home_fini(&h);
}

/* The benchmark's parcels, a business of their own, load as cleanly. */
Test(check, the_benchmarks_parcels_have_no_problem)
{
	th_home h;
	th_home_init(&h);
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "rm '%s/schemas' && ln -s '%s/bench/transitions/schemas' '%s/schemas'",
		 h.dir, h.repo, h.dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	cJSON *r = th_json(&h, 0, "check");
	char *all = cJSON_PrintUnformatted(r);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "errors")), 0, "%s", all);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "warnings")), 0, "%s", all);
	cJSON_free(all);
	cJSON_Delete(r);
	th_home_fini(&h);
}

/* Without schemas/roles.json the roles are SPEC's, and a role beyond them
 * is only a warning: the business has not said which roles it has. */
Test(check, roles_beyond_specs_are_warnings_until_declared)
{
	th_home h;
	th_home_init(&h);
	char cmd[PATH_MAX * 4];
	snprintf(cmd, sizeof cmd,
		 "rm '%s/schemas' && cp -r '%s/schemas' '%s/schemas' && rm '%s/schemas/roles.json'",
		 h.dir, h.repo, h.dir, h.dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	cJSON *r = th_json(&h, 0, "check");
	const line l = { "schemas/processes/order.json", "/states/shipped/on/0/roles/0",
			 "role \"accounting\" is not one of sales, manager, technical, marketing, "
			 "admin: declare the business's roles in schemas/roles.json" };
	expect_reported("no roles.json", "warning", &l, 1, cJSON_GetObjectItem(r, "warnings"));
	cJSON_Delete(r);
	th_home_fini(&h);
}
