/*
 * test_forms.c - what inspect shows of a form: its fields in order, its
 * uploaded files with their SHA-256, the records its mappings would give;
 * nothing is stored. (Each fixture's records or quarantine reason is held
 * by test_fixtures.c.)
 */
#include "helpers.h"

Test(forms, inspect_reads_without_storing)
{
	th_home h;
	th_home_init(&h);
	cJSON *r = th_json(&h, 0, "inspect --source web-contact fixtures/forms/contact-helene-dupre.form");
	cr_expect_str_eq(th_str(r, "channel"), "form");
	const cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "fields"), 0);
	cr_expect_str_eq(th_str(f0, "name"), "nom");
	cr_expect_str_eq(th_str(f0, "value"), "Hélène Dupré");
	const cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "records"), 0);
	cr_expect_str_eq(th_str(rec, "type"), "lead");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(rec, "valid")));
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(rec, "data"), "phone"), "+33612345678");
	cJSON_Delete(r);
	/* a multipart form: the uploaded file is described, with its SHA-256 */
	r = th_json(&h, 0, "inspect --source web-contact fixtures/forms/contact-carre-with-file.mime");
	const cJSON *file = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "files"), 0);
	cr_expect_str_eq(th_str(file, "filename"), "plaque-chaudière.txt");
	cr_expect_eq(th_num(file, "size"), 53);
	cr_expect_str_eq(th_str(file, "sha256"),
			 "a2f9317b6f887bfe3c45cb1002b5153a3b05d665d127e425fab942247d1a0d14");
	rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "records"), 0);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(rec, "valid")));
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "data"),
									   "attachments"), 0), "filename"),
			 "plaque-chaudière.txt");
	cJSON_Delete(r);
	r = th_json(&h, 3, "inspect --source api-offers fixtures/offers/broken-quantity-zero.json");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(r, "quarantine"), "stage"), "validate");
	cJSON_Delete(r);
	/* nothing was stored */
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_expect_eq(cJSON_GetArraySize(q), 0);
	cJSON_Delete(q);
	th_home_fini(&h);
}
