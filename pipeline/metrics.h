/*
 * metrics.h - the server's counters, rendered in the Prometheus text
 * format (version 0.0.4) by GET /metrics.
 *
 * Counters are updated by any thread without a lock (relaxed atomics):
 * requests by route and status, request latency as a histogram, inputs by
 * source and outcome, commit batch sizes, timers fired. Gauges that the
 * store knows (quarantine size, due and overdue timers) are read when the
 * metrics are rendered and passed in.
 */
#ifndef DS_METRICS_H
#define DS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mem.h"

/* The routes of SPEC section 4, as they are labelled. */
enum {
	DS_ROUTE_INGEST, DS_ROUTE_CASES, DS_ROUTE_CASE, DS_ROUTE_CASE_PATCH, DS_ROUTE_CASE_EVENT,
	DS_ROUTE_CASE_DOCUMENTS, DS_ROUTE_DOCUMENT, DS_ROUTE_PROFILE, DS_ROUTE_SEGMENT,
	DS_ROUTE_HEALTHZ, DS_ROUTE_METRICS, DS_ROUTE_OTHER, DS_ROUTE_COUNT_
};

/* What became of an input posted to a source. */
enum {
	DS_OUTCOME_ACCEPTED, DS_OUTCOME_DUPLICATE, DS_OUTCOME_QUARANTINED, DS_OUTCOME_REFUSED,
	DS_OUTCOME_COUNT_
};

typedef struct ds_metrics ds_metrics;

/* Counters for cfg's sources (borrowed; must outlive m). NULL when out of
 * memory. */
ds_metrics *ds_metrics_new(const ds_config *cfg);
void ds_metrics_free(ds_metrics *m);

/* "POST /v1/ingest/{source}"... */
const char *ds_metrics_route_name(int route);

void ds_metrics_request(ds_metrics *m, int route, int status, double seconds);
/* source: index in cfg->sources. */
void ds_metrics_input(ds_metrics *m, size_t source, int outcome);
void ds_metrics_batch(ds_metrics *m, size_t inputs);
void ds_metrics_timers_fired(ds_metrics *m, int64_t n);

typedef struct ds_metrics_gauges {
	int64_t quarantine;      /* open entries */
	int64_t timers_pending;
	int64_t timers_due;      /* due now, not fired yet */
	int64_t timers_overdue;  /* due for longer than one tick interval */
	int64_t queue;           /* requests waiting for their commit */
} ds_metrics_gauges;

/* Appends the metrics text to out. 0 or DS_ELIMIT / DS_ENOMEM. */
int ds_metrics_render(const ds_metrics *m, const ds_metrics_gauges *g, ds_buf *out);

#endif
