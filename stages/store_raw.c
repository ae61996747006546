/*
 * store_raw.c - stage "store_raw": keeps the input's verbatim bytes as an
 * interaction before anything derived from it is written. An input already
 * stored for the same source (same SHA-256) is a duplicate: the chain stops
 * there and creates nothing; so is an email with the Message-ID of one
 * already stored for the source. An input replayed from quarantine whose raw
 * bytes are already stored (env->interaction_id set) passes through.
 */
#include <string.h>

#include "chain.h"

static ds_outcome store_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	/* A replay from quarantine of an input already stored raw. */
	if (env->interaction_id)
		return DS_STAGE_CONTINUE;
	ds_interaction in = {
		.channel = env->channel,
		.source = env->source->name,
		.origin = env->origin,
		.received_at = rt->now,
		.bytes = env->bytes,
		.len = env->len,
	};
	memcpy(in.sha256, env->sha256, sizeof in.sha256);
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
	env->duplicate = dup;
	if (dup) {
		rt->stats.duplicates++;
		env->done = true;
	} else {
		rt->stats.new_++;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_store_raw = {
	.name = "store_raw",
	.process = store_process,
};
