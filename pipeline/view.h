/*
 * view.h - the JSON views of what the store holds, one shape for the
 * command line (--json) and the HTTP API: a case, an audit entry, a
 * document, an attachment. Each returns a new cJSON tree the caller owns,
 * or NULL when out of memory; ds_view_text and ds_view_error give text.
 */
#ifndef DS_VIEW_H
#define DS_VIEW_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "store.h"

/* {id, process, key, state, version, process_version, state_since,
 * created_at, updated_at, profile}, erased_at once the case's data was
 * erased, and, with with_data, data. */
cJSON *ds_view_case(const ds_case_row *r, bool with_data);
/* {from, to, at, cause, changed, profile (what the transition did to the
 * customer's profile, or null), version}. */
cJSON *ds_view_audit(const ds_audit_row *r);
/* {id, case, case_id, template, path, sha256, size, created_at}. */
cJSON *ds_view_document(const ds_document_row *d);
/* {id, interaction, part, filename, content_type, size, sha256}. */
cJSON *ds_view_attachment(const ds_attachment_row *r);
/* {at, kind, ref, type, case, state}: the type, case key and state an
 * entry names (null when gone). */
cJSON *ds_view_timeline(const ds_timeline_row *r);

/* doc as compact JSON text (malloc'd: free() it), its length in *len;
 * doc is deleted. NULL when out of memory. */
char *ds_view_text(cJSON *doc, size_t *len);
/* The HTTP API's error body, {"error": {"code", "message", "field"}}
 * (field left out when NULL), as ds_view_text gives it. */
char *ds_view_error(const char *code, const char *message, const char *field, size_t *len);

#endif
