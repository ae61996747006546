/*
 * test_procver.c - process versions: what makes two definitions the same
 * version (their canonical JSON, not their layout), what a migration maps
 * a state to, and ds_procver_sync against a store: the earlier version
 * loaded for the cases that run by it, a migration done once, and nothing
 * half-done when memory runs out at any allocation on the way.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_home.h"
#include "json.h"
#include "procver.h"

#define VERSIONS "tests/golden/versions/"

static ds_process *load(const char *path)
{
	ds_process *p = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_process_load(path, NULL, &p, &err), 0, "%s", err.msg);
	return p;
}

Test(procver, the_same_definition_laid_out_differently_is_the_same_version)
{
	ds_process *p = load("schemas/processes/offer.json");
	char *text = NULL;
	size_t len = 0;
	cr_assert_eq(ds_read_file("schemas/processes/offer.json", 1 << 20, &text, &len, NULL), 0);
	cJSON *doc = cJSON_Parse(text);
	char *pretty = cJSON_Print(doc);  /* tabs and new lines everywhere */
	cr_assert(pretty && strcmp(pretty, text));
	ds_process *q = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_process_parse("stored offer", pretty, strlen(pretty), NULL, &q, &err), 0,
		     "%s", err.msg);
	cr_expect_str_eq(q->canonical, p->canonical);
	cr_expect_str_eq(q->sha256, p->sha256);
	cr_expect_str_eq(q->file, "stored offer");

	ds_process *edited = load(VERSIONS "offer-v1-edited/schemas/processes/offer.json");
	cr_expect_eq(edited->version, p->version);
	cr_expect_str_neq(edited->sha256, p->sha256);
	ds_process_free(edited);
	ds_process_free(q);
	ds_process_free(p);
	cJSON_free(pretty);
	cJSON_Delete(doc);
	ds_free(text);
}

Test(procver, a_stored_definition_that_is_not_json_is_reported)
{
	ds_diag d;
	ds_diag_init(&d);
	ds_process *p = NULL;
	ds_err err = {0};
	cr_expect_eq(ds_process_parse("stored offer", "{\"name\":", 8, &d, &p, &err), DS_ECONFIG);
	cr_expect_null(p);
	cr_assert_geq(d.errors, 1);
	cr_expect_str_eq(d.items[0].file, "stored offer");
	ds_diag_free(&d);
}

Test(procver, a_migration_maps_states_and_keeps_the_others)
{
	ds_process *p = load(VERSIONS "offer-v2-migrates-unreachable/schemas/processes/offer.json");
	const ds_migrate_def *m = ds_process_migration(p, 1);
	cr_assert(m);
	cr_expect_eq(m->from, 1);
	cr_expect_str_eq(m->path, "/migrate");
	cr_expect_null(ds_process_migration(p, 2));
	cr_expect_str_eq(ds_process_successor(p, m, "unreachable"), "to_resend");
	cr_expect_str_eq(ds_process_successor(p, m, "sent"), "sent");
	cr_expect_null(ds_process_successor(p, m, "nowhere"));
	/* without the migration, a dropped state has no successor */
	cr_expect_null(ds_process_successor(p, NULL, "unreachable"));
	cr_expect_str_eq(ds_process_successor(p, NULL, "sent"), "sent");
	ds_process_free(p);
}

static const ds_time T0 = 1795510800; /* 2026-11-24T09:00:00Z */

/* A version 1 offer in `unreachable`, as the engine leaves it. */
static int64_t unreachable_offer(th_engine *e, ds_arena *a)
{
	char *text = NULL;
	size_t len = 0;
	ds_err err = {0};
	cr_assert_eq(ds_read_file("fixtures/offers/DEV-2026-0001.json", 1 << 20, &text, &len, NULL), 0);
	cJSON *data = cJSON_Parse(text);
	ds_free(text);
	ds_case_work w;
	ds_cause cause = { .kind = DS_CAUSE_RECORD, .record_type = "offer", .source = "test" };
	const ds_process *offer = ds_config_process(e->cfg, "offer");
	cr_assert_eq(ds_store_begin(e->store, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_create(&w, a, offer, "DEV-2026-0001", data, false, &cause, T0, &err),
		     0, "%s", err.msg);
	cr_assert_eq(ds_engine_settle(&w, T0, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_event(&w, "send", "sales", "t", T0, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_event(&w, "unreachable", "sales", "t", T0, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_commit(&e->rt, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_commit(e->store, &err), 0, "%s", err.msg);
	return w.row.id;
}

static void note(void *ud, const ds_process *p, int from, int64_t cases)
{
	(void)p;
	(void)from;
	*(int64_t *)ud += cases;
}

Test(procver, sync_migrates_once_and_undoes_everything_when_memory_runs_out)
{
	th_engine e;
	ds_err err = {0};
	th_engine_open(&e, T0);
	ds_arena *a = ds_arena_new(16384);
	cr_assert_eq(ds_procver_sync(e.cfg, e.store, T0, NULL, NULL, &e.diag, &err), 0, "%s", err.msg);
	int64_t id = unreachable_offer(&e, a);

	/* the same home, with version 2 and its migration laid over */
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "rm '%s/schemas' && cp -r schemas '%s/schemas' && "
		 "cp -r " VERSIONS "offer-v2-migrates-unreachable/schemas/. '%s/schemas/'",
		 e.home, e.home, e.home);
	cr_assert_eq(system(cmd), 0);
	ds_diag d;
	ds_diag_init(&d);
	ds_config *cfg = NULL;
	cr_assert_eq(ds_config_load(e.home, &d, &cfg, &err), 0, "%s", err.msg);

	int64_t moved = 0;
	int rc = DS_ENOMEM;
	for (long n = 0; rc; n++) {
		cr_assert_lt(n, 100000, "sync never succeeds");
		/* Out of memory while reading the stored version 1 is reported
		 * as a problem with it: either way, nothing is written. */
		ds_diag_free(&d);
		ds_diag_init(&d);
		ds_mem_fail_after(n);
		rc = ds_procver_sync(cfg, e.store, T0 + 86400, note, &moved, &d, &err);
		ds_mem_fail_after(-1);
		cr_assert(rc == DS_OK || rc == DS_ENOMEM || rc == DS_ECONFIG, "%d: %s", rc, err.msg);
		ds_case_row row;
		ds_arena_reset(a);
		cr_assert_eq(ds_store_case_get(e.store, id, a, &row, &err), 0, "%s", err.msg);
		/* all or nothing */
		cr_assert_eq(row.process_version, rc ? 1 : 2);
		cr_assert_str_eq(row.state, rc ? "unreachable" : "to_resend");
		cr_assert_eq(moved, rc ? 0 : 1);
	}
	cr_expect_eq(d.errors, 0);
	const ds_process *v1 = ds_config_process_version(cfg, "offer", 1);
	cr_assert(v1);
	cr_expect_eq(v1->version, 1);
	cr_expect_geq(ds_process_state(v1, "unreachable"), 0);
	cr_expect_eq(ds_config_process_version(cfg, "offer", 2), ds_config_process(cfg, "offer"));
	cr_expect_null(ds_config_process_version(cfg, "offer", 3));

	/* once */
	cr_assert_eq(ds_procver_sync(cfg, e.store, T0 + 2 * 86400, note, &moved, &d, &err), 0, "%s",
		     err.msg);
	cr_expect_eq(moved, 1);
	ds_case_row row;
	cr_assert_eq(ds_store_case_get(e.store, id, a, &row, &err), 0, "%s", err.msg);
	cr_expect_eq(row.version, 5, "created, validated, sent, unreachable, migrated");

	ds_config_free(cfg);
	ds_diag_free(&d);
	ds_arena_free(a);
	th_engine_close(&e);
}
