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
	int (*audit_add)(ds_store *, ds_audit_row *, size_t, ds_err *);
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
	int (*profile_create)(ds_store *, ds_time, const char *, const ds_attr_values *, int64_t,
			      const ds_traits *, int64_t, int64_t *, ds_err *);
	int (*consent_bit)(ds_store *, const char *, const char *, int *, ds_err *);
	int (*profile_get)(ds_store *, int64_t, ds_arena *, ds_profile_row *, ds_err *);
	int (*profile_list)(ds_store *, int (*)(void *, const ds_profile_row *),
			    void *, ds_err *);
	int (*profile_update)(ds_store *, int64_t, const char *, const ds_attr_values *,
			      const int64_t *, const ds_traits *, bool, ds_time, ds_err *);
	int (*identity_find)(ds_store *, const ds_identity_key *, size_t,
			     int (*)(void *, size_t, const ds_identity_hit *), void *,
			     ds_err *);
	int (*identity_add)(ds_store *, const ds_identity_row *, size_t, ds_err *);
	int (*identity_list)(ds_store *, int64_t,
			     int (*)(void *, const ds_identity_row *), void *,
			     ds_err *);
	int (*consent_add)(ds_store *, const ds_consent_row *, ds_err *);
	int (*consent_list)(ds_store *, int64_t, bool,
			    int (*)(void *, const ds_consent_row *), void *,
			    ds_err *);
	int (*interest_add)(ds_store *, int64_t, const char *, ds_time, ds_err *);
	int (*interest_list)(ds_store *, int64_t, int (*)(void *, const char *),
			     void *, ds_err *);
	int (*interest_clear)(ds_store *, int64_t, ds_err *);
	int (*profile_settle)(ds_store *, int64_t, ds_err *);
	int (*profile_merge)(ds_store *, ds_merge_row *, ds_err *);
	int (*profile_unmerge)(ds_store *, int64_t, ds_time, ds_arena *,
			       ds_merge_row *, ds_err *);
	int (*merge_get)(ds_store *, int64_t, ds_arena *, ds_merge_row *,
			 ds_err *);
	int (*merge_list)(ds_store *, int64_t,
			  int (*)(void *, const ds_merge_row *), void *,
			  ds_err *);
	bool (*kept_apart)(ds_store *, int64_t, int64_t);
	int (*tag_put)(ds_store *, const ds_tag_row *, ds_err *);
	int (*tag_list)(ds_store *, int64_t, bool, int (*)(void *, const ds_tag_row *),
			void *, ds_err *);
	int (*tag_clear)(ds_store *, int64_t, ds_err *);
	int (*profile_effects)(ds_store *, int64_t, int (*)(void *, const ds_audit_row *),
			       void *, ds_err *);
	int (*segment_count)(ds_store *, const ds_seg_query *, int64_t *, int64_t *, ds_err *);
	int (*segment_open)(ds_store *, const ds_seg_query *, ds_seg_cursor **, ds_err *);
	int (*segment_next)(ds_seg_cursor *, const ds_seg_cell **, ds_err *);
	void (*segment_close)(ds_seg_cursor *);
	int (*segment_explain)(ds_store *, const ds_seg_query *, bool,
			       int (*)(void *, const char *, const char *), void *, ds_err *);
	int (*case_list_profile)(ds_store *, int64_t,
				 int (*)(void *, const ds_case_row *), void *,
				 ds_err *);
	int (*profile_records)(ds_store *, int64_t,
			       int (*)(void *, const ds_timeline_record *), void *,
			       ds_err *);
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
	int (*interaction_records)(ds_store *, int64_t,
				   int (*)(void *, const ds_record_ref *), void *, ds_err *);
	int64_t (*timer_due_count)(ds_store *, ds_time);
	int (*quarantine_of)(ds_store *, int64_t, ds_arena *, ds_quarantine_row *, ds_err *);
	int (*quarantine_mark_replayed)(ds_store *, int64_t, ds_err *);
	int64_t (*quarantine_count)(ds_store *);
	int (*person_records)(ds_store *, const char *,
			      int (*)(void *, const ds_timeline_record *), void *, ds_err *);
	int (*person_interactions)(ds_store *, const char *,
				   int (*)(void *, const ds_interaction *, ds_time), void *,
				   ds_err *);
	int (*person_attachments)(ds_store *, const char *,
				  int (*)(void *, const ds_attachment_row *), void *, ds_err *);
	int (*quarantine_scan)(ds_store *, int (*)(void *, const ds_quarantine_row *), void *,
			       ds_err *);
	int (*record_list_case)(ds_store *, int64_t,
				int (*)(void *, const ds_timeline_record *), void *, ds_err *);
	int (*record_set_data)(ds_store *, int64_t, const char *, ds_err *);
	int (*case_erase)(ds_store *, int64_t, const char *, const char *, ds_time, bool,
			  ds_erase_counts *, ds_err *);
	int (*person_erase)(ds_store *, const char *, int64_t, ds_time, ds_erase_counts *,
			    ds_err *);
	int (*quarantine_erase)(ds_store *, int64_t, ds_time, ds_erase_counts *, ds_err *);
	int (*interactions_expire)(ds_store *, ds_time, ds_time *, size_t, ds_time,
				   ds_erase_counts *, ds_err *);
	int64_t (*interactions_kept)(ds_store *, ds_time);
	int (*quarantine_expire)(ds_store *, ds_time, size_t, ds_erase_counts *, ds_err *);
	int (*case_list_since)(ds_store *, const char *, int, const char *, ds_time, size_t,
			       int (*)(void *, const ds_case_row *), void *, ds_err *);
	int (*document_pending)(ds_store *, int (*)(void *, int64_t, const char *), void *,
				ds_err *);
	int (*document_cleared)(ds_store *, int64_t, ds_err *);
	int (*scrub)(ds_store *, ds_err *);
	int (*retention_prepare)(ds_store *, ds_err *);
};

/* A backend's segment cursor begins with this. */
struct ds_seg_cursor {
	ds_store *store;
};

enum { DS_TX_BEGIN, DS_TX_COMMIT, DS_TX_ROLLBACK, DS_TX_SAVEPOINT, DS_TX_RELEASE,
       DS_TX_ROLLBACK_TO };

struct ds_store {
	const struct ds_store_ops *ops;
};

extern const struct ds_store_ops ds_store_sqlite_ops;

#endif
