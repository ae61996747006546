/*
 * test_threads.c - a reply reaches the case of the message it answers: the
 * support mailbox of tests/golden/thread/ opens a ticket per message, keyed
 * by the opening message's Message-ID, so only the thread (In-Reply-To,
 * then References from the newest) can tie a reply to its ticket. The
 * files a message carried are listed with the case and come back byte for
 * byte.
 */
#include "helpers.h"

#define NOW "--now 2026-11-24T09:00:00Z"

static void setup_home(th_home *h)
{
	th_home_init(h);
	th_home_overlay(h, "tests/golden/thread");
}

/* Writes a message to NAME.eml in the home; thread is extra header text. */
static void message(th_home *h, const char *name, const char *id, const char *thread,
		    const char *subject, const char *body)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s.eml", h->dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "From: =?UTF-8?Q?Ma=C3=ABlle_Roux?= <maelle.roux@example.fr>\r\n"
		   "To: support@example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%s"
		   "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n%s",
		subject, id, thread, body);
	fclose(f);
}

static cJSON *ingest(th_home *h, const char *name)
{
	return th_json(h, 0, NOW " ingest --source support-inbox '%s/%s.eml'", h->dir, name);
}

static int ncases(th_home *h)
{
	cJSON *l = th_json(h, 0, "case list --process ticket");
	int n = cJSON_GetArraySize(l);
	cJSON_Delete(l);
	return n;
}

Test(threads, replies_reach_the_case_of_the_message_they_answer)
{
	th_home h;
	setup_home(&h);
	const char *plain = "Content-Type: text/plain; charset=utf-8\r\n\r\n";
	message(&h, "1-open", "t1@example.fr", "", "Support : chaudière en panne",
		plain);
	cJSON_Delete(ingest(&h, "1-open"));
	cr_expect_eq(ncases(&h), 1);

	/* a reply by In-Reply-To, with a PDF attached */
	message(&h, "2-reply", "t2@example.fr",
		"In-Reply-To: <t1@example.fr>\r\nReferences: <t1@example.fr>\r\n",
		"Re: Support : chaudière en panne",
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici le bon de commande.\r\n"
		"--b\r\nContent-Type: application/pdf; name=\"bon-de-commande.pdf\"\r\n"
		"Content-Disposition: attachment; filename=\"bon-de-commande.pdf\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n"
		"--b--\r\n");
	cJSON *sum = ingest(&h, "2-reply");
	cr_expect_eq(th_num(sum, "records"), 1);
	cJSON_Delete(sum);
	cr_expect_eq(ncases(&h), 1, "the reply joined the ticket");

	/* a reply to the reply: its In-Reply-To is the reply's own id */
	message(&h, "3-again", "t3@example.fr",
		"In-Reply-To: <t2@example.fr>\r\nReferences: <t1@example.fr> <t2@example.fr>\r\n",
		"Re: Support", plain);
	cJSON_Delete(ingest(&h, "3-again"));
	/* References only, the newest unknown, an older one known */
	message(&h, "4-refs", "t4@example.fr",
		"References: <t1@example.fr>\r\n <elsewhere@example.net>\r\n", "Support ?", plain);
	cJSON_Delete(ingest(&h, "4-refs"));
	cr_expect_eq(ncases(&h), 1, "every reply joined the ticket");

	/* a new message, and a reply to a message never seen: new tickets */
	message(&h, "5-new", "t5@example.fr", "", "Support : climatisation", plain);
	cJSON_Delete(ingest(&h, "5-new"));
	message(&h, "6-orphan", "t6@example.fr", "In-Reply-To: <unknown@example.net>\r\n",
		"Re: Support", plain);
	cJSON_Delete(ingest(&h, "6-orphan"));
	cr_expect_eq(ncases(&h), 3);

	/* the ticket's history names the message each reply answered */
	cJSON *c = th_json(&h, 0, "case show ticket:t1@example.fr");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(c, "data"), "message_id"), "t1@example.fr",
			 "a reply carries its ticket's key");
	char *hist = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "history"));
	cr_expect(strstr(hist, "\"thread\":\"t1@example.fr\""), "%s", hist);
	cr_expect(strstr(hist, "\"thread\":\"t2@example.fr\""), "%s", hist);
	cJSON_free(hist);

	/* the PDF of the reply is listed with the ticket and comes back whole */
	const cJSON *atts = cJSON_GetObjectItem(c, "attachments");
	cr_assert_eq(cJSON_GetArraySize(atts), 1);
	const cJSON *pdf = cJSON_GetArrayItem(atts, 0);
	cr_expect_str_eq(th_str(pdf, "filename"), "bon-de-commande.pdf");
	cr_expect_str_eq(th_str(pdf, "content_type"), "application/pdf");
	cr_expect_str_eq(th_str(pdf, "part"), "2");
	char *out = NULL;
	cr_expect_eq(th_run(&h, &out, NULL, "attachment get %.0f", th_num(pdf, "id")), 0);
	cr_expect_eq(memcmp(out, "%PDF-1.4\n", 9), 0, "%s", out);
	free(out);
	cJSON *l = th_json(&h, 0, "attachment list ticket:t1@example.fr");
	cr_expect_eq(cJSON_GetArraySize(l), 1);
	cJSON_Delete(l);
	cr_expect_eq(th_run(&h, NULL, NULL, "attachment get 99"), 5);
	cJSON_Delete(c);
	th_home_fini(&h);
}
