/*
 * validate.c - stage "validate": every record must be valid against the
 * schema of its type. The reason names every error, each as a JSON Pointer
 * and a message, so `quarantine show` says all that is wrong at once.
 */
#include "chain.h"

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
		int rc = ds_reason_invalid(s, r->type, r->data, err);
		if (rc)
			return rc == DS_EINVAL ? DS_STAGE_REJECT : DS_STAGE_FAIL;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_validate = {
	.name = "validate",
	.process = validate_process,
};
