/*
 * test_store_sqlite.c - the SQLite store's cases: their data kept apart,
 * written only when it changes and read only when asked, the process
 * version written only when it changes, the optimistic lock, the count of
 * rows written, audit entries written two to a statement, and a store of an
 * earlier schema migrated with its cases' data (tests/unit/store/v7-store.sql).
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "mem.h"
#include "store.h"

static char home[PATH_MAX];

static void setup(void)
{
	ds_mem_init();
	snprintf(home, sizeof home, "/tmp/dossier-test-XXXXXX");
	cr_assert(mkdtemp(home));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
	cr_assert(system(cmd) == 0);
}

TestSuite(store_sqlite, .init = setup, .fini = teardown);

static ds_store *open_store(void)
{
	ds_store *s = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_store_open("sqlite:var/test.db", home, &s, &err), 0, "%s", err.msg);
	return s;
}

static ds_case_row get(ds_store *s, ds_arena *a, const char *key)
{
	ds_case_row r;
	ds_err err = {0};
	cr_assert_eq(ds_store_case_find(s, "job", key, a, &r, &err), 0, "%s", err.msg);
	return r;
}

/* The SQL answer of one query on the store's file, as text. */
static char *query(const char *sql)
{
	char path[PATH_MAX + 32];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	snprintf(path, sizeof path, "%s/var/test.db", home);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	char *out = NULL;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		out = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return out;
}

/* Expects the text answer of one query on the store's file. */
static void expect_query(const char *sql, const char *want)
{
	char *got = query(sql);
	cr_expect_str_eq(got ? got : "(null)", want, "%s", sql);
	free(got);
}

Test(store_sqlite, a_change_without_new_data_keeps_the_data)
{
	ds_store *s = open_store();
	ds_arena *a = ds_arena_new(4096);
	ds_err err = {0};
	ds_case_row c = { .process = "job", .process_version = 1, .key = "JOB-1",
			  .state = "open", .version = 1, .state_version = 1, .state_since = 10,
			  .created_at = 10, .updated_at = 10, .data = "{\"job\":\"JOB-1\",\"n\":1}" };
	cr_assert_eq(ds_store_begin(s, &err), 0);
	int64_t before = ds_store_changes(s);
	cr_assert_eq(ds_store_case_insert(s, &c, &err), 0, "%s", err.msg);
	cr_expect_eq(ds_store_changes(s), before + 2, "the case and its data");

	/* a move with no new data */
	c.state = "started";
	c.version = 2;
	c.state_version = 2;
	c.data = NULL;
	cr_assert_eq(ds_store_case_update(s, &c, 1, &err), 0, "%s", err.msg);
	ds_case_row r = get(s, a, "JOB-1");
	cr_expect_str_eq(r.state, "started");
	cr_expect_eq(r.version, 2);
	cr_expect_str_eq(r.data, "{\"job\":\"JOB-1\",\"n\":1}");

	/* new data */
	c.version = 3;
	c.data = "{\"job\":\"JOB-1\",\"n\":2}";
	cr_assert_eq(ds_store_case_update(s, &c, 2, &err), 0, "%s", err.msg);
	r = get(s, a, "JOB-1");
	cr_expect_str_eq(r.data, "{\"job\":\"JOB-1\",\"n\":2}");
	cr_expect_eq(r.process_version, 1);

	/* another process version (a migration) */
	c.version = 4;
	c.process_version = 2;
	c.data = NULL;
	cr_assert_eq(ds_store_case_update(s, &c, 3, &err), 0, "%s", err.msg);
	r = get(s, a, "JOB-1");
	cr_expect_eq(r.process_version, 2);
	cr_expect_eq(r.version, 4);
	cr_expect_str_eq(r.data, "{\"job\":\"JOB-1\",\"n\":2}");

	/* the row alone, and the data when asked */
	ds_case_row row;
	const char *data = NULL;
	cr_assert_eq(ds_store_case_row(s, r.id, a, &row, &err), 0, "%s", err.msg);
	cr_expect_null(row.data);
	cr_expect_str_eq(row.key, "JOB-1");
	cr_expect_eq(row.version, 4);
	cr_assert_eq(ds_store_case_data(s, r.id, a, &data, &err), 0, "%s", err.msg);
	cr_expect_str_eq(data, "{\"job\":\"JOB-1\",\"n\":2}");
	cr_expect_eq(ds_store_case_row(s, 999, a, &row, &err), DS_ENOTFOUND);
	cr_expect_eq(ds_store_case_data(s, 999, a, &data, &err), DS_ENOTFOUND);

	/* a stale version is refused, whatever the process version */
	c.version = 5;
	cr_expect_eq(ds_store_case_update(s, &c, 3, &err), DS_EBUSY);
	c.process_version = 1;
	cr_expect_eq(ds_store_case_update(s, &c, 3, &err), DS_EBUSY);
	before = ds_store_changes(s);
	cr_expect_eq(ds_store_case_get(s, r.id, a, &r, &err), 0);
	cr_expect_eq(ds_store_changes(s), before, "reading writes nothing");
	cr_assert_eq(ds_store_commit(s, &err), 0, "%s", err.msg);
	ds_store_close(s);
	ds_arena_free(a);

	char *n = query("SELECT count(*) FROM case_data");
	cr_expect_str_eq(n, "1");
	free(n);
}

/* A store as schema version 7 left it (tests/unit/store/v7-store.sql:
 * every table, each case's data in its row, the cases' indexes and those
 * of a retention run, three cases). */
static void old_store(void)
{
	char dir[PATH_MAX + 8], path[PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/var", home);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/test.db", dir);
	char *sql = NULL;
	size_t len = 0;
	cr_assert_eq(ds_read_file("tests/unit/store/v7-store.sql", 1 << 20, &sql, &len, NULL), 0);
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
	sqlite3_close(db);
	ds_free(sql);
}

/* The case of key, with its data and when it was erased (0: never). */
static ds_case_row expect_data(ds_store *s, ds_arena *a, const char *key, const char *data,
			       int64_t erased_at)
{
	ds_case_row r = get(s, a, key);
	cr_expect_str_eq(r.data, data, "%s", key);
	cr_expect_eq(r.erased_at, erased_at, "%s", key);
	return r;
}

Test(store_sqlite, an_earlier_store_keeps_its_cases_data)
{
	old_store();
	ds_store *s = open_store();
	ds_arena *a = ds_arena_new(4096);
	ds_err err = {0};
	ds_case_row r = get(s, a, "JOB-2");
	cr_expect_eq(r.id, 2);
	cr_expect_str_eq(r.state, "done");
	cr_expect_eq(r.version, 3);
	cr_expect_eq(r.profile_id, 7);
	cr_expect_str_eq(r.data, "{\"job\":\"JOB-2\",\"by\":\"Zoë\"}");
	expect_data(s, a, "JOB-3", "{\"job\":\"JOB-3\"}", 30);
	r = expect_data(s, a, "JOB-1", "{\"job\":\"JOB-1\"}", 0);

	/* the migrated store moves and erases cases as a new one does */
	r.state = "done";
	r.version = 2;
	r.state_version = 2;
	r.data = "{\"job\":\"JOB-1\",\"n\":2}";
	cr_assert_eq(ds_store_begin(s, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_case_update(s, &r, 1, &err), 0, "%s", err.msg);
	ds_erase_counts n = {0};
	cr_assert_eq(ds_store_case_erase(s, 2, "{}", NULL, 40, true, &n, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(ds_store_commit(s, &err), 0, "%s", err.msg);
	r = expect_data(s, a, "JOB-1", "{\"job\":\"JOB-1\",\"n\":2}", 0);
	cr_expect_eq(r.version, 2);
	expect_data(s, a, "JOB-2", "{}", 40);
	ds_store_close(s);
	ds_arena_free(a);

	/* the data left the cases' rows; the cases of a version are found by
	 * process and version */
	char *cols = query("SELECT group_concat(name) FROM pragma_table_info('cases')");
	cr_expect_null(strstr(cols, "data"), "%s", cols);
	free(cols);
	expect_query("SELECT count(*) FROM case_data", "3");
	expect_query("SELECT group_concat(name) FROM pragma_index_info('cases_version')",
		     "process,process_version");
	/* and nothing indexes the state but what retention made for itself */
	char *on_state = query("SELECT group_concat(l.name) FROM pragma_index_list('cases') l"
			       " JOIN pragma_index_info(l.name) i WHERE i.name = 'state'");
	cr_expect_str_eq(on_state, "cases_unerased");
	free(on_state);
	char *version = query("PRAGMA user_version");
	cr_expect_str_eq(version, "10");
	free(version);
}

static int audit_row(void *ud, const ds_audit_row *r)
{
	int64_t *ids = ud;
	ids[r->version] = r->id;
	return 0;
}

/* Entries written together (two per statement, and the one left over)
 * each get the id the store lists them under, in order. */
Test(store_sqlite, audit_entries_written_together_know_their_ids)
{
	ds_store *s = open_store();
	ds_err err = {0};
	ds_case_row c = { .process = "job", .process_version = 1, .key = "JOB-1",
			  .state = "open", .version = 1, .state_version = 1, .state_since = 10,
			  .created_at = 10, .updated_at = 10, .data = "{}" };
	cr_assert_eq(ds_store_begin(s, &err), 0);
	cr_assert_eq(ds_store_case_insert(s, &c, &err), 0, "%s", err.msg);
	ds_audit_row one = { .case_id = c.id, .version = 1, .to_state = "open", .at = 10,
			     .cause = "{\"type\":\"record\"}" };
	cr_assert_eq(ds_store_audit_add_n(s, &one, 1, &err), 0, "%s", err.msg);
	ds_audit_row rows[3];
	for (int i = 0; i < 3; i++)
		rows[i] = (ds_audit_row){ .case_id = c.id, .version = 2 + i, .from_state = "open",
					  .to_state = i == 2 ? "done" : "open", .at = 20 + i,
					  .cause = "{\"type\":\"guard\"}",
					  .changed = i == 0 ? "[\"n\"]" : NULL };
	cr_assert_eq(ds_store_audit_add_n(s, rows, 3, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_commit(s, &err), 0, "%s", err.msg);

	int64_t ids[5] = {0};
	cr_assert_eq(ds_store_audit_list(s, c.id, audit_row, ids, &err), 0, "%s", err.msg);
	cr_expect_eq(ids[1], one.id);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(ids[2 + i], rows[i].id, "version %d", 2 + i);
	cr_expect_eq(rows[0].id, one.id + 1);
	cr_expect_eq(rows[2].id, one.id + 3);
	expect_query("SELECT changed FROM audit WHERE version = 2", "[\"n\"]");
	expect_query("SELECT group_concat(to_state) FROM audit ORDER BY id", "open,open,open,done");
	ds_store_close(s);
}

/* A consent kind numbered in a transaction that is undone is numbered
 * again: two kinds never share a bit, and each bit is the one the store
 * names. */
Test(store_sqlite, a_consent_bit_undone_is_not_reused)
{
	ds_store *s = open_store();
	ds_err err = {0};
	int email = -1, sms = -1, again = -1;
	cr_assert_eq(ds_store_begin(s, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_consent_bit(s, "marketing", "email", &email, &err), 0, "%s", err.msg);
	cr_expect_eq(email, 0);
	ds_store_rollback(s);
	cr_assert_eq(ds_store_begin(s, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_consent_bit(s, "marketing", "sms", &sms, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_consent_bit(s, "marketing", "email", &again, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_commit(s, &err), 0, "%s", err.msg);
	cr_expect_neq(sms, again, "two kinds share bit %d", sms);
	ds_store_close(s);
	expect_query("SELECT group_concat(channel || '=' || bit) FROM"
		     " (SELECT channel, bit FROM consent_kinds ORDER BY bit)", "sms=0,email=1");
}
