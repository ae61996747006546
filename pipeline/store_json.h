/*
 * store_json.h - the store's rows as JSON, as the commands (`case show`,
 * `profile show`) and the export of a person (privacy.h) give them, so the
 * two never differ. Each function returns a new cJSON tree the caller
 * frees (cJSON_Delete), NULL when memory ran out.
 */
#ifndef DS_STORE_JSON_H
#define DS_STORE_JSON_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "store.h"

/* id, process, key, state, version, process_version, state_since,
 * created_at, updated_at, profile (null when none), erased_at when set,
 * and with_data the data. */
cJSON *ds_case_json(const ds_case_row *r, bool with_data);
/* id, interaction, part, filename, content_type, size, sha256. */
cJSON *ds_attachment_json(const ds_attachment_row *r);
/* at, kind, ref, and the type, case key and state it names (null when
 * gone). */
cJSON *ds_timeline_json(const ds_timeline_row *r);

#endif
