/*
 * test_serve.c - `dossier serve` end to end: the server runs as a child
 * process on a free port of 127.0.0.1 in a fresh home, and the tests speak
 * HTTP to it. Every route and status of SPEC section 4, idempotency, the
 * Standard Webhooks vectors of the shared corpus against signed sources
 * (tests/golden/serve/schemas/sources/), limits and back-pressure, timers
 * fired by the server, a kill -9 under load that loses no acknowledged
 * input, and SIGTERM.
 */
#include <pthread.h>
#include <sqlite3.h>

#include "serve.h"
#include "webhook.h"

#define SW "../shared/corpus/webhooks/standard-webhooks-vectors.visible.json"
#define OFFERS "fixtures/offers/"

static const char *const JSON = "Content-Type: application/json\r\n";

static int post_json(int port, const char *path, const char *extra, const char *body,
		     ts_resp *r)
{
	char headers[2048];
	snprintf(headers, sizeof headers, "%s%s", JSON, extra ? extra : "");
	cr_assert_eq(ts_request(port, "POST", path, headers, body, strlen(body), r), 0,
		     "no answer to POST %s", path);
	return r->status;
}

static int get(int port, const char *path, const char *token, ts_resp *r)
{
	char headers[512] = "";
	if (token)
		snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n", token);
	cr_assert_eq(ts_request(port, "GET", path, headers, NULL, 0, r), 0, "no answer to GET %s",
		     path);
	return r->status;
}

static int with_token(int port, const char *method, const char *path, const char *token,
		      const char *body, ts_resp *r)
{
	char headers[512];
	snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n%s", token,
		 body ? "Content-Type: application/json\r\n" : "");
	cr_assert_eq(ts_request(port, method, path, headers, body, body ? strlen(body) : 0, r), 0);
	return r->status;
}

static double num(const cJSON *o, const char *k) { return th_num(o, k); }

static const char *error_code(const ts_resp *r, char *buf, size_t cap)
{
	cJSON *doc = ts_json(r);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	snprintf(buf, cap, "%s", cJSON_IsObject(e) ? th_str(e, "code") : "");
	cJSON_Delete(doc);
	return buf;
}

/* A fresh home whose dossier.json gives a token for each role tested,
 * and its server started with the global options global. */
static void start_with_tokens(th_home *h, ts_server *s, const char *global)
{
	th_home_init(h);
	ts_tokens(h, "");
	ts_start(h, s, global);
}

/* SIGTERM: the server must exit 0; then the home goes. */
static void finish(th_home *h, ts_server *s)
{
	cr_assert_eq(ts_stop(s, SIGTERM), 0);
	th_home_fini(h);
}

/* ---- ingest ---- */

Test(serve, ingest_answers_after_commit_with_ids_and_repeats_as_duplicates)
{
	th_home h;
	th_home_init(&h);
	ts_server s;
	ts_start(&h, &s, "--now 2026-11-24T09:00:00Z");
	ts_resp r;
	char code[64];

	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0001.json",
				  "application/json", NULL, &r), 202, "%s", r.body);
	cJSON *a = ts_json(&r);
	double interaction = num(a, "interaction");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a, "records")), 1);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a, "cases")), 1);
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "duplicate")));
	ts_resp_free(&r);

	/* The same body again: nothing new, the original ids. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0001.json",
				  "application/json", NULL, &r), 200);
	cJSON *b = ts_json(&r);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(b, "duplicate")));
	cr_assert_eq(num(b, "interaction"), interaction);
	cr_assert(cJSON_Compare(cJSON_GetObjectItem(a, "records"), cJSON_GetObjectItem(b, "records"),
				true));
	cr_assert(cJSON_Compare(cJSON_GetObjectItem(a, "cases"), cJSON_GetObjectItem(b, "cases"),
				true));
	cJSON_Delete(b);
	ts_resp_free(&r);

	/* The same Idempotency-Key with another body: the first answer's ids. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0002.json",
				  "application/json", "Idempotency-Key: k-1\r\n", &r), 202);
	cJSON *c = ts_json(&r);
	ts_resp_free(&r);
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0004.json",
				  "application/json", "Idempotency-Key: k-1\r\n", &r), 200);
	cJSON *d = ts_json(&r);
	cr_assert_eq(num(d, "interaction"), num(c, "interaction"));
	cJSON_Delete(c);
	cJSON_Delete(d);
	ts_resp_free(&r);
	/* ... and a webhook-id likewise. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0005.json",
				  "application/json", "webhook-id: msg_1\r\n", &r), 202);
	ts_resp_free(&r);
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0006.json",
				  "application/json", "webhook-id: msg_1\r\n", &r), 200);
	ts_resp_free(&r);

	/* Invalid: 400, quarantined, the field named; a repeat answers the same. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers",
				  OFFERS "broken-quantity-zero.json", "application/json", NULL, &r),
		     400);
	cJSON *e = ts_json(&r);
	cJSON *err = cJSON_GetObjectItem(e, "error");
	cr_assert_str_eq(th_str(err, "code"), "invalid");
	cr_assert_str_eq(th_str(err, "field"), "/lines/0/quantity");
	cr_assert_str_eq(th_str(e, "stage"), "validate");
	double q = num(e, "quarantine");
	cr_assert_gt(q, 0);
	cJSON_Delete(e);
	ts_resp_free(&r);
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers",
				  OFFERS "broken-quantity-zero.json", "application/json", NULL, &r),
		     400);
	e = ts_json(&r);
	cr_assert_eq(num(e, "quarantine"), q);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "duplicate")));
	cJSON_Delete(e);
	ts_resp_free(&r);
	/* Not JSON at all: refused by the read stage, quarantined too. */
	cr_assert_eq(post_json(s.port, "/v1/ingest/api-offers", NULL, "{\"reference\": ", &r), 400);
	e = ts_json(&r);
	cr_assert_str_eq(th_str(e, "stage"), "read");
	cJSON_Delete(e);
	ts_resp_free(&r);

	/* Routes and types. */
	cr_assert_eq(post_json(s.port, "/v1/ingest/no-such-source", NULL, "{}", &r), 404);
	cr_assert_str_eq(error_code(&r, code, sizeof code), "unknown_source");
	ts_resp_free(&r);
	cr_assert_eq(ts_request(s.port, "POST", "/v1/ingest/api-offers",
				"Content-Type: text/plain\r\n", "x", 1, &r), 0);
	cr_assert_eq(r.status, 415);
	cr_assert_str_eq(error_code(&r, code, sizeof code), "unsupported_type");
	ts_resp_free(&r);
	cr_assert_eq(ts_request(s.port, "POST", "/v1/ingest/web-contact", JSON, "{}", 2, &r), 0);
	cr_assert_eq(r.status, 415, "a form source takes no JSON");
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/ingest/api-offers", NULL, &r), 405);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/nothing", NULL, &r), 404);
	ts_resp_free(&r);

	cJSON_Delete(a);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	/* What was acknowledged is in the store. */
	cJSON *list = th_json(&h, 0, "case list --process offer");
	cr_assert_eq(cJSON_GetArraySize(list), 3);
	cJSON_Delete(list);
	th_home_fini(&h);
}

/* A multipart .mime fixture posted as a browser would: its Content-Type
 * line as the header, the rest as the body. */
static __attribute__((noinline)) char *slurp(const char *file, size_t *len)
{
	return th_slurp(file, len);
}

static int post_mime(int port, const char *path, const char *file, ts_resp *r)
{
	size_t len;
	char *text = slurp(file, &len);
	char *eol = strstr(text, "\r\n");
	cr_assert(eol && !strncmp(eol, "\r\n\r\n", 4));
	*eol = '\0';
	char headers[1024];
	snprintf(headers, sizeof headers, "%s\r\n", text);
	const char *body = eol + 4;
	int rc = ts_request(port, "POST", path, headers, body, len - (size_t)(body - text), r);
	free(text);
	cr_assert_eq(rc, 0);
	return r->status;
}

Test(serve, every_channel_posts_through_its_parser)
{
	th_home h;
	ts_server s;
	start_with_tokens(&h, &s, "--now 2026-11-24T09:00:00Z");
	ts_resp r;
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/web-contact",
				  "fixtures/forms/contact-helene-dupre.form",
				  "application/x-www-form-urlencoded", NULL, &r), 202, "%s", r.body);
	ts_resp_free(&r);
	cr_assert_eq(post_mime(s.port, "/v1/ingest/web-contact",
			       "fixtures/forms/contact-carre-with-file.mime", &r), 202, "%s", r.body);
	cJSON *a = ts_json(&r);
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(a, "cases"), 0);
	cr_assert(cJSON_IsNumber(first));
	double case_id = first->valuedouble;
	cJSON_Delete(a);
	ts_resp_free(&r);
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/complaints-inbox",
				  "fixtures/email/complaint-invoice-iso8859.eml", "message/rfc822", NULL,
				  &r), 202, "%s", r.body);
	ts_resp_free(&r);
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/erp-orders", "fixtures/xml/CMD-2026-0101.xml",
				  "application/xml", NULL, &r), 202, "%s", r.body);
	ts_resp_free(&r);
	/* The uploaded file is listed with the lead. */
	char path[64];
	snprintf(path, sizeof path, "/v1/cases/%.0f", case_id);
	cr_assert_eq(get(s.port, path, "sales-token-4a1f", &r), 200);
	cJSON *lead = ts_json(&r);
	cr_assert_str_eq(th_str(lead, "process"), "lead");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(lead, "attachments")), 1);
	cJSON_Delete(lead);
	ts_resp_free(&r);
	finish(&h, &s);
}

/* ---- cases, documents, profiles, segments ---- */

Test(serve, case_routes_follow_the_engine_rights)
{
	th_home h;
	ts_server s;
	start_with_tokens(&h, &s, "--now 2026-11-24T09:00:00Z");
	ts_resp r;
	char code[64];
	/* DEV-2026-0003 has a discount over 20 %: it waits for a manager. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0003.json",
				  "application/json", NULL, &r), 202);
	ts_resp_free(&r);
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0001.json",
				  "application/json", NULL, &r), 202);
	ts_resp_free(&r);

	cr_assert_eq(get(s.port, "/v1/cases/DEV-2026-0003", NULL, &r), 401);
	cr_assert_str_eq(error_code(&r, code, sizeof code), "unauthorized");
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/cases/DEV-2026-0003", "not-a-token", &r), 401);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/cases/DEV-2026-0003", "sales-token-4a1f", &r), 200);
	cJSON *c = ts_json(&r);
	cr_assert_str_eq(th_str(c, "state"), "pending_approval");
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(c, "data")));
	cr_assert_gt(cJSON_GetArraySize(cJSON_GetObjectItem(c, "history")), 0);
	double profile = num(c, "profile");
	cJSON_Delete(c);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/cases/DEV-2099-9999", "sales-token-4a1f", &r), 404);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/cases?process=offer&state=pending_approval",
			 "sales-token-4a1f", &r), 200);
	c = ts_json(&r);
	cr_assert_eq(cJSON_GetArraySize(c), 1);
	cr_assert_str_eq(th_str(cJSON_GetArrayItem(c, 0), "key"), "DEV-2026-0003");
	cJSON_Delete(c);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/cases?process=nope", "sales-token-4a1f", &r), 400);
	ts_resp_free(&r);

	/* Events: the wrong role 403, the wrong state 409, then the right one. */
	cr_assert_eq(with_token(s.port, "POST", "/v1/cases/DEV-2026-0003/events/approve",
				"sales-token-4a1f", NULL, &r), 403, "%s", r.body);
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "POST", "/v1/cases/DEV-2026-0003/events/approve",
				"manager-token-9c2e", NULL, &r), 200, "%s", r.body);
	c = ts_json(&r);
	cr_assert_str_eq(th_str(c, "state"), "validated");
	cr_assert_eq(num(c, "documents"), 1);
	cJSON_Delete(c);
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "POST", "/v1/cases/DEV-2026-0003/events/approve",
				"manager-token-9c2e", NULL, &r), 409);
	cr_assert_str_eq(error_code(&r, code, sizeof code), "not_allowed");
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "POST", "/v1/cases/DEV-2099-9999/events/approve",
				"manager-token-9c2e", NULL, &r), 404);
	ts_resp_free(&r);

	/* Edits: a field the role never edits 403, a state that locks it 409. */
	cr_assert_eq(with_token(s.port, "PATCH", "/v1/cases/DEV-2026-0003", "technical-token-1b3c",
				"{\"discount_pct\": 5}", &r), 403, "%s", r.body);
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "PATCH", "/v1/cases/DEV-2026-0003", "sales-token-4a1f",
				"{\"discount_pct\": 5}", &r), 409, "%s", r.body);
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "PATCH", "/v1/cases/DEV-2026-0003", "sales-token-4a1f",
				"[1]", &r), 400);
	ts_resp_free(&r);
	/* A manager lowers the discount of an offer waiting for approval: the
	 * guard validates it and the offer PDF is printed. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0009.json",
				  "application/json", NULL, &r), 202);
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "PATCH", "/v1/cases/DEV-2026-0009", "manager-token-9c2e",
				"{\"discount_pct\": \"beaucoup\"}", &r), 400, "%s", r.body);
	ts_resp_free(&r);
	cr_assert_eq(with_token(s.port, "PATCH", "/v1/cases/DEV-2026-0009", "manager-token-9c2e",
				"{\"discount_pct\": 15}", &r), 200, "%s", r.body);
	c = ts_json(&r);
	cr_assert_str_eq(th_str(c, "state"), "validated");
	cr_assert_eq(num(c, "documents"), 1);
	cJSON_Delete(c);
	ts_resp_free(&r);

	/* Documents as PDF. */
	cr_assert_eq(get(s.port, "/v1/cases/DEV-2026-0003/documents", "sales-token-4a1f", &r), 200);
	c = ts_json(&r);
	cr_assert_eq(cJSON_GetArraySize(c), 1);
	const char *url = th_str(cJSON_GetArrayItem(c, 0), "url");
	ts_resp pdf;
	cr_assert_eq(get(s.port, url, "sales-token-4a1f", &pdf), 200);
	char type[128];
	cr_assert_str_eq(ts_header(&pdf, "Content-Type", type, sizeof type), "application/pdf");
	cr_assert(pdf.len > 1000 && !memcmp(pdf.body, "%PDF-", 5));
	ts_resp_free(&pdf);
	cJSON_Delete(c);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/documents/999", "sales-token-4a1f", &r), 404);
	ts_resp_free(&r);

	/* Profiles: marketing, sales, admin only. */
	char ppath[64];
	snprintf(ppath, sizeof ppath, "/v1/profiles/%.0f", profile);
	cr_assert_eq(get(s.port, ppath, "marketing-token-77d0", &r), 200);
	c = ts_json(&r);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "emails")), 1);
	cr_assert_gt(cJSON_GetArraySize(cJSON_GetObjectItem(c, "timeline")), 0);
	cJSON_Delete(c);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, ppath, "manager-token-9c2e", &r), 403);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/profiles/9999", "sales-token-4a1f", &r), 404);
	ts_resp_free(&r);
	/* Segments: marketing only (test_serve_segments.c streams them). */
	cr_assert_eq(get(s.port, "/v1/segments/no-order-12-months", "marketing-token-77d0", &r), 200);
	cr_assert_str_eq(ts_header(&r, "Content-Type", code, sizeof code), "application/x-ndjson");
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/segments/newsletter", "marketing-token-77d0", &r), 404);
	cr_assert_str_eq(error_code(&r, code, sizeof code), "not_found");
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/v1/segments/newsletter", "sales-token-4a1f", &r), 403);
	ts_resp_free(&r);

	/* Health and metrics need no token. */
	cr_assert_eq(get(s.port, "/healthz", NULL, &r), 200);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/metrics", NULL, &r), 200);
	cr_assert(strstr(r.body, "dossier_http_requests_total{route=\"POST /v1/cases/{id}/events/"
			 "{event}\",status=\"403\"} 1"), "%s", r.body);
	cr_assert(strstr(r.body, "dossier_inputs_total{source=\"api-offers\",outcome=\"accepted\"} 3"));
	cr_assert(strstr(r.body, "dossier_commit_batch_size_count "));
	cr_assert(strstr(r.body, "dossier_timers_pending "));
	cr_assert(strstr(r.body, "dossier_http_request_duration_seconds_bucket"));
	ts_resp_free(&r);

	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	/* The log: one JSON line per request, never a token. */
	size_t len;
	char *log = th_slurp(s.err, &len);
	cr_assert(strstr(log, "\"route\":\"GET /v1/cases/{id}\""));
	cr_assert_null(strstr(log, "sales-token-4a1f"));
	cr_assert_null(strstr(log, "manager-token-9c2e"));
	cr_assert_null(strstr(log, "example.fr"), "no personal data in the log");
	for (char *line = log; *line; line = strchr(line, '\n') + 1) {
		char *nl = strchr(line, '\n');
		cr_assert(nl);
		*nl = '\0';
		cJSON *l = cJSON_Parse(line);
		cr_assert(l, "not a JSON line: %s", line);
		cJSON_Delete(l);
		*nl = '\n';
	}
	free(log);
	th_home_fini(&h);
}

/* ---- signatures ---- */

/* The signed source whose secret is this vector's (whsec_ or not). */
static const char *signed_source(const char *secret)
{
	if (!strncmp(secret, "whsec_", 6))
		secret += 6;
	if (!strcmp(secret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
		return "partner-a";
	if (!strcmp(secret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"))
		return "partner-b";
	if (!strcmp(secret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr"))
		return "partner-c";
	return NULL;
}

static void partner_secrets(void)
{
	setenv("DOSSIER_TEST_SECRET_A", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
	setenv("DOSSIER_TEST_SECRET_B", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", 1);
	setenv("DOSSIER_TEST_SECRET_C", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr", 1);
}

Test(serve, standard_webhooks_vectors_against_signed_sources)
{
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, "tests/golden/serve");
	partner_secrets();
	size_t len;
	char *text = th_slurp(SW, &len);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	cr_assert(doc);
	/* The vectors' "now" (1614265330) is the server's. */
	ts_server s;
	ts_start(&h, &s, "--now 2021-02-25T15:02:10Z");
	const cJSON *v;
	int checked = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "verify")) {
		/* The server always enforces the tolerance: a vector that does
		 * not is only checked when it must fail anyway. */
		bool valid = !strcmp(th_str(v, "expected"), "valid");
		if (!cJSON_IsTrue(cJSON_GetObjectItem(v, "enforce_timestamp")) && valid)
			continue;
		cr_assert_eq(num(v, "now"), 1614265330);
		const char *source = signed_source(th_str(v, "secret"));
		cr_assert(source, "no signed source for %s", th_str(v, "id"));
		char headers[2048] = "", path[64];
		const cJSON *hd;
		cJSON_ArrayForEach(hd, cJSON_GetObjectItem(v, "headers")) {
			size_t n = strlen(headers);
			snprintf(headers + n, sizeof headers - n, "%s: %s\r\n", hd->string,
				 hd->valuestring);
		}
		snprintf(path, sizeof path, "/v1/ingest/%s", source);
		ts_resp r;
		post_json(s.port, path, headers, th_str(v, "payload"), &r);
		/* A valid signature lets the payload in: it has no reference, so
		 * it is quarantined (400), but never refused as unsigned. */
		if (valid)
			cr_expect_eq(r.status, 400, "%s: %d %s", th_str(v, "id"), r.status, r.body);
		else
			cr_expect_eq(r.status, 401, "%s: %d %s", th_str(v, "id"), r.status, r.body);
		ts_resp_free(&r);
		checked++;
	}
	cr_assert_geq(checked, 15);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	cJSON_Delete(doc);
	th_home_fini(&h);
}

/* Signs body for partner-a at time ts with secret (whsec_...). */
static void sign(const char *secret, const char *id, const char *ts, const char *body,
		 char *headers, size_t cap)
{
	unsigned char key[DS_WEBHOOK_KEY_MAX];
	size_t kl;
	char sig[80];
	cr_assert_eq(ds_webhook_key(secret, key, &kl, NULL), 0);
	cr_assert_eq(ds_webhook_sign(key, kl, id, ts, body, strlen(body), sig, sizeof sig, NULL), 0);
	snprintf(headers, cap, "webhook-id: %s\r\nwebhook-timestamp: %s\r\nwebhook-signature: %s\r\n",
		 id, ts, sig);
}

Test(serve, signed_offers_are_taken_once_and_forgeries_refused)
{
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, "tests/golden/serve");
	partner_secrets();
	ts_server s;
	/* 2026-11-24T09:00:00Z */
	ts_start(&h, &s, "--now 2026-11-24T09:00:00Z");
	const char *now = "1795510800";
	size_t len;
	char *offer = th_slurp(OFFERS "DEV-2026-0001.json", &len);
	char headers[1024];
	ts_resp r;
	sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_a1", now, offer, headers, sizeof headers);
	cr_assert_eq(post_json(s.port, "/v1/ingest/partner-a", headers, offer, &r), 202, "%s", r.body);
	ts_resp_free(&r);
	/* The sender retries: same webhook-id, a duplicate. */
	cr_assert_eq(post_json(s.port, "/v1/ingest/partner-a", headers, offer, &r), 200);
	ts_resp_free(&r);
	/* A tampered body. */
	offer[len - 3] = offer[len - 3] == ' ' ? '\t' : ' ';
	cr_assert_eq(post_json(s.port, "/v1/ingest/partner-a", headers, offer, &r), 401);
	cr_assert(strstr(r.body, "bad_signature"));
	ts_resp_free(&r);
	/* A wrong secret. */
	sign("whsec_c2VjcmV0LW9mLWFub3RoZXItcGFydG5lcg==", "msg_a2", now, offer, headers,
	     sizeof headers);
	cr_assert_eq(post_json(s.port, "/v1/ingest/partner-a", headers, offer, &r), 401);
	ts_resp_free(&r);
	/* A stale timestamp, correctly signed: 6 minutes old. */
	sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_a3", "1795510440", offer, headers,
	     sizeof headers);
	cr_assert_eq(post_json(s.port, "/v1/ingest/partner-a", headers, offer, &r), 401);
	cr_assert(strstr(r.body, "tolerance"), "%s", r.body);
	ts_resp_free(&r);
	/* No signature at all. */
	cr_assert_eq(post_json(s.port, "/v1/ingest/partner-a", NULL, offer, &r), 401);
	ts_resp_free(&r);
	free(offer);
	finish(&h, &s);
}

Test(serve, an_unset_secret_or_token_variable_stops_the_start)
{
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, "tests/golden/serve");
	unsetenv("DOSSIER_TEST_SECRET_A");
	char *out = NULL, *err = NULL;
	cr_assert_eq(th_run(&h, &out, &err, "serve --listen 127.0.0.1:0"), 2);
	cr_assert(strstr(err, "DOSSIER_TEST_SECRET_A"), "%s", err);
	free(out);
	free(err);
	th_home_fini(&h);
}

/* ---- limits and back-pressure ---- */

/* POSTs len bytes of body to api-offers in chunks of 1000, without a
 * Content-Length; the status (0 when the connection closed first). */
static int post_chunked(int port, const char *body, size_t len, ts_resp *r)
{
	memset(r, 0, sizeof *r);
	int fd = ts_connect(port);
	cr_assert(fd >= 0);
	static const char head[] = "POST /v1/ingest/api-offers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Connection: close\r\nContent-Type: application/json\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	bool sent = send(fd, head, sizeof head - 1, MSG_NOSIGNAL) == (ssize_t)sizeof head - 1;
	for (size_t off = 0; sent && off < len; off += 1000) {
		char size[16];
		size_t n = len - off < 1000 ? len - off : 1000;
		int sn = snprintf(size, sizeof size, "%zx\r\n", n);
		sent = send(fd, size, (size_t)sn, MSG_NOSIGNAL) == sn &&
		       send(fd, body + off, n, MSG_NOSIGNAL) == (ssize_t)n &&
		       send(fd, "\r\n", 2, MSG_NOSIGNAL) == 2;
	}
	if (sent)
		send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
	char answer[4096];
	ssize_t got = 0, k;
	while (got < (ssize_t)sizeof answer - 1 &&
	       (k = recv(fd, answer + got, sizeof answer - 1 - (size_t)got, 0)) > 0)
		got += k;
	close(fd);
	answer[got > 0 ? got : 0] = '\0';
	char *end = strstr(answer, "\r\n\r\n");
	if (!end || sscanf(answer, "HTTP/1.1 %d", &r->status) != 1)
		return 0;
	*end = '\0';
	r->head = strdup(answer);
	r->body = strdup(end + 4);
	r->len = strlen(r->body);
	return r->status;
}

/* GET /healthz with a head of exactly size bytes (the request line, the
 * headers ts_request adds, a filler, the blank line): the status must be
 * want, with the JSON error code (NULL: no JSON error expected). */
static void expect_head_of(int port, size_t size, int want, const char *code)
{
	static const char fixed[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				    "Connection: close\r\nX-Filler: \r\nContent-Length: 0\r\n\r\n";
	size_t pad = size - (sizeof fixed - 1);
	char *filler = malloc(pad + 16);
	memcpy(filler, "X-Filler: ", 10);
	memset(filler + 10, 'a', pad);
	strcpy(filler + 10 + pad, "\r\n");
	ts_resp r;
	char got[64];
	cr_assert_eq(ts_request(port, "GET", "/healthz", filler, NULL, 0, &r), 0);
	cr_assert_eq(r.status, want, "a head of %zu bytes: %d", size, r.status);
	if (code)
		cr_assert_str_eq(error_code(&r, got, sizeof got), code);
	else if (want != 200)
		cr_assert(strstr(r.body, "<html>"), "libmicrohttpd's own page: %s", r.body);
	ts_resp_free(&r);
	free(filler);
}

Test(serve, limits_answer_413_414_429_431_and_503)
{
	th_home h;
	th_home_init(&h);
	ts_write(&h, "dossier.json",
		 "{\"serve\": {\"max_body_bytes\": 2048, \"queue_max\": 1,"
		 " \"rate\": {\"web-contact\": {\"per_minute\": 1, \"burst\": 2}}}}\n");
	ts_server s;
	ts_start(&h, &s, "");
	ts_resp r;
	char ra[32];
	/* 413: a body over max_body_bytes. */
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0001.json",
				  "application/json", NULL, &r), 202);
	ts_resp_free(&r);
	char *big = malloc(5000);
	memset(big, ' ', 4999);
	big[0] = '{';
	big[4998] = '}';
	big[4999] = '\0';
	cr_assert_eq(post_json(s.port, "/v1/ingest/api-offers", NULL, big, &r), 413);
	ts_resp_free(&r);
	/* ... and one sent in chunks, whose size no header announces: read
	 * and dropped up to twice the limit, then refused (libmicrohttpd
	 * answers only once the body is read); beyond, the connection is
	 * closed without an answer. */
	cr_assert_eq(post_chunked(s.port, big, 3000, &r), 413);
	cr_assert_str_eq(error_code(&r, ra, sizeof ra), "too_large");
	ts_resp_free(&r);
	cr_assert_eq(post_chunked(s.port, big, 4999, &r), 0);
	free(big);
	/* 431: the request line and headers, blank line included, over
	 * max_header_bytes (16384 by default); at the limit, served. */
	expect_head_of(s.port, 16384, 200, NULL);
	expect_head_of(s.port, 16385, 431, "headers_too_large");
	/* Far over, past what libmicrohttpd keeps for a connection: its own
	 * 431, an HTML page. */
	expect_head_of(s.port, 40000, 431, NULL);
	/* 414: a URL over the limit. */
	char *url = malloc(20000);
	memcpy(url, "/v1/cases/", 10);
	memset(url + 10, 'a', 19989);
	url[19999] = '\0';
	cr_assert_eq(ts_request(s.port, "GET", url, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 414);
	cr_assert_str_eq(error_code(&r, ra, sizeof ra), "uri_too_long");
	ts_resp_free(&r);
	free(url);
	cr_assert_eq(get(s.port, "/metrics", NULL, &r), 200);
	cr_assert(strstr(r.body, "dossier_http_requests_total{route=\"GET /healthz\",status=\"431\"} 1\n"),
		  "%s", r.body);
	cr_assert(strstr(r.body, "dossier_http_requests_total{route=\"other\",status=\"431\"} 1\n"),
		  "%s", r.body);
	ts_resp_free(&r);
	/* 429: the contact form's rate, 2 at once then 1 a minute. */
	int statuses[3];
	for (int i = 0; i < 3; i++) {
		ts_post_file(s.port, "/v1/ingest/web-contact", "fixtures/forms/contact-helene-dupre.form",
			     "application/x-www-form-urlencoded", NULL, &r);
		statuses[i] = r.status;
		if (i == 2)
			cr_assert(ts_header(&r, "Retry-After", ra, sizeof ra), "no Retry-After");
		ts_resp_free(&r);
	}
	cr_assert(statuses[0] == 202 || statuses[0] == 200);
	cr_assert_eq(statuses[1], 200, "the same post: a duplicate");
	cr_assert_eq(statuses[2], 429);
	cr_assert_gt(atoi(ra), 0);

	/* 503: the store is locked by another writer; one request waits for
	 * its commit (queue_max 1), the next is turned away. */
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/var/dossier.db", h.dir);
	sqlite3 *lock;
	cr_assert_eq(sqlite3_open(db, &lock), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	pid_t waiter = fork();
	if (!waiter) {
		ts_resp w;
		size_t n;
		char *body = th_slurp(OFFERS "DEV-2026-0002.json", &n);
		int rc = ts_request(s.port, "POST", "/v1/ingest/api-offers", JSON, body, n, &w);
		_exit(rc ? 1 : w.status == 202 ? 0 : 2);
	}
	/* Until the waiting request is queued. */
	bool queued = false;
	for (int i = 0; i < 5000 && !queued; i++) {
		cr_assert_eq(get(s.port, "/metrics", NULL, &r), 200);
		queued = strstr(r.body, "dossier_commit_queue 1\n") != NULL;
		ts_resp_free(&r);
	}
	cr_assert(queued, "the first request never waited for its commit");
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0004.json",
				  "application/json", NULL, &r), 503);
	cr_assert(ts_header(&r, "Retry-After", ra, sizeof ra));
	ts_resp_free(&r);
	cr_assert_eq(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(lock);
	int st;
	cr_assert_eq(waitpid(waiter, &st, 0), waiter);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the waiting request got no 202");
	finish(&h, &s);
}

Test(serve, idle_clients_are_timed_out_and_connections_bounded)
{
	th_home h;
	th_home_init(&h);
	ts_write(&h, "dossier.json", "{\"serve\": {\"timeout_seconds\": 1, \"max_connections\": 2}}\n");
	ts_server s;
	ts_start(&h, &s, "");
	int a = ts_connect(s.port), b = ts_connect(s.port);
	cr_assert(a >= 0 && b >= 0);
	/* A third connection over the limit is closed at once. */
	int c = ts_connect(s.port);
	char buf[16];
	if (c >= 0) {
		cr_assert_leq(recv(c, buf, sizeof buf, 0), 0);
		close(c);
	}
	/* A client that sends nothing is closed after the timeout. */
	cr_assert_leq(recv(a, buf, sizeof buf, 0), 0);
	close(a);
	close(b);
	ts_resp r;
	cr_assert_eq(get(s.port, "/healthz", NULL, &r), 200);
	ts_resp_free(&r);
	finish(&h, &s);
}

/* ---- timers ---- */

Test(serve, the_server_fires_due_timers_itself)
{
	th_home h;
	ts_server s;
	start_with_tokens(&h, &s, "--now 2026-11-24T09:00:00Z");
	ts_resp r;
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0003.json",
				  "application/json", NULL, &r), 202);
	ts_resp_free(&r);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	/* A week later the 5-day approval timer is due: the server fires it
	 * before it serves. */
	ts_start(&h, &s, "--now 2026-12-01T09:00:00Z");
	cr_assert_eq(get(s.port, "/v1/cases/DEV-2026-0003", "sales-token-4a1f", &r), 200);
	cJSON *c = ts_json(&r);
	cr_assert_str_eq(th_str(c, "state"), "validated");
	cJSON_Delete(c);
	ts_resp_free(&r);
	cr_assert_eq(get(s.port, "/metrics", NULL, &r), 200);
	cr_assert(strstr(r.body, "dossier_timers_fired_total 1\n"), "%s", r.body);
	ts_resp_free(&r);
	finish(&h, &s);
}

/* ---- crashes and stops ---- */

#define POSTERS 4
#define ACKS_BEFORE_KILL 200

struct load {
	int port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char (*acked)[32];
	size_t nacked, cap;
	int seq;
	int finished;
};

static void *poster(void *p)
{
	struct load *l = p;
	size_t len;
	char *tpl = th_slurp(OFFERS "DEV-2026-0001.json", &len);
	char *at = strstr(tpl, "DEV-2026-0001");
	for (int i = 0; i < 100000; i++) {
		char ref[32];
		pthread_mutex_lock(&l->mu);
		int n = l->seq++;
		pthread_mutex_unlock(&l->mu);
		/* Offer references are DEV-YYYY-NNNN. */
		snprintf(ref, sizeof ref, "DEV-%04d-%04d", 3000 + n / 10000, n % 10000);
		memcpy(at, ref, 13);
		ts_resp r;
		if (ts_request(l->port, "POST", "/v1/ingest/api-offers", JSON, tpl, len, &r))
			break;  /* the server is gone */
		if (r.status == 202) {
			pthread_mutex_lock(&l->mu);
			if (l->nacked < l->cap)
				snprintf(l->acked[l->nacked++], 32, "%s", ref);
			pthread_cond_broadcast(&l->cv);
			pthread_mutex_unlock(&l->mu);
		}
		ts_resp_free(&r);
	}
	free(tpl);
	pthread_mutex_lock(&l->mu);
	l->finished++;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Posts new offers from POSTERS threads until ACKS_BEFORE_KILL were
 * acknowledged, stops the server with sig (it must exit as want_exit:
 * -1 for killed), restarts it on the same store and checks that every
 * acknowledged offer is a case. */
static void load_then_stop(int sig, int want_exit)
{
	th_home h;
	ts_server s;
	start_with_tokens(&h, &s, "--quiet");
	struct load l = { .port = s.port, .cap = 1000000 };
	l.acked = calloc(l.cap, 32);
	pthread_mutex_init(&l.mu, NULL);
	pthread_cond_init(&l.cv, NULL);
	pthread_t t[POSTERS];
	for (int i = 0; i < POSTERS; i++)
		pthread_create(&t[i], NULL, poster, &l);
	pthread_mutex_lock(&l.mu);
	while (l.nacked < ACKS_BEFORE_KILL && l.finished < POSTERS)
		pthread_cond_wait(&l.cv, &l.mu);
	pthread_mutex_unlock(&l.mu);
	cr_assert_eq(ts_stop(&s, sig), want_exit);
	for (int i = 0; i < POSTERS; i++)
		pthread_join(t[i], NULL);
	size_t acked = l.nacked;
	cr_assert_geq(acked, ACKS_BEFORE_KILL);

	/* Restarted on the same store: every acknowledged offer is a case. */
	ts_start(&h, &s, "--quiet");
	ts_resp r;
	cr_assert_eq(get(s.port, "/v1/cases?process=offer&limit=10000", "sales-token-4a1f", &r), 200);
	cJSON *list = ts_json(&r);
	ts_resp_free(&r);
	size_t found = 0;
	for (size_t i = 0; i < acked; i++) {
		const cJSON *c;
		bool there = false;
		cJSON_ArrayForEach(c, list)
			there = there || !strcmp(th_str(c, "key"), l.acked[i]);
		cr_expect(there, "acknowledged offer %s is not in the store", l.acked[i]);
		found += there;
	}
	cr_assert_eq(found, acked, "%zu of %zu acknowledged offers are in the store", found, acked);
	cr_assert_geq((size_t)cJSON_GetArraySize(list), acked);
	cJSON_Delete(list);
	free(l.acked);
	finish(&h, &s);
}

Test(serve, kill_9_under_load_loses_no_acknowledged_input)
{
	load_then_stop(SIGKILL, -1);
}

Test(serve, sigterm_under_load_exits_0_and_keeps_every_acknowledged_input)
{
	load_then_stop(SIGTERM, 0);
}

Test(serve, sigterm_answers_what_is_in_flight_and_exits_0)
{
	th_home h;
	th_home_init(&h);
	ts_server s;
	ts_start(&h, &s, "");
	ts_resp r;
	cr_assert_eq(ts_post_file(s.port, "/v1/ingest/api-offers", OFFERS "DEV-2026-0001.json",
				  "application/json", NULL, &r), 202);
	ts_resp_free(&r);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	/* Nothing listens any more. */
	cr_assert_eq(ts_connect(s.port), -1);
	size_t len;
	char *log = th_slurp(s.err, &len);
	cr_assert(strstr(log, "\"event\":\"stopped\""));
	free(log);
	th_home_fini(&h);
}

Test(serve, help_and_a_port_in_use)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL, *err = NULL;
	cr_assert_eq(th_run(&h, &out, &err, "serve --help"), 0);
	cr_assert(strstr(out, "usage: dossier serve"));
	free(out);
	free(err);
	cr_assert_eq(th_run(&h, &out, &err, "serve --bogus"), 2);
	free(out);
	free(err);
	ts_server s;
	ts_start(&h, &s, "");
	cr_assert_eq(th_run(&h, &out, &err, "serve --listen 127.0.0.1:%d", s.port), 2);
	cr_assert(strstr(err, "already in use"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(th_run(&h, &out, &err, "serve --listen nowhere"), 2);
	cr_assert(strstr(err, "HOST:PORT"), "%s", err);
	free(out);
	free(err);
	finish(&h, &s);
}
