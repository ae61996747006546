/*
 * test_serve_clients.c - `dossier serve` with real clients: the
 * standardwebhooks npm package as the sender of signed webhooks, and
 * Debian's headless chromium, driven by playwright-core, filling in the
 * reference contact form (accents, the consent box, a file upload); and
 * TLS with a certificate made by openssl, spoken to by node's https
 * client. The npm packages are pinned by tests/oracle/package-lock.json and installed
 * by `make test`; chromium by `make deps`.
 */
#include "serve.h"

#define ORACLE "tests/oracle/"

/* (No criterion .timeout here: the clients bound their own waits.) */

/* Runs a shell command, returns its exit code and its stdout's first line
 * (malloc'd) in *out. */
static int run(char **out, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "cannot run %s", cmd);
	char *line = NULL;
	size_t cap = 0;
	if (getline(&line, &cap, p) < 0) {
		free(line);
		line = NULL;
	}
	char drain[4096];
	while (fread(drain, 1, sizeof drain, p) > 0)
		;
	int st = pclose(p);
	*out = line;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void need_oracle(void)
{
	cr_assert(access(ORACLE "node_modules/standardwebhooks/package.json", R_OK) == 0 &&
		  access(ORACLE "node_modules/playwright-core/package.json", R_OK) == 0,
		  "the npm clients are missing: run `make oracle` (make test does)");
}

static int status_of(const cJSON *o, const char *k)
{
	double v = th_num(o, k);
	return (int)v;
}

Test(serve_clients, standardwebhooks_sender_is_accepted_and_forgeries_refused)
{
	need_oracle();
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, "tests/golden/serve");
	const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	setenv("DOSSIER_TEST_SECRET_A", secret, 1);
	setenv("DOSSIER_TEST_SECRET_B", secret, 1);
	setenv("DOSSIER_TEST_SECRET_C", secret, 1);
	ts_server s;
	/* The sender signs with the wall clock: so does the server. */
	ts_start(&h, &s, "");
	char *line = NULL;
	int rc = run(&line, "node " ORACLE "webhooks-send.js http://127.0.0.1:%d/v1/ingest/partner-a "
		     "'%s' fixtures/offers/DEV-2026-0001.json", s.port, secret);
	cr_assert_eq(rc, 0, "webhooks-send.js failed");
	cr_assert(line);
	cJSON *o = cJSON_Parse(line);
	cr_assert(o, "not JSON: %s", line);
	cr_expect_eq(status_of(o, "signed"), 202, "%s", line);
	cr_expect_eq(status_of(o, "repeat"), 200, "%s", line);
	cr_expect_eq(status_of(o, "tampered"), 401, "%s", line);
	cr_expect_eq(status_of(o, "wrong_secret"), 401, "%s", line);
	cr_expect_eq(status_of(o, "stale"), 401, "%s", line);
	cr_expect_eq(status_of(o, "unsigned"), 401, "%s", line);
	cJSON_Delete(o);
	free(line);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	cJSON *list = th_json(&h, 0, "case list --process offer");
	cr_assert_eq(cJSON_GetArraySize(list), 1, "the signed offer, once");
	cJSON_Delete(list);
	th_home_fini(&h);
}

Test(serve_clients, chromium_fills_the_contact_form)
{
	need_oracle();
	cr_assert(access("/usr/bin/chromium", X_OK) == 0,
		  "Debian's chromium is missing: make deps installs it (apt-get install chromium)");
	th_home h;
	th_home_init(&h);
	ts_write(&h, "dossier.json",
		 "{\"serve\": {\"tokens\": [{\"env\": \"DOSSIER_TEST_TOKEN_SALES\", \"role\": \"sales\"}]}}");
	setenv("DOSSIER_TEST_TOKEN_SALES", "sales-token-4a1f", 1);
	/* The file to upload: a few bytes of a JPEG, with an accented name. */
	char file[PATH_MAX + 64];
	snprintf(file, sizeof file, "%s/plaque-signalétique.jpg", h.dir);
	FILE *f = fopen(file, "wb");
	cr_assert(f);
	static const unsigned char jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F',
					      0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
					      0x00, 0xff, 0xd9 };
	fwrite(jpeg, 1, sizeof jpeg, f);
	fclose(f);
	ts_server s;
	ts_start(&h, &s, "");
	char *line = NULL;
	int rc = run(&line, "node " ORACLE "contact-form.js http://127.0.0.1:%d '%s'", s.port, file);
	cr_assert_eq(rc, 0, "contact-form.js failed (see its stderr above)");
	cr_assert(line);
	cJSON *o = cJSON_Parse(line);
	cr_assert(o, "not JSON: %s", line);
	cr_assert_eq(status_of(o, "status"), 202, "%s", line);
	const cJSON *cases = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "body"), "cases");
	cr_assert_eq(cJSON_GetArraySize(cases), 1, "%s", line);
	char path[64];
	snprintf(path, sizeof path, "/v1/cases/%.0f", cJSON_GetArrayItem(cases, 0)->valuedouble);
	cJSON_Delete(o);
	free(line);

	ts_resp r;
	cr_assert_eq(ts_request(s.port, "GET", path, "Authorization: Bearer sales-token-4a1f\r\n",
				NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cJSON *c = ts_json(&r);
	ts_resp_free(&r);
	cr_assert_str_eq(th_str(c, "process"), "lead");
	const cJSON *data = cJSON_GetObjectItem(c, "data");
	cr_assert_str_eq(th_str(data, "name"), "Hélène Lefèvre-Dupré");
	cr_assert_str_eq(th_str(data, "company"), "Boulangerie « Les Pains d’Élise »");
	cr_assert_str_eq(th_str(data, "phone"), "+33612345678");
	cr_assert_str_eq(th_str(data, "message"),
			 "Bonjour,\nnotre chaudière a 20 ans ; pouvez-vous passer à l’atelier ?\n"
			 "Merci — Hélène");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(data, "consent_marketing")), "consent");
	const cJSON *interests = cJSON_GetObjectItem(data, "interests");
	cr_assert_eq(cJSON_GetArraySize(interests), 2);
	cr_assert_str_eq(cJSON_GetArrayItem(interests, 1)->valuestring, "Pompe à chaleur");
	/* The upload: listed with the case, its bytes kept in the raw post. */
	const cJSON *atts = cJSON_GetObjectItem(c, "attachments");
	cr_assert_eq(cJSON_GetArraySize(atts), 1);
	const cJSON *a = cJSON_GetArrayItem(atts, 0);
	cr_assert_str_eq(th_str(a, "filename"), "plaque-signalétique.jpg");
	cr_assert_str_eq(th_str(a, "content_type"), "image/jpeg");
	cr_assert_eq(th_num(a, "size"), sizeof jpeg);
	double att_id = th_num(a, "id");
	cJSON_Delete(c);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	char *out = NULL, *err = NULL;
	cr_assert_eq(th_run(&h, &out, &err, "attachment get %.0f", att_id), 0, "%s", err);
	cr_assert(!memcmp(out, jpeg, sizeof jpeg), "the uploaded bytes come back");
	free(out);
	free(err);
	th_home_fini(&h);
}

Test(serve_clients, tls_with_the_configured_certificate)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL;
	cr_assert_eq(run(&out, "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
			 "-out cert.pem -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1 && echo made",
			 h.dir), 0, "openssl could not make a certificate");
	free(out);
	char settings[PATH_MAX * 2 + 128];
	snprintf(settings, sizeof settings,
		 "{\"serve\": {\"tls\": {\"cert\": \"%s/cert.pem\", \"key\": \"%s/key.pem\"}}}",
		 h.dir, h.dir);
	ts_write(&h, "dossier.json", settings);
	ts_server s;
	ts_start(&h, &s, "");
	/* Node's https client, trusting this one certificate. */
	int rc = run(&out, "node -e \"require('https').get({host: '127.0.0.1', port: %d, "
		     "path: '/healthz', ca: require('fs').readFileSync('%s/cert.pem'), "
		     "checkServerIdentity: () => undefined}, (r) => { let b = ''; "
		     "r.on('data', (d) => b += d); r.on('end', () => console.log(r.statusCode + ' ' + b)); "
		     "}).on('error', (e) => { console.log('error ' + e.message); process.exit(1); }); "
		     "setTimeout(() => { console.log('timed out'); process.exit(1); }, 20000).unref()\"",
		     s.port, h.dir);
	cr_assert_eq(rc, 0, "%s", out ? out : "");
	cr_assert(out && !strcmp(out, "200 {\"status\":\"ok\"}\n"), "%s", out ? out : "");
	free(out);
	/* Plain HTTP on the TLS port gets no HTTP answer. */
	ts_resp r;
	cr_assert_neq(ts_request(s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200,
		      1);
	ts_resp_free(&r);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	/* A key that is not PEM stops the start (exit 2). */
	ts_write(&h, "key.pem", "not a key");
	char *o2 = NULL, *e2 = NULL;
	cr_assert_eq(th_run(&h, &o2, &e2, "serve --listen 127.0.0.1:0"), 2, "%s", e2);
	free(o2);
	free(e2);
	th_home_fini(&h);
}
