/*
 * test_serve_routes.c - the answers of SPEC section 4's routes, one
 * request per file of fixtures/serve/routes/ (README.md there gives the
 * format), sent to one server over the store of the reference segments'
 * story (offers, orders, leads, interventions, their documents and
 * profiles). A new case is a new file.
 */
#include "serve.h"

#define ROUTES "fixtures/serve/routes"

static int port;
static th_home home;

/* The request of case c, as its file gives it. */
static void send_case(const char *name, const cJSON *req, ts_resp *r)
{
	char headers[8192] = "";
	size_t n = 0;
	const cJSON *v;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "token")))
		n += (size_t)snprintf(headers + n, sizeof headers - n, "Authorization: Bearer %s\r\n",
				      ts_token(v->valuestring));
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "bearer")))
		n += (size_t)snprintf(headers + n, sizeof headers - n, "Authorization: Bearer %s\r\n",
				      v->valuestring);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(req, "headers"))
		n += (size_t)snprintf(headers + n, sizeof headers - n, "%s: %s\r\n", v->string,
				      v->valuestring);
	cr_assert_lt(n, sizeof headers - 1, "%s: headers too long", name);
	char *body = NULL;
	size_t len = 0;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "body_file")))
		body = th_slurp(v->valuestring, &len);
	else if ((v = cJSON_GetObjectItemCaseSensitive(req, "body")))
		len = strlen(body = strdup(v->valuestring));
	const char *method = th_str(req, "method"), *path = th_str(req, "path");
	cr_assert_eq(ts_request(port, method, path, headers, body, len, r), 0,
		     "%s: no answer to %s %s", name, method, path);
	free(body);
}

static void run_case(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cJSON *c = th_read_json(path);
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
	cr_assert(cJSON_IsObject(expect), "%s: no \"expect\"", name);
	ts_resp r;
	send_case(name, cJSON_GetObjectItemCaseSensitive(c, "request"), &r);
	double status = th_num(expect, "status");
	cr_expect_eq(r.status, status, "%s: status %d, expected %.0f: %s", name, r.status, status,
		     r.body);
	const cJSON *v;
	if ((v = cJSON_GetObjectItemCaseSensitive(expect, "error"))) {
		/* every error is {"error": {"code", "message"}} */
		cJSON *doc = cJSON_Parse(r.body);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		cr_expect(cJSON_IsString(code) && !strcmp(code->valuestring, v->valuestring),
			  "%s: error %s, expected %s", name, r.body, v->valuestring);
		cr_expect(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")),
			  "%s: an error without a message: %s", name, r.body);
		cJSON_Delete(doc);
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(expect, "headers")) {
		char got[512];
		const char *h = ts_header(&r, v->string, got, sizeof got);
		if (cJSON_IsNull(v))
			cr_expect_null(h, "%s: %s: %s, expected none", name, v->string, got);
		else
			cr_expect(h && !strcmp(h, v->valuestring), "%s: %s: %s, expected %s", name,
				  v->string, h ? h : "(none)", v->valuestring);
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(expect, "body_contains"))
		cr_expect(strstr(r.body, v->valuestring), "%s: no \"%s\" in %s", name,
			  v->valuestring, r.body);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(expect, "body_lacks"))
		cr_expect_null(strstr(r.body, v->valuestring), "%s: \"%s\" in %s", name,
			       v->valuestring, r.body);
	if ((v = cJSON_GetObjectItemCaseSensitive(expect, "items"))) {
		cJSON *doc = cJSON_Parse(r.body);
		cr_expect(cJSON_IsArray(doc) && cJSON_GetArraySize(doc) == v->valueint,
			  "%s: expected an array of %d: %s", name, v->valueint, r.body);
		cJSON_Delete(doc);
	}
	ts_resp_free(&r);
	cJSON_Delete(c);
}

Test(serve_routes, each_request_is_answered_as_its_file_says)
{
	th_home_init(&home);
	char now[64], global[96];
	ts_story(&home, "reference-segments", now, sizeof now);
	ts_tokens(&home, "");
	ts_server s;
	snprintf(global, sizeof global, "--now %s", now);
	ts_start(&home, &s, global);
	port = s.port;
	th_each_story(ROUTES, run_case);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	th_home_fini(&home);
}
