/*
 * read.c - stage "read": checks the input's size, fingerprints it and
 * parses it for its channel (JSON, forms, XML, email) within the configured
 * limits, and notes the messages an email answers (its thread, which the
 * advance stage follows to a case). Inputs that cannot be read are
 * rejected here, raw bytes and all, so the quarantine keeps them for a
 * replay.
 *
 * A driver may have read the input ahead, on another thread (ingest does):
 * it then gives its SHA-256 in env->sha256 and, when the parse succeeded,
 * the result in env->doc (handed over: this stage frees it like its own)
 * or env->xml (the driver's, alive until the chain is done with the input),
 * or the records mapped from it (env->premap; the document, unless a
 * record took it over, stays the driver's); the checks here still apply.
 * An input the driver could not parse comes without either and is parsed
 * here, so its rejection reads the same.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chain.h"
#include "hash.h"
#include "input.h"

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
	ds_xml_opts opts = { .max_size = rt->cfg->limits.max_input_bytes,
			     .max_depth = (unsigned)rt->cfg->limits.xml_max_depth };
	return ds_xml_new(&c->xml, &opts, err);
}

static void read_fini(void *ctx)
{
	struct read_ctx *c = ctx;
	ds_xml_free(c->xml);
}

/* Adds one message id to the thread, once. */
static int thread_add(ds_env *env, const cJSON *id)
{
	if (!cJSON_IsString(id) || !*id->valuestring || env->nthread == DS_ENV_MAX_THREAD)
		return DS_OK;
	for (size_t i = 0; i < env->nthread; i++)
		if (!strcmp(env->thread[i], id->valuestring))
			return DS_OK;
	const char *s = ds_arena_strdup(env->arena, id->valuestring);
	if (!s)
		return DS_ENOMEM;
	env->thread[env->nthread++] = s;
	return DS_OK;
}

/* The messages an email answers, newest first, for the advance stage. */
static int read_thread(ds_env *env)
{
	int rc = thread_add(env, cJSON_GetObjectItemCaseSensitive(env->doc, "in_reply_to"));
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(env->doc, "references");
	for (int i = cJSON_GetArraySize(refs) - 1; !rc && i >= 0; i--)
		rc = thread_add(env, cJSON_GetArrayItem(refs, i));
	return rc;
}

static ds_outcome read_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	struct read_ctx *c = ctx;
	/* A document read ahead dies with the arena, whatever happens next,
	 * unless it was mapped ahead too: then its reader frees it. */
	if (env->doc && !env->premap && ds_arena_defer(env->arena, free_doc, env)) {
		cJSON_Delete(env->doc);
		env->doc = NULL;
		ds_err_set(err, DS_ENOMEM, "out of memory");
		return DS_STAGE_FAIL;
	}
	/* Mapped ahead, the input may have become its record: no document. */
	bool ahead = env->doc || env->xml || env->premap;
	/* The driver hashed an oversized input while skipping it, and an
	 * input it read ahead. */
	if (!env->too_large && !env->sha256[0])
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
	cJSON *doc = NULL;
	int rc = ahead ? DS_OK
		       : ds_input_parse(env->channel, (const char *)env->bytes, env->len,
					&rt->cfg->limits, c->xml, env->arena, &doc, &env->xml, err);
	if (doc) {
		env->doc = doc;
		if (ds_arena_defer(env->arena, free_doc, env)) {
			ds_err_set(err, DS_ENOMEM, "out of memory");
			return DS_STAGE_FAIL;
		}
	}
	if (rc == DS_ENOMEM)
		return DS_STAGE_FAIL;
	if (!rc && !strcmp(env->channel, "email") && read_thread(env)) {
		ds_err_set(err, DS_ENOMEM, "out of memory");
		return DS_STAGE_FAIL;
	}
	return rc ? DS_STAGE_REJECT : DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_read = {
	.name = "read",
	.ctx_size = sizeof(struct read_ctx),
	.init = read_init,
	.process = read_process,
	.fini = read_fini,
};
