/*
 * profile.c - stage "profile": the person behind each record. The
 * identities its case's process and its record type declare find (or
 * create, or merge) the profile; the case is linked to it, and the
 * identities, attributes, consent, interests and the record itself join
 * it (pipeline/profile.h). A replayed input changes nothing: duplicates
 * stop before this stage, and a rejected input's writes are undone.
 */
#include "chain.h"
#include "profile.h"

static ds_outcome profile_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	for (size_t i = 0; i < env->nrecords; i++) {
		ds_env_record *r = &env->records[i];
		ds_profile_input in = {
			.record_type = r->type,
			.record = r->data,
			.record_id = r->has_work ? r->work.record_id : r->record_id,
			.interaction_id = env->interaction_id,
			.source = env->source ? env->source->name : NULL,
			.at = env->received_at ? env->received_at : rt->now,
			.work = r->has_work ? &r->work : NULL,
		};
		int64_t pid;
		int rc = ds_profile_record(rt, env->arena, &in, &pid, err);
		if (rc == DS_EBUSY)
			return DS_STAGE_RETRY;
		if (rc == DS_ENOMEM || rc == DS_EIO || rc == DS_EINTERNAL)
			return DS_STAGE_FAIL;
		if (rc)
			return DS_STAGE_REJECT;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_profile = {
	.name = "profile",
	.process = profile_process,
};
