/*
 * read.c - stage "read": checks the input's size, fingerprints it and
 * parses it for its channel (JSON, forms, XML, email) within the configured
 * limits. Inputs that cannot be read are rejected here, raw bytes and all,
 * so the quarantine keeps them for a replay.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chain.h"
#include "form.h"
#include "email.h"
#include "hash.h"
#include "multipart.h"
#include "json.h"

/* Frees the document unless a stage took it over (env->doc set to NULL). */
static void free_doc(void *p)
{
	ds_env *env = p;
	cJSON_Delete(env->doc);
	env->doc = NULL;
}

struct read_ctx {
	ds_xml *xml;             /* this chain's XML parser (one per thread) */
};

static int read_init(void *ctx, ds_runtime *rt, ds_err *err)
{
	struct read_ctx *c = ctx;
	ds_xml_opts opts = { .max_size = rt->cfg->limits.max_input_bytes, .max_depth = 0 };
	return ds_xml_new(&c->xml, &opts, err);
}

static void read_fini(void *ctx)
{
	struct read_ctx *c = ctx;
	ds_xml_free(c->xml);
}

static ds_outcome read_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	struct read_ctx *c = ctx;
	/* The driver hashed an oversized input while skipping it. */
	if (!env->too_large)
		ds_sha256_hex(env->bytes, env->len, env->sha256);
	if (env->too_large || env->len > rt->cfg->limits.max_input_bytes) {
		ds_err_set(err, DS_ELIMIT, "input is %zu bytes, over the limit of %zu bytes",
			   env->too_large ? env->size : env->len, rt->cfg->limits.max_input_bytes);
		return DS_STAGE_REJECT;
	}
	if (env->source && strcmp(env->channel, env->source->channel)) {
		ds_err_set(err, DS_ECONFIG, "source \"%s\" reads channel \"%s\", not \"%s\"",
			   env->source->name, env->source->channel, env->channel);
		return DS_STAGE_REJECT;
	}
	if (!strcmp(env->channel, "json")) {
		cJSON *doc = NULL;
		if (ds_json_parse((const char *)env->bytes, env->len, rt->cfg->limits.max_depth,
				  &doc, err))
			return DS_STAGE_REJECT;
		env->doc = doc;
		if (ds_arena_defer(env->arena, free_doc, env)) {
			ds_err_set(err, DS_ENOMEM, "out of memory");
			return DS_STAGE_FAIL;
		}
		bool oom = false;
		const char *dup = ds_json_duplicate_member(doc, &oom);
		if (oom) {
			ds_err_set(err, DS_ENOMEM, "out of memory");
			return DS_STAGE_FAIL;
		}
		if (dup) {
			ds_err_set(err, DS_EINVAL, "member \"%.100s\" appears twice in one object", dup);
			return DS_STAGE_REJECT;
		}
		return DS_STAGE_CONTINUE;
	}
	if (!strcmp(env->channel, "form")) {
		/* A multipart body file starts with its Content-Type line: the
		 * fields become the object mappings read, the uploaded files'
		 * descriptions (name, filename, type, size, SHA-256) its
		 * "_files" member. */
		if (env->len >= 13 && !strncasecmp((const char *)env->bytes, "Content-Type:", 13)) {
			ds_multipart_opts mo = { .max_total = rt->cfg->limits.max_input_bytes };
			cJSON *all = NULL;
			int rc = ds_multipart_parse_mime_json((const char *)env->bytes, env->len, &mo,
							      DS_FORM_OBJECT, &all, err);
			if (rc == DS_ENOMEM)
				return DS_STAGE_FAIL;
			if (rc)
				return DS_STAGE_REJECT;
			cJSON *fields = cJSON_DetachItemFromObjectCaseSensitive(all, "fields");
			cJSON *files = cJSON_DetachItemFromObjectCaseSensitive(all, "files");
			cJSON_Delete(all);
			if (!fields || !files || !cJSON_AddItemToObject(fields, "_files", files)) {
				cJSON_Delete(fields);
				cJSON_Delete(files);
				ds_err_set(err, DS_ENOMEM, "out of memory");
				return DS_STAGE_FAIL;
			}
			env->doc = fields;
			if (ds_arena_defer(env->arena, free_doc, env)) {
				ds_err_set(err, DS_ENOMEM, "out of memory");
				return DS_STAGE_FAIL;
			}
			return DS_STAGE_CONTINUE;
		}
		ds_form_opts opts = {
			.max_fields = DS_FORM_MAX_FIELDS,
			.max_name = DS_FORM_MAX_NAME,
			.max_value = DS_FORM_MAX_VALUE,
			.max_total = rt->cfg->limits.max_input_bytes,
		};
		cJSON *doc = NULL;
		/* A trailing line end from a file is not part of the last value. */
		size_t len = env->len;
		while (len && (env->bytes[len - 1] == '\n' || env->bytes[len - 1] == '\r'))
			len--;
		if (ds_form_parse_json((const char *)env->bytes, len, &opts, DS_FORM_OBJECT, &doc, err))
			return DS_STAGE_REJECT;
		env->doc = doc;
		if (ds_arena_defer(env->arena, free_doc, env)) {
			ds_err_set(err, DS_ENOMEM, "out of memory");
			return DS_STAGE_FAIL;
		}
		return DS_STAGE_CONTINUE;
	}
	if (!strcmp(env->channel, "email")) {
		/* The message as one object: headers decoded, addresses, date in
		 * UTC, thread ids, body text, parts and attachments. */
		ds_email_opts eo = { .max_total = rt->cfg->limits.max_input_bytes };
		cJSON *doc = NULL;
		int rc = ds_email_parse((const char *)env->bytes, env->len, &eo, &doc, err);
		if (rc == DS_ENOMEM)
			return DS_STAGE_FAIL;
		if (rc)
			return DS_STAGE_REJECT;
		env->doc = doc;
		if (ds_arena_defer(env->arena, free_doc, env)) {
			ds_err_set(err, DS_ENOMEM, "out of memory");
			return DS_STAGE_FAIL;
		}
		return DS_STAGE_CONTINUE;
	}
	if (!strcmp(env->channel, "xml")) {
		/* No DTD entities, nothing fetched: refused with the reason. */
		int rc = ds_xml_parse(c->xml, (const char *)env->bytes, env->len, env->arena,
				      &env->xml, err);
		if (rc == DS_ENOMEM)
			return DS_STAGE_FAIL;
		return rc ? DS_STAGE_REJECT : DS_STAGE_CONTINUE;
	}
	ds_err_set(err, DS_ECONFIG, "channel \"%s\" is not supported by this build", env->channel);
	return DS_STAGE_REJECT;
}

const ds_stage_type ds_stage_read = {
	.name = "read",
	.ctx_size = sizeof(struct read_ctx),
	.init = read_init,
	.process = read_process,
	.fini = read_fini,
};
