/*
 * chain.h - the stage chain: the envelope one input travels in, the stage
 * interface, and the chain that runs every registered stage in order.
 *
 * A stage type (a const struct, one per file under stages/, listed in
 * stages/stages.def) is separate from its instance: a chain allocates each
 * stage's private context (ctx_size bytes, zeroed) and calls init once,
 * process once per input, control at batch edges, and fini at the end.
 * A chain belongs to one thread; a server runs one chain per worker thread
 * over the same immutable ds_config.
 *
 * process() answers one of:
 *   DS_STAGE_CONTINUE  go on to the next stage (env->done stops the chain
 *                      early without error, e.g. for a duplicate);
 *   DS_STAGE_REJECT    quarantine this input with the stage's name and the
 *                      reason in err; the rest of the batch goes on;
 *   DS_STAGE_RETRY     a passing condition (a busy store): try again later;
 *   DS_STAGE_FAIL      the run cannot go on (I/O error, out of memory).
 * Outcomes are not errors: only FAIL stops a batch.
 */
#ifndef DS_CHAIN_H
#define DS_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "err.h"
#include "mem.h"
#include "xml.h"

typedef enum {
	DS_STAGE_CONTINUE = 0,
	DS_STAGE_REJECT,
	DS_STAGE_RETRY,
	DS_STAGE_FAIL,
} ds_outcome;

#define DS_ENV_MAX_RECORDS 16
#define DS_ENV_MAX_THREAD 32          /* message ids followed back */

/* A record as the map stage made it, before validation. */
typedef struct ds_mapped {
	const char *type;
	cJSON *data;                 /* freed with the input's arena */
	const char *text;            /* data's JSON text when printed ahead
	                                (in the arena), else NULL */
} ds_mapped;

/* Map and validate run ahead of the chain, by a thread that reads inputs
 * ahead of it (mapping and validating touch neither the store nor the
 * output): the map stage then takes these records and outcome instead of
 * mapping, and the validate stage gives the outcome found here. */
typedef struct ds_premap {
	const ds_source *source;     /* the source the input was mapped by */
	ds_outcome map;
	ds_err map_err;
	ds_mapped records[DS_ENV_MAX_RECORDS];
	size_t nrecords;
	ds_outcome valid;
	ds_err valid_err;
} ds_premap;

typedef struct ds_env_record {
	const char *type;
	cJSON *data;                 /* owned through env->arena */
	const char *text;            /* data's JSON text printed ahead, or NULL;
	                                whoever changes data sets it to NULL */
	const ds_process *process;   /* set by advance */
	int64_t record_id;           /* set by advance for a record no process
	                                consumes (else work.record_id) */
	ds_case_work work;           /* the case it moved */
	bool has_work;
} ds_env_record;

/* One input on its way through the chain. The driver fills the input part
 * (after ds_env_init); stages fill the rest. Everything hangs off arena and
 * dies with it, and the env itself must outlive the arena's next reset
 * (cleanups read it). */
typedef struct ds_env {
	ds_arena *arena;
	/* input */
	const char *origin;          /* file name, "stdin", request id */
	const ds_source *source;
	const char *channel;
	const unsigned char *bytes;
	size_t len;
	bool too_large;              /* over the limit: bytes NULL, size and
	                                sha256 given by the driver */
	size_t size;
	const char *identity;        /* the sender's id of the input (an HTTP
	                                request's webhook-id or Idempotency-Key),
	                                or NULL; an email's Message-ID wins */
	/* read */
	cJSON *doc;                  /* NULL once a record took it over */
	ds_xml_doc *xml;             /* channel xml; owned through the arena */
	const ds_premap *premap;     /* map and validate done ahead, or NULL;
	                                then doc, NULL when a record took it
	                                over, is the driver's to free */
	char sha256[65];
	/* An email's thread, newest first: its In-Reply-To, then its
	 * References from the last; strings in the arena. */
	const char *thread[DS_ENV_MAX_THREAD];
	size_t nthread;
	/* store_raw; set by the driver when replaying a stored input */
	int64_t interaction_id;
	ds_time received_at;         /* when the interaction was first stored */
	bool duplicate;
	bool done;                   /* stop without error */
	bool redo;                   /* rejected after it wrote, in a chain
	                                without savepoints: see
	                                ds_chain_savepoints() */
	/* reject */
	const char *stage;           /* the stage that rejected */
	int64_t quarantine_id;
	bool quarantine_dup;         /* the entry already existed */
	/* map, validate, advance, profile; last, as ds_env_init leaves the
	 * records beyond nrecords as they are */
	size_t nrecords;
	ds_env_record records[DS_ENV_MAX_RECORDS];
} ds_env;

/* Empties env for a new input: everything zero but the records (tens of
 * kilobytes), which the map stage sets one by one. */
void ds_env_init(ds_env *env);

/* What the map stage does: the rules of source s over the parsed input (doc,
 * or xml for the XML channel; sha256 the SHA-256 of its raw bytes, for
 * interaction picks) make up to DS_ENV_MAX_RECORDS records into
 * recs, freed with arena. *doc may be taken over by a record (set to NULL).
 * DS_STAGE_REJECT with the reason in err when nothing maps or a pick fails. */
ds_outcome ds_map_input(const ds_source *s, cJSON **doc, ds_xml_doc *xml, const char *sha256,
			ds_time now, ds_arena *arena, ds_mapped *recs, size_t *nrecs, ds_err *err);

/* What the validate stage does: every record against its type's schema. */
ds_outcome ds_validate_mapped(const ds_config *cfg, const ds_mapped *recs, size_t nrecs,
			      ds_err *err);

/* Maps and validates ahead into p, and prints the valid records as JSON
 * text for the store (in arena). A rule that copies the input may make
 * *doc its record (then *doc is set to NULL, and the record frees it):
 * only where no later stage reads the document (ds_source_keeps_input, or
 * the JSON channel). */
void ds_premap_run(ds_premap *p, const ds_config *cfg, const ds_source *s, cJSON **doc,
		   ds_xml_doc *xml, const char *sha256, ds_time now, ds_arena *arena);
/* What ds_premap_run does once p's records are mapped: validates them
 * and, when they are valid, prints the JSON text each will be stored as
 * into arena, so that the chain's thread only writes it. */
void ds_premap_check(ds_premap *p, const ds_config *cfg, ds_arena *arena);

typedef struct ds_stage_type {
	const char *name;
	size_t ctx_size;
	int (*init)(void *ctx, ds_runtime *rt, ds_err *err);
	ds_outcome (*process)(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err);
	/* Generic hook for batch edges (DS_CTL_*); NULL when not needed. */
	int (*control)(void *ctx, ds_runtime *rt, int op, ds_err *err);
	void (*fini)(void *ctx);
} ds_stage_type;

enum { DS_CTL_BATCH_BEGIN = 1, DS_CTL_BATCH_END };

typedef struct ds_chain ds_chain;

/* Instantiates every registered stage for rt (borrowed). */
int ds_chain_new(ds_runtime *rt, ds_chain **out, ds_err *err);
void ds_chain_free(ds_chain *c);

/* Runs env through the stages. A rejected input is quarantined here (its
 * partial writes undone, its raw bytes kept) and counted; the return value
 * is the outcome of the last stage run. err holds the reason of a REJECT,
 * RETRY or FAIL. */
ds_outcome ds_chain_run(ds_chain *c, ds_env *env, ds_err *err);

/* Whether each input runs in a savepoint of its own (the default), so that
 * a rejection undoes its writes alone. Without, an input costs less to
 * write (SQLite copies every page an input touches into the savepoint's
 * journal first); an input rejected before it wrote anything is
 * quarantined as usual, but one rejected after is not: ds_chain_run
 * answers DS_STAGE_RETRY with env->redo set, and the caller undoes the
 * batch and runs it again with savepoints. */
void ds_chain_savepoints(ds_chain *c, bool on);

/* Batch edges: begin opens a transaction; end flushes documents and
 * commits it; abort rolls it back, removes the documents it wrote and
 * sets the runtime's counters back to where it began. */
int ds_chain_batch_begin(ds_chain *c, ds_err *err);
int ds_chain_batch_end(ds_chain *c, ds_err *err);
void ds_chain_batch_abort(ds_chain *c);

/* The registered stage types, in order. */
size_t ds_stage_count(void);
const ds_stage_type *ds_stage_at(size_t i);

/* The reasons an input is refused for, worded once for the stages and for
 * `inspect`. ds_reason_unmapped: no rule of src gave a record; names what
 * the input has (its fields, or its XML root element) so the rule to add
 * is easy to see. ds_reason_invalid: validates a record of type against
 * schema; DS_EINVAL with "TYPE record: N errors: /ptr: message; ..." (the
 * first ten), 0 when valid, other codes for internal failures. Both set
 * err and return its code. */
int ds_reason_unmapped(const ds_source *src, const cJSON *doc, const ds_xml_doc *xml,
		       ds_err *err);
int ds_reason_invalid(const ds_schema *schema, const char *type, const cJSON *data,
		      ds_err *err);

#endif
