/*
 * test_engine.c - the offer process through the engine API: each
 * transition, the refused event and edit, the timer (exactly once, and not
 * after the case moved on), versions and the output point.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "engine_home.h"
#include "json.h"

static th_engine eng;
static ds_config *cfg;
static ds_store *store;
static ds_arena *arena;
static const ds_process *offer;
static const ds_time T0 = 1795510800; /* 2026-11-24T09:00:00Z */

static void setup(void)
{
	th_engine_open(&eng, T0);
	cfg = eng.cfg;
	store = eng.store;
	offer = ds_config_process(cfg, "offer");
	cr_assert(offer);
	arena = ds_arena_new(16384);
	ds_time t;
	cr_assert_eq(ds_time_parse("2026-11-24T09:00:00Z", &t), 0);
	cr_assert_eq(t, T0);
}

static void teardown(void)
{
	ds_arena_free(arena);
	th_engine_close(&eng);
}

/* The fixture offer DEV-2026-0042 with another reference and discount. */
static cJSON *offer_data(const char *ref, const char *pct)
{
	char *text = NULL;
	size_t len = 0;
	cr_assert_eq(ds_read_file("fixtures/offers/DEV-2026-0042.json", 1 << 20, &text, &len, NULL), 0);
	cJSON *d = cJSON_Parse(text);
	ds_free(text);
	cr_assert(d);
	cJSON_ReplaceItemInObject(d, "reference", cJSON_CreateString(ref));
	cJSON_ReplaceItemInObject(d, "discount_pct", cJSON_Parse(pct));
	return d;
}

/* Creates, settles and commits a new offer case in one transaction. */
static void create(ds_case_work *w, const char *ref, const char *pct)
{
	ds_err err = {0};
	ds_cause cause = { .kind = DS_CAUSE_RECORD, .record_type = "offer", .source = "test" };
	cr_assert_eq(ds_store_begin(store, &err), 0);
	cr_assert_eq(ds_engine_create(w, arena, offer, ref, offer_data(ref, pct), false, &cause, eng.rt.now,
				      &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_settle(w, eng.rt.now, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_commit(&eng.rt, w, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_engine_produce(&eng.rt, w, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_commit(store, &err), 0, "%s", err.msg);
}

static void reload(ds_case_work *w, const char *ref)
{
	ds_err err = {0};
	cr_assert_eq(ds_engine_find(w, arena, cfg, store, ref, &err), 0, "%s", err.msg);
}

/* Applies act to a loaded case and commits; returns act's code. */
static int act_event(const char *ref, const char *event, const char *role, ds_err *err)
{
	ds_case_work w;
	reload(&w, ref);
	cr_assert_eq(ds_store_begin(store, NULL), 0);
	int rc = ds_engine_event(&w, event, role, "tester", eng.rt.now, err);
	if (!rc)
		rc = ds_engine_settle(&w, eng.rt.now, err);
	if (!rc)
		rc = ds_engine_commit(&eng.rt, &w, err);
	if (!rc)
		rc = ds_engine_produce(&eng.rt, &w, err);
	if (rc)
		ds_store_rollback(store);
	else
		cr_assert_eq(ds_store_commit(store, NULL), 0);
	return rc;
}

static int act_edit(const char *ref, const char *json, const char *role, ds_err *err)
{
	ds_case_work w;
	reload(&w, ref);
	cJSON *f = cJSON_Parse(json);
	ds_cause cause = { .kind = DS_CAUSE_EDIT, .role = role, .actor = "tester" };
	cr_assert_eq(ds_store_begin(store, NULL), 0);
	int rc = ds_engine_edit(&w, f, role, &cause, eng.rt.now, err);
	if (!rc)
		rc = ds_engine_settle(&w, eng.rt.now, err);
	if (!rc)
		rc = ds_engine_commit(&eng.rt, &w, err);
	if (!rc)
		rc = ds_engine_produce(&eng.rt, &w, err);
	if (rc)
		ds_store_rollback(store);
	else
		cr_assert_eq(ds_store_commit(store, NULL), 0);
	cJSON_Delete(f);
	return rc;
}

static const char *state_of(const char *ref)
{
	ds_case_work w;
	reload(&w, ref);
	return w.row.state;
}

TestSuite(engine, .init = setup, .fini = teardown);

Test(engine, over_20_percent_waits_for_approval)
{
	ds_case_work w;
	create(&w, "DEV-2026-0101", "25");
	cr_expect_str_eq(w.row.state, "pending_approval");
	cr_expect_eq(w.nchanges, 2);
	cr_expect_eq(w.changes[0].from, -1);
	cr_expect_eq(w.row.version, 2);
	cr_expect_eq(eng.rt.stats.documents, 0);
	cr_expect_eq(ds_store_timer_pending_count(store), 1);
}

Test(engine, up_to_20_percent_is_validated_and_printed)
{
	ds_case_work w;
	create(&w, "DEV-2026-0102", "20");
	cr_expect_str_eq(w.row.state, "validated");
	cr_expect_eq(eng.rt.stats.documents, 1);
	create(&w, "DEV-2026-0103", "20.00");
	cr_expect_str_eq(w.row.state, "validated");
	create(&w, "DEV-2026-0104", "20.01");
	cr_expect_str_eq(w.row.state, "pending_approval");
}

Test(engine, only_a_manager_approves)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0105", "30");
	cr_expect_eq(act_event("DEV-2026-0105", "approve", "sales", &err), DS_EREFUSED);
	cr_expect(strstr(err.msg, "sales") && strstr(err.msg, "pending_approval"), "%s", err.msg);
	cr_expect_str_eq(state_of("DEV-2026-0105"), "pending_approval");
	cr_expect_eq(act_event("DEV-2026-0105", "send", "sales", &err), DS_EREFUSED);
	cr_expect(strstr(err.msg, "not allowed"), "%s", err.msg);
	cr_expect_eq(act_event("DEV-2026-0105", "approve", "manager", &err), 0, "%s", err.msg);
	cr_expect_str_eq(state_of("DEV-2026-0105"), "validated");
	cr_expect_eq(eng.rt.stats.documents, 1);
	/* the approval may not be replayed from the new state */
	cr_expect_eq(act_event("DEV-2026-0105", "approve", "manager", &err), DS_EREFUSED);
}

Test(engine, rights_lock_fields_by_state)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0106", "25");
	cr_expect_eq(act_edit("DEV-2026-0106", "{\"discount_pct\": 10}", "sales", &err), DS_EREFUSED);
	cr_expect(strstr(err.msg, "discount_pct"), "%s", err.msg);
	cr_expect_eq(act_edit("DEV-2026-0106", "{\"reference\": \"DEV-2026-0999\"}", "manager", &err),
		     DS_EREFUSED);
	/* a manager lowering the discount validates the offer by its guard */
	cr_expect_eq(act_edit("DEV-2026-0106", "{\"discount_pct\": 15}", "manager", &err), 0, "%s",
		     err.msg);
	reload(&w, "DEV-2026-0106");
	cr_expect_str_eq(w.row.state, "validated");
	cr_expect_eq(w.row.version, 4);
	cr_expect_eq(eng.rt.stats.documents, 1);
	/* validated grants no edits */
	cr_expect_eq(act_edit("DEV-2026-0106", "{\"notes\": \"x\"}", "manager", &err), DS_EREFUSED);
}

Test(engine, timer_fires_once_after_five_days)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0107", "25");
	eng.rt.now = T0 + 4 * 86400;
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.fired, 0);
	/* a week of downtime: fires once, on the next tick */
	eng.rt.now = T0 + 12 * 86400;
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.fired, 1);
	cr_expect_eq(eng.rt.stats.max_late, 7 * 86400);
	cr_expect_eq(eng.rt.stats.documents, 1);
	cr_expect_str_eq(state_of("DEV-2026-0107"), "validated");
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.fired, 1);
	cr_expect_eq(ds_store_timer_pending_count(store), 0);
}

Test(engine, timer_of_a_state_left_does_not_fire)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0108", "25");
	cr_expect_eq(act_event("DEV-2026-0108", "approve", "manager", &err), 0, "%s", err.msg);
	eng.rt.now = T0 + 6 * 86400;
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.fired, 0);
	cr_expect_eq(eng.rt.stats.obsolete, 1);
	reload(&w, "DEV-2026-0108");
	cr_expect_eq(w.row.version, 3);
	cr_expect_eq(eng.rt.stats.documents, 1);
}

Test(engine, final_states_do_not_change)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0109", "5");
	cr_expect_eq(act_event("DEV-2026-0109", "send", "sales", &err), 0, "%s", err.msg);
	cr_expect_eq(act_event("DEV-2026-0109", "reject", "sales", &err), 0, "%s", err.msg);
	cr_expect_str_eq(state_of("DEV-2026-0109"), "rejected");
	cr_expect_eq(act_edit("DEV-2026-0109", "{\"notes\": \"x\"}", "manager", &err), DS_EREFUSED);
	cr_expect(strstr(err.msg, "final"), "%s", err.msg);
}

Test(engine, a_timer_that_cannot_fire_stays_due_and_the_rest_go_on)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0110", "25");
	create(&w, "DEV-2026-0111", "25");
	/* The process itself (no role) breaks 0110's amounts: its document
	 * can no longer be rendered. */
	cr_assert_eq(act_edit("DEV-2026-0110",
			      "{\"lines\": [{\"description\": \"x\", \"quantity\": 1,"
			      " \"unit_price\": \"abc\", \"vat_rate\": \"20.0\"}]}", NULL, &err),
		     0, "%s", err.msg);
	eng.rt.now = T0 + 6 * 86400;
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.fired, 1);
	cr_expect_eq(eng.rt.stats.failed, 1);
	cr_expect_str_eq(state_of("DEV-2026-0110"), "pending_approval");
	cr_expect_str_eq(state_of("DEV-2026-0111"), "validated");
	cr_expect_eq(ds_store_timer_pending_count(store), 1);
	/* once the data is mended, the next tick fires it */
	cr_assert_eq(act_edit("DEV-2026-0110",
			      "{\"lines\": [{\"description\": \"x\", \"quantity\": 1,"
			      " \"unit_price\": \"10.00\", \"vat_rate\": \"20.0\"}]}", "manager", &err),
		     0, "%s", err.msg);
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.fired, 2);
	cr_expect_str_eq(state_of("DEV-2026-0110"), "validated");
	cr_expect_eq(ds_store_timer_pending_count(store), 0);
}

Test(engine, a_timer_that_fails_before_it_writes_leaves_its_case_as_it_was)
{
	ds_case_work w;
	ds_err err = {0};
	create(&w, "DEV-2026-0112", "25");
	reload(&w, "DEV-2026-0112");
	/* a timer of the state the case is in, for a transition the state
	 * does not have: it fails before anything is written */
	ds_timer_row t = { .case_id = w.row.id, .state = "pending_approval",
			   .state_version = w.row.state_version, .transition = 99, .due = T0 };
	cr_assert_eq(ds_store_begin(store, &err), 0);
	cr_assert_eq(ds_store_timer_add(store, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_commit(store, &err), 0);
	int64_t changes = ds_store_changes(store);
	eng.rt.now = T0 + 86400;
	cr_assert_eq(ds_engine_tick(&eng.rt, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.failed, 1);
	cr_expect_eq(eng.rt.stats.fired, 0);
	cr_expect_eq(ds_store_changes(store), changes, "nothing written");
	reload(&w, "DEV-2026-0112");
	cr_expect_str_eq(w.row.state, "pending_approval");
	cr_expect_eq(w.row.version, 2);
	cr_expect_eq(ds_store_timer_pending_count(store), 2, "it stays due, beside the 5-day one");
}
