/*
 * test_chain.c - inputs through the real stage chain, in memory: which
 * stage takes or rejects each, what is stored, what a rejection undoes.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "engine_home.h"
#include "json.h"
#include "profile.h"

static th_engine eng;
static ds_config *cfg;
static ds_store *store;
static ds_chain *chain;
static ds_arena *arena;

static void setup(void)
{
	ds_err err = {0};
	th_engine_open(&eng, 1795510800);
	cfg = eng.cfg;
	store = eng.store;
	cr_assert_eq(ds_chain_new(&eng.rt, &chain, &err), 0, "%s", err.msg);
	arena = ds_arena_new(16384);
}

static void teardown(void)
{
	ds_chain_free(chain);
	ds_arena_free(arena);
	th_engine_close(&eng);
}

TestSuite(chain, .init = setup, .fini = teardown);

/* Runs one input in its own batch; returns the outcome, and the stage
 * that rejected it in *stage. */
static ds_outcome run(const char *text, const char **stage, ds_err *err)
{
	ds_env env;
	memset(&env, 0, sizeof env);
	env.arena = arena;
	env.origin = "test";
	env.channel = "json";
	env.source = ds_config_source(cfg, "api-offers");
	env.bytes = (const unsigned char *)text;
	env.len = strlen(text);
	cr_assert_eq(ds_chain_batch_begin(chain, err), 0);
	ds_outcome o = ds_chain_run(chain, &env, err);
	*stage = env.stage;
	ds_arena_reset(arena);
	cr_assert_eq(ds_chain_batch_end(chain, err), 0, "%s", err->msg);
	return o;
}

static char *fixture(const char *name)
{
	char path[256], *text = NULL;
	size_t len;
	snprintf(path, sizeof path, "fixtures/offers/%s", name);
	cr_assert_eq(ds_read_file(path, 1 << 20, &text, &len, NULL), 0);
	return text;
}

/* The fixture with one top-level member replaced by raw JSON. */
static char *variant(const char *name, const char *member, const char *json)
{
	char *text = fixture(name);
	cJSON *d = cJSON_Parse(text);
	ds_free(text);
	cJSON_ReplaceItemInObject(d, member, cJSON_Parse(json));
	char *out = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	return out;
}

Test(chain, each_stage_rejects_what_it_should)
{
	const char *stage = NULL;
	ds_err err = {0};
	cr_expect_eq(run("{\"a\": ", &stage, &err), DS_STAGE_REJECT);
	cr_expect_str_eq(stage, "read");
	cr_expect_eq(run("[1, 2]", &stage, &err), DS_STAGE_REJECT);
	cr_expect_str_eq(stage, "map");
	cr_expect_eq(run("{\"devis\": 1, \"client\": 2}", &stage, &err), DS_STAGE_REJECT);
	cr_expect_str_eq(stage, "map");
	cr_expect(strstr(err.msg, "unmapped") && strstr(err.msg, "devis, client"), "%s", err.msg);
	cr_expect_eq(run("{\"reference\": \"DEV-2026-0001\"}", &stage, &err), DS_STAGE_REJECT);
	cr_expect_str_eq(stage, "validate");
	cr_expect(strstr(err.msg, "customer"), "%s", err.msg);
	cr_expect_eq(eng.rt.stats.quarantined, 4);
	/* the raw bytes of what passed read are stored; read's own are kept in
	 * the quarantine entry */
	cr_expect_eq(eng.rt.stats.new_, 3);
	cr_expect_eq(ds_store_quarantine_count(store), 4);
}

Test(chain, duplicates_create_nothing)
{
	const char *stage = NULL;
	ds_err err = {0};
	char *text = fixture("DEV-2026-0042.json");
	cr_expect_eq(run(text, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.records, 1);
	cr_expect_eq(eng.rt.stats.transitions, 1);
	cr_expect_eq(run(text, &stage, &err), DS_STAGE_CONTINUE);
	cr_expect_eq(eng.rt.stats.duplicates, 1);
	cr_expect_eq(eng.rt.stats.records, 1);
	cr_expect_eq(eng.rt.stats.transitions, 1);
	/* a broken input twice is one quarantine entry */
	cr_expect_eq(run("{oops", &stage, &err), DS_STAGE_REJECT);
	cr_expect_eq(run("{oops", &stage, &err), DS_STAGE_REJECT);
	cr_expect_eq(ds_store_quarantine_count(store), 1);
	cr_expect_eq(eng.rt.stats.duplicates, 2);
	ds_free(text);
}

Test(chain, a_record_cannot_change_a_locked_field)
{
	const char *stage = NULL;
	ds_err err = {0};
	char *first = fixture("DEV-2026-0042.json");
	char *lower = variant("DEV-2026-0042.json", "discount_pct", "10");
	char *notes = variant("DEV-2026-0042.json", "notes", "\"Pose le samedi.\"");
	cr_assert_eq(run(first, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	/* the source acts as sales: while the offer waits for a manager, a new
	 * version of it may not lower the discount past the approval */
	cr_expect_eq(run(lower, &stage, &err), DS_STAGE_REJECT);
	cr_expect_str_eq(stage, "advance");
	cr_expect(strstr(err.msg, "discount_pct") && strstr(err.msg, "sales"), "%s", err.msg);
	cr_expect_eq(run(notes, &stage, &err), DS_STAGE_REJECT);
	ds_arena *a = ds_arena_new(4096);
	ds_case_row row;
	cr_assert_eq(ds_store_case_find(store, "offer", "DEV-2026-0042", a, &row, &err), 0);
	cr_expect_str_eq(row.state, "pending_approval");
	cr_expect_eq(row.version, 2);
	cr_expect(strstr(row.data, "\"discount_pct\":25"), "%s", row.data);
	/* the rejected inputs are kept raw, and nothing else of them */
	cr_expect_eq(eng.rt.stats.new_, 3);
	cr_expect_eq(eng.rt.stats.records, 1);
	ds_arena_free(a);
	ds_free(first);
	cJSON_free(lower);
	cJSON_free(notes);
}

Test(chain, a_validated_offer_is_printed_once)
{
	const char *stage = NULL;
	ds_err err = {0};
	char *text = fixture("DEV-2026-0001.json");
	cr_assert_eq(run(text, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.documents, 1);
	/* the same offer in other bytes: a new record, no change, no document */
	char *again = variant("DEV-2026-0001.json", "currency", "\"EUR\"");
	cr_expect_eq(run(again, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	cr_expect_eq(eng.rt.stats.records, 2);
	cr_expect_eq(eng.rt.stats.transitions, 1);
	cr_expect_eq(eng.rt.stats.documents, 1);
	/* a real change: validated grants no edits, and what the refused input
	 * did is neither kept nor counted */
	char *changed = variant("DEV-2026-0001.json", "notes", "\"Autre chose\"");
	cr_expect_eq(run(changed, &stage, &err), DS_STAGE_REJECT);
	cr_expect_str_eq(stage, "advance");
	cr_expect_eq(eng.rt.stats.documents, 1);
	cJSON_free(changed);
	ds_free(text);
	cJSON_free(again);
}

static int count_entry(void *ud, const ds_timeline_row *r)
{
	if (!strcmp(r->kind, "record"))
		(*(size_t *)ud)++;
	else
		cr_expect_str_eq(r->kind, "case");
	return 0;
}



Test(chain, the_record_joins_its_customers_timeline)
{
	const char *stage = NULL;
	ds_err err = {0};
	char *a = fixture("DEV-2026-0011.json"), *b = fixture("DEV-2026-0042.json");
	cr_assert_eq(run(a, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	cr_assert_eq(run(b, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	/* both offers come from Hélène Dupré, her email written differently */
	ds_arena *ar = ds_arena_new(4096);
	int64_t pid = 0;
	cr_assert_eq(ds_profile_find(store, cfg, ar, "Helene.Dupre@example.fr", &pid, &err), 0,
		     "%s", err.msg);
	ds_profile_row p;
	cr_assert_eq(ds_store_profile_get(store, pid, ar, &p, &err), 0, "%s", err.msg);
	cJSON *attrs = ds_profile_attributes(p.attributes, false);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(attrs, "name"), "value");
	cr_expect(cJSON_IsString(name) && !strcmp(name->valuestring, "Hélène Dupré"));
	cJSON_Delete(attrs);
	size_t n = 0;
	cr_assert_eq(ds_store_timeline_list(store, pid, count_entry, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 2);
	/* a duplicate adds nothing */
	cr_assert_eq(run(b, &stage, &err), DS_STAGE_CONTINUE, "%s", err.msg);
	n = 0;
	cr_assert_eq(ds_store_timeline_list(store, pid, count_entry, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 2);
	ds_arena_free(ar);
	ds_free(a);
	ds_free(b);
}
