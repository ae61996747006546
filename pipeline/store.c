/*
 * store.c - opens a store by URL and dispatches to its backend; see store.h.
 */
#include "store_impl.h"

#include <string.h>

static const struct ds_store_ops *const backends[] = {
	&ds_store_sqlite_ops,
};

/* The backend of url, and where its target starts; DS_ECONFIG naming the
 * problem when there is none. */
static int backend_of(const char *url, const struct ds_store_ops **ops, const char **target,
		      ds_err *err)
{
	const char *colon = strchr(url, ':');
	if (!colon)
		return ds_err_set(err, DS_ECONFIG,
				  "store URL '%s' has no scheme (expected sqlite:PATH)",
				  url);
	size_t n = (size_t)(colon - url);
	for (size_t i = 0; i < sizeof backends / sizeof *backends; i++) {
		if (strlen(backends[i]->scheme) == n && !strncmp(url, backends[i]->scheme, n)) {
			*ops = backends[i];
			*target = colon + 1;
			return DS_OK;
		}
	}
	if (!strncmp(url, "postgresql", n) || !strncmp(url, "postgres", n))
		return ds_err_set(err, DS_ECONFIG,
				  "the PostgreSQL store is not available in this build; use sqlite:PATH");
	return ds_err_set(err, DS_ECONFIG, "unknown store scheme in '%s'", url);
}

int ds_store_open(const char *url, const char *home, ds_store **out, ds_err *err)
{
	const struct ds_store_ops *ops;
	const char *target;
	*out = NULL;
	int rc = backend_of(url, &ops, &target, err);
	return rc ? rc : ops->open(target, home, out, err);
}

int ds_store_open_existing(const char *url, const char *home, ds_store **out, ds_err *err)
{
	const struct ds_store_ops *ops;
	const char *target;
	*out = NULL;
	int rc = backend_of(url, &ops, &target, err);
	if (rc)
		return rc;
	if (!ops->exists(target, home))
		return ds_err_set(err, DS_ENOTFOUND, "no store at %s", url);
	return ops->open(target, home, out, err);
}

void ds_store_close(ds_store *s)
{
	if (s)
		s->ops->close(s);
}

int ds_store_begin(ds_store *s, ds_err *err) { return s->ops->tx(s, DS_TX_BEGIN, err); }
int ds_store_commit(ds_store *s, ds_err *err) { return s->ops->tx(s, DS_TX_COMMIT, err); }
void ds_store_rollback(ds_store *s) { s->ops->tx(s, DS_TX_ROLLBACK, NULL); }
int ds_store_savepoint(ds_store *s, ds_err *err) { return s->ops->tx(s, DS_TX_SAVEPOINT, err); }
int ds_store_release(ds_store *s, ds_err *err) { return s->ops->tx(s, DS_TX_RELEASE, err); }
void ds_store_rollback_to(ds_store *s) { s->ops->tx(s, DS_TX_ROLLBACK_TO, NULL); }
int64_t ds_store_changes(ds_store *s) { return s->ops->changes(s); }

int ds_store_interaction_add(ds_store *s, ds_interaction *in, bool *dup, ds_err *err)
{ return s->ops->interaction_add(s, in, dup, err); }
int ds_store_interaction_get(ds_store *s, int64_t id, ds_arena *a, ds_interaction *out, ds_err *err)
{ return s->ops->interaction_get(s, id, a, out, err); }
int ds_store_record_add(ds_store *s, int64_t iid, const char *type, const char *json,
			int64_t case_id, ds_time at, int64_t *id, ds_err *err)
{ return s->ops->record_add(s, iid, type, json, case_id, at, id, err); }
int ds_store_attachment_add(ds_store *s, ds_attachment_row *a, ds_err *err)
{ return s->ops->attachment_add(s, a, err); }
int ds_store_attachment_list(ds_store *s, int64_t case_id,
			     int (*fn)(void *, const ds_attachment_row *), void *ud, ds_err *err)
{ return s->ops->attachment_list(s, case_id, fn, ud, err); }
int ds_store_attachment_get(ds_store *s, int64_t id, ds_arena *a, ds_attachment_row *out,
			    ds_err *err)
{ return s->ops->attachment_get(s, id, a, out, err); }
int ds_store_case_by_thread(ds_store *s, const char *process, const char *id, ds_arena *a,
			    ds_case_row *out, ds_err *err)
{ return s->ops->case_by_thread(s, process, id, a, out, err); }
int ds_store_case_find(ds_store *s, const char *process, const char *key, ds_arena *a,
		       ds_case_row *out, ds_err *err)
{ return s->ops->case_find(s, process, key, a, out, err); }
int ds_store_case_get(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out, ds_err *err)
{ return s->ops->case_get(s, id, a, out, err); }
int ds_store_case_row(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out, ds_err *err)
{ return s->ops->case_row(s, id, a, out, err); }
int ds_store_case_data(ds_store *s, int64_t id, ds_arena *a, const char **out, ds_err *err)
{ return s->ops->case_data(s, id, a, out, err); }
int ds_store_case_insert(ds_store *s, ds_case_row *c, ds_err *err)
{ return s->ops->case_insert(s, c, err); }
int ds_store_case_update(ds_store *s, const ds_case_row *c, int64_t expected, ds_err *err)
{ return s->ops->case_update(s, c, expected, err); }
int ds_store_case_set_profile(ds_store *s, int64_t case_id, int64_t profile_id, ds_err *err)
{ return s->ops->case_set_profile(s, case_id, profile_id, err); }
int ds_store_case_list(ds_store *s, const char *process, const char *state,
		       int (*fn)(void *, const ds_case_row *), void *ud, ds_err *err)
{ return s->ops->case_list(s, process, state, fn, ud, err); }
int ds_store_case_list_version(ds_store *s, const char *process, int version,
			       int (*fn)(void *, const ds_case_row *), void *ud, ds_err *err)
{ return s->ops->case_list_version(s, process, version, fn, ud, err); }
int ds_store_case_states(ds_store *s, const char *process, int version,
			 int (*fn)(void *, const char *, int64_t), void *ud, ds_err *err)
{ return s->ops->case_states(s, process, version, fn, ud, err); }
int ds_store_process_def_add(ds_store *s, const ds_process_def_row *d, bool *added, ds_err *err)
{ return s->ops->process_def_add(s, d, added, err); }
int ds_store_process_def_list(ds_store *s, int (*fn)(void *, const ds_process_def_row *),
			      void *ud, ds_err *err)
{ return s->ops->process_def_list(s, fn, ud, err); }
int ds_store_audit_add(ds_store *s, ds_audit_row *r, ds_err *err)
{ return s->ops->audit_add(s, r, err); }
int ds_store_audit_list(ds_store *s, int64_t case_id,
			int (*fn)(void *, const ds_audit_row *), void *ud, ds_err *err)
{ return s->ops->audit_list(s, case_id, fn, ud, err); }
int ds_store_timer_add(ds_store *s, ds_timer_row *t, ds_err *err)
{ return s->ops->timer_add(s, t, err); }
int ds_store_timer_due(ds_store *s, ds_time now, ds_time after_due, int64_t after_id,
		       size_t limit, int (*fn)(void *, const ds_timer_row *), void *ud,
		       ds_err *err)
{ return s->ops->timer_due(s, now, after_due, after_id, limit, fn, ud, err); }
int ds_store_timer_done(ds_store *s, int64_t id, ds_time at, bool fired, bool *was_pending,
			ds_err *err)
{ return s->ops->timer_done(s, id, at, fired, was_pending, err); }
int64_t ds_store_timer_pending_count(ds_store *s) { return s->ops->timer_pending_count(s); }
int ds_store_profile_upsert(ds_store *s, const char *email, const char *name, ds_time at,
			    int64_t *id, bool *created, ds_err *err)
{ return s->ops->profile_upsert(s, email, name, at, id, created, err); }
int ds_store_profile_find_email(ds_store *s, const char *email, ds_arena *a,
				ds_profile_row *out, ds_err *err)
{ return s->ops->profile_find_email(s, email, a, out, err); }
int ds_store_timeline_add(ds_store *s, int64_t pid, const char *kind, int64_t ref, ds_time at,
			  ds_err *err)
{ return s->ops->timeline_add(s, pid, kind, ref, at, err); }
int ds_store_timeline_list(ds_store *s, int64_t pid,
			   int (*fn)(void *, const ds_timeline_row *), void *ud, ds_err *err)
{ return s->ops->timeline_list(s, pid, fn, ud, err); }
int ds_store_document_add(ds_store *s, ds_document_row *d, ds_err *err)
{ return s->ops->document_add(s, d, err); }
bool ds_store_document_exists(ds_store *s, int64_t audit_id, const char *tpl)
{ return s->ops->document_exists(s, audit_id, tpl); }
int ds_store_document_list(ds_store *s, int64_t case_id,
			   int (*fn)(void *, const ds_document_row *), void *ud, ds_err *err)
{ return s->ops->document_list(s, case_id, fn, ud, err); }
int ds_store_document_get(ds_store *s, int64_t id, ds_arena *a, ds_document_row *out,
			  ds_err *err)
{ return s->ops->document_get(s, id, a, out, err); }
int ds_store_quarantine_add(ds_store *s, ds_quarantine_row *q, bool *dup, ds_err *err)
{ return s->ops->quarantine_add(s, q, dup, err); }
int ds_store_quarantine_list(ds_store *s, int (*fn)(void *, const ds_quarantine_row *),
			     void *ud, ds_err *err)
{ return s->ops->quarantine_list(s, fn, ud, err); }
int ds_store_quarantine_get(ds_store *s, int64_t id, ds_arena *a, ds_quarantine_row *out,
			    ds_err *err)
{ return s->ops->quarantine_get(s, id, a, out, err); }
int ds_store_quarantine_mark_replayed(ds_store *s, int64_t id, ds_err *err)
{ return s->ops->quarantine_mark_replayed(s, id, err); }
int64_t ds_store_quarantine_count(ds_store *s) { return s->ops->quarantine_count(s); }
