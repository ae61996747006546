/*
 * store_sqlite.c - the SQLite backend of the store (the only file that
 * calls SQLite).
 *
 * The database runs in WAL mode with synchronous=FULL: a COMMIT returns once
 * the WAL is fsync'd, so whatever a commit covered survives a crash or a
 * power cut. Throughput comes from batching many inputs per transaction,
 * prepared statements kept for the life of the connection, a large page
 * cache, and WAL checkpoints done by a thread of their own.
 *
 * Migrations are SQL scripts applied in order, each in its own transaction;
 * PRAGMA user_version records how many have run.
 */
#include "store_impl.h"

#include "files.h"
#include "hash.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE interactions("
	" id INTEGER PRIMARY KEY,"
	" source TEXT NOT NULL, channel TEXT NOT NULL, origin TEXT,"
	" received_at INTEGER NOT NULL, sha256 BLOB NOT NULL,"
	" size INTEGER NOT NULL, bytes BLOB NOT NULL,"
	" UNIQUE(sha256, source));"
	"CREATE TABLE records("
	" id INTEGER PRIMARY KEY,"
	" interaction_id INTEGER NOT NULL REFERENCES interactions(id),"
	" type TEXT NOT NULL, case_id INTEGER, created_at INTEGER NOT NULL,"
	" data TEXT NOT NULL);"
	"CREATE INDEX records_case ON records(case_id);"
	"CREATE TABLE cases("
	" id INTEGER PRIMARY KEY,"
	" process TEXT NOT NULL, process_version INTEGER NOT NULL,"
	" key TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,"
	" state_version INTEGER NOT NULL, state_since INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" profile_id INTEGER, data TEXT NOT NULL,"
	" UNIQUE(process, key));"
	"CREATE INDEX cases_state ON cases(process, state);"
	"CREATE TABLE audit("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" version INTEGER NOT NULL, from_state TEXT, to_state TEXT NOT NULL,"
	" at INTEGER NOT NULL, cause TEXT NOT NULL, changed TEXT,"
	" UNIQUE(case_id, version));"
	"CREATE TABLE timers("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" state TEXT NOT NULL, state_version INTEGER NOT NULL,"
	" transition INTEGER NOT NULL, due INTEGER NOT NULL,"
	" done_at INTEGER, fired INTEGER);"
	"CREATE INDEX timers_pending ON timers(due, id) WHERE done_at IS NULL;"
	"CREATE TABLE profiles("
	" id INTEGER PRIMARY KEY,"
	" email TEXT UNIQUE, name TEXT,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	/* One B-tree, keyed as it is read: a profile's entries together. */
	"CREATE TABLE timeline("
	" profile_id INTEGER NOT NULL REFERENCES profiles(id),"
	" kind TEXT NOT NULL, ref INTEGER NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY(profile_id, kind, ref)) WITHOUT ROWID;"
	"CREATE TABLE documents("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" audit_id INTEGER NOT NULL REFERENCES audit(id),"
	" template TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,"
	" size INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	" UNIQUE(audit_id, template));"
	"CREATE INDEX documents_case ON documents(case_id);"
	"CREATE TABLE quarantine("
	" id INTEGER PRIMARY KEY,"
	" interaction_id INTEGER, source TEXT NOT NULL, channel TEXT,"
	" origin TEXT, stage TEXT NOT NULL, reason TEXT NOT NULL,"
	" at INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
	" bytes BLOB, replayed INTEGER NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX quarantine_once ON quarantine(source, stage, sha256)"
	" WHERE replayed = 0;",
	/* 2: an input's own identity (an email's Message-ID), so the same
	 * message fetched twice is one interaction even if its bytes differ */
	"ALTER TABLE interactions ADD COLUMN identity TEXT;"
	"CREATE UNIQUE INDEX interactions_identity ON interactions(source, identity)"
	" WHERE identity IS NOT NULL;",
	/* 3: the files an input carried, and what ties a reply to the case of
	 * the message it answers */
	"CREATE TABLE attachments("
	" id INTEGER PRIMARY KEY,"
	" interaction_id INTEGER NOT NULL REFERENCES interactions(id),"
	" seq INTEGER NOT NULL, part TEXT NOT NULL, filename TEXT NOT NULL,"
	" content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 BLOB NOT NULL,"
	" UNIQUE(interaction_id, seq));"
	"CREATE INDEX interactions_thread ON interactions(identity)"
	" WHERE identity IS NOT NULL;"
	"CREATE INDEX records_interaction ON records(interaction_id);",
	/* 4: every process definition the store has run, so a case keeps
	 * running by the version it started with; cases found by version */
	"CREATE TABLE process_defs("
	" process TEXT NOT NULL, version INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL, definition TEXT NOT NULL, first_run INTEGER NOT NULL,"
	" PRIMARY KEY(process, version));"
	"CREATE INDEX cases_version ON cases(process, process_version, state);",
	/* 5: a case's data in a table of its own, written only when the data
	 * changes: a transition or a timer rewrites the case's short row, not
	 * its data (kilobytes for an offer or a complaint). No index on the
	 * state, which every transition would rewrite: the cases of a process
	 * are found by process and version (only an earlier version's are
	 * counted by state, and they are few), and those in a state by
	 * reading the short rows of their process. */
	"CREATE TABLE case_data("
	" case_id INTEGER PRIMARY KEY REFERENCES cases(id),"
	" data TEXT NOT NULL);"
	"INSERT INTO case_data(case_id, data) SELECT id, data FROM cases;"
	"DROP INDEX cases_version;"
	"DROP INDEX cases_state;"
	"ALTER TABLE cases DROP COLUMN data;"
	"CREATE INDEX cases_version ON cases(process, process_version);",
};

enum stmt {
	S_INTERACTION_ADD, S_INTERACTION_FIND, S_INTERACTION_GET,
	S_RECORD_ADD,
	S_ATT_ADD, S_ATT_LIST, S_ATT_GET, S_CASE_THREAD,
	S_CASE_FIND, S_CASE_GET, S_CASE_ROW, S_CASE_DATA, S_CASE_INSERT, S_CASE_UPDATE,
	S_CASE_UPDATE_PV,
	S_CASE_DATA_ADD, S_CASE_DATA_SET, S_CASE_SET_PROFILE,
	S_CASE_LIST, S_CASE_LIST_P, S_CASE_LIST_S, S_CASE_LIST_PS,
	S_CASE_LIST_V, S_CASE_STATES, S_PDEF_ADD, S_PDEF_LIST,
	S_AUDIT_ADD, S_AUDIT_LIST,
	S_TIMER_ADD, S_TIMER_DUE, S_TIMER_DONE, S_TIMER_COUNT,
	S_PROFILE_UPSERT, S_PROFILE_FIND,
	S_TIMELINE_ADD, S_TIMELINE_LIST,
	S_DOC_ADD, S_DOC_EXISTS, S_DOC_LIST, S_DOC_LIST_CASE, S_DOC_GET,
	S_Q_ADD, S_Q_FIND, S_Q_LIST, S_Q_GET, S_Q_REPLAYED, S_Q_COUNT,
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_COUNT_
};

/* A case is its row and its data: "FROM " CASES. */
#define CASE_COLS "c.id, c.process, c.process_version, c.key, c.state, c.version," \
	" c.state_version, c.state_since, c.created_at, c.updated_at," \
	" coalesce(c.profile_id, 0), d.data"
#define CASES "cases c JOIN case_data d ON d.case_id = c.id"
#define ATT_COLS "id, interaction_id, seq, part, filename, content_type, size, sha256"
#define DOC_COLS "d.id, d.case_id, d.audit_id, c.key, d.template, d.path," \
	" d.sha256, d.size, d.created_at"

static const char *const sql[S_COUNT_] = {
	[S_INTERACTION_ADD] = "INSERT INTO interactions(source, channel, origin,"
		" received_at, sha256, size, bytes, identity) VALUES(?,?,?,?,?,?,?,?)"
		" ON CONFLICT DO NOTHING",
	[S_INTERACTION_FIND] = "SELECT id FROM interactions WHERE (sha256 = ?2 AND source = ?1)"
		" OR (?3 IS NOT NULL AND source = ?1 AND identity = ?3) ORDER BY id LIMIT 1",
	[S_INTERACTION_GET] = "SELECT id, source, channel, origin, received_at,"
		" sha256, bytes FROM interactions WHERE id = ?",
	[S_RECORD_ADD] = "INSERT INTO records(interaction_id, type, case_id,"
		" created_at, data) VALUES(?,?,?,?,?)",
	[S_ATT_ADD] = "INSERT INTO attachments(interaction_id, seq, part, filename,"
		" content_type, size, sha256) VALUES(?,?,?,?,?,?,?)",
	[S_ATT_LIST] = "SELECT " ATT_COLS " FROM attachments WHERE interaction_id IN"
		" (SELECT interaction_id FROM records WHERE case_id = ?) ORDER BY id",
	[S_ATT_GET] = "SELECT " ATT_COLS " FROM attachments WHERE id = ?",
	/* "+process": look the few cases up by id, never scan a process's */
	[S_CASE_THREAD] = "SELECT " CASE_COLS " FROM " CASES " WHERE +c.process = ?2 AND c.id IN"
		" (SELECT r.case_id FROM interactions i JOIN records r ON r.interaction_id = i.id"
		" WHERE i.identity = ?1) ORDER BY c.id DESC LIMIT 1",
	[S_CASE_FIND] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.process = ? AND c.key = ?",
	[S_CASE_GET] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.id = ?",
	[S_CASE_ROW] = "SELECT c.id, c.process, c.process_version, c.key, c.state, c.version,"
		" c.state_version, c.state_since, c.created_at, c.updated_at,"
		" coalesce(c.profile_id, 0), NULL FROM cases c WHERE c.id = ?",
	[S_CASE_DATA] = "SELECT data FROM case_data WHERE case_id = ?",
	[S_CASE_INSERT] = "INSERT INTO cases(process, process_version, key, state,"
		" version, state_version, state_since, created_at, updated_at,"
		" profile_id) VALUES(?,?,?,?,?,?,?,?,?,?)"
		" ON CONFLICT(process, key) DO NOTHING",
	/* The process version is set only when it changes (a migration), so
	 * that its index is left alone otherwise. */
	[S_CASE_UPDATE] = "UPDATE cases SET state = ?1, version = ?2,"
		" state_version = ?3, state_since = ?4, updated_at = ?5"
		" WHERE id = ?6 AND version = ?7 AND process_version = ?8",
	[S_CASE_UPDATE_PV] = "UPDATE cases SET state = ?1, version = ?2,"
		" state_version = ?3, state_since = ?4, updated_at = ?5, process_version = ?8"
		" WHERE id = ?6 AND version = ?7",
	[S_CASE_DATA_ADD] = "INSERT INTO case_data(case_id, data) VALUES(?, ?)",
	[S_CASE_DATA_SET] = "UPDATE case_data SET data = ? WHERE case_id = ?",
	[S_CASE_SET_PROFILE] = "UPDATE cases SET profile_id = ? WHERE id = ?",
	[S_CASE_LIST] = "SELECT " CASE_COLS " FROM " CASES " ORDER BY c.id",
	[S_CASE_LIST_P] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.process = ? ORDER BY c.id",
	[S_CASE_LIST_S] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.state = ? ORDER BY c.id",
	[S_CASE_LIST_PS] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.process = ?"
		" AND c.state = ? ORDER BY c.id",
	[S_CASE_LIST_V] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.process = ?"
		" AND c.process_version = ? ORDER BY c.id",
	[S_CASE_STATES] = "SELECT state, count(*) FROM cases WHERE process = ?"
		" AND process_version = ? GROUP BY state ORDER BY state",
	[S_PDEF_ADD] = "INSERT INTO process_defs(process, version, sha256, definition,"
		" first_run) VALUES(?,?,?,?,?) ON CONFLICT(process, version) DO NOTHING",
	[S_PDEF_LIST] = "SELECT process, version, sha256, definition, first_run"
		" FROM process_defs ORDER BY process, version",
	[S_AUDIT_ADD] = "INSERT INTO audit(case_id, version, from_state, to_state,"
		" at, cause, changed) VALUES(?,?,?,?,?,?,?)",
	[S_AUDIT_LIST] = "SELECT id, case_id, version, from_state, to_state, at,"
		" cause, changed FROM audit WHERE case_id = ? ORDER BY version",
	[S_TIMER_ADD] = "INSERT INTO timers(case_id, state, state_version,"
		" transition, due) VALUES(?,?,?,?,?)",
	[S_TIMER_DUE] = "SELECT id, case_id, state, state_version, transition, due"
		" FROM timers WHERE done_at IS NULL AND due <= ?1"
		" AND (due, id) > (?2, ?3) ORDER BY due, id LIMIT ?4",
	[S_TIMER_DONE] = "UPDATE timers SET done_at = ?, fired = ?"
		" WHERE id = ? AND done_at IS NULL",
	[S_TIMER_COUNT] = "SELECT count(*) FROM timers WHERE done_at IS NULL",
	[S_PROFILE_UPSERT] = "INSERT INTO profiles(email, name, created_at, updated_at)"
		" VALUES(?1, ?2, ?3, ?3)",
	[S_PROFILE_FIND] = "SELECT id, email, name, created_at, updated_at"
		" FROM profiles WHERE email = ?",
	[S_TIMELINE_ADD] = "INSERT OR IGNORE INTO timeline(profile_id, kind, ref, at)"
		" VALUES(?,?,?,?)",
	[S_TIMELINE_LIST] = "SELECT kind, ref, at FROM timeline WHERE profile_id = ?"
		" ORDER BY at, kind, ref",
	[S_DOC_ADD] = "INSERT INTO documents(case_id, audit_id, template, path,"
		" sha256, size, created_at) VALUES(?,?,?,?,?,?,?)"
		" ON CONFLICT(audit_id, template) DO NOTHING",
	[S_DOC_EXISTS] = "SELECT 1 FROM documents WHERE audit_id = ? AND template = ?",
	[S_DOC_LIST] = "SELECT " DOC_COLS " FROM documents d JOIN cases c"
		" ON c.id = d.case_id ORDER BY d.id",
	[S_DOC_LIST_CASE] = "SELECT " DOC_COLS " FROM documents d JOIN cases c"
		" ON c.id = d.case_id WHERE d.case_id = ? ORDER BY d.id",
	[S_DOC_GET] = "SELECT " DOC_COLS " FROM documents d JOIN cases c"
		" ON c.id = d.case_id WHERE d.id = ?",
	[S_Q_ADD] = "INSERT INTO quarantine(interaction_id, source, channel, origin,"
		" stage, reason, at, sha256, size, bytes) VALUES(?,?,?,?,?,?,?,?,?,?)"
		" ON CONFLICT(source, stage, sha256) WHERE replayed = 0 DO NOTHING"
		" RETURNING id",
	[S_Q_FIND] = "SELECT id FROM quarantine WHERE source = ? AND stage = ?"
		" AND sha256 = ? AND replayed = 0",
	[S_Q_LIST] = "SELECT id, coalesce(interaction_id, 0), source, channel,"
		" origin, stage, reason, at, sha256, replayed, size, NULL"
		" FROM quarantine WHERE replayed = 0 ORDER BY id",
	[S_Q_GET] = "SELECT id, coalesce(interaction_id, 0), source, channel,"
		" origin, stage, reason, at, sha256, replayed, size, bytes"
		" FROM quarantine WHERE id = ?",
	[S_Q_REPLAYED] = "UPDATE quarantine SET replayed = 1 WHERE id = ?",
	[S_Q_COUNT] = "SELECT count(*) FROM quarantine WHERE replayed = 0",
	/* Transaction control runs per input: prepared once, like the rest. */
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT input",
	[S_RELEASE] = "RELEASE input",
	[S_ROLLBACK_TO] = "ROLLBACK TO input",
};

/* The checkpointer: a thread with its own connection copies the WAL back
 * into the database while the writer goes on, so checkpoints use the
 * second core instead of stalling commits. */
typedef struct checkpointer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;
	bool started;
	bool stop;
	bool wanted;
} checkpointer;

#define CHECKPOINT_PAGES 4096

typedef struct lite {
	struct ds_store base;
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT_];
	char path[PATH_MAX];
	checkpointer ck;
} lite;

static lite *L(ds_store *s) { return (lite *)s; }

static int db_error(lite *l, ds_err *err, const char *what)
{
	int code = sqlite3_errcode(l->db);
	int ds = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? DS_EBUSY : DS_EIO;
	return ds_err_set(err, ds, "store: %s: %s", what, sqlite3_errmsg(l->db));
}

/* The cached statement, reset and with its bindings cleared. */
static sqlite3_stmt *st(lite *l, enum stmt k, ds_err *err)
{
	sqlite3_stmt *s = l->stmt[k];
	if (!s) {
		if (sqlite3_prepare_v3(l->db, sql[k], -1, SQLITE_PREPARE_PERSISTENT,
				       &s, NULL) != SQLITE_OK) {
			db_error(l, err, "prepare");
			return NULL;
		}
		l->stmt[k] = s;
	} else {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_id(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static const char *col_text(ds_arena *a, sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	if (!t)
		return NULL;
	if (!a)
		return (const char *)t;
	return ds_arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(s, i));
}

static void col_hex(sqlite3_stmt *s, int i, char out[65])
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, 65, "%s", t ? (const char *)t : "");
}

/* Binds a hex SHA-256 as its 32 bytes: half the index of the text. */
static void bind_sha(sqlite3_stmt *s, int i, const char *hex)
{
	unsigned char b[32];
	for (int k = 0; k < 32; k++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = hex[2 * k + j];
			v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
		}
		b[k] = (unsigned char)v;
	}
	sqlite3_bind_blob(s, i, b, 32, SQLITE_TRANSIENT);
}

static void col_sha(sqlite3_stmt *s, int i, char out[65])
{
	const unsigned char *b = sqlite3_column_blob(s, i);
	if (!b || sqlite3_column_bytes(s, i) != 32)
		out[0] = '\0';
	else
		ds_hex(b, 32, out);
}

/* Runs a statement that returns no row. */
static int run(lite *l, sqlite3_stmt *s, ds_err *err, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(l, err, what);
	return DS_OK;
}

static int exec_sql(lite *l, const char *text, ds_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(l->db, text, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(l->db);
		ds_err_set(err, code == SQLITE_BUSY ? DS_EBUSY : DS_EIO,
			   "store: %s: %s", text, msg ? msg : "failed");
		sqlite3_free(msg);
		return err ? err->code : DS_EIO;
	}
	return DS_OK;
}

static int lite_tx(ds_store *s, int op, ds_err *err)
{
	lite *l = L(s);
	static const enum stmt stmts[] = {
		[DS_TX_BEGIN] = S_BEGIN, [DS_TX_COMMIT] = S_COMMIT, [DS_TX_ROLLBACK] = S_ROLLBACK,
		[DS_TX_SAVEPOINT] = S_SAVEPOINT, [DS_TX_RELEASE] = S_RELEASE,
		[DS_TX_ROLLBACK_TO] = S_ROLLBACK_TO,
	};
	if (op < 0 || op > DS_TX_ROLLBACK_TO)
		return ds_err_set(err, DS_EINTERNAL, "store: unknown transaction operation %d", op);
	sqlite3_stmt *q = st(l, stmts[op], err);
	if (!q)
		return err ? err->code : DS_EIO;
	int rc = run(l, q, err, sql[stmts[op]]);
	/* Undoing a savepoint leaves it open; close it so the next input
	 * starts afresh. */
	if (op == DS_TX_ROLLBACK_TO && (q = st(l, S_RELEASE, NULL)))
		run(l, q, NULL, "release");
	return rc;
}

static int64_t lite_changes(ds_store *s) { return sqlite3_total_changes64(L(s)->db); }



static int migrate(lite *l, ds_err *err)
{
	sqlite3_stmt *s = NULL;
	int have = 0;
	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return db_error(l, err, "read schema version");
	if (sqlite3_step(s) == SQLITE_ROW)
		have = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	int want = (int)(sizeof migrations / sizeof *migrations);
	if (have > want)
		return ds_err_set(err, DS_ECONFIG,
				  "store schema version %d is newer than this dossier (%d)",
				  have, want);
	for (int v = have; v < want; v++) {
		char pragma[64];
		int rc = exec_sql(l, "BEGIN IMMEDIATE", err);
		if (rc)
			return rc;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if ((rc = exec_sql(l, migrations[v], err)) ||
		    (rc = exec_sql(l, pragma, err)) ||
		    (rc = exec_sql(l, "COMMIT", err))) {
			exec_sql(l, "ROLLBACK", NULL);
			return ds_err_prefix(err, "migration %d", v + 1);
		}
	}
	return DS_OK;
}

static void quiet_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void *checkpoint_main(void *arg)
{
	checkpointer *ck = arg;
	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->wanted && !ck->stop)
			pthread_cond_wait(&ck->cv, &ck->mu);
		if (ck->stop)
			break;
		ck->wanted = false;
		pthread_mutex_unlock(&ck->mu);
		/* PASSIVE never waits for the writer; what it cannot copy now
		 * is copied next time. */
		sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&ck->mu);
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* Runs in the writer after each commit with the WAL's size in pages. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	lite *l = ud;
	checkpointer *ck = &l->ck;
	if (pages < CHECKPOINT_PAGES)
		return SQLITE_OK;
	if (!ck->started) {
		if (sqlite3_open_v2(l->path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK) {
			sqlite3_close(ck->db);
			ck->db = NULL;
			/* Without the thread, checkpoint here, as SQLite would. */
			sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			return SQLITE_OK;
		}
		sqlite3_busy_timeout(ck->db, 10000);
		/* A connection opens the WAL only once it has read the database. */
		sqlite3_exec(ck->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
		pthread_mutex_init(&ck->mu, NULL);
		pthread_cond_init(&ck->cv, NULL);
		if (pthread_create(&ck->thread, NULL, checkpoint_main, ck)) {
			sqlite3_close(ck->db);
			ck->db = NULL;
			sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			return SQLITE_OK;
		}
		ck->started = true;
	}
	pthread_mutex_lock(&ck->mu);
	ck->wanted = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	return SQLITE_OK;
}

static void stop_checkpointer(checkpointer *ck)
{
	if (!ck->started)
		return;
	pthread_mutex_lock(&ck->mu);
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->thread, NULL);
	sqlite3_close(ck->db);
	pthread_mutex_destroy(&ck->mu);
	pthread_cond_destroy(&ck->cv);
	ck->started = false;
}

static void lite_close(ds_store *s)
{
	lite *l = L(s);
	stop_checkpointer(&l->ck);
	for (int i = 0; i < S_COUNT_; i++)
		sqlite3_finalize(l->stmt[i]);
	sqlite3_close(l->db);
	ds_free(l);
}

/* The database file of target: relative to home unless absolute. */
static int db_path(const char *target, const char *home, char path[PATH_MAX], ds_err *err)
{
	int rc;
	if (!*target)
		return ds_err_set(err, DS_ECONFIG, "sqlite store URL has no path");
	if (target[0] == '/' || !home || !*home)
		rc = snprintf(path, PATH_MAX, "%s", target);
	else
		rc = snprintf(path, PATH_MAX, "%s/%s", home, target);
	if (rc < 0 || rc >= PATH_MAX)
		return ds_err_set(err, DS_ECONFIG, "store path too long");
	return DS_OK;
}

static bool lite_exists(const char *target, const char *home)
{
	char path[PATH_MAX];
	struct stat sb;
	return !db_path(target, home, path, NULL) && stat(path, &sb) == 0;
}

static int lite_open(const char *target, const char *home, ds_store **out, ds_err *err)
{
	char path[PATH_MAX];
	int rc;
	lite *l = NULL;
	if ((rc = db_path(target, home, path, err)))
		return rc;
	/* The store's folder may not exist yet. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((rc = ds_mkdirs(dir, err)))
			return rc;
	}
	l = ds_calloc(1, sizeof *l);
	if (!l)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	l->base.ops = &ds_store_sqlite_ops;
	/* Memory statistics take a global mutex on every allocation; dossier
	 * does not read them. Only possible before SQLite initialises. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, quiet_sqlite);
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = ds_err_set(err, DS_EIO, "cannot open store %s: %s", path,
				l->db ? sqlite3_errmsg(l->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(l->db, 10000);
	sqlite3_extended_result_codes(l->db, 0);
	if ((rc = exec_sql(l, "PRAGMA journal_mode = WAL;"
			   "PRAGMA synchronous = FULL;"
			   "PRAGMA cache_size = -32768;"

			   "PRAGMA temp_store = MEMORY;"
			   "PRAGMA foreign_keys = OFF;", err)))
		goto fail;
	/* The durability promise rests on WAL: refuse to run without it. */
	sqlite3_stmt *jm = NULL;
	bool wal = false;
	if (sqlite3_prepare_v2(l->db, "PRAGMA journal_mode", -1, &jm, NULL) == SQLITE_OK &&
	    sqlite3_step(jm) == SQLITE_ROW)
		wal = !sqlite3_stricmp((const char *)sqlite3_column_text(jm, 0), "wal");
	sqlite3_finalize(jm);
	if (!wal) {
		rc = ds_err_set(err, DS_EIO, "store %s cannot use write-ahead logging", path);
		goto fail;
	}
	if ((rc = migrate(l, err)))
		goto fail;
	snprintf(l->path, sizeof l->path, "%s", path);
	sqlite3_wal_hook(l->db, wal_hook, l);
	*out = &l->base;
	return DS_OK;
fail:
	lite_close(&l->base);
	return rc;
}

/* Lists: walk() steps a statement to its end and hands each row, read by
 * a row_* function, to the caller's typed callback (kept in walk_ctx as a
 * generic function pointer and cast back to its own type to be called). A
 * non-zero answer stops the walk and is returned. */
struct walk_ctx {
	void (*fn)(void);
	void *ud;
};

static void read_case(ds_arena *a, sqlite3_stmt *q, ds_case_row *c);
static void read_doc(ds_arena *a, sqlite3_stmt *q, ds_document_row *d);
static void read_q(ds_arena *a, sqlite3_stmt *q, ds_quarantine_row *r);

static int walk(lite *l, sqlite3_stmt *q, int (*row)(const struct walk_ctx *, sqlite3_stmt *),
		const struct walk_ctx *w, ds_err *err, const char *what)
{
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int x = row(w, q);
		if (x) {
			sqlite3_reset(q);
			return x;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? DS_OK : db_error(l, err, what);
}

static int row_case(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_case_row c;
	read_case(NULL, q, &c);
	return ((int (*)(void *, const ds_case_row *))w->fn)(w->ud, &c);
}

static int row_audit(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_audit_row r = {
		.id = sqlite3_column_int64(q, 0),
		.case_id = sqlite3_column_int64(q, 1),
		.version = sqlite3_column_int64(q, 2),
		.from_state = col_text(NULL, q, 3),
		.to_state = col_text(NULL, q, 4),
		.at = sqlite3_column_int64(q, 5),
		.cause = col_text(NULL, q, 6),
		.changed = col_text(NULL, q, 7),
	};
	return ((int (*)(void *, const ds_audit_row *))w->fn)(w->ud, &r);
}

static int row_timer(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_timer_row t = {
		.id = sqlite3_column_int64(q, 0),
		.case_id = sqlite3_column_int64(q, 1),
		.state = col_text(NULL, q, 2),
		.state_version = sqlite3_column_int64(q, 3),
		.transition = sqlite3_column_int(q, 4),
		.due = sqlite3_column_int64(q, 5),
	};
	return ((int (*)(void *, const ds_timer_row *))w->fn)(w->ud, &t);
}

static int row_timeline(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_timeline_row r = {
		.kind = col_text(NULL, q, 0),
		.ref = sqlite3_column_int64(q, 1),
		.at = sqlite3_column_int64(q, 2),
	};
	return ((int (*)(void *, const ds_timeline_row *))w->fn)(w->ud, &r);
}

static int row_document(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_document_row d;
	read_doc(NULL, q, &d);
	return ((int (*)(void *, const ds_document_row *))w->fn)(w->ud, &d);
}

static int row_quarantine(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_quarantine_row r;
	read_q(NULL, q, &r);
	return ((int (*)(void *, const ds_quarantine_row *))w->fn)(w->ud, &r);
}

/* ---- interactions ---- */

static int lite_interaction_add(ds_store *s, ds_interaction *in, bool *dup, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_INTERACTION_ADD, err);
	if (!q)
		return err->code;
	bind_text(q, 1, in->source);
	bind_text(q, 2, in->channel);
	bind_text(q, 3, in->origin);
	sqlite3_bind_int64(q, 4, in->received_at);
	bind_sha(q, 5, in->sha256);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)in->len);
	sqlite3_bind_blob64(q, 7, in->bytes ? (const void *)in->bytes : "", in->len,
			    SQLITE_STATIC);
	bind_text(q, 8, in->identity);
	/* No RETURNING: it goes through a temporary table, and a new row's id
	 * is the last one inserted. */
	int rc = run(l, q, err, "store interaction");
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) == 1) {
		in->id = sqlite3_last_insert_rowid(l->db);
		*dup = false;
		return DS_OK;
	}
	*dup = true;
	if (!(q = st(l, S_INTERACTION_FIND, err)))
		return err->code;
	bind_text(q, 1, in->source);
	bind_sha(q, 2, in->sha256);
	bind_text(q, 3, in->identity);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return db_error(l, err, "find duplicate interaction");
	}
	in->id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return DS_OK;
}

static int lite_interaction_get(ds_store *s, int64_t id, ds_arena *a, ds_interaction *out,
				ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_INTERACTION_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			return ds_err_set(err, DS_ENOTFOUND, "no interaction %lld", (long long)id);
		return db_error(l, err, "read interaction");
	}
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(q, 0);
	out->source = col_text(a, q, 1);
	out->channel = col_text(a, q, 2);
	out->origin = col_text(a, q, 3);
	out->received_at = sqlite3_column_int64(q, 4);
	col_sha(q, 5, out->sha256);
	size_t n = (size_t)sqlite3_column_bytes(q, 6);
	unsigned char *b = ds_arena_alloc(a, n + 1);
	if (b) {
		if (n)
			memcpy(b, sqlite3_column_blob(q, 6), n);
		b[n] = 0;
	}
	out->bytes = b;
	out->len = n;
	sqlite3_reset(q);
	return b ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
}

/* ---- records ---- */

static int lite_record_add(ds_store *s, int64_t iid, const char *type, const char *json,
			   int64_t case_id, ds_time at, int64_t *id, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_RECORD_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, iid);
	bind_text(q, 2, type);
	bind_id(q, 3, case_id);
	sqlite3_bind_int64(q, 4, at);
	bind_text(q, 5, json);
	int rc = run(l, q, err, "store record");
	if (!rc && id)
		*id = sqlite3_last_insert_rowid(l->db);
	return rc;
}

/* ---- attachments ---- */

static void read_att(ds_arena *a, sqlite3_stmt *q, ds_attachment_row *r)
{
	r->id = sqlite3_column_int64(q, 0);
	r->interaction_id = sqlite3_column_int64(q, 1);
	r->seq = sqlite3_column_int(q, 2);
	r->part = col_text(a, q, 3);
	r->filename = col_text(a, q, 4);
	r->content_type = col_text(a, q, 5);
	r->size = sqlite3_column_int64(q, 6);
	col_sha(q, 7, r->sha256);
}

static int lite_attachment_add(ds_store *s, ds_attachment_row *r, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_ATT_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, r->interaction_id);
	sqlite3_bind_int(q, 2, r->seq);
	bind_text(q, 3, r->part);
	bind_text(q, 4, r->filename ? r->filename : "");
	bind_text(q, 5, r->content_type);
	sqlite3_bind_int64(q, 6, r->size);
	bind_sha(q, 7, r->sha256);
	int rc = run(l, q, err, "store attachment");
	if (!rc)
		r->id = sqlite3_last_insert_rowid(l->db);
	return rc;
}

static int row_att(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_attachment_row r;
	read_att(NULL, q, &r);
	return ((int (*)(void *, const ds_attachment_row *))w->fn)(w->ud, &r);
}

static int lite_attachment_list(ds_store *s, int64_t case_id,
				int (*fn)(void *, const ds_attachment_row *), void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_ATT_LIST, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, case_id);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_att, &w, err, "list attachments");
}

static int lite_attachment_get(ds_store *s, int64_t id, ds_arena *a, ds_attachment_row *out,
			       ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_ATT_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_att(a, q, out);
		sqlite3_reset(q);
		if (!out->part || !out->filename || !out->content_type)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no such attachment: %lld", (long long)id);
	return db_error(l, err, "read attachment");
}

/* ---- cases ---- */

static void read_case(ds_arena *a, sqlite3_stmt *q, ds_case_row *c)
{
	c->id = sqlite3_column_int64(q, 0);
	c->process = col_text(a, q, 1);
	c->process_version = sqlite3_column_int(q, 2);
	c->key = col_text(a, q, 3);
	c->state = col_text(a, q, 4);
	c->version = sqlite3_column_int64(q, 5);
	c->state_version = sqlite3_column_int64(q, 6);
	c->state_since = sqlite3_column_int64(q, 7);
	c->created_at = sqlite3_column_int64(q, 8);
	c->updated_at = sqlite3_column_int64(q, 9);
	c->profile_id = sqlite3_column_int64(q, 10);
	c->data = col_text(a, q, 11);
}

static int one_case(lite *l, sqlite3_stmt *q, ds_arena *a, ds_case_row *out, ds_err *err,
		    const char *what)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		bool data = sqlite3_column_type(q, 11) != SQLITE_NULL;
		read_case(a, q, out);
		sqlite3_reset(q);
		if ((data && !out->data) || !out->key)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no such case: %s", what);
	return db_error(l, err, "read case");
}

static int lite_case_find(ds_store *s, const char *process, const char *key, ds_arena *a,
			  ds_case_row *out, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_FIND, err);
	if (!q)
		return err->code;
	bind_text(q, 1, process);
	bind_text(q, 2, key);
	return one_case(l, q, a, out, err, key);
}

static int lite_case_by_thread(ds_store *s, const char *process, const char *id, ds_arena *a,
			       ds_case_row *out, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_THREAD, err);
	if (!q)
		return err->code;
	bind_text(q, 1, id);
	bind_text(q, 2, process);
	return one_case(l, q, a, out, err, id);
}

/* The case id by statement k: S_CASE_GET, or S_CASE_ROW without its data. */
static int case_by_id(ds_store *s, enum stmt k, int64_t id, ds_arena *a, ds_case_row *out,
		      ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, k, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	char what[32];
	snprintf(what, sizeof what, "#%lld", (long long)id);
	return one_case(l, q, a, out, err, what);
}

static int lite_case_get(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out, ds_err *err)
{
	return case_by_id(s, S_CASE_GET, id, a, out, err);
}

static int lite_case_row(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out, ds_err *err)
{
	return case_by_id(s, S_CASE_ROW, id, a, out, err);
}

static int lite_case_data(ds_store *s, int64_t id, ds_arena *a, const char **out, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_DATA, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? col_text(a, q, 0) : NULL;
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no data for case #%lld", (long long)id);
	if (rc != SQLITE_ROW)
		return db_error(l, err, "read case data");
	return *out ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
}

static int lite_case_insert(ds_store *s, ds_case_row *c, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_INSERT, err);
	if (!q)
		return err->code;
	bind_text(q, 1, c->process);
	sqlite3_bind_int(q, 2, c->process_version);
	bind_text(q, 3, c->key);
	bind_text(q, 4, c->state);
	sqlite3_bind_int64(q, 5, c->version);
	sqlite3_bind_int64(q, 6, c->state_version);
	sqlite3_bind_int64(q, 7, c->state_since);
	sqlite3_bind_int64(q, 8, c->created_at);
	sqlite3_bind_int64(q, 9, c->updated_at);
	bind_id(q, 10, c->profile_id);
	int rc = run(l, q, err, "create case");
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) != 1)
		return ds_err_set(err, DS_EBUSY, "case %s/%s already exists", c->process, c->key);
	c->id = sqlite3_last_insert_rowid(l->db);
	if (!(q = st(l, S_CASE_DATA_ADD, err)))
		return err->code;
	sqlite3_bind_int64(q, 1, c->id);
	bind_text(q, 2, c->data ? c->data : "{}");
	return run(l, q, err, "store case data");
}

/* The case's row; k: S_CASE_UPDATE, or S_CASE_UPDATE_PV to set its
 * process version too. Whether a row changed is in sqlite3_changes(). */
static int update_row(lite *l, enum stmt k, const ds_case_row *c, int64_t expected, ds_err *err)
{
	sqlite3_stmt *q = st(l, k, err);
	if (!q)
		return err->code;
	bind_text(q, 1, c->state);
	sqlite3_bind_int64(q, 2, c->version);
	sqlite3_bind_int64(q, 3, c->state_version);
	sqlite3_bind_int64(q, 4, c->state_since);
	sqlite3_bind_int64(q, 5, c->updated_at);
	sqlite3_bind_int64(q, 6, c->id);
	sqlite3_bind_int64(q, 7, expected);
	sqlite3_bind_int(q, 8, c->process_version);
	return run(l, q, err, "update case");
}

static int lite_case_update(ds_store *s, const ds_case_row *c, int64_t expected, ds_err *err)
{
	lite *l = L(s);
	int rc = update_row(l, S_CASE_UPDATE, c, expected, err);
	/* No row: the case changed meanwhile, or it moves to another process
	 * version. */
	if (!rc && sqlite3_changes(l->db) != 1)
		rc = update_row(l, S_CASE_UPDATE_PV, c, expected, err);
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) != 1)
		return ds_err_set(err, DS_EBUSY, "case %s changed meanwhile (version %lld expected)",
				  c->key, (long long)expected);
	if (!c->data)
		return DS_OK;
	sqlite3_stmt *q = st(l, S_CASE_DATA_SET, err);
	if (!q)
		return err->code;
	bind_text(q, 1, c->data);
	sqlite3_bind_int64(q, 2, c->id);
	if ((rc = run(l, q, err, "update case data")))
		return rc;
	if (sqlite3_changes(l->db) != 1)
		return ds_err_set(err, DS_EIO, "store: case %s has no data row", c->key);
	return DS_OK;
}

static int lite_case_set_profile(ds_store *s, int64_t case_id, int64_t profile_id, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_SET_PROFILE, err);
	if (!q)
		return err->code;
	bind_id(q, 1, profile_id);
	sqlite3_bind_int64(q, 2, case_id);
	return run(l, q, err, "link case to profile");
}

static int lite_case_list(ds_store *s, const char *process, const char *state,
			  int (*fn)(void *, const ds_case_row *), void *ud, ds_err *err)
{
	lite *l = L(s);
	enum stmt k = process ? (state ? S_CASE_LIST_PS : S_CASE_LIST_P)
			      : (state ? S_CASE_LIST_S : S_CASE_LIST);
	sqlite3_stmt *q = st(l, k, err);
	if (!q)
		return err->code;
	int i = 1;
	if (process)
		bind_text(q, i++, process);
	if (state)
		bind_text(q, i++, state);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_case, &w, err, "list cases");
}

static int lite_case_list_version(ds_store *s, const char *process, int version,
				  int (*fn)(void *, const ds_case_row *), void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_LIST_V, err);
	if (!q)
		return err->code;
	bind_text(q, 1, process);
	sqlite3_bind_int(q, 2, version);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_case, &w, err, "list cases of a version");
}

static int row_state_count(const struct walk_ctx *w, sqlite3_stmt *q)
{
	return ((int (*)(void *, const char *, int64_t))w->fn)(w->ud, col_text(NULL, q, 0),
								 sqlite3_column_int64(q, 1));
}

static int lite_case_states(ds_store *s, const char *process, int version,
			    int (*fn)(void *, const char *, int64_t), void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_STATES, err);
	if (!q)
		return err->code;
	bind_text(q, 1, process);
	sqlite3_bind_int(q, 2, version);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_state_count, &w, err, "count cases by state");
}

/* ---- process definitions ---- */

static int lite_process_def_add(ds_store *s, const ds_process_def_row *d, bool *added,
				ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_PDEF_ADD, err);
	if (!q)
		return err->code;
	bind_text(q, 1, d->process);
	sqlite3_bind_int(q, 2, d->version);
	bind_text(q, 3, d->sha256);
	bind_text(q, 4, d->definition);
	sqlite3_bind_int64(q, 5, d->first_run);
	int rc = run(l, q, err, "record process definition");
	if (!rc)
		*added = sqlite3_changes(l->db) == 1;
	return rc;
}

static int row_process_def(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_process_def_row d = {
		.process = col_text(NULL, q, 0),
		.version = sqlite3_column_int(q, 1),
		.definition = col_text(NULL, q, 3),
		.first_run = sqlite3_column_int64(q, 4),
	};
	col_hex(q, 2, d.sha256);
	return ((int (*)(void *, const ds_process_def_row *))w->fn)(w->ud, &d);
}

static int lite_process_def_list(ds_store *s, int (*fn)(void *, const ds_process_def_row *),
				 void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_PDEF_LIST, err);
	if (!q)
		return err->code;
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_process_def, &w, err, "list process definitions");
}

/* ---- audit ---- */

static int lite_audit_add(ds_store *s, ds_audit_row *r, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_AUDIT_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, r->case_id);
	sqlite3_bind_int64(q, 2, r->version);
	bind_text(q, 3, r->from_state);
	bind_text(q, 4, r->to_state);
	sqlite3_bind_int64(q, 5, r->at);
	bind_text(q, 6, r->cause);
	bind_text(q, 7, r->changed);
	int rc = run(l, q, err, "write audit");
	if (!rc)
		r->id = sqlite3_last_insert_rowid(l->db);
	return rc;
}

static int lite_audit_list(ds_store *s, int64_t case_id,
			   int (*fn)(void *, const ds_audit_row *), void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_AUDIT_LIST, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, case_id);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_audit, &w, err, "read audit");
}

/* ---- timers ---- */

static int lite_timer_add(ds_store *s, ds_timer_row *t, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TIMER_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, t->case_id);
	bind_text(q, 2, t->state);
	sqlite3_bind_int64(q, 3, t->state_version);
	sqlite3_bind_int(q, 4, t->transition);
	sqlite3_bind_int64(q, 5, t->due);
	int rc = run(l, q, err, "schedule timer");
	if (!rc)
		t->id = sqlite3_changes(l->db) ? sqlite3_last_insert_rowid(l->db) : 0;
	return rc;
}

static int lite_timer_due(ds_store *s, ds_time now, ds_time after_due, int64_t after_id,
			  size_t limit, int (*fn)(void *, const ds_timer_row *), void *ud,
			  ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TIMER_DUE, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, after_due);
	sqlite3_bind_int64(q, 3, after_id);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)limit);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_timer, &w, err, "read due timers");
}

static int lite_timer_done(ds_store *s, int64_t id, ds_time at, bool fired, bool *was_pending,
			   ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TIMER_DONE, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, at);
	sqlite3_bind_int(q, 2, fired);
	sqlite3_bind_int64(q, 3, id);
	int rc = run(l, q, err, "mark timer");
	if (!rc)
		*was_pending = sqlite3_changes(l->db) == 1;
	return rc;
}

static int64_t count_of(lite *l, enum stmt k)
{
	sqlite3_stmt *q = st(l, k, NULL);
	int64_t n = -1;
	if (q && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	if (q)
		sqlite3_reset(q);
	return n;
}

static int64_t lite_timer_pending_count(ds_store *s) { return count_of(L(s), S_TIMER_COUNT); }

/* ---- profiles ---- */

/* A lookup first: most inputs come from known customers, and a hit then
 * writes nothing. */
static int lite_profile_upsert(ds_store *s, const char *email, const char *name, ds_time at,
			       int64_t *id, bool *created, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_PROFILE_FIND, err);
	if (!q)
		return err->code;
	bind_text(q, 1, email);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (created)
			*created = false;
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_error(l, err, "find profile");
	if (!(q = st(l, S_PROFILE_UPSERT, err)))
		return err->code;
	bind_text(q, 1, email);
	bind_text(q, 2, name);
	sqlite3_bind_int64(q, 3, at);
	if ((rc = run(l, q, err, "create profile")))
		return rc;
	*id = sqlite3_last_insert_rowid(l->db);
	if (created)
		*created = true;
	return DS_OK;
}

static int one_profile(lite *l, sqlite3_stmt *q, ds_arena *a, ds_profile_row *out,
		       ds_err *err, const char *what)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(q, 0);
		out->email = col_text(a, q, 1);
		out->name = col_text(a, q, 2);
		out->created_at = sqlite3_column_int64(q, 3);
		out->updated_at = sqlite3_column_int64(q, 4);
		sqlite3_reset(q);
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no such profile: %s", what);
	return db_error(l, err, "read profile");
}

static int lite_profile_find_email(ds_store *s, const char *email, ds_arena *a,
				   ds_profile_row *out, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_PROFILE_FIND, err);
	if (!q)
		return err->code;
	bind_text(q, 1, email);
	return one_profile(l, q, a, out, err, email);
}

static int lite_timeline_add(ds_store *s, int64_t pid, const char *kind, int64_t ref,
			     ds_time at, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TIMELINE_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, pid);
	bind_text(q, 2, kind);
	sqlite3_bind_int64(q, 3, ref);
	sqlite3_bind_int64(q, 4, at);
	return run(l, q, err, "add to timeline");
}

static int lite_timeline_list(ds_store *s, int64_t pid,
			      int (*fn)(void *, const ds_timeline_row *), void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TIMELINE_LIST, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, pid);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_timeline, &w, err, "read timeline");
}

/* ---- documents ---- */

static int lite_document_add(ds_store *s, ds_document_row *d, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_DOC_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, d->case_id);
	sqlite3_bind_int64(q, 2, d->audit_id);
	bind_text(q, 3, d->template_name);
	bind_text(q, 4, d->path);
	bind_text(q, 5, d->sha256);
	sqlite3_bind_int64(q, 6, d->size);
	sqlite3_bind_int64(q, 7, d->created_at);
	int rc = run(l, q, err, "record document");
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) != 1)
		return ds_err_set(err, DS_EBUSY, "document %s already produced for this entry",
				  d->template_name);
	d->id = sqlite3_last_insert_rowid(l->db);
	return DS_OK;
}

static bool lite_document_exists(ds_store *s, int64_t audit_id, const char *tpl)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_DOC_EXISTS, NULL);
	if (!q)
		return false;
	sqlite3_bind_int64(q, 1, audit_id);
	bind_text(q, 2, tpl);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_reset(q);
	return found;
}

static void read_doc(ds_arena *a, sqlite3_stmt *q, ds_document_row *d)
{
	d->id = sqlite3_column_int64(q, 0);
	d->case_id = sqlite3_column_int64(q, 1);
	d->audit_id = sqlite3_column_int64(q, 2);
	d->case_key = col_text(a, q, 3);
	d->template_name = col_text(a, q, 4);
	d->path = col_text(a, q, 5);
	col_hex(q, 6, d->sha256);
	d->size = sqlite3_column_int64(q, 7);
	d->created_at = sqlite3_column_int64(q, 8);
}

static int lite_document_list(ds_store *s, int64_t case_id,
			      int (*fn)(void *, const ds_document_row *), void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, case_id ? S_DOC_LIST_CASE : S_DOC_LIST, err);
	if (!q)
		return err->code;
	if (case_id)
		sqlite3_bind_int64(q, 1, case_id);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_document, &w, err, "list documents");
}

static int lite_document_get(ds_store *s, int64_t id, ds_arena *a, ds_document_row *out,
			     ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_DOC_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_doc(a, q, out);
		sqlite3_reset(q);
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no such document: %lld", (long long)id);
	return db_error(l, err, "read document");
}

/* ---- quarantine ---- */

static int lite_quarantine_add(ds_store *s, ds_quarantine_row *r, bool *dup, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_Q_ADD, err);
	if (!q)
		return err->code;
	bind_id(q, 1, r->interaction_id);
	bind_text(q, 2, r->source);
	bind_text(q, 3, r->channel);
	bind_text(q, 4, r->origin);
	bind_text(q, 5, r->stage);
	bind_text(q, 6, r->reason);
	sqlite3_bind_int64(q, 7, r->at);
	bind_text(q, 8, r->sha256);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)r->size);
	if (r->bytes)
		sqlite3_bind_blob64(q, 10, r->bytes, r->len, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(q, 0);
		*dup = false;
		sqlite3_reset(q);
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_error(l, err, "quarantine");
	*dup = true;
	if (!(q = st(l, S_Q_FIND, err)))
		return err->code;
	bind_text(q, 1, r->source);
	bind_text(q, 2, r->stage);
	bind_text(q, 3, r->sha256);
	r->id = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return DS_OK;
}

static void read_q(ds_arena *a, sqlite3_stmt *q, ds_quarantine_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(q, 0);
	r->interaction_id = sqlite3_column_int64(q, 1);
	r->source = col_text(a, q, 2);
	r->channel = col_text(a, q, 3);
	r->origin = col_text(a, q, 4);
	r->stage = col_text(a, q, 5);
	r->reason = col_text(a, q, 6);
	r->at = sqlite3_column_int64(q, 7);
	col_hex(q, 8, r->sha256);
	r->replayed = sqlite3_column_int(q, 9) != 0;
	r->size = (size_t)sqlite3_column_int64(q, 10);
}

static int lite_quarantine_list(ds_store *s, int (*fn)(void *, const ds_quarantine_row *),
				void *ud, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_Q_LIST, err);
	if (!q)
		return err->code;
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_quarantine, &w, err, "list quarantine");
}

static int lite_quarantine_get(ds_store *s, int64_t id, ds_arena *a, ds_quarantine_row *out,
			       ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_Q_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			return ds_err_set(err, DS_ENOTFOUND, "no quarantine entry %lld",
					  (long long)id);
		return db_error(l, err, "read quarantine");
	}
	read_q(a, q, out);
	if (sqlite3_column_type(q, 11) == SQLITE_BLOB) {
		size_t n = (size_t)sqlite3_column_bytes(q, 11);
		unsigned char *b = ds_arena_alloc(a, n + 1);
		if (b) {
			if (n)
				memcpy(b, sqlite3_column_blob(q, 11), n);
			b[n] = 0;
			out->bytes = b;
			out->len = n;
		}
	}
	sqlite3_reset(q);
	return DS_OK;
}

static int lite_quarantine_mark_replayed(ds_store *s, int64_t id, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_Q_REPLAYED, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	return run(l, q, err, "mark replayed");
}

static int64_t lite_quarantine_count(ds_store *s) { return count_of(L(s), S_Q_COUNT); }

const struct ds_store_ops ds_store_sqlite_ops = {
	.scheme = "sqlite",
	.open = lite_open,
	.exists = lite_exists,
	.close = lite_close,
	.tx = lite_tx,
	.changes = lite_changes,
	.interaction_add = lite_interaction_add,
	.interaction_get = lite_interaction_get,
	.record_add = lite_record_add,
	.attachment_add = lite_attachment_add,
	.attachment_list = lite_attachment_list,
	.attachment_get = lite_attachment_get,
	.case_by_thread = lite_case_by_thread,
	.case_find = lite_case_find,
	.case_get = lite_case_get,
	.case_row = lite_case_row,
	.case_data = lite_case_data,
	.case_insert = lite_case_insert,
	.case_update = lite_case_update,
	.case_set_profile = lite_case_set_profile,
	.case_list = lite_case_list,
	.case_list_version = lite_case_list_version,
	.case_states = lite_case_states,
	.process_def_add = lite_process_def_add,
	.process_def_list = lite_process_def_list,
	.audit_add = lite_audit_add,
	.audit_list = lite_audit_list,
	.timer_add = lite_timer_add,
	.timer_due = lite_timer_due,
	.timer_done = lite_timer_done,
	.timer_pending_count = lite_timer_pending_count,
	.profile_upsert = lite_profile_upsert,
	.profile_find_email = lite_profile_find_email,
	.timeline_add = lite_timeline_add,
	.timeline_list = lite_timeline_list,
	.document_add = lite_document_add,
	.document_exists = lite_document_exists,
	.document_list = lite_document_list,
	.document_get = lite_document_get,
	.quarantine_add = lite_quarantine_add,
	.quarantine_list = lite_quarantine_list,
	.quarantine_get = lite_quarantine_get,
	.quarantine_mark_replayed = lite_quarantine_mark_replayed,
	.quarantine_count = lite_quarantine_count,
};
