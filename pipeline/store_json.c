/*
 * store_json.c - the store's rows as JSON; see store_json.h.
 */
#include "store_json.h"

static void add_time(cJSON *o, const char *key, ds_time t)
{
	char buf[24];
	ds_time_format(t, buf);
	cJSON_AddStringToObject(o, key, buf);
}

static cJSON *text_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *ds_case_json(const ds_case_row *r, bool with_data)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "process", r->process);
	cJSON_AddStringToObject(o, "key", r->key);
	cJSON_AddStringToObject(o, "state", r->state);
	cJSON_AddNumberToObject(o, "version", (double)r->version);
	cJSON_AddNumberToObject(o, "process_version", r->process_version);
	add_time(o, "state_since", r->state_since);
	add_time(o, "created_at", r->created_at);
	add_time(o, "updated_at", r->updated_at);
	if (r->profile_id)
		cJSON_AddNumberToObject(o, "profile", (double)r->profile_id);
	else
		cJSON_AddNullToObject(o, "profile");
	if (r->erased_at)
		add_time(o, "erased_at", r->erased_at);
	if (with_data) {
		cJSON *d = cJSON_Parse(r->data);
		cJSON_AddItemToObject(o, "data", d ? d : cJSON_CreateNull());
	}
	return o;
}

cJSON *ds_attachment_json(const ds_attachment_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddNumberToObject(o, "interaction", (double)r->interaction_id);
	cJSON_AddStringToObject(o, "part", r->part);
	cJSON_AddStringToObject(o, "filename", r->filename);
	cJSON_AddStringToObject(o, "content_type", r->content_type);
	cJSON_AddNumberToObject(o, "size", (double)r->size);
	cJSON_AddStringToObject(o, "sha256", r->sha256);
	return o;
}

cJSON *ds_timeline_json(const ds_timeline_row *r)
{
	cJSON *o = cJSON_CreateObject();
	add_time(o, "at", r->at);
	cJSON_AddStringToObject(o, "kind", r->kind);
	cJSON_AddNumberToObject(o, "ref", (double)r->ref);
	cJSON_AddItemToObject(o, "type", text_or_null(r->type));
	cJSON_AddItemToObject(o, "case", text_or_null(r->key));
	cJSON_AddItemToObject(o, "state", text_or_null(r->state));
	return o;
}
