-- A store as schema version 7 left it (the profile store, erasure and
-- segments in; each case's data still in its row, cases indexed by
-- process and state, and by process, process version and state), after a
-- retention run made its indexes; three cases, one linked to a profile,
-- one erased. test_store_sqlite.c opens it and checks what migration 8
-- makes of it.
PRAGMA journal_mode = WAL;
CREATE TABLE interactions(
 id INTEGER PRIMARY KEY, source TEXT NOT NULL, channel TEXT NOT NULL, origin TEXT, received_at INTEGER NOT NULL, sha256 BLOB NOT NULL, size INTEGER NOT NULL, bytes BLOB NOT NULL, identity TEXT, erased_at INTEGER, UNIQUE(sha256, source));
CREATE TABLE records(
 id INTEGER PRIMARY KEY, interaction_id INTEGER NOT NULL REFERENCES interactions(id), type TEXT NOT NULL, case_id INTEGER, created_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX records_case ON records(case_id);
CREATE TABLE cases(
 id INTEGER PRIMARY KEY, process TEXT NOT NULL, process_version INTEGER NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL, state_version INTEGER NOT NULL, state_since INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, profile_id INTEGER, data TEXT NOT NULL, erased_at INTEGER, UNIQUE(process, key));
CREATE INDEX cases_state ON cases(process, state);
CREATE TABLE audit(
 id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id), version INTEGER NOT NULL, from_state TEXT, to_state TEXT NOT NULL, at INTEGER NOT NULL, cause TEXT NOT NULL, changed TEXT, effects TEXT, UNIQUE(case_id, version));
CREATE TABLE timers(
 id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id), state TEXT NOT NULL, state_version INTEGER NOT NULL, transition INTEGER NOT NULL, due INTEGER NOT NULL, done_at INTEGER, fired INTEGER);
CREATE INDEX timers_pending ON timers(due, id) WHERE done_at IS NULL;
CREATE TABLE timeline(
 profile_id INTEGER NOT NULL REFERENCES profiles(id), kind TEXT NOT NULL, ref INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(profile_id, kind, ref)) WITHOUT ROWID;
CREATE TABLE documents(
 id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id), audit_id INTEGER NOT NULL REFERENCES audit(id), template TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL, erased_at INTEGER, UNIQUE(audit_id, template));
CREATE INDEX documents_case ON documents(case_id);
CREATE TABLE quarantine(
 id INTEGER PRIMARY KEY, interaction_id INTEGER, source TEXT NOT NULL, channel TEXT, origin TEXT, stage TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, bytes BLOB, replayed INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX quarantine_once ON quarantine(source, stage, sha256) WHERE replayed = 0;
CREATE UNIQUE INDEX interactions_identity ON interactions(source, identity) WHERE identity IS NOT NULL;
CREATE TABLE attachments(
 id INTEGER PRIMARY KEY, interaction_id INTEGER NOT NULL REFERENCES interactions(id), seq INTEGER NOT NULL, part TEXT NOT NULL, filename TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 BLOB NOT NULL, UNIQUE(interaction_id, seq));
CREATE INDEX interactions_thread ON interactions(identity) WHERE identity IS NOT NULL;
CREATE INDEX records_interaction ON records(interaction_id);
CREATE TABLE process_defs(
 process TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, definition TEXT NOT NULL, first_run INTEGER NOT NULL, PRIMARY KEY(process, version));
CREATE INDEX cases_version ON cases(process, process_version, state);
CREATE TABLE "profiles"(
 id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, merged_into INTEGER, attributes TEXT NOT NULL DEFAULT '{}', attrs_digest INTEGER NOT NULL DEFAULT 0, orders_count INTEGER NOT NULL DEFAULT 0, total_spent INTEGER NOT NULL DEFAULT 0, last_order_at TEXT, offers_sent INTEGER NOT NULL DEFAULT 0, offers_accepted INTEGER NOT NULL DEFAULT 0, offers_rejected INTEGER NOT NULL DEFAULT 0, open_complaints INTEGER NOT NULL DEFAULT 0, last_interaction_at INTEGER, forgotten_at INTEGER, consent_mask INTEGER NOT NULL DEFAULT 0, attr_postcode TEXT GENERATED ALWAYS AS (json_extract(attributes, '$.postcode[0].value')) VIRTUAL, attr_company TEXT GENERATED ALWAYS AS (json_extract(attributes, '$.company[0].value')) VIRTUAL);
CREATE TABLE identities(
 id INTEGER PRIMARY KEY, profile_id INTEGER NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', value TEXT NOT NULL, record_id INTEGER, at INTEGER NOT NULL, UNIQUE(kind, value, scope, profile_id));
CREATE INDEX identities_profile ON identities(profile_id);
CREATE TABLE consent_history(
 id INTEGER PRIMARY KEY, profile_id INTEGER NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL, granted INTEGER NOT NULL, at INTEGER NOT NULL, interaction_id INTEGER, record_id INTEGER, source TEXT);
CREATE INDEX consent_history_profile ON consent_history(profile_id);
CREATE TABLE consent(
 profile_id INTEGER NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL, granted INTEGER NOT NULL, at INTEGER NOT NULL, interaction_id INTEGER, record_id INTEGER, source TEXT, PRIMARY KEY(profile_id, purpose, channel));
CREATE INDEX consent_granted ON consent(purpose, channel, granted);
CREATE TABLE interests(
 profile_id INTEGER NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(profile_id, value));
CREATE TABLE merges(
 id INTEGER PRIMARY KEY, survivor INTEGER NOT NULL, merged INTEGER NOT NULL, at INTEGER NOT NULL, record_id INTEGER, reason TEXT NOT NULL, moved TEXT NOT NULL, undone_at INTEGER);
CREATE INDEX merges_survivor ON merges(survivor);
CREATE INDEX merges_merged ON merges(merged);
CREATE INDEX cases_profile ON cases(profile_id) WHERE profile_id IS NOT NULL;
CREATE INDEX documents_erasing ON documents(id) WHERE erased_at IS NOT NULL AND path != '';
CREATE TABLE tags(
 profile_id INTEGER NOT NULL, tag TEXT NOT NULL, present INTEGER NOT NULL, at INTEGER NOT NULL, case_id INTEGER, audit_id INTEGER NOT NULL, PRIMARY KEY(profile_id, tag)) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag, present, at);
CREATE TABLE consent_kinds(
 bit INTEGER PRIMARY KEY, purpose TEXT NOT NULL, channel TEXT NOT NULL, UNIQUE(purpose, channel));
CREATE INDEX profiles_last_order ON profiles(last_order_at, consent_mask, merged_into);
CREATE INDEX profiles_postcode ON profiles(attr_postcode, attr_company, consent_mask, merged_into);
CREATE INDEX profiles_consent ON profiles(id, consent_mask, merged_into);
CREATE INDEX interests_value_profile ON interests(value, profile_id);
CREATE INDEX interactions_unerased ON interactions(received_at) WHERE erased_at IS NULL;
CREATE INDEX cases_unerased ON cases(process, process_version, state, state_since)
 WHERE erased_at IS NULL;
CREATE INDEX consent_proof ON consent(interaction_id) WHERE granted = 1;
CREATE INDEX audit_started_by ON audit(json_extract(cause, '$.case_id'))
 WHERE cause LIKE '{"type":"start",%';
INSERT INTO profiles(id, created_at, updated_at, attributes)
 VALUES(7, 10, 20, '{"name":[{"value":"Zoë Martin","trust":1,"at":10}]}');
INSERT INTO cases VALUES(1, 'job', 1, 'JOB-1', 'open', 1, 1, 10, 10, 10, NULL,
 '{"job":"JOB-1"}', NULL);
INSERT INTO cases VALUES(2, 'job', 1, 'JOB-2', 'done', 3, 3, 20, 10, 20, 7,
 '{"job":"JOB-2","by":"Zoë"}', NULL);
INSERT INTO cases VALUES(3, 'job', 1, 'JOB-3', 'done', 2, 2, 15, 5, 15, NULL,
 '{"job":"JOB-3"}', 30);
INSERT INTO audit(case_id, version, from_state, to_state, at, cause)
 VALUES(2, 3, 'open', 'done', 20, '{"type":"event","event":"finish","role":"admin"}');
PRAGMA user_version = 7;
