/*
 * route.c - stage "route": an input that came without a source (a file
 * given to `ingest` without --source, when several sources read its
 * channel) goes to the one source whose mapping rules accept it. An input
 * no source accepts is rejected as unmapped; one that two sources accept is
 * rejected as ambiguous, never guessed.
 */
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "json.h"
#include "source.h"

static ds_outcome route_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	if (env->source)
		return DS_STAGE_CONTINUE;
	const ds_config *cfg = rt->cfg;
	const ds_source *found = NULL;
	char names[512] = "";
	size_t n = 0, candidates = 0;
	for (size_t i = 0; i < cfg->nsources; i++) {
		const ds_source *s = cfg->sources[i];
		if (strcmp(s->channel, env->channel))
			continue;
		candidates++;
		/* An XML source's conditions are XPaths over the document. */
		bool yes = false;
		if (env->xml ? ds_source_accepts_xml(s, env->xml, env->arena, &yes, err)
			     : ds_source_accepts(s, env->doc, rt->now, &yes, err))
			return DS_STAGE_REJECT;
		if (!yes)
			continue;
		if (found) {
			ds_err_set(err, DS_ECONFIG,
				   "ambiguous: sources \"%s\" and \"%s\" both accept this input; name one with --source",
				   found->name, s->name);
			return DS_STAGE_REJECT;
		}
		found = s;
	}
	if (!found) {
		for (size_t i = 0; i < cfg->nsources && n < sizeof names - 1; i++)
			if (!strcmp(cfg->sources[i]->channel, env->channel))
				n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "",
						      cfg->sources[i]->name);
		if (!candidates)
			ds_err_set(err, DS_ECONFIG,
				   "no source reads channel \"%s\": declare one in schemas/sources/",
				   env->channel);
		else if (env->xml) {
			char root[400];
			ds_xml_root_name(env->xml, root, sizeof root);
			ds_err_set(err, DS_EINVAL,
				   "unmapped: no source of channel \"%s\" accepts this input (%s); "
				   "its root element is %s", env->channel, names, root);
		} else {
			char fields[512];
			size_t nf = ds_json_member_names(env->doc, fields, sizeof fields);
			ds_err_set(err, DS_EINVAL,
				   "unmapped: no source of channel \"%s\" accepts this input (%s); it has %s%s",
				   env->channel, names, nf ? "fields " : "no fields", fields);
		}
		return DS_STAGE_REJECT;
	}
	env->source = found;
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_route = {
	.name = "route",
	.process = route_process,
};
