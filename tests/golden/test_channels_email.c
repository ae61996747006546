/*
 * test_channels_email.c - emails end to end: the complaints mailbox turns a
 * complaint (ISO-8859-1 with a euro sign, as French mail often is) into a
 * complaint record, and inspect shows what the mappings read; the same
 * message fetched again through another relay is a duplicate.
 */
#include "helpers.h"

Test(email, complaints_mailbox)
{
	th_home h;
	th_home_init(&h);
	cJSON *r = th_json(&h, 0, "inspect --source complaints-inbox fixtures/email/complaint-invoice-iso8859.eml");
	cr_expect_str_eq(th_str(r, "channel"), "email");
	cr_expect_str_eq(th_str(r, "subject"), "Réclamation : facture CMD-2026-0002");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(r, "from"), "name"), "Renée Lefèvre");
	cr_expect_str_eq(th_str(r, "date"), "2026-11-23T17:42:10Z");
	cr_expect_str_eq(th_str(r, "message_id"), "20261123184210.4412@example.fr");
	cr_expect(strstr(th_str(r, "text"), "2 310,45 €"), "byte 0x80 labelled ISO-8859-1 is the euro sign");
	const cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "records"), 0);
	cr_expect_str_eq(th_str(rec, "type"), "complaint");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(rec, "valid")));
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(rec, "data"), "origin"), "email");
	/* a named group of a pattern over the subject: the order it is about */
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(rec, "data"), "order_ref"), "CMD-2026-0002");
	cr_expect_null(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "data"), "offer_ref"));
	cJSON_Delete(r);

	/* the same message fetched again through another relay: other bytes,
	 * the same Message-ID, one interaction */
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof cmd, "{ printf 'Received: from relay2.example.net; Tue, 24 Nov 2026 "
		 "09:00:00 +0100\r\n'; cat fixtures/email/complaint-invoice-iso8859.eml; } > '%s/again.eml'",
		 h.dir);
	cr_assert_eq(system(cmd), 0);
	cJSON *sum = th_json(&h, 0, "--now 2026-11-24T09:00:00Z ingest fixtures/email/complaint-invoice-iso8859.eml");
	cr_expect_eq(th_num(sum, "records"), 1);
	cJSON_Delete(sum);
	sum = th_json(&h, 0, "ingest '%s/again.eml'", h.dir);
	cr_expect_eq(th_num(sum, "duplicates"), 1);
	cr_expect_eq(th_num(sum, "records"), 0);
	cJSON_Delete(sum);
	th_home_fini(&h);
}
