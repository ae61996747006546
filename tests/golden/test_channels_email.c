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

/* Each channel's bounds come from dossier.json's "limits"; an input that
 * breaks one is quarantined at read, with the limit named. */
Test(channels, limits_from_the_settings)
{
	th_home h;
	th_home_init(&h);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/dossier.json", h.dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs("{\"limits\": {\"email\": {\"max_parts\": 2}, \"form\": {\"max_fields\": 3},"
	      " \"multipart\": {\"max_parts\": 2}, \"xml\": {\"max_depth\": 3}}}\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/three-parts.eml", h.dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("From: Luc Morel <luc.morel@example.fr>\r\nTo: reclamations@example.com\r\n"
	      "Subject: =?UTF-8?Q?R=C3=A9clamation?=\r\nMessage-ID: <limits.1@example.fr>\r\n"
	      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	      "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLitige.\r\n"
	      "--b\r\nContent-Type: text/plain\r\n\r\nun\r\n"
	      "--b\r\nContent-Type: text/plain\r\n\r\ndeux\r\n--b--\r\n", f);
	fclose(f);
	const char *inputs[][2] = {
		{ "", "max_parts" },
		{ "fixtures/forms/contact-helene-dupre.form", "max_fields" },
		{ "fixtures/forms/contact-carre-with-file.mime", "parts" },
		{ "fixtures/xml/CMD-2026-0101.xml", "depth" },
	};
	for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
		char *err = NULL;
		int rc = th_run(&h, NULL, &err, "--now 2026-11-24T09:00:00Z ingest '%s'",
				*inputs[i][0] ? inputs[i][0] : path);
		cr_expect_eq(rc, 3, "%s: exit %d: %s", inputs[i][0], rc, err);
		cr_expect(strstr(err, inputs[i][1]), "%s: %s does not name %s", inputs[i][0], err,
			  inputs[i][1]);
		free(err);
	}
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_expect_eq(cJSON_GetArraySize(q), 4);
	const cJSON *it;
	cJSON_ArrayForEach(it, q)
		cr_expect_str_eq(th_str(it, "stage"), "read");
	cJSON_Delete(q);
	/* the settings loosened, the same inputs replay into their records */
	snprintf(path, sizeof path, "%s/dossier.json", h.dir);
	cr_assert_eq(unlink(path), 0);
	cJSON *sum = th_json(&h, 0, "--now 2026-11-24T09:00:00Z quarantine replay --all");
	cr_expect_eq(th_num(sum, "records"), 4);
	cr_expect_eq(th_num(sum, "quarantined"), 0);
	cJSON_Delete(sum);
	th_home_fini(&h);
}

/* `inspect --part` writes one decoded part; `--content-type` reads a body
 * saved without its name or its Content-Type line. */
Test(email, inspect_part_and_content_type)
{
	th_home h;
	th_home_init(&h);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/message.txt", h.dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	/* part 2 is "Bon de commande n° 12\n" in ISO-8859-1, base64 */
	fputs("From: Luc Morel <luc.morel@example.fr>\r\nTo: reclamations@example.com\r\n"
	      "Subject: Litige commande\r\nMessage-ID: <part.1@example.fr>\r\n"
	      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	      "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n\r\nR=C3=A9clamation.\r\n"
	      "--b\r\nContent-Type: text/plain; charset=iso-8859-1; name=\"bon.txt\"\r\n"
	      "Content-Disposition: attachment; filename=\"bon.txt\"\r\n"
	      "Content-Transfer-Encoding: base64\r\n\r\nQm9uIGRlIGNvbW1hbmRlIG6wIDEyCg==\r\n--b--\r\n", f);
	fclose(f);
	char *out = NULL, *err = NULL;
	cr_expect_eq(th_run(&h, &out, &err, "inspect --channel email --part 2 '%s'", path), 0, "%s",
		     err);
	cr_expect_str_eq(out, "Bon de commande n\xb0 12\n", "charset untouched");
	free(out);
	free(err);
	cr_expect_eq(th_run(&h, &out, &err, "inspect --content-type message/rfc822 --part 1 '%s'", path),
		     0, "%s", err);
	cr_expect_str_eq(out, "R\xc3\xa9" "clamation.", "quoted-printable undone");
	free(out);
	free(err);
	cr_expect_eq(th_run(&h, NULL, &err, "inspect --channel email --part 3 '%s'", path), 5);
	cr_expect(strstr(err, "3"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, &err, "inspect --part 1 fixtures/forms/contact-helene-dupre.form"),
		     2);
	free(err);
	cr_expect_eq(th_run(&h, NULL, &err, "inspect --content-type image/png '%s'", path), 2);
	cr_expect(strstr(err, "image/png"), "%s", err);
	free(err);
	/* the human view names the parts and the attachment */
	cr_expect_eq(th_run(&h, &out, NULL, "inspect --channel email '%s'", path), 0);
	cr_expect(strstr(out, "bon.txt") && strstr(out, "Réclamation."), "%s", out);
	free(out);

	/* a multipart form body without its Content-Type line */
	snprintf(path, sizeof path, "%s/body", h.dir);
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof cmd, "tail -n +3 fixtures/forms/contact-carre-with-file.mime > '%s'", path);
	cr_assert_eq(system(cmd), 0);
	cJSON *r = th_json(&h, 0, "inspect --source web-contact --content-type "
			   "'multipart/form-data; boundary=----dossier7MA4YWxkTrZu0gW' '%s'", path);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "fields"), 0), "value"),
			 "Agnès Carré");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "files")), 1);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "records"),
								      0), "valid")));
	cJSON_Delete(r);
	th_home_fini(&h);
}
