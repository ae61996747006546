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
int ds_store_audit_add_n(ds_store *s, ds_audit_row *rows, size_t n, ds_err *err)
{ return s->ops->audit_add(s, rows, n, err); }
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
static const struct {
	const char *name;
	ds_trait_kind kind;
} traits[DS_NTRAITS] = {
	[DS_TRAIT_ORDERS_COUNT] = { "orders_count", DS_TRAIT_COUNT },
	[DS_TRAIT_TOTAL_SPENT] = { "total_spent", DS_TRAIT_CENTS },
	[DS_TRAIT_LAST_ORDER_AT] = { "last_order_at", DS_TRAIT_DATE },
	[DS_TRAIT_OFFERS_SENT] = { "offers_sent", DS_TRAIT_COUNT },
	[DS_TRAIT_OFFERS_ACCEPTED] = { "offers_accepted", DS_TRAIT_COUNT },
	[DS_TRAIT_OFFERS_REJECTED] = { "offers_rejected", DS_TRAIT_COUNT },
	[DS_TRAIT_OPEN_COMPLAINTS] = { "open_complaints", DS_TRAIT_COUNT },
	[DS_TRAIT_LAST_INTERACTION_AT] = { "last_interaction_at", DS_TRAIT_TIME },
};

const char *ds_trait_name(int t) { return t >= 0 && t < DS_NTRAITS ? traits[t].name : NULL; }
ds_trait_kind ds_trait_kind_of(int t) { return t >= 0 && t < DS_NTRAITS ? traits[t].kind : DS_TRAIT_COUNT; }

int ds_trait_index(const char *name)
{
	for (int t = 0; t < DS_NTRAITS; t++)
		if (!strcmp(traits[t].name, name))
			return t;
	return -1;
}

int ds_store_profile_create(ds_store *s, ds_time at, const char *attributes,
			    const ds_attr_values *cur, int64_t digest, const ds_traits *t,
			    int64_t consent_mask, int64_t *id, ds_err *err)
{ return s->ops->profile_create(s, at, attributes, cur, digest, t, consent_mask, id, err); }
int ds_store_consent_bit(ds_store *s, const char *purpose, const char *channel, int *bit,
			 ds_err *err)
{ return s->ops->consent_bit(s, purpose, channel, bit, err); }
int ds_store_profile_get(ds_store *s, int64_t id, ds_arena *a, ds_profile_row *out, ds_err *err)
{ return s->ops->profile_get(s, id, a, out, err); }
int ds_store_profile_list(ds_store *s, int (*fn)(void *, const ds_profile_row *), void *ud,
			  ds_err *err)
{ return s->ops->profile_list(s, fn, ud, err); }
int ds_store_profile_update(ds_store *s, int64_t id, const char *attributes,
			    const ds_attr_values *cur, const int64_t *digest, const ds_traits *t,
			    bool add, ds_time at, ds_err *err)
{ return s->ops->profile_update(s, id, attributes, cur, digest, t, add, at, err); }
int ds_store_identity_find(ds_store *s, const ds_identity_key *keys, size_t n,
			   int (*fn)(void *, size_t, const ds_identity_hit *), void *ud, ds_err *err)
{ return s->ops->identity_find(s, keys, n, fn, ud, err); }
int ds_store_identity_add(ds_store *s, const ds_identity_row *r, size_t n, ds_err *err)
{ return s->ops->identity_add(s, r, n, err); }
int ds_store_identity_list(ds_store *s, int64_t pid, int (*fn)(void *, const ds_identity_row *),
			   void *ud, ds_err *err)
{ return s->ops->identity_list(s, pid, fn, ud, err); }
int ds_store_consent_add(ds_store *s, const ds_consent_row *r, ds_err *err)
{ return s->ops->consent_add(s, r, err); }
int ds_store_consent_list(ds_store *s, int64_t pid, bool history,
			  int (*fn)(void *, const ds_consent_row *), void *ud, ds_err *err)
{ return s->ops->consent_list(s, pid, history, fn, ud, err); }
int ds_store_interest_add(ds_store *s, int64_t pid, const char *value, ds_time at, ds_err *err)
{ return s->ops->interest_add(s, pid, value, at, err); }
int ds_store_interest_list(ds_store *s, int64_t pid, int (*fn)(void *, const char *), void *ud,
			   ds_err *err)
{ return s->ops->interest_list(s, pid, fn, ud, err); }
int ds_store_interest_clear(ds_store *s, int64_t pid, ds_err *err)
{ return s->ops->interest_clear(s, pid, err); }
int ds_store_profile_settle(ds_store *s, int64_t pid, ds_err *err)
{ return s->ops->profile_settle(s, pid, err); }
int ds_store_profile_merge(ds_store *s, ds_merge_row *m, ds_err *err)
{ return s->ops->profile_merge(s, m, err); }
int ds_store_profile_unmerge(ds_store *s, int64_t id, ds_time at, ds_arena *a, ds_merge_row *out,
			     ds_err *err)
{ return s->ops->profile_unmerge(s, id, at, a, out, err); }
int ds_store_merge_get(ds_store *s, int64_t id, ds_arena *a, ds_merge_row *out, ds_err *err)
{ return s->ops->merge_get(s, id, a, out, err); }
int ds_store_merge_list(ds_store *s, int64_t pid, int (*fn)(void *, const ds_merge_row *),
			void *ud, ds_err *err)
{ return s->ops->merge_list(s, pid, fn, ud, err); }
bool ds_store_kept_apart(ds_store *s, int64_t a, int64_t b) { return s->ops->kept_apart(s, a, b); }
int ds_store_tag_put(ds_store *s, const ds_tag_row *r, ds_err *err)
{ return s->ops->tag_put(s, r, err); }
int ds_store_tag_list(ds_store *s, int64_t pid, bool removed,
		      int (*fn)(void *, const ds_tag_row *), void *ud, ds_err *err)
{ return s->ops->tag_list(s, pid, removed, fn, ud, err); }
int ds_store_tag_clear(ds_store *s, int64_t pid, ds_err *err)
{ return s->ops->tag_clear(s, pid, err); }
int ds_store_profile_effects(ds_store *s, int64_t pid, int (*fn)(void *, const ds_audit_row *),
			     void *ud, ds_err *err)
{ return s->ops->profile_effects(s, pid, fn, ud, err); }
int ds_store_segment_count(ds_store *s, const ds_seg_query *q, int64_t *matched,
			   int64_t *consented, ds_err *err)
{ return s->ops->segment_count(s, q, matched, consented, err); }
int ds_store_segment_open(ds_store *s, const ds_seg_query *q, ds_seg_cursor **out, ds_err *err)
{ return s->ops->segment_open(s, q, out, err); }
int ds_store_segment_next(ds_seg_cursor *c, const ds_seg_cell **row, ds_err *err)
{ return c->store->ops->segment_next(c, row, err); }
void ds_store_segment_close(ds_seg_cursor *c)
{
	if (c)
		c->store->ops->segment_close(c);
}

int ds_store_segment_export(ds_store *s, const ds_seg_query *q,
			    int (*fn)(void *, const ds_seg_cell *), void *ud, ds_err *err)
{
	ds_seg_cursor *c = NULL;
	const ds_seg_cell *row;
	int rc = ds_store_segment_open(s, q, &c, err);
	while (!rc && (rc = ds_store_segment_next(c, &row, err)) == 1)
		rc = fn(ud, row);
	ds_store_segment_close(c);
	return rc;
}
int ds_store_segment_explain(ds_store *s, const ds_seg_query *q, bool count,
			     int (*fn)(void *, const char *, const char *), void *ud, ds_err *err)
{ return s->ops->segment_explain(s, q, count, fn, ud, err); }
int ds_store_case_list_profile(ds_store *s, int64_t pid, int (*fn)(void *, const ds_case_row *),
			       void *ud, ds_err *err)
{ return s->ops->case_list_profile(s, pid, fn, ud, err); }
int ds_store_profile_records(ds_store *s, int64_t pid,
			     int (*fn)(void *, const ds_timeline_record *), void *ud, ds_err *err)
{ return s->ops->profile_records(s, pid, fn, ud, err); }
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

int ds_store_person_records(ds_store *s, const char *ids,
			    int (*fn)(void *, const ds_timeline_record *), void *ud, ds_err *err)
{ return s->ops->person_records(s, ids, fn, ud, err); }
int ds_store_person_interactions(ds_store *s, const char *ids,
				 int (*fn)(void *, const ds_interaction *, ds_time), void *ud,
				 ds_err *err)
{ return s->ops->person_interactions(s, ids, fn, ud, err); }
int ds_store_person_attachments(ds_store *s, const char *ids,
				int (*fn)(void *, const ds_attachment_row *), void *ud, ds_err *err)
{ return s->ops->person_attachments(s, ids, fn, ud, err); }
int ds_store_quarantine_scan(ds_store *s, int (*fn)(void *, const ds_quarantine_row *), void *ud,
			     ds_err *err)
{ return s->ops->quarantine_scan(s, fn, ud, err); }
int ds_store_record_list_case(ds_store *s, int64_t case_id,
			      int (*fn)(void *, const ds_timeline_record *), void *ud, ds_err *err)
{ return s->ops->record_list_case(s, case_id, fn, ud, err); }
int ds_store_record_set_data(ds_store *s, int64_t id, const char *data, ds_err *err)
{ return s->ops->record_set_data(s, id, data, err); }
int ds_store_case_erase(ds_store *s, int64_t id, const char *data, const char *key, ds_time at,
			bool retention, ds_erase_counts *n, ds_err *err)
{ return s->ops->case_erase(s, id, data, key, at, retention, n, err); }
int ds_store_person_erase(ds_store *s, const char *ids, int64_t pseudonym, ds_time at,
			  ds_erase_counts *n, ds_err *err)
{ return s->ops->person_erase(s, ids, pseudonym, at, n, err); }
int ds_store_quarantine_erase(ds_store *s, int64_t id, ds_time at, ds_erase_counts *n,
			      ds_err *err)
{ return s->ops->quarantine_erase(s, id, at, n, err); }
int ds_store_interactions_expire(ds_store *s, ds_time cutoff, ds_time *from, size_t limit,
				 ds_time at, ds_erase_counts *n, ds_err *err)
{ return s->ops->interactions_expire(s, cutoff, from, limit, at, n, err); }
int64_t ds_store_interactions_kept(ds_store *s, ds_time cutoff)
{ return s->ops->interactions_kept(s, cutoff); }
int ds_store_quarantine_expire(ds_store *s, ds_time cutoff, size_t limit, ds_erase_counts *n,
			       ds_err *err)
{ return s->ops->quarantine_expire(s, cutoff, limit, n, err); }
int ds_store_case_list_since(ds_store *s, const char *process, int version, const char *state,
			     ds_time cutoff, size_t limit, int (*fn)(void *, const ds_case_row *),
			     void *ud, ds_err *err)
{ return s->ops->case_list_since(s, process, version, state, cutoff, limit, fn, ud, err); }
int ds_store_document_pending(ds_store *s, int (*fn)(void *, int64_t, const char *), void *ud,
			      ds_err *err)
{ return s->ops->document_pending(s, fn, ud, err); }
int ds_store_document_cleared(ds_store *s, int64_t id, ds_err *err)
{ return s->ops->document_cleared(s, id, err); }
int ds_store_scrub(ds_store *s, ds_err *err) { return s->ops->scrub(s, err); }
int ds_store_retention_prepare(ds_store *s, ds_err *err) { return s->ops->retention_prepare(s, err); }
int ds_store_interaction_records(ds_store *s, int64_t iid,
				 int (*fn)(void *, const ds_record_ref *), void *ud, ds_err *err)
{ return s->ops->interaction_records(s, iid, fn, ud, err); }
int64_t ds_store_timer_due_count(ds_store *s, ds_time t) { return s->ops->timer_due_count(s, t); }
int ds_store_quarantine_of(ds_store *s, int64_t iid, ds_arena *a, ds_quarantine_row *out,
			   ds_err *err)
{ return s->ops->quarantine_of(s, iid, a, out, err); }
