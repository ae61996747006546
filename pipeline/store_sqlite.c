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
#include "store_wal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
	/* 5: the profile store: identities, attributes (one JSON document per
	 * profile: values best first, with their provenance) and consent with
	 * its history, interests, traits as columns (a filter over them is
	 * indexed SQL), merges and what each one moved */
	"CREATE TABLE profiles_v4("
	" id INTEGER PRIMARY KEY,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" merged_into INTEGER,"
	" attributes TEXT NOT NULL DEFAULT '{}',"
	" attrs_digest INTEGER NOT NULL DEFAULT 0,"
	" orders_count INTEGER NOT NULL DEFAULT 0,"
	" total_spent INTEGER NOT NULL DEFAULT 0,"
	" last_order_at TEXT,"
	" offers_sent INTEGER NOT NULL DEFAULT 0,"
	" offers_accepted INTEGER NOT NULL DEFAULT 0,"
	" offers_rejected INTEGER NOT NULL DEFAULT 0,"
	" open_complaints INTEGER NOT NULL DEFAULT 0,"
	" last_interaction_at INTEGER);"
	"INSERT INTO profiles_v4(id, created_at, updated_at, attributes)"
	" SELECT id, created_at, updated_at, CASE WHEN name IS NULL THEN '{}' ELSE"
	" json_object('name', json_array(json_object('value', name, 'trust', 1,"
	" 'at', created_at))) END FROM profiles;"
	"CREATE TABLE identities("
	" id INTEGER PRIMARY KEY,"
	" profile_id INTEGER NOT NULL, kind TEXT NOT NULL,"
	" scope TEXT NOT NULL DEFAULT '', value TEXT NOT NULL,"
	" record_id INTEGER, at INTEGER NOT NULL,"
	" UNIQUE(kind, value, scope, profile_id));"
	"CREATE INDEX identities_profile ON identities(profile_id);"
	"INSERT INTO identities(profile_id, kind, value, at)"
	" SELECT id, 'email', email, created_at FROM profiles WHERE email IS NOT NULL;"
	"CREATE TABLE consent_history("
	" id INTEGER PRIMARY KEY,"
	" profile_id INTEGER NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL,"
	" granted INTEGER NOT NULL, at INTEGER NOT NULL, interaction_id INTEGER,"
	" record_id INTEGER, source TEXT);"
	"CREATE INDEX consent_history_profile ON consent_history(profile_id);"
	"CREATE TABLE consent("
	" profile_id INTEGER NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL,"
	" granted INTEGER NOT NULL, at INTEGER NOT NULL, interaction_id INTEGER,"
	" record_id INTEGER, source TEXT,"
	" PRIMARY KEY(profile_id, purpose, channel));"
	"CREATE INDEX consent_granted ON consent(purpose, channel, granted);"
	"CREATE TABLE interests("
	" profile_id INTEGER NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY(profile_id, value));"
	"CREATE INDEX interests_value ON interests(value);"
	"CREATE TABLE merges("
	" id INTEGER PRIMARY KEY,"
	" survivor INTEGER NOT NULL, merged INTEGER NOT NULL, at INTEGER NOT NULL,"
	" record_id INTEGER, reason TEXT NOT NULL, moved TEXT NOT NULL,"
	" undone_at INTEGER);"
	"CREATE INDEX merges_survivor ON merges(survivor);"
	"CREATE INDEX merges_merged ON merges(merged);"
	"CREATE INDEX cases_profile ON cases(profile_id) WHERE profile_id IS NOT NULL;"
	"DROP TABLE profiles;"
	"ALTER TABLE profiles_v4 RENAME TO profiles;",
};

enum stmt {
	S_INTERACTION_ADD, S_INTERACTION_FIND, S_INTERACTION_GET,
	S_RECORD_ADD,
	S_ATT_ADD, S_ATT_LIST, S_ATT_GET, S_CASE_THREAD,
	S_CASE_FIND, S_CASE_GET, S_CASE_INSERT, S_CASE_UPDATE,
	S_CASE_SET_PROFILE,
	S_CASE_LIST, S_CASE_LIST_P, S_CASE_LIST_S, S_CASE_LIST_PS,
	S_CASE_LIST_V, S_CASE_STATES, S_PDEF_ADD, S_PDEF_LIST,
	S_AUDIT_ADD, S_AUDIT_LIST,
	S_TIMER_ADD, S_TIMER_DUE, S_TIMER_DONE, S_TIMER_COUNT,
	S_P_CREATE, S_P_GET, S_P_LIST, S_P_UPDATE_ADD, S_P_UPDATE_PUT,
	S_ID_FIND, S_ID_HELD, S_ID_ADD, S_ID_ADD2, S_ID_LIST,
	S_CONSENT_HIST, S_CONSENT_SET, S_CONSENT_LIST, S_CONSENT_HISTORY,
	S_INTEREST_ADD, S_INTEREST_LIST, S_INTEREST_CLEAR,
	S_SETTLE_CONSENT_DEL, S_SETTLE_CONSENT,
	S_MERGE_LOG, S_MERGE_IDS, S_MERGE_CONSENT, S_MERGE_CASES,
	S_MERGE_TIMELINE, S_MERGE_CLEAR_CONSENT,
	S_MERGE_CLEAR_INTERESTS, S_MERGE_MARK,
	S_UNMERGE_READ, S_UNMERGE_IDS, S_UNMERGE_CONSENT,
	S_UNMERGE_CASES, S_UNMERGE_TIMELINE, S_UNMERGE_MARK, S_UNMERGE_DONE,
	S_MERGE_GET, S_MERGE_LIST, S_KEPT_APART,
	S_CASE_LIST_PROFILE, S_P_RECORDS,
	S_TIMELINE_ADD, S_TIMELINE_LIST,
	S_DOC_ADD, S_DOC_EXISTS, S_DOC_LIST, S_DOC_LIST_CASE, S_DOC_GET,
	S_Q_ADD, S_Q_FIND, S_Q_LIST, S_Q_GET, S_Q_REPLAYED, S_Q_COUNT,
	S_RECORDS_OF, S_TIMER_DUE_COUNT, S_Q_OF,
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_COUNT_
};

#define CASE_COLS "id, process, process_version, key, state, version," \
	" state_version, state_since, created_at, updated_at," \
	" coalesce(profile_id, 0), data"
#define ATT_COLS "id, interaction_id, seq, part, filename, content_type, size, sha256"
#define PROFILE_COLS "id, created_at, updated_at, coalesce(merged_into, 0)," \
	" orders_count, total_spent, last_order_at, offers_sent, offers_accepted," \
	" offers_rejected, open_complaints, last_interaction_at, attributes, attrs_digest"
#define CONSENT_COLS "profile_id, purpose, channel, granted, at," \
	" coalesce(interaction_id, 0), coalesce(record_id, 0), source"
#define MERGE_COLS "id, survivor, merged, at, coalesce(record_id, 0), reason," \
	" coalesce(undone_at, 0), json_extract(moved, '$.attributes')"
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
	[S_CASE_THREAD] = "SELECT " CASE_COLS " FROM cases WHERE +process = ?2 AND id IN"
		" (SELECT r.case_id FROM interactions i JOIN records r ON r.interaction_id = i.id"
		" WHERE i.identity = ?1) ORDER BY id DESC LIMIT 1",
	[S_CASE_FIND] = "SELECT " CASE_COLS " FROM cases WHERE process = ? AND key = ?",
	[S_CASE_GET] = "SELECT " CASE_COLS " FROM cases WHERE id = ?",
	[S_CASE_INSERT] = "INSERT INTO cases(process, process_version, key, state,"
		" version, state_version, state_since, created_at, updated_at,"
		" profile_id, data) VALUES(?,?,?,?,?,?,?,?,?,?,?)"
		" ON CONFLICT(process, key) DO NOTHING",
	[S_CASE_UPDATE] = "UPDATE cases SET state = ?, version = ?,"
		" state_version = ?, state_since = ?, updated_at = ?, data = ?,"
		" process_version = ? WHERE id = ? AND version = ?",
	[S_CASE_SET_PROFILE] = "UPDATE cases SET profile_id = ? WHERE id = ?",
	[S_CASE_LIST] = "SELECT " CASE_COLS " FROM cases ORDER BY id",
	[S_CASE_LIST_P] = "SELECT " CASE_COLS " FROM cases WHERE process = ? ORDER BY id",
	[S_CASE_LIST_S] = "SELECT " CASE_COLS " FROM cases WHERE state = ? ORDER BY id",
	[S_CASE_LIST_PS] = "SELECT " CASE_COLS " FROM cases WHERE process = ?"
		" AND state = ? ORDER BY id",
	[S_CASE_LIST_V] = "SELECT " CASE_COLS " FROM cases WHERE process = ?"
		" AND process_version = ? ORDER BY id",
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
	[S_P_CREATE] = "INSERT INTO profiles(created_at, updated_at, attributes,"
		" last_interaction_at, attrs_digest) VALUES(?1, ?1, coalesce(?2, '{}'), ?3, ?4)",
	[S_P_GET] = "SELECT " PROFILE_COLS " FROM profiles WHERE id = ?",
	[S_P_LIST] = "SELECT " PROFILE_COLS " FROM profiles WHERE merged_into IS NULL ORDER BY id",
	/* max(a, b) is NULL when either is: coalesce keeps the other. */
	[S_P_UPDATE_ADD] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		" attributes = coalesce(?11, attributes), attrs_digest = coalesce(?12, attrs_digest),"
		" orders_count = orders_count + ?3, total_spent = total_spent + ?4,"
		" last_order_at = coalesce(max(last_order_at, ?5), last_order_at, ?5),"
		" offers_sent = offers_sent + ?6, offers_accepted = offers_accepted + ?7,"
		" offers_rejected = offers_rejected + ?8, open_complaints = open_complaints + ?9,"
		" last_interaction_at = coalesce(max(last_interaction_at, ?10),"
		" last_interaction_at, ?10) WHERE id = ?1",
	[S_P_UPDATE_PUT] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		" attributes = coalesce(?11, attributes), attrs_digest = coalesce(?12, attrs_digest),"
		" orders_count = ?3, total_spent = ?4, last_order_at = ?5, offers_sent = ?6,"
		" offers_accepted = ?7, offers_rejected = ?8, open_complaints = ?9,"
		" last_interaction_at = ?10 WHERE id = ?1",
	/* The holders of one identity: a lookup of the (kind, value, scope,
	 * profile_id) index that stops after the key's max profiles, so a
	 * phone many customers give costs no more than one a few give. A
	 * profile merged into another is skipped: the one it was merged into
	 * holds every identity it held (a merge moves them, or leaves those
	 * the survivor holds already). One statement per key costs less than
	 * one for all keys (a UNION of limited subqueries). */
	[S_ID_FIND] = "SELECT i.profile_id, coalesce(p.last_interaction_at, 0), p.attributes,"
		" p.attrs_digest FROM identities i JOIN profiles p ON p.id = i.profile_id"
		" WHERE i.kind = ? AND i.value = ? AND i.scope = ? AND p.merged_into IS NULL"
		" ORDER BY i.profile_id LIMIT ?",
	/* Whether one profile holds one identity: the unique index alone. */
	[S_ID_HELD] = "SELECT profile_id, 0, NULL, 0 FROM identities"
		" WHERE kind = ? AND value = ? AND scope = ? AND profile_id = ?",
	[S_ID_ADD] = "INSERT OR IGNORE INTO identities(profile_id, kind, scope, value,"
		" record_id, at) VALUES(?,?,?,?,?,?)",
	/* A new profile's email and phone in one statement. */
	[S_ID_ADD2] = "INSERT OR IGNORE INTO identities(profile_id, kind, scope, value,"
		" record_id, at) VALUES(?,?,?,?,?,?), (?,?,?,?,?,?)",
	[S_ID_LIST] = "SELECT id, profile_id, kind, scope, value, coalesce(record_id, 0), at"
		" FROM identities WHERE profile_id = ? ORDER BY kind, id",
	[S_CONSENT_HIST] = "INSERT INTO consent_history(profile_id, purpose, channel, granted,"
		" at, interaction_id, record_id, source) VALUES(?,?,?,?,?,?,?,?)",
	/* The later statement wins; at the same time a withdrawal beats a
	 * grant. S_SETTLE_CONSENT orders the history the same way. */
	[S_CONSENT_SET] = "INSERT INTO consent(profile_id, purpose, channel, granted, at,"
		" interaction_id, record_id, source) VALUES(?,?,?,?,?,?,?,?)"
		" ON CONFLICT(profile_id, purpose, channel) DO UPDATE SET"
		" granted = excluded.granted, at = excluded.at,"
		" interaction_id = excluded.interaction_id, record_id = excluded.record_id,"
		" source = excluded.source WHERE excluded.at > consent.at"
		" OR (excluded.at = consent.at AND excluded.granted = 0 AND consent.granted = 1)",
	[S_CONSENT_LIST] = "SELECT " CONSENT_COLS " FROM consent WHERE profile_id = ?"
		" ORDER BY purpose, channel",
	[S_CONSENT_HISTORY] = "SELECT " CONSENT_COLS " FROM consent_history"
		" WHERE profile_id = ? ORDER BY at, id",
	[S_INTEREST_ADD] = "INSERT OR IGNORE INTO interests(profile_id, value, at) VALUES(?,?,?)",
	[S_INTEREST_LIST] = "SELECT value FROM interests WHERE profile_id = ? ORDER BY value",
	[S_INTEREST_CLEAR] = "DELETE FROM interests WHERE profile_id = ?",
	[S_SETTLE_CONSENT_DEL] = "DELETE FROM consent WHERE profile_id = ?1",
	[S_SETTLE_CONSENT] = "INSERT INTO consent(profile_id, purpose, channel, granted, at,"
		" interaction_id, record_id, source) SELECT profile_id, purpose, channel, granted,"
		" at, interaction_id, record_id, source FROM"
		" (SELECT *, row_number() OVER (PARTITION BY purpose, channel"
		" ORDER BY at DESC, granted ASC, id ASC) AS n"
		" FROM consent_history WHERE profile_id = ?1) WHERE n = 1",
	/* ?1 survivor, ?2 merged, ?3 time, ?4 record, ?5 reason */
	[S_MERGE_LOG] = "INSERT INTO merges(survivor, merged, at, record_id, reason, moved)"
		" VALUES(?1, ?2, ?3, ?4, ?5, json_object("
		"'identities', json((SELECT json_group_array(id) FROM identities"
		" WHERE profile_id = ?2)),"
		"'attributes', json((SELECT attributes FROM profiles WHERE id = ?2)),"
		"'consent_history', json((SELECT json_group_array(id) FROM consent_history"
		" WHERE profile_id = ?2)),"
		"'cases', json((SELECT json_group_array(id) FROM cases WHERE profile_id = ?2)),"
		"'timeline', json((SELECT json_group_array(json_array(kind, ref)) FROM timeline"
		" WHERE profile_id = ?2))))",
	/* An identity or timeline entry both hold stays with the merged
	 * profile (OR IGNORE), which is where an unmerge wants it. */
	[S_MERGE_IDS] = "UPDATE OR IGNORE identities SET profile_id = ?1 WHERE profile_id = ?2",
	[S_MERGE_CONSENT] = "UPDATE consent_history SET profile_id = ?1 WHERE profile_id = ?2",
	[S_MERGE_CASES] = "UPDATE cases SET profile_id = ?1 WHERE profile_id = ?2",
	[S_MERGE_TIMELINE] = "UPDATE OR IGNORE timeline SET profile_id = ?1 WHERE profile_id = ?2",
	[S_MERGE_CLEAR_CONSENT] = "DELETE FROM consent WHERE profile_id = ?2",
	[S_MERGE_CLEAR_INTERESTS] = "DELETE FROM interests WHERE profile_id = ?2",
	[S_MERGE_MARK] = "UPDATE profiles SET merged_into = ?1, updated_at = max(updated_at, ?3),"
		" attributes = '{}', attrs_digest = 0,"
		" orders_count = 0, total_spent = 0, last_order_at = NULL, offers_sent = 0,"
		" offers_accepted = 0, offers_rejected = 0, open_complaints = 0,"
		" last_interaction_at = NULL WHERE id = ?2",
	[S_UNMERGE_READ] = "SELECT m.moved, coalesce(p.merged_into, 0) FROM merges m"
		" JOIN profiles p ON p.id = m.survivor WHERE m.id = ?",
	/* ?1 survivor, ?2 merged, ?3 what moved, ?4 time, ?5 the merge */
	[S_UNMERGE_IDS] = "UPDATE identities SET profile_id = ?2 WHERE profile_id = ?1"
		" AND id IN (SELECT value FROM json_each(?3, '$.identities'))",
	[S_UNMERGE_CONSENT] = "UPDATE consent_history SET profile_id = ?2 WHERE profile_id = ?1"
		" AND id IN (SELECT value FROM json_each(?3, '$.consent_history'))",
	[S_UNMERGE_CASES] = "UPDATE cases SET profile_id = ?2 WHERE profile_id = ?1"
		" AND id IN (SELECT value FROM json_each(?3, '$.cases'))",
	[S_UNMERGE_TIMELINE] = "UPDATE OR IGNORE timeline SET profile_id = ?2"
		" WHERE profile_id = ?1 AND EXISTS (SELECT 1 FROM json_each(?3, '$.timeline') j"
		" WHERE json_extract(j.value, '$[0]') = timeline.kind"
		" AND json_extract(j.value, '$[1]') = timeline.ref)",
	[S_UNMERGE_MARK] = "UPDATE profiles SET merged_into = NULL, updated_at = max(updated_at, ?4)"
		" WHERE id = ?2",
	[S_UNMERGE_DONE] = "UPDATE merges SET undone_at = ?4 WHERE id = ?5",
	[S_MERGE_GET] = "SELECT " MERGE_COLS " FROM merges WHERE id = ?",
	[S_MERGE_LIST] = "SELECT " MERGE_COLS " FROM merges WHERE survivor = ?1"
		" UNION SELECT " MERGE_COLS " FROM merges WHERE merged = ?1 ORDER BY 1",
	[S_KEPT_APART] = "SELECT 1 FROM merges WHERE undone_at IS NOT NULL AND"
		" ((survivor = ?1 AND merged = ?2) OR (survivor = ?2 AND merged = ?1)) LIMIT 1",
	[S_CASE_LIST_PROFILE] = "SELECT " CASE_COLS " FROM cases WHERE profile_id = ? ORDER BY id",
	[S_P_RECORDS] = "SELECT r.id, r.type, r.data, coalesce(r.case_id, 0), r.interaction_id,"
		" i.source, i.received_at FROM timeline t JOIN records r ON r.id = t.ref"
		" JOIN interactions i ON i.id = r.interaction_id"
		" WHERE t.profile_id = ? AND t.kind = 'record' ORDER BY r.id",
	[S_TIMELINE_ADD] = "INSERT OR IGNORE INTO timeline(profile_id, kind, ref, at)"
		" VALUES(?,?,?,?)",
	[S_TIMELINE_LIST] = "SELECT t.kind, t.ref, t.at, coalesce(r.type, c.process),"
		" coalesce(rc.key, c.key), coalesce(rc.state, c.state) FROM timeline t"
		" LEFT JOIN records r ON t.kind = 'record' AND r.id = t.ref"
		" LEFT JOIN cases rc ON rc.id = r.case_id"
		" LEFT JOIN cases c ON t.kind = 'case' AND c.id = t.ref"
		" WHERE t.profile_id = ? ORDER BY t.at, t.kind, t.ref",
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
	[S_RECORDS_OF] = "SELECT id, type, coalesce(case_id, 0) FROM records"
		" WHERE interaction_id = ? ORDER BY id",
	[S_TIMER_DUE_COUNT] = "SELECT count(*) FROM timers WHERE done_at IS NULL AND due <= ?",
	[S_Q_OF] = "SELECT id, coalesce(interaction_id, 0), source, channel,"
		" origin, stage, reason, at, sha256, replayed, size, NULL"
		" FROM quarantine WHERE interaction_id = ? AND replayed = 0"
		" ORDER BY id DESC LIMIT 1",
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
 * second core instead of stalling commits.
 *
 * It starts once CHECKPOINT_PAGES frames are in the WAL that no
 * checkpoint copied yet: a page written again and again in between is
 * copied once, with one sync of the database for all. SQLite starts the
 * WAL over only when a transaction begins on a WAL copied whole, which a
 * writer that never pauses does not leave time for: the WAL would only
 * grow. So once it holds RESTART_PAGES frames, the checkpointer catches
 * up with more passes, each copying what was committed during the one
 * before, and once one had fewer than RESTART_GAP frames to copy, the
 * writer, after its next commit and before its next transaction, copies
 * the few frames left itself (a pause of a few milliseconds, most of it
 * the sync, seldom enough not to be felt): that transaction starts the
 * WAL over. (The checkpoint mode that holds writers back, RESTART, waits
 * for the write lock against a writer that takes it again at once, then
 * copies all that was committed meanwhile: tens of milliseconds without a
 * commit.) */
typedef struct checkpointer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* the checkpointer waits for work */
	sqlite3 *db;
	bool started;
	bool stop;
	bool wanted;             /* a checkpoint is due */
	bool busy;               /* checkpointing */
	bool catch_up;           /* the writer copies the rest after its next
	                            commit */
	int copied;              /* frames of the WAL the last checkpoint copied */
	int seen;                /* the WAL's frames at the last commit */
} checkpointer;

#define CHECKPOINT_PAGES 8192    /* 32 MiB */
#define RESTART_PAGES 65536      /* 256 MiB */
#define RESTART_GAP 256
#define CATCH_UP_PASSES 16

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



static int64_t lite_changes(ds_store *s)
{
	return sqlite3_total_changes64(L(s)->db);
}

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

/* Waits for a lock in steps from 50 us to 2 ms, 10 s at most: SQLite's own
 * first waits are 1, 2 and 5 ms, far longer than a group commit or the
 * end of a checkpoint holds one. */
static int busy_wait(void *ud, int n)
{
	(void)ud;
	if (n >= 5000 + 6)
		return 0;
	struct timespec t = { 0, (long)(n < 6 ? 50000 << n : 2000000) };
	nanosleep(&t, NULL);
	return 1;
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
		/* PASSIVE never waits for the writer: each pass copies what was
		 * committed when it began. */
		int log = 0, copied = 0;
		ck->wanted = false;
		ck->busy = true;
		pthread_mutex_unlock(&ck->mu);
		int before = -1;
		bool short_pass = false;
		for (int pass = 0; pass < CATCH_UP_PASSES && !short_pass; pass++) {
			/* A reader still on older frames: catch up some other time. */
			if (sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
						      &copied) != SQLITE_OK || copied < log ||
			    log < RESTART_PAGES)
				break;
			short_pass = before >= 0 && log - before < RESTART_GAP;
			before = log;
		}
		pthread_mutex_lock(&ck->mu);
		ck->copied = copied > 0 ? copied : ck->copied;
		ck->busy = false;
		ck->catch_up = short_pass;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* Opens the checkpointer's connection and starts its thread: 0, or -1
 * when either cannot be. */
static int start_checkpointer(lite *l)
{
	checkpointer *ck = &l->ck;
	if (sqlite3_open_v2(l->path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    ds_store_wal_vfs()) != SQLITE_OK) {
		sqlite3_close(ck->db);
		ck->db = NULL;
		return -1;
	}
	sqlite3_busy_handler(ck->db, busy_wait, NULL);
	/* Copies are synced before SQLite counts them as done (which the WAL
	 * layer, store_wal.h, needs too). A connection opens the WAL only once
	 * it has read the database. */
	sqlite3_exec(ck->db, "PRAGMA synchronous = FULL; SELECT count(*) FROM sqlite_schema", NULL,
		     NULL, NULL);
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	if (pthread_create(&ck->thread, NULL, checkpoint_main, ck)) {
		pthread_mutex_destroy(&ck->mu);
		pthread_cond_destroy(&ck->cv);
		sqlite3_close(ck->db);
		ck->db = NULL;
		return -1;
	}
	pthread_setname_np(ck->thread, "checkpointer");
	ck->started = true;
	return 0;
}

/* Runs in the writer after each commit with the WAL's size in frames. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	lite *l = ud;
	checkpointer *ck = &l->ck;
	if (!ck->started && (pages < CHECKPOINT_PAGES || start_checkpointer(l))) {
		/* Without the thread, checkpoint here, as SQLite would. */
		if (pages >= CHECKPOINT_PAGES)
			sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&ck->mu);
	/* Fewer frames than at the last commit: the WAL started over. */
	if (pages < ck->seen)
		ck->copied = 0;
	ck->seen = pages;
	if (ck->catch_up) {
		/* No transaction is open here: the last pass copies the few
		 * frames left, and the next transaction starts the WAL over. */
		ck->catch_up = false;
		pthread_mutex_unlock(&ck->mu);
		int log = 0, copied = 0;
		sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
		pthread_mutex_lock(&ck->mu);
		ck->copied = copied > 0 ? copied : ck->copied;
	} else if (!ck->wanted && !ck->busy && pages - ck->copied >= CHECKPOINT_PAGES) {
		ck->wanted = true;
		pthread_cond_signal(&ck->cv);
	}
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
	/* The WAL written once per commit (store_wal.h): it needs every
	 * commit to sync the WAL, as synchronous=FULL below does. */
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, ds_store_wal_vfs()) != SQLITE_OK) {
		rc = ds_err_set(err, DS_EIO, "cannot open store %s: %s", path,
				l->db ? sqlite3_errmsg(l->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_handler(l->db, busy_wait, NULL);
	sqlite3_extended_result_codes(l->db, 0);
	if ((rc = exec_sql(l, "PRAGMA journal_mode = WAL;"
			   "PRAGMA synchronous = FULL;"
			   "PRAGMA cache_size = -16384;"

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
	/* And on a sync of the WAL at each commit (FULL is 2, EXTRA 3), which
	 * the WAL layer also needs. */
	int sync = 0;
	if (sqlite3_prepare_v2(l->db, "PRAGMA synchronous", -1, &jm, NULL) == SQLITE_OK &&
	    sqlite3_step(jm) == SQLITE_ROW)
		sync = sqlite3_column_int(jm, 0);
	sqlite3_finalize(jm);
	if (sync < 2) {
		rc = ds_err_set(err, DS_EIO, "store %s does not sync each commit", path);
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
		.type = col_text(NULL, q, 3),
		.key = col_text(NULL, q, 4),
		.state = col_text(NULL, q, 5),
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
	/* Without RETURNING, which would copy the row out: one row changed
	 * is a new interaction. */
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
		read_case(a, q, out);
		sqlite3_reset(q);
		if (!out->data || !out->key)
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

static int lite_case_get(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	char what[32];
	snprintf(what, sizeof what, "#%lld", (long long)id);
	return one_case(l, q, a, out, err, what);
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
	bind_text(q, 11, c->data);
	int rc = run(l, q, err, "create case");
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) != 1)
		return ds_err_set(err, DS_EBUSY, "case %s/%s already exists", c->process, c->key);
	c->id = sqlite3_last_insert_rowid(l->db);
	return DS_OK;
}

static int lite_case_update(ds_store *s, const ds_case_row *c, int64_t expected, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_CASE_UPDATE, err);
	if (!q)
		return err->code;
	bind_text(q, 1, c->state);
	sqlite3_bind_int64(q, 2, c->version);
	sqlite3_bind_int64(q, 3, c->state_version);
	sqlite3_bind_int64(q, 4, c->state_since);
	sqlite3_bind_int64(q, 5, c->updated_at);
	bind_text(q, 6, c->data);
	sqlite3_bind_int(q, 7, c->process_version);
	sqlite3_bind_int64(q, 8, c->id);
	sqlite3_bind_int64(q, 9, expected);
	int rc = run(l, q, err, "update case");
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) != 1)
		return ds_err_set(err, DS_EBUSY, "case %s changed meanwhile (version %lld expected)",
				  c->key, (long long)expected);
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

/* Trait columns follow ds_traits' order from the first column given. */
static void bind_traits(sqlite3_stmt *q, int first, const ds_traits *t)
{
	for (int k = 0; k < DS_NTRAITS; k++) {
		int64_t v = t->v[k];
		int i = first + k;
		switch (ds_trait_kind_of(k)) {
		case DS_TRAIT_DATE:
			if (v > 0) {
				char d[16];
				snprintf(d, sizeof d, "%04d-%02d-%02d", (int)(v / 10000),
					 (int)(v / 100 % 100), (int)(v % 100));
				sqlite3_bind_text(q, i, d, -1, SQLITE_TRANSIENT);
			} else {
				sqlite3_bind_null(q, i);
			}
			break;
		case DS_TRAIT_TIME:
			if (v > 0)
				sqlite3_bind_int64(q, i, v);
			else
				sqlite3_bind_null(q, i);
			break;
		default:
			sqlite3_bind_int64(q, i, v);
		}
	}
}

static void read_traits(sqlite3_stmt *q, int first, ds_traits *t)
{
	for (int k = 0; k < DS_NTRAITS; k++) {
		int i = first + k;
		if (ds_trait_kind_of(k) == DS_TRAIT_DATE) {
			const unsigned char *d = sqlite3_column_text(q, i);
			int y = 0, m = 0, dd = 0;
			t->v[k] = d && sscanf((const char *)d, "%4d-%2d-%2d", &y, &m, &dd) == 3
				  ? (int64_t)y * 10000 + m * 100 + dd : 0;
		} else {
			t->v[k] = sqlite3_column_int64(q, i);
		}
	}
}

static void read_profile(ds_arena *a, sqlite3_stmt *q, ds_profile_row *p)
{
	p->id = sqlite3_column_int64(q, 0);
	p->created_at = sqlite3_column_int64(q, 1);
	p->updated_at = sqlite3_column_int64(q, 2);
	p->merged_into = sqlite3_column_int64(q, 3);
	read_traits(q, 4, &p->traits);
	p->attributes = col_text(a, q, 4 + DS_NTRAITS);
	p->attrs_digest = sqlite3_column_int64(q, 5 + DS_NTRAITS);
}

static int row_profile(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_profile_row p;
	read_profile(NULL, q, &p);
	return ((int (*)(void *, const ds_profile_row *))w->fn)(w->ud, &p);
}

static int lite_profile_create(ds_store *s, ds_time at, const char *attributes, int64_t digest,
			       ds_time last, int64_t *id, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_P_CREATE, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, at);
	bind_text(q, 2, attributes);
	bind_id(q, 3, last);
	sqlite3_bind_int64(q, 4, digest);
	int rc = run(l, q, err, "create profile");
	if (!rc)
		*id = sqlite3_last_insert_rowid(l->db);
	return rc;
}

static int lite_profile_get(ds_store *s, int64_t id, ds_arena *a, ds_profile_row *out,
			    ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_P_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_profile(a, q, out);
		if (!a)
			out->attributes = NULL;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return !a || out->attributes ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no profile %lld", (long long)id);
	return db_error(l, err, "read profile");
}

static int lite_profile_list(ds_store *s, int (*fn)(void *, const ds_profile_row *), void *ud,
			     ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_P_LIST, err);
	if (!q)
		return err->code;
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_profile, &w, err, "list profiles");
}

static int lite_profile_update(ds_store *s, int64_t id, const char *attributes,
			       const int64_t *digest, const ds_traits *t, bool add, ds_time at,
			       ds_err *err)
{
	lite *l = L(s);
	if (!t && !add)
		return ds_err_set(err, DS_EINTERNAL, "profile update: traits to set are missing");
	ds_traits none;
	memset(&none, 0, sizeof none);
	sqlite3_stmt *q = st(l, add ? S_P_UPDATE_ADD : S_P_UPDATE_PUT, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, at);
	bind_traits(q, 3, t ? t : &none);
	bind_text(q, 11, attributes);
	if (digest)
		sqlite3_bind_int64(q, 12, *digest);
	return run(l, q, err, "update profile");
}

static int lite_identity_find(ds_store *s, const ds_identity_key *keys, size_t n,
			      int (*fn)(void *, size_t, const ds_identity_hit *), void *ud,
			      ds_err *err)
{
	lite *l = L(s);
	for (size_t k = 0; k < n; k++) {
		const ds_identity_key *key = &keys[k];
		sqlite3_stmt *q = st(l, key->holder ? S_ID_HELD : S_ID_FIND, err);
		if (!q)
			return err->code;
		bind_text(q, 1, key->kind);
		bind_text(q, 2, key->value);
		bind_text(q, 3, key->scope ? key->scope : "");
		if (key->holder)
			sqlite3_bind_int64(q, 4, key->holder);
		else
			sqlite3_bind_int(q, 4, key->max && key->max < DS_IDENTITY_MAX_HITS
						       ? (int)key->max : DS_IDENTITY_MAX_HITS);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			ds_identity_hit h = {
				.profile_id = sqlite3_column_int64(q, 0),
				.last_interaction_at = sqlite3_column_int64(q, 1),
				.attributes = col_text(NULL, q, 2),
				.attrs_digest = sqlite3_column_int64(q, 3),
			};
			int x = fn(ud, k, &h);
			if (x) {
				sqlite3_reset(q);
				return x;
			}
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return db_error(l, err, "find identities");
	}
	return DS_OK;
}

static int lite_identity_add(ds_store *s, const ds_identity_row *r, size_t n, ds_err *err)
{
	lite *l = L(s);
	for (size_t i = 0; i < n;) {
		size_t m = n - i >= 2 ? 2 : 1;
		sqlite3_stmt *q = st(l, m == 2 ? S_ID_ADD2 : S_ID_ADD, err);
		if (!q)
			return err->code;
		for (size_t k = 0; k < m; k++, i++) {
			int b = (int)(6 * k);
			sqlite3_bind_int64(q, b + 1, r[i].profile_id);
			bind_text(q, b + 2, r[i].kind);
			bind_text(q, b + 3, r[i].scope ? r[i].scope : "");
			bind_text(q, b + 4, r[i].value);
			bind_id(q, b + 5, r[i].record_id);
			sqlite3_bind_int64(q, b + 6, r[i].at);
		}
		int rc = run(l, q, err, "add identity");
		if (rc)
			return rc;
	}
	return DS_OK;
}

static int row_identity(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_identity_row r = {
		.id = sqlite3_column_int64(q, 0),
		.profile_id = sqlite3_column_int64(q, 1),
		.kind = col_text(NULL, q, 2),
		.scope = col_text(NULL, q, 3),
		.value = col_text(NULL, q, 4),
		.record_id = sqlite3_column_int64(q, 5),
		.at = sqlite3_column_int64(q, 6),
	};
	return ((int (*)(void *, const ds_identity_row *))w->fn)(w->ud, &r);
}

/* The walks of one profile's rows: statement k with the profile bound. */
static int walk_profile(lite *l, enum stmt k, int64_t pid,
			int (*row)(const struct walk_ctx *, sqlite3_stmt *), void (*fn)(void),
			void *ud, ds_err *err, const char *what)
{
	sqlite3_stmt *q = st(l, k, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, pid);
	struct walk_ctx w = { fn, ud };
	return walk(l, q, row, &w, err, what);
}

static int lite_identity_list(ds_store *s, int64_t pid, int (*fn)(void *, const ds_identity_row *),
			      void *ud, ds_err *err)
{
	return walk_profile(L(s), S_ID_LIST, pid, row_identity, (void (*)(void))fn, ud, err,
			    "list identities");
}

static int lite_consent_add(ds_store *s, const ds_consent_row *r, ds_err *err)
{
	lite *l = L(s);
	static const enum stmt k[] = { S_CONSENT_HIST, S_CONSENT_SET };
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *q = st(l, k[i], err);
		if (!q)
			return err->code;
		sqlite3_bind_int64(q, 1, r->profile_id);
		bind_text(q, 2, r->purpose);
		bind_text(q, 3, r->channel);
		sqlite3_bind_int(q, 4, r->granted);
		sqlite3_bind_int64(q, 5, r->at);
		bind_id(q, 6, r->interaction_id);
		bind_id(q, 7, r->record_id);
		bind_text(q, 8, r->source);
		int rc = run(l, q, err, "record consent");
		if (rc)
			return rc;
	}
	return DS_OK;
}

static int row_consent(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_consent_row r = {
		.profile_id = sqlite3_column_int64(q, 0),
		.purpose = col_text(NULL, q, 1),
		.channel = col_text(NULL, q, 2),
		.granted = sqlite3_column_int(q, 3) != 0,
		.at = sqlite3_column_int64(q, 4),
		.interaction_id = sqlite3_column_int64(q, 5),
		.record_id = sqlite3_column_int64(q, 6),
		.source = col_text(NULL, q, 7),
	};
	return ((int (*)(void *, const ds_consent_row *))w->fn)(w->ud, &r);
}

static int lite_consent_list(ds_store *s, int64_t pid, bool history,
			     int (*fn)(void *, const ds_consent_row *), void *ud, ds_err *err)
{
	return walk_profile(L(s), history ? S_CONSENT_HISTORY : S_CONSENT_LIST, pid, row_consent,
			    (void (*)(void))fn, ud, err, "list consent");
}

static int lite_interest_add(ds_store *s, int64_t pid, const char *value, ds_time at, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_INTEREST_ADD, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, pid);
	bind_text(q, 2, value);
	sqlite3_bind_int64(q, 3, at);
	return run(l, q, err, "add interest");
}

static int row_text(const struct walk_ctx *w, sqlite3_stmt *q)
{
	return ((int (*)(void *, const char *))w->fn)(w->ud, col_text(NULL, q, 0));
}

static int lite_interest_list(ds_store *s, int64_t pid, int (*fn)(void *, const char *), void *ud,
			      ds_err *err)
{
	return walk_profile(L(s), S_INTEREST_LIST, pid, row_text, (void (*)(void))fn, ud, err,
			    "list interests");
}

/* Runs statements k[0..n) one after the other with the same bindings:
 * ?1 and ?2 two ids, ?3 a text, ?4 a time, ?5 an id (those a statement
 * does not name are ignored). */
static int run_steps(lite *l, const enum stmt *k, size_t n, int64_t a, int64_t b,
		     const char *text, ds_time at, int64_t c, ds_err *err)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = st(l, k[i], err);
		if (!q)
			return err->code;
		int np = sqlite3_bind_parameter_count(q);
		const int64_t ids[] = { a, b };
		for (int j = 1; j <= np && j <= 2; j++)
			sqlite3_bind_int64(q, j, ids[j - 1]);
		if (np >= 3)
			bind_text(q, 3, text);
		if (np >= 4)
			sqlite3_bind_int64(q, 4, at);
		if (np >= 5)
			sqlite3_bind_int64(q, 5, c);
		int rc = run(l, q, err, sql[k[i]]);
		if (rc)
			return rc;
	}
	return DS_OK;
}

static int lite_interest_clear(ds_store *s, int64_t pid, ds_err *err)
{
	static const enum stmt k[] = { S_INTEREST_CLEAR };
	return run_steps(L(s), k, 1, pid, 0, NULL, 0, 0, err);
}

static int lite_profile_settle(ds_store *s, int64_t pid, ds_err *err)
{
	static const enum stmt k[] = { S_SETTLE_CONSENT_DEL, S_SETTLE_CONSENT };
	return run_steps(L(s), k, sizeof k / sizeof *k, pid, 0, NULL, 0, 0, err);
}

static int lite_profile_merge(ds_store *s, ds_merge_row *m, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_MERGE_LOG, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, m->survivor);
	sqlite3_bind_int64(q, 2, m->merged);
	sqlite3_bind_int64(q, 3, m->at);
	bind_id(q, 4, m->record_id);
	bind_text(q, 5, m->reason);
	int rc = run(l, q, err, "log merge");
	if (rc)
		return rc;
	m->id = sqlite3_last_insert_rowid(l->db);
	/* ?1 survivor, ?2 merged */
	static const enum stmt k[] = { S_MERGE_IDS, S_MERGE_CONSENT, S_MERGE_CASES,
				       S_MERGE_TIMELINE, S_MERGE_CLEAR_CONSENT,
				       S_MERGE_CLEAR_INTERESTS };
	if ((rc = run_steps(l, k, sizeof k / sizeof *k, m->survivor, m->merged, NULL, 0, 0, err)))
		return rc;
	if (!(q = st(l, S_MERGE_MARK, err)))
		return err->code;
	sqlite3_bind_int64(q, 1, m->survivor);
	sqlite3_bind_int64(q, 2, m->merged);
	sqlite3_bind_int64(q, 3, m->at);
	return run(l, q, err, "mark merged profile");
}

static void read_merge(ds_arena *a, sqlite3_stmt *q, ds_merge_row *m)
{
	m->id = sqlite3_column_int64(q, 0);
	m->survivor = sqlite3_column_int64(q, 1);
	m->merged = sqlite3_column_int64(q, 2);
	m->at = sqlite3_column_int64(q, 3);
	m->record_id = sqlite3_column_int64(q, 4);
	m->reason = col_text(a, q, 5);
	m->undone_at = sqlite3_column_int64(q, 6);
	m->attributes = col_text(a, q, 7);
}

static int row_merge(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_merge_row m;
	read_merge(NULL, q, &m);
	return ((int (*)(void *, const ds_merge_row *))w->fn)(w->ud, &m);
}

static int lite_merge_get(ds_store *s, int64_t id, ds_arena *a, ds_merge_row *out, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_MERGE_GET, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		read_merge(a, q, out);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return out->reason && out->attributes ? DS_OK
						      : ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "no merge %lld", (long long)id);
	return db_error(l, err, "read merge");
}

static int lite_profile_unmerge(ds_store *s, int64_t id, ds_time at, ds_arena *a,
				ds_merge_row *m, ds_err *err)
{
	lite *l = L(s);
	int rc = lite_merge_get(s, id, a, m, err);
	if (rc)
		return rc;
	if (m->undone_at)
		return ds_err_set(err, DS_EREFUSED, "merge %lld of profile %lld into %lld was undone already",
				  (long long)id, (long long)m->merged, (long long)m->survivor);
	sqlite3_stmt *q = st(l, S_UNMERGE_READ, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? ds_err_set(err, DS_ENOTFOUND, "merge %lld: its profile is gone",
						      (long long)id)
					 : db_error(l, err, "read merge");
	}
	const char *moved = col_text(a, q, 0);
	int64_t into = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	if (!moved)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if (into)
		return ds_err_set(err, DS_EREFUSED, "profile %lld, which profile %lld was merged into, "
				  "was merged into profile %lld since: unmerge profile %lld first",
				  (long long)m->survivor, (long long)m->merged, (long long)into,
				  (long long)m->survivor);
	static const enum stmt k[] = { S_UNMERGE_IDS, S_UNMERGE_CONSENT,
				       S_UNMERGE_CASES, S_UNMERGE_TIMELINE, S_UNMERGE_MARK,
				       S_UNMERGE_DONE };
	if ((rc = run_steps(l, k, sizeof k / sizeof *k, m->survivor, m->merged, moved, at, id, err)))
		return rc;
	m->undone_at = at;
	return DS_OK;
}

static int lite_merge_list(ds_store *s, int64_t pid, int (*fn)(void *, const ds_merge_row *),
			   void *ud, ds_err *err)
{
	return walk_profile(L(s), S_MERGE_LIST, pid, row_merge, (void (*)(void))fn, ud, err,
			    "list merges");
}

static bool lite_kept_apart(ds_store *s, int64_t a, int64_t b)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_KEPT_APART, NULL);
	if (!q)
		return false;
	sqlite3_bind_int64(q, 1, a);
	sqlite3_bind_int64(q, 2, b);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_reset(q);
	return found;
}

static int lite_case_list_profile(ds_store *s, int64_t pid, int (*fn)(void *, const ds_case_row *),
				  void *ud, ds_err *err)
{
	return walk_profile(L(s), S_CASE_LIST_PROFILE, pid, row_case, (void (*)(void))fn, ud, err,
			    "list a profile's cases");
}

static int row_precord(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_timeline_record r = {
		.id = sqlite3_column_int64(q, 0),
		.type = col_text(NULL, q, 1),
		.data = col_text(NULL, q, 2),
		.case_id = sqlite3_column_int64(q, 3),
		.interaction_id = sqlite3_column_int64(q, 4),
		.source = col_text(NULL, q, 5),
		.received_at = sqlite3_column_int64(q, 6),
	};
	return ((int (*)(void *, const ds_timeline_record *))w->fn)(w->ud, &r);
}

static int lite_profile_records(ds_store *s, int64_t pid,
				int (*fn)(void *, const ds_timeline_record *), void *ud, ds_err *err)
{
	return walk_profile(L(s), S_P_RECORDS, pid, row_precord, (void (*)(void))fn, ud, err,
			    "list a profile's records");
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
	return walk_profile(L(s), S_TIMELINE_LIST, pid, row_timeline, (void (*)(void))fn, ud, err,
			    "read timeline");
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

/* ---- what the HTTP API reads ---- */

static int row_record_ref(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_record_ref r = {
		.id = sqlite3_column_int64(q, 0),
		.type = col_text(NULL, q, 1),
		.case_id = sqlite3_column_int64(q, 2),
	};
	return ((int (*)(void *, const ds_record_ref *))w->fn)(w->ud, &r);
}

static int lite_interaction_records(ds_store *s, int64_t iid,
				    int (*fn)(void *, const ds_record_ref *), void *ud,
				    ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_RECORDS_OF, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, iid);
	struct walk_ctx w = { (void (*)(void))fn, ud };
	return walk(l, q, row_record_ref, &w, err, "list records");
}

static int64_t lite_timer_due_count(ds_store *s, ds_time t)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TIMER_DUE_COUNT, NULL);
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, t);
	int64_t n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	sqlite3_reset(q);
	return n;
}

static int lite_quarantine_of(ds_store *s, int64_t iid, ds_arena *a, ds_quarantine_row *out,
			      ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_Q_OF, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, iid);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		read_q(a, q, out);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return DS_OK;
	if (rc == SQLITE_DONE)
		return ds_err_set(err, DS_ENOTFOUND, "interaction %lld is not in quarantine",
				  (long long)iid);
	return db_error(l, err, "read quarantine");
}

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
	.profile_create = lite_profile_create,
	.profile_get = lite_profile_get,
	.profile_list = lite_profile_list,
	.profile_update = lite_profile_update,
	.identity_find = lite_identity_find,
	.identity_add = lite_identity_add,
	.identity_list = lite_identity_list,
	.consent_add = lite_consent_add,
	.consent_list = lite_consent_list,
	.interest_add = lite_interest_add,
	.interest_list = lite_interest_list,
	.interest_clear = lite_interest_clear,
	.profile_settle = lite_profile_settle,
	.profile_merge = lite_profile_merge,
	.profile_unmerge = lite_profile_unmerge,
	.merge_get = lite_merge_get,
	.merge_list = lite_merge_list,
	.kept_apart = lite_kept_apart,
	.case_list_profile = lite_case_list_profile,
	.profile_records = lite_profile_records,
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
	.interaction_records = lite_interaction_records,
	.timer_due_count = lite_timer_due_count,
	.quarantine_of = lite_quarantine_of,
};
