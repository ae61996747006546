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
	ds_strv_free(v, n);
}

static void free_serve(ds_serve_settings *s)
{
	for (size_t i = 0; i < s->ntokens; i++) {
		ds_free(s->tokens[i].env);
		ds_free(s->tokens[i].role);
		ds_free(s->tokens[i].name);
	}
	ds_free(s->tokens);
	for (size_t i = 0; i < s->nrates; i++)
		ds_free(s->rates[i].source);
	ds_free(s->rates);
	ds_free(s->listen);
	ds_free(s->tls_cert);
	ds_free(s->tls_key);
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
	for (size_t i = 0; i < c->nversions; i++)
		ds_process_free(c->versions[i]);
	ds_free(c->versions);
	for (size_t i = 0; i < c->ntemplates; i++)
		ds_doc_template_free(c->templates[i]);
	ds_free(c->templates);
	free_list(c->roles, c->nroles);
	ds_profile_rules_free(c->profiles);
	for (size_t i = 0; i < c->nsegments; i++)
		ds_segment_free(c->segments[i]);
	ds_free(c->segments);
	ds_free(c->home);
	ds_free(c->store_url);
	ds_free(c->documents_dir);
	free_serve(&c->serve);
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

const ds_process *ds_config_process_version(const ds_config *c, const char *name, int version)
{
	const ds_process *p = ds_config_process(c, name);
	if (p && p->version == version)
		return p;
	for (size_t i = 0; i < c->nversions; i++)
		if (c->versions[i]->version == version && !strcmp(c->versions[i]->name, name))
			return c->versions[i];
	return NULL;
}

int ds_config_add_version(ds_config *c, ds_process *p, ds_err *err)
{
	ds_process **v = ds_realloc(c->versions, (c->nversions + 1) * sizeof *v);
	if (!v) {
		ds_process_free(p);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	c->versions = v;
	c->versions[c->nversions++] = p;
	return DS_OK;
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

const ds_segment *ds_config_segment(const ds_config *c, const char *name)
{
	for (size_t i = 0; i < c->nsegments; i++)
		if (!strcmp(c->segments[i]->name, name))
			return c->segments[i];
	return NULL;
}

bool ds_config_knows_role(const ds_config *c, const char *role)
{
	/* NULL: schemas/roles.json could not be read, and says so itself. */
	if (!c->roles)
		return true;
	for (size_t i = 0; i < c->nroles; i++)
		if (!strcmp(c->roles[i], role))
			return true;
	return false;
}

/* ---- roles ---- */

/* The roles SPEC names, when schemas/roles.json does not declare them. */
static const char *const spec_roles[] = { "sales", "manager", "technical", "marketing", "admin" };

/* schemas/roles.json: {"description": "...", "roles": {"sales": "what
 * the sales team does", ...}}; without it, SPEC's roles. */
static int load_roles(ds_config *c, ds_diag *diag, ds_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/schemas/roles.json", c->home);
	FILE *f = fopen(path, "r");
	size_t n = sizeof spec_roles / sizeof *spec_roles;
	if (!f) {
		if (!(c->roles = ds_calloc(n, sizeof *c->roles)))
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			if (!(c->roles[c->nroles++] = ds_strdup(spec_roles[i])))
				return ds_err_set(err, DS_ENOMEM, "out of memory");
		return DS_OK;
	}
	fclose(f);
	c->roles_declared = true;
	cJSON *doc = ds_json_load_file(path, diag);
	int rc = DS_OK;
	if (!doc)
		return DS_OK;
	const cJSON *roles, *it;
	if (!cJSON_IsObject(doc)) {
		ds_diag_error(diag, path, "", "roles must be a JSON object");
		goto done;
	}
	roles = cJSON_GetObjectItemCaseSensitive(doc, "roles");
	cJSON_ArrayForEach(it, doc) {
		char p[300] = "/";
		ds_json_pointer_escape(it->string, p + 1, sizeof p - 1);
		if (strcmp(it->string, "description") && strcmp(it->string, "roles"))
			ds_diag_error(diag, path, p, "unknown member \"%s\"", it->string);
	}
	if (!cJSON_IsObject(roles) || !(n = (size_t)cJSON_GetArraySize(roles))) {
		ds_diag_error(diag, path, "/roles", "\"roles\" must map each role to what it does");
		goto done;
	}
	if (!(c->roles = ds_calloc(n, sizeof *c->roles))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	cJSON_ArrayForEach(it, roles) {
		char p[300] = "/roles/";
		ds_json_pointer_escape(it->string, p + strlen(p), sizeof p - strlen(p));
		/* Any text: a role is only ever compared. */
		if (!*it->string || strlen(it->string) > DS_ROLE_MAX) {
			ds_diag_error(diag, path, p, "a role is named by 1 to %d bytes", DS_ROLE_MAX);
			continue;
		}
		if (!cJSON_IsString(it))
			ds_diag_error(diag, path, p, "must say what the role does, as a string");
		if (ds_config_knows_role(c, it->string)) {
			ds_diag_error(diag, path, p, "role \"%s\" is declared twice", it->string);
			continue;
		}
		if (!(c->roles[c->nroles++] = ds_strdup(it->string))) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	cJSON_Delete(doc);
	return rc;
}

/* Reports role when the configuration does not know it: an error against
 * the roles schemas/roles.json declares; a warning against SPEC's, which a
 * business that never declared its roles may well go beyond. */
static void check_role(const ds_config *c, const char *file, const char *path, const char *role,
		       ds_diag *diag)
{
	if (ds_config_knows_role(c, role))
		return;
	char known[400] = "";
	size_t len = 0;
	for (size_t i = 0; i < c->nroles && len < sizeof known; i++)
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
					c->roles[i]);
	if (c->roles_declared)
		ds_diag_error(diag, file, path,
			      "unknown role \"%s\" (schemas/roles.json declares %s)", role, known);
	else
		ds_diag_warn(diag, file, path,
			     "role \"%s\" is not one of %s: declare the business's roles in "
			     "schemas/roles.json", role, known);
}

/* ---- what guards read ---- */

/* Whether dotted paths a and b are the same field, or one is inside the
 * other ("customer" and "customer.email"). */
static bool dotted_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), l = la < lb ? la : lb;
	return !strncmp(a, b, l) && (a[l] == '\0' || a[l] == '.') && (b[l] == '\0' || b[l] == '.');
}

/* Whether a process that starts p sets field of the new case. */
static bool set_by_start(const ds_config *c, const ds_process *p, const char *field)
{
	for (size_t i = 0; i < c->nprocesses; i++)
		for (size_t s = 0; s < c->processes[i]->nstates; s++) {
			const ds_state_def *st = &c->processes[i]->states[s];
			for (size_t k = 0; k < st->nstarts; k++)
				for (size_t f = 0; !strcmp(st->starts[k].process, p->name) &&
						   f < st->starts[k].n; f++)
					if (dotted_overlap(st->starts[k].to[f], field))
						return true;
		}
	return false;
}

struct guard_reads {
	const ds_config *c;
	const ds_process *p;
	const char *path;        /* of the guard */
	ds_diag *diag;
	char reported[1024];     /* "\n"-separated fields already reported */
};

/* One field a guard reads (engine.c: "data.x" and "x" are both the
 * data's x): it must be declared by one of the record types the process
 * consumes, whose records make up the case's data, or set by a process
 * that starts this one. */
static void guard_reads_field(void *ud, const char *const *segs, size_t n)
{
	struct guard_reads *g = ud;
	char ptr[512], dotted[512], types[400] = "";
	size_t lp = 0, ld = 0, lt = 0, known = 0;
	size_t i = n && !strcmp(segs[0], "data") ? 1 : 0;
	if (i == n)
		return;  /* the whole data */
	for (; i < n; i++) {
		char esc[256];
		ds_json_pointer_escape(segs[i], esc, sizeof esc);
		int a = snprintf(ptr + lp, sizeof ptr - lp, "/%s", esc);
		int b = snprintf(dotted + ld, sizeof dotted - ld, "%s%s", ld ? "." : "", segs[i]);
		if (a < 0 || b < 0 || (size_t)a >= sizeof ptr - lp || (size_t)b >= sizeof dotted - ld)
			return;  /* too long to be any record's field */
		lp += (size_t)a;
		ld += (size_t)b;
	}
	for (size_t t = 0; t < g->p->nconsumes; t++) {
		const ds_schema *schema = ds_schema_set_get(g->c->schemas, g->p->consumes[t]);
		if (!schema)
			continue;  /* reported as an unknown record type */
		if (ds_schema_declares_pointer(schema, ptr))
			return;
		if (lt < sizeof types)
			lt += (size_t)snprintf(types + lt, sizeof types - lt, "%s\"%s\"",
					       known ? ", " : "", g->p->consumes[t]);
		known++;
	}
	if (!known || set_by_start(g->c, g->p, dotted))
		return;
	char mark[520];
	snprintf(mark, sizeof mark, "\n%s\n", dotted);
	if (strstr(g->reported, mark))
		return;
	size_t lr = strlen(g->reported);
	snprintf(g->reported + lr, sizeof g->reported - lr, "%s", mark + (lr ? 1 : 0));
	if (known == 1)
		ds_diag_error(g->diag, g->p->file, g->path,
			      "reads \"%s\", a field record type %s does not declare", dotted, types);
	else
		ds_diag_error(g->diag, g->p->file, g->path,
			      "reads \"%s\", a field none of the record types %s declares", dotted,
			      types);
}

/* A dotted field an effect reads, checked as a guard's would be. */
static void effect_reads(struct guard_reads *g, const char *dotted)
{
	char buf[512];
	const char *segs[32];
	size_t n = 0;
	if (snprintf(buf, sizeof buf, "%s", dotted) >= (int)sizeof buf)
		return;
	for (char *tok = buf, *dot; tok && n < 32; tok = dot ? dot + 1 : NULL) {
		if ((dot = strchr(tok, '.')))
			*dot = '\0';
		segs[n++] = tok;
	}
	guard_reads_field(g, segs, n);
}

/* Whether some state of some process adds tag. */
static bool tag_added(const ds_config *c, const char *tag)
{
	for (size_t i = 0; i < c->nprocesses; i++)
		for (size_t s = 0; s < c->processes[i]->nstates; s++) {
			const ds_profile_effects *e = c->processes[i]->states[s].effects;
			for (size_t k = 0; e && k < e->ntags; k++)
				if (!strcmp(e->tags[k], tag))
					return true;
		}
	return false;
}

/* The fields a state's profile effects read, and the tags it removes. */
static void check_effects(const ds_config *c, const ds_process *p, const ds_state_def *st,
			  ds_diag *diag)
{
	const ds_profile_effects *e = st->effects;
	char sp[1024];
	for (size_t i = 0; e && i < e->ninterests; i++) {
		if (!e->interests[i].field)
			continue;
		snprintf(sp, sizeof sp, "/states/%s/profile/interest", st->name);
		struct guard_reads g = { .c = c, .p = p, .path = sp, .diag = diag, .reported = "" };
		effect_reads(&g, e->interests[i].field);
	}
	for (size_t i = 0; e && i < e->nsets; i++) {
		if (!e->sets[i].field)
			continue;
		int l = snprintf(sp, sizeof sp, "/states/%s/profile/set/", st->name);
		ds_json_pointer_escape(e->sets[i].name, sp + l, sizeof sp - (size_t)l);
		struct guard_reads g = { .c = c, .p = p, .path = sp, .diag = diag, .reported = "" };
		effect_reads(&g, e->sets[i].field);
	}
	for (size_t i = 0; e && i < e->nuntags; i++) {
		if (tag_added(c, e->untags[i]))
			continue;
		snprintf(sp, sizeof sp, "/states/%s/profile/untag", st->name);
		ds_diag_warn(diag, p->file, sp, "no state of any process adds tag \"%s\"",
			     e->untags[i]);
	}
}

/* The roles a state names and the fields its guards read. */
static void check_state(const ds_config *c, const ds_process *p, const ds_state_def *st,
			ds_diag *diag)
{
	char sp[1024];
	check_effects(c, p, st, diag);
	for (size_t r = 0; r < st->nrights; r++) {
		int l = snprintf(sp, sizeof sp, "/states/%s/editable_by/", st->name);
		ds_json_pointer_escape(st->rights[r].role, sp + l, sizeof sp - (size_t)l);
		check_role(c, p->file, sp, st->rights[r].role, diag);
	}
	for (size_t t = 0; t < st->non; t++) {
		const ds_transition_def *tr = &st->on[t];
		for (size_t r = 0; r < tr->nroles; r++) {
			snprintf(sp, sizeof sp, "/states/%s/on/%zu/roles/%zu", st->name, t, r);
			check_role(c, p->file, sp, tr->roles[r], diag);
		}
		if (tr->kind != DS_ON_WHEN || !tr->guard)
			continue;
		snprintf(sp, sizeof sp, "/states/%s/on/%zu/when", st->name, t);
		struct guard_reads g = { .c = c, .p = p, .path = sp, .diag = diag, .reported = "" };
		ds_expr_foreach_path(tr->guard, guard_reads_field, &g);
	}
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

/* "retention": {"interactions": "365d", "closed_cases": "730d"}. */
static void load_retention(ds_config *c, const cJSON *r, const char *path, ds_diag *diag)
{
	if (!cJSON_IsObject(r)) {
		ds_diag_error(diag, path, "/retention", "retention must be an object such as "
			      "{\"interactions\": \"365d\", \"closed_cases\": \"730d\"}");
		return;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, r) {
		char p[300];
		snprintf(p, sizeof p, "/retention/%.200s", it->string);
		bool ix = !strcmp(it->string, "interactions");
		if (!ix && strcmp(it->string, "closed_cases")) {
			ds_diag_error(diag, path, p, "unknown retention (interactions or closed_cases)");
			continue;
		}
		ds_duration d;
		if (!cJSON_IsString(it) || ds_duration_parse(it->valuestring, &d) || !d.amount) {
			ds_diag_error(diag, path, p, "must be a duration such as \"365d\" (m, h, d "
				      "or bd business days, more than 0)");
			continue;
		}
		*(ix ? &c->retention.interactions : &c->retention.closed_cases) = d;
		*(ix ? &c->retention.interactions_set : &c->retention.closed_cases_set) = true;
	}
}

/* ---- "serve" ---- */

static bool env_name_ok(const char *v)
{
	return v && *v && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(v);
}

static void serve_tokens(ds_serve_settings *s, const cJSON *arr, const char *path,
			 ds_diag *diag)
{
	if (!cJSON_IsArray(arr)) {
		ds_diag_error(diag, path, "/serve/tokens",
			      "tokens is an array of {\"env\": VARIABLE, \"role\": ROLE}");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (!n || !(s->tokens = ds_calloc(n, sizeof *s->tokens)))
		return;
	const cJSON *t;
	size_t i = 0;
	cJSON_ArrayForEach(t, arr) {
		char p[64];
		snprintf(p, sizeof p, "/serve/tokens/%zu", i++);
		const char *env = ds_json_str(t, "env"), *role = ds_json_str(t, "role"),
			   *name = ds_json_str(t, "name");
		const cJSON *m;
		bool extra = false;
		cJSON_ArrayForEach(m, t)
			extra = extra || (strcmp(m->string, "env") && strcmp(m->string, "role") &&
					  strcmp(m->string, "name"));
		if (!cJSON_IsObject(t) || extra || !env_name_ok(env) || !role || !*role) {
			ds_diag_error(diag, path, p,
				      "a token is {\"env\": VARIABLE (capitals, digits, _), "
				      "\"role\": ROLE, \"name\": optional}: the token itself "
				      "stays in the environment");
			continue;
		}
		ds_serve_token *tk = &s->tokens[s->ntokens++];
		tk->env = ds_strdup(env);
		tk->role = ds_strdup(role);
		tk->name = ds_strdup(name ? name : role);
	}
}

static void serve_rates(ds_serve_settings *s, const cJSON *obj, const char *path,
			ds_diag *diag)
{
	if (!cJSON_IsObject(obj)) {
		ds_diag_error(diag, path, "/serve/rate",
			      "rate maps a source (or \"*\") to {\"per_minute\": N, \"burst\": N}");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(obj);
	if (!n || !(s->rates = ds_calloc(n, sizeof *s->rates)))
		return;
	const cJSON *r;
	cJSON_ArrayForEach(r, obj) {
		char p[300];
		snprintf(p, sizeof p, "/serve/rate/%.200s", r->string);
		const cJSON *pm = cJSON_GetObjectItemCaseSensitive(r, "per_minute");
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(r, "per_second");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(r, "burst");
		double per_minute = cJSON_IsNumber(pm) ? pm->valuedouble
				    : cJSON_IsNumber(ps) ? ps->valuedouble * 60 : 0;
		int members = cJSON_GetArraySize(r);
		if (!cJSON_IsObject(r) || (pm && ps) || !(per_minute > 0) || per_minute > 6e7 ||
		    (b && (!cJSON_IsNumber(b) || b->valuedouble < 1 || b->valuedouble > 1e7)) ||
		    members != 1 + (b != NULL)) {
			ds_diag_error(diag, path, p,
				      "a rate is {\"per_second\" or \"per_minute\": N > 0, "
				      "\"burst\": N >= 1 (optional)}");
			continue;
		}
		ds_serve_rate *rt = &s->rates[s->nrates++];
		rt->source = ds_strdup(r->string);
		rt->per_minute = per_minute;
		/* By default a second's worth may come at once. */
		rt->burst = b ? b->valuedouble : per_minute / 60 < 1 ? 1 : per_minute / 60;
	}
}

static const struct serve_key {
	const char *name;
	size_t offset;  /* of the size_t in ds_serve_settings */
	size_t min, max;
} serve_keys[] = {
	{ "max_body_bytes", offsetof(ds_serve_settings, max_body_bytes), 1, 1u << 30 },
	{ "max_header_bytes", offsetof(ds_serve_settings, max_header_bytes), 1024, 1u << 20 },
	{ "max_connections", offsetof(ds_serve_settings, max_connections), 1, 100000 },
	{ "timeout_seconds", offsetof(ds_serve_settings, timeout_seconds), 1, 3600 },
	{ "queue_max", offsetof(ds_serve_settings, queue_max), 1, 1000000 },
	{ "threads", offsetof(ds_serve_settings, threads), 1, 64 },
	{ "tick_seconds", offsetof(ds_serve_settings, tick_seconds), 1, 86400 },
	{ "max_export_seconds", offsetof(ds_serve_settings, max_export_seconds), 1, 86400 },
};

static void load_serve(ds_config *c, const cJSON *obj, const char *path, ds_diag *diag)
{
	ds_serve_settings *s = &c->serve;
	if (!cJSON_IsObject(obj)) {
		ds_diag_error(diag, path, "/serve", "serve must be an object");
		return;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		char p[300];
		snprintf(p, sizeof p, "/serve/%.200s", it->string);
		const struct serve_key *k = NULL;
		for (size_t i = 0; i < sizeof serve_keys / sizeof *serve_keys; i++)
			if (!strcmp(serve_keys[i].name, it->string))
				k = &serve_keys[i];
		if (k) {
			if (!cJSON_IsNumber(it) || it->valuedouble != (double)(long long)it->valuedouble ||
			    it->valuedouble < (double)k->min || it->valuedouble > (double)k->max)
				ds_diag_error(diag, path, p, "must be a whole number from %zu to %zu",
					      k->min, k->max);
			else
				*(size_t *)((char *)s + k->offset) = (size_t)it->valuedouble;
		} else if (!strcmp(it->string, "listen") && cJSON_IsString(it) && *it->valuestring) {
			ds_free(s->listen);
			s->listen = ds_strdup(it->valuestring);
		} else if (!strcmp(it->string, "tokens")) {
			serve_tokens(s, it, path, diag);
		} else if (!strcmp(it->string, "rate")) {
			serve_rates(s, it, path, diag);
		} else if (!strcmp(it->string, "tls") && cJSON_IsObject(it) &&
			   ds_json_str(it, "cert") && ds_json_str(it, "key") &&
			   cJSON_GetArraySize(it) == 2) {
			s->tls_cert = ds_strdup(ds_json_str(it, "cert"));
			s->tls_key = ds_strdup(ds_json_str(it, "key"));
		} else if (!strcmp(it->string, "tls")) {
			ds_diag_error(diag, path, p,
				      "tls is {\"cert\": PEM file, \"key\": PEM file}");
		} else {
			ds_diag_error(diag, path, p, "unknown setting or bad value");
		}
	}
}

static void load_settings(ds_config *c, ds_diag *diag)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/dossier.json", c->home);
	c->batch_size = 25000;
	c->limits.max_input_bytes = 25u << 20;  /* an email with its attachments */
	c->limits.max_depth = DS_JSON_MAX_DEPTH;
	c->serve.max_header_bytes = 16384;
	c->serve.max_connections = 1024;
	c->serve.timeout_seconds = 30;
	c->serve.queue_max = 20000;
	c->serve.threads = 2;
	c->serve.tick_seconds = 60;
	c->serve.max_export_seconds = 600;
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
		} else if (!strcmp(it->string, "retention")) {
			load_retention(c, it, path, diag);
		} else if (!strcmp(it->string, "serve")) {
			load_serve(c, it, path, diag);
		} else {
			ds_diag_error(diag, path, p, "unknown setting or bad value");
		}
	}
done:
	cJSON_Delete(doc);
}

static bool has_type(const void *ud, const char *type)
{
	return ds_schema_set_get(((const ds_config *)ud)->schemas, type) != NULL;
}

static bool has_source(const void *ud, const char *name)
{
	return ds_config_source(ud, name) != NULL;
}

/* Identity kinds of the processes' profile blocks, record types and
 * sources of schemas/profiles.json. */
static void check_profiles(ds_config *c, ds_diag *diag)
{
	const ds_profile_block **blocks = ds_calloc(c->nprocesses + 1, sizeof *blocks);
	const char **files = ds_calloc(c->nprocesses + 1, sizeof *files);
	size_t n = 0;
	for (size_t i = 0; blocks && files && i < c->nprocesses; i++) {
		if (!c->processes[i]->profile)
			continue;
		blocks[n] = c->processes[i]->profile;
		files[n++] = c->processes[i]->file;
	}
	if (blocks && files)
		ds_profile_rules_check(c->profiles, blocks, files, n, has_type, has_source, c, diag);
	ds_free(blocks);
	ds_free(files);
}

static void cross_check(ds_config *c, ds_diag *diag)
{
	check_profiles(c, diag);
	for (size_t i = 0; i < c->nsegments; i++)
		ds_segment_check(c->segments[i], (const ds_process *const *)c->processes,
				 c->nprocesses, c->profiles, diag);
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
		if (*s->role)
			check_role(c, s->file, "/role", s->role, diag);
		if (*s->role && ds_config_knows_role(c, s->role) && edits && !granted)
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
			check_state(c, p, st, diag);
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
	if ((rc = load_roles(c, diag, err)))
		goto fail;

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

	if ((rc = ds_profile_rules_load(home, diag, &c->profiles, err)))
		goto fail;

	snprintf(dir, sizeof dir, "%s/schemas/segments", home);
	if ((rc = list_dir(dir, ".json", &files, &nfiles, err)))
		goto fail;
	c->segments = ds_calloc(nfiles ? nfiles : 1, sizeof *c->segments);
	if (!c->segments)
		goto oom;
	for (size_t i = 0; i < nfiles; i++) {
		ds_segment *sg = NULL;
		ds_err e = {0};
		int r = ds_segment_load(files[i], c->profiles, diag, &sg, &e);
		if (r && r != DS_ECONFIG) {
			rc = ds_err_set(err, r, "%s", e.msg);
			goto fail;
		}
		if (sg)
			c->segments[c->nsegments++] = sg;
	}
	free_list(files, nfiles);
	files = NULL;

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
