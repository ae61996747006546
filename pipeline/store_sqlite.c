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

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <limits.h>
#include <pcre2.h>
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
	/* 6: the rights of the people in the store (privacy.h): the pseudonym
	 * that keeps a forgotten person's cases and counts, and what erasure
	 * or retention erased (the indexes retention reads by are made by its
	 * first run: retention_indexes) */
	"ALTER TABLE profiles ADD COLUMN forgotten_at INTEGER;"
	"ALTER TABLE interactions ADD COLUMN erased_at INTEGER;"
	"ALTER TABLE cases ADD COLUMN erased_at INTEGER;"
	"ALTER TABLE documents ADD COLUMN erased_at INTEGER;"
	"CREATE INDEX documents_erasing ON documents(id)"
	" WHERE erased_at IS NOT NULL AND path != '';",
	/* 7: what a transition did to its customer's profile (audit.effects)
	 * and the tags it keeps (the latest statement per tag, a removal
	 * included); the current consent as a mask on the profile row (one
	 * bit per purpose and channel, numbered in consent_kinds), so that a
	 * segment counts what consent leaves out from the index it filters
	 * with; the attributes and indexes the segments filter on */
	"ALTER TABLE audit ADD COLUMN effects TEXT;"
	"CREATE TABLE tags("
	" profile_id INTEGER NOT NULL, tag TEXT NOT NULL, present INTEGER NOT NULL,"
	" at INTEGER NOT NULL, case_id INTEGER, audit_id INTEGER NOT NULL,"
	" PRIMARY KEY(profile_id, tag)) WITHOUT ROWID;"
	"CREATE INDEX tags_tag ON tags(tag, present, at);"
	"CREATE TABLE consent_kinds("
	" bit INTEGER PRIMARY KEY, purpose TEXT NOT NULL, channel TEXT NOT NULL,"
	" UNIQUE(purpose, channel));"
	"INSERT INTO consent_kinds(bit, purpose, channel)"
	" SELECT row_number() OVER (ORDER BY purpose, channel) - 1, purpose, channel"
	" FROM (SELECT DISTINCT purpose, channel FROM consent) LIMIT 63;"
	"ALTER TABLE profiles ADD COLUMN consent_mask INTEGER NOT NULL DEFAULT 0;"
	"UPDATE profiles SET consent_mask = (SELECT coalesce(sum(1 << k.bit), 0) FROM consent c"
	" JOIN consent_kinds k ON k.purpose = c.purpose AND k.channel = c.channel"
	" WHERE c.profile_id = profiles.id AND c.granted = 1);"
	"ALTER TABLE profiles ADD COLUMN attr_postcode TEXT"
	" GENERATED ALWAYS AS (json_extract(attributes, '$.postcode[0].value')) VIRTUAL;"
	"ALTER TABLE profiles ADD COLUMN attr_company TEXT"
	" GENERATED ALWAYS AS (json_extract(attributes, '$.company[0].value')) VIRTUAL;"
	/* merged_into last: the index covers a count (every column it reads
	 * is there), and the planner does not take "merged_into IS NULL" for
	 * a way in, which matches nearly every profile */
	"CREATE INDEX profiles_last_order ON profiles(last_order_at, consent_mask, merged_into);"
	"CREATE INDEX profiles_postcode ON profiles(attr_postcode, attr_company, consent_mask,"
	" merged_into);"
	/* what a count reads of a profile found by a tag or an interest */
	"CREATE INDEX profiles_consent ON profiles(id, consent_mask, merged_into);"
	"CREATE INDEX interests_value_profile ON interests(value, profile_id);"
	"DROP INDEX interests_value;",
	/* 8: the holders of a tag in the order of their ids, so that a
	 * segment requiring several tags looks each one after the first up in
	 * that tag's own stretch of an index (about 700 pages for 100,000
	 * holders) rather than by the primary key, whose entries of a tag are
	 * spread over the whole table */
	"CREATE INDEX tags_profile ON tags(tag, present, profile_id);",
	/* 9: a case's data in a table of its own, written only when the data
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
	/* 10: the indexed attributes become columns that the statements
	 * writing the attributes keep (INDEXED_SET), from the values the
	 * writer gives or else from the document: as generated columns, every
	 * write of a profile parsed its whole attributes document, and a
	 * change parsed it twice; and the index of the current consent by
	 * purpose and channel goes, which nothing reads since the profile row
	 * keeps that consent as a mask (7), and every statement wrote */
	"DROP INDEX consent_granted;"
	"DROP INDEX profiles_postcode;"
	"ALTER TABLE profiles DROP COLUMN attr_company;"
	"ALTER TABLE profiles DROP COLUMN attr_postcode;"
	"ALTER TABLE profiles ADD COLUMN attr_postcode TEXT;"
	"ALTER TABLE profiles ADD COLUMN attr_company TEXT;"
	"UPDATE profiles SET attr_postcode = json_extract(attributes, '$.postcode[0].value'),"
	" attr_company = json_extract(attributes, '$.company[0].value');"
	"CREATE INDEX profiles_postcode ON profiles(attr_postcode, attr_company, consent_mask,"
	" merged_into);",
};

/* What retention is due to erase, found without reading again what it
 * erased already: made by the first purge, so that a store that keeps
 * everything does not maintain them on every input. */
static const char retention_indexes[] =
	"CREATE INDEX IF NOT EXISTS interactions_unerased ON interactions(received_at)"
	" WHERE erased_at IS NULL;"
	"CREATE INDEX IF NOT EXISTS cases_unerased ON cases(process, process_version, state,"
	" state_since) WHERE erased_at IS NULL;"
	"CREATE INDEX IF NOT EXISTS consent_proof ON consent(interaction_id) WHERE granted = 1;"
	/* the cases a case started name its key: S_E_STARTED */
	"CREATE INDEX IF NOT EXISTS audit_started_by ON audit(json_extract(cause, '$.case_id'))"
	" WHERE cause LIKE '{\"type\":\"start\",%';";

enum stmt {
	S_INTERACTION_ADD, S_INTERACTION_FIND, S_INTERACTION_GET,
	S_RECORD_ADD,
	S_ATT_ADD, S_ATT_LIST, S_ATT_GET, S_CASE_THREAD,
	S_CASE_FIND, S_CASE_GET, S_CASE_ROW, S_CASE_DATA, S_CASE_INSERT, S_CASE_UPDATE,
	S_CASE_UPDATE_PV,
	S_CASE_DATA_ADD, S_CASE_DATA_SET, S_CASE_SET_PROFILE,
	S_CASE_LIST, S_CASE_LIST_P, S_CASE_LIST_S, S_CASE_LIST_PS,
	S_CASE_LIST_V, S_CASE_STATES, S_PDEF_ADD, S_PDEF_LIST,
	S_AUDIT_ADD, S_AUDIT_ADD2, S_AUDIT_LIST,
	S_TIMER_ADD, S_TIMER_DUE, S_TIMER_DONE, S_TIMER_COUNT,
	S_P_CREATE, S_P_GET, S_P_LIST, S_P_UPDATE_ADD, S_P_UPDATE_PUT,
	S_ID_FIND, S_ID_HELD, S_ID_ADD, S_ID_ADD2, S_ID_ADD3, S_ID_ADD4, S_ID_LIST,
	S_CONSENT_HIST, S_CONSENT_SET, S_CONSENT_LIST, S_CONSENT_HISTORY,
	S_INTEREST_ADD, S_INTEREST_LIST, S_INTEREST_CLEAR,
	S_SETTLE_CONSENT_DEL, S_SETTLE_CONSENT,
	S_MERGE_LOG, S_MERGE_IDS, S_MERGE_CONSENT, S_MERGE_CASES,
	S_MERGE_TIMELINE, S_MERGE_CLEAR_CONSENT,
	S_MERGE_CLEAR_INTERESTS, S_MERGE_CLEAR_TAGS, S_MERGE_MARK,
	S_UNMERGE_READ, S_UNMERGE_IDS, S_UNMERGE_CONSENT,
	S_UNMERGE_CASES, S_UNMERGE_TIMELINE, S_UNMERGE_MARK, S_UNMERGE_DONE,
	S_MERGE_GET, S_MERGE_LIST, S_KEPT_APART,
	S_CASE_LIST_PROFILE, S_P_RECORDS,
	S_TAG_PUT, S_TAG_LIST, S_TAG_LIST_ALL, S_TAG_CLEAR, S_P_EFFECTS,
	S_CONSENT_KIND, S_CONSENT_MASK, S_CONSENT_BIT, S_CONSENT_KIND_GET, S_P_UPDATE_LIGHT,
	S_P_UPDATE_PUT_TRAITS, S_P_UPDATE_ORDER,
	S_TIMELINE_ADD, S_TIMELINE_LIST,
	S_DOC_ADD, S_DOC_EXISTS, S_DOC_LIST, S_DOC_LIST_CASE, S_DOC_GET,
	S_Q_ADD, S_Q_FIND, S_Q_LIST, S_Q_GET, S_Q_REPLAYED, S_Q_COUNT,
	S_PERSON_RECORDS, S_PERSON_IX, S_PERSON_ATT, S_Q_SCAN, S_RECORD_LIST_CASE,
	S_RECORD_SET, S_E_CASE, S_E_CASE_DATA, S_E_AUDIT, S_E_STARTED, S_E_DOCS, S_E_TIMERS,
	S_E_MARK_CASE, S_E_PERSON_RECORDS, S_E_MARK_PERSON, S_E_IDS, S_E_CONSENT,
	S_E_HISTORY, S_E_INTERESTS, S_E_TAGS, S_E_MERGES, S_E_TIMELINE, S_E_TIMELINE_LEFT,
	S_E_CASES, S_E_PROFILES, S_E_FORGOTTEN, S_E_MARK_Q, S_E_Q,
	S_SWEEP_IX, S_SWEEP_ATT, S_SWEEP_Q, S_SWEEP_CLEAR,
	S_X_MARK, S_X_LAST, S_X_KEPT, S_X_Q, S_CASE_SINCE, S_DOC_PENDING, S_DOC_CLEARED,
	S_RECORDS_OF, S_TIMER_DUE_COUNT, S_Q_OF,
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_COUNT_
};

/* A case is its row and its data: "FROM " CASES. */
#define CASE_COLS "c.id, c.process, c.process_version, c.key, c.state, c.version," \
	" c.state_version, c.state_since, c.created_at, c.updated_at," \
	" coalesce(c.profile_id, 0), d.data, coalesce(c.erased_at, 0)"
#define CASES "cases c JOIN case_data d ON d.case_id = c.id"
#define ATT_COLS "id, interaction_id, seq, part, filename, content_type, size, sha256"
#define PROFILE_COLS "id, created_at, updated_at, coalesce(merged_into, 0)," \
	" orders_count, total_spent, last_order_at, offers_sent, offers_accepted," \
	" offers_rejected, open_complaints, last_interaction_at, attributes, attrs_digest," \
	" coalesce(forgotten_at, 0)"
#define CONSENT_COLS "profile_id, purpose, channel, granted, at," \
	" coalesce(interaction_id, 0), coalesce(record_id, 0), source"
#define MERGE_COLS "id, survivor, merged, at, coalesce(record_id, 0), reason," \
	" coalesce(undone_at, 0), json_extract(moved, '$.attributes')"
#define DOC_COLS "d.id, d.case_id, d.audit_id, c.key, d.template, d.path," \
	" d.sha256, d.size, d.created_at"

/* The attributes the segments' indexes read (docs/segments.md), as
 * columns of profiles that every statement writing the attributes keeps:
 * from the current value the writer binds (?13 and ?14, ?15 and ?16:
 * bind_indexed) when it knows it, else from the document (?11 in an
 * update). */
#define INDEXED_SET \
	" attr_postcode = CASE WHEN ?11 IS NULL THEN attr_postcode WHEN ?13 THEN ?14" \
	" ELSE json_extract(?11, '$.postcode[0].value') END," \
	" attr_company = CASE WHEN ?11 IS NULL THEN attr_company WHEN ?15 THEN ?16" \
	" ELSE json_extract(?11, '$.company[0].value') END,"
static const char *const indexed_attrs[] = { "postcode", "company" };

/* Traits added to a profile (?3.. in ds_traits' order, ?1 the profile). */
#define ADD_COUNTS " orders_count = orders_count + ?3, total_spent = total_spent + ?4,"
#define ADD_LAST_ORDER " last_order_at = coalesce(max(last_order_at, ?5), last_order_at, ?5),"
#define ADD_OTHERS \
	" offers_sent = offers_sent + ?6, offers_accepted = offers_accepted + ?7," \
	" offers_rejected = offers_rejected + ?8, open_complaints = open_complaints + ?9," \
	" last_interaction_at = coalesce(max(last_interaction_at, ?10)," \
	" last_interaction_at, ?10) WHERE id = ?1"

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
		" coalesce(c.profile_id, 0), NULL, coalesce(c.erased_at, 0) FROM cases c WHERE c.id = ?",
	[S_CASE_DATA] = "SELECT data FROM case_data WHERE case_id = ?",
	[S_CASE_INSERT] = "INSERT INTO cases(process, process_version, key, state,"
		" version, state_version, state_since, created_at, updated_at,"
		" profile_id) VALUES(?,?,?,?,?,?,?,?,?,?)"
		" ON CONFLICT(process, key) DO NOTHING",
	/* The process version is set only when it changes (a migration), so
	 * that its index is left alone otherwise. A case that changes after
	 * an erasure may hold personal data again: retention looks at it
	 * again. */
	[S_CASE_UPDATE] = "UPDATE cases SET state = ?1, version = ?2,"
		" state_version = ?3, state_since = ?4, updated_at = ?5, erased_at = NULL"
		" WHERE id = ?6 AND version = ?7 AND process_version = ?8",
	[S_CASE_UPDATE_PV] = "UPDATE cases SET state = ?1, version = ?2,"
		" state_version = ?3, state_since = ?4, updated_at = ?5, erased_at = NULL,"
		" process_version = ?8 WHERE id = ?6 AND version = ?7",
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
		" at, cause, changed, effects) VALUES(?,?,?,?,?,?,?,?)",
	/* Two entries at once (an edit and the transition its guard made):
	 * one statement rather than two. OR FAIL: a statement that writes
	 * two rows and may abort keeps a statement journal of the pages it
	 * changes, which costs more than the statement saved; a failure fails
	 * the input, whose writes its batch or savepoint undoes. The rows
	 * get ids in order, each one above the largest (no id is set by hand,
	 * so none reaches the largest integer, where SQLite picks at random). */
	[S_AUDIT_ADD2] = "INSERT OR FAIL INTO audit(case_id, version, from_state, to_state,"
		" at, cause, changed, effects) VALUES(?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?)",
	[S_AUDIT_LIST] = "SELECT id, case_id, version, from_state, to_state, at,"
		" cause, changed, effects FROM audit WHERE case_id = ? ORDER BY version",
	[S_TIMER_ADD] = "INSERT INTO timers(case_id, state, state_version,"
		" transition, due) VALUES(?,?,?,?,?)",
	[S_TIMER_DUE] = "SELECT id, case_id, state, state_version, transition, due"
		" FROM timers WHERE done_at IS NULL AND due <= ?1"
		" AND (due, id) > (?2, ?3) ORDER BY due, id LIMIT ?4",
	[S_TIMER_DONE] = "UPDATE timers SET done_at = ?, fired = ?"
		" WHERE id = ? AND done_at IS NULL",
	[S_TIMER_COUNT] = "SELECT count(*) FROM timers WHERE done_at IS NULL",
	/* ?5.. the traits, in ds_traits' order; ?13.. the indexed attributes
	 * (bind_indexed) */
	[S_P_CREATE] = "INSERT INTO profiles(created_at, updated_at, attributes,"
		" attrs_digest, consent_mask, orders_count, total_spent, last_order_at,"
		" offers_sent, offers_accepted, offers_rejected, open_complaints,"
		" last_interaction_at, attr_postcode, attr_company)"
		" VALUES(?1, ?1, coalesce(?2, '{}'), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" CASE WHEN ?13 THEN ?14"
		" ELSE json_extract(coalesce(?2, '{}'), '$.postcode[0].value') END,"
		" CASE WHEN ?15 THEN ?16"
		" ELSE json_extract(coalesce(?2, '{}'), '$.company[0].value') END)",
	[S_P_GET] = "SELECT " PROFILE_COLS " FROM profiles WHERE id = ?",
	[S_P_LIST] = "SELECT " PROFILE_COLS " FROM profiles WHERE merged_into IS NULL ORDER BY id",
	/* max(a, b) is NULL when either is: coalesce keeps the other. */
	[S_P_UPDATE_ADD] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		" attributes = coalesce(?11, attributes), attrs_digest = coalesce(?12, attrs_digest),"
		INDEXED_SET ADD_COUNTS ADD_LAST_ORDER ADD_OTHERS,
	/* The same for a new last order, the attributes left as they are. */
	[S_P_UPDATE_ORDER] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		ADD_COUNTS ADD_LAST_ORDER ADD_OTHERS,
	/* The same without the columns it would not change (attributes, the
	 * last order): the indexes on them are left alone. */
	[S_P_UPDATE_LIGHT] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		ADD_COUNTS ADD_OTHERS,
	[S_P_UPDATE_PUT_TRAITS] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		" orders_count = ?3, total_spent = ?4, last_order_at = ?5, offers_sent = ?6,"
		" offers_accepted = ?7, offers_rejected = ?8, open_complaints = ?9,"
		" last_interaction_at = ?10 WHERE id = ?1",
	[S_P_UPDATE_PUT] = "UPDATE profiles SET updated_at = max(updated_at, ?2),"
		" attributes = coalesce(?11, attributes), attrs_digest = coalesce(?12, attrs_digest),"
		INDEXED_SET
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
	/* A new profile's identities (an email and a phone, a customer's
	 * email, phone, SIRET and ERP id) in one statement. */
	[S_ID_ADD2] = "INSERT OR IGNORE INTO identities(profile_id, kind, scope, value,"
		" record_id, at) VALUES(?,?,?,?,?,?), (?,?,?,?,?,?)",
	[S_ID_ADD3] = "INSERT OR IGNORE INTO identities(profile_id, kind, scope, value,"
		" record_id, at) VALUES(?,?,?,?,?,?), (?,?,?,?,?,?), (?,?,?,?,?,?)",
	[S_ID_ADD4] = "INSERT OR IGNORE INTO identities(profile_id, kind, scope, value,"
		" record_id, at) VALUES(?,?,?,?,?,?), (?,?,?,?,?,?), (?,?,?,?,?,?),"
		" (?,?,?,?,?,?)",
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
	[S_MERGE_CLEAR_TAGS] = "DELETE FROM tags WHERE profile_id = ?2",
	[S_MERGE_MARK] = "UPDATE profiles SET merged_into = ?1, updated_at = max(updated_at, ?3),"
		" attributes = '{}', attr_postcode = NULL, attr_company = NULL, attrs_digest = 0,"
		" consent_mask = 0,"
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
	/* Two profiles, each with those merged into it (and into them...),
	 * hold two people whom an undone merge said apart. */
	[S_KEPT_APART] = "WITH RECURSIVE"
		" ga(id) AS (SELECT ?1 UNION SELECT m.merged FROM merges m JOIN ga"
		" ON m.survivor = ga.id WHERE m.undone_at IS NULL),"
		" gb(id) AS (SELECT ?2 UNION SELECT m.merged FROM merges m JOIN gb"
		" ON m.survivor = gb.id WHERE m.undone_at IS NULL)"
		" SELECT 1 FROM merges u WHERE u.undone_at IS NOT NULL AND"
		" ((u.survivor IN ga AND u.merged IN gb) OR (u.survivor IN gb AND u.merged IN ga))"
		" LIMIT 1",
	[S_CASE_LIST_PROFILE] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.profile_id = ?"
		" ORDER BY c.id",
	[S_P_RECORDS] = "SELECT r.id, r.type, r.data, coalesce(r.case_id, 0), r.interaction_id,"
		" i.source, i.received_at FROM timeline t JOIN records r ON r.id = t.ref"
		" JOIN interactions i ON i.id = r.interaction_id"
		" WHERE t.profile_id = ? AND t.kind = 'record' ORDER BY r.id",
	/* The later statement on a tag wins: by time, then by transition. */
	[S_TAG_PUT] = "INSERT INTO tags(profile_id, tag, present, at, case_id, audit_id)"
		" VALUES(?,?,?,?,?,?) ON CONFLICT(profile_id, tag) DO UPDATE SET"
		" present = excluded.present, at = excluded.at, case_id = excluded.case_id,"
		" audit_id = excluded.audit_id"
		" WHERE (excluded.at, excluded.audit_id) > (tags.at, tags.audit_id)",
	[S_TAG_LIST] = "SELECT profile_id, tag, present, at, coalesce(case_id, 0), audit_id"
		" FROM tags WHERE profile_id = ? AND present = 1 ORDER BY tag",
	[S_TAG_LIST_ALL] = "SELECT profile_id, tag, present, at, coalesce(case_id, 0), audit_id"
		" FROM tags WHERE profile_id = ? ORDER BY tag",
	[S_TAG_CLEAR] = "DELETE FROM tags WHERE profile_id = ?",
	[S_P_EFFECTS] = "SELECT a.id, a.case_id, a.version, a.from_state, a.to_state, a.at,"
		" a.cause, a.changed, a.effects FROM cases c JOIN audit a ON a.case_id = c.id"
		" WHERE c.profile_id = ? AND a.effects IS NOT NULL ORDER BY a.at, a.id",
	/* A purpose and channel gets the next bit the first time it is
	 * stated (63 at most: the mask is a 64-bit integer). */
	[S_CONSENT_KIND] = "INSERT INTO consent_kinds(bit, purpose, channel)"
		" SELECT coalesce(max(bit) + 1, 0), ?2, ?3 FROM consent_kinds"
		" HAVING NOT EXISTS (SELECT 1 FROM consent_kinds WHERE purpose = ?2 AND channel = ?3)"
		" AND count(*) < 63",
	/* ?2 the bit, ?3 the bit when granted, else 0 */
	[S_CONSENT_BIT] = "UPDATE profiles SET consent_mask = (consent_mask & ~?2) | ?3"
		" WHERE id = ?1 AND consent_mask != ((consent_mask & ~?2) | ?3)",
	[S_CONSENT_KIND_GET] = "SELECT bit FROM consent_kinds WHERE purpose = ? AND channel = ?",
	[S_CONSENT_MASK] = "UPDATE profiles SET consent_mask = m.v FROM"
		" (SELECT coalesce(sum(1 << k.bit), 0) AS v FROM consent c JOIN consent_kinds k"
		" ON k.purpose = c.purpose AND k.channel = c.channel"
		" WHERE c.profile_id = ?1 AND c.granted = 1) AS m"
		" WHERE profiles.id = ?1 AND profiles.consent_mask != m.v",
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
	/* An erased document is no longer listed or given (privacy.h). */
	[S_DOC_LIST] = "SELECT " DOC_COLS " FROM documents d JOIN cases c"
		" ON c.id = d.case_id WHERE d.erased_at IS NULL ORDER BY d.id",
	[S_DOC_LIST_CASE] = "SELECT " DOC_COLS " FROM documents d JOIN cases c"
		" ON c.id = d.case_id WHERE d.case_id = ? AND d.erased_at IS NULL ORDER BY d.id",
	[S_DOC_GET] = "SELECT " DOC_COLS ", d.erased_at FROM documents d JOIN cases c"
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
	/* ---- privacy: named parameters, bound by bind_args() ---- */
#define IN_PERSON " IN (SELECT value FROM json_each(:ids))"
#define PERSON_RECORDS "(r.id IN (SELECT t.ref FROM timeline t WHERE t.kind = 'record'" \
	" AND t.profile_id" IN_PERSON ") OR r.case_id IN (SELECT c.id FROM cases c" \
	" WHERE c.profile_id" IN_PERSON "))"
#define PERSON_IX "SELECT r.interaction_id FROM records r WHERE " PERSON_RECORDS \
	" UNION SELECT h.interaction_id FROM consent_history h WHERE h.profile_id" IN_PERSON \
	" AND h.interaction_id IS NOT NULL"
#define RECORD_COLS "r.id, r.type, r.data, coalesce(r.case_id, 0), r.interaction_id," \
	" i.source, i.received_at FROM records r JOIN interactions i ON i.id = r.interaction_id"
	[S_PERSON_RECORDS] = "SELECT " RECORD_COLS " WHERE " PERSON_RECORDS " ORDER BY r.id",
	[S_PERSON_IX] = "SELECT id, source, channel, origin, received_at, sha256, bytes,"
		" identity, coalesce(erased_at, 0) FROM interactions WHERE id IN (" PERSON_IX ")"
		" ORDER BY id",
	[S_PERSON_ATT] = "SELECT " ATT_COLS " FROM attachments WHERE interaction_id IN ("
		PERSON_IX ") ORDER BY id",
	[S_Q_SCAN] = "SELECT q.id, coalesce(q.interaction_id, 0), q.source, q.channel,"
		" q.origin, q.stage, q.reason, q.at, q.sha256, q.replayed, q.size,"
		" coalesce(q.bytes, i.bytes) FROM quarantine q LEFT JOIN interactions i"
		" ON i.id = q.interaction_id ORDER BY q.id",
	[S_RECORD_LIST_CASE] = "SELECT " RECORD_COLS " WHERE r.case_id = :id ORDER BY r.id",
	[S_RECORD_SET] = "UPDATE records SET data = :data WHERE id = :id",
	[S_E_CASE] = "UPDATE cases SET key = coalesce(:key, key), erased_at = :at WHERE id = :id",
	[S_E_CASE_DATA] = "UPDATE case_data SET data = :data WHERE case_id = :id",
	/* What a transition did to the profile goes with the person (forget),
	 * and stays for the profile when retention erases a closed case. */
	[S_E_AUDIT] = "UPDATE audit SET cause = json_remove(cause, '$.thread'), changed = NULL,"
		" effects = CASE WHEN :keep THEN effects END WHERE case_id = :id AND"
		" (changed IS NOT NULL OR (effects IS NOT NULL AND NOT :keep)"
		" OR instr(cause, '\"thread\":') > 0)",
	/* the cases this one started name its key */
	[S_E_STARTED] = "UPDATE audit SET cause = json_set(cause, '$.case', :key)"
		" WHERE cause LIKE '{\"type\":\"start\",%' AND json_extract(cause, '$.case_id') = :id",
	[S_E_DOCS] = "UPDATE documents SET erased_at = :at WHERE case_id = :id"
		" AND erased_at IS NULL",
	[S_E_TIMERS] = "UPDATE timers SET done_at = :at, fired = 0 WHERE done_at IS NULL"
		" AND case_id = :id",
	/* With retention (:keep), a raw input that proves a consent in force,
	 * or gave a record to a case not erased, stays. */
	[S_E_MARK_CASE] = "INSERT OR IGNORE INTO temp.erase_ix(id) SELECT r.interaction_id"
		" FROM records r WHERE r.case_id = :id AND (NOT :keep OR (NOT EXISTS"
		" (SELECT 1 FROM consent c WHERE c.interaction_id = r.interaction_id"
		" AND c.granted = 1) AND NOT EXISTS (SELECT 1 FROM records r2 JOIN cases c2"
		" ON c2.id = r2.case_id WHERE r2.interaction_id = r.interaction_id"
		" AND c2.erased_at IS NULL)))",
	[S_E_PERSON_RECORDS] = "UPDATE records SET data = '{}' WHERE id IN (SELECT t.ref"
		" FROM timeline t WHERE t.kind = 'record' AND t.profile_id" IN_PERSON ")"
		" AND data != '{}'",
	[S_E_MARK_PERSON] = "INSERT OR IGNORE INTO temp.erase_ix(id) " PERSON_IX,
	[S_E_IDS] = "DELETE FROM identities WHERE profile_id" IN_PERSON,
	[S_E_CONSENT] = "DELETE FROM consent WHERE profile_id" IN_PERSON,
	[S_E_HISTORY] = "DELETE FROM consent_history WHERE profile_id" IN_PERSON,
	[S_E_INTERESTS] = "DELETE FROM interests WHERE profile_id" IN_PERSON,
	[S_E_TAGS] = "DELETE FROM tags WHERE profile_id" IN_PERSON,
	[S_E_MERGES] = "DELETE FROM merges WHERE survivor" IN_PERSON " OR merged" IN_PERSON,
	[S_E_TIMELINE] = "UPDATE OR IGNORE timeline SET profile_id = :pseudonym"
		" WHERE profile_id" IN_PERSON,
	[S_E_TIMELINE_LEFT] = "DELETE FROM timeline WHERE profile_id" IN_PERSON,
	[S_E_CASES] = "UPDATE cases SET profile_id = :pseudonym WHERE profile_id" IN_PERSON,
	[S_E_PROFILES] = "DELETE FROM profiles WHERE id" IN_PERSON,
	[S_E_FORGOTTEN] = "UPDATE profiles SET forgotten_at = :at WHERE id = :pseudonym",
	[S_E_MARK_Q] = "INSERT OR IGNORE INTO temp.erase_ix(id) SELECT interaction_id"
		" FROM quarantine WHERE id = :id AND interaction_id IS NOT NULL",
	[S_E_Q] = "DELETE FROM quarantine WHERE id = :id",
	/* The interactions marked in temp.erase_ix are erased: the SHA-256
	 * stays, so the same input again is a duplicate. */
	[S_SWEEP_IX] = "UPDATE interactions SET bytes = x'', origin = NULL, identity = NULL,"
		" erased_at = :at WHERE id IN (SELECT id FROM temp.erase_ix) AND erased_at IS NULL",
	[S_SWEEP_ATT] = "DELETE FROM attachments WHERE interaction_id IN"
		" (SELECT id FROM temp.erase_ix)",
	[S_SWEEP_Q] = "DELETE FROM quarantine WHERE interaction_id IN"
		" (SELECT id FROM temp.erase_ix)",
	[S_SWEEP_CLEAR] = "DELETE FROM temp.erase_ix",
#define NOT_PROOF "NOT EXISTS (SELECT 1 FROM consent c WHERE c.interaction_id = i.id" \
	" AND c.granted = 1)"
	[S_X_MARK] = "INSERT INTO temp.erase_ix(id) SELECT i.id FROM interactions i"
		" WHERE i.erased_at IS NULL AND i.received_at < :cutoff AND i.received_at >= :from"
		" AND " NOT_PROOF " ORDER BY i.received_at LIMIT :limit",
	[S_X_LAST] = "SELECT max(i.received_at), count(*) FROM temp.erase_ix e"
		" JOIN interactions i ON i.id = e.id",
	[S_X_KEPT] = "SELECT count(*) FROM interactions i WHERE i.erased_at IS NULL"
		" AND i.received_at < :cutoff AND NOT " NOT_PROOF,
	[S_X_Q] = "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine"
		" WHERE at < :cutoff ORDER BY id LIMIT :limit)",
	[S_CASE_SINCE] = "SELECT " CASE_COLS " FROM " CASES " WHERE c.process = :process"
		" AND c.process_version = :version AND c.state = :state AND c.state_since < :cutoff"
		" AND c.erased_at IS NULL ORDER BY c.state_since LIMIT :limit",
	[S_DOC_PENDING] = "SELECT id, path FROM documents WHERE erased_at IS NOT NULL"
		" AND path != ''",
	[S_DOC_CLEARED] = "UPDATE documents SET path = '', sha256 = '' WHERE id = :id",
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
	pcre2_match_data *re_md;     /* ds_regexp's, for the connection */
	pcre2_match_context *re_mc;
	struct {                     /* consent_kinds, as far as seen */
		char purpose[64], channel[8];
		int bit;
	} kinds[63];
	size_t nkinds;
} lite;

static lite *L(ds_store *s) { return (lite *)s; }

static int db_error(lite *l, ds_err *err, const char *what)
{
	int code = sqlite3_errcode(l->db);
	int ds = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? DS_EBUSY : DS_EIO;
	return ds_err_set(err, ds, "store: %s: %s", what, sqlite3_errmsg(l->db));
}

/* Statement k, prepared once, reset; clear: its parameters unbound. */
static sqlite3_stmt *prepared(lite *l, enum stmt k, bool clear, ds_err *err)
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
		if (clear)
			sqlite3_clear_bindings(s);
	}
	return s;
}

static sqlite3_stmt *st(lite *l, enum stmt k, ds_err *err) { return prepared(l, k, true, err); }

/* For the statements of every input and every change, whose callers bind
 * each parameter: what the last run bound is overwritten rather than
 * cleared first. */
static sqlite3_stmt *st_bound(lite *l, enum stmt k, ds_err *err)
{
	return prepared(l, k, false, err);
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
	/* The consent kinds numbered in what was undone are gone from the
	 * store: forget the bits remembered, or the next kind would be given
	 * a bit already in use. */
	if (op == DS_TX_ROLLBACK || op == DS_TX_ROLLBACK_TO)
		l->nkinds = 0;
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
	pcre2_match_data_free(l->re_md);
	pcre2_match_context_free(l->re_mc);
	ds_free(l);
}

#define CACHE_MIB_DEFAULT 32
#define CACHE_MIB_MAX 16384

/* The database file of target: relative to home unless absolute; and the
 * page cache asked for, "PATH?cache_mib=N" (MiB per connection, 32 by
 * default: a bigger store is worked faster with more). */
static int db_path(const char *target, const char *home, char path[PATH_MAX], long *cache_mib,
		   ds_err *err)
{
	int rc;
	const char *q = strchr(target, '?');
	size_t len = q ? (size_t)(q - target) : strlen(target);
	*cache_mib = CACHE_MIB_DEFAULT;
	if (!len)
		return ds_err_set(err, DS_ECONFIG, "sqlite store URL has no path");
	if (q) {
		char *end;
		if (strncmp(q + 1, "cache_mib=", 10))
			return ds_err_set(err, DS_ECONFIG, "sqlite store URL: unknown parameter \"%s\" "
					  "(cache_mib=N is the one known)", q + 1);
		*cache_mib = strtol(q + 11, &end, 10);
		if (end == q + 11 || *end || *cache_mib < 1 || *cache_mib > CACHE_MIB_MAX)
			return ds_err_set(err, DS_ECONFIG, "sqlite store URL: cache_mib is a number "
					  "of MiB from 1 to %d", CACHE_MIB_MAX);
	}
	if (target[0] == '/' || !home || !*home)
		rc = snprintf(path, PATH_MAX, "%.*s", (int)len, target);
	else
		rc = snprintf(path, PATH_MAX, "%s/%.*s", home, (int)len, target);
	if (rc < 0 || rc >= PATH_MAX)
		return ds_err_set(err, DS_ECONFIG, "store path too long");
	return DS_OK;
}

static bool lite_exists(const char *target, const char *home)
{
	char path[PATH_MAX];
	struct stat sb;
	long cache;
	return !db_path(target, home, path, &cache, NULL) && stat(path, &sb) == 0;
}

static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv);

static int lite_open(const char *target, const char *home, ds_store **out, ds_err *err)
{
	char path[PATH_MAX];
	int rc;
	long cache_mib;
	lite *l = NULL;
	if ((rc = db_path(target, home, path, &cache_mib, err)))
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
	/* A pragma takes no parameter: the number, checked, is written in. */
	char cache[64];
	snprintf(cache, sizeof cache, "PRAGMA cache_size = -%ld", cache_mib * 1024);
	if ((rc = exec_sql(l, cache, err)) ||
	    (rc = exec_sql(l, "PRAGMA journal_mode = WAL;"
			   "PRAGMA synchronous = FULL;"

			   "PRAGMA temp_store = MEMORY;"
			   /* Deleted content is overwritten with zeros, so what an
			    * erasure removes is gone from the file too (privacy.h). */
			   "PRAGMA secure_delete = ON;"
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
	if (!(l->re_md = pcre2_match_data_create(1, NULL)) ||
	    !(l->re_mc = pcre2_match_context_create(NULL))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto fail;
	}
	pcre2_set_match_limit(l->re_mc, 1000000u);
	pcre2_set_heap_limit(l->re_mc, 8192u);
	if (sqlite3_create_function_v2(l->db, "ds_regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				       l, regexp_fn, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(l, err, "register ds_regexp");
		goto fail;
	}
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
		.effects = col_text(NULL, q, 8),
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
	sqlite3_stmt *q = st_bound(l, S_INTERACTION_ADD, err);
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
	sqlite3_stmt *q = st_bound(l, S_RECORD_ADD, err);
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
	c->erased_at = sqlite3_column_int64(q, 12);
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
	sqlite3_stmt *q = st_bound(l, S_CASE_FIND, err);
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
	sqlite3_stmt *q = st_bound(l, k, err);
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
	sqlite3_stmt *q = st_bound(l, S_CASE_DATA_SET, err);
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

/* Binds r as the entry from parameter i on. */
static void bind_audit(sqlite3_stmt *q, int i, const ds_audit_row *r)
{
	sqlite3_bind_int64(q, i, r->case_id);
	sqlite3_bind_int64(q, i + 1, r->version);
	bind_text(q, i + 2, r->from_state);
	bind_text(q, i + 3, r->to_state);
	sqlite3_bind_int64(q, i + 4, r->at);
	bind_text(q, i + 5, r->cause);
	bind_text(q, i + 6, r->changed);
	bind_text(q, i + 7, r->effects);
}

/* Two entries in one statement, given consecutive ids. */
static int audit_add_two(lite *l, ds_audit_row *r, ds_err *err)
{
	sqlite3_stmt *q = st_bound(l, S_AUDIT_ADD2, err);
	if (!q)
		return err->code;
	bind_audit(q, 1, &r[0]);
	bind_audit(q, 9, &r[1]);
	int rc = run(l, q, err, "write audit");
	if (rc)
		return rc;
	r[1].id = sqlite3_last_insert_rowid(l->db);
	r[0].id = r[1].id - 1;
	return DS_OK;
}

static int lite_audit_add(ds_store *s, ds_audit_row *rows, size_t n, ds_err *err)
{
	lite *l = L(s);
	size_t i = 0;
	for (; i + 1 < n; i += 2) {
		int rc = audit_add_two(l, &rows[i], err);
		if (rc)
			return rc;
	}
	if (i == n)
		return DS_OK;
	sqlite3_stmt *q = st_bound(l, S_AUDIT_ADD, err);
	if (!q)
		return err->code;
	bind_audit(q, 1, &rows[i]);
	int rc = run(l, q, err, "write audit");
	if (!rc)
		rows[i].id = sqlite3_last_insert_rowid(l->db);
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
	sqlite3_stmt *q = st_bound(l, S_TIMER_ADD, err);
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
	p->forgotten_at = sqlite3_column_int64(q, 6 + DS_NTRAITS);
}

static int row_profile(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_profile_row p;
	read_profile(NULL, q, &p);
	return ((int (*)(void *, const ds_profile_row *))w->fn)(w->ud, &p);
}

/* Binds the indexed attributes from cur from ?first on: for each, 1 and
 * its text (NULL: none) when cur tells it, else 0 (the statement reads it
 * in the document). */
static void bind_indexed(sqlite3_stmt *q, int first, const ds_attr_values *cur)
{
	for (size_t k = 0; k < sizeof indexed_attrs / sizeof *indexed_attrs; k++) {
		const ds_attr_value *v = NULL;
		for (size_t i = 0; cur && !v && i < cur->n; i++)
			if (cur->v[i].name && !strcmp(cur->v[i].name, indexed_attrs[k]))
				v = &cur->v[i];
		bool known = cur && !(v && v->other);
		int i = first + 2 * (int)k;
		sqlite3_bind_int(q, i, known);
		bind_text(q, i + 1, known && v ? v->text : NULL);
	}
}

static int lite_profile_create(ds_store *s, ds_time at, const char *attributes,
			       const ds_attr_values *cur, int64_t digest, const ds_traits *traits,
			       int64_t consent_mask, int64_t *id, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_P_CREATE, err);
	if (!q)
		return err->code;
	ds_traits none;
	memset(&none, 0, sizeof none);
	sqlite3_bind_int64(q, 1, at);
	bind_text(q, 2, attributes);
	sqlite3_bind_int64(q, 3, digest);
	sqlite3_bind_int64(q, 4, consent_mask);
	bind_traits(q, 5, traits ? traits : &none);
	bind_indexed(q, 13, cur);
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
			       const ds_attr_values *cur, const int64_t *digest, const ds_traits *t,
			       bool add, ds_time at, ds_err *err)
{
	lite *l = L(s);
	if (!t && !add)
		return ds_err_set(err, DS_EINTERNAL, "profile update: traits to set are missing");
	ds_traits none;
	memset(&none, 0, sizeof none);
	/* Columns left out of the SET list leave their indexes alone. */
	bool same_attrs = !attributes && !digest;
	bool order = t && t->v[DS_TRAIT_LAST_ORDER_AT];
	enum stmt k = add ? (!same_attrs ? S_P_UPDATE_ADD : order ? S_P_UPDATE_ORDER
								 : S_P_UPDATE_LIGHT)
			  : same_attrs ? S_P_UPDATE_PUT_TRAITS : S_P_UPDATE_PUT;
	sqlite3_stmt *q = st(l, k, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, at);
	bind_traits(q, 3, t ? t : &none);
	if (!same_attrs) {
		bind_text(q, 11, attributes);
		if (digest)
			sqlite3_bind_int64(q, 12, *digest);
		bind_indexed(q, 13, cur);
	}
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
	static const enum stmt by_rows[] = { S_ID_ADD, S_ID_ADD2, S_ID_ADD3, S_ID_ADD4 };
	for (size_t i = 0; i < n;) {
		size_t m = n - i >= 4 ? 4 : n - i;
		sqlite3_stmt *q = st(l, by_rows[m - 1], err);
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

/* The bit of a purpose and channel in consent_mask, given its number the
 * first time it is stated (-1 past the 63 a mask holds); remembered, as a
 * committed bit never changes (a rollback forgets them all, lite_tx). */
static int consent_bit(lite *l, const char *purpose, const char *channel, int *bit,
		       ds_err *err)
{
	for (size_t i = 0; i < l->nkinds; i++) {
		if (!strcmp(l->kinds[i].purpose, purpose) && !strcmp(l->kinds[i].channel, channel)) {
			*bit = l->kinds[i].bit;
			return DS_OK;
		}
	}
	static const enum stmt k[] = { S_CONSENT_KIND, S_CONSENT_KIND_GET };
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *q = st(l, k[i], err);
		if (!q)
			return err->code;
		bind_text(q, i ? 1 : 2, purpose);
		bind_text(q, i ? 2 : 3, channel);
		int rc = sqlite3_step(q);
		if (i && rc == SQLITE_ROW)
			*bit = sqlite3_column_int(q, 0);
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_error(l, err, "number a consent purpose and channel");
	}
	if (*bit >= 0 && l->nkinds < sizeof l->kinds / sizeof *l->kinds &&
	    strlen(purpose) < sizeof l->kinds[0].purpose && strlen(channel) < sizeof l->kinds[0].channel) {
		snprintf(l->kinds[l->nkinds].purpose, sizeof l->kinds[0].purpose, "%s", purpose);
		snprintf(l->kinds[l->nkinds].channel, sizeof l->kinds[0].channel, "%s", channel);
		l->kinds[l->nkinds++].bit = *bit;
	}
	return DS_OK;
}

static int lite_consent_bit(ds_store *s, const char *purpose, const char *channel, int *bit,
			    ds_err *err)
{
	*bit = -1;
	return consent_bit(L(s), purpose, channel, bit, err);
}

static int run_steps(lite *l, const enum stmt *k, size_t n, int64_t a, int64_t b,
		     const char *text, ds_time at, int64_t c, ds_err *err);

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
	/* The current statement changed: its bit of the mask follows. */
	if (r->in_mask || !sqlite3_changes(l->db))
		return DS_OK;
	int bit = -1;
	int rc = consent_bit(l, r->purpose, r->channel, &bit, err);
	sqlite3_stmt *q = rc || bit < 0 ? NULL : st(l, S_CONSENT_BIT, err);
	if (rc || bit < 0)
		return rc;
	if (!q)
		return err->code;
	int64_t mask = (int64_t)((uint64_t)1 << bit);
	sqlite3_bind_int64(q, 1, r->profile_id);
	sqlite3_bind_int64(q, 2, mask);
	sqlite3_bind_int64(q, 3, r->granted ? mask : 0);
	return run(l, q, err, "record consent in the profile's mask");
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
	static const enum stmt k[] = { S_SETTLE_CONSENT_DEL, S_SETTLE_CONSENT, S_CONSENT_MASK };
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
				       S_MERGE_CLEAR_INTERESTS, S_MERGE_CLEAR_TAGS };
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
		return true; /* not known: not merged */
	sqlite3_bind_int64(q, 1, a);
	sqlite3_bind_int64(q, 2, b);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc != SQLITE_DONE;
}

static int lite_tag_put(ds_store *s, const ds_tag_row *r, ds_err *err)
{
	lite *l = L(s);
	sqlite3_stmt *q = st(l, S_TAG_PUT, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, r->profile_id);
	bind_text(q, 2, r->tag);
	sqlite3_bind_int(q, 3, r->present);
	sqlite3_bind_int64(q, 4, r->at);
	bind_id(q, 5, r->case_id);
	sqlite3_bind_int64(q, 6, r->audit_id);
	return run(l, q, err, "tag a profile");
}

static int row_tag(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_tag_row r = {
		.profile_id = sqlite3_column_int64(q, 0),
		.tag = col_text(NULL, q, 1),
		.present = sqlite3_column_int(q, 2) != 0,
		.at = sqlite3_column_int64(q, 3),
		.case_id = sqlite3_column_int64(q, 4),
		.audit_id = sqlite3_column_int64(q, 5),
	};
	return ((int (*)(void *, const ds_tag_row *))w->fn)(w->ud, &r);
}

static int lite_tag_list(ds_store *s, int64_t pid, bool removed,
			 int (*fn)(void *, const ds_tag_row *), void *ud, ds_err *err)
{
	return walk_profile(L(s), removed ? S_TAG_LIST_ALL : S_TAG_LIST, pid, row_tag,
			    (void (*)(void))fn, ud, err, "list tags");
}

static int lite_tag_clear(ds_store *s, int64_t pid, ds_err *err)
{
	static const enum stmt k[] = { S_TAG_CLEAR };
	return run_steps(L(s), k, 1, pid, 0, NULL, 0, 0, err);
}

static int lite_profile_effects(ds_store *s, int64_t pid, int (*fn)(void *, const ds_audit_row *),
				void *ud, ds_err *err)
{
	return walk_profile(L(s), S_P_EFFECTS, pid, row_audit, (void (*)(void))fn, ud, err,
			    "list what a profile's cases did to it");
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

/* ---- segments ---- */

/*
 * A segment's tree becomes one statement over profiles p. Every value is
 * a parameter (?N, numbered as they appear); the text holds only this
 * file's own words: column names, the two attributes indexed as columns
 * of their own, and constants. The tree's leaves map to indexed shapes:
 * traits and indexed attributes are columns of the partial indexes on
 * profiles not merged; a tag or an interest is "p.id IN (SELECT ...)" over
 * the tag (or value) index, from which SQLite can start, and EXISTS for
 * the others of the same AND; consent granted is a bit of
 * p.consent_mask, which the indexes carry, so a count reads no row.
 */

#define SEG_MAX_SQL (1u << 20)
#define SEG_MAX_PARAMS 4096

typedef struct segsql {
	lite *l;
	ds_buf sql;
	ds_seg_value *params;
	size_t nparams, cap;
	int rc;                      /* the first error while building */
	const ds_seg_node *split;    /* the MATCH whose ranges split the query */
	const ds_seg_value *range;   /* the range of this part: lo, hi */
} segsql;

static void seg_puts(segsql *q, const char *t)
{
	if (!q->rc)
		q->rc = ds_buf_puts(&q->sql, t);
}

static void seg_param(segsql *q, ds_seg_value v)
{
	if (q->rc)
		return;
	if (q->nparams == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		ds_seg_value *n = cap <= SEG_MAX_PARAMS ? ds_realloc(q->params, cap * sizeof *n) : NULL;
		if (!n) {
			q->rc = cap <= SEG_MAX_PARAMS ? DS_ENOMEM : DS_ELIMIT;
			return;
		}
		q->params = n;
		q->cap = cap;
	}
	q->params[q->nparams++] = v;
	q->rc = ds_buf_printf(&q->sql, "?%zu", q->nparams);
}

static void seg_text(segsql *q, const char *t)
{
	seg_param(q, (ds_seg_value){ .type = DS_SEGV_TEXT, .text = t });
}

static void seg_int(segsql *q, int64_t i)
{
	seg_param(q, (ds_seg_value){ .type = DS_SEGV_INT, .i = i });
}

/* The attributes kept as columns, indexed (INDEXED_SET, migration 10). */
static const char *indexed_attr(const ds_seg_field *f)
{
	static const char *const cols[] = { "p.attr_postcode", "p.attr_company" };
	_Static_assert(sizeof cols / sizeof *cols == sizeof indexed_attrs / sizeof *indexed_attrs,
		       "a column per indexed attribute");
	for (size_t i = 0; f->kind == DS_SEGF_ATTR && f->whole && i < 2; i++)
		if (!strcmp(f->attr, indexed_attrs[i]))
			return cols[i];
	return NULL;
}

static void seg_field(segsql *q, const ds_seg_field *f)
{
	const char *col = indexed_attr(f);
	if (f->kind == DS_SEGF_ID) {
		seg_puts(q, "p.id");
	} else if (f->kind == DS_SEGF_TRAIT) {
		seg_puts(q, "p.");
		seg_puts(q, ds_trait_name(f->trait));
	} else if (col) {
		seg_puts(q, col);
	} else {
		seg_puts(q, "json_extract(p.attributes, ");
		seg_text(q, f->path);
		seg_puts(q, ")");
	}
}

/* Whether the field can be without a value. */
static bool seg_nullable(const ds_seg_field *f)
{
	return f->kind == DS_SEGF_ATTR ||
	       (f->kind == DS_SEGF_TRAIT && ds_trait_kind_of(f->trait) >= DS_TRAIT_DATE);
}

static void seg_value(segsql *q, const ds_seg_value *v)
{
	seg_param(q, *v);
}

static const char *seg_op(int op)
{
	switch (op) {
	case DS_SEG_OP_LT: return " < ";
	case DS_SEG_OP_LE: return " <= ";
	case DS_SEG_OP_GT: return " > ";
	case DS_SEG_OP_GE: return " >= ";
	default: return " = ";
	}
}

/* An attribute compares with values of its own type only. */
static void seg_guard(segsql *q, const ds_seg_field *f, ds_segv_type t)
{
	if (f->kind != DS_SEGF_ATTR || indexed_attr(f))
		return;
	seg_puts(q, "typeof(");
	seg_field(q, f);
	seg_puts(q, t == DS_SEGV_TEXT ? ") = 'text' AND " : ") IN ('integer', 'real') AND ");
}

/* Whether n is a leaf held in a table of its own, keyed by the profile:
 * a tag, an interest, a consent statement (granted ones are in the mask). */
static bool seg_related_leaf(const ds_seg_node *n)
{
	return n->kind == DS_SEG_TAG || n->kind == DS_SEG_INTEREST ||
	       (n->kind == DS_SEG_CONSENT && n->state != 1);
}

/* " WHERE x0.col" for the first condition of the subquery, then
 * " AND xI.col" (the table of leaf i). */
static void seg_cond(segsql *q, bool *first, size_t i, const char *col)
{
	char x[48];
	snprintf(x, sizeof x, "%sx%zu.%s", *first ? " WHERE " : " AND ", i, col);
	*first = false;
	seg_puts(q, x);
}

/* The profiles holding every leaf of nodes[0..n) (related leaves): one
 * subquery whose tables are joined on the profile, a list of ids SQLite
 * can start the search from, reading only the profiles holding them all. */
static void seg_related(segsql *q, const ds_seg_node *const *nodes, size_t n)
{
	char x[64];
	bool first = true;
	seg_puts(q, "p.id IN (SELECT x0.profile_id FROM ");
	for (size_t i = 0; i < n; i++) {
		const char *table = nodes[i]->kind == DS_SEG_TAG ? "tags"
				    : nodes[i]->kind == DS_SEG_INTEREST ? "interests" : "consent";
		if (i)
			snprintf(x, sizeof x, " JOIN %s x%zu ON x%zu.profile_id = x0.profile_id", table,
				 i, i);
		else
			snprintf(x, sizeof x, "%s x0", table);
		seg_puts(q, x);
	}
	for (size_t i = 0; i < n; i++) {
		const ds_seg_node *l = nodes[i];
		if (l->kind == DS_SEG_TAG) {
			seg_cond(q, &first, i, "tag = ");
			seg_text(q, l->text);
			seg_cond(q, &first, i, "present = 1");
			if (l->has_lo) {
				seg_cond(q, &first, i, "at >= ");
				seg_int(q, l->lo);
			}
			if (l->has_hi) {
				seg_cond(q, &first, i, "at <= ");
				seg_int(q, l->hi);
			}
		} else if (l->kind == DS_SEG_INTEREST) {
			seg_cond(q, &first, i, "value = ");
			seg_text(q, l->text);
		} else {
			seg_cond(q, &first, i, "purpose = ");
			seg_text(q, l->purpose);
			seg_cond(q, &first, i, "channel = ");
			seg_text(q, l->channel);
			if (l->state >= 0)
				seg_cond(q, &first, i, l->state ? "granted = 1" : "granted = 0");
		}
	}
	seg_puts(q, ")");
}

/* The mask of the bit a purpose and channel has in consent_mask; 0 when
 * nobody ever stated it (nobody has it granted). */
static int64_t seg_mask(segsql *q, const char *purpose, const char *channel)
{
	sqlite3_stmt *s = NULL;
	int64_t mask = 0;
	if (q->rc)
		return 0;
	if (sqlite3_prepare_v2(q->l->db, "SELECT bit FROM consent_kinds WHERE purpose = ?"
			       " AND channel = ?", -1, &s, NULL) != SQLITE_OK) {
		q->rc = DS_EIO;
		return 0;
	}
	bind_text(s, 1, purpose);
	bind_text(s, 2, channel);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		mask = (int64_t)((uint64_t)1 << sqlite3_column_int(s, 0));
	else if (rc != SQLITE_DONE)
		q->rc = DS_EIO;
	sqlite3_finalize(s);
	return mask;
}

static void seg_node(segsql *q, const ds_seg_node *n);

/* "X >= lo AND X < hi", then " AND " when more follows */
static void seg_range(segsql *q, const ds_seg_field *f, const ds_seg_value *lo,
		      const ds_seg_value *hi, bool more)
{
	seg_field(q, f);
	seg_puts(q, " >= ");
	seg_value(q, lo);
	seg_puts(q, " AND ");
	seg_field(q, f);
	seg_puts(q, " < ");
	seg_value(q, hi);
	seg_puts(q, more ? " AND " : "");
}

/* A leaf that does not hold, a field without a value included. */
static void seg_negate(segsql *q, const ds_seg_node *n)
{
	bool none = false;
	if (n->kind == DS_SEG_CMP || n->kind == DS_SEG_MATCH || n->kind == DS_SEG_CONTAINS) {
		if (seg_nullable(&n->field)) {
			seg_puts(q, "(");
			seg_field(q, &n->field);
			seg_puts(q, " IS NULL OR ");
			none = true;
		}
	}
	ds_seg_node pos = *n;
	pos.neg = false;
	seg_puts(q, "NOT (");
	seg_node(q, &pos);
	seg_puts(q, none ? "))" : ")");
}

static void seg_node(segsql *q, const ds_seg_node *n)
{
	if (n->neg && n->kind != DS_SEG_SET) {
		seg_negate(q, n);
		return;
	}
	switch (n->kind) {
	case DS_SEG_TRUE:
		seg_puts(q, "1");
		break;
	case DS_SEG_FALSE:
		seg_puts(q, "0");
		break;
	case DS_SEG_AND:
	case DS_SEG_OR: {
		/* In an AND, the tags, interests and consent statements it
		 * requires are one subquery (joined on the profile); the rest
		 * follow. */
		const ds_seg_node *rel[16];
		size_t nrel = 0;
		bool any = false;
		seg_puts(q, "(");
		for (size_t i = 0; n->kind == DS_SEG_AND && i < n->nkids && nrel < 16; i++)
			if (seg_related_leaf(n->kids[i]) && !n->kids[i]->neg)
				rel[nrel++] = n->kids[i];
		if (nrel) {
			seg_related(q, rel, nrel);
			any = true;
		}
		for (size_t i = 0; i < n->nkids; i++) {
			bool taken = false;
			for (size_t k = 0; k < nrel && !taken; k++)
				taken = rel[k] == n->kids[i];
			if (taken)
				continue;
			if (any)
				seg_puts(q, n->kind == DS_SEG_AND ? " AND " : " OR ");
			seg_node(q, n->kids[i]);
			any = true;
		}
		seg_puts(q, ")");
		break;
	}
	case DS_SEG_CMP:
		seg_puts(q, "(");
		seg_guard(q, &n->field, n->values[0].type);
		seg_field(q, &n->field);
		seg_puts(q, seg_op(n->op));
		seg_value(q, &n->values[0]);
		seg_puts(q, ")");
		break;
	case DS_SEG_SET:
		seg_field(q, &n->field);
		seg_puts(q, n->neg ? " IS NULL" : " IS NOT NULL");
		break;
	case DS_SEG_BOOL:
		seg_puts(q, "json_type(p.attributes, ");
		seg_text(q, n->field.path);
		seg_puts(q, n->values[0].i ? ") IS 'true'" : ") IS 'false'");
		break;
	case DS_SEG_MATCH:
		seg_puts(q, "(");
		seg_guard(q, &n->field, DS_SEGV_TEXT);
		if (n == q->split) {
			/* this part's range, a union of the prefixes' own */
			seg_range(q, &n->field, &q->range[0], &q->range[1], true);
		} else if (n->nvalues) {
			/* The range from the lowest prefix to past the highest
			 * bounds the index search (SQLite does not search an OR
			 * of ranges inside an AND); the prefixes, then the
			 * pattern, are checked on the index entries. */
			size_t lo = 0, hi = 1;
			for (size_t i = 0; i < n->nvalues; i += 2) {
				if (strcmp(n->values[i].text, n->values[lo].text) < 0)
					lo = i;
				if (strcmp(n->values[i + 1].text, n->values[hi].text) > 0)
					hi = i + 1;
			}
			seg_range(q, &n->field, &n->values[lo], &n->values[hi], true);
		}
		if (n->nvalues && n != q->split) {
			seg_puts(q, "(");
			for (size_t i = 0; i < n->nvalues; i += 2) {
				seg_puts(q, i ? " OR " : "");
				seg_range(q, &n->field, &n->values[i], &n->values[i + 1], false);
			}
			seg_puts(q, ") AND ");
		}
		seg_puts(q, "ds_regexp(");
		seg_text(q, n->text);
		seg_puts(q, ", ");
		seg_field(q, &n->field);
		seg_puts(q, "))");
		break;
	case DS_SEG_CONTAINS:
		seg_puts(q, "(");
		seg_guard(q, &n->field, DS_SEGV_TEXT);
		seg_puts(q, "instr(");
		seg_field(q, &n->field);
		seg_puts(q, ", ");
		seg_text(q, n->text);
		seg_puts(q, ") > 0)");
		break;
	case DS_SEG_TAG:
	case DS_SEG_INTEREST:
		seg_related(q, &n, 1);
		break;
	case DS_SEG_CONSENT:
		if (n->state == 1) {
			seg_puts(q, "(p.consent_mask & ");
			seg_int(q, seg_mask(q, n->purpose, n->channel));
			seg_puts(q, ") != 0");
		} else {
			seg_related(q, &n, 1);
		}
		break;
	}
}

/* A MATCH on an indexed attribute, with prefixes, that the whole filter
 * requires (the filter itself, or an operand of its top AND): the query
 * is then run in parts, one per range of its prefixes, each searching the
 * index over its own range only (75, 77-78 and 91-95 rather than 75-95). */
static const ds_seg_node *seg_splitter(const ds_seg_node *f)
{
	size_t n = f->kind == DS_SEG_AND ? f->nkids : 1;
	for (size_t i = 0; i < n; i++) {
		const ds_seg_node *c = f->kind == DS_SEG_AND ? f->kids[i] : f;
		if (c->kind == DS_SEG_MATCH && !c->neg && c->nvalues && indexed_attr(&c->field))
			return c;
	}
	return NULL;
}

static int cmp_range(const void *a, const void *b)
{
	return strcmp(((const ds_seg_value *)a)->text, ((const ds_seg_value *)b)->text);
}

/* The prefixes' ranges (lo, hi pairs) sorted, and merged where they meet
 * or overlap, into out; returns how many values it holds. */
static size_t seg_ranges(const ds_seg_node *m, ds_seg_value *out)
{
	size_t n = m->nvalues / 2, k = 0;
	memcpy(out, m->values, 2 * n * sizeof *out);
	qsort(out, n, 2 * sizeof *out, cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(out[2 * i].text, out[2 * k - 1].text) <= 0) {
			if (strcmp(out[2 * i + 1].text, out[2 * k - 1].text) > 0)
				out[2 * k - 1] = out[2 * i + 1];
			continue;
		}
		out[2 * k] = out[2 * i];
		out[2 * k + 1] = out[2 * i + 1];
		k++;
	}
	return 2 * k;
}

/* Whether the filter requires a tag, an interest or a consent statement:
 * the search then starts from their list of profiles. */
static bool seg_by_related(const ds_seg_node *f)
{
	if (f->kind != DS_SEG_AND)
		return seg_related_leaf(f) && !f->neg;
	for (size_t i = 0; i < f->nkids; i++)
		if (seg_related_leaf(f->kids[i]) && !f->kids[i]->neg)
			return true;
	return false;
}

/* One part of a count, or of an export with its columns. */
static void seg_part(segsql *q, const ds_seg_query *sq, bool count, int64_t mask)
{
	if (count) {
		/* Started from a list of profiles, a count reads their consent
		 * from the narrow index of ids rather than from their rows. */
		seg_puts(q, "SELECT count(*) AS n, coalesce(sum((p.consent_mask & ");
		seg_int(q, mask);
		seg_puts(q, seg_by_related(sq->filter)
			 ? ") != 0), 0) AS c FROM profiles p INDEXED BY profiles_consent"
			   " WHERE p.merged_into IS NULL AND "
			 : ") != 0), 0) AS c FROM profiles p WHERE p.merged_into IS NULL AND ");
		seg_node(q, sq->filter);
		return;
	}
	seg_puts(q, "SELECT ");
	for (size_t i = 0; i < sq->ncolumns; i++) {
		const ds_seg_column *c = &sq->columns[i];
		seg_puts(q, i ? ", " : "");
		switch (c->kind) {
		case DS_SEGC_ID:
			seg_puts(q, "p.id");
			break;
		case DS_SEGC_IDENTITY:
			seg_puts(q, "(SELECT i.value FROM identities i WHERE i.profile_id = p.id"
				 " AND i.kind = ");
			seg_text(q, c->arg);
			seg_puts(q, " ORDER BY i.id LIMIT 1)");
			break;
		case DS_SEGC_ATTRIBUTES:
			seg_puts(q, "p.attributes");
			break;
		case DS_SEGC_TRAIT:
			seg_puts(q, "p.");
			seg_puts(q, ds_trait_name(c->trait));
			break;
		case DS_SEGC_TAG_AT:
			seg_puts(q, "(SELECT t.at FROM tags t WHERE t.profile_id = p.id AND t.tag = ");
			seg_text(q, c->arg);
			seg_puts(q, " AND t.present = 1)");
			break;
		case DS_SEGC_TAGS:
			seg_puts(q, "(SELECT json_group_array(tag) FROM (SELECT t.tag FROM tags t"
				 " WHERE t.profile_id = p.id AND t.present = 1 ORDER BY t.tag))");
			break;
		case DS_SEGC_INTERESTS:
			seg_puts(q, "(SELECT json_group_array(value) FROM (SELECT i.value FROM"
				 " interests i WHERE i.profile_id = p.id ORDER BY i.value))");
			break;
		}
	}
	seg_puts(q, " FROM profiles p WHERE p.merged_into IS NULL AND (p.consent_mask & ");
	seg_int(q, mask);
	seg_puts(q, ") != 0 AND ");
	seg_node(q, sq->filter);
}

/* The statement of a count, or of an export: one part, or one per range
 * of the prefixes of a MATCH that splits it. */
static void seg_build(segsql *q, const ds_seg_query *sq, bool count)
{
	int64_t mask = seg_mask(q, sq->purpose, sq->channel);
	const ds_seg_node *split = seg_splitter(sq->filter);
	ds_seg_value ranges[64];
	size_t n = split && split->nvalues <= 64 ? seg_ranges(split, ranges) : 0;
	if (n < 4) {
		seg_part(q, sq, count, mask);
		return;
	}
	q->split = split;
	if (count)
		seg_puts(q, "SELECT coalesce(sum(n), 0), coalesce(sum(c), 0) FROM (");
	for (size_t i = 0; i < n; i += 2) {
		q->range = &ranges[i];
		seg_puts(q, i ? " UNION ALL " : "");
		seg_part(q, sq, count, mask);
	}
	if (count)
		seg_puts(q, ")");
	q->split = NULL;
}

static void seg_free(segsql *q)
{
	ds_buf_free(&q->sql);
	ds_free(q->params);
}

/* Builds and prepares the statement (prefixed with EXPLAIN QUERY PLAN
 * when plan), parameters bound. */
static int seg_prepare(lite *l, const ds_seg_query *sq, bool count, bool plan, segsql *q,
		       sqlite3_stmt **out, ds_err *err)
{
	memset(q, 0, sizeof *q);
	q->l = l;
	ds_buf_init(&q->sql, SEG_MAX_SQL);
	*out = NULL;
	if (plan)
		seg_puts(q, "EXPLAIN QUERY PLAN ");
	seg_build(q, sq, count);
	if (q->rc)
		return q->rc == DS_EIO ? db_error(l, err, "read consent purposes")
		       : ds_err_set(err, q->rc, "segment: the statement is too large");
	if (sqlite3_prepare_v2(l->db, q->sql.data, (int)q->sql.len, out, NULL) != SQLITE_OK)
		return db_error(l, err, "prepare a segment");
	for (size_t i = 0; i < q->nparams; i++) {
		const ds_seg_value *v = &q->params[i];
		int k = (int)i + 1;
		if (v->type == DS_SEGV_TEXT) {
			bind_text(*out, k, v->text);
		} else if (v->type == DS_SEGV_INT) {
			sqlite3_bind_int64(*out, k, v->i);
		} else if (v->num.scale == 0) {
			sqlite3_bind_int64(*out, k, v->num.units);
		} else {
			char t[40];
			ds_dec_format(v->num, t, sizeof t);
			sqlite3_bind_double(*out, k, strtod(t, NULL));
		}
	}
	return DS_OK;
}

/* An export reads rows all over the profiles: mapped, the database is
 * read without a copy per page, which pays once there are many (a count,
 * which reads few pages of its indexes, is faster without the mapping);
 * the mapping ends with the statement. */
#define SEG_MMAP "PRAGMA mmap_size = 4294967296"
#define SEG_UNMAP "PRAGMA mmap_size = 0"

static int lite_segment_count(ds_store *s, const ds_seg_query *sq, int64_t *matched,
			      int64_t *consented, ds_err *err)
{
	lite *l = L(s);
	segsql q;
	sqlite3_stmt *st_ = NULL;
	int rc = seg_prepare(l, sq, true, false, &q, &st_, err);
	if (!rc) {
		if (sqlite3_step(st_) == SQLITE_ROW) {
			*matched = sqlite3_column_int64(st_, 0);
			*consented = sqlite3_column_int64(st_, 1);
		} else {
			rc = db_error(l, err, "count a segment");
		}
	}
	sqlite3_finalize(st_);
	seg_free(&q);
	return rc;
}

/* An export's cursor: its statement keeps the read transaction open, and
 * the mapping on, until the close. */
typedef struct seg_cursor {
	struct ds_seg_cursor base;
	segsql q;
	sqlite3_stmt *st;
	size_t ncolumns;
	bool done;
	ds_seg_cell row[];
} seg_cursor;

static void lite_segment_close(ds_seg_cursor *c_)
{
	seg_cursor *c = (seg_cursor *)c_;
	lite *l = L(c->base.store);
	sqlite3_finalize(c->st);
	seg_free(&c->q);
	ds_free(c);
	exec_sql(l, SEG_UNMAP, NULL);
}

static int lite_segment_open(ds_store *s, const ds_seg_query *sq, ds_seg_cursor **out,
			     ds_err *err)
{
	lite *l = L(s);
	*out = NULL;
	seg_cursor *c = ds_calloc(1, sizeof *c + (sq->ncolumns + 1) * sizeof *c->row);
	if (!c)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	c->base.store = s;
	c->ncolumns = sq->ncolumns;
	exec_sql(l, SEG_MMAP, NULL);
	int rc = seg_prepare(l, sq, false, false, &c->q, &c->st, err);
	if (rc) {
		lite_segment_close(&c->base);
		return rc;
	}
	*out = &c->base;
	return DS_OK;
}

static int lite_segment_next(ds_seg_cursor *c_, const ds_seg_cell **row, ds_err *err)
{
	seg_cursor *c = (seg_cursor *)c_;
	if (c->done)
		return 0;
	int step = sqlite3_step(c->st);
	if (step != SQLITE_ROW) {
		c->done = true;
		return step == SQLITE_DONE ? 0 : db_error(L(c->base.store), err, "export a segment");
	}
	for (size_t i = 0; i < c->ncolumns; i++) {
		ds_seg_cell *x = &c->row[i];
		int t = sqlite3_column_type(c->st, (int)i);
		x->null = t == SQLITE_NULL;
		x->is_text = t == SQLITE_TEXT;
		x->i = sqlite3_column_int64(c->st, (int)i);
		x->text = x->is_text ? (const char *)sqlite3_column_text(c->st, (int)i) : NULL;
		x->len = x->is_text ? (size_t)sqlite3_column_bytes(c->st, (int)i) : 0;
	}
	*row = c->row;
	return 1;
}

static int lite_segment_explain(ds_store *s, const ds_seg_query *sq, bool count,
				int (*fn)(void *, const char *, const char *), void *ud, ds_err *err)
{
	lite *l = L(s);
	segsql q;
	sqlite3_stmt *st_ = NULL;
	int rc = seg_prepare(l, sq, count, true, &q, &st_, err);
	if (!rc)
		rc = fn(ud, "sql", q.sql.data + strlen("EXPLAIN QUERY PLAN "));
	for (size_t i = 0; !rc && i < q.nparams; i++) {
		char t[40];
		const ds_seg_value *v = &q.params[i];
		if (v->type == DS_SEGV_INT)
			snprintf(t, sizeof t, "%lld", (long long)v->i);
		else if (v->type == DS_SEGV_NUM)
			ds_dec_format(v->num, t, sizeof t);
		rc = fn(ud, "param", v->type == DS_SEGV_TEXT ? v->text : t);
	}
	/* Each step of the plan, indented under its parent. */
	int ids[64], depth[64];
	size_t n = 0;
	int step;
	while (!rc && (step = sqlite3_step(st_)) == SQLITE_ROW) {
		int id = sqlite3_column_int(st_, 0), parent = sqlite3_column_int(st_, 1), d = 0;
		for (size_t i = 0; i < n; i++)
			if (ids[i] == parent)
				d = depth[i] + 1;
		if (n < 64) {
			ids[n] = id;
			depth[n++] = d;
		}
		char line[600];
		snprintf(line, sizeof line, "%*s%s", 2 * d, "", sqlite3_column_text(st_, 3));
		rc = fn(ud, "plan", line);
	}
	sqlite3_finalize(st_);
	seg_free(&q);
	return rc;
}

/* ds_regexp(pattern, text): the segments' 'matches', as expr.c runs it
 * (PCRE2, UTF-8, \w on accented letters, bounded work); false for what
 * is not text. The pattern is compiled once per statement. */
static void free_re(void *re) { pcre2_code_free(re); }

static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	pcre2_code *re = sqlite3_get_auxdata(ctx, 0);
	if (!re) {
		int ecode;
		PCRE2_SIZE eoff;
		const unsigned char *pat = sqlite3_value_text(argv[0]);
		if (!pat) {
			sqlite3_result_error(ctx, "ds_regexp: no pattern", -1);
			return;
		}
		re = pcre2_compile(pat, (PCRE2_SIZE)sqlite3_value_bytes(argv[0]),
				   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
				   PCRE2_NEVER_BACKSLASH_C, &ecode, &eoff, NULL);
		if (!re) {
			sqlite3_result_error(ctx, "ds_regexp: invalid pattern", -1);
			return;
		}
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		sqlite3_set_auxdata(ctx, 0, re, free_re);
		/* SQLite may have freed it already when it cannot keep it. */
		pcre2_code *kept = sqlite3_get_auxdata(ctx, 0);
		if (!kept) {
			sqlite3_result_error(ctx, "ds_regexp: out of memory", -1);
			return;
		}
		re = kept;
	}
	if (sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	/* The connection is used by one thread: its match data serves
	 * every call. */
	lite *l = sqlite3_user_data(ctx);
	int r = pcre2_match(re, sqlite3_value_text(argv[1]),
			    (PCRE2_SIZE)sqlite3_value_bytes(argv[1]), 0, 0, l->re_md, l->re_mc);
	if (r >= 0 || r == PCRE2_ERROR_NOMATCH)
		sqlite3_result_int(ctx, r >= 0);
	else
		sqlite3_result_error(ctx, "ds_regexp: the pattern needs too much work on this text",
				     -1);
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
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 9) == SQLITE_NULL) {
		read_doc(a, q, out);
		sqlite3_reset(q);
		return DS_OK;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return ds_err_set(err, DS_ENOTFOUND, "document %lld was erased", (long long)id);
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

/* ---- privacy: access, erasure, retention ---- */

/* The values privacy statements name (:id, :ids, :data...). */
typedef struct pargs {
	int64_t id, pseudonym, limit;
	int version;
	const char *ids, *data, *key, *process, *state;
	ds_time at, cutoff, from;
	bool keep;
} pargs;

static void bind_args(sqlite3_stmt *q, const pargs *a)
{
	int n = sqlite3_bind_parameter_count(q);
	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(q, i);
		if (!name)
			continue;
		name++;
		const struct { const char *name, *text; } texts[] = {
			{ "ids", a->ids }, { "data", a->data }, { "key", a->key },
			{ "process", a->process }, { "state", a->state },
		};
		const struct { const char *name; int64_t v; } ints[] = {
			{ "id", a->id }, { "pseudonym", a->pseudonym }, { "limit", a->limit },
			{ "version", a->version }, { "at", a->at }, { "cutoff", a->cutoff },
			{ "from", a->from }, { "keep", a->keep },
		};
		for (size_t k = 0; k < sizeof texts / sizeof *texts; k++)
			if (!strcmp(name, texts[k].name))
				bind_text(q, i, texts[k].text);
		for (size_t k = 0; k < sizeof ints / sizeof *ints; k++)
			if (!strcmp(name, ints[k].name))
				sqlite3_bind_int64(q, i, ints[k].v);
	}
}

/* The statement k with a's values bound; NULL with err set on failure. */
static sqlite3_stmt *st_args(lite *l, enum stmt k, const pargs *a, ds_err *err)
{
	sqlite3_stmt *q = st(l, k, err);
	if (q)
		bind_args(q, a);
	return q;
}

/* One statement of an erasure and the counter its changes add to. */
#define NO_COUNT SIZE_MAX
#define COUNTER(f) offsetof(ds_erase_counts, f)
typedef struct step {
	enum stmt k;
	size_t counter;
} step;

static int run_args(lite *l, const step *steps, size_t n, const pargs *a, ds_erase_counts *c,
		    ds_err *err)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = st_args(l, steps[i].k, a, err);
		if (!q)
			return err->code;
		int rc = run(l, q, err, sql[steps[i].k]);
		if (rc)
			return rc;
		if (steps[i].counter != NO_COUNT && c)
			*(int64_t *)((char *)c + steps[i].counter) += sqlite3_changes(l->db);
	}
	return DS_OK;
}

/* Erases the interactions marked in temp.erase_ix (see store.h). */
static const step sweep[] = {
	{ S_SWEEP_IX, COUNTER(interactions) }, { S_SWEEP_ATT, COUNTER(attachments) },
	{ S_SWEEP_Q, COUNTER(quarantine) }, { S_SWEEP_CLEAR, NO_COUNT },
};
#define NSWEEP (sizeof sweep / sizeof *sweep)

/* The table of interactions to erase, made when first needed. */
static int erase_ready(lite *l, ds_err *err)
{
	return exec_sql(l, "CREATE TEMP TABLE IF NOT EXISTS erase_ix(id INTEGER PRIMARY KEY)", err);
}

static int walk_args(lite *l, enum stmt k, const pargs *a,
		     int (*row)(const struct walk_ctx *, sqlite3_stmt *), void (*fn)(void), void *ud,
		     ds_err *err, const char *what)
{
	sqlite3_stmt *q = st_args(l, k, a, err);
	if (!q)
		return err->code;
	struct walk_ctx w = { fn, ud };
	return walk(l, q, row, &w, err, what);
}

/* The walks of a person's rows: statement k with their ids bound. */
static int walk_person(lite *l, enum stmt k, const char *ids,
		       int (*row)(const struct walk_ctx *, sqlite3_stmt *), void (*fn)(void),
		       void *ud, ds_err *err)
{
	pargs a = { .ids = ids };
	return walk_args(l, k, &a, row, fn, ud, err, "read a person's data");
}

static int lite_person_records(ds_store *s, const char *ids,
			       int (*fn)(void *, const ds_timeline_record *), void *ud, ds_err *err)
{
	return walk_person(L(s), S_PERSON_RECORDS, ids, row_precord, (void (*)(void))fn, ud, err);
}

static int row_person_ix(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_interaction in = {
		.id = sqlite3_column_int64(q, 0),
		.source = col_text(NULL, q, 1),
		.channel = col_text(NULL, q, 2),
		.origin = col_text(NULL, q, 3),
		.received_at = sqlite3_column_int64(q, 4),
		.bytes = sqlite3_column_blob(q, 6),
		.len = (size_t)sqlite3_column_bytes(q, 6),
		.identity = col_text(NULL, q, 7),
	};
	col_sha(q, 5, in.sha256);
	return ((int (*)(void *, const ds_interaction *, ds_time))w->fn)(w->ud, &in,
									 sqlite3_column_int64(q, 8));
}

static int lite_person_interactions(ds_store *s, const char *ids,
				    int (*fn)(void *, const ds_interaction *, ds_time), void *ud,
				    ds_err *err)
{
	return walk_person(L(s), S_PERSON_IX, ids, row_person_ix, (void (*)(void))fn, ud, err);
}

static int lite_person_attachments(ds_store *s, const char *ids,
				   int (*fn)(void *, const ds_attachment_row *), void *ud, ds_err *err)
{
	return walk_person(L(s), S_PERSON_ATT, ids, row_att, (void (*)(void))fn, ud, err);
}

static int row_q_scan(const struct walk_ctx *w, sqlite3_stmt *q)
{
	ds_quarantine_row r;
	read_q(NULL, q, &r);
	r.bytes = sqlite3_column_blob(q, 11);
	r.len = (size_t)sqlite3_column_bytes(q, 11);
	return ((int (*)(void *, const ds_quarantine_row *))w->fn)(w->ud, &r);
}

static int lite_quarantine_scan(ds_store *s, int (*fn)(void *, const ds_quarantine_row *),
				void *ud, ds_err *err)
{
	pargs a = { 0 };
	return walk_args(L(s), S_Q_SCAN, &a, row_q_scan, (void (*)(void))fn, ud, err,
			 "read quarantine");
}

static int lite_record_list_case(ds_store *s, int64_t case_id,
				 int (*fn)(void *, const ds_timeline_record *), void *ud, ds_err *err)
{
	pargs a = { .id = case_id };
	return walk_args(L(s), S_RECORD_LIST_CASE, &a, row_precord, (void (*)(void))fn, ud, err,
			 "list a case's records");
}

static int lite_record_set_data(ds_store *s, int64_t id, const char *data, ds_err *err)
{
	pargs a = { .id = id, .data = data };
	static const step k[] = { { S_RECORD_SET, NO_COUNT } };
	return run_args(L(s), k, 1, &a, NULL, err);
}

static int lite_case_erase(ds_store *s, int64_t id, const char *data, const char *key,
			   ds_time at, bool retention, ds_erase_counts *n, ds_err *err)
{
	lite *l = L(s);
	int rc = erase_ready(l, err);
	if (rc)
		return rc;
	pargs a = { .id = id, .data = data, .key = key, .at = at, .keep = retention };
	step k[9 + NSWEEP];
	size_t m = 0;
	k[m++] = (step){ S_E_CASE, COUNTER(cases) };
	k[m++] = (step){ S_E_CASE_DATA, NO_COUNT };
	k[m++] = (step){ S_E_AUDIT, NO_COUNT };
	if (key)
		k[m++] = (step){ S_E_STARTED, NO_COUNT };
	k[m++] = (step){ S_E_DOCS, COUNTER(documents) };
	if (!retention)
		k[m++] = (step){ S_E_TIMERS, COUNTER(timers) };
	k[m++] = (step){ S_E_MARK_CASE, NO_COUNT };
	memcpy(k + m, sweep, sizeof sweep);
	m += NSWEEP;
	if ((rc = run_args(l, k, m, &a, n, err)))
		return rc;
	if (key)
		n->rekeyed++;
	return DS_OK;
}

static int lite_person_erase(ds_store *s, const char *ids, int64_t pseudonym, ds_time at,
			     ds_erase_counts *n, ds_err *err)
{
	lite *l = L(s);
	int rc = erase_ready(l, err);
	if (rc)
		return rc;
	pargs a = { .ids = ids, .pseudonym = pseudonym, .at = at };
	/* The interactions are marked before the records and consent that
	 * lead to them go. */
	static const step before[] = {
		{ S_E_MARK_PERSON, NO_COUNT }, { S_E_PERSON_RECORDS, COUNTER(records) },
	};
	static const step after[] = {
		{ S_E_IDS, COUNTER(identities) }, { S_E_CONSENT, NO_COUNT },
		{ S_E_HISTORY, COUNTER(consent) }, { S_E_INTERESTS, NO_COUNT }, { S_E_TAGS, NO_COUNT },
		{ S_E_MERGES, COUNTER(merges) }, { S_E_TIMELINE, NO_COUNT },
		{ S_E_TIMELINE_LEFT, NO_COUNT }, { S_E_CASES, NO_COUNT },
		{ S_E_PROFILES, COUNTER(profiles) }, { S_E_FORGOTTEN, NO_COUNT },
	};
	if ((rc = run_args(l, before, sizeof before / sizeof *before, &a, n, err)) ||
	    (rc = run_args(l, sweep, NSWEEP, &a, n, err)))
		return rc;
	return run_args(l, after, sizeof after / sizeof *after, &a, n, err);
}

static int lite_quarantine_erase(ds_store *s, int64_t id, ds_time at, ds_erase_counts *n,
				 ds_err *err)
{
	lite *l = L(s);
	int rc = erase_ready(l, err);
	if (rc)
		return rc;
	pargs a = { .id = id, .at = at };
	static const step k[] = { { S_E_MARK_Q, NO_COUNT }, { S_E_Q, COUNTER(quarantine) } };
	if ((rc = run_args(l, k, 2, &a, n, err)))
		return rc;
	return run_args(l, sweep, NSWEEP, &a, n, err);
}

static int lite_interactions_expire(ds_store *s, ds_time cutoff, ds_time *from, size_t limit,
				    ds_time at, ds_erase_counts *n, ds_err *err)
{
	lite *l = L(s);
	int rc = erase_ready(l, err);
	if (rc)
		return rc;
	pargs a = { .cutoff = cutoff, .from = *from, .limit = (int64_t)limit, .at = at };
	static const step k[] = { { S_X_MARK, NO_COUNT } };
	if ((rc = run_args(l, k, 1, &a, n, err)))
		return rc;
	sqlite3_stmt *q = st(l, S_X_LAST, err);
	if (!q)
		return err->code;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_int64(q, 1))
		*from = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return db_error(l, err, "read expired interactions");
	return run_args(l, sweep, NSWEEP, &a, n, err);
}

static int64_t lite_interactions_kept(ds_store *s, ds_time cutoff)
{
	pargs a = { .cutoff = cutoff };
	sqlite3_stmt *q = st_args(L(s), S_X_KEPT, &a, NULL);
	int64_t n = -1;
	if (q && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	if (q)
		sqlite3_reset(q);
	return n;
}

static int lite_quarantine_expire(ds_store *s, ds_time cutoff, size_t limit, ds_erase_counts *n,
				  ds_err *err)
{
	pargs a = { .cutoff = cutoff, .limit = (int64_t)limit };
	static const step k[] = { { S_X_Q, COUNTER(quarantine) } };
	return run_args(L(s), k, 1, &a, n, err);
}

static int lite_case_list_since(ds_store *s, const char *process, int version, const char *state,
				ds_time cutoff, size_t limit, int (*fn)(void *, const ds_case_row *),
				void *ud, ds_err *err)
{
	pargs a = { .process = process, .version = version, .state = state, .cutoff = cutoff,
		    .limit = (int64_t)limit };
	return walk_args(L(s), S_CASE_SINCE, &a, row_case, (void (*)(void))fn, ud, err,
			 "list cases due for retention");
}

static int row_pending(const struct walk_ctx *w, sqlite3_stmt *q)
{
	return ((int (*)(void *, int64_t, const char *))w->fn)(w->ud, sqlite3_column_int64(q, 0),
								col_text(NULL, q, 1));
}

static int lite_document_pending(ds_store *s, int (*fn)(void *, int64_t, const char *), void *ud,
				 ds_err *err)
{
	pargs a = { 0 };
	return walk_args(L(s), S_DOC_PENDING, &a, row_pending, (void (*)(void))fn, ud, err,
			 "list erased documents");
}

static int lite_document_cleared(ds_store *s, int64_t id, ds_err *err)
{
	pargs a = { .id = id };
	static const step k[] = { { S_DOC_CLEARED, NO_COUNT } };
	return run_args(L(s), k, 1, &a, NULL, err);
}

static int lite_retention_prepare(ds_store *s, ds_err *err)
{
	return exec_sql(L(s), retention_indexes, err);
}

static int lite_scrub(ds_store *s, ds_err *err)
{
	lite *l = L(s);
	int rc = sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return ds_err_set(err, DS_EBUSY, "store: another connection is reading the "
				  "write-ahead log, which is emptied at the next checkpoint instead");
	return rc == SQLITE_OK ? DS_OK : db_error(l, err, "checkpoint");
}

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
	.profile_create = lite_profile_create,
	.consent_bit = lite_consent_bit,
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
	.tag_put = lite_tag_put,
	.tag_list = lite_tag_list,
	.tag_clear = lite_tag_clear,
	.profile_effects = lite_profile_effects,
	.segment_count = lite_segment_count,
	.segment_open = lite_segment_open,
	.segment_next = lite_segment_next,
	.segment_close = lite_segment_close,
	.segment_explain = lite_segment_explain,
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
	.person_records = lite_person_records,
	.person_interactions = lite_person_interactions,
	.person_attachments = lite_person_attachments,
	.quarantine_scan = lite_quarantine_scan,
	.record_list_case = lite_record_list_case,
	.record_set_data = lite_record_set_data,
	.case_erase = lite_case_erase,
	.person_erase = lite_person_erase,
	.quarantine_erase = lite_quarantine_erase,
	.interactions_expire = lite_interactions_expire,
	.interactions_kept = lite_interactions_kept,
	.quarantine_expire = lite_quarantine_expire,
	.case_list_since = lite_case_list_since,
	.document_pending = lite_document_pending,
	.document_cleared = lite_document_cleared,
	.scrub = lite_scrub,
	.retention_prepare = lite_retention_prepare,
	.interaction_records = lite_interaction_records,
	.timer_due_count = lite_timer_due_count,
	.quarantine_of = lite_quarantine_of,
};
