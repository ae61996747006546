/*
 * read.c - stage "read": checks the input's size, fingerprints it and
 * parses it for its channel (JSON, urlencoded forms) within the configured
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
#include "hash.h"
#include "json.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first member name an object repeats, anywhere in v, or NULL (also
 * when memory runs out: *oom is set). JSON lets a parser take either
 * value; dossier refuses to guess. Small objects are checked pairwise,
 * large ones sorted, so a hostile object costs n log n. */
static const char *duplicate_member(const cJSON *v, int depth, bool *oom)
{
	if (depth > 512 || !v)
		return NULL;
	if (cJSON_IsObject(v)) {
		size_t n = 0;
		for (const cJSON *a = v->child; a; a = a->next)
			n++;
		if (n <= 32) {
			for (const cJSON *a = v->child; a; a = a->next)
				for (const cJSON *b = a->next; b; b = b->next)
					if (!strcmp(a->string, b->string))
						return a->string;
		} else {
			const char **names = ds_malloc(n * sizeof *names);
			const char *dup = NULL;
			if (!names) {
				*oom = true;
				return NULL;
			}
			size_t i = 0;
			for (const cJSON *a = v->child; a; a = a->next)
				names[i++] = a->string;
			qsort(names, n, sizeof *names, cmp_names);
			for (i = 1; i < n && !dup; i++)
				if (!strcmp(names[i - 1], names[i]))
					dup = names[i];
			ds_free(names);
			if (dup)
				return dup;
		}
	}
	for (const cJSON *a = v->child; a; a = a->next) {
		const char *d = duplicate_member(a, depth + 1, oom);
		if (d || *oom)
			return d;
	}
	return NULL;
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
		const char *dup = duplicate_member(doc, 0, &oom);
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
		/* A multipart body file starts with its Content-Type line. */
		if (env->len >= 13 && !strncasecmp((const char *)env->bytes, "Content-Type:", 13)) {
			ds_err_set(err, DS_ECONFIG,
				   "multipart forms are not supported by this build (urlencoded only)");
			return DS_STAGE_REJECT;
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
	ds_err_set(err, DS_ECONFIG, "channel \"%s\" is not supported by this build", env->channel);
	return DS_STAGE_REJECT;
}

const ds_stage_type ds_stage_read = {
	.name = "read",
	.process = read_process,
};
