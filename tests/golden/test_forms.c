/*
 * test_forms.c - forms and partner documents end to end: the contact form and the
 * technicians' reports become records; a value a normalizer cannot read
 * quarantines the form, naming the field and the value.
 */
#include "helpers.h"

Test(forms, contact_and_intervention_forms)
{
	th_home h;
	th_home_init(&h);
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest fixtures/forms");
	cr_expect_eq(th_num(sum, "read"), 9);
	/* 4 leads (one multipart, with a file), 3 reports, and the first
	 * report's opportunity and complaint: the report whose boxes say "non"
	 * gives neither */
	cr_expect_eq(th_num(sum, "records"), 9);
	cr_expect_eq(th_num(sum, "quarantined"), 2);
	cJSON_Delete(sum);
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_assert_eq(cJSON_GetArraySize(q), 2);
	const cJSON *it;
	cJSON_ArrayForEach(it, q) {
		cr_expect_str_eq(th_str(it, "stage"), "map");
		cr_expect_str_eq(th_str(it, "source"), "web-contact");
	}
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 0), "reason"), "pas-une-adresse"));
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 1), "reason"), "telephone"));
	cJSON_Delete(q);
	sum = th_json(&h, 0, "ingest fixtures/forms");
	cr_expect_eq(th_num(sum, "duplicates"), 9);
	cJSON_Delete(sum);
	th_home_fini(&h);
}

Test(forms, ubl_orders_from_partners)
{
	th_home h;
	th_home_init(&h);
	/* our own UBL 2.1 order becomes an order record; an entity bomb, an
	 * external entity and a truncated document are refused at read */
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest fixtures/xml");
	cr_expect_eq(th_num(sum, "read"), 4);
	cr_expect_eq(th_num(sum, "records"), 1);
	cr_expect_eq(th_num(sum, "quarantined"), 3);
	cJSON_Delete(sum);
	cJSON *q = th_json(&h, 0, "quarantine list");
	const cJSON *it;
	cJSON_ArrayForEach(it, q) {
		cr_expect_str_eq(th_str(it, "stage"), "read");
		cr_expect_str_eq(th_str(it, "source"), "erp-orders");
	}
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 0), "reason"), "entity"));
	cJSON_Delete(q);
	th_home_fini(&h);
}

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
