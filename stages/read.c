/*
 * read.c - stage "read": checks the input's size, fingerprints it and
 * parses it for its channel (JSON in this build) within the configured
 * limits. Inputs that cannot be read are rejected here, raw bytes and all,
 * so the quarantine keeps them for a replay.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "json.h"

static void sha256_hex(const unsigned char *p, size_t n, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[32];
	EVP_Digest(p, n, d, NULL, EVP_sha256(), NULL);
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

/* Frees the document unless a stage took it over (env->doc set to NULL). */
static void free_doc(void *p)
{
	ds_env *env = p;
	cJSON_Delete(env->doc);
	env->doc = NULL;
}

static ds_outcome read_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	sha256_hex(env->bytes ? env->bytes : (const unsigned char *)"", env->len, env->sha256);
	if (env->len > rt->cfg->limits.max_input_bytes) {
		ds_err_set(err, DS_ELIMIT, "input is larger than the limit of %zu bytes",
			   rt->cfg->limits.max_input_bytes);
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
		return DS_STAGE_CONTINUE;
	}
	ds_err_set(err, DS_ECONFIG, "channel \"%s\" is not supported by this build", env->channel);
	return DS_STAGE_REJECT;
}

const ds_stage_type ds_stage_read = {
	.name = "read",
	.process = read_process,
};
