/*
 * view.c - JSON views of stored rows; see view.h.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#include "caltime.h"

static void add_time(cJSON *o, const char *name, ds_time t)
{
	char buf[24];
	ds_time_format(t, buf);
	cJSON_AddStringToObject(o, name, buf);
}

cJSON *ds_view_case(const ds_case_row *r, bool with_data)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
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

cJSON *ds_view_audit(const ds_audit_row *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (r->from_state)
		cJSON_AddStringToObject(o, "from", r->from_state);
	else
		cJSON_AddNullToObject(o, "from");
	cJSON_AddStringToObject(o, "to", r->to_state);
	add_time(o, "at", r->at);
	cJSON *cause = cJSON_Parse(r->cause);
	cJSON_AddItemToObject(o, "cause", cause ? cause : cJSON_CreateString(r->cause));
	cJSON *ch = r->changed ? cJSON_Parse(r->changed) : NULL;
	cJSON_AddItemToObject(o, "changed", ch ? ch : cJSON_CreateArray());
	cJSON *fx = r->effects ? cJSON_Parse(r->effects) : NULL;
	cJSON_AddItemToObject(o, "profile", fx ? fx : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "version", (double)r->version);
	return o;
}

cJSON *ds_view_document(const ds_document_row *d)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)d->id);
	cJSON_AddStringToObject(o, "case", d->case_key);
	cJSON_AddNumberToObject(o, "case_id", (double)d->case_id);
	cJSON_AddStringToObject(o, "template", d->template_name);
	cJSON_AddStringToObject(o, "path", d->path);
	cJSON_AddStringToObject(o, "sha256", d->sha256);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	add_time(o, "created_at", d->created_at);
	return o;
}

cJSON *ds_view_attachment(const ds_attachment_row *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddNumberToObject(o, "interaction", (double)r->interaction_id);
	cJSON_AddStringToObject(o, "part", r->part);
	cJSON_AddStringToObject(o, "filename", r->filename);
	cJSON_AddStringToObject(o, "content_type", r->content_type);
	cJSON_AddNumberToObject(o, "size", (double)r->size);
	cJSON_AddStringToObject(o, "sha256", r->sha256);
	return o;
}

char *ds_view_text(cJSON *doc, size_t *len)
{
	char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	size_t n = s ? strlen(s) : 0;
	/* cJSON's allocator is dossier's; the text is handed out as malloc'd. */
	char *out = s ? malloc(n + 1) : NULL;
	if (out)
		memcpy(out, s, n + 1);
	cJSON_free(s);
	*len = out ? n : 0;
	return out;
}

char *ds_view_error(const char *code, const char *message, const char *field, size_t *len)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(doc, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	if (field)
		cJSON_AddStringToObject(e, "field", field);
	return ds_view_text(doc, len);
}

static cJSON *text_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *ds_view_timeline(const ds_timeline_row *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_time(o, "at", r->at);
	cJSON_AddStringToObject(o, "kind", r->kind);
	cJSON_AddNumberToObject(o, "ref", (double)r->ref);
	cJSON_AddItemToObject(o, "type", text_or_null(r->type));
	cJSON_AddItemToObject(o, "case", text_or_null(r->key));
	cJSON_AddItemToObject(o, "state", text_or_null(r->state));
	return o;
}
