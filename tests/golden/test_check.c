/*
 * test_check.c - `dossier check` on broken configurations: every case
 * under tests/golden/check/ must be reported with its file, JSON path and
 * message, and exit 2 (see the README there).
 */
#include <dirent.h>

#include "helpers.h"

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
	cJSON *r = th_json(&h, 2, "check");
	const cJSON *errs = cJSON_GetObjectItem(r, "errors");
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "tests/golden/check/%s/expect", name);
	FILE *f = fopen(path, "r");
	cr_assert(f, "no %s", path);
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *file = line, *jpath = strchr(file, '\t');
		char *msg = jpath ? strchr(jpath + 1, '\t') : NULL;
		cr_assert(jpath && msg, "%s: bad line %s", path, line);
		*jpath++ = '\0';
		*msg++ = '\0';
		bool found = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, errs) {
			const char *ef = th_str(e, "file");
			size_t lf = strlen(ef), ls = strlen(file);
			if (lf >= ls && !strcmp(ef + lf - ls, file) && !strcmp(th_str(e, "path"), jpath) &&
			    strstr(th_str(e, "message"), msg))
				found = true;
		}
		char *all = cJSON_PrintUnformatted(errs);
		cr_expect(found, "%s: no error at %s %s saying \"%s\"; got %s", name, file, jpath, msg,
			  all);
		cJSON_free(all);
		n++;
	}
	fclose(f);
	cJSON_Delete(r);
	th_home_fini(&h);
	return n;
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
