/*
 * profile.c - stage "profile": the customer behind each case is found or
 * created by normalised email and linked to the case, and the record joins
 * the profile's timeline (once, however often the input is replayed).
 */
#include <string.h>

#include "chain.h"
#include "json.h"

static ds_outcome profile_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	ds_normalizer_fn email_norm = ds_normalizer("email");
	for (size_t i = 0; i < env->nrecords; i++) {
		ds_env_record *r = &env->records[i];
		if (!r->has_work || !r->process->profile_email)
			continue;
		ds_case_work *w = &r->work;
		int drc = ds_engine_data(w, NULL, err);
		if (drc)
			return drc == DS_ENOMEM ? DS_STAGE_FAIL : DS_STAGE_REJECT;
		const cJSON *e = ds_json_dotted(w->data, r->process->profile_email);
		if (!cJSON_IsString(e))
			continue;
		const char *email = NULL;
		if (email_norm(env->arena, e->valuestring, &email, err))
			return DS_STAGE_REJECT;
		const char *name = NULL;
		if (r->process->profile_name) {
			const cJSON *n = ds_json_dotted(w->data, r->process->profile_name);
			name = cJSON_IsString(n) ? n->valuestring : NULL;
		}
		int64_t pid = 0;
		int rc = ds_store_profile_upsert(rt->store, email, name, rt->now, &pid, NULL, err);
		if (!rc && w->row.profile_id != pid) {
			rc = ds_store_case_set_profile(rt->store, w->row.id, pid, err);
			w->row.profile_id = pid;
		}
		if (!rc && w->record_id)
			rc = ds_store_timeline_add(rt->store, pid, "record", w->record_id, rt->now, err);
		if (rc)
			return rc == DS_EBUSY ? DS_STAGE_RETRY : DS_STAGE_FAIL;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_profile = {
	.name = "profile",
	.process = profile_process,
};
