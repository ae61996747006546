/*
 * metrics.c - server counters in the Prometheus text format; see metrics.h.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const int statuses[] = { 200, 202, 400, 401, 403, 404, 405, 406, 409, 413, 414, 415,
				429, 431, 500, 501, 503 };
#define NSTATUS (sizeof statuses / sizeof *statuses)
#define STATUS_OTHER NSTATUS

/* Latency buckets, seconds. */
static const double lat_le[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25,
				 0.5, 1, 2.5, 5 };
#define NLAT (sizeof lat_le / sizeof *lat_le)
/* Commit batch sizes, inputs and case actions together. */
static const size_t batch_le[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096 };
#define NBATCH (sizeof batch_le / sizeof *batch_le)

static const char *const outcome_names[DS_OUTCOME_COUNT_] = {
	"accepted", "duplicate", "quarantined", "refused"
};

static const char *const route_names[DS_ROUTE_COUNT_] = {
	[DS_ROUTE_INGEST] = "POST /v1/ingest/{source}",
	[DS_ROUTE_CASES] = "GET /v1/cases",
	[DS_ROUTE_CASE] = "GET /v1/cases/{id}",
	[DS_ROUTE_CASE_PATCH] = "PATCH /v1/cases/{id}",
	[DS_ROUTE_CASE_EVENT] = "POST /v1/cases/{id}/events/{event}",
	[DS_ROUTE_CASE_DOCUMENTS] = "GET /v1/cases/{id}/documents",
	[DS_ROUTE_DOCUMENT] = "GET /v1/documents/{id}",
	[DS_ROUTE_PROFILE] = "GET /v1/profiles/{id}",
	[DS_ROUTE_SEGMENT] = "GET /v1/segments/{name}",
	[DS_ROUTE_HEALTHZ] = "GET /healthz",
	[DS_ROUTE_METRICS] = "GET /metrics",
	[DS_ROUTE_OTHER] = "other",
};

typedef _Atomic uint64_t counter;

struct ds_metrics {
	const ds_config *cfg;
	counter requests[DS_ROUTE_COUNT_][NSTATUS + 1];
	counter lat[DS_ROUTE_COUNT_][NLAT + 1];
	counter lat_sum_us[DS_ROUTE_COUNT_];
	counter batch[NBATCH + 1];
	counter batch_sum;
	counter timers_fired;
	counter *inputs;             /* [nsources][DS_OUTCOME_COUNT_] */
};

ds_metrics *ds_metrics_new(const ds_config *cfg)
{
	ds_metrics *m = ds_calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->cfg = cfg;
	if (!(m->inputs = ds_calloc(cfg->nsources ? cfg->nsources : 1,
				    DS_OUTCOME_COUNT_ * sizeof *m->inputs))) {
		ds_free(m);
		return NULL;
	}
	return m;
}

void ds_metrics_free(ds_metrics *m)
{
	if (!m)
		return;
	ds_free(m->inputs);
	ds_free(m);
}

const char *ds_metrics_route_name(int route)
{
	return route >= 0 && route < DS_ROUTE_COUNT_ ? route_names[route] : "other";
}

static void inc(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void ds_metrics_request(ds_metrics *m, int route, int status, double seconds)
{
	if (route < 0 || route >= DS_ROUTE_COUNT_)
		route = DS_ROUTE_OTHER;
	size_t s = STATUS_OTHER;
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i] == status)
			s = i;
	inc(&m->requests[route][s], 1);
	size_t b = 0;
	while (b < NLAT && seconds > lat_le[b])
		b++;
	inc(&m->lat[route][b], 1);
	inc(&m->lat_sum_us[route], seconds > 0 ? (uint64_t)(seconds * 1e6) : 0);
}

void ds_metrics_input(ds_metrics *m, size_t source, int outcome)
{
	if (source < m->cfg->nsources && outcome >= 0 && outcome < DS_OUTCOME_COUNT_)
		inc(&m->inputs[source * DS_OUTCOME_COUNT_ + (size_t)outcome], 1);
}

void ds_metrics_batch(ds_metrics *m, size_t inputs)
{
	size_t b = 0;
	while (b < NBATCH && inputs > batch_le[b])
		b++;
	inc(&m->batch[b], 1);
	inc(&m->batch_sum, inputs);
}

void ds_metrics_timers_fired(ds_metrics *m, int64_t n)
{
	if (n > 0)
		inc(&m->timers_fired, (uint64_t)n);
}

int ds_metrics_render(const ds_metrics *m, const ds_metrics_gauges *g, ds_buf *out)
{
	int rc = 0;
	rc |= ds_buf_puts(out, "# HELP dossier_http_requests_total HTTP requests answered, by route "
			  "and status.\n# TYPE dossier_http_requests_total counter\n");
	for (int r = 0; r < DS_ROUTE_COUNT_; r++)
		for (size_t s = 0; s <= NSTATUS; s++) {
			uint64_t v = get(&m->requests[r][s]);
			if (!v)
				continue;
			char st[8];
			if (s == STATUS_OTHER)
				strcpy(st, "other");
			else
				snprintf(st, sizeof st, "%d", statuses[s]);
			rc |= ds_buf_printf(out,
					    "dossier_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
					    route_names[r], st, (unsigned long long)v);
		}
	rc |= ds_buf_puts(out, "# HELP dossier_http_request_duration_seconds Time from the request's "
			  "first byte to its answer.\n"
			  "# TYPE dossier_http_request_duration_seconds histogram\n");
	for (int r = 0; r < DS_ROUTE_COUNT_; r++) {
		uint64_t cum = 0;
		for (size_t b = 0; b <= NLAT; b++)
			cum += get(&m->lat[r][b]);
		if (!cum)
			continue;
		cum = 0;
		for (size_t b = 0; b <= NLAT; b++) {
			cum += get(&m->lat[r][b]);
			char le[16];
			if (b == NLAT)
				strcpy(le, "+Inf");
			else
				snprintf(le, sizeof le, "%g", lat_le[b]);
			rc |= ds_buf_printf(out, "dossier_http_request_duration_seconds_bucket"
					    "{route=\"%s\",le=\"%s\"} %llu\n", route_names[r], le,
					    (unsigned long long)cum);
		}
		uint64_t us = get(&m->lat_sum_us[r]);
		rc |= ds_buf_printf(out, "dossier_http_request_duration_seconds_sum{route=\"%s\"} "
				    "%llu.%06llu\n", route_names[r], (unsigned long long)(us / 1000000),
				    (unsigned long long)(us % 1000000));
		rc |= ds_buf_printf(out, "dossier_http_request_duration_seconds_count{route=\"%s\"} "
				    "%llu\n", route_names[r], (unsigned long long)cum);
	}
	rc |= ds_buf_puts(out, "# HELP dossier_inputs_total Inputs posted to a source, by outcome "
			  "(counted once committed).\n# TYPE dossier_inputs_total counter\n");
	for (size_t s = 0; s < m->cfg->nsources; s++)
		for (int o = 0; o < DS_OUTCOME_COUNT_; o++)
			rc |= ds_buf_printf(out, "dossier_inputs_total{source=\"%s\",outcome=\"%s\"} "
					    "%llu\n", m->cfg->sources[s]->name, outcome_names[o],
					    (unsigned long long)get(&m->inputs[s * DS_OUTCOME_COUNT_ +
										(size_t)o]));
	rc |= ds_buf_puts(out, "# HELP dossier_commit_batch_size Inputs and case actions committed "
			  "together in one transaction.\n# TYPE dossier_commit_batch_size histogram\n");
	uint64_t cum = 0;
	for (size_t b = 0; b <= NBATCH; b++) {
		cum += get(&m->batch[b]);
		if (b == NBATCH)
			rc |= ds_buf_printf(out, "dossier_commit_batch_size_bucket{le=\"+Inf\"} %llu\n",
					    (unsigned long long)cum);
		else
			rc |= ds_buf_printf(out, "dossier_commit_batch_size_bucket{le=\"%zu\"} %llu\n",
					    batch_le[b], (unsigned long long)cum);
	}
	rc |= ds_buf_printf(out, "dossier_commit_batch_size_sum %llu\n"
			    "dossier_commit_batch_size_count %llu\n",
			    (unsigned long long)get(&m->batch_sum), (unsigned long long)cum);
	rc |= ds_buf_printf(out,
			    "# HELP dossier_timers_fired_total Timers fired by the server.\n"
			    "# TYPE dossier_timers_fired_total counter\n"
			    "dossier_timers_fired_total %llu\n"
			    "# HELP dossier_quarantine_entries Open quarantine entries.\n"
			    "# TYPE dossier_quarantine_entries gauge\n"
			    "dossier_quarantine_entries %lld\n"
			    "# HELP dossier_timers_pending Timers not fired yet.\n"
			    "# TYPE dossier_timers_pending gauge\n"
			    "dossier_timers_pending %lld\n"
			    "# HELP dossier_timers_due Timers due now and not fired yet.\n"
			    "# TYPE dossier_timers_due gauge\n"
			    "dossier_timers_due %lld\n"
			    "# HELP dossier_timers_overdue Timers due for longer than one tick interval.\n"
			    "# TYPE dossier_timers_overdue gauge\n"
			    "dossier_timers_overdue %lld\n"
			    "# HELP dossier_commit_queue Requests waiting for their commit.\n"
			    "# TYPE dossier_commit_queue gauge\n"
			    "dossier_commit_queue %lld\n",
			    (unsigned long long)get(&m->timers_fired), (long long)g->quarantine,
			    (long long)g->timers_pending, (long long)g->timers_due,
			    (long long)g->timers_overdue, (long long)g->queue);
	return rc ? (out->len >= out->max ? DS_ELIMIT : DS_ENOMEM) : DS_OK;
}
