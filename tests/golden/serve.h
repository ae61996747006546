/*
 * serve.h - driving `dossier serve` from tests: start it as a child process
 * on a free port (it prints "dossier: listening on URL" once it serves, so
 * nothing waits on the clock), plain HTTP/1.1 requests over a socket, and
 * a stop by signal with its exit status.
 */
#ifndef DS_TEST_SERVE_H
#define DS_TEST_SERVE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "helpers.h"

typedef struct ts_server {
	pid_t pid;
	int port;
	char err[PATH_MAX];      /* its stderr */
} ts_server;

/* Starts `dossier --home H [GLOBAL] serve --listen 127.0.0.1:0` and reads
 * its port from the ready line. global may be "" (e.g. "--now T"). */
static inline void ts_start(th_home *h, ts_server *s, const char *global)
{
	int fds[2];
	cr_assert(pipe(fds) == 0);
	snprintf(s->err, sizeof s->err, "%s/.serve-%ld.err", h->dir, (long)getpid());
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "exec '%s' --home '%s' %s serve --listen 127.0.0.1:0 2>>'%s'",
		 h->bin, h->dir, global, s->err);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (!pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[256];
	size_t n = 0;
	/* One line; EOF means the server stopped before serving. */
	while (n < sizeof line - 1) {
		ssize_t r = read(fds[0], line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(fds[0]);
	s->pid = pid;
	const char *colon = strrchr(line, ':');
	cr_assert(strstr(line, "listening on") && colon, "the server did not start: \"%s\"; see %s",
		  line, s->err);
	s->port = atoi(colon + 1);
	cr_assert_gt(s->port, 0);
}

/* Sends sig and returns the exit status (-1 when killed by a signal). */
static inline int ts_stop(ts_server *s, int sig)
{
	kill(s->pid, sig);
	int st = 0;
	cr_assert(waitpid(s->pid, &st, 0) == s->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct ts_resp {
	int status;
	char *head;              /* status line and headers */
	char *body;
	size_t len;
	bool complete;           /* a chunked body ended with its last chunk */
} ts_resp;

static inline void ts_resp_free(ts_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* A header's value in r (case ignored), copied into buf; NULL when absent. */
static inline const char *ts_header(const ts_resp *r, const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);
	for (const char *p = r->head; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t k = strcspn(v, "\r\n");
			snprintf(buf, cap, "%.*s", (int)k, v);
			return buf;
		}
	}
	return NULL;
}

static inline int ts_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Undoes the chunked transfer coding of r's body in place; the trailer's
 * fields are added to r->head, where ts_header() finds them. -1 when the
 * body is not well chunked or has no last chunk (a response cut short). */
static inline int ts_dechunk(ts_resp *r)
{
	char *in = r->body, *end = r->body + r->len, *out = r->body;
	for (;;) {
		char *eol = memmem(in, (size_t)(end - in), "\r\n", 2);
		char *after;
		if (!eol)
			return -1;
		unsigned long n = strtoul(in, &after, 16);
		if (after == in || (size_t)(end - eol - 2) < n)
			return -1;
		in = eol + 2;
		if (!n)
			break;
		memmove(out, in, n);
		out += n;
		in += n;
		if (end - in < 2 || memcmp(in, "\r\n", 2))
			return -1;
		in += 2;
	}
	/* the trailer: fields up to an empty line */
	size_t hl = strlen(r->head), tl = (size_t)(end - in);
	char *head = realloc(r->head, hl + tl + 3);
	cr_assert(head);
	r->head = head;
	while (end - in >= 2 && memcmp(in, "\r\n", 2)) {
		char *eol = memmem(in, (size_t)(end - in), "\r\n", 2);
		if (!eol)
			return -1;
		memcpy(r->head + hl, "\r\n", 2);
		memcpy(r->head + hl + 2, in, (size_t)(eol - in));
		hl += 2 + (size_t)(eol - in);
		in = eol + 2;
	}
	r->head[hl] = '\0';
	r->len = (size_t)(out - r->body);
	r->body[r->len] = '\0';
	return end - in == 2 ? 0 : -1;
}

/* One request on a new connection (Connection: close). headers: extra
 * header lines, each ending in \r\n, or NULL. A chunked body is
 * given dechunked, its trailer with the headers (r->complete says whether
 * it ended as it should). Returns 0, or -1 when the connection failed or
 * closed before a status line (r->status 0). */
static inline int ts_request(int port, const char *method, const char *path,
			     const char *headers, const void *body, size_t len, ts_resp *r)
{
	memset(r, 0, sizeof *r);
	int fd = ts_connect(port);
	if (fd < 0)
		return -1;
	char *head = NULL;
	int hn = asprintf(&head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
			  "Content-Length: %zu\r\n\r\n", method, path, headers ? headers : "", len);
	cr_assert(hn > 0);
	const char *parts[2] = { head, body };
	size_t lens[2] = { (size_t)hn, body ? len : 0 };
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (off < lens[i]) {
			ssize_t w = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(head);
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	char chunk[16384];
	ssize_t k;
	while ((k = recv(fd, chunk, sizeof chunk, 0)) > 0)
		fwrite(chunk, 1, (size_t)k, m);
	fclose(m);
	close(fd);
	char *end = buf ? strstr(buf, "\r\n\r\n") : NULL;
	if (!end || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) {
		free(buf);
		return -1;
	}
	*end = '\0';
	r->head = strdup(buf);
	r->len = n - (size_t)(end + 4 - buf);
	r->body = malloc(r->len + 1);
	memcpy(r->body, end + 4, r->len);
	r->body[r->len] = '\0';
	free(buf);
	char te[64];
	r->complete = true;
	if (strcmp(method, "HEAD") && ts_header(r, "Transfer-Encoding", te, sizeof te) &&
	    !strcasecmp(te, "chunked"))
		r->complete = ts_dechunk(r) == 0;
	return 0;
}

/* POSTs a file's bytes with a Content-Type; returns the status. */
static inline int ts_post_file(int port, const char *path, const char *file, const char *type,
			       const char *extra, ts_resp *r)
{
	size_t len;
	char *body = th_slurp(file, &len);
	char headers[4096];
	snprintf(headers, sizeof headers, "Content-Type: %s\r\n%s", type, extra ? extra : "");
	int rc = ts_request(port, "POST", path, headers, body, len, r);
	free(body);
	cr_assert_eq(rc, 0, "no answer to POST %s", path);
	return r->status;
}

/* The answer's body as JSON (asserted). */
static inline cJSON *ts_json(const ts_resp *r)
{
	cJSON *doc = cJSON_Parse(r->body);
	cr_assert(doc, "not JSON (status %d): %s", r->status, r->body);
	return doc;
}

/* Writes text to HOME/NAME. */
static inline void ts_write(th_home *h, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", h->dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

/* The token of each role the tests use: DOSSIER_TEST_TOKEN_<ROLE> holds
 * it (the manager's is named "marie" in the audit trail). */
static const struct {
	const char *role, *env, *token;
} ts_roles[] = {
	{ "sales", "DOSSIER_TEST_TOKEN_SALES", "sales-token-4a1f" },
	{ "manager", "DOSSIER_TEST_TOKEN_MANAGER", "manager-token-9c2e" },
	{ "marketing", "DOSSIER_TEST_TOKEN_MARKETING", "marketing-token-77d0" },
	{ "technical", "DOSSIER_TEST_TOKEN_TECH", "technical-token-1b3c" },
	{ "admin", "DOSSIER_TEST_TOKEN_ADMIN", "admin-token-5e8a" },
};

/* The token of role (asserted known). */
static inline const char *ts_token(const char *role)
{
	for (size_t i = 0; i < sizeof ts_roles / sizeof *ts_roles; i++)
		if (!strcmp(ts_roles[i].role, role))
			return ts_roles[i].token;
	cr_assert_fail("no test token for the role %s", role);
	return NULL;
}

/* Writes HOME/dossier.json with those tokens (more: other members of its
 * top-level object, each followed by a comma, or "") and sets their
 * variables. */
static inline void ts_tokens(th_home *h, const char *more)
{
	char json[2048];
	size_t n = (size_t)snprintf(json, sizeof json, "{%s\"serve\": {\"tokens\": [", more);
	for (size_t i = 0; i < sizeof ts_roles / sizeof *ts_roles; i++) {
		n += (size_t)snprintf(json + n, sizeof json - n, "%s{\"env\": \"%s\", \"role\": \"%s\"%s}",
				      i ? ", " : "", ts_roles[i].env, ts_roles[i].role,
				      strcmp(ts_roles[i].role, "manager") ? "" : ", \"name\": \"marie\"");
		setenv(ts_roles[i].env, ts_roles[i].token, 1);
	}
	cr_assert_lt(n + 8, sizeof json);
	snprintf(json + n, sizeof json - n, "]}}\n");
	ts_write(h, "dossier.json", json);
}

/* Fills the home with the story of fixtures/expected/segments/NAME.json
 * (inputs under fixtures/segments/NAME/): offers, orders, contact forms,
 * interventions and events, each at its own time; its "now" goes to now. */
static inline void ts_story(th_home *h, const char *name, char *now, size_t cap)
{
	cJSON *story = th_story_play(h, "fixtures/expected/segments", "fixtures/segments", name);
	snprintf(now, cap, "%s", th_str(story, "now"));
	cJSON_Delete(story);
}

#endif
