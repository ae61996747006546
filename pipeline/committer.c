/*
 * committer.c - group commit for `dossier serve`; see committer.h.
 *
 * One pass over a group: begin, each job in turn (an input through the
 * chain, which quarantines what it rejects; a case action in a savepoint,
 * rolled back alone when refused), commit. A job whose failure undoes the
 * whole transaction (an I/O error, a busy store) is answered alone and the
 * others run again in a new transaction: at most one pass more than there
 * are jobs.
 */
#include "committer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "hash.h"
#include "input.h"
#include "store.h"
#include "view.h"

/* Jobs in the order they came, linked by next; guarded by the owner's
 * mutex. */
typedef struct jobq {
	ds_job *head, *tail;
} jobq;

/* Appends list (linked by next, NULL-terminated). */
static void jobq_add(jobq *q, ds_job *list)
{
	if (!list)
		return;
	ds_job *last = list;
	while (last->next)
		last = last->next;
	if (q->tail)
		q->tail->next = list;
	else
		q->head = list;
	q->tail = last;
}

static ds_job *jobq_take(jobq *q)
{
	ds_job *list = q->head;
	q->head = q->tail = NULL;
	return list;
}

/* The thread that hands committed groups back through done(), so that the
 * committer goes on to its next group at once (the server resumes a
 * connection per job, a system call each). */
typedef struct answerer {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	jobq q;
	bool waiting;
	bool stop;                   /* stop once every group is handed back */
} answerer;

struct ds_committer {
	const ds_config *cfg;
	ds_metrics *metrics;
	bool quiet;
	void (*done)(void *ud, ds_job *j);
	void *ud;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* the thread waits for work */
	jobq q;
	answerer ans;
	size_t queued;               /* reserved, queued or running, not done */
	size_t reserved;             /* reserved, not pushed yet */
	bool waiting;                /* the thread sleeps on cv */
	bool stop;                   /* stop once every job is done */
	ds_store *store;
	ds_runtime rt;
	bool rt_ready;
	ds_chain *chain;
	ds_arena *arena;             /* case actions' */
	ds_env *env;
};

static char *text_dup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Sets a job's answer (malloc'd text taken over). */
static void job_answer(ds_job *j, int status, char *text, size_t len)
{
	free(j->answer);
	j->status = status;
	j->answer = text;
	j->answer_len = len;
}

static void job_error(ds_job *j, int status, const char *code, const char *message,
		      const char *field)
{
	size_t len;
	char *text = ds_view_error(code, message, field, &len);
	job_answer(j, status, text, len);
}

/* The ids an input gave, at most DS_ENV_MAX_RECORDS of each. */
struct ids {
	int64_t records[DS_ENV_MAX_RECORDS], cases[DS_ENV_MAX_RECORDS];
	size_t nrecords, ncases;
};

static void add_id(struct ids *x, int64_t record, int64_t case_id)
{
	if (x->nrecords < DS_ENV_MAX_RECORDS)
		x->records[x->nrecords++] = record;
	if (!case_id)
		return;
	for (size_t i = 0; i < x->ncases; i++)
		if (x->cases[i] == case_id)
			return;
	if (x->ncases < DS_ENV_MAX_RECORDS)
		x->cases[x->ncases++] = case_id;
}

static int add_ref(void *ud, const ds_record_ref *r)
{
	add_id(ud, r->id, r->case_id);
	return 0;
}

/* The ids of what env's input gave: from the chain when every record went
 * to a case (it knows their ids), else from the store. */
static void input_ids(ds_committer *cm, const ds_env *env, struct ids *x)
{
	bool known = env->nrecords > 0 && !env->duplicate;
	for (size_t i = 0; i < env->nrecords && known; i++)
		known = env->records[i].has_work && env->records[i].work.record_id;
	if (known) {
		for (size_t i = 0; i < env->nrecords; i++)
			add_id(x, env->records[i].work.record_id, env->records[i].work.row.id);
		return;
	}
	ds_err err = {0};
	ds_store_interaction_records(cm->store, env->interaction_id, add_ref, x, &err);
}

static void id_list(ds_buf *b, const int64_t *v, size_t n)
{
	ds_buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			ds_buf_putc(b, ',');
		ds_buf_put_i64(b, v[i]);
	}
	ds_buf_putc(b, ']');
}

/* {"interaction": N, "records": [...], "cases": [...], "duplicate": B};
 * NULL when out of memory. */
static char *ids_json(int64_t interaction, const struct ids *x, bool duplicate, size_t *len)
{
	ds_buf b;
	ds_buf_init(&b, 64 + 2 * DS_ENV_MAX_RECORDS * 24);
	ds_buf_puts(&b, "{\"interaction\":");
	ds_buf_put_i64(&b, interaction);
	ds_buf_puts(&b, ",\"records\":");
	id_list(&b, x->records, x->nrecords);
	ds_buf_puts(&b, ",\"cases\":");
	id_list(&b, x->cases, x->ncases);
	int rc = ds_buf_puts(&b, duplicate ? ",\"duplicate\":true}" : ",\"duplicate\":false}");
	char *text = rc ? NULL : text_dup(b.data, b.len);
	*len = rc ? 0 : b.len;
	ds_buf_free(&b);
	return text;
}

/* The first JSON Pointer of a validation reason ("offer record: 1 error:
 * /lines/0/quantity: must be..."), or NULL. */
static const char *reason_field(const char *reason, char *buf, size_t cap)
{
	const char *p = strstr(reason, " error: ");
	if (!p)
		p = strstr(reason, " errors: ");
	if (!p)
		return NULL;
	p = strchr(p, ':') + 2;
	if (*p != '/')
		return NULL;
	size_t n = strcspn(p, ":");
	if (n >= cap)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* What the chain left in an input's arena: a document it parsed itself
 * has a cleanup that reads env, so it is freed now; what was read ahead
 * (and what the chain added to it) is freed by the caller with the arena,
 * on its own thread, which allocated most of it. */
static void release(ds_job *j, const ds_env *env)
{
	if (!env->premap)
		ds_arena_reset(j->arena);
}

/* Runs one posted input through the chain. Returns 0; -1 when the batch
 * must be undone, the job then answered on its own; 1 when it must be run
 * again with a savepoint per input (the input was rejected after it
 * wrote). */
static int run_ingest(ds_committer *cm, ds_job *j)
{
	ds_env *env = cm->env;
	ds_err err = {0};
	ds_env_init(env);
	env->arena = j->arena;
	memcpy(env->sha256, j->sha256, sizeof env->sha256);
	env->doc = j->doc;
	env->premap = j->premapped ? &j->premap : NULL;
	/* The chain's from here on: a group run again parses the input
	 * again. */
	j->doc = NULL;
	j->premapped = false;
	env->origin = "http";
	env->source = j->source;
	env->channel = j->channel;
	env->bytes = (const unsigned char *)j->bytes;
	env->len = j->len;
	env->identity = j->identity;
	ds_outcome o = ds_chain_run(cm->chain, env, &err);
	j->interaction = env->interaction_id;
	if (env->redo) {
		release(j, env);
		return 1;
	}
	if (o == DS_STAGE_FAIL || o == DS_STAGE_RETRY) {
		job_error(j, o == DS_STAGE_RETRY ? 503 : 500,
			  o == DS_STAGE_RETRY ? "busy" : "internal", err.msg, NULL);
		j->retry_after = o == DS_STAGE_RETRY ? "1" : NULL;
		j->final = true;
		release(j, env);
		return -1;
	}
	ds_quarantine_row q = {0};
	const char *stage = env->stage;
	const char *reason = err.msg;
	int64_t qid = env->quarantine_id;
	bool rejected = o == DS_STAGE_REJECT;
	if (!rejected) {
		struct ids x = { .nrecords = 0 };
		ds_err e2 = {0};
		input_ids(cm, env, &x);
		/* A repeat of an input that went to quarantine answers as it did. */
		if (env->duplicate && !x.nrecords &&
		    !ds_store_quarantine_of(cm->store, env->interaction_id, j->arena, &q, &e2)) {
			rejected = true;
			stage = q.stage;
			reason = q.reason;
			qid = q.id;
		} else {
			size_t len;
			char *text = ids_json(env->interaction_id, &x, env->duplicate, &len);
			job_answer(j, env->duplicate ? 200 : 202, text, len);
			j->outcome = env->duplicate ? DS_OUTCOME_DUPLICATE : DS_OUTCOME_ACCEPTED;
			release(j, env);
			return 0;
		}
	}
	cJSON *doc = cJSON_CreateObject();
	char field[256];
	const char *f = reason_field(reason, field, sizeof field);
	cJSON *e = cJSON_AddObjectToObject(doc, "error");
	cJSON_AddStringToObject(e, "code", "invalid");
	cJSON_AddStringToObject(e, "message", reason);
	if (f)
		cJSON_AddStringToObject(e, "field", f);
	cJSON_AddStringToObject(doc, "stage", stage ? stage : "");
	cJSON_AddNumberToObject(doc, "quarantine", (double)qid);
	if (env->interaction_id)
		cJSON_AddNumberToObject(doc, "interaction", (double)env->interaction_id);
	else
		cJSON_AddNullToObject(doc, "interaction");
	cJSON_AddBoolToObject(doc, "duplicate", env->duplicate || env->quarantine_dup);
	size_t len;
	char *text = ds_view_text(doc, &len);
	job_answer(j, 400, text, len);
	j->outcome = DS_OUTCOME_QUARANTINED;
	release(j, env);
	return 0;
}

/* Whether some state of p takes event, from any role. */
static bool has_event(const ds_process *p, const char *event)
{
	for (size_t s = 0; s < p->nstates; s++)
		for (size_t t = 0; t < p->states[s].non; t++)
			if (p->states[s].on[t].kind == DS_ON_EVENT &&
			    !strcmp(p->states[s].on[t].event, event))
				return true;
	return false;
}

/* Whether the engine's refusal is the role's (403: no state of the process
 * lets it do this) rather than the state's (409). */
static bool refused_for_role(const ds_process *p, const ds_job *j)
{
	const char *role = j->role;
	if (!ds_process_knows_role(p, role))
		return true;
	if (j->kind == DS_JOB_EVENT) {
		for (size_t s = 0; s < p->nstates; s++)
			for (size_t t = 0; t < p->states[s].non; t++) {
				const ds_transition_def *d = &p->states[s].on[t];
				if (d->kind != DS_ON_EVENT || strcmp(d->event, j->event))
					continue;
				for (size_t k = 0; k < d->nroles; k++)
					if (!strcmp(d->roles[k], role))
						return false;
			}
		return true;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, j->fields) {
		bool somewhere = false;
		for (size_t s = 0; s < p->nstates && !somewhere; s++)
			somewhere = ds_process_may_edit(p, (int)s, role, f->string);
		if (!somewhere)
			return true;
	}
	return false;
}

/* A user action on a case (an event, an edit) inside the batch, undone
 * alone when refused. */
static int run_case_action(ds_committer *cm, ds_job *j)
{
	ds_runtime *rt = &cm->rt;
	ds_err err = {0};
	ds_case_work w;
	size_t mark = ds_runtime_mark(rt);
	ds_stats before = rt->stats;
	int status = 0;
	const char *code = NULL;
	if (ds_store_savepoint(cm->store, &err)) {
		job_error(j, 503, "busy", err.msg, NULL);
		j->retry_after = "1";
		j->final = true;
		return -1;
	}
	int rc = ds_engine_find(&w, cm->arena, cm->cfg, cm->store, j->ref, &err);
	if (rc) {
		status = rc == DS_ENOTFOUND ? 404 : rc == DS_ECONFIG ? 409 : 500;
		code = rc == DS_ENOTFOUND ? "not_found" : "error";
		goto done;
	}
	if (j->kind == DS_JOB_EVENT) {
		rc = ds_engine_event(&w, j->event, j->role, j->actor, rt->now, &err);
	} else {
		ds_cause cause = { .kind = DS_CAUSE_EDIT, .role = j->role,
				   .actor = j->actor };
		rc = ds_engine_edit(&w, j->fields, j->role, &cause, rt->now, &err);
		if (!rc && (rc = ds_engine_validate(&w, cm->cfg, &err)) == DS_EREFUSED) {
			status = 400;
			code = "invalid";
			goto done;
		}
	}
	if (rc == DS_EREFUSED && j->kind == DS_JOB_EVENT && !has_event(w.p, j->event)) {
		/* Not a right or a state: there is no such event. */
		ds_err_set(&err, DS_ENOTFOUND, "%s %s has no event \"%s\"", w.p->name, w.row.key,
			   j->event);
		status = 404;
		code = "not_found";
		goto done;
	}
	if (rc == DS_EREFUSED) {
		bool role = refused_for_role(w.p, j);
		status = role ? 403 : 409;
		code = role ? "forbidden" : "not_allowed";
		goto done;
	}
	if (!rc && !(rc = ds_engine_settle(&w, rt->now, &err)) &&
	    !(rc = ds_engine_commit(rt, &w, &err)))
		rc = ds_engine_produce(rt, &w, &err);
	if (rc) {
		/* A conflict with another change, or a document that fails on the
		 * data: the case cannot take this change now. */
		bool conflict = rc == DS_EBUSY || rc == DS_EINVAL || rc == DS_EREFUSED;
		status = conflict ? 409 : 500;
		code = conflict ? "conflict" : "internal";
	}
done:
	if (status) {
		ds_store_rollback_to(cm->store);
		ds_store_release(cm->store, NULL);
		ds_runtime_discard(rt, mark);
		rt->stats = before;
		job_error(j, status, code, err.msg, NULL);
		ds_arena_reset(cm->arena);
		return 0;
	}
	if (ds_store_release(cm->store, &err)) {
		job_error(j, 500, "internal", err.msg, NULL);
		j->final = true;
		ds_arena_reset(cm->arena);
		return -1;
	}
	cJSON *doc = ds_view_case(&w.row, false);
	cJSON_AddNumberToObject(doc, "transitions", (double)(rt->stats.transitions - before.transitions));
	cJSON_AddNumberToObject(doc, "documents", (double)(rt->stats.documents - before.documents));
	size_t len;
	char *text = ds_view_text(doc, &len);
	job_answer(j, 200, text, len);
	ds_arena_reset(cm->arena);
	return 0;
}

/* Answers every job of the list that has not been answered with status. */
static void answer_all(ds_job *list, int status, const char *code, const char *message)
{
	for (ds_job *j = list; j; j = j->next)
		if (!j->final) {
			job_error(j, status, code, message, NULL);
			j->retry_after = status == 503 ? "1" : NULL;
		}
}

/* Runs a group of jobs in one transaction, then answers them all. */
static void run_batch(ds_committer *cm, ds_job *list)
{
	size_t n = 0;
	for (ds_job *j = list; j; j = j->next)
		n++;
	ds_metrics_batch(cm->metrics, n);
	ds_err err = {0};
	cm->rt.now = ds_time_now();
	bool again = true;
	/* Inputs run without a savepoint each: most are kept, and SQLite
	 * would copy every page each one touches into the savepoint's
	 * journal. One rejected after it wrote makes the group run again
	 * with savepoints, as `ingest` runs. */
	ds_chain_savepoints(cm->chain, false);
	/* Each pass either commits, or answers one more job on its own, or
	 * turns savepoints on: at most n + 2 passes. */
	while (again) {
		again = false;
		if (ds_chain_batch_begin(cm->chain, &err)) {
			answer_all(list, 503, "busy", err.msg);
			break;
		}
		bool undone = false;
		for (ds_job *j = list; j && !undone; j = j->next) {
			if (j->final)
				continue;
			int rc = j->kind == DS_JOB_INGEST ? run_ingest(cm, j) : run_case_action(cm, j);
			if (rc > 0)
				ds_chain_savepoints(cm->chain, true);
			undone = rc != 0;
		}
		if (undone) {
			ds_chain_batch_abort(cm->chain);
			again = true;
			continue;
		}
		if (ds_chain_batch_end(cm->chain, &err))
			answer_all(list, 503, "busy", err.msg);
	}
	pthread_mutex_lock(&cm->mu);
	cm->queued -= n;
	pthread_mutex_unlock(&cm->mu);
	answerer *a = &cm->ans;
	pthread_mutex_lock(&a->mu);
	jobq_add(&a->q, list);
	if (a->waiting)
		pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void *answerer_main(void *p)
{
	ds_committer *cm = p;
	answerer *a = &cm->ans;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		ds_job *list = jobq_take(&a->q);
		if (!list && a->stop)
			break;
		if (!list) {
			a->waiting = true;
			pthread_cond_wait(&a->cv, &a->mu);
			a->waiting = false;
			continue;
		}
		pthread_mutex_unlock(&a->mu);
		for (ds_job *j = list, *next; j; j = next) {
			next = j->next;
			/* From here on the job is the caller's. */
			cm->done(cm->ud, j);
		}
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void timer_failed(void *ud, const ds_timer_row *t, const ds_err *e)
{
	ds_committer *cm = ud;
	if (cm->quiet)
		return;
	/* The reason may quote case data: `dossier tick` shows it; the log
	 * names the timer and the kind of failure only. */
	fprintf(stderr, "{\"event\":\"timer_failed\",\"timer\":%" PRId64 ",\"case\":%" PRId64
		",\"state\":\"%s\",\"error\":\"%s\"}\n", t->id, t->case_id, t->state,
		ds_err_name(e->code));
}

static void fire_timers(ds_committer *cm)
{
	ds_err err = {0};
	cm->rt.now = ds_time_now();
	int64_t before = cm->rt.stats.fired;
	if (ds_engine_tick(&cm->rt, NULL, timer_failed, cm, &err) && !cm->quiet)
		fprintf(stderr, "{\"event\":\"tick_failed\",\"code\":\"%s\"}\n",
			ds_err_name(err.code));
	ds_metrics_timers_fired(cm->metrics, cm->rt.stats.fired - before);
}

static void *committer_main(void *p)
{
	ds_committer *cm = p;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);   /* the start fired the due ones */
	next.tv_sec += (time_t)cm->cfg->serve.tick_seconds;
	pthread_mutex_lock(&cm->mu);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool tick_due = now.tv_sec > next.tv_sec ||
				(now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec);
		if (cm->q.head) {
			ds_job *list = jobq_take(&cm->q);
			pthread_mutex_unlock(&cm->mu);
			run_batch(cm, list);
			pthread_mutex_lock(&cm->mu);
			continue;
		}
		if (cm->stop && !cm->reserved)
			break;
		if (tick_due && !cm->stop) {
			pthread_mutex_unlock(&cm->mu);
			fire_timers(cm);
			clock_gettime(CLOCK_MONOTONIC, &next);
			next.tv_sec += (time_t)cm->cfg->serve.tick_seconds;
			pthread_mutex_lock(&cm->mu);
			continue;
		}
		cm->waiting = true;
		pthread_cond_timedwait(&cm->cv, &cm->mu, &next);
		cm->waiting = false;
	}
	pthread_mutex_unlock(&cm->mu);
	return NULL;
}

static void free_json(void *p) { cJSON_Delete(p); }

static void read_ahead(const ds_config *cfg, ds_job *j)
{
	ds_sha256_hex(j->bytes, j->len, j->sha256);
	if (!strcmp(j->channel, "xml") || j->len > cfg->limits.max_input_bytes)
		return;
	cJSON *doc = NULL;
	ds_xml_doc *none = NULL;
	ds_err err = {0};
	if (ds_input_parse(j->channel, j->bytes, j->len, &cfg->limits, NULL, j->arena, &doc, &none,
			   &err) || !doc) {
		cJSON_Delete(doc);
		return;
	}
	ds_premap *p = &j->premap;
	const ds_source *source = j->source;
	p->source = source;
	p->map_err = (ds_err){0};
	p->valid_err = (ds_err){0};
	/* A rule that copies the whole input may take the tree itself: then
	 * doc is NULL and the record owns it. */
	p->map = ds_map_input(source, &doc, NULL, j->sha256, ds_time_now(), j->arena, p->records,
			      &p->nrecords, &p->map_err);
	if (doc && ds_arena_defer(j->arena, free_json, doc))
		return;  /* doc is freed; the read stage parses again */
	ds_premap_check(p, cfg, j->arena);
	/* With a premap the document is only read (an email's Message-ID and
	 * thread, a form's files); it is never freed by the chain. A JSON
	 * input taken over by its record is not read again: the record stands
	 * for it. Another channel's is parsed again by the read stage. */
	if (!doc && strcmp(j->channel, "json"))
		return;
	j->doc = doc ? doc : p->nrecords ? p->records[0].data : NULL;
	j->premapped = j->doc != NULL;
}

void ds_job_read_ahead(const ds_config *cfg, ds_job *j)
{
	/* What cJSON allocates for the input (its document, its records)
	 * comes from its arena (a zone, mem.h): no malloc and free per node,
	 * and all of it goes at once with the request. */
	ds_json_zone(j->arena);
	read_ahead(cfg, j);
	ds_json_zone(NULL);
}


int ds_committer_new(const ds_config *cfg, const char *store_url, ds_metrics *metrics,
		     bool quiet, void (*done)(void *ud, ds_job *j), void *ud,
		     ds_committer **out, ds_err *err)
{
	*out = NULL;
	ds_committer *cm = ds_calloc(1, sizeof *cm);
	if (!cm)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	cm->cfg = cfg;
	cm->metrics = metrics;
	cm->quiet = quiet;
	cm->done = done;
	cm->ud = ud;
	pthread_mutex_init(&cm->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cm->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&cm->ans.mu, NULL);
	pthread_cond_init(&cm->ans.cv, NULL);
	int rc;
	if (!(cm->arena = ds_arena_new(64 * 1024)) || !(cm->env = ds_malloc(sizeof *cm->env))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = ds_store_open(store_url, cfg->home, &cm->store, err)) ||
	    (rc = ds_runtime_init(&cm->rt, cfg, cm->store, ds_time_now(), err)))
		goto fail;
	cm->rt_ready = true;
	if ((rc = ds_chain_new(&cm->rt, &cm->chain, err)))
		goto fail;
	/* Timers that fell due while nothing ran fire before the first job. */
	fire_timers(cm);
	*out = cm;
	return DS_OK;
fail:
	ds_committer_free(cm);
	return rc;
}

int ds_committer_start(ds_committer *cm, ds_err *err)
{
	if (pthread_create(&cm->ans.thread, NULL, answerer_main, cm))
		return ds_err_set(err, DS_EINTERNAL, "cannot start the committer's answering thread");
	cm->ans.started = true;
	if (pthread_create(&cm->thread, NULL, committer_main, cm))
		return ds_err_set(err, DS_EINTERNAL, "cannot start the committer thread");
	/* Named for top -H and perf. */
	pthread_setname_np(cm->ans.thread, "answerer");
	pthread_setname_np(cm->thread, "committer");
	cm->started = true;
	return DS_OK;
}

int ds_committer_reserve(ds_committer *cm)
{
	int rc = DS_OK;
	pthread_mutex_lock(&cm->mu);
	if (cm->stop)
		rc = DS_EREFUSED;
	else if (cm->queued >= cm->cfg->serve.queue_max)
		rc = DS_EBUSY;
	else {
		cm->queued++;
		cm->reserved++;
	}
	pthread_mutex_unlock(&cm->mu);
	return rc;
}

void ds_committer_push(ds_committer *cm, ds_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&cm->mu);
	cm->reserved--;
	jobq_add(&cm->q, j);
	if (cm->waiting)
		pthread_cond_signal(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
}

size_t ds_committer_queued(ds_committer *cm)
{
	pthread_mutex_lock(&cm->mu);
	size_t n = cm->queued;
	pthread_mutex_unlock(&cm->mu);
	return n;
}

void ds_committer_stop(ds_committer *cm)
{
	pthread_mutex_lock(&cm->mu);
	cm->stop = true;
	pthread_cond_signal(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
	if (cm->started)
		pthread_join(cm->thread, NULL);
	cm->started = false;
	/* Every group is handed back before this returns. */
	answerer *a = &cm->ans;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
		a->started = false;
	}
}

void ds_committer_free(ds_committer *cm)
{
	if (!cm)
		return;
	ds_committer_stop(cm);
	ds_chain_free(cm->chain);
	if (cm->rt_ready)
		ds_runtime_fini(&cm->rt);
	ds_store_close(cm->store);
	ds_arena_free(cm->arena);
	ds_free(cm->env);
	pthread_cond_destroy(&cm->cv);
	pthread_mutex_destroy(&cm->mu);
	pthread_cond_destroy(&cm->ans.cv);
	pthread_mutex_destroy(&cm->ans.mu);
	ds_free(cm);
}
