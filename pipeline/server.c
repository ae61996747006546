/*
 * server.c - `dossier serve`; see server.h.
 *
 * A request's life: it is created by on_uri() once its request line is
 * read; the first call of on_request() routes it and refuses early what
 * can be refused from its headers (a head over max_header_bytes, unknown
 * source, type, size, rate, a stopping server); the body is read into a
 * buffer bounded by max_body_bytes; the last call checks the signature or
 * the token and either answers at once (reads), streams (a segment), or
 * suspends the connection and hands a job to the committer (committer.h),
 * whose done callback resumes it once the job's transaction is committed.
 * on_completed() logs the request and counts it, those libmicrohttpd
 * refused by itself included.
 *
 * Ownership: a request (struct req) belongs to its connection and is freed
 * by on_completed(); the job inside it belongs to the committer from the
 * moment it is pushed until job_done() resumes the connection, after which
 * the committer never touches it again; a segment stream belongs to its
 * response and its request together (see "segments" below).
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "chain.h"
#include "cli.h"
#include "committer.h"
#include "engine.h"
#include "input.h"
#include "json.h"
#include "metrics.h"
#include "segment.h"
#include "store.h"
#include "view.h"
#include "webhook.h"

#define IDENTITY_MAX 256         /* webhook-id, Idempotency-Key */
#define SEGMENT_MAX 200          /* one path segment */
#define LIST_DEFAULT 1000        /* GET /v1/cases */
#define LIST_MAX 10000
#define DOCUMENT_MAX (256u << 20)
#define READERS_MAX 256
#define STREAMS_MAX 4            /* segment exports at once */
#define STREAM_BLOCK (64u << 10) /* libmicrohttpd's buffer for a stream */
#define ACCEPT_RANGES_MAX 64     /* media ranges of an Accept header read */

/* ---- settings resolved at start ---- */

typedef struct token {
	unsigned char sha[32];   /* of the token: compared without its length showing */
	const char *role;
	const char *name;
} token;

typedef struct bucket {
	pthread_mutex_t mu;
	bool on;
	double per_sec, burst, tokens;
	struct timespec last;
} bucket;

typedef struct src {
	const ds_source *s;
	bool signed_;
	unsigned char key[DS_WEBHOOK_KEY_MAX];
	size_t keylen;
	bucket rate;
} src;

/* ---- requests and jobs ---- */

typedef struct req {
	struct ds_server *srv;
	int route;
	char method[8];          /* as sent when one of ours, else "other" */
	struct timespec t0;
	char ref[SEGMENT_MAX + 1];     /* source, case, document, profile, segment */
	char event[SEGMENT_MAX + 1];
	size_t src;
	char *body;
	size_t len, cap, max;
	bool too_large;
	bool answered;
	bool queued;
	int status;
	char identity[IDENTITY_MAX + 16];
	char *wrapped;           /* a multipart body with its Content-Type line */
	struct MHD_Connection *conn;   /* while its job is the committer's */
	ds_job job;
	bool done;               /* the committer answered the job */
	bool started;            /* on_request() has seen it */
	size_t uri_len;          /* of the request line's target, query included */
	const char *segment;     /* GET /v1/segments: its name, for the log */
	const char *format;      /* and the format given */
	struct seg_stream *stream;     /* its rows, while they are sent */
} req;

typedef struct ds_server {
	const ds_config *cfg;
	ds_server_opts o;
	const char *store_url;
	struct MHD_Daemon *d;
	token *tokens;
	size_t ntokens;
	src *srcs;
	ds_metrics *metrics;
	size_t max_body;
	ds_committer *cm;
	pthread_mutex_t mu;
	pthread_cond_t idle;         /* the main thread waits for requests to end */
	size_t active;               /* requests between first call and completion */
	atomic_bool stopping;        /* SIGTERM received: no new work */
	/* request threads' read connections */
	pthread_key_t reader_key;
	ds_store *readers[READERS_MAX];
	size_t nreaders;
	pthread_mutex_t readers_mu;  /* also guards the streams' connections */
	/* segment exports' read connections, one per export at a time */
	ds_store *streams[STREAMS_MAX];
	bool stream_busy[STREAMS_MAX];
} ds_server;

/* ---- small helpers ---- */

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result send_answer(req *r, struct MHD_Connection *c, int status,
				   const char *type, const char *body, size_t len,
				   const char *retry_after)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	r->answered = true;
	return ok;
}

static enum MHD_Result send_json(req *r, struct MHD_Connection *c, int status, cJSON *doc)
{
	size_t len;
	char *text = ds_view_text(doc, &len);
	if (!text)
		return MHD_NO;
	enum MHD_Result ok = send_answer(r, c, status, "application/json", text, len, NULL);
	free(text);
	return ok;
}

static enum MHD_Result send_error(req *r, struct MHD_Connection *c, int status, const char *code,
				  const char *message, const char *retry_after)
{
	size_t len;
	char *text = ds_view_error(code, message, NULL, &len);
	if (!text)
		return MHD_NO;
	enum MHD_Result ok = send_answer(r, c, status, "application/json", text, len, retry_after);
	free(text);
	return ok;
}

/* ---- rates ---- */

/* Takes one token from b; when none is left, the seconds until one is. */
static bool bucket_take(bucket *b, long *retry)
{
	if (!b->on)
		return true;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&b->mu);
	double dt = (double)(now.tv_sec - b->last.tv_sec) +
		    (double)(now.tv_nsec - b->last.tv_nsec) / 1e9;
	b->last = now;
	b->tokens += dt * b->per_sec;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	bool ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	else
	{
		double wait = ceil((1 - b->tokens) / b->per_sec);
		*retry = (long)wait;
	}
	pthread_mutex_unlock(&b->mu);
	return ok;
}

/* ---- routing ---- */

/* Copies the next path segment of *p into out (at most SEGMENT_MAX bytes);
 * false when there is none or it is too long. */
static bool segment(const char **p, char *out)
{
	if (**p != '/')
		return false;
	const char *s = *p + 1;
	size_t n = strcspn(s, "/");
	if (!n || n > SEGMENT_MAX)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return true;
}

/* The route of method and url, with its parameters in r; DS_ROUTE_OTHER and
 * *status 404 or 405 when none. */
static int route_of(req *r, const char *method, const char *url, int *status)
{
	const char *p = url;
	char a[SEGMENT_MAX + 1];
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");
	int route = DS_ROUTE_OTHER;
	bool method_ok = false;
	*status = 404;
	if (!strcmp(url, "/healthz"))
		route = DS_ROUTE_HEALTHZ, method_ok = get;
	else if (!strcmp(url, "/metrics"))
		route = DS_ROUTE_METRICS, method_ok = get;
	else if (!strncmp(url, "/v1/", 4)) {
		p = url + 3;
		if (!segment(&p, a))
			return DS_ROUTE_OTHER;
		if (!strcmp(a, "ingest") && segment(&p, r->ref) && !*p)
			route = DS_ROUTE_INGEST, method_ok = post;
		else if (!strcmp(a, "cases") && !*p)
			route = DS_ROUTE_CASES, method_ok = get;
		else if (!strcmp(a, "cases") && segment(&p, r->ref)) {
			if (!*p) {
				route = !strcmp(method, "PATCH") ? DS_ROUTE_CASE_PATCH : DS_ROUTE_CASE;
				method_ok = get || route == DS_ROUTE_CASE_PATCH;
			} else if (segment(&p, a) && !strcmp(a, "documents") && !*p) {
				route = DS_ROUTE_CASE_DOCUMENTS, method_ok = get;
			} else if (!strcmp(a, "events") && segment(&p, r->event) && !*p) {
				route = DS_ROUTE_CASE_EVENT, method_ok = post;
			}
		} else if (!strcmp(a, "documents") && segment(&p, r->ref) && !*p)
			route = DS_ROUTE_DOCUMENT, method_ok = get;
		else if (!strcmp(a, "profiles") && segment(&p, r->ref) && !*p)
			route = DS_ROUTE_PROFILE, method_ok = get;
		else if (!strcmp(a, "segments") && segment(&p, r->ref) && !*p)
			route = DS_ROUTE_SEGMENT, method_ok = get;
	}
	if (route == DS_ROUTE_OTHER)
		return route;
	if (!method_ok) {
		*status = 405;
		return DS_ROUTE_OTHER;
	}
	*status = 0;
	return route;
}

/* ---- tokens ---- */

/* The token of the request's bearer credentials, or NULL. Every configured
 * token is compared, by the SHA-256 of both sides, in constant time. */
static const token *bearer(ds_server *srv, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strnlen(h, 4097);
	if (!n || n > 4096)
		return NULL;
	unsigned char sha[32];
	EVP_Digest(h, n, sha, NULL, EVP_sha256(), NULL);
	const token *found = NULL;
	for (size_t i = 0; i < srv->ntokens; i++)
		if (ds_equal_ct(sha, srv->tokens[i].sha, 32))
			found = &srv->tokens[i];
	return found;
}

static bool role_in(const char *role, const char *const *roles)
{
	for (; *roles; roles++)
		if (!strcmp(role, *roles))
			return true;
	return false;
}

/* ---- the read connections of request threads ---- */

static ds_store *reader(ds_server *srv, ds_err *err)
{
	ds_store *s = pthread_getspecific(srv->reader_key);
	if (s)
		return s;
	pthread_mutex_lock(&srv->readers_mu);
	int rc = srv->nreaders == READERS_MAX
			 ? ds_err_set(err, DS_EBUSY, "too many request threads")
			 : ds_store_open(srv->store_url, srv->cfg->home, &s, err);
	if (!rc) {
		srv->readers[srv->nreaders++] = s;
		pthread_setspecific(srv->reader_key, s);
	}
	pthread_mutex_unlock(&srv->readers_mu);
	return rc ? NULL : s;
}

/* ---- the committer ---- */

/* Called by the committer (its answering thread) once r's job is
 * answered: the request thread takes it from here. */
static void job_done(void *ud, ds_job *j)
{
	(void)ud;
	req *r = j->ud;
	r->done = true;
	MHD_resume_connection(r->conn);
}

/* Hands r's job to the committer and suspends the connection; answers 503
 * at once when the queue is full or the server is stopping. */
static enum MHD_Result enqueue(ds_server *srv, req *r, struct MHD_Connection *c)
{
	int rc = atomic_load(&srv->stopping) ? DS_EREFUSED : ds_committer_reserve(srv->cm);
	if (rc == DS_EREFUSED)
		return send_error(r, c, 503, "stopping", "the server is stopping", "5");
	if (rc)
		return send_error(r, c, 503, "busy",
				  "the store cannot keep up: too many requests waiting for their commit",
				  "1");
	r->conn = c;
	r->job.ud = r;
	r->queued = true;
	MHD_suspend_connection(c);
	ds_committer_push(srv->cm, &r->job);
	return MHD_YES;
}

/* ---- the routes ---- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* First call of an ingest: what its headers already refuse. */
static enum MHD_Result ingest_begin(ds_server *srv, req *r, struct MHD_Connection *c)
{
	char msg[512];
	const ds_source *s = ds_config_source(srv->cfg, r->ref);
	if (!s) {
		snprintf(msg, sizeof msg, "no source named \"%.200s\"", r->ref);
		return send_error(r, c, 404, "unknown_source", msg, NULL);
	}
	for (size_t i = 0; i < srv->cfg->nsources; i++)
		if (srv->cfg->sources[i] == s)
			r->src = i;
	if (atomic_load(&srv->stopping))
		return send_error(r, c, 503, "stopping", "the server is stopping", "5");
	const char *type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *channel = type ? ds_input_channel_of_type(type) : NULL;
	if (!channel || strcmp(channel, s->channel)) {
		snprintf(msg, sizeof msg, "source \"%s\" reads %s inputs; Content-Type %.100s is not one",
			 s->name, s->channel, type ? type : "(none)");
		return send_error(r, c, 415, "unsupported_type", msg, NULL);
	}
	r->job.channel = channel;
	const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > srv->max_body) {
		snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes", srv->max_body);
		return send_error(r, c, 413, "too_large", msg, NULL);
	}
	long retry = 1;
	if (!bucket_take(&srv->srcs[r->src].rate, &retry)) {
		char ra[24];
		snprintf(ra, sizeof ra, "%ld", retry < 1 ? 1 : retry);
		snprintf(msg, sizeof msg, "source \"%s\" is over its request rate; retry in %s s",
			 s->name, ra);
		return send_error(r, c, 429, "rate_limited", msg, ra);
	}
	r->max = srv->max_body;
	if (cl) {
		/* Room for the announced body, up to 1 MiB: beyond, it grows as
		 * the bytes arrive. */
		size_t want = (size_t)strtoull(cl, NULL, 10);
		if (want > (1u << 20))
			want = 1u << 20;
		if (want && !(r->body = malloc(want + 1)))
			return send_error(r, c, 503, "busy", "out of memory", "1");
		r->cap = want ? want + 1 : 0;
	}
	return MHD_YES;
}

/* The last call of an ingest: signature, identity, then the committer. */
static enum MHD_Result ingest_end(ds_server *srv, req *r, struct MHD_Connection *c)
{
	src *s = &srv->srcs[r->src];
	char msg[1200];
	if (s->signed_) {
		ds_err err = {0};
		if (ds_webhook_verify(s->key, s->keylen, header(c, "webhook-id"),
				      header(c, "webhook-timestamp"), header(c, "webhook-signature"),
				      r->body ? r->body : "", r->len, ds_time_now(),
				      DS_WEBHOOK_TOLERANCE, &err)) {
			snprintf(msg, sizeof msg, "%s", err.msg);
			return send_error(r, c, 401, "bad_signature", msg, NULL);
		}
	}
	const char *id = header(c, "webhook-id");
	const char *key = header(c, "Idempotency-Key");
	const char *ident = id && *id ? id : key && *key ? key : NULL;
	if (ident) {
		if (strlen(ident) > IDENTITY_MAX)
			return send_error(r, c, 400, "invalid",
					  "webhook-id or Idempotency-Key is longer than 256 bytes", NULL);
		snprintf(r->identity, sizeof r->identity, "%s:%s", id && *id ? "webhook-id"
				  : "idempotency-key", ident);
		r->job.identity = r->identity;
	}
	r->job.kind = DS_JOB_INGEST;
	r->job.source = s->s;
	r->job.source_index = r->src;
	r->job.bytes = r->body ? r->body : "";
	r->job.len = r->len;
	const char *type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!strcmp(r->job.channel, "form") && type && !strncasecmp(type, "multipart/", 10)) {
		/* The form channel reads a multipart body after its Content-Type
		 * line, as `ingest` reads a .mime file. */
		size_t n = 0;
		ds_err err = {0};
		if (ds_input_multipart_with_type(type, r->job.bytes, r->len, &r->wrapped, &n, &err))
			return send_error(r, c, 400, "invalid", err.msg, NULL);
		r->job.bytes = r->wrapped;
		r->job.len = n;
	}
	if (!(r->job.arena = ds_arena_new(16384)))
		return send_error(r, c, 503, "busy", "out of memory", "1");
	ds_job_read_ahead(srv->cfg, &r->job);
	return enqueue(srv, r, c);
}

/* A case action: parses what it needs and queues it. */
static enum MHD_Result case_action(ds_server *srv, req *r, struct MHD_Connection *c,
				   const token *who)
{
	r->job.kind = r->route == DS_ROUTE_CASE_EVENT ? DS_JOB_EVENT : DS_JOB_EDIT;
	r->job.ref = r->ref;
	r->job.event = r->event;
	r->job.role = who->role;
	r->job.actor = who->name;
	if (r->job.kind == DS_JOB_EDIT) {
		ds_err err = {0};
		cJSON *f = NULL;
		if (!r->len || ds_json_parse(r->body, r->len, srv->cfg->limits.max_depth, &f, &err) ||
		    !cJSON_IsObject(f) || !cJSON_GetArraySize(f)) {
			cJSON_Delete(f);
			return send_error(r, c, 400, "invalid",
					  err.code ? err.msg
						   : "PATCH takes a JSON object of the fields to change",
					  NULL);
		}
		r->job.fields = f;
	}
	return enqueue(srv, r, c);
}

struct list_ud {
	cJSON *arr;
	size_t n, max;
};

static int list_case(void *ud, const ds_case_row *row)
{
	struct list_ud *l = ud;
	if (l->n++ >= l->max)
		return 1;
	cJSON_AddItemToArray(l->arr, ds_view_case(row, false));
	return 0;
}

static int list_audit(void *ud, const ds_audit_row *row)
{
	cJSON_AddItemToArray(ud, ds_view_audit(row));
	return 0;
}

static int list_doc(void *ud, const ds_document_row *row)
{
	cJSON *o = ds_view_document(row);
	char url[64];
	snprintf(url, sizeof url, "/v1/documents/%" PRId64, row->id);
	cJSON_AddStringToObject(o, "url", url);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "path");
	cJSON_AddItemToArray(ud, o);
	return 0;
}

static int list_att(void *ud, const ds_attachment_row *row)
{
	cJSON_AddItemToArray(ud, ds_view_attachment(row));
	return 0;
}

static enum MHD_Result store_error(req *r, struct MHD_Connection *c, const ds_err *err)
{
	switch (err->code) {
	case DS_ENOTFOUND:
		return send_error(r, c, 404, "not_found", err->msg, NULL);
	case DS_ECONFIG:
	case DS_EINVAL:
		return send_error(r, c, 400, "invalid", err->msg, NULL);
	case DS_EBUSY:
		return send_error(r, c, 503, "busy", err->msg, "1");
	default:
		return send_error(r, c, 500, "internal", err->msg, NULL);
	}
}

/* A positive decimal id from a path segment, or 0. */
static int64_t id_of(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *s >= '1' && *s <= '9' && !*end && v > 0 ? v : 0;
}

static enum MHD_Result read_route(ds_server *srv, req *r, struct MHD_Connection *c)
{
	ds_err err = {0};
	ds_store *st = reader(srv, &err);
	if (!st)
		return store_error(r, c, &err);
	ds_arena *a = ds_arena_new(16384);
	if (!a)
		return send_error(r, c, 503, "busy", "out of memory", "1");
	enum MHD_Result ok = MHD_NO;
	int rc = 0;
	switch (r->route) {
	case DS_ROUTE_CASES: {
		const char *process = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "process");
		const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
		const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
		if (process && !*process)
			process = NULL;
		if (state && !*state)
			state = NULL;
		struct list_ud l = { cJSON_CreateArray(), 0, LIST_DEFAULT };
		if (lim && (!id_of(lim) || id_of(lim) > LIST_MAX)) {
			cJSON_Delete(l.arr);
			ok = send_error(r, c, 400, "invalid", "limit is a number from 1 to 10000", NULL);
			break;
		}
		if (lim)
			l.max = (size_t)id_of(lim);
		if (process && !ds_config_process(srv->cfg, process)) {
			cJSON_Delete(l.arr);
			ok = send_error(r, c, 400, "invalid", "no such process", NULL);
			break;
		}
		rc = ds_store_case_list(st, process, state, list_case, &l, &err);
		if (rc < 0) {
			cJSON_Delete(l.arr);
			ok = store_error(r, c, &err);
		} else {
			ok = send_json(r, c, 200, l.arr);
		}
		break;
	}
	case DS_ROUTE_CASE:
	case DS_ROUTE_CASE_DOCUMENTS: {
		ds_case_work w;
		if ((rc = ds_engine_find(&w, a, srv->cfg, st, r->ref, &err))) {
			ok = store_error(r, c, &err);
			break;
		}
		if (r->route == DS_ROUTE_CASE_DOCUMENTS) {
			cJSON *arr = cJSON_CreateArray();
			if ((rc = ds_store_document_list(st, w.row.id, list_doc, arr, &err)) < 0) {
				cJSON_Delete(arr);
				ok = store_error(r, c, &err);
			} else {
				ok = send_json(r, c, 200, arr);
			}
			break;
		}
		cJSON *doc = ds_view_case(&w.row, true);
		if ((rc = ds_store_audit_list(st, w.row.id, list_audit,
					      cJSON_AddArrayToObject(doc, "history"), &err)) >= 0 &&
		    (rc = ds_store_document_list(st, w.row.id, list_doc,
						 cJSON_AddArrayToObject(doc, "documents"), &err)) >= 0)
			rc = ds_store_attachment_list(st, w.row.id, list_att,
						      cJSON_AddArrayToObject(doc, "attachments"), &err);
		if (rc < 0) {
			cJSON_Delete(doc);
			ok = store_error(r, c, &err);
		} else {
			ok = send_json(r, c, 200, doc);
		}
		break;
	}
	case DS_ROUTE_DOCUMENT: {
		ds_document_row d;
		int64_t id = id_of(r->ref);
		char *bytes = NULL;
		size_t len = 0;
		if (!id) {
			ok = send_error(r, c, 404, "not_found", "a document id is a number", NULL);
		} else if ((rc = ds_store_document_get(st, id, a, &d, &err)) ||
			   (rc = ds_read_file(d.path, DOCUMENT_MAX, &bytes, &len, &err))) {
			ok = store_error(r, c, &err);
		} else {
			ok = send_answer(r, c, 200, "application/pdf", bytes, len, NULL);
		}
		ds_free(bytes);
		break;
	}
	case DS_ROUTE_PROFILE: {
		ds_profile_row p;
		int64_t id = id_of(r->ref);
		if (!id) {
			ok = send_error(r, c, 404, "not_found", "a profile id is a number", NULL);
			break;
		}
		if ((rc = ds_store_profile_get(st, id, a, &p, &err))) {
			ok = store_error(r, c, &err);
			break;
		}
		cJSON *doc = ds_cli_profile_doc(st, p.id, &err);
		ok = doc ? send_json(r, c, 200, doc) : store_error(r, c, &err);
		break;
	}
	default:
		ok = send_error(r, c, 404, "not_found", "no such route", NULL);
	}
	ds_arena_free(a);
	return ok;
}

/* ---- segments ---- */

/* Whether CLOCK_MONOTONIC has passed t. */
static bool past(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec > t->tv_nsec);
}

/*
 * GET /v1/segments/{name} streams the export of `dossier segment export`:
 * the same reader (segment.h) pulled by libmicrohttpd as the client takes
 * the bytes, so memory stays that of one row and one 64 KiB block however
 * many rows there are. Each export reads on a store connection of its own
 * (one of STREAMS_MAX, opened once and kept), in one snapshot from the
 * first row to the last; the connection is given back as soon as the last
 * row is read, or once the export has run max_export_seconds: a client
 * reading slowly enough would otherwise hold its snapshot (and keep the
 * WAL from starting over) and its connection for as long as it likes, as
 * libmicrohttpd's timeout restarts on every send. The number of rows comes
 * after them, as the trailer
 * Dossier-Exported; the counts (matched, exported, left out for consent)
 * come with HEAD, which runs only the segment's count.
 */

typedef struct seg_stream {
	ds_server *srv;
	size_t slot;                 /* its connection in srv->streams */
	ds_segment_reader *rd;       /* NULL once every row is read */
	struct MHD_Response *resp;   /* for the trailer */
	ds_buf buf;                  /* a piece not yet handed on */
	size_t off;
	atomic_int refs;             /* the response's and the request's */
	_Atomic int64_t rows;
	atomic_bool failed;
	char error[200];             /* why it failed, for the log */
	struct timespec deadline;    /* CLOCK_MONOTONIC: the export is cut after it */
} seg_stream;

/* Takes a free stream connection, opened on first use: its slot, or a
 * negative error (DS_EBUSY when every one is taken). */
static int stream_take(ds_server *srv, ds_store **st, ds_err *err)
{
	int slot = -1, rc = DS_OK;
	pthread_mutex_lock(&srv->readers_mu);
	for (int i = 0; i < STREAMS_MAX && slot < 0; i++)
		if (!srv->stream_busy[i])
			slot = i;
	if (slot < 0)
		rc = ds_err_set(err, DS_EBUSY, "%d segment exports are running already; try again "
				"once one is done", STREAMS_MAX);
	else if (!srv->streams[slot])
		rc = ds_store_open(srv->store_url, srv->cfg->home, &srv->streams[slot], err);
	if (!rc) {
		srv->stream_busy[slot] = true;
		*st = srv->streams[slot];
	}
	pthread_mutex_unlock(&srv->readers_mu);
	return rc ? rc : slot;
}

static void stream_give_back(ds_server *srv, size_t slot)
{
	pthread_mutex_lock(&srv->readers_mu);
	srv->stream_busy[slot] = false;
	pthread_mutex_unlock(&srv->readers_mu);
}

/* Every row is read (or the export failed or was cut): the cursor ends
 * and the connection goes back. */
static void stream_end(seg_stream *t)
{
	if (!t->rd)
		return;
	atomic_store(&t->rows, ds_segment_reader_rows(t->rd));
	ds_segment_reader_close(t->rd);
	t->rd = NULL;
	stream_give_back(t->srv, t->slot);
}

static void stream_release(seg_stream *t)
{
	if (atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	stream_end(t);
	ds_buf_free(&t->buf);
	free(t);
}

/* libmicrohttpd's reader: the next bytes of the export, up to max. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	seg_stream *t = cls;
	size_t n = 0;
	if (t->rd && past(&t->deadline)) {
		snprintf(t->error, sizeof t->error, "export deadline: over max_export_seconds (%zu)",
			 t->srv->cfg->serve.max_export_seconds);
		atomic_store(&t->failed, true);
		stream_end(t);
	}
	while (n < max && !atomic_load(&t->failed)) {
		if (t->off == t->buf.len) {
			if (!t->rd)
				break;
			ds_err err = {0};
			ds_buf_reset(&t->buf);
			t->off = 0;
			int rc = ds_segment_reader_next(t->rd, &t->buf, &err);
			if (rc > 0) {
				atomic_store(&t->rows, ds_segment_reader_rows(t->rd));
				continue;
			}
			if (rc < 0) {
				snprintf(t->error, sizeof t->error, "%s", err.msg);
				atomic_store(&t->failed, true);
			}
			stream_end(t);
			if (!rc) {
				char rows[24];
				snprintf(rows, sizeof rows, "%" PRId64, atomic_load(&t->rows));
				MHD_add_response_footer(t->resp, "Dossier-Exported", rows);
			}
			continue;
		}
		size_t k = t->buf.len - t->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, t->buf.data + t->off, k);
		t->off += k;
		n += k;
	}
	if (n)
		return (ssize_t)n;
	/* A failure cuts the response short: the client sees no end of it
	 * (no last chunk), never a partial export taken for a whole one. */
	return atomic_load(&t->failed) ? MHD_CONTENT_READER_END_WITH_ERROR
				       : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	stream_release(cls);
}

/* HEAD has no body: its response is never read. */
static ssize_t no_body(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)cls;
	(void)pos;
	(void)out;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/* Whether the media range [type, type + n) names the media type want:
 * 2 exactly, 1 by its type with any subtype ("text/" and a star), 0 by
 * the range of all types, -1 not. */
static int range_names(const char *type, size_t n, const char *want)
{
	size_t slash = strcspn(want, "/");
	if (n == 3 && !memcmp(type, "*/*", 3))
		return 0;
	if (n == slash + 2 && !strncasecmp(type, want, slash + 1) && type[slash + 1] == '*')
		return 1;
	return n == strlen(want) && !strncasecmp(type, want, n) ? 2 : -1;
}

/* The q of a media range's parameters (";q=0.5"), in thousandths; 1000
 * without one, -1 when it is not a weight. */
static int range_q(const char *p, const char *end)
{
	while (p < end) {
		p += strspn(p, "; \t");
		size_t n = (size_t)(end - p), len = strcspn(p, ";");
		if (len > n)
			len = n;
		if (len >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			const char *v = p + 2;
			size_t vl = len - 2;
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (!vl || (v[0] != '0' && v[0] != '1') || (vl > 1 && v[1] != '.') || vl > 5)
				return -1;
			int q = (v[0] - '0') * 1000, scale = 100;
			for (size_t i = 2; i < vl; i++, scale /= 10) {
				if (v[i] < '0' || v[i] > '9')
					return -1;
				q += (v[i] - '0') * scale;
			}
			return q > 1000 ? -1 : q;
		}
		p += len;
	}
	return 1000;
}

/* The format an Accept header asks for (RFC 9110, 12.5.1): each format
 * takes the q of the most specific range naming it; the higher q wins,
 * then the format named the more precisely, then NDJSON, the default. -1
 * when neither is acceptable (q=0, or not named at all). */
static int accept_format(const char *accept)
{
	static const struct {
		const char *type;
		ds_segment_format format;
	} types[] = {
		{ "application/x-ndjson", DS_SEGMENT_NDJSON },
		{ "application/ndjson", DS_SEGMENT_NDJSON },
		{ "text/csv", DS_SEGMENT_CSV },
	};
	int q[2] = { -1, -1 }, spec[2] = { -1, -1 };
	const char *p = accept ? accept : "";
	if (!*(p + strspn(p, " \t")))
		return DS_SEGMENT_NDJSON;
	for (int k = 0; *p && k < ACCEPT_RANGES_MAX; k++) {
		size_t len = strcspn(p, ",");
		const char *end = p + len;
		const char *t = p + strspn(p, " \t");
		size_t tn = strcspn(t, ";, \t");
		int w = range_q(t + tn, end);
		for (size_t i = 0; w >= 0 && t < end && i < sizeof types / sizeof *types; i++) {
			int f = types[i].format, sp = range_names(t, tn, types[i].type);
			if (sp >= 0 && (sp > spec[f] || (sp == spec[f] && w > q[f]))) {
				spec[f] = sp;
				q[f] = w;
			}
		}
		p = *end ? end + 1 : end;
	}
	int n = DS_SEGMENT_NDJSON, c = DS_SEGMENT_CSV;
	if (q[n] <= 0 && q[c] <= 0)
		return -1;
	if (q[c] > q[n] || (q[c] == q[n] && spec[c] > spec[n]))
		return c;
	return n;
}

static enum MHD_Result segment_route(ds_server *srv, req *r, struct MHD_Connection *c)
{
	char msg[1024];
	const ds_segment *sg = ds_config_segment(srv->cfg, r->ref);
	if (!sg) {
		int n = snprintf(msg, sizeof msg, "no segment \"%.100s\" (", r->ref);
		for (size_t i = 0; i < srv->cfg->nsegments && n < (int)sizeof msg; i++)
			n += snprintf(msg + n, sizeof msg - (size_t)n, "%s%s", i ? ", " : "",
				      srv->cfg->segments[i]->name);
		if (n < (int)sizeof msg)
			snprintf(msg + n, sizeof msg - (size_t)n, "%s)",
				 srv->cfg->nsegments ? "" : "none in schemas/segments/");
		return send_error(r, c, 404, "not_found", msg, NULL);
	}
	int format = accept_format(header(c, MHD_HTTP_HEADER_ACCEPT));
	if (format < 0)
		return send_error(r, c, 406, "not_acceptable",
				  "a segment is given as application/x-ndjson (the default) or "
				  "text/csv (Accept: text/csv); the Accept header takes neither", NULL);
	bool csv = format == DS_SEGMENT_CSV, head = !strcmp(r->method, "HEAD");
	r->segment = sg->name;
	r->format = csv ? "csv" : "ndjson";
	ds_err err = {0};
	ds_time now = ds_time_now();
	int64_t matched = 0, exported = 0;
	seg_stream *t = NULL;
	struct MHD_Response *resp;
	if (head) {
		/* The counts only: what the export would hold, without it. */
		ds_store *st = reader(srv, &err);
		if (!st || ds_segment_count(st, sg, now, &matched, &exported, &err))
			return store_error(r, c, &err);
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, no_body, NULL, NULL);
		/* libmicrohttpd 0.9.75 would end a chunked HEAD answer with a
		 * last chunk, bytes a client does not expect: without the chunked
		 * coding (the connection closed after it), it sends none. */
		if (resp)
			MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
	} else {
		ds_store *st = NULL;
		int slot = stream_take(srv, &st, &err);
		if (slot < 0)
			return store_error(r, c, &err);
		if (!(t = calloc(1, sizeof *t))) {
			stream_give_back(srv, (size_t)slot);
			return send_error(r, c, 503, "busy", "out of memory", "1");
		}
		clock_gettime(CLOCK_MONOTONIC, &t->deadline);
		t->deadline.tv_sec += (time_t)srv->cfg->serve.max_export_seconds;
		t->srv = srv;
		t->slot = (size_t)slot;
		atomic_init(&t->refs, 1);
		ds_buf_init(&t->buf, DS_SEGMENT_ROW_MAX);
		if (ds_segment_reader_open(st, sg, now, format, &t->rd, &err)) {
			stream_give_back(srv, (size_t)slot);
			stream_release(t);
			return store_error(r, c, &err);
		}
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read,
							 t, stream_free);
		if (!resp) {
			stream_release(t);
			return MHD_NO;
		}
		/* One reference for the response (freed by stream_free), one for
		 * the request (its log line reads the rows). */
		t->resp = resp;
		atomic_store(&t->refs, 2);
		r->stream = t;
	}
	if (!resp)
		return MHD_NO;
	char disposition[SEGMENT_MAX + 64];
	snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.%s\"", sg->name,
		 r->format);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (head) {
		char v[24];
		snprintf(v, sizeof v, "%" PRId64, matched);
		MHD_add_response_header(resp, "Dossier-Matched", v);
		snprintf(v, sizeof v, "%" PRId64, exported);
		MHD_add_response_header(resp, "Dossier-Exported", v);
		snprintf(v, sizeof v, "%" PRId64, matched - exported);
		MHD_add_response_header(resp, "Dossier-Excluded-Consent", v);
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_TRAILER, "Dossier-Exported");
	}
	enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->status = 200;
	r->answered = true;
	return ok;
}

static enum MHD_Result metrics_route(ds_server *srv, req *r, struct MHD_Connection *c)
{
	ds_err err = {0};
	ds_store *st = reader(srv, &err);
	ds_metrics_gauges g = { -1, -1, -1, -1, 0 };
	if (st) {
		ds_time now = ds_time_now();
		g.quarantine = ds_store_quarantine_count(st);
		g.timers_pending = ds_store_timer_pending_count(st);
		g.timers_due = ds_store_timer_due_count(st, now);
		g.timers_overdue =
			ds_store_timer_due_count(st, now - (ds_time)srv->cfg->serve.tick_seconds);
	}
	g.queue = (int64_t)ds_committer_queued(srv->cm);
	ds_buf b;
	ds_buf_init(&b, 4u << 20);
	enum MHD_Result ok;
	if (ds_metrics_render(srv->metrics, &g, &b))
		ok = send_error(r, c, 500, "internal", "metrics too large", NULL);
	else
		ok = send_answer(r, c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data,
				 b.len, NULL);
	ds_buf_free(&b);
	return ok;
}

/* The last call of a request: everything is read. */
static enum MHD_Result dispatch(ds_server *srv, req *r, struct MHD_Connection *c)
{
	if (r->too_large) {
		char msg[128];
		snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes", r->max);
		return send_error(r, c, 413, "too_large", msg, NULL);
	}
	switch (r->route) {
	case DS_ROUTE_HEALTHZ: {
		bool stopping = atomic_load(&srv->stopping);
		const char *body = stopping ? "{\"status\":\"stopping\"}" : "{\"status\":\"ok\"}";
		return send_answer(r, c, stopping ? 503 : 200, "application/json", body, strlen(body),
				   NULL);
	}
	case DS_ROUTE_METRICS:
		return metrics_route(srv, r, c);
	case DS_ROUTE_INGEST:
		return ingest_end(srv, r, c);
	default:
		break;
	}
	const token *who = bearer(srv, c);
	if (!who)
		return send_error(r, c, 401, "unauthorized",
				  "a bearer token is required (Authorization: Bearer TOKEN)", NULL);
	if (r->route == DS_ROUTE_PROFILE &&
	    !role_in(who->role, (const char *const[]){ "marketing", "sales", "admin", NULL }))
		return send_error(r, c, 403, "forbidden",
				  "profiles are for the marketing, sales and admin roles", NULL);
	if (r->route == DS_ROUTE_SEGMENT) {
		if (!role_in(who->role, (const char *const[]){ "marketing", "admin", NULL }))
			return send_error(r, c, 403, "forbidden",
					  "segments are for the marketing and admin roles", NULL);
		return segment_route(srv, r, c);
	}
	if (r->route == DS_ROUTE_CASE_EVENT || r->route == DS_ROUTE_CASE_PATCH) {
		if (atomic_load(&srv->stopping))
			return send_error(r, c, 503, "stopping", "the server is stopping", "5");
		return case_action(srv, r, c, who);
	}
	return read_route(srv, r, c);
}

/* A request, counted as active until on_completed() frees it. */
static req *request_new(ds_server *srv)
{
	req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->srv = srv;
	r->src = SIZE_MAX;
	r->route = DS_ROUTE_OTHER;
	snprintf(r->method, sizeof r->method, "other");
	pthread_mutex_lock(&srv->mu);
	srv->active++;
	pthread_mutex_unlock(&srv->mu);
	return r;
}

/* Called once the request line is read, before the headers: the request
 * starts here, so that one libmicrohttpd refuses by itself (headers over
 * the memory it has for a connection: 431, or 414 for the URL) is logged
 * and counted too. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)c;
	req *r = request_new(cls);
	if (r)
		r->uri_len = strlen(uri);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	ds_server *srv = cls;
	req *r = *con_cls;
	if (!r && !(r = *con_cls = request_new(srv)))
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		/* The method is logged: only one of a known few, never raw text. */
		static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH",
							"DELETE", "OPTIONS", NULL };
		snprintf(r->method, sizeof r->method, "other");
		for (const char *const *m = methods; *m; m++)
			if (!strcmp(method, *m))
				snprintf(r->method, sizeof r->method, "%s", *m);
		int status;
		r->route = route_of(r, method, url, &status);
		r->max = srv->max_body;
		/* The request line and headers as they came, against the limit
		 * (libmicrohttpd's own, its memory per connection, is larger). */
		size_t limit = srv->cfg->serve.max_header_bytes;
		const union MHD_ConnectionInfo *hs =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
		char msg[128];
		if (r->uri_len > limit) {
			snprintf(msg, sizeof msg, "the URL is over the limit of %zu bytes", limit);
			return send_error(r, c, 414, "uri_too_long", msg, NULL);
		}
		if (hs && hs->header_size > limit) {
			snprintf(msg, sizeof msg, "the request line and headers are over the limit of "
				 "%zu bytes", limit);
			return send_error(r, c, 431, "headers_too_large", msg, NULL);
		}
		if (status == 405)
			return send_error(r, c, 405, "method_not_allowed",
					  "this route does not take this method", NULL);
		if (status)
			return send_error(r, c, 404, "not_found", "no such route", NULL);
		if (r->route == DS_ROUTE_INGEST)
			return ingest_begin(srv, r, c);
		return MHD_YES;
	}
	if (r->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->too_large || r->len + n > r->max) {
			/* Read and dropped up to twice the limit, so the client gets its
			 * 413; beyond, the connection is closed. */
			r->too_large = true;
			r->len += n;
			return r->len > 2 * r->max ? MHD_NO : MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			while (cap < r->len + n + 1)
				cap *= 2;
			char *b = realloc(r->body, cap);
			if (!b)
				return MHD_NO;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->queued) {
		if (!r->done)
			return MHD_YES;
		return send_answer(r, c, r->job.status, "application/json",
				   r->job.answer ? r->job.answer : "", r->job.answer_len,
				   r->job.retry_after);
	}
	return dispatch(srv, r, c);
}

/* One line of JSON per request on stderr: no token, no body, no query. */
static void log_request(ds_server *srv, const req *r, double seconds, bool complete)
{
	char line[768], when[24];
	ds_time_format((ds_time)time(NULL), when);
	int n = snprintf(line, sizeof line,
			 "{\"time\":\"%s\",\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,"
			 "\"ms\":%.3f", when, r->method, ds_metrics_route_name(r->route), r->status,
			 seconds * 1000);
	if (r->route == DS_ROUTE_INGEST && r->src != SIZE_MAX && r->ref[0])
		n += snprintf(line + n, sizeof line - (size_t)n, ",\"source\":\"%s\",\"bytes\":%zu",
			      srv->srcs[r->src].s->name, r->len);
	if (r->job.interaction)
		n += snprintf(line + n, sizeof line - (size_t)n, ",\"interaction\":%" PRId64,
			      r->job.interaction);
	if (r->job.role)
		n += snprintf(line + n, sizeof line - (size_t)n, ",\"role\":\"%s\"",
			      r->job.role);
	if (r->segment)
		n += snprintf(line + n, sizeof line - (size_t)n, ",\"segment\":\"%s\","
			      "\"format\":\"%s\"", r->segment, r->format);
	if (r->stream) {
		n += snprintf(line + n, sizeof line - (size_t)n, ",\"rows\":%" PRId64,
			      atomic_load(&r->stream->rows));
		if (atomic_load(&r->stream->failed))
			n += snprintf(line + n, sizeof line - (size_t)n, ",\"error\":\"%s\"",
				      r->stream->error);
		else if (!complete)
			n += snprintf(line + n, sizeof line - (size_t)n, ",\"error\":\"%s\"",
				      "the client left before the end");
	}
	snprintf(line + n, sizeof line - (size_t)n, "}\n");
	fputs(line, stderr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	ds_server *srv = cls;
	req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	double s = since(&r->t0);
	if (!r->status) {
		/* Refused by libmicrohttpd before the request reached us. */
		const union MHD_ConnectionInfo *st =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
		r->status = st ? (int)st->http_status : 0;
	}
	ds_metrics_request(srv->metrics, r->route, r->status, s);
	/* An input turned away before the committer (signature, type, size,
	 * rate, a full queue) or by it (5xx) is refused; the others are
	 * counted as committed. */
	if (r->route == DS_ROUTE_INGEST && r->src != SIZE_MAX)
		ds_metrics_input(srv->metrics, r->src,
				 r->queued && r->done && r->status < 500 ? r->job.outcome
									       : DS_OUTCOME_REFUSED);
	if (!srv->o.quiet)
		log_request(srv, r, s, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	if (r->stream)
		stream_release(r->stream);
	cJSON_Delete(r->job.fields);
	ds_arena_free(r->job.arena);
	free(r->job.answer);
	free(r->body);
	ds_free(r->wrapped);
	free(r);
	pthread_mutex_lock(&srv->mu);
	if (!--srv->active)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->mu);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	ds_server *srv = cls;
	if (srv->o.quiet)
		return;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '\'';
	fprintf(stderr, "{\"event\":\"http\",\"message\":\"%s\"}\n", msg);
}

/* ---- start and stop ---- */

static int resolve(ds_server *srv, ds_err *err)
{
	const ds_config *cfg = srv->cfg;
	const ds_serve_settings *set = &cfg->serve;
	if (set->ntokens && !(srv->tokens = ds_calloc(set->ntokens, sizeof *srv->tokens)))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; i < set->ntokens; i++) {
		const ds_serve_token *t = &set->tokens[i];
		const char *v = getenv(t->env);
		if (!v || !*v)
			return ds_err_set(err, DS_ECONFIG,
					  "dossier.json serve.tokens: the variable %s (role %s) is not set",
					  t->env, t->role);
		if (!ds_config_knows_role(cfg, t->role))
			return ds_err_set(err, DS_ECONFIG,
					  "dossier.json serve.tokens: unknown role \"%s\"", t->role);
		EVP_Digest(v, strlen(v), srv->tokens[i].sha, NULL, EVP_sha256(), NULL);
		srv->tokens[i].role = t->role;
		srv->tokens[i].name = t->name;
		srv->ntokens++;
	}
	if (!(srv->srcs = ds_calloc(cfg->nsources ? cfg->nsources : 1, sizeof *srv->srcs)))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg->nsources; i++) {
		src *s = &srv->srcs[i];
		s->s = cfg->sources[i];
		pthread_mutex_init(&s->rate.mu, NULL);
		if (s->s->secret_env) {
			const char *v = getenv(s->s->secret_env);
			ds_err e2 = {0};
			if (!v || !*v)
				return ds_err_set(err, DS_ECONFIG,
						  "source \"%s\": its secret variable %s is not set",
						  s->s->name, s->s->secret_env);
			if (ds_webhook_key(v, s->key, &s->keylen, &e2))
				return ds_err_set(err, DS_ECONFIG, "source \"%s\": %s: %s",
						  s->s->name, s->s->secret_env, e2.msg);
			s->signed_ = true;
		}
		const ds_serve_rate *rate = NULL;
		for (size_t k = 0; k < set->nrates; k++) {
			if (!strcmp(set->rates[k].source, s->s->name))
				rate = &set->rates[k];
			else if (!rate && !strcmp(set->rates[k].source, "*"))
				rate = &set->rates[k];
		}
		if (rate) {
			s->rate.on = true;
			s->rate.per_sec = rate->per_minute / 60;
			s->rate.burst = rate->burst;
			s->rate.tokens = rate->burst;
			clock_gettime(CLOCK_MONOTONIC, &s->rate.last);
		}
	}
	for (size_t k = 0; k < set->nrates; k++)
		if (strcmp(set->rates[k].source, "*") && !ds_config_source(cfg, set->rates[k].source))
			return ds_err_set(err, DS_ECONFIG, "dossier.json serve.rate: no source named \"%s\"",
					  set->rates[k].source);
	return DS_OK;
}

/* Binds HOST:PORT ("[::1]:8080" for IPv6); sets *fd and the port bound. */
static int bind_listen(const char *listen_on, int *fd, int *port, ds_err *err)
{
	char host[256];
	const char *colon = strrchr(listen_on, ':');
	if (!colon || colon == listen_on || !colon[1] || (size_t)(colon - listen_on) >= sizeof host)
		return ds_err_set(err, DS_ECONFIG, "--listen: expected HOST:PORT, got \"%s\"",
				  listen_on);
	const char *h = listen_on;
	size_t hn = (size_t)(colon - listen_on);
	if (*h == '[' && hn >= 2 && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	memcpy(host, h, hn);
	host[hn] = '\0';
	const char *p = colon + 1;
	if (strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
		return ds_err_set(err, DS_ECONFIG, "--listen: \"%s\" is not a port number", p);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host, p, &hints, &ai);
	if (gai)
		return ds_err_set(err, DS_ECONFIG, "--listen: cannot resolve \"%s\": %s", host,
				  gai_strerror(gai));
	int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1;
	int rc = DS_OK;
	if (s < 0) {
		rc = ds_err_set(err, DS_EIO, "cannot create a socket: %s", strerror(errno));
	} else if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
		   bind(s, ai->ai_addr, ai->ai_addrlen) || listen(s, 4096)) {
		int e = errno;
		rc = ds_err_set(err, e == EADDRINUSE || e == EACCES || e == EADDRNOTAVAIL ? DS_ECONFIG
										   : DS_EIO,
				"cannot listen on %s: %s%s", listen_on, strerror(e),
				e == EADDRINUSE ? " (another server runs there; choose another port "
						  "with --listen)" : "");
		close(s);
	}
	if (!rc) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		getsockname(s, (struct sockaddr *)&ss, &sl);
		*port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
		*fd = s;
	}
	freeaddrinfo(ai);
	return rc;
}

/* libmicrohttpd's memory per connection: the request line and headers
 * (and an entry of some 50 bytes for each header), then the answer's
 * headers and a block of its body. A request over max_header_bytes that
 * fits reaches on_request(), which answers 431 (414 for the URL) with the
 * JSON error; beyond, libmicrohttpd answers it by itself, with its own
 * HTML body. Not larger: libmicrohttpd clears the whole of it between two
 * requests of a connection. */
static size_t pool_size(size_t max_header_bytes)
{
	return max_header_bytes + 16384;
}

static void server_free(ds_server *srv)
{
	for (size_t i = 0; i < srv->nreaders; i++)
		ds_store_close(srv->readers[i]);
	for (size_t i = 0; i < STREAMS_MAX; i++)
		ds_store_close(srv->streams[i]);
	ds_committer_free(srv->cm);
	if (srv->srcs)
		for (size_t i = 0; i < srv->cfg->nsources; i++)
			pthread_mutex_destroy(&srv->srcs[i].rate.mu);
	ds_free(srv->srcs);
	ds_free(srv->tokens);
	ds_metrics_free(srv->metrics);
}

int ds_server_run(const ds_config *cfg, const ds_server_opts *o, ds_err *err)
{
	ds_server srv;
	memset(&srv, 0, sizeof srv);
	srv.cfg = cfg;
	srv.o = *o;
	srv.store_url = o->store_url ? o->store_url : cfg->store_url;
	srv.max_body = cfg->serve.max_body_bytes ? cfg->serve.max_body_bytes
						 : cfg->limits.max_input_bytes;
	const char *listen_on = o->listen ? o->listen
				: cfg->serve.listen ? cfg->serve.listen : "127.0.0.1:8080";
	int fd = -1, port = 0, rc;
	char *tls_key = NULL, *tls_cert = NULL;
	size_t kl, cl;
	/* The signals that stop the server are taken by this thread alone,
	 * blocked before any thread starts (the store's checkpointer, the
	 * committer's...): every thread inherits the mask, so none of them
	 * can be the one a SIGTERM kills the process through. */
	sigset_t stop_signals, old;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
	pthread_mutex_init(&srv.mu, NULL);
	pthread_mutex_init(&srv.readers_mu, NULL);
	pthread_cond_init(&srv.idle, NULL);
	/* The read connections are closed by the server once its threads are
	 * gone, not by the threads. */
	pthread_key_create(&srv.reader_key, NULL);
	if (!(srv.metrics = ds_metrics_new(cfg))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = resolve(&srv, err)))
		goto done;
	if (cfg->serve.tls_cert &&
	    ((rc = ds_read_file(cfg->serve.tls_cert, 1u << 20, &tls_cert, &cl, err)) ||
	     (rc = ds_read_file(cfg->serve.tls_key, 1u << 20, &tls_key, &kl, err)))) {
		rc = ds_err_prefix(err, "dossier.json serve.tls");
		err->code = rc = DS_ECONFIG;
		goto done;
	}
	/* The committer fires the timers due now before the first request. */
	if ((rc = ds_committer_new(cfg, srv.store_url, srv.metrics, o->quiet, job_done, &srv,
				   &srv.cm, err)) ||
	    (rc = bind_listen(listen_on, &fd, &port, err)))
		goto done;
	signal(SIGPIPE, SIG_IGN);
	if ((rc = ds_committer_start(srv.cm, err)))
		goto unmask;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (tls_cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert },
		{ MHD_OPTION_END, 0, NULL },
	};
	srv.d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, &srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &srv,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->serve.threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->serve.max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->serve.timeout_seconds,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_size(cfg->serve.max_header_bytes),
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
		MHD_OPTION_ARRAY, tls_cert ? tls_opts : tls_opts + 2,
		MHD_OPTION_END);
	if (!srv.d) {
		rc = ds_err_set(err, tls_cert ? DS_ECONFIG : DS_EINTERNAL,
				"cannot start the HTTP server on %s%s", listen_on,
				tls_cert ? " (are the TLS certificate and key valid PEM?)" : "");
		goto unmask;
	}
	if (o->ready) {
		char host[256];
		snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen_on, ':') - listen_on),
			 listen_on);
		fprintf(o->ready, "dossier: listening on %s://%s:%d\n", tls_cert ? "https" : "http",
			host, port);
		fflush(o->ready);
	}
	int sig = 0;
	sigwait(&stop_signals, &sig);
	/* Stop accepting; what is in flight is answered and committed. */
	atomic_store(&srv.stopping, true);
	MHD_socket lfd = MHD_quiesce_daemon(srv.d);
	ds_committer_stop(srv.cm);
	/* Requests still being read are answered (503) as they complete; give
	 * them the connection timeout at most. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)cfg->serve.timeout_seconds;
	pthread_mutex_lock(&srv.mu);
	while (srv.active && pthread_cond_timedwait(&srv.idle, &srv.mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&srv.mu);
	MHD_stop_daemon(srv.d);
	srv.d = NULL;
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	fd = -1;
	if (!o->quiet)
		fprintf(stderr, "{\"event\":\"stopped\",\"signal\":\"%s\"}\n",
			sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = DS_OK;
unmask:
	ds_committer_stop(srv.cm);
done:
	if (fd >= 0)
		close(fd);
	server_free(&srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ds_free(tls_key);
	ds_free(tls_cert);
	pthread_key_delete(srv.reader_key);
	pthread_cond_destroy(&srv.idle);
	pthread_mutex_destroy(&srv.mu);
	pthread_mutex_destroy(&srv.readers_mu);
	return rc;
}
