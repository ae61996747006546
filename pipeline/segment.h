/*
 * segment.h - segments: named filters over the profile store that
 * marketing exports, only ever to people whose consent allows it
 * (schemas/segments/NAME.json, the segment being NAME).
 *
 *   {"title": "Offre refusée ces six derniers mois",
 *    "filter": "\"offer_rejected\" in tags and days_since(tags.offer_rejected) < 183",
 *    "consent": {"purpose": "marketing", "channel": "email"},
 *    "columns": ["email", "attributes.name",
 *                {"field": "tags.offer_rejected", "header": "refused_at"}]}
 *
 * The filter is an expression (expr.h) over what a profile holds:
 *   id                          the profile's id
 *   attributes.NAME[.KEY...]    an attribute's current value (and inside it)
 *   traits.NAME                 orders_count, total_spent (a decimal),
 *                               last_order_at (a date), offers_sent,
 *                               offers_accepted, offers_rejected,
 *                               open_complaints, last_interaction_at (a time)
 *   tags                        its tags: "offer_rejected" in tags
 *   tags.NAME                   when tag NAME was set (a time); null without it
 *   interests                   its interests: "climatisation" in interests
 *   consent.PURPOSE.CHANNEL     true granted, false withdrawn, null never stated
 * each optionally written "profile.…". It is compiled into the store's
 * query (store.h) with every value a bound parameter, relative times
 * (days_since) turned into bounds from now; what cannot be compiled (two
 * fields compared with each other, an unknown trait, a list compared with
 * a value) is an error of `dossier check`, with the file, "/filter" and
 * the column. Comparisons mean what the evaluator means (expr.h), with
 * one restriction: an attribute compares with values of its own JSON type
 * only (a string attribute with a string, a number with a number).
 *
 * "consent" names the purpose and channel an export needs (channels:
 * email, sms, post, phone); profiles without it granted are counted apart
 * and never exported. "columns" (default ["id", "email",
 * "attributes.name"]) are id, an identity kind (email, phone, siret…: the
 * profile's first), attributes.NAME[.KEY...], traits.NAME, tags, tags.NAME,
 * interests; each a string, or {"field": F, "header": H}.
 *
 * A loaded segment is immutable and shared by threads.
 */
#ifndef DS_SEGMENT_H
#define DS_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "err.h"
#include "expr.h"
#include "mem.h"
#include "process.h"
#include "profile_rules.h"
#include "store.h"

#define DS_SEGMENT_MAX_COLUMNS 64

typedef struct ds_segment_column {
	char *field;                 /* as written: "attributes.name" */
	char *header;                /* CSV header and NDJSON key */
	ds_segc_kind kind;           /* what the store reads for it */
	char *arg;                   /* the identity kind, or the tag */
	int trait;
	char **keys;                 /* attribute: its name, then keys inside */
	size_t nkeys;
	size_t cell;                 /* which of the store's columns holds it */
} ds_segment_column;

typedef struct ds_segment {
	char *file;
	char *name;
	char *title;
	char *description;
	char *filter_src;
	ds_expr *filter;
	char *purpose;
	char *channel;
	ds_segment_column *columns;
	size_t ncolumns;
	ds_seg_column *reads;        /* the store's columns, each read once */
	size_t nreads;
} ds_segment;

/* Loads one definition; every problem goes to diag with the file and JSON
 * path. rules (may be NULL: any) gives the identity kinds a column may
 * name. Returns 0, DS_ECONFIG (then *out is NULL), or DS_ENOMEM. */
int ds_segment_load(const char *path, const ds_profile_rules *rules, ds_diag *diag,
		    ds_segment **out, ds_err *err);
void ds_segment_free(ds_segment *s);

/* What only the whole configuration knows, as warnings: a tag no process
 * state adds, a consent no record states (the segment would stay empty). */
void ds_segment_check(const ds_segment *s, const ds_process *const *processes,
		      size_t nprocesses, const ds_profile_rules *rules, ds_diag *diag);

/* The store's query for s, times counted from now; in a. DS_EINVAL (with
 * the column in the message) for a filter that does not compile. */
int ds_segment_query(const ds_segment *s, ds_time now, ds_arena *a, ds_seg_query *out,
		     ds_err *err);

/* How many profiles s matches, and how many of them may be exported. */
int ds_segment_count(ds_store *store, const ds_segment *s, ds_time now, int64_t *matched,
		     int64_t *exported, ds_err *err);

typedef enum { DS_SEGMENT_CSV, DS_SEGMENT_NDJSON } ds_segment_format;

/* The largest row an export writes (a row is a profile's columns). */
#define DS_SEGMENT_ROW_MAX (16u << 20)

/* Writes the profiles of s whose consent allows it to out, in constant
 * memory: CSV (RFC 4180: a header row, fields quoted when they hold a
 * comma, a quote, CR or LF, quotes doubled, CRLF line ends; UTF-8) or one
 * JSON object per line. *rows gets how many. DS_EIO when out fails. */
int ds_segment_export(ds_store *store, const ds_segment *s, ds_time now,
		      ds_segment_format format, FILE *out, int64_t *rows, ds_err *err);

/* The same export, pulled piece by piece by a writer that goes at its own
 * pace (the HTTP server): open it, then each call of next appends one
 * piece to out (the CSV header row first, then one profile's row) and
 * returns 1, or 0 once every row is given, or a negative error (DS_ELIMIT
 * when a row does not fit in out's maximum). The reader holds a store
 * cursor (store.h: one snapshot, store used for nothing else meanwhile)
 * until it is closed; s must outlive it. rows: how many profiles' rows
 * were given so far. close accepts NULL. */
typedef struct ds_segment_reader ds_segment_reader;
int ds_segment_reader_open(ds_store *store, const ds_segment *s, ds_time now,
			   ds_segment_format format, ds_segment_reader **out, ds_err *err);
int ds_segment_reader_next(ds_segment_reader *r, ds_buf *out, ds_err *err);
int64_t ds_segment_reader_rows(const ds_segment_reader *r);
void ds_segment_reader_close(ds_segment_reader *r);

/* Appends one CSV field, quoted when it must be. 0, or DS_ELIMIT /
 * DS_ENOMEM. */
int ds_segment_csv_field(ds_buf *out, const char *s, size_t n);

/* A profile as a filter reads it (the fields above), for the evaluator:
 * what the compiled query must agree with. The caller frees it. */
int ds_segment_view(ds_store *store, int64_t pid, cJSON **out, ds_err *err);
/* The expression resolver over such a view ("profile." allowed). */
const cJSON *ds_segment_resolve(void *view, const char *const *segs, size_t n);

#endif
