/*
 * privacy_export.c - everything the store holds on a person as one JSON
 * document (privacy.h, ds_privacy_export): the right of access.
 *
 * The document is written as it is read, one member or array element at a
 * time, so memory stays flat whatever the person's history: a raw input's
 * bytes go from the store's row to the output without a copy, escaped as
 * JSON text when they are UTF-8, else in base64. Each array element is one
 * line.
 */
#include "privacy.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <openssl/evp.h>

#include "decimal.h"
#include "json.h"
#include "profile.h"
#include "view.h"

typedef struct writer {
	FILE *f;
	bool first;                  /* no element yet in the open array */
	const ds_person *p;
	ds_store *s;
	ds_err *err;
} writer;

static void put(writer *w, const char *text)
{
	fputs(text, w->f);
}

/* A member of the top-level object. */
static void member(writer *w, const char *name)
{
	fprintf(w->f, ",\n\"%s\": ", name);
}

static void open_array(writer *w, const char *name)
{
	member(w, name);
	put(w, "[");
	w->first = true;
}

static void close_array(writer *w)
{
	put(w, w->first ? "]" : "\n]");
}

/* Writes v (taken) compactly; as the next element of the open array when
 * element is set. */
static int emit(writer *w, cJSON *v, bool element)
{
	char *t = v ? cJSON_PrintUnformatted(v) : NULL;
	cJSON_Delete(v);
	if (!t)
		return ds_err_set(w->err, DS_ENOMEM, "out of memory");
	if (element) {
		put(w, w->first ? "\n" : ",\n");
		w->first = false;
	}
	put(w, t);
	cJSON_free(t);
	return DS_OK;
}

static void add_time(cJSON *o, const char *key, ds_time t)
{
	char buf[24];
	if (t) {
		ds_time_format(t, buf);
		cJSON_AddStringToObject(o, key, buf);
	} else {
		cJSON_AddNullToObject(o, key);
	}
}

/* JSON text kept as text in the store (case data, a cause), parsed back
 * so the document nests it; the text as a string if it does not parse. */
static cJSON *nested(const char *text)
{
	cJSON *v = NULL;
	if (!text)
		return cJSON_CreateNull();
	if (ds_json_parse(text, strlen(text), 512, &v, NULL))
		return cJSON_CreateString(text);
	return v;
}

/* Writes n bytes as the rest of an object whose other members were just
 * written without their closing brace: the encoding, the content, '}'. */
static void content(writer *w, const unsigned char *b, size_t n)
{
	bool text = ds_utf8_valid((const char *)b, n);
	fprintf(w->f, ",\"encoding\":\"%s\",\"content\":\"", text ? "utf-8" : "base64");
	if (!text) {
		unsigned char out[4 * 1024 + 1];
		for (size_t i = 0; i < n; i += 3 * 1024) {
			size_t k = n - i < 3 * 1024 ? n - i : 3 * 1024;
			int m = EVP_EncodeBlock(out, b + i, (int)k);
			fwrite(out, 1, (size_t)m, w->f);
		}
	}
	for (size_t i = 0; text && i < n; i++) {
		unsigned char c = b[i];
		if (c == '"' || c == '\\')
			fprintf(w->f, "\\%c", c);
		else if (c == '\n')
			put(w, "\\n");
		else if (c == '\r')
			put(w, "\\r");
		else if (c == '\t')
			put(w, "\\t");
		else if (c < 0x20 || c == 0x7f)
			fprintf(w->f, "\\u%04x", c);
		else
			fputc(c, w->f);
	}
	put(w, "\"}");
}

/* An element whose bytes are streamed: meta's members, then content. */
static int emit_bytes(writer *w, cJSON *meta, const void *bytes, size_t n)
{
	char *t = meta ? cJSON_PrintUnformatted(meta) : NULL;
	cJSON_Delete(meta);
	if (!t)
		return ds_err_set(w->err, DS_ENOMEM, "out of memory");
	put(w, w->first ? "\n" : ",\n");
	w->first = false;
	t[strlen(t) - 1] = '\0';
	put(w, t);
	cJSON_free(t);
	content(w, bytes, n);
	return DS_OK;
}

/* ---- the profile ---- */

/* A trait's value: a count, money as an exact decimal, a date, a time. */
static cJSON *trait_value(int k, int64_t v)
{
	char buf[32];
	ds_trait_kind kind = ds_trait_kind_of(k);
	if (kind == DS_TRAIT_COUNT)
		return cJSON_CreateNumber((double)v);
	if (kind == DS_TRAIT_CENTS)
		ds_dec_format((ds_dec){ v, 2 }, buf, sizeof buf);
	else if (!v)
		return cJSON_CreateNull();
	else if (kind == DS_TRAIT_DATE)
		snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)(v / 10000), (int)(v / 100 % 100),
			 (int)(v % 100));
	else
		ds_time_format(v, buf);
	return cJSON_CreateString(buf);
}

/* Attribute values with their time as ISO 8601. */
static void attr_times(cJSON *values)
{
	cJSON *e;
	cJSON_ArrayForEach(e, values) {
		if (cJSON_IsArray(e)) {
			attr_times(e);
			continue;
		}
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "at");
		ds_time t = cJSON_IsNumber(at) ? (ds_time)at->valuedouble : 0;
		cJSON_DeleteItemFromObjectCaseSensitive(e, "at");
		add_time(e, "at", t);
	}
}

static int add_interest(void *ud, const char *v)
{
	cJSON_AddItemToArray(ud, cJSON_CreateString(v));
	return 0;
}

static int profile_part(writer *w)
{
	ds_profile_row p;
	ds_arena *a = ds_arena_new(4096);
	int rc = a ? ds_store_profile_get(w->s, w->p->root, a, &p, w->err)
		   : ds_err_set(w->err, DS_ENOMEM, "out of memory");
	if (rc) {
		ds_arena_free(a);
		return rc;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)p.id);
	cJSON *merged = cJSON_AddArrayToObject(o, "merged_profiles");
	for (size_t i = 1; i < w->p->n; i++)
		cJSON_AddItemToArray(merged, cJSON_CreateNumber((double)w->p->ids[i]));
	add_time(o, "created_at", p.created_at);
	add_time(o, "updated_at", p.updated_at);
	add_time(o, "forgotten_at", p.forgotten_at);
	cJSON *cur = ds_profile_attributes(p.attributes, false);
	cJSON *old = ds_profile_attributes(p.attributes, true);
	ds_arena_free(a);
	attr_times(cur);
	attr_times(old);
	cJSON_AddItemToObject(o, "attributes", cur ? cur : cJSON_CreateObject());
	cJSON_AddItemToObject(o, "attribute_history", old ? old : cJSON_CreateObject());
	cJSON *t = cJSON_AddObjectToObject(o, "traits");
	for (int k = 0; k < DS_NTRAITS; k++)
		cJSON_AddItemToObject(t, ds_trait_name(k), trait_value(k, p.traits.v[k]));
	cJSON *interests = cJSON_AddArrayToObject(o, "interests");
	if ((rc = ds_store_interest_list(w->s, p.id, add_interest, interests, w->err))) {
		cJSON_Delete(o);
		return rc;
	}
	member(w, "profile");
	return emit(w, o, false);
}

static int on_identity(void *ud, const ds_identity_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "profile", (double)r->profile_id);
	cJSON_AddStringToObject(o, "kind", r->kind);
	cJSON_AddItemToObject(o, "source", *r->scope ? cJSON_CreateString(r->scope)
						     : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "value", r->value);
	cJSON_AddNumberToObject(o, "record", (double)r->record_id);
	add_time(o, "at", r->at);
	return emit(ud, o, true);
}

static int on_consent(void *ud, const ds_consent_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "purpose", r->purpose);
	cJSON_AddStringToObject(o, "channel", r->channel);
	cJSON_AddBoolToObject(o, "granted", r->granted);
	add_time(o, "at", r->at);
	cJSON_AddNumberToObject(o, "interaction", (double)r->interaction_id);
	cJSON_AddNumberToObject(o, "record", (double)r->record_id);
	cJSON_AddItemToObject(o, "source", r->source ? cJSON_CreateString(r->source)
						     : cJSON_CreateNull());
	return emit(ud, o, true);
}

struct merges {
	writer *w;
	int64_t pid;
};

/* Each merge once: with its survivor, or with the profile of the person
 * it was undone from. */
static int on_merge(void *ud, const ds_merge_row *m)
{
	const struct merges *c = ud;
	if (m->survivor != c->pid && (m->merged != c->pid || ds_person_has(c->w->p, m->survivor)))
		return 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)m->id);
	cJSON_AddNumberToObject(o, "survivor", (double)m->survivor);
	cJSON_AddNumberToObject(o, "merged", (double)m->merged);
	add_time(o, "at", m->at);
	cJSON_AddNumberToObject(o, "record", (double)m->record_id);
	cJSON_AddStringToObject(o, "reason", m->reason ? m->reason : "");
	add_time(o, "undone_at", m->undone_at);
	return emit(c->w, o, true);
}

/* One list per profile of the person, into the open array. */
static int per_member(writer *w, const char *name,
		      int (*walk)(writer *w, int64_t pid))
{
	int rc = DS_OK;
	open_array(w, name);
	for (size_t i = 0; i < w->p->n && !rc; i++)
		rc = walk(w, w->p->ids[i]);
	close_array(w);
	return rc;
}

static int walk_identities(writer *w, int64_t pid)
{
	return ds_store_identity_list(w->s, pid, on_identity, w, w->err);
}

static int walk_consent(writer *w, int64_t pid)
{
	return ds_store_consent_list(w->s, pid, false, on_consent, w, w->err);
}

static int walk_history(writer *w, int64_t pid)
{
	return ds_store_consent_list(w->s, pid, true, on_consent, w, w->err);
}

static int walk_merges(writer *w, int64_t pid)
{
	struct merges c = { w, pid };
	return ds_store_merge_list(w->s, pid, on_merge, &c, w->err);
}

static int on_timeline(void *ud, const ds_timeline_row *r)
{
	return emit(ud, ds_view_timeline(r), true);
}

static int walk_timeline(writer *w, int64_t pid)
{
	return ds_store_timeline_list(w->s, pid, on_timeline, w, w->err);
}

/* ---- cases, documents, records ---- */

struct case_ctx {
	writer *w;
	cJSON *history;
};

static int on_audit(void *ud, const ds_audit_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "version", (double)r->version);
	cJSON_AddItemToObject(o, "from", r->from_state ? cJSON_CreateString(r->from_state)
						       : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "to", r->to_state);
	add_time(o, "at", r->at);
	cJSON_AddItemToObject(o, "cause", nested(r->cause));
	cJSON_AddItemToObject(o, "changed", nested(r->changed));
	cJSON_AddItemToArray(ud, o);
	return 0;
}

static int on_case(void *ud, const ds_case_row *c)
{
	writer *w = ud;
	cJSON *o = ds_view_case(c, false);
	cJSON_AddItemToObject(o, "data", nested(c->data));
	cJSON *h = cJSON_AddArrayToObject(o, "history");
	int rc = ds_store_audit_list(w->s, c->id, on_audit, h, w->err);
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	return emit(w, o, true);
}

static int walk_cases(writer *w, int64_t pid)
{
	return ds_store_case_list_profile(w->s, pid, on_case, w, w->err);
}

static int on_document(void *ud, const ds_document_row *d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)d->id);
	cJSON_AddStringToObject(o, "case", d->case_key);
	cJSON_AddStringToObject(o, "template", d->template_name);
	cJSON_AddStringToObject(o, "path", d->path);
	cJSON_AddStringToObject(o, "sha256", d->sha256);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	add_time(o, "created_at", d->created_at);
	return emit(ud, o, true);
}

static int doc_of_case(void *ud, const ds_case_row *c)
{
	writer *w = ud;
	return ds_store_document_list(w->s, c->id, on_document, w, w->err);
}

static int walk_documents(writer *w, int64_t pid)
{
	return ds_store_case_list_profile(w->s, pid, doc_of_case, w, w->err);
}

static int on_record(void *ud, const ds_timeline_record *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "type", r->type);
	cJSON_AddNumberToObject(o, "case", (double)r->case_id);
	cJSON_AddNumberToObject(o, "interaction", (double)r->interaction_id);
	cJSON_AddStringToObject(o, "source", r->source ? r->source : "");
	add_time(o, "received_at", r->received_at);
	cJSON_AddItemToObject(o, "data", nested(r->data));
	return emit(ud, o, true);
}

/* ---- raw inputs ---- */

static int on_interaction(void *ud, const ds_interaction *in, ds_time erased_at)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)in->id);
	cJSON_AddStringToObject(o, "channel", in->channel);
	cJSON_AddStringToObject(o, "source", in->source);
	cJSON_AddItemToObject(o, "origin", in->origin ? cJSON_CreateString(in->origin)
						      : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "identity", in->identity ? cJSON_CreateString(in->identity)
							  : cJSON_CreateNull());
	add_time(o, "received_at", in->received_at);
	cJSON_AddStringToObject(o, "sha256", in->sha256);
	add_time(o, "erased_at", erased_at);
	return emit_bytes(ud, o, in->bytes, in->len);
}

static int on_attachment(void *ud, const ds_attachment_row *r)
{
	return emit(ud, ds_view_attachment(r), true);
}

static int on_quarantine(void *ud, const ds_quarantine_row *q)
{
	writer *w = ud;
	if (!ds_person_named(w->p, q->bytes, q->len))
		return 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)q->id);
	cJSON_AddStringToObject(o, "stage", q->stage);
	cJSON_AddStringToObject(o, "reason", q->reason);
	cJSON_AddStringToObject(o, "source", q->source);
	cJSON_AddItemToObject(o, "origin", q->origin ? cJSON_CreateString(q->origin)
						     : cJSON_CreateNull());
	add_time(o, "at", q->at);
	cJSON_AddNumberToObject(o, "size", (double)q->size);
	cJSON_AddStringToObject(o, "sha256", q->sha256);
	cJSON_AddBoolToObject(o, "replayed", q->replayed);
	return emit_bytes(w, o, q->bytes, q->len);
}

int ds_privacy_export(ds_store *s, const ds_person *p, ds_time now, FILE *out, ds_err *err)
{
	writer w = { .f = out, .p = p, .s = s, .err = err };
	char when[24];
	ds_time_format(now, when);
	fprintf(out, "{\"format\": \"dossier-export-1\",\n\"exported_at\": \"%s\"", when);
	int rc = profile_part(&w);
	if (!rc)
		rc = per_member(&w, "identities", walk_identities);
	if (!rc)
		rc = per_member(&w, "consent", walk_consent);
	if (!rc)
		rc = per_member(&w, "consent_history", walk_history);
	if (!rc)
		rc = per_member(&w, "merges", walk_merges);
	if (!rc)
		rc = per_member(&w, "timeline", walk_timeline);
	if (!rc)
		rc = per_member(&w, "cases", walk_cases);
	if (!rc)
		rc = per_member(&w, "documents", walk_documents);
	if (!rc) {
		open_array(&w, "records");
		rc = ds_store_person_records(s, p->ids_json, on_record, &w, err);
		close_array(&w);
	}
	if (!rc) {
		open_array(&w, "interactions");
		rc = ds_store_person_interactions(s, p->ids_json, on_interaction, &w, err);
		close_array(&w);
	}
	if (!rc) {
		open_array(&w, "attachments");
		rc = ds_store_person_attachments(s, p->ids_json, on_attachment, &w, err);
		close_array(&w);
	}
	if (!rc) {
		open_array(&w, "quarantine");
		rc = ds_store_quarantine_scan(s, on_quarantine, &w, err);
		close_array(&w);
	}
	put(&w, "}\n");
	if (!rc && (fflush(out) || ferror(out)))
		rc = ds_err_set(err, DS_EIO, "cannot write the export: %s", strerror(errno));
	return rc;
}
