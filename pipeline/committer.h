/*
 * committer.h - group commit for `dossier serve`: one thread takes every
 * job waiting (inputs posted to a source, case events and edits), runs
 * them in one transaction (inputs through the stage chain, case actions
 * through the engine, each undone alone when refused), commits it
 * (SQLite synchronous=FULL: one fsync for the group), and only then hands
 * each job back, answered, through the done callback. Between groups, and
 * every tick_seconds, it fires due timers as `dossier tick` does. It knows
 * nothing of HTTP: the server turns answers into responses.
 *
 * Ownership: a job belongs to its caller until ds_committer_push(), to the
 * committer until it is passed to done(), and to the caller again after.
 */
#ifndef DS_COMMITTER_H
#define DS_COMMITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "chain.h"
#include "config.h"
#include "err.h"
#include "mem.h"
#include "metrics.h"

typedef enum { DS_JOB_INGEST, DS_JOB_EVENT, DS_JOB_EDIT } ds_job_kind;

typedef struct ds_job {
	struct ds_job *next;         /* the committer's */
	ds_job_kind kind;
	void *ud;                    /* the caller's (the server's connection) */
	/* DS_JOB_INGEST: the input, borrowed until done */
	const ds_source *source;
	size_t source_index;         /* in cfg->sources, for the metrics */
	const char *channel;
	const char *bytes;
	size_t len;
	const char *identity;        /* the sender's id, or NULL */
	/* read ahead by ds_job_read_ahead() */
	ds_arena *arena;             /* the input's; the caller frees it, after done */
	char sha256[65];
	cJSON *doc;
	bool premapped;
	ds_premap premap;
	/* DS_JOB_EVENT, DS_JOB_EDIT */
	const char *ref;             /* the case: id, key or PROCESS:KEY */
	const char *event;
	const char *role, *actor;
	cJSON *fields;               /* edit: borrowed */
	/* the answer */
	int status;                  /* HTTP status */
	char *answer;                /* JSON text, malloc'd; the caller frees it */
	size_t answer_len;
	const char *retry_after;     /* or NULL */
	int outcome;                 /* DS_OUTCOME_*, inputs */
	int64_t interaction;         /* inputs: their interaction id, or 0 */
	bool final;                  /* answered even if the group is undone */
} ds_job;

/* What the committer would do first and needs no store, done by the
 * caller's thread so that the committer's thread only writes: the
 * SHA-256, the parse, the mapping and the validation (as `ingest`'s
 * readers do). j->arena must be set. An input that cannot be parsed here
 * is parsed again by the read stage, so its rejection reads the same; XML
 * is left to the committer (its parser is one per thread). */
void ds_job_read_ahead(const ds_config *cfg, ds_job *j);

typedef struct ds_committer ds_committer;

/* Opens the committer's store connection (store_url, relative to the
 * configuration's home) and chain, and fires the timers due now. done(ud,
 * job) is called once a job's group is committed (or refused), from a
 * thread of the committer that only does that, in the order the jobs were
 * run (the committer goes on with its next group meanwhile). */
int ds_committer_new(const ds_config *cfg, const char *store_url, ds_metrics *metrics,
		     bool quiet, void (*done)(void *ud, ds_job *j), void *ud,
		     ds_committer **out, ds_err *err);
/* Starts the thread. */
int ds_committer_start(ds_committer *c, ds_err *err);

/* Reserves room for one job: 0, DS_EBUSY when queue_max jobs wait
 * already, DS_EREFUSED once stopping. A reservation is followed by one
 * ds_committer_push(). */
int ds_committer_reserve(ds_committer *c);
void ds_committer_push(ds_committer *c, ds_job *j);
/* Jobs reserved, queued or running, not yet done. */
size_t ds_committer_queued(ds_committer *c);

/* Runs every job pushed or reserved, hands each back through done(), then
 * stops the threads. */
void ds_committer_stop(ds_committer *c);
/* Stops it if needed, and frees it; accepts NULL. */
void ds_committer_free(ds_committer *c);

#endif
