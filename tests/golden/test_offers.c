/*
 * test_offers.c - the offer slice end to end: the binary on fixtures/offers,
 * checked against fixtures/expected/ (states, totals, quarantine stages).
 */
#include <openssl/evp.h>

#include "decimal.h"
#include "helpers.h"

static cJSON *expected_offers(void)
{
	char *text = th_slurp("fixtures/expected/offers.json", NULL);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	cr_assert(cJSON_IsArray(doc));
	return doc;
}

static const cJSON *find_case(const cJSON *list, const char *key)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, list)
		if (!strcmp(th_str(c, "key"), key))
			return c;
	return NULL;
}

static void sha256_file(const char *path, char out[65])
{
	size_t len;
	char *b = th_slurp(path, &len);
	unsigned char d[32];
	EVP_Digest(b, len, d, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	free(b);
}

static char *pdf_text(const char *path)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' -", path);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "pdftotext is needed (poppler-utils)");
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	char chunk[4096];
	size_t r;
	while ((r = fread(chunk, 1, sizeof chunk, p)) > 0)
		fwrite(chunk, 1, r, m);
	fclose(m);
	cr_assert_eq(pclose(p), 0, "pdftotext failed on %s", path);
	return buf;
}

Test(offers, ingest_quarantine_and_idempotency)
{
	th_home h;
	th_home_init(&h);
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest fixtures/offers/");
	cJSON *exp = expected_offers();
	int valid = cJSON_GetArraySize(exp);
	cr_assert_eq(valid, 28);
	cr_expect_eq(th_num(sum, "read"), 52);
	cr_expect_eq(th_num(sum, "records"), 28);
	cr_expect_eq(th_num(sum, "quarantined"), 24);
	cr_expect_eq(th_num(sum, "duplicates"), 0);
	/* every offer is moved once from draft by a guard (its creation is an
	 * audit entry, not a transition) */
	cr_expect_eq(th_num(sum, "transitions"), 28);
	cJSON_Delete(sum);

	/* every valid offer is a case in its expected state */
	cJSON *cases = th_json(&h, 0, "case list --process offer");
	cr_assert_eq(cJSON_GetArraySize(cases), 28);
	const cJSON *e;
	int validated = 0;
	cJSON_ArrayForEach(e, exp) {
		const cJSON *c = find_case(cases, th_str(e, "reference"));
		cr_assert(c, "no case for %s", th_str(e, "reference"));
		cr_expect_str_eq(th_str(c, "state"), th_str(e, "state_after_ingest"), "%s",
				 th_str(e, "reference"));
		cr_expect_str_eq(th_str(c, "process"), "offer");
		validated += !strcmp(th_str(e, "state_after_ingest"), "validated");
	}
	cJSON_Delete(cases);

	/* one PDF per offer validated at ingest */
	cJSON *docs = th_json(&h, 0, "document list");
	cr_expect_eq(cJSON_GetArraySize(docs), validated);
	cJSON_Delete(docs);

	/* each broken fixture is quarantined at its stage, with a reason */
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_assert_eq(cJSON_GetArraySize(q), 24);
	FILE *f = fopen("fixtures/expected/offers-quarantine.tsv", "r");
	cr_assert(f);
	char line[512];
	int checked = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		char file[256], stage[64];
		cr_assert_eq(sscanf(line, "%255s %63s", file, stage), 2);
		const cJSON *it, *hit = NULL;
		cJSON_ArrayForEach(it, q) {
			const char *origin = th_str(it, "origin");
			size_t lo = strlen(origin), lf = strlen(file);
			if (lo >= lf && !strcmp(origin + lo - lf, file))
				hit = it;
		}
		cr_assert(hit, "%s is not in quarantine", file);
		cr_expect_str_eq(th_str(hit, "stage"), stage, "%s: %s", file, th_str(hit, "reason"));
		cr_expect(strlen(th_str(hit, "reason")) > 5);
		cr_expect(!strchr(th_str(hit, "reason"), '\n'), "reason of %s is one line", file);
		checked++;
	}
	fclose(f);
	cr_expect_eq(checked, 24);
	cJSON_Delete(q);

	/* again: all duplicates, nothing new anywhere, exit 0 */
	sum = th_json(&h, 0, "--now 2026-11-25T09:00:00Z ingest fixtures/offers/");
	cr_expect_eq(th_num(sum, "read"), 52);
	cr_expect_eq(th_num(sum, "duplicates"), 52);
	cr_expect_eq(th_num(sum, "new"), 0);
	cr_expect_eq(th_num(sum, "records"), 0);
	cr_expect_eq(th_num(sum, "transitions"), 0);
	cr_expect_eq(th_num(sum, "documents"), 0);
	cr_expect_eq(th_num(sum, "quarantined"), 0);
	cJSON_Delete(sum);
	q = th_json(&h, 0, "quarantine list");
	cr_expect_eq(cJSON_GetArraySize(q), 24);
	cJSON_Delete(q);
	cJSON *c42 = th_json(&h, 0, "case show DEV-2026-0042");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c42, "history")), 2);
	cJSON_Delete(c42);
	cJSON_Delete(exp);
	th_home_fini(&h);
}

Test(offers, approval_timer_and_documents)
{
	th_home h;
	th_home_init(&h);
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest fixtures/offers/");
	cJSON_Delete(sum);

	cJSON *c = th_json(&h, 0, "case show DEV-2026-0042");
	cr_expect_str_eq(th_str(c, "state"), "pending_approval");
	cr_expect_str_eq(th_str(c, "key"), "DEV-2026-0042");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "data"), "customer"),
				"name"), "Hélène Dupré");
	const cJSON *hist = cJSON_GetObjectItem(c, "history");
	cr_assert_eq(cJSON_GetArraySize(hist), 2);
	const cJSON *h0 = cJSON_GetArrayItem(hist, 0), *h1 = cJSON_GetArrayItem(hist, 1);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(h0, "from")));
	cr_expect_str_eq(th_str(h0, "to"), "draft");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(h0, "cause"), "type"), "record");
	cr_expect_str_eq(th_str(h1, "from"), "draft");
	cr_expect_str_eq(th_str(h1, "to"), "pending_approval");
	cr_expect_str_eq(th_str(h1, "at"), "2026-11-24T09:00:00Z");
	cJSON_Delete(c);

	/* sales may not approve, nor change the discount, while it waits */
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "case event DEV-2026-0042 approve --role sales"), 4);
	cr_expect(strstr(err, "pending_approval") && strstr(err, "sales"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, &err, "case set DEV-2026-0042 discount_pct=10 --role sales"), 4);
	cr_expect(strstr(err, "pending_approval") && strstr(err, "discount_pct"), "%s", err);
	free(err);
	/* an event the state does not have is refused too */
	cr_expect_eq(th_run(&h, NULL, NULL, "case event DEV-2026-0042 send --role sales"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "case show DEV-2099-0001"), 5);

	/* a manager approves DEV-2026-0005: validated now, with its PDF */
	c = th_json(&h, 0, "--now 2026-11-25T10:00:00Z case event DEV-2026-0005 approve --role manager --actor claire");
	cr_expect_str_eq(th_str(c, "state"), "validated");
	cr_expect_eq(th_num(c, "documents"), 1);
	cJSON_Delete(c);

	/* before 5 days nothing fires; after, every remaining wait ends */
	c = th_json(&h, 0, "--now 2026-11-28T09:00:00Z tick");
	cr_expect_eq(th_num(c, "fired"), 0);
	cJSON_Delete(c);
	c = th_json(&h, 0, "--now 2026-12-01T09:00:00Z tick");
	cr_expect_eq(th_num(c, "fired"), 11);
	cr_expect_eq(th_num(c, "transitions"), 11);
	cr_expect_eq(th_num(c, "documents"), 11);
	cr_expect_eq(th_num(c, "obsolete"), 1); /* DEV-2026-0005 was approved meanwhile */
	cJSON_Delete(c);
	c = th_json(&h, 0, "--now 2026-12-02T09:00:00Z tick");
	cr_expect_eq(th_num(c, "fired"), 0);
	cJSON_Delete(c);

	c = th_json(&h, 0, "case show DEV-2026-0042");
	cr_expect_str_eq(th_str(c, "state"), "validated");
	hist = cJSON_GetObjectItem(c, "history");
	const cJSON *last = cJSON_GetArrayItem(hist, cJSON_GetArraySize(hist) - 1);
	cr_expect_str_eq(th_str(last, "from"), "pending_approval");
	cr_expect_str_eq(th_str(last, "to"), "validated");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(last, "cause"), "type"), "timer");
	cr_expect_eq(th_num(c, "version"), 3);
	cJSON_Delete(c);

	/* 28 PDFs; each file matches its stored SHA-256; text is right */
	cJSON *docs = th_json(&h, 0, "document list");
	cr_assert_eq(cJSON_GetArraySize(docs), 28);
	cJSON *exp = expected_offers();
	const cJSON *d;
	cJSON_ArrayForEach(d, docs) {
		char sha[65];
		sha256_file(th_str(d, "path"), sha);
		cr_expect_str_eq(sha, th_str(d, "sha256"));
		cr_expect_str_eq(th_str(d, "template"), "offer");
		const cJSON *e, *want = NULL;
		cJSON_ArrayForEach(e, exp)
			if (!strcmp(th_str(e, "reference"), th_str(d, "case")))
				want = e;
		cr_assert(want, "document for an unknown case %s", th_str(d, "case"));
		char *text = pdf_text(th_str(d, "path"));
		ds_dec total;
		const char *t = th_str(want, "total_ttc");
		cr_assert_eq(ds_dec_parse(t, strlen(t), &total), 0);
		char fr[64], needle[80];
		ds_dec_format_fr(total, 2, " ", fr, sizeof fr);
		snprintf(needle, sizeof needle, "%s €", fr);
		cr_expect(strstr(text, th_str(want, "customer_name")), "%s lacks %s",
			  th_str(d, "path"), th_str(want, "customer_name"));
		cr_expect(strstr(text, needle), "%s lacks the total %s", th_str(d, "path"), needle);
		cr_expect(strstr(text, th_str(d, "case")));
		free(text);
	}
	cJSON_Delete(exp);
	cJSON_Delete(docs);

	/* a later tick or re-ingest produces nothing more */
	sum = th_json(&h, 0, "--now 2026-12-03T09:00:00Z ingest fixtures/offers/");
	cr_expect_eq(th_num(sum, "documents"), 0);
	cJSON_Delete(sum);
	docs = th_json(&h, 0, "document list");
	cr_expect_eq(cJSON_GetArraySize(docs), 28);
	cJSON_Delete(docs);
	th_home_fini(&h);
}

Test(offers, check_reports_broken_schema)
{
	th_home h;
	th_home_init(&h);
	cJSON *ok = th_json(&h, 0, "check");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ok, "errors")), 0);
	cJSON_Delete(ok);
	/* a home whose process names an unknown state and an unknown template */
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd,
		 "rm '%s/schemas' && mkdir -p '%s/schemas' && cp -r '%s/schemas/records' "
		 "'%s/schemas/sources' '%s/schemas/documents' '%s/schemas/processes' '%s/schemas/'",
		 h.dir, h.dir, h.repo, h.repo, h.repo, h.repo, h.dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof cmd,
		 "sed -i 's/\"to\": \"sent\"}/\"to\": \"envoye\"}/; s/\"output\": \"offer\"/\"output\": \"devis\"/' "
		 "'%s/schemas/processes/offer.json'", h.dir);
	cr_assert_eq(system(cmd), 0);
	cJSON *bad = th_json(&h, 2, "check");
	const cJSON *errs = cJSON_GetObjectItem(bad, "errors");
	cr_assert(cJSON_GetArraySize(errs) >= 2);
	bool state = false, tpl = false;
	const cJSON *e;
	cJSON_ArrayForEach(e, errs) {
		cr_expect(strstr(th_str(e, "file"), "schemas/processes/offer.json"));
		if (strstr(th_str(e, "message"), "envoye") &&
		    !strcmp(th_str(e, "path"), "/states/validated/on/0/to"))
			state = true;
		if (strstr(th_str(e, "message"), "devis") &&
		    !strcmp(th_str(e, "path"), "/states/validated/output"))
			tpl = true;
	}
	cr_expect(state, "the unknown state is reported with its JSON path");
	cr_expect(tpl, "the unknown template is reported with its JSON path");
	cJSON_Delete(bad);
	/* the other commands refuse to run on a broken configuration */
	cr_expect_eq(th_run(&h, NULL, NULL, "case list"), 2);
	th_home_fini(&h);
}

Test(offers, inputs_without_a_source_go_to_the_source_that_accepts_them)
{
	th_home h;
	th_home_init(&h);
	/* offers and orders are both JSON: each goes to the source whose rules
	 * accept it, and the order's bad SIRET is refused by its schema */
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest fixtures/orders "
			     "fixtures/offers/DEV-2026-0001.json");
	cr_expect_eq(th_num(sum, "records"), 3);
	cr_expect_eq(th_num(sum, "quarantined"), 1);
	cJSON_Delete(sum);
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_assert_eq(cJSON_GetArraySize(q), 1);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(q, 0), "source"), "api-orders");
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 0), "reason"), "/customer/siret"));
	cJSON_Delete(q);
	/* JSON that no source accepts is unmapped */
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/other.json", h.dir);
	FILE *f = fopen(path, "w");
	fputs("{\"facture\": \"FAC-1\"}", f);
	fclose(f);
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "ingest '%s'", path), 3);
	cr_expect(strstr(err, "unmapped"), "%s", err);
	free(err);
	th_home_fini(&h);
}

Test(offers, quarantine_replay_after_the_configuration_is_fixed)
{
	th_home h;
	th_home_init(&h);
	/* a home with its own copy of schemas/, to change it */
	char cmd[PATH_MAX * 2 + 64];
	snprintf(cmd, sizeof cmd, "rm '%s/schemas' && cp -r '%s/schemas' '%s/schemas'", h.dir, h.repo,
		 h.dir);
	cr_assert_eq(system(cmd), 0);
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest "
			     "fixtures/offers/broken-discount-over-100.json fixtures/offers/broken-malformed.json "
			     "fixtures/offers/broken-empty.json");
	cr_expect_eq(th_num(sum, "quarantined"), 3);
	cJSON_Delete(sum);
	/* the business now allows discounts up to 150 %: one entry passes */
	snprintf(cmd, sizeof cmd, "sed -i 's/\"maximum\": 100$/\"maximum\": 150/' "
		 "'%s/schemas/records/offer.schema.json'", h.dir);
	cr_assert_eq(system(cmd), 0);
	cJSON *r = th_json(&h, 3, "--now 2026-11-25T09:00:00Z quarantine replay --all");
	cr_expect_eq(th_num(r, "passed"), 1);
	cr_expect_eq(th_num(r, "quarantined"), 2);
	cr_expect_eq(th_num(r, "records"), 1);
	cJSON_Delete(r);
	cJSON *c = th_json(&h, 0, "case show DEV-2026-0909");
	cr_expect_str_eq(th_str(c, "state"), "pending_approval");
	cJSON_Delete(c);
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_assert_eq(cJSON_GetArraySize(q), 2);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(q, 0), "stage"), "read");
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(q, 1), "stage"), "read");
	cJSON_Delete(q);
	/* the replayed input stays one interaction: ingesting it again is a
	 * duplicate */
	sum = th_json(&h, 0, "ingest fixtures/offers/broken-discount-over-100.json");
	cr_expect_eq(th_num(sum, "duplicates"), 1);
	cr_expect_eq(th_num(sum, "records"), 0);
	cJSON_Delete(sum);
	th_home_fini(&h);
}
