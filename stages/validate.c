/*
 * validate.c - stage "validate": every record must be valid against the
 * schema of its type. The reason names every error, each as a JSON Pointer
 * and a message, so `quarantine show` says all that is wrong at once.
 */
#include <stdio.h>
#include <string.h>

#include "chain.h"

struct collect {
	ds_buf *buf;
	size_t n;
};

static void on_error(void *ud, const char *pointer, const char *keyword, const char *message)
{
	(void)keyword;
	struct collect *c = ud;
	/* The reason is one line: the first errors in full, then the count
	 * says how many there were. */
	if (c->n++ >= 10)
		return;
	ds_buf_printf(c->buf, "%s%s: %s", c->n > 1 ? "; " : "", *pointer ? pointer : "/", message);
}

static ds_outcome validate_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	for (size_t i = 0; i < env->nrecords; i++) {
		ds_env_record *r = &env->records[i];
		const ds_schema *s = ds_schema_set_get(rt->cfg->schemas, r->type);
		if (!s) {
			ds_err_set(err, DS_ECONFIG, "unknown record type \"%s\"", r->type);
			return DS_STAGE_REJECT;
		}
		ds_buf buf;
		ds_buf_init(&buf, sizeof err->msg - 64);
		struct collect c = { &buf, 0 };
		size_t n = 0;
		int rc = ds_schema_validate(s, r->data, on_error, &c, &n, err);
		if (rc) {
			ds_buf_free(&buf);
			return DS_STAGE_FAIL;
		}
		if (n) {
			ds_err_set(err, DS_EINVAL, "%s record: %zu error%s: %s%s", r->type, n,
				   n == 1 ? "" : "s", buf.data ? buf.data : "", n > 10 ? "; ..." : "");
			ds_buf_free(&buf);
			return DS_STAGE_REJECT;
		}
		ds_buf_free(&buf);
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_validate = {
	.name = "validate",
	.process = validate_process,
};
