/*
 * store_impl.h - what a store backend implements (private to pipeline/).
 *
 * Each backend fills one const struct ds_store_ops; store.c checks the URL
 * scheme, calls the backend's open, and dispatches every public call through
 * the table. A backend's struct begins with struct ds_store.
 */
#ifndef DS_STORE_IMPL_H
#define DS_STORE_IMPL_H

#include "store.h"

struct ds_store_ops {
	const char *scheme;
	int (*open)(const char *target, const char *home, ds_store **out,
		    ds_err *err);
	/* Whether the store target names exists (nothing is created). */
	bool (*exists)(const char *target, const char *home);
	void (*close)(ds_store *s);
	/* Transaction control: one of DS_TX_*; a rollback reports no error. */
	int (*tx)(ds_store *s, int op, ds_err *err);
	/* Rows inserted, updated or deleted through this connection so far. */
	int64_t (*changes)(ds_store *s);

	int (*interaction_add)(ds_store *, ds_interaction *, bool *, ds_err *);
	int (*interaction_get)(ds_store *, int64_t, ds_arena *,
			       ds_interaction *, ds_err *);
	int (*attachment_add)(ds_store *, ds_attachment_row *, ds_err *);
	int (*attachment_list)(ds_store *, int64_t,
			       int (*)(void *, const ds_attachment_row *), void *,
			       ds_err *);
	int (*attachment_get)(ds_store *, int64_t, ds_arena *,
			      ds_attachment_row *, ds_err *);
	int (*case_by_thread)(ds_store *, const char *, const char *, ds_arena *,
			      ds_case_row *, ds_err *);
	int (*record_add)(ds_store *, int64_t, const char *, const char *,
			  int64_t, ds_time, int64_t *, ds_err *);
	int (*case_find)(ds_store *, const char *, const char *, ds_arena *,
			 ds_case_row *, ds_err *);
	int (*case_row)(ds_store *, int64_t, ds_arena *, ds_case_row *, ds_err *);
	int (*case_data)(ds_store *, int64_t, ds_arena *, const char **, ds_err *);
	int (*case_get)(ds_store *, int64_t, ds_arena *, ds_case_row *,
			ds_err *);
	int (*case_insert)(ds_store *, ds_case_row *, ds_err *);
	int (*case_update)(ds_store *, const ds_case_row *, int64_t, ds_err *);
	int (*case_set_profile)(ds_store *, int64_t, int64_t, ds_err *);
	int (*case_list)(ds_store *, const char *, const char *,
			 int (*)(void *, const ds_case_row *), void *,
			 ds_err *);
	int (*case_list_version)(ds_store *, const char *, int,
				 int (*)(void *, const ds_case_row *), void *,
				 ds_err *);
	int (*case_states)(ds_store *, const char *, int,
			   int (*)(void *, const char *, int64_t), void *,
			   ds_err *);
	int (*process_def_add)(ds_store *, const ds_process_def_row *, bool *,
			       ds_err *);
	int (*process_def_list)(ds_store *,
				int (*)(void *, const ds_process_def_row *),
				void *, ds_err *);
	int (*audit_add)(ds_store *, ds_audit_row *, ds_err *);
	int (*audit_list)(ds_store *, int64_t,
			  int (*)(void *, const ds_audit_row *), void *,
			  ds_err *);
	int (*timer_add)(ds_store *, ds_timer_row *, ds_err *);
	int (*timer_due)(ds_store *, ds_time, ds_time, int64_t, size_t,
			 int (*)(void *, const ds_timer_row *), void *,
			 ds_err *);
	int (*timer_done)(ds_store *, int64_t, ds_time, bool, bool *,
			  ds_err *);
	int64_t (*timer_pending_count)(ds_store *);
	int (*profile_upsert)(ds_store *, const char *, const char *, ds_time,
			      int64_t *, bool *, ds_err *);
	int (*profile_find_email)(ds_store *, const char *, ds_arena *,
				  ds_profile_row *, ds_err *);
	int (*timeline_add)(ds_store *, int64_t, const char *, int64_t,
			    ds_time, ds_err *);
	int (*timeline_list)(ds_store *, int64_t,
			     int (*)(void *, const ds_timeline_row *), void *,
			     ds_err *);
	int (*document_add)(ds_store *, ds_document_row *, ds_err *);
	bool (*document_exists)(ds_store *, int64_t, const char *);
	int (*document_list)(ds_store *, int64_t,
			     int (*)(void *, const ds_document_row *), void *,
			     ds_err *);
	int (*document_get)(ds_store *, int64_t, ds_arena *,
			    ds_document_row *, ds_err *);
	int (*quarantine_add)(ds_store *, ds_quarantine_row *, bool *,
			      ds_err *);
	int (*quarantine_list)(ds_store *,
			       int (*)(void *, const ds_quarantine_row *),
			       void *, ds_err *);
	int (*quarantine_get)(ds_store *, int64_t, ds_arena *,
			      ds_quarantine_row *, ds_err *);
	int (*quarantine_mark_replayed)(ds_store *, int64_t, ds_err *);
	int64_t (*quarantine_count)(ds_store *);
};

enum { DS_TX_BEGIN, DS_TX_COMMIT, DS_TX_ROLLBACK, DS_TX_SAVEPOINT, DS_TX_RELEASE,
       DS_TX_ROLLBACK_TO };

struct ds_store {
	const struct ds_store_ops *ops;
};

extern const struct ds_store_ops ds_store_sqlite_ops;

#endif
