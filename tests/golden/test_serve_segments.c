/*
 * test_serve_segments.c - GET /v1/segments/{name} against `dossier
 * segment export`: on the store of the reference segments' story
 * (fixtures/segments/reference-segments/), each reference segment streamed
 * by the server as NDJSON and as CSV must be, byte for byte, what the
 * command writes from the same store at the same time, holding exactly
 * the profiles the story exports (those without consent left out, HEAD
 * counting them); and a segment of thousands of rows must stream while
 * the server's memory stays where it was.
 */
#include <sys/stat.h>
#include <time.h>

#include "serve.h"

#define STORY "reference-segments"

static int get_segment(int port, const char *method, const char *name, const char *role,
		       const char *accept, ts_resp *r)
{
	char path[256], headers[512];
	snprintf(path, sizeof path, "/v1/segments/%s", name);
	int n = snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n", ts_token(role));
	if (accept)
		snprintf(headers + n, sizeof headers - (size_t)n, "Accept: %s\r\n", accept);
	cr_assert_eq(ts_request(port, method, path, headers, NULL, 0, r), 0, "no answer to %s %s",
		     method, path);
	return r->status;
}

static void expect_same_emails(const cJSON *got, const cJSON *want, const char *seg)
{
	char *g = cJSON_PrintUnformatted(got);
	cr_expect_eq(cJSON_GetArraySize(got), cJSON_GetArraySize(want), "%s: %s", seg, g);
	const cJSON *w, *x;
	cJSON_ArrayForEach(w, want) {
		bool found = false;
		cJSON_ArrayForEach(x, got)
			found = found || !strcmp(x->valuestring, w->valuestring);
		cr_expect(found, "%s: %s is not in the stream: %s", seg, w->valuestring, g);
	}
	cJSON_free(g);
}

/* The server's body for name in format (csv or ndjson) against the
 * command's output, and its headers and trailer. */
static void expect_as_export(th_home *h, int port, const char *now, const char *name,
			     const char *format, ts_resp *r)
{
	bool csv = !strcmp(format, "csv");
	cr_assert_eq(get_segment(port, "GET", name, "marketing", csv ? "text/csv" : NULL, r), 200,
		     "%s: %s", name, r->body);
	cr_expect(r->complete, "%s: the stream has no last chunk", name);
	char v[256], want[256];
	cr_expect_str_eq(ts_header(r, "Content-Type", v, sizeof v),
			 csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
	snprintf(want, sizeof want, "attachment; filename=\"%s.%s\"", name, format);
	cr_expect_str_eq(ts_header(r, "Content-Disposition", v, sizeof v), want);
	cr_expect_str_eq(ts_header(r, "Cache-Control", v, sizeof v), "no-store");

	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, "--now %s segment export %s --format %s", now, name, format);
	cr_assert_eq(rc, 0, "%s: exit %d: %s", name, rc, err);
	size_t n = strlen(out);
	cr_expect(r->len == n && !memcmp(r->body, out, n),
		  "%s (%s): the server sent\n%s\n`segment export` writes\n%s", name, format, r->body,
		  out);
	/* The trailer counts the profiles' rows, as `segment count` does. */
	cJSON *count = th_json(h, 0, "--now %s segment count %s", now, name);
	cr_expect(ts_header(r, "Dossier-Exported", v, sizeof v), "%s: no trailer", name);
	cr_expect_eq(atof(v), th_num(count, "exported"), "%s: trailer %s", name, v);
	cJSON_Delete(count);
	free(out);
	free(err);
}

Test(serve_segments, the_stream_is_what_segment_export_writes)
{
	th_home h;
	th_home_init(&h);
	char now[64], global[96];
	ts_story(&h, STORY, now, sizeof now);
	ts_tokens(&h, "");
	ts_server s;
	snprintf(global, sizeof global, "--now %s", now);
	ts_start(&h, &s, global);

	cJSON *story = th_read_json("fixtures/expected/segments/" STORY ".json");
	size_t excluded = 0, n = 0;
	const cJSON *want;
	cJSON_ArrayForEach(want, cJSON_GetObjectItemCaseSensitive(story, "segments")) {
		const char *name = want->string;
		ts_resp r;
		expect_as_export(&h, s.port, now, name, "csv", &r);
		ts_resp_free(&r);
		expect_as_export(&h, s.port, now, name, "ndjson", &r);
		/* Exactly the profiles the story exports: those without the
		 * consent are left out. */
		cJSON *got = th_ndjson_column(r.body, "email");
		expect_same_emails(got, cJSON_GetObjectItemCaseSensitive(want, "emails"), name);
		cJSON_Delete(got);
		ts_resp_free(&r);

		/* HEAD: the counts, no body. */
		char v[64];
		cr_assert_eq(get_segment(s.port, "HEAD", name, "marketing", NULL, &r), 200);
		cr_expect_eq(r.len, 0, "%s: HEAD has a body", name);
		cr_expect_str_eq(ts_header(&r, "Content-Type", v, sizeof v), "application/x-ndjson");
		double matched = th_num(want, "matched"), exported = th_num(want, "exported");
		cr_expect_eq(atof(ts_header(&r, "Dossier-Matched", v, sizeof v)), matched, "%s", name);
		cr_expect_eq(atof(ts_header(&r, "Dossier-Exported", v, sizeof v)), exported, "%s",
			     name);
		cr_expect_eq(atof(ts_header(&r, "Dossier-Excluded-Consent", v, sizeof v)),
			     matched - exported, "%s", name);
		excluded += (size_t)(matched - exported);
		ts_resp_free(&r);
		n++;
	}
	cr_assert_eq(n, 4, "the story checks the four reference segments");
	cr_assert_gt(excluded, 0, "the story leaves some profiles out for consent");
	/* admin may too; the others may not. */
	ts_resp r;
	cr_expect_eq(get_segment(s.port, "GET", "b2b-ile-de-france", "admin", NULL, &r), 200);
	ts_resp_free(&r);
	cr_expect_eq(get_segment(s.port, "GET", "b2b-ile-de-france", "sales", NULL, &r), 403);
	ts_resp_free(&r);
	cJSON_Delete(story);

	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	/* A log line per request: the segment, the format, the rows. */
	char *log = th_slurp(s.err, NULL);
	cr_expect(strstr(log, "\"route\":\"GET /v1/segments/{name}\",\"status\":200"), "%s", log);
	cr_expect(strstr(log, "\"segment\":\"b2b-ile-de-france\",\"format\":\"csv\",\"rows\":1}"),
		  "%s", log);
	cr_expect_null(strstr(log, "example.fr"), "no personal data in the log");
	free(log);
	th_home_fini(&h);
}

/* ---- memory ---- */

#define MANY 3000
#define INTERESTS 20

/* What the kernel says the process holds in anonymous memory (its heap,
 * its stacks), in KiB. */
static long anon_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert(f);
	long kib = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "RssAnon:", 8))
			kib = atol(line + 8);
	fclose(f);
	cr_assert_geq(kib, 0, "no RssAnon in %s", path);
	return kib;
}

/* MANY contact forms, each a customer with a long name, a long company
 * and twenty long interests (some 2.2 KB of row each), with consent. */
static void many_customers(th_home *h)
{
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/forms", h->dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	char longs[101];
	memset(longs, 'x', 100);
	longs[100] = '\0';
	for (int i = 0; i < MANY; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/%05d.form", dir, i);
		FILE *f = fopen(path, "w");
		cr_assert(f);
		fprintf(f, "nom=Client+%05d+%.180s&email=client%05d%%40example.org&societe=Soci%%C3%%A9t%%C3%%A9+"
			"%05d+%.180s&message=Bonjour&consentement=on", i, longs, i, i, longs);
		for (int k = 0; k < INTERESTS; k++)
			fprintf(f, "&interets=%02d+%.90s", k, longs);
		fclose(f);
	}
	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, "--now 2026-11-24T09:00:00Z --quiet ingest '%s'", dir);
	cr_assert_eq(rc, 0, "ingest: exit %d: %s", rc, err);
	free(out);
	free(err);
}

/* Reads the response to a GET on fd as a slow client would, sampling the
 * server's memory as it goes: the largest growth over base, in KiB; the
 * bytes read in *total. */
static long read_sampling(int fd, pid_t pid, long base, size_t *total)
{
	char buf[16384];
	long worst = 0;
	size_t next = 0;
	ssize_t k;
	*total = 0;
	while ((k = recv(fd, buf, sizeof buf, 0)) > 0) {
		*total += (size_t)k;
		if (*total >= next) {
			long grown = anon_kib(pid) - base;
			worst = grown > worst ? grown : worst;
			next += 1u << 20;
		}
	}
	return worst;
}

/* A home of MANY customers (tests/golden/serve-segments adds the segment
 * "everyone"), a small page cache per store connection, and its server;
 * serve: more members of dossier.json's "serve", each followed by a
 * comma, or "". */
static void large_home(th_home *h, ts_server *s, const char *serve)
{
	th_home_init(h);
	th_home_overlay(h, "tests/golden/serve-segments");
	ts_tokens(h, "\"store\": \"sqlite:var/dossier.db?cache_mib=1\", ");
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/dossier.json", h->dir);
	char json[4096], spliced[4096];
	FILE *f = fopen(path, "r");
	cr_assert(f);
	size_t n = fread(json, 1, sizeof json - 1, f);
	fclose(f);
	json[n] = '\0';
	const char *key = strstr(json, "\"serve\": {");
	cr_assert(key);
	int cut = (int)(key - json) + (int)strlen("\"serve\": {");
	cr_assert_lt(snprintf(spliced, sizeof spliced, "%.*s%s%s", cut, json, serve, json + cut),
		     (int)sizeof spliced);
	ts_write(h, "dossier.json", spliced);
	many_customers(h);
	/* A server built with AddressSanitizer (make asan) would keep what it
	 * frees in quarantine, which is not the memory measured here. */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
		 asan ? asan : "", asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	ts_start(h, s, "--now 2026-11-24T09:00:00Z");
}

/* Sends GET /v1/segments/everyone on a new connection that reads through
 * a small window (64 KiB), so that the server cannot hand the whole
 * answer to the kernel at once; returns the socket. */
static int slow_client(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int window = 65536;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &window, sizeof window);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	char req[256];
	int n = snprintf(req, sizeof req, "GET /v1/segments/everyone HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Connection: close\r\nAuthorization: Bearer %s\r\n\r\n",
			 ts_token("marketing"));
	cr_assert_eq(send(fd, req, (size_t)n, 0), n);
	return fd;
}

Test(serve_segments, a_large_segment_streams_in_constant_memory, .timeout = 300)
{
	th_home h;
	ts_server s;
	large_home(&h, &s, "");
	/* The export's connection is opened, and the server's threads have
	 * run, before the memory is measured. */
	ts_resp r;
	cr_assert_eq(get_segment(s.port, "GET", "b2b-ile-de-france", "marketing", NULL, &r), 200);
	ts_resp_free(&r);
	cr_assert_eq(get_segment(s.port, "HEAD", "everyone", "marketing", NULL, &r), 200);
	char v[64];
	cr_assert_eq(atol(ts_header(&r, "Dossier-Exported", v, sizeof v)), MANY);
	ts_resp_free(&r);
	long base = anon_kib(s.pid);

	int fd = slow_client(s.port);
	size_t total;
	long grown = read_sampling(fd, s.pid, base, &total);
	close(fd);
	/* Thousands of rows of 2.2 KB: megabytes sent, far less held. */
	cr_assert_gt(total, (size_t)MANY * 2000, "only %zu bytes streamed", total);
	cr_expect_lt(grown, 3 * 1024, "the server grew by %ld KiB streaming %zu bytes", grown, total);

	/* And the stream, as a whole, is what the command writes. */
	expect_as_export(&h, s.port, "2026-11-24T09:00:00Z", "everyone", "ndjson", &r);
	ts_resp_free(&r);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	th_home_fini(&h);
}

/* The largest socket send buffer the kernel gives (tcp_wmem's maximum). */
static long send_buffer_max(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
	long lo = 0, def = 0, max = -1;
	if (f) {
		if (fscanf(f, "%ld %ld %ld", &lo, &def, &max) != 3)
			max = -1;
		fclose(f);
	}
	return max;
}

Test(serve_segments, exports_at_once_are_bounded_and_a_client_that_leaves_frees_its_place,
     .timeout = 300)
{
	th_home h;
	ts_server s;
	large_home(&h, &s, "");
	/* Clients that read the status line and then nothing: each export
	 * waits for its client, holding its store connection. The export is
	 * larger than what the kernel buffers between them. */
	long buffered = send_buffer_max();
	if (buffered < 0 || buffered + (1l << 20) > (long)MANY * 2000)
		cr_skip_test("the kernel buffers up to %ld bytes per socket: an export of %d rows "
			     "does not wait for its client", buffered, MANY);
	int stalled[4];
	for (int i = 0; i < 4; i++) {
		stalled[i] = slow_client(s.port);
		char head[16];
		cr_assert_eq(recv(stalled[i], head, 12, MSG_WAITALL), 12);
		cr_assert(!memcmp(head, "HTTP/1.1 200", 12));
	}
	/* A fifth: 503, to be tried again. */
	ts_resp r;
	char v[64];
	cr_assert_eq(get_segment(s.port, "GET", "everyone", "marketing", NULL, &r), 503, "%s", r.body);
	cr_assert(ts_header(&r, "Retry-After", v, sizeof v));
	cr_assert(strstr(r.body, "\"busy\"") && strstr(r.body, "segment exports"), "%s", r.body);
	ts_resp_free(&r);
	/* A count needs no export's connection. */
	cr_assert_eq(get_segment(s.port, "HEAD", "everyone", "marketing", NULL, &r), 200);
	ts_resp_free(&r);
	/* The clients leave: their exports end, their connections go back. */
	for (int i = 0; i < 4; i++)
		close(stalled[i]);
	int status = 503;
	for (int i = 0; i < 10000 && status == 503; i++) {
		status = get_segment(s.port, "GET", "b2b-ile-de-france", "marketing", NULL, &r);
		ts_resp_free(&r);
	}
	cr_assert_eq(status, 200);
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);
	char *log = th_slurp(s.err, NULL);
	cr_expect(strstr(log, "\"segment\":\"everyone\",\"format\":\"ndjson\",\"rows\":"), "%s", log);
	cr_expect(strstr(log, "\"error\":\"the client left before the end\""), "%s", log);
	free(log);
	th_home_fini(&h);
}

Test(serve_segments, max_export_seconds_is_a_whole_number_of_seconds_from_one)
{
	const char *bad[] = { "0", "-1", "0.5", "\"600\"" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		th_home h;
		th_home_init(&h);
		char json[128];
		snprintf(json, sizeof json, "{\"serve\": {\"max_export_seconds\": %s}}\n", bad[i]);
		ts_write(&h, "dossier.json", json);
		char *out = NULL, *err = NULL;
		int rc = th_run(&h, &out, &err, "check");
		cr_expect_eq(rc, 2, "%s: exit %d: %s", bad[i], rc, err);
		cr_expect(strstr(err, "/serve/max_export_seconds") &&
			  strstr(err, "must be a whole number from 1 to 86400"), "%s: %s", bad[i], err);
		free(out);
		free(err);
		th_home_fini(&h);
	}
}
