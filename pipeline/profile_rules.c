/*
 * profile_rules.c - loading and checking profile blocks and
 * schemas/profiles.json; see profile_rules.h.
 */
#include "profile_rules.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "mem.h"
#include "normalize.h"
#include "store.h"

/* A JSON Pointer under base for member name, escaped. */
static void sub(char *out, size_t n, const char *base, const char *name)
{
	size_t len = (size_t)snprintf(out, n, "%s/", base);
	if (len < n)
		ds_json_pointer_escape(name, out + len, n - len);
}

static void unknown_keys(const cJSON *obj, const char *const *known, const char *file,
			 const char *path, ds_diag *diag)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], it->string))
			i++;
		if (!known[i]) {
			char p[512];
			sub(p, sizeof p, path, it->string);
			ds_diag_error(diag, file, p, "unknown member \"%s\"", it->string);
		}
	}
}

/* A string, or a non-empty array of strings, into *out. DS_ECONFIG
 * (reported) or DS_ENOMEM. */
static int strs(const cJSON *v, const char *file, const char *path, const char *what,
		ds_diag *diag, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t count = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
	if (!count) {
		ds_diag_error(diag, file, path, "%s must be a string or a non-empty array of strings",
			      what);
		return DS_ECONFIG;
	}
	char **list = ds_calloc(count, sizeof *list);
	if (!list)
		return DS_ENOMEM;
	const cJSON *it = cJSON_IsString(v) ? v : v->child;
	for (; it && *n < count; it = cJSON_IsString(v) ? NULL : it->next) {
		if (!cJSON_IsString(it) || !*it->valuestring) {
			ds_diag_error(diag, file, path, "%s must be non-empty strings", what);
			continue;
		}
		if (!(list[(*n)++] = ds_strdup(it->valuestring))) {
			ds_strv_free(list, *n);
			*n = 0;
			return DS_ENOMEM;
		}
	}
	*out = list;
	return DS_OK;
}

static bool is_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- blocks ---- */

static void free_fields(ds_profile_field *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		ds_free(f[i].name);
		ds_strv_free(f[i].paths, f[i].npaths);
	}
	ds_free(f);
}

void ds_profile_block_free(ds_profile_block *b)
{
	if (!b)
		return;
	free_fields(b->ids, b->nids);
	free_fields(b->attrs, b->nattrs);
	for (size_t i = 0; i < b->nconsent; i++) {
		ds_free(b->consent[i].path);
		ds_free(b->consent[i].purpose);
		ds_free(b->consent[i].channel);
	}
	ds_free(b->consent);
	ds_strv_free(b->interests, b->ninterests);
	for (size_t i = 0; i < b->ntraits; i++) {
		ds_trait_def *t = &b->traits[i];
		ds_strv_free(t->states, t->nstates);
		ds_free(t->in);
		ds_free(t->amount);
		ds_free(t->currency);
		ds_free(t->date);
	}
	ds_free(b->traits);
	ds_free(b);
}

/* Adds paths to the field name of list (created when new). */
static int add_field(ds_profile_field **list, size_t *n, size_t cap, const char *name,
		     char **paths, size_t npaths)
{
	ds_profile_field *f = NULL;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i].name, name))
			f = &(*list)[i];
	if (!f) {
		if (*n >= cap) {
			ds_strv_free(paths, npaths);
			return DS_OK;
		}
		f = &(*list)[(*n)++];
		if (!(f->name = ds_strdup(name))) {
			ds_strv_free(paths, npaths);
			return DS_ENOMEM;
		}
	}
	char **all = ds_realloc(f->paths, (f->npaths + npaths) * sizeof *all);
	if (!all) {
		ds_strv_free(paths, npaths);
		return DS_ENOMEM;
	}
	memcpy(all + f->npaths, paths, npaths * sizeof *all);
	f->paths = all;
	f->npaths += npaths;
	ds_free(paths);
	return DS_OK;
}

/* "identities" or "attributes": an object of NAME: PATH | [PATH...], plus
 * the shorthand member (email or name) of the block. */
static int load_fields(const cJSON *block, const char *key, const char *shorthand,
		       const char *file, const char *path, ds_diag *diag,
		       ds_profile_field **out, size_t *n)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(block, key);
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(block, shorthand);
	char p[512];
	sub(p, sizeof p, path, key);
	if (obj && !cJSON_IsObject(obj)) {
		ds_diag_error(diag, file, p, "\"%s\" must map each name to a field path", key);
		obj = NULL;
	}
	size_t cap = (size_t)(obj ? cJSON_GetArraySize(obj) : 0) + (sh ? 1 : 0);
	*out = NULL;
	*n = 0;
	if (!cap)
		return DS_OK;
	if (!(*out = ds_calloc(cap, sizeof **out)))
		return DS_ENOMEM;
	char **paths;
	size_t np;
	int rc;
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		char ip[600];
		sub(ip, sizeof ip, p, it->string);
		if (!is_word(it->string, 63)) {
			ds_diag_error(diag, file, ip, "a name is 1 to 63 of a-z, 0-9, _ and -");
			continue;
		}
		if ((rc = strs(it, file, ip, "a field path", diag, &paths, &np)) == DS_ENOMEM)
			return rc;
		if (!rc && (rc = add_field(out, n, cap, it->string, paths, np)))
			return rc;
	}
	if (sh) {
		sub(p, sizeof p, path, shorthand);
		if ((rc = strs(sh, file, p, "a field path", diag, &paths, &np)) == DS_ENOMEM)
			return rc;
		if (!rc && (rc = add_field(out, n, cap, shorthand, paths, np)))
			return rc;
	}
	return DS_OK;
}

static const char *const channels[] = { "email", "sms", "post", "phone", NULL };

static int load_consent(const cJSON *v, const char *file, const char *path, ds_diag *diag,
			ds_profile_block *b)
{
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
		ds_diag_error(diag, file, path, "\"consent\" must be an array of "
			      "{\"field\", \"purpose\", \"channel\"}");
		return DS_OK;
	}
	if (!(b->consent = ds_calloc((size_t)cJSON_GetArraySize(v), sizeof *b->consent)))
		return DS_ENOMEM;
	const cJSON *it;
	size_t i = 0;
	cJSON_ArrayForEach(it, v) {
		char p[512];
		snprintf(p, sizeof p, "%s/%zu", path, i++);
		static const char *const known[] = { "field", "purpose", "channel", "description",
						     NULL };
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "field");
		const cJSON *pu = cJSON_GetObjectItemCaseSensitive(it, "purpose");
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(it, "channel");
		if (!cJSON_IsObject(it)) {
			ds_diag_error(diag, file, p, "must be an object");
			continue;
		}
		unknown_keys(it, known, file, p, diag);
		bool ok = true;
		if (!cJSON_IsString(f) || !*f->valuestring) {
			ds_diag_error(diag, file, p, "\"field\" must name the boolean that grants "
				      "(true) or withdraws (false) consent");
			ok = false;
		}
		if (!cJSON_IsString(pu) || !is_word(pu->valuestring, 63)) {
			ds_diag_error(diag, file, p, "\"purpose\" must be a word such as \"marketing\"");
			ok = false;
		}
		size_t c = 0;
		while (cJSON_IsString(ch) && channels[c] && strcmp(channels[c], ch->valuestring))
			c++;
		if (!cJSON_IsString(ch) || !channels[c]) {
			ds_diag_error(diag, file, p, "\"channel\" must be email, sms, post or phone");
			ok = false;
		}
		if (!ok)
			continue;
		ds_consent_def *d = &b->consent[b->nconsent++];
		if (!(d->path = ds_strdup(f->valuestring)) ||
		    !(d->purpose = ds_strdup(pu->valuestring)) ||
		    !(d->channel = ds_strdup(ch->valuestring)))
			return DS_ENOMEM;
	}
	return DS_OK;
}

static int load_trait(const cJSON *it, const char *file, const char *p, ds_diag *diag,
		      ds_profile_block *b)
{
	static const char *const known[] = { "in", "except", "amount", "currency", "date",
					     "description", NULL };
	int t = ds_trait_index(it->string);
	if (t < 0 || t == DS_TRAIT_LAST_INTERACTION_AT) {
		char list[300] = "";
		for (int k = 0; k < DS_NTRAITS; k++)
			if (k != DS_TRAIT_LAST_INTERACTION_AT)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
					 *list ? ", " : "", ds_trait_name(k));
		ds_diag_error(diag, file, p, "unknown trait \"%s\" (a process feeds %s)", it->string,
			      list);
		return DS_OK;
	}
	if (!cJSON_IsObject(it)) {
		ds_diag_error(diag, file, p, "a trait must be an object");
		return DS_OK;
	}
	unknown_keys(it, known, file, p, diag);
	ds_trait_def *d = &b->traits[b->ntraits++];
	d->trait = t;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(it, "in");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(it, "except");
	char sp[600];
	int rc = DS_OK;
	if (in && ex) {
		ds_diag_error(diag, file, p, "a trait has \"in\" or \"except\", not both");
	} else if (in || ex) {
		sub(sp, sizeof sp, p, in ? "in" : "except");
		d->except = ex != NULL;
		rc = strs(in ? in : ex, file, sp, "states", diag, &d->states, &d->nstates);
	}
	if (rc == DS_ENOMEM)
		return rc;
	const cJSON *amount = cJSON_GetObjectItemCaseSensitive(it, "amount");
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(it, "currency");
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(it, "date");
	ds_trait_kind kind = ds_trait_kind_of(t);
	if (kind == DS_TRAIT_CENTS && !cJSON_IsString(amount))
		ds_diag_error(diag, file, p, "\"%s\" needs \"amount\": a decimal field, or an array "
			      "of priced lines", it->string);
	if (kind != DS_TRAIT_CENTS && (amount || cur))
		ds_diag_error(diag, file, p, "\"%s\" is not money: no \"amount\" or \"currency\"",
			      it->string);
	if (kind == DS_TRAIT_DATE && !cJSON_IsString(date))
		ds_diag_error(diag, file, p, "\"%s\" needs \"date\": the date field of the case",
			      it->string);
	if (kind != DS_TRAIT_DATE && date)
		ds_diag_error(diag, file, p, "\"%s\" is not a date: no \"date\"", it->string);
	if (cur && (!cJSON_IsString(cur) || strlen(cur->valuestring) != 3))
		ds_diag_error(diag, file, p, "\"currency\" must be an ISO 4217 code such as \"EUR\"");
	if ((cJSON_IsString(amount) && !(d->amount = ds_strdup(amount->valuestring))) ||
	    (cJSON_IsString(cur) && !(d->currency = ds_strdup(cur->valuestring))) ||
	    (cJSON_IsString(date) && !(d->date = ds_strdup(date->valuestring))))
		return DS_ENOMEM;
	return DS_OK;
}

int ds_profile_block_load(const cJSON *j, bool for_process, const char *file, const char *path,
			  ds_diag *diag, ds_profile_block **out, ds_err *err)
{
	static const char *const known[] = { "email", "name", "identities", "attributes", "consent",
					     "interests", "traits", "description", NULL };
	*out = NULL;
	if (!cJSON_IsObject(j)) {
		ds_diag_error(diag, file, path, "a profile block must be an object");
		return DS_OK;
	}
	unknown_keys(j, known, file, path, diag);
	ds_profile_block *b = ds_calloc(1, sizeof *b);
	if (!b)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	int rc = load_fields(j, "identities", "email", file, path, diag, &b->ids, &b->nids);
	if (!rc)
		rc = load_fields(j, "attributes", "name", file, path, diag, &b->attrs, &b->nattrs);
	char p[512];
	const cJSON *v;
	if (!rc && (v = cJSON_GetObjectItemCaseSensitive(j, "consent"))) {
		sub(p, sizeof p, path, "consent");
		if (for_process)
			ds_diag_error(diag, file, p, "consent is what a record says: declare it for "
				      "the record type in schemas/profiles.json");
		else
			rc = load_consent(v, file, p, diag, b);
	}
	if (!rc && (v = cJSON_GetObjectItemCaseSensitive(j, "interests"))) {
		sub(p, sizeof p, path, "interests");
		if (for_process)
			ds_diag_error(diag, file, p, "interests are what a record says: declare them "
				      "for the record type in schemas/profiles.json");
		else if ((rc = strs(v, file, p, "\"interests\"", diag, &b->interests,
				    &b->ninterests)) == DS_ECONFIG)
			rc = DS_OK;
	}
	if (!rc && (v = cJSON_GetObjectItemCaseSensitive(j, "traits"))) {
		sub(p, sizeof p, path, "traits");
		if (!for_process) {
			ds_diag_error(diag, file, p, "traits come from cases: declare them in the "
				      "process's profile block");
		} else if (!cJSON_IsObject(v)) {
			ds_diag_error(diag, file, p, "\"traits\" must map trait names to what feeds them");
		} else if ((b->traits = ds_calloc((size_t)cJSON_GetArraySize(v) + 1,
						  sizeof *b->traits))) {
			const cJSON *it;
			cJSON_ArrayForEach(it, v) {
				char tp[600];
				sub(tp, sizeof tp, p, it->string);
				if ((rc = load_trait(it, file, tp, diag, b)))
					break;
			}
		} else {
			rc = DS_ENOMEM;
		}
	}
	if (rc) {
		ds_profile_block_free(b);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	*out = b;
	return DS_OK;
}

int ds_profile_block_bind(ds_profile_block *b, const char *const *names, size_t n,
			  const char *file, const char *path, ds_diag *diag, ds_err *err)
{
	for (size_t i = 0; b && i < b->ntraits; i++) {
		ds_trait_def *t = &b->traits[i];
		if (!(t->in = ds_calloc(n + 1, sizeof *t->in)))
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		for (size_t s = 0; s < n; s++)
			t->in[s] = !t->nstates || t->except;
		for (size_t k = 0; k < t->nstates; k++) {
			size_t s = 0;
			while (s < n && strcmp(names[s], t->states[k]))
				s++;
			if (s == n) {
				char p[600];
				snprintf(p, sizeof p, "%s/traits/%s/%s", path, ds_trait_name(t->trait),
					 t->except ? "except" : "in");
				ds_diag_error(diag, file, p, "unknown state \"%s\"", t->states[k]);
				continue;
			}
			t->in[s] = !t->except;
		}
	}
	return DS_OK;
}

/* ---- what entering a state does ---- */

bool ds_profile_tag_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > DS_TAG_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static void free_values(ds_effect_value *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		ds_free(v[i].name);
		ds_free(v[i].field);
		ds_free(v[i].literal);
	}
	ds_free(v);
}

void ds_profile_effects_free(ds_profile_effects *e)
{
	if (!e)
		return;
	ds_strv_free(e->tags, e->ntags);
	ds_strv_free(e->untags, e->nuntags);
	free_values(e->interests, e->ninterests);
	free_values(e->sets, e->nsets);
	ds_free(e);
}

/* One value at path: {"field": PATH}, or a literal: a string, or with
 * any_literal also a number or true/false. *ok tells whether it was one
 * (else it is reported). DS_ENOMEM only. */
static int load_value(const cJSON *v, bool any_literal, const char *file, const char *path,
		      ds_diag *diag, ds_effect_value *out, bool *ok)
{
	*ok = false;
	if (cJSON_IsObject(v)) {
		static const char *const known[] = { "field", "description", NULL };
		unknown_keys(v, known, file, path, diag);
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, "field");
		if (!cJSON_IsString(f) || !*f->valuestring) {
			ds_diag_error(diag, file, path, "{\"field\": PATH} names a field of the case "
				      "data, as a dotted path");
			return DS_OK;
		}
		if (!(out->field = ds_strdup(f->valuestring)))
			return DS_ENOMEM;
		*ok = true;
		return DS_OK;
	}
	bool lit = cJSON_IsString(v) ? *v->valuestring && strlen(v->valuestring) <= DS_PROFILE_MAX_VALUE
				     : any_literal && (cJSON_IsNumber(v) || cJSON_IsBool(v));
	if (!lit) {
		ds_diag_error(diag, file, path, any_literal
			      ? "a value is a string (at most %d bytes), a number, true or false, "
				"or {\"field\": PATH}"
			      : "an interest is a string (at most %d bytes) or {\"field\": PATH}",
			      DS_PROFILE_MAX_VALUE);
		return DS_OK;
	}
	char *t = cJSON_PrintUnformatted(v);
	out->literal = t ? ds_strdup(t) : NULL;
	cJSON_free(t);
	if (!out->literal)
		return DS_ENOMEM;
	*ok = true;
	return DS_OK;
}

/* "tag" or "untag": a tag or a list of them, each checked. */
static int load_tags(const cJSON *v, const char *file, const char *path, ds_diag *diag,
		     char ***out, size_t *n)
{
	int rc = strs(v, file, path, "a tag", diag, out, n);
	if (rc != DS_OK)
		return rc == DS_ENOMEM ? rc : DS_OK;
	for (size_t i = 0; i < *n; i++) {
		if (ds_profile_tag_ok((*out)[i]))
			continue;
		char p[600];
		if (cJSON_IsArray(v))
			snprintf(p, sizeof p, "%s/%zu", path, i);
		else
			snprintf(p, sizeof p, "%s", path);
		ds_diag_error(diag, file, p, "\"%s\" is no tag: a tag is a letter a-z, then up to "
			      "%d of a-z, 0-9 and _ (offer_rejected), so that a segment can name "
			      "it", (*out)[i], DS_TAG_MAX - 1);
	}
	return DS_OK;
}

static int load_interests(const cJSON *v, const char *file, const char *path, ds_diag *diag,
			  ds_profile_effects *e)
{
	size_t n = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 1;
	if (cJSON_IsArray(v) && !n) {
		ds_diag_error(diag, file, path, "\"interest\" is an interest or a non-empty list "
			      "of them");
		return DS_OK;
	}
	if (!(e->interests = ds_calloc(n, sizeof *e->interests)))
		return DS_ENOMEM;
	const cJSON *it = cJSON_IsArray(v) ? v->child : v;
	for (size_t i = 0; it; it = cJSON_IsArray(v) ? it->next : NULL, i++) {
		char p[600];
		if (cJSON_IsArray(v))
			snprintf(p, sizeof p, "%s/%zu", path, i);
		else
			snprintf(p, sizeof p, "%s", path);
		bool ok;
		if (load_value(it, false, file, p, diag, &e->interests[e->ninterests], &ok))
			return DS_ENOMEM;
		e->ninterests += ok;
	}
	return DS_OK;
}

static int load_sets(const cJSON *v, const char *file, const char *path, ds_diag *diag,
		     ds_profile_effects *e)
{
	if (!cJSON_IsObject(v) || !cJSON_GetArraySize(v)) {
		ds_diag_error(diag, file, path, "\"set\" maps attribute names to their values");
		return DS_OK;
	}
	if (!(e->sets = ds_calloc((size_t)cJSON_GetArraySize(v), sizeof *e->sets)))
		return DS_ENOMEM;
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		char p[600];
		sub(p, sizeof p, path, it->string);
		if (!is_word(it->string, 63)) {
			ds_diag_error(diag, file, p, "an attribute name is 1 to 63 of a-z, 0-9, _ and -");
			continue;
		}
		ds_effect_value *ev = &e->sets[e->nsets];
		bool ok;
		if (load_value(it, true, file, p, diag, ev, &ok))
			return DS_ENOMEM;
		if (!ok)
			continue;
		e->nsets++;
		if (!(ev->name = ds_strdup(it->string)))
			return DS_ENOMEM;
	}
	return DS_OK;
}

int ds_profile_effects_load(const cJSON *j, const char *file, const char *path, ds_diag *diag,
			    ds_profile_effects **out, ds_err *err)
{
	static const char *const known[] = { "tag", "untag", "interest", "set", "description",
					     NULL };
	*out = NULL;
	if (!cJSON_IsObject(j)) {
		ds_diag_error(diag, file, path, "a state's \"profile\" is an object: what entering "
			      "the state does to the customer's profile (tag, untag, interest, set)");
		return DS_OK;
	}
	unknown_keys(j, known, file, path, diag);
	ds_profile_effects *e = ds_calloc(1, sizeof *e);
	if (!e)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	const cJSON *tag = cJSON_GetObjectItemCaseSensitive(j, "tag");
	const cJSON *untag = cJSON_GetObjectItemCaseSensitive(j, "untag");
	const cJSON *interest = cJSON_GetObjectItemCaseSensitive(j, "interest");
	const cJSON *set = cJSON_GetObjectItemCaseSensitive(j, "set");
	char p[600];
	int rc = DS_OK;
	if (tag) {
		sub(p, sizeof p, path, "tag");
		rc = load_tags(tag, file, p, diag, &e->tags, &e->ntags);
	}
	if (!rc && untag) {
		sub(p, sizeof p, path, "untag");
		rc = load_tags(untag, file, p, diag, &e->untags, &e->nuntags);
	}
	if (!rc && interest) {
		sub(p, sizeof p, path, "interest");
		rc = load_interests(interest, file, p, diag, e);
	}
	if (!rc && set) {
		sub(p, sizeof p, path, "set");
		rc = load_sets(set, file, p, diag, e);
	}
	if (rc) {
		ds_profile_effects_free(e);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < e->ntags; i++)
		for (size_t k = 0; k < e->nuntags; k++)
			if (!strcmp(e->tags[i], e->untags[k]))
				ds_diag_error(diag, file, path, "tag \"%s\" is both added and removed",
					      e->tags[i]);
	if (!e->ntags && !e->nuntags && !e->ninterests && !e->nsets) {
		if (!tag && !untag && !interest && !set)
			ds_diag_error(diag, file, path, "a state's \"profile\" says what entering the "
				      "state does: tag, untag, interest or set");
		ds_profile_effects_free(e);
		return DS_OK;
	}
	*out = e;
	return DS_OK;
}

/* ---- schemas/profiles.json ---- */

void ds_profile_rules_free(ds_profile_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nkinds; i++) {
		ds_free(r->kinds[i].name);
		ds_strv_free(r->kinds[i].normalize, r->kinds[i].nnormalize);
		ds_strv_free(r->kinds[i].shared, r->kinds[i].nshared);
	}
	ds_free(r->kinds);
	for (size_t i = 0; i < r->ntrust; i++)
		ds_free(r->trust[i].source);
	ds_free(r->trust);
	for (size_t i = 0; i < r->nrecords; i++) {
		ds_free(r->records[i].type);
		ds_profile_block_free(r->records[i].block);
	}
	ds_free(r->records);
	ds_free(r->file);
	ds_free(r);
}

/* The identity kinds when schemas/profiles.json does not declare them. */
static const struct {
	const char *name, *normalize;
	bool merge, per_source;
} default_kinds[] = {
	{ "email", "email", true, false },
	{ "phone", "trim", false, false },
	{ "siret", "siret", true, false },
	{ "erp_id", "trim", true, true },
};

static int default_rules(ds_profile_rules *r)
{
	size_t n = sizeof default_kinds / sizeof *default_kinds;
	if (!(r->kinds = ds_calloc(n, sizeof *r->kinds)))
		return DS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ds_identity_kind *k = &r->kinds[r->nkinds++];
		k->merge = default_kinds[i].merge;
		k->per_source = default_kinds[i].per_source;
		if (!(k->name = ds_strdup(default_kinds[i].name)) ||
		    !(k->normalize = ds_calloc(1, sizeof *k->normalize)) ||
		    !(k->normalize[0] = ds_strdup(default_kinds[i].normalize)))
			return DS_ENOMEM;
		k->nnormalize = 1;
	}
	return DS_OK;
}

static int load_kind(const cJSON *it, const char *file, const char *p, ds_diag *diag,
		     ds_identity_kind *k)
{
	static const char *const known[] = { "normalize", "merge", "per_source", "shared",
					     "description", NULL };
	if (!cJSON_IsObject(it)) {
		ds_diag_error(diag, file, p, "an identity kind must be an object");
		return DS_OK;
	}
	unknown_keys(it, known, file, p, diag);
	if (!(k->name = ds_strdup(it->string)))
		return DS_ENOMEM;
	char sp[600];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "normalize");
	int rc = DS_OK;
	if (v) {
		sub(sp, sizeof sp, p, "normalize");
		if ((rc = strs(v, file, sp, "\"normalize\"", diag, &k->normalize, &k->nnormalize)) ==
		    DS_ENOMEM)
			return rc;
		for (size_t i = 0; i < k->nnormalize; i++)
			if (!ds_normalizer(k->normalize[i]))
				ds_diag_error(diag, file, sp, "unknown normalizer \"%s\"",
					      k->normalize[i]);
	}
	const cJSON *merge = cJSON_GetObjectItemCaseSensitive(it, "merge");
	const cJSON *per = cJSON_GetObjectItemCaseSensitive(it, "per_source");
	if (!cJSON_IsBool(merge))
		ds_diag_error(diag, file, p, "\"merge\" must say (true or false) whether two profiles "
			      "holding the same %s are one person", it->string);
	if (per && !cJSON_IsBool(per))
		ds_diag_error(diag, file, p, "\"per_source\" must be true or false");
	k->merge = cJSON_IsTrue(merge);
	k->per_source = cJSON_IsTrue(per);
	if ((v = cJSON_GetObjectItemCaseSensitive(it, "shared"))) {
		sub(sp, sizeof sp, p, "shared");
		if (strs(v, file, sp, "\"shared\"", diag, &k->shared, &k->nshared) == DS_ENOMEM)
			return DS_ENOMEM;
	}
	return DS_OK;
}

/* For an object of named members at path (when present): an array of as
 * many zeroed items of size bytes into *out (left NULL for none); what
 * else it is gets reported with message. DS_ENOMEM only. */
static int members(const cJSON *obj, const char *file, const char *path, const char *message,
		   ds_diag *diag, void **out, size_t size)
{
	*out = NULL;
	if (obj && !cJSON_IsObject(obj))
		ds_diag_error(diag, file, path, "%s", message);
	else if (obj && cJSON_GetArraySize(obj) &&
		 !(*out = ds_calloc((size_t)cJSON_GetArraySize(obj), size)))
		return DS_ENOMEM;
	return DS_OK;
}

static int load_rules_doc(ds_profile_rules *r, const cJSON *doc, const char *file,
			  ds_diag *diag, ds_err *err)
{
	static const char *const known[] = { "description", "identities", "trust", "records",
					     NULL };
	if (!cJSON_IsObject(doc)) {
		ds_diag_error(diag, file, "", "schemas/profiles.json must be a JSON object");
		return DS_OK;
	}
	unknown_keys(doc, known, file, "", diag);
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(doc, "identities");
	const cJSON *trust = cJSON_GetObjectItemCaseSensitive(doc, "trust");
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(doc, "records");
	const cJSON *it;
	if (!ids) {
		if (default_rules(r))
			return ds_err_set(err, DS_ENOMEM, "out of memory");
	} else if (!cJSON_IsObject(ids) || !cJSON_GetArraySize(ids)) {
		ds_diag_error(diag, file, "/identities", "\"identities\" must declare each kind "
			      "of identity (email, phone...)");
	} else {
		if (!(r->kinds = ds_calloc((size_t)cJSON_GetArraySize(ids), sizeof *r->kinds)))
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		cJSON_ArrayForEach(it, ids) {
			char p[512];
			sub(p, sizeof p, "/identities", it->string);
			if (!is_word(it->string, 32)) {
				ds_diag_error(diag, file, p, "a kind is 1 to 32 of a-z, 0-9, _ and -");
				continue;
			}
			if (load_kind(it, file, p, diag, &r->kinds[r->nkinds++]))
				return ds_err_set(err, DS_ENOMEM, "out of memory");
		}
	}
	if (members(trust, file, "/trust", "\"trust\" must map source names to numbers", diag,
		    (void **)&r->trust, sizeof *r->trust))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if (r->trust) {
		cJSON_ArrayForEach(it, trust) {
			char p[512];
			sub(p, sizeof p, "/trust", it->string);
			if (!cJSON_IsNumber(it) || it->valuedouble != (double)it->valueint ||
			    it->valueint < 0 || it->valueint > 100) {
				ds_diag_error(diag, file, p, "a trust is a whole number from 0 to 100 "
					      "(sources not listed: %d)", DS_PROFILE_DEFAULT_TRUST);
				continue;
			}
			ds_source_trust *t = &r->trust[r->ntrust++];
			t->trust = it->valueint;
			if (!(t->source = ds_strdup(it->string)))
				return ds_err_set(err, DS_ENOMEM, "out of memory");
		}
	}
	if (members(recs, file, "/records", "\"records\" must map record types to profile blocks",
		    diag, (void **)&r->records, sizeof *r->records))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if (r->records) {
		cJSON_ArrayForEach(it, recs) {
			char p[512];
			sub(p, sizeof p, "/records", it->string);
			ds_record_profile *rp = &r->records[r->nrecords];
			int rc = ds_profile_block_load(it, false, file, p, diag, &rp->block, err);
			if (rc)
				return rc;
			if (!rp->block)
				continue;
			r->nrecords++;
			if (!(rp->type = ds_strdup(it->string)))
				return ds_err_set(err, DS_ENOMEM, "out of memory");
		}
	}
	return DS_OK;
}

int ds_profile_rules_load(const char *home, ds_diag *diag, ds_profile_rules **out, ds_err *err)
{
	*out = NULL;
	ds_profile_rules *r = ds_calloc(1, sizeof *r);
	if (!r)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/schemas/profiles.json", home);
	FILE *f = fopen(path, "r");
	int rc = DS_OK;
	if (!f) {
		if (default_rules(r))
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	} else {
		fclose(f);
		cJSON *doc = ds_json_load_file(path, diag);
		if (!(r->file = ds_strdup(path)))
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		else if (doc)
			rc = load_rules_doc(r, doc, path, diag, err);
		cJSON_Delete(doc);
	}
	if (rc) {
		ds_profile_rules_free(r);
		return rc;
	}
	*out = r;
	return DS_OK;
}

const ds_identity_kind *ds_profile_kind(const ds_profile_rules *r, const char *name)
{
	for (size_t i = 0; r && i < r->nkinds; i++)
		if (r->kinds[i].name && !strcmp(r->kinds[i].name, name))
			return &r->kinds[i];
	return NULL;
}

const ds_profile_block *ds_profile_record_block(const ds_profile_rules *r, const char *type)
{
	for (size_t i = 0; r && i < r->nrecords; i++)
		if (!strcmp(r->records[i].type, type))
			return r->records[i].block;
	return NULL;
}

int ds_profile_trust(const ds_profile_rules *r, const char *source)
{
	for (size_t i = 0; r && source && i < r->ntrust; i++)
		if (!strcmp(r->trust[i].source, source))
			return r->trust[i].trust;
	return DS_PROFILE_DEFAULT_TRUST;
}

bool ds_profile_is_shared(const ds_identity_kind *k, const char *value)
{
	for (size_t i = 0; i < k->nshared; i++)
		if (!strcmp(k->shared[i], value))
			return true;
	return false;
}

/* Reports the member name of base in file as an unknown what, unless known. */
static void report_unknown(bool known, const char *file, const char *base, const char *what,
			   const char *name, ds_diag *diag)
{
	if (known)
		return;
	char p[300];
	sub(p, sizeof p, base, name);
	ds_diag_error(diag, file, p, "unknown %s \"%s\"", what, name);
}

void ds_profile_rules_check(const ds_profile_rules *r, const ds_profile_block *const *blocks,
			    const char *const *files, size_t nblocks,
			    bool (*has_type)(const void *ud, const char *type),
			    bool (*has_source)(const void *ud, const char *name), const void *ud,
			    ds_diag *diag)
{
	const char *file = r->file ? r->file : "schemas/profiles.json";
	for (size_t i = 0; i < nblocks + r->nrecords; i++) {
		const ds_profile_block *b = i < nblocks ? blocks[i] : r->records[i - nblocks].block;
		char base[300] = "/profile";
		if (i >= nblocks)
			sub(base, sizeof base, "/records", r->records[i - nblocks].type);
		for (size_t k = 0; b && k < b->nids; k++) {
			if (ds_profile_kind(r, b->ids[k].name))
				continue;
			char p[600];
			snprintf(p, sizeof p, "%s/identities/%s", base, b->ids[k].name);
			ds_diag_error(diag, i < nblocks ? files[i] : file, p,
				      "unknown identity kind \"%s\"; schemas/profiles.json declares "
				      "the kinds", b->ids[k].name);
		}
	}
	for (size_t i = 0; i < r->nrecords; i++)
		report_unknown(has_type(ud, r->records[i].type), file, "/records", "record type",
			       r->records[i].type, diag);
	for (size_t i = 0; i < r->ntrust; i++)
		report_unknown(has_source(ud, r->trust[i].source), file, "/trust", "source",
			       r->trust[i].source, diag);
}
