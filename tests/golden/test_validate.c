/*
 * test_validate.c - `dossier validate`: exit codes, errors as JSON Pointers.
 */
#include "helpers.h"

Test(validate, record_type)
{
	th_home h;
	th_home_init(&h);
	cJSON *r = th_json(&h, 0, "validate offer '%s/fixtures/offers/DEV-2026-0042.json'", h.repo);
	cr_assert_eq(cJSON_GetArraySize(r), 1);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "valid")));
	cJSON_Delete(r);
	r = th_json(&h, 3, "validate offer '%s/fixtures/offers/DEV-2026-0001.json' "
		    "'%s/fixtures/offers/broken-quantity-zero.json' '%s/fixtures/offers/broken-empty.json'",
		    h.repo, h.repo, h.repo);
	cr_assert_eq(cJSON_GetArraySize(r), 3);
	const cJSON *bad = cJSON_GetArrayItem(r, 1);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(bad, "valid")));
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "errors"), 0);
	cr_expect_str_eq(th_str(e, "pointer"), "/lines/0/quantity");
	cr_expect_str_eq(th_str(e, "keyword"), "minimum");
	cr_expect(strstr(th_str(e, "message"), ">= 1"));
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 2), "valid")));
	cJSON_Delete(r);
	cr_expect_eq(th_run(&h, NULL, NULL, "validate nosuchtype '%s/fixtures/offers/DEV-2026-0001.json'",
			    h.repo), 2);
	th_home_fini(&h);
}

Test(validate, schema_file)
{
	th_home h;
	th_home_init(&h);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/s.json", h.dir);
	FILE *f = fopen(path, "w");
	fputs("{\"type\": \"object\", \"required\": [\"a\"], \"properties\": {\"a\": {\"type\": \"integer\"}}}", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/d.json", h.dir);
	f = fopen(path, "w");
	fputs("{\"a\": \"x\"}", f);
	fclose(f);
	cJSON *r = th_json(&h, 3, "validate --schema '%s/s.json' '%s/d.json'", h.dir, h.dir);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "errors"), 0);
	cr_expect_str_eq(th_str(e, "pointer"), "/a");
	cJSON_Delete(r);
	/* an unsupported keyword makes the schema unusable: exit 2 */
	snprintf(path, sizeof path, "%s/s.json", h.dir);
	f = fopen(path, "w");
	fputs("{\"type\": \"object\", \"unevaluatedProperties\": false}", f);
	fclose(f);
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "validate --schema '%s/s.json' '%s/d.json'", h.dir, h.dir), 2);
	cr_expect(strstr(err, "unevaluatedProperties"), "%s", err);
	free(err);
	th_home_fini(&h);
}
