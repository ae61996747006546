/*
 * test_committer.c - the group commit without HTTP: jobs pushed before the
 * committer's thread starts are run as one group (one transaction), each
 * answered through the done callback once it is committed; an input and
 * its repeat in one group; a refused case event undone alone while the
 * rest of its group commits; an input refused after it wrote (the group
 * runs again with a savepoint per input) undone alone; the queue bound and
 * the stop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "committer.h"
#include "engine_home.h"

struct answers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t n;
};

static void done(void *ud, ds_job *j)
{
	(void)j;
	struct answers *a = ud;
	pthread_mutex_lock(&a->mu);
	a->n++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void wait_for(struct answers *a, size_t n)
{
	pthread_mutex_lock(&a->mu);
	while (a->n < n)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	static char buf[3][65536];
	static int k;
	char *b = buf[k++ % 3];
	*len = fread(b, 1, sizeof buf[0] - 1, f);
	b[*len] = '\0';
	fclose(f);
	return b;
}

/* A job posting bytes[0..len) to source, read ahead as the server does. */
static void post_job(ds_job *j, const ds_config *cfg, const char *source, const char *bytes,
		     size_t len)
{
	memset(j, 0, sizeof *j);
	j->kind = DS_JOB_INGEST;
	j->source = ds_config_source(cfg, source);
	cr_assert(j->source);
	for (size_t i = 0; i < cfg->nsources; i++)
		if (cfg->sources[i] == j->source)
			j->source_index = i;
	j->channel = j->source->channel;
	j->bytes = bytes;
	j->len = len;
	cr_assert(j->arena = ds_arena_new(16384));
	ds_job_read_ahead(cfg, j);
}

static void input_job(ds_job *j, const ds_config *cfg, const char *file)
{
	size_t len;
	const char *bytes = slurp(file, &len);
	post_job(j, cfg, "api-offers", bytes, len);
}

static void job_free(ds_job *j)
{
	free(j->answer);
	ds_arena_free(j->arena);
}

static double num(const char *json, const char *key)
{
	cJSON *d = cJSON_Parse(json);
	cr_assert(d, "not JSON: %s", json);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, key);
	double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
	cJSON_Delete(d);
	return x;
}

/* A committer over a fresh home, with queue_max jobs at most, its
 * answers counted in a. */
struct fixture {
	th_engine e;
	ds_metrics *m;
	struct answers a;
	ds_committer *c;
};

static void fixture_open(struct fixture *f, size_t queue_max)
{
	ds_err err = {0};
	th_engine_open(&f->e, 1795510800);
	f->e.cfg->serve.queue_max = queue_max;
	cr_assert(f->m = ds_metrics_new(f->e.cfg));
	pthread_mutex_init(&f->a.mu, NULL);
	pthread_cond_init(&f->a.cv, NULL);
	f->a.n = 0;
	cr_assert_eq(ds_committer_new(f->e.cfg, "sqlite:var/test.db", f->m, true, done, &f->a,
				      &f->c, &err), 0, "%s", err.msg);
}

static void fixture_close(struct fixture *f)
{
	ds_committer_free(f->c);
	ds_metrics_free(f->m);
	th_engine_close(&f->e);
}

Test(committer, jobs_waiting_form_one_group_answered_once_committed)
{
	struct fixture f;
	fixture_open(&f, 100);
	th_engine e = f.e;
	ds_committer *c = f.c;
	ds_err err = {0};
	ds_job j[4];
	input_job(&j[0], e.cfg, "fixtures/offers/DEV-2026-0001.json");
	input_job(&j[1], e.cfg, "fixtures/offers/DEV-2026-0003.json");
	input_job(&j[2], e.cfg, "fixtures/offers/DEV-2026-0001.json");  /* a repeat */
	/* A manager's approval of the offer that the same group brings in:
	 * DEV-2026-0001 is validated at once, so approving it is refused. */
	memset(&j[3], 0, sizeof j[3]);
	j[3].kind = DS_JOB_EVENT;
	j[3].ref = "DEV-2026-0001";
	j[3].event = "approve";
	j[3].role = "manager";
	j[3].actor = "marie";
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ds_committer_reserve(c), 0);
		ds_committer_push(c, &j[i]);
	}
	cr_assert_eq(ds_committer_queued(c), 4);
	cr_assert_eq(f.a.n, 0, "nothing is answered before the commit");
	cr_assert_eq(ds_committer_start(c, &err), 0);
	wait_for(&f.a, 4);
	cr_assert_eq(j[0].status, 202, "%s", j[0].answer);
	cr_assert_eq(j[1].status, 202, "%s", j[1].answer);
	cr_assert_eq(j[2].status, 200, "%s", j[2].answer);
	cr_assert_eq(num(j[2].answer, "interaction"), num(j[0].answer, "interaction"));
	cr_assert_eq(j[3].status, 409, "%s", j[3].answer);
	cr_assert_eq(ds_committer_queued(c), 0);

	/* One group: one transaction for the four. */
	ds_buf b;
	ds_buf_init(&b, 1 << 20);
	ds_metrics_gauges g = {0};
	cr_assert_eq(ds_metrics_render(f.m, &g, &b), 0);
	cr_assert(strstr(b.data, "dossier_commit_batch_size_count 1\n"), "%s", b.data);
	cr_assert(strstr(b.data, "dossier_commit_batch_size_sum 4\n"), "%s", b.data);
	ds_buf_free(&b);

	/* Committed: another connection sees both offers. */
	ds_arena *ar = ds_arena_new(4096);
	ds_case_row row;
	cr_assert_eq(ds_store_case_find(e.store, "offer", "DEV-2026-0001", ar, &row, &err), 0);
	cr_assert_str_eq(row.state, "validated");
	cr_assert_eq(ds_store_case_find(e.store, "offer", "DEV-2026-0003", ar, &row, &err), 0);
	cr_assert_str_eq(row.state, "pending_approval");
	ds_arena_free(ar);

	ds_committer_stop(c);
	cr_assert_eq(ds_committer_reserve(c), DS_EREFUSED, "no job once stopped");
	for (int i = 0; i < 4; i++)
		job_free(&j[i]);
	fixture_close(&f);
}

static int count_record(void *ud, const ds_record_ref *r)
{
	(void)r;
	(*(int *)ud)++;
	return 0;
}

/* Pushes jobs j[0..n) to a committer not started yet, so that they form
 * one group, starts it and waits for their answers. */
static void one_group(struct fixture *f, ds_job *j, int n)
{
	ds_err err = {0};
	size_t before = f->a.n;
	for (int i = 0; i < n; i++) {
		cr_assert_eq(ds_committer_reserve(f->c), 0);
		ds_committer_push(f->c, &j[i]);
	}
	cr_assert_eq(ds_committer_start(f->c, &err), 0, "%s", err.msg);
	wait_for(&f->a, before + (size_t)n);
	ds_committer_free(f->c);
	cr_assert_eq(ds_committer_new(f->e.cfg, "sqlite:var/test.db", f->m, true, done, &f->a,
				      &f->c, &err), 0, "%s", err.msg);
}

Test(committer, an_input_refused_after_it_wrote_is_undone_alone)
{
	struct fixture f;
	fixture_open(&f, 100);
	const ds_config *cfg = f.e.cfg;
	/* A technician's report that also gives an opportunity and a
	 * complaint; then the same report with the problem told otherwise. Its
	 * report and opportunity records edit their cases (the technical role
	 * may), but its complaint may not edit the complaint, which only
	 * after-sales edits once received: refused after its first records
	 * were written, between two offers of the same group. */
	size_t n;
	char *report = slurp("fixtures/forms/intervention-0101-need-and-problem.form", &n);
	char *retold = strdup(report);
	char *at = strstr(retold, "probleme_description=");
	cr_assert(at);
	snprintf(at, (size_t)(retold + n + 1 - at), "probleme_description=Deux+heures+de+retard.");
	ds_job j[4];
	post_job(&j[0], cfg, "intervention-reports", report, n);
	one_group(&f, j, 1);
	cr_assert_eq(j[0].status, 202, "%s", j[0].answer);
	ds_arena *ar = ds_arena_new(4096);
	ds_case_row before, after;
	ds_err err = {0};
	cr_assert_eq(ds_store_case_find(f.e.store, "intervention_report", "INT-2026-0101", ar,
					&before, &err), 0, "%s", err.msg);

	input_job(&j[1], cfg, "fixtures/offers/DEV-2026-0003.json");
	post_job(&j[2], cfg, "intervention-reports", retold, strlen(retold));
	input_job(&j[3], cfg, "fixtures/offers/DEV-2026-0002.json");
	one_group(&f, j + 1, 3);
	cr_assert_eq(j[1].status, 202, "%s", j[1].answer);
	cr_assert_eq(j[3].status, 202, "%s", j[3].answer);
	cr_assert_eq(j[2].status, 400, "%s", j[2].answer);
	cr_assert(strstr(j[2].answer, "\"stage\":\"advance\""), "%s", j[2].answer);
	cr_assert(j[2].interaction > 0);

	/* The refused input is kept raw, with no record; the report it edited
	 * is as it was; the offers around it are stored. */
	int records = 0;
	cr_assert_eq(ds_store_interaction_records(f.e.store, j[2].interaction, count_record,
						  &records, &err), 0, "%s", err.msg);
	cr_assert_eq(records, 0);
	cr_assert_eq(ds_store_case_find(f.e.store, "intervention_report", "INT-2026-0101", ar,
					&after, &err), 0);
	cr_assert_eq(after.version, before.version);
	cr_assert_str_eq(after.data, before.data);
	cr_assert_eq(ds_store_case_find(f.e.store, "offer", "DEV-2026-0003", ar, &after, &err), 0);
	cr_assert_eq(ds_store_case_find(f.e.store, "offer", "DEV-2026-0002", ar, &after, &err), 0);
	cr_assert_eq(ds_store_quarantine_count(f.e.store), 1);
	ds_arena_free(ar);
	for (int i = 0; i < 4; i++)
		job_free(&j[i]);
	free(retold);
	fixture_close(&f);
}

Test(committer, the_queue_is_bounded)
{
	struct fixture f;
	fixture_open(&f, 2);
	th_engine e = f.e;
	ds_committer *c = f.c;
	ds_err err = {0};
	ds_job j[2];
	input_job(&j[0], e.cfg, "fixtures/offers/DEV-2026-0001.json");
	input_job(&j[1], e.cfg, "fixtures/offers/DEV-2026-0002.json");
	cr_assert_eq(ds_committer_reserve(c), 0);
	cr_assert_eq(ds_committer_reserve(c), 0);
	cr_assert_eq(ds_committer_reserve(c), DS_EBUSY, "a third waits for nothing");
	ds_committer_push(c, &j[0]);
	ds_committer_push(c, &j[1]);
	cr_assert_eq(ds_committer_start(c, &err), 0);
	wait_for(&f.a, 2);
	cr_assert_eq(j[0].status, 202);
	cr_assert_eq(j[1].status, 202);
	cr_assert_eq(ds_committer_reserve(c), 0, "room again once answered");
	ds_committer_push(c, &j[1]);  /* the same input again: a duplicate */
	wait_for(&f.a, 3);
	cr_assert_eq(j[1].status, 200);
	job_free(&j[0]);
	job_free(&j[1]);
	fixture_close(&f);
}
