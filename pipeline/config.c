/*
 * config.c - loading and cross-checking a home's configuration; see
 * config.h.
 *
 * Files are read in name order so that problems are reported, and
 * definitions numbered, the same way on every machine.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mem.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted paths of dir/ *suffix; a missing directory is an empty list. */
static int list_dir(const char *dir, const char *suffix, char ***out, size_t *n, ds_err *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? DS_OK
				       : ds_err_set(err, DS_EIO, "cannot read %s: %s", dir, strerror(errno));
	char **v = NULL;
	size_t cap = 0, cnt = 0;
	struct dirent *e;
	size_t sl = strlen(suffix);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l <= sl || strcmp(e->d_name + l - sl, suffix))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = ds_realloc(v, cap * sizeof *nv);
			if (!nv)
				goto oom;
			v = nv;
		}
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (!(v[cnt] = ds_strdup(path)))
			goto oom;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof *v, cmp_str);
	*out = v;
	*n = cnt;
	return DS_OK;
oom:
	closedir(d);
	for (size_t i = 0; i < cnt; i++)
		ds_free(v[i]);
	ds_free(v);
	return ds_err_set(err, DS_ENOMEM, "out of memory");
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ds_free(v[i]);
	ds_free(v);
}

void ds_config_free(ds_config *c)
{
	if (!c)
		return;
	ds_schema_set_free(c->schemas);
	for (size_t i = 0; i < c->nsources; i++)
		ds_source_free(c->sources[i]);
	ds_free(c->sources);
	for (size_t i = 0; i < c->nprocesses; i++)
		ds_process_free(c->processes[i]);
	ds_free(c->processes);
	for (size_t i = 0; i < c->ntemplates; i++)
		ds_doc_template_free(c->templates[i]);
	ds_free(c->templates);
	ds_free(c->home);
	ds_free(c->store_url);
	ds_free(c->documents_dir);
	ds_free(c);
}

const ds_source *ds_config_source(const ds_config *c, const char *name)
{
	for (size_t i = 0; i < c->nsources; i++)
		if (!strcmp(c->sources[i]->name, name))
			return c->sources[i];
	return NULL;
}

const ds_process *ds_config_process(const ds_config *c, const char *name)
{
	for (size_t i = 0; i < c->nprocesses; i++)
		if (!strcmp(c->processes[i]->name, name))
			return c->processes[i];
	return NULL;
}

const ds_process *ds_config_process_for(const ds_config *c, const char *type)
{
	for (size_t i = 0; i < c->nprocesses; i++)
		if (ds_process_consumes(c->processes[i], type))
			return c->processes[i];
	return NULL;
}

const ds_doc_template *ds_config_template(const ds_config *c, const char *name)
{
	for (size_t i = 0; i < c->ntemplates; i++)
		if (!strcmp(ds_doc_template_name(c->templates[i]), name))
			return c->templates[i];
	return NULL;
}

/* The per-channel bounds "limits" may set: {"email": {"max_parts": 200}}. */
static const struct limit_key {
	const char *channel, *name;
	size_t offset;  /* of the size_t in ds_limits */
	size_t min, max;
} limit_keys[] = {
	{ "email", "max_parts", offsetof(ds_limits, email.max_parts), 1, 100000 },
	{ "email", "max_depth", offsetof(ds_limits, email.max_depth), 1, 1000 },
	{ "email", "max_header", offsetof(ds_limits, email.max_header), 80, 16u << 20 },
	{ "form", "max_fields", offsetof(ds_limits, form.max_fields), 1, 1000000 },
	{ "form", "max_name", offsetof(ds_limits, form.max_name), 1, 1u << 20 },
	{ "form", "max_value", offsetof(ds_limits, form.max_value), 1, 1u << 30 },
	{ "multipart", "max_parts", offsetof(ds_limits, multipart.max_parts), 1, 1000000 },
	{ "multipart", "max_header", offsetof(ds_limits, multipart.max_header), 80, 1u << 20 },
	{ "multipart", "max_value", offsetof(ds_limits, multipart.max_value), 1, 1u << 30 },
	{ "multipart", "max_file", offsetof(ds_limits, multipart.max_file), 1, 1u << 30 },
	{ "xml", "max_depth", offsetof(ds_limits, xml_max_depth), 2, 256 },
};

static void load_limits(ds_config *c, const cJSON *lim, const char *path, ds_diag *diag)
{
	if (!cJSON_IsObject(lim)) {
		ds_diag_error(diag, path, "/limits", "limits must be an object of channels");
		return;
	}
	const cJSON *ch;
	cJSON_ArrayForEach(ch, lim) {
		char p[600];
		snprintf(p, sizeof p, "/limits/%.200s", ch->string);
		bool known = false;
		for (size_t i = 0; i < sizeof limit_keys / sizeof *limit_keys; i++)
			known = known || !strcmp(limit_keys[i].channel, ch->string);
		if (!known || !cJSON_IsObject(ch)) {
			ds_diag_error(diag, path, p, known ? "must be an object"
				      : "unknown channel (email, form, multipart or xml)");
			continue;
		}
		const cJSON *it;
		cJSON_ArrayForEach(it, ch) {
			snprintf(p, sizeof p, "/limits/%.200s/%.200s", ch->string, it->string);
			const struct limit_key *k = NULL;
			for (size_t i = 0; i < sizeof limit_keys / sizeof *limit_keys; i++)
				if (!strcmp(limit_keys[i].channel, ch->string) &&
				    !strcmp(limit_keys[i].name, it->string))
					k = &limit_keys[i];
			if (!k) {
				ds_diag_error(diag, path, p, "unknown limit");
				continue;
			}
			if (!cJSON_IsNumber(it) || it->valuedouble != (double)(long long)it->valuedouble ||
			    it->valuedouble < (double)k->min || it->valuedouble > (double)k->max) {
				ds_diag_error(diag, path, p, "must be a whole number from %zu to %zu",
					      k->min, k->max);
				continue;
			}
			*(size_t *)((char *)&c->limits + k->offset) = (size_t)it->valuedouble;
		}
	}
}

static void load_settings(ds_config *c, ds_diag *diag)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/dossier.json", c->home);
	c->batch_size = 10000;
	c->limits.max_input_bytes = 25u << 20;  /* an email with its attachments */
	c->limits.max_depth = DS_JSON_MAX_DEPTH;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	fclose(f);
	cJSON *doc = ds_json_load_file(path, diag);
	if (!doc)
		return;
	if (!cJSON_IsObject(doc)) {
		ds_diag_error(diag, path, "", "settings must be a JSON object");
		goto done;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, doc) {
		char p[300];
		snprintf(p, sizeof p, "/%s", it->string);
		if (!strcmp(it->string, "store") && cJSON_IsString(it)) {
			ds_free(c->store_url);
			c->store_url = ds_strdup(it->valuestring);
		} else if (!strcmp(it->string, "documents_dir") && cJSON_IsString(it)) {
			ds_free(c->documents_dir);
			c->documents_dir = ds_strdup(it->valuestring);
		} else if (!strcmp(it->string, "batch_size") && cJSON_IsNumber(it) &&
			   it->valueint >= 1 && it->valueint <= 100000) {
			c->batch_size = (size_t)it->valueint;
		} else if (!strcmp(it->string, "max_input_bytes") && cJSON_IsNumber(it) &&
			   it->valueint >= 1 && it->valueint <= (1 << 30)) {
			c->limits.max_input_bytes = (size_t)it->valueint;
		} else if (!strcmp(it->string, "max_depth") && cJSON_IsNumber(it) &&
			   it->valueint >= 2 && it->valueint <= 512) {
			c->limits.max_depth = it->valueint;
		} else if (!strcmp(it->string, "limits")) {
			load_limits(c, it, path, diag);
		} else {
			ds_diag_error(diag, path, p, "unknown setting or bad value");
		}
	}
done:
	cJSON_Delete(doc);
}

static void cross_check(ds_config *c, ds_diag *diag)
{
	for (size_t i = 0; i < c->nsources; i++) {
		const ds_source *s = c->sources[i];
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->sources[j]->name, s->name))
				ds_diag_error(diag, s->file, "/name", "source \"%s\" is declared twice",
					      s->name);
		/* The role matters where the source's records edit cases. */
		bool granted = false, edits = false;
		for (size_t r = 0; r < s->nrules; r++)
			edits = edits || (s->rules[r].record &&
					  ds_config_process_for(c, s->rules[r].record));
		for (size_t j = 0; j < c->nprocesses && !granted; j++)
			granted = ds_process_knows_role(c->processes[j], s->role);
		if (*s->role && edits && !granted)
			ds_diag_error(diag, s->file, "/role",
				      "role \"%s\" is granted nothing by any process", s->role);
		for (size_t r = 0; r < s->nrules; r++) {
			const ds_map_rule *rule = &s->rules[r];
			char p[600];
			snprintf(p, sizeof p, "/rules/%zu/record", r);
			const ds_schema *schema = rule->record ? ds_schema_set_get(c->schemas, rule->record)
							       : NULL;
			if (rule->record && !schema) {
				ds_diag_error(diag, s->file, p, "unknown record type \"%s\"", rule->record);
				continue;
			}
			/* A field written where the record type has none would only
			 * be refused later, input by input. */
			for (size_t f = 0; schema && f < rule->nfields; f++) {
				const ds_field_map *fm = &rule->fields[f];
				const char *t = fm->target;
				if (!t)
					continue;
				snprintf(p, sizeof p, "/rules/%zu/fields/", r);
				ds_json_pointer_escape(t, p + strlen(p), sizeof p - strlen(p));
				if (!ds_schema_allows_pointer(schema, t)) {
					ds_diag_error(diag, s->file, p, "record type \"%s\" has no field %s",
						      rule->record, t);
					continue;
				}
				/* An array built by "each": its items' fields. */
				for (size_t e = 0; e < fm->neach; e++) {
					const char *sub = fm->each[e].target;
					char item[512], ep[1200];
					if (!sub || snprintf(item, sizeof item, "%s/0%s", t, sub) >=
							    (int)sizeof item ||
					    ds_schema_allows_pointer(schema, item))
						continue;
					snprintf(ep, sizeof ep, "%s/each/", p);
					ds_json_pointer_escape(sub, ep + strlen(ep), sizeof ep - strlen(ep));
					ds_diag_error(diag, s->file, ep,
						      "the items of %s in record type \"%s\" have no field %s",
						      t, rule->record, sub);
				}
			}
		}
	}
	for (size_t i = 0; i < c->nprocesses; i++) {
		const ds_process *p = c->processes[i];
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(c->processes[j]->name, p->name))
				ds_diag_error(diag, p->file, "/name", "process \"%s\" is declared twice",
					      p->name);
			for (size_t t = 0; t < p->nconsumes; t++)
				if (ds_process_consumes(c->processes[j], p->consumes[t]))
					ds_diag_error(diag, p->file, "/consumes",
						      "record type \"%s\" is already consumed by process \"%s\"",
						      p->consumes[t], c->processes[j]->name);
		}
		for (size_t t = 0; t < p->nconsumes; t++)
			if (!ds_schema_set_get(c->schemas, p->consumes[t]))
				ds_diag_error(diag, p->file, "/consumes", "unknown record type \"%s\"",
					      p->consumes[t]);
		for (size_t s = 0; s < p->nstates; s++) {
			const ds_state_def *st = &p->states[s];
			char sp[512];
			if (st->output && !ds_config_template(c, st->output)) {
				snprintf(sp, sizeof sp, "/states/%s/output", st->name);
				ds_diag_error(diag, p->file, sp, "no document template \"%s\" in schemas/documents/",
					      st->output);
			}
			for (size_t k = 0; k < st->nstarts; k++) {
				const ds_start_def *sd = &st->starts[k];
				const ds_process *np = ds_config_process(c, sd->process);
				snprintf(sp, sizeof sp, "/states/%s/start/%zu", st->name, k);
				if (!np) {
					ds_diag_error(diag, p->file, sp, "no process \"%s\" to start",
						      sd->process);
					continue;
				}
				bool keyed = false;
				for (size_t f = 0; f < sd->n; f++)
					keyed = keyed || !strcmp(sd->to[f], np->key);
				if (!keyed)
					ds_diag_error(diag, p->file, sp,
						      "the %s case it starts needs its key: \"with\" must set \"%s\"",
						      np->name, np->key);
				if (np == p)
					ds_diag_error(diag, p->file, sp, "a process cannot start itself");
			}
		}
	}
}

int ds_config_load(const char *home, ds_diag *diag, ds_config **out, ds_err *err)
{
	*out = NULL;
	ds_config *c = ds_calloc(1, sizeof *c);
	char dir[PATH_MAX];
	char **files = NULL;
	size_t nfiles = 0;
	int rc = DS_OK;
	size_t before = diag->errors;
	if (!c || !(c->home = ds_strdup(home)) ||
	    !(c->store_url = ds_strdup("sqlite:var/dossier.db")) ||
	    !(c->documents_dir = ds_strdup("var/documents"))) {
		ds_config_free(c);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	load_settings(c, diag);

	snprintf(dir, sizeof dir, "%s/schemas/records", home);
	rc = ds_schema_set_load_dir(dir, diag, &c->schemas, err);
	if (rc && rc != DS_ECONFIG)
		goto fail;
	rc = DS_OK;
	if (!c->schemas) {
		rc = ds_err_set(err, DS_EINTERNAL, "record schemas could not be loaded");
		goto fail;
	}

	snprintf(dir, sizeof dir, "%s/schemas/documents", home);
	if ((rc = list_dir(dir, ".json", &files, &nfiles, err)))
		goto fail;
	c->templates = ds_calloc(nfiles ? nfiles : 1, sizeof *c->templates);
	if (!c->templates)
		goto oom;
	for (size_t i = 0; i < nfiles; i++) {
		ds_doc_template *t = NULL;
		ds_err e = {0};
		int r = ds_doc_template_load(files[i], diag, &t, &e);
		if (r && r != DS_ECONFIG) {
			rc = ds_err_set(err, r, "%s", e.msg);
			goto fail;
		}
		if (t)
			c->templates[c->ntemplates++] = t;
	}
	free_list(files, nfiles);
	files = NULL;

	snprintf(dir, sizeof dir, "%s/schemas/sources", home);
	if ((rc = list_dir(dir, ".json", &files, &nfiles, err)))
		goto fail;
	c->sources = ds_calloc(nfiles ? nfiles : 1, sizeof *c->sources);
	if (!c->sources)
		goto oom;
	for (size_t i = 0; i < nfiles; i++) {
		ds_source *s = NULL;
		ds_err e = {0};
		int r = ds_source_load(files[i], diag, &s, &e);
		if (r && r != DS_ECONFIG) {
			rc = ds_err_set(err, r, "%s", e.msg);
			goto fail;
		}
		if (s)
			c->sources[c->nsources++] = s;
	}
	free_list(files, nfiles);
	files = NULL;

	snprintf(dir, sizeof dir, "%s/schemas/processes", home);
	if ((rc = list_dir(dir, ".json", &files, &nfiles, err)))
		goto fail;
	c->processes = ds_calloc(nfiles ? nfiles : 1, sizeof *c->processes);
	if (!c->processes)
		goto oom;
	for (size_t i = 0; i < nfiles; i++) {
		ds_process *p = NULL;
		ds_err e = {0};
		int r = ds_process_load(files[i], diag, &p, &e);
		if (r && r != DS_ECONFIG) {
			rc = ds_err_set(err, r, "%s", e.msg);
			goto fail;
		}
		if (p)
			c->processes[c->nprocesses++] = p;
	}
	free_list(files, nfiles);
	files = NULL;

	snprintf(dir, sizeof dir, "%s/schemas", home);
	DIR *d = opendir(dir);
	if (!d)
		ds_diag_error(diag, dir, "", "no schemas/ folder under %s (use --home)", home);
	else
		closedir(d);

	cross_check(c, diag);
	*out = c;
	if (diag->errors > before)
		return ds_err_set(err, DS_ECONFIG, "the configuration has %zu error%s",
				  diag->errors - before, diag->errors - before == 1 ? "" : "s");
	return DS_OK;
oom:
	rc = ds_err_set(err, DS_ENOMEM, "out of memory");
fail:
	free_list(files, nfiles);
	ds_config_free(c);
	return rc;
}
