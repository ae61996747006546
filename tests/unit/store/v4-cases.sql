-- A store as schema version 4 left it, as far as cases go: each case's
-- data in its row, indexed by process and state, and by process, process
-- version and state. test_store_sqlite.c opens it and checks what the
-- next migrations make of it.
PRAGMA journal_mode = WAL;
CREATE TABLE cases(
 id INTEGER PRIMARY KEY,
 process TEXT NOT NULL, process_version INTEGER NOT NULL,
 key TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,
 state_version INTEGER NOT NULL, state_since INTEGER NOT NULL,
 created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
 profile_id INTEGER, data TEXT NOT NULL,
 UNIQUE(process, key));
CREATE INDEX cases_state ON cases(process, state);
CREATE INDEX cases_version ON cases(process, process_version, state);
INSERT INTO cases VALUES(1, 'job', 1, 'JOB-1', 'open', 1, 1, 10, 10, 10, NULL,
 '{"job":"JOB-1"}');
INSERT INTO cases VALUES(2, 'job', 1, 'JOB-2', 'done', 3, 3, 20, 10, 20, 7,
 '{"job":"JOB-2","by":"Zoë"}');
PRAGMA user_version = 4;
