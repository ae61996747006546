/*
 * store_raw.c - stage "store_raw": keeps the input's verbatim bytes as an
 * interaction before anything derived from it is written. An input already
 * stored for the same source (same SHA-256) is a duplicate: the chain stops
 * there and creates nothing; so is an email with the Message-ID of one
 * already stored for the source, and so is an input whose sender gave it
 * an id (a webhook's) already stored for the source. An input replayed from quarantine whose raw
 * bytes are already stored (env->interaction_id set) passes through. The
 * files an email or a multipart form carried are listed with the
 * interaction (their bytes are in it), so that a case finds the documents
 * its inputs brought.
 */
#include <string.h>

#include "chain.h"

static bool is_sha256(const cJSON *v)
{
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 64)
		return false;
	return strspn(v->valuestring, "0123456789abcdef") == 64;
}

/* An email's "attachments" (each with its part path) or a multipart form's
 * "_files" (each with its field name), as the read stage's parsers gave
 * them. */
static int add_attachments(ds_runtime *rt, ds_env *env, ds_err *err)
{
	bool email = !strcmp(env->channel, "email");
	if (!env->doc || (!email && strcmp(env->channel, "form")))
		return DS_OK;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(env->doc, email ? "attachments" : "_files");
	if (!cJSON_IsArray(list))
		return DS_OK;
	const cJSON *f;
	int seq = 0;
	cJSON_ArrayForEach(f, list) {
		const cJSON *part = cJSON_GetObjectItemCaseSensitive(f, email ? "path" : "name");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "filename");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "content_type");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
		const cJSON *sha = cJSON_GetObjectItemCaseSensitive(f, "sha256");
		if (!cJSON_IsString(part) || !cJSON_IsString(type) || !cJSON_IsNumber(size) ||
		    size->valuedouble < 0 || !is_sha256(sha))
			continue;
		ds_attachment_row a = {
			.interaction_id = env->interaction_id,
			.seq = seq++,
			.part = part->valuestring,
			.filename = cJSON_IsString(name) ? name->valuestring : "",
			.content_type = type->valuestring,
			.size = (int64_t)size->valuedouble,
		};
		memcpy(a.sha256, sha->valuestring, 65);
		int rc = ds_store_attachment_add(rt->store, &a, err);
		if (rc)
			return rc;
	}
	return DS_OK;
}

static ds_outcome store_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	/* A replay from quarantine of an input already stored raw: its time
	 * is the one it was received at (consent and attributes go by it). */
	if (env->interaction_id) {
		ds_interaction in;
		if (!env->received_at) {
			int rc = ds_store_interaction_get(rt->store, env->interaction_id, env->arena,
							  &in, err);
			if (rc)
				return rc == DS_EBUSY ? DS_STAGE_RETRY : DS_STAGE_FAIL;
			env->received_at = in.received_at;
		}
		return DS_STAGE_CONTINUE;
	}
	ds_interaction in = {
		.channel = env->channel,
		.source = env->source->name,
		.origin = env->origin,
		.received_at = rt->now,
		.bytes = env->bytes,
		.len = env->len,
	};
	memcpy(in.sha256, env->sha256, sizeof in.sha256);
	in.identity = env->identity;
	/* An email is the same email by its Message-ID, whatever relays added
	 * to its headers. */
	if (!strcmp(env->channel, "email") && env->doc) {
		const cJSON *mid = cJSON_GetObjectItemCaseSensitive(env->doc, "message_id");
		if (cJSON_IsString(mid) && *mid->valuestring)
			in.identity = mid->valuestring;
	}
	bool dup = false;
	int rc = ds_store_interaction_add(rt->store, &in, &dup, err);
	if (rc)
		return rc == DS_EBUSY ? DS_STAGE_RETRY : DS_STAGE_FAIL;
	env->interaction_id = in.id;
	env->received_at = rt->now;
	env->duplicate = dup;
	if (dup) {
		rt->stats.duplicates++;
		env->done = true;
		return DS_STAGE_CONTINUE;
	}
	if ((rc = add_attachments(rt, env, err)))
		return rc == DS_EBUSY ? DS_STAGE_RETRY : DS_STAGE_FAIL;
	rt->stats.new_++;
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_store_raw = {
	.name = "store_raw",
	.process = store_process,
};
