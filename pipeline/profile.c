/*
 * profile.c - the customer profile store; see profile.h.
 *
 * The hot path is one record: its strong identities are looked up (one
 * indexed query each, which also reads the profile's attributes and last
 * interaction), and what changes of the attributes, traits and last
 * interaction is written in one statement. Merges, unmerges and rebuilds
 * are rare and do more.
 *
 * A profile's attributes are one JSON document: for each name, the values
 * that were current in turn, best first (by trust, then time), each with
 * the record, source, trust and time that gave it:
 *   {"name": [{"value": "Hélène Dupré", "record": 11,
 *              "source": "api-offers", "trust": 2, "at": 1795510800}]}
 * A merge puts the two lists of a name together in that order; an unmerge
 * takes out the values the merged profile brought. At most
 * MAX_ATTR_VALUES values are kept per name (the worst go).
 */
#include "profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "json.h"
#include "ident.h"
#include "normalize.h"

#define MAX_ATTRS 32
#define MAX_ATTR_VALUE 4096          /* bytes of text in one value */
#define MAX_ATTR_VALUES 16           /* values kept per attribute */
#define MAX_HITS 16
#define MAX_INTERESTS 256
#define MAX_INTEREST 100
#define MAX_TAGS 256                 /* tags of one profile */

/* Distinct profile ids, ascending, with their last interaction and
 * attributes when known (0, NULL: not known). */
typedef struct hits {
	int64_t v[MAX_HITS];
	ds_time last[MAX_HITS];
	const char *attrs[MAX_HITS];
	int64_t digest[MAX_HITS];    /* the attributes' digest */
	size_t n;
} hits;

typedef struct fact_id {
	const ds_identity_kind *kind;
	const char *scope;
	const char *value;
	bool shared;
	int64_t found;               /* the profile it led to, 0: none */
	hits roots;                  /* the profiles holding it (merges followed) */
} fact_id;

typedef struct fact_attr {
	const char *name;
	const cJSON *value;          /* in the record or case data */
} fact_attr;

/* What one record says about its person. */
typedef struct facts {
	fact_id ids[DS_PROFILE_MAX_IDS];
	size_t nids;
	fact_attr attrs[MAX_ATTRS];
	size_t nattrs;
	int64_t digest;              /* of the attributes and their source */
} facts;

static bool hit_has(const hits *h, int64_t id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i] == id)
			return true;
	return false;
}

/* Adds id in ascending order: the oldest profile first. */
static void hit_add(hits *h, int64_t id, ds_time last, const char *attrs, int64_t digest)
{
	if (!id || hit_has(h, id) || h->n >= MAX_HITS)
		return;
	size_t i = h->n;
	for (; i > 0 && h->v[i - 1] > id; i--) {
		h->v[i] = h->v[i - 1];
		h->last[i] = h->last[i - 1];
		h->attrs[i] = h->attrs[i - 1];
		h->digest[i] = h->digest[i - 1];
	}
	h->v[i] = id;
	h->last[i] = last;
	h->attrs[i] = attrs;
	h->digest[i] = digest;
	h->n++;
}

/* ---- reading facts ---- */

/* Runs names[0..n) over raw; DS_EINVAL when one refuses it. */
static int normalize(ds_arena *a, const char *const *names, size_t n, const char *raw,
		     const char **out)
{
	const char *v = raw;
	for (size_t i = 0; i < n; i++) {
		ds_normalizer_fn fn = ds_normalizer(names[i]);
		int rc = fn ? fn(a, v, &v, NULL) : DS_EINVAL;
		if (rc)
			return rc == DS_ENOMEM ? rc : DS_EINVAL;
	}
	*out = v;
	return DS_OK;
}

static int add_id(ds_arena *a, facts *f, const ds_identity_kind *k, const char *scope,
		  const char *raw)
{
	const char *v = NULL;
	int rc = normalize(a, (const char *const *)k->normalize, k->nnormalize, raw, &v);
	/* A value its kind cannot read names nobody: the record was valid for
	 * its schema, so it is not refused for that. */
	if (rc && rc != DS_EINVAL)
		return rc;
	if (rc || !v || !*v || strlen(v) > DS_PROFILE_MAX_VALUE)
		return DS_OK;
	for (size_t i = 0; i < f->nids; i++)
		if (f->ids[i].kind == k && !strcmp(f->ids[i].scope, scope) &&
		    !strcmp(f->ids[i].value, v))
			return DS_OK;
	if (f->nids >= DS_PROFILE_MAX_IDS)
		return DS_OK;
	fact_id *id = &f->ids[f->nids++];
	memset(id, 0, sizeof *id);
	id->kind = k;
	id->scope = scope;
	id->value = v;
	id->shared = ds_profile_is_shared(k, v);
	return DS_OK;
}

/* Whether v is a value an attribute may hold: not null, at most
 * MAX_ATTR_VALUE bytes of text in all, 4 levels deep. */
static bool attr_value_ok(const cJSON *v, int depth, size_t *bytes)
{
	if (!v || cJSON_IsNull(v) || depth > 4)
		return false;
	if (cJSON_IsString(v))
		*bytes += strlen(v->valuestring);
	*bytes += v->string ? strlen(v->string) : 0;
	for (const cJSON *c = v->child; c && *bytes <= MAX_ATTR_VALUE; c = c->next)
		if (!attr_value_ok(c, depth + 1, bytes))
			return false;
	return *bytes <= MAX_ATTR_VALUE && !(cJSON_IsString(v) && !*v->valuestring);
}

static int gather(const ds_profile_rules *rules, const ds_profile_block *b, const cJSON *data,
		  const char *source, ds_arena *a, facts *f)
{
	for (size_t i = 0; b && i < b->nids; i++) {
		const ds_identity_kind *k = ds_profile_kind(rules, b->ids[i].name);
		if (!k)
			continue;
		const char *scope = k->per_source && source ? source : "";
		for (size_t p = 0; p < b->ids[i].npaths; p++) {
			const cJSON *v = ds_json_dotted(data, b->ids[i].paths[p]);
			const cJSON *it = cJSON_IsArray(v) ? v->child : v;
			for (; it; it = cJSON_IsArray(v) ? it->next : NULL) {
				int rc = cJSON_IsString(it) ? add_id(a, f, k, scope, it->valuestring)
							    : DS_OK;
				if (rc)
					return rc;
			}
		}
	}
	for (size_t i = 0; b && i < b->nattrs; i++) {
		const ds_profile_field *fd = &b->attrs[i];
		bool known = false;
		for (size_t k = 0; k < f->nattrs && !known; k++)
			known = !strcmp(f->attrs[k].name, fd->name);
		for (size_t p = 0; !known && p < fd->npaths && f->nattrs < MAX_ATTRS; p++) {
			const cJSON *v = ds_json_dotted(data, fd->paths[p]);
			size_t bytes = 0;
			if (attr_value_ok(v, 0, &bytes)) {
				f->attrs[f->nattrs++] = (fact_attr){ fd->name, v };
				known = true;
			}
		}
	}
	return DS_OK;
}

/* ---- attributes ---- */

static cJSON *attrs_parse(const char *text)
{
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
	}
	return o;
}

static double entry_num(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Whether value a comes before b: more trusted, or as trusted and later;
 * two values a process set at the same time go by their transitions. */
static bool ranks_before(const cJSON *a, const cJSON *b)
{
	double ta = entry_num(a, "trust"), tb = entry_num(b, "trust");
	double aa = entry_num(a, "at"), ab = entry_num(b, "at");
	if (ta != tb)
		return ta > tb;
	return aa > ab || (aa == ab && entry_num(a, "audit") > entry_num(b, "audit"));
}

static void trim(cJSON *list)
{
	while (cJSON_GetArraySize(list) > MAX_ATTR_VALUES)
		cJSON_DeleteItemFromArray(list, cJSON_GetArraySize(list) - 1);
}

/* Puts e (taken) into list before the first value it ranks before. */
static void insert_ranked(cJSON *list, cJSON *e)
{
	int i = 0;
	const cJSON *x = list->child;
	while (x && !ranks_before(e, x)) {
		x = x->next;
		i++;
	}
	if (x)
		cJSON_InsertItemInArray(list, i, e);
	else
		cJSON_AddItemToArray(list, e);
	trim(list);
}

/* The values of f that win over attrs' current ones: from a more trusted
 * source, or from as trusted a source and not older (and different).
 * *changed tells whether attrs changed. DS_ENOMEM. */
static int attrs_apply(cJSON *attrs, const facts *f, const ds_profile_input *in, int trust,
		       bool *changed)
{
	for (size_t i = 0; i < f->nattrs; i++) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(attrs, f->attrs[i].name);
		const cJSON *cur = cJSON_IsArray(list) ? list->child : NULL;
		double ct = entry_num(cur, "trust"), cat = entry_num(cur, "at");
		bool wins = !cur || trust > ct ||
			    (trust == ct && (double)in->at >= cat &&
			     !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(cur, "value"),
					    f->attrs[i].value, true));
		if (!wins)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON *v = cJSON_Duplicate(f->attrs[i].value, true);
		if (!e || !v) {
			cJSON_Delete(e);
			cJSON_Delete(v);
			return DS_ENOMEM;
		}
		cJSON_AddItemToObject(e, "value", v);
		if (in->record_id)
			cJSON_AddNumberToObject(e, "record", (double)in->record_id);
		if (in->source)
			cJSON_AddStringToObject(e, "source", in->source);
		cJSON_AddNumberToObject(e, "trust", trust);
		cJSON_AddNumberToObject(e, "at", (double)in->at);
		if (!cJSON_IsArray(list)) {
			cJSON_DeleteItemFromObjectCaseSensitive(attrs, f->attrs[i].name);
			if (!(list = cJSON_AddArrayToObject(attrs, f->attrs[i].name))) {
				cJSON_Delete(e);
				return DS_ENOMEM;
			}
		}
		cJSON_InsertItemInArray(list, 0, e);
		trim(list);
		*changed = true;
	}
	return DS_OK;
}

/* Whether every value of f is the current one of attrs. */
static bool attrs_hold(const cJSON *attrs, const facts *f)
{
	for (size_t i = 0; i < f->nattrs; i++) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(attrs, f->attrs[i].name);
		const cJSON *cur = cJSON_IsArray(list) ? list->child : NULL;
		if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(cur, "value"), f->attrs[i].value,
				   true))
			return false;
	}
	return true;
}

/* FNV-1a over bytes. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211u;
	return h;
}

static uint64_t hash_json(uint64_t h, const cJSON *v)
{
	h = fnv(h, &v->type, sizeof v->type);
	if (v->string)
		h = fnv(h, v->string, strlen(v->string) + 1);
	if (cJSON_IsString(v))
		h = fnv(h, v->valuestring, strlen(v->valuestring) + 1);
	else if (cJSON_IsNumber(v))
		h = fnv(h, &v->valuedouble, sizeof v->valuedouble);
	for (const cJSON *c = v->child; c; c = c->next)
		h = hash_json(h, c);
	return h;
}

/* A digest of f's attributes and their source (0 when none): a record
 * with the digest the profile keeps says exactly what its attributes hold
 * already, so it changes nothing. */
static int64_t attrs_digest(const facts *f, const char *source)
{
	if (!f->nattrs)
		return 0;
	uint64_t h = 14695981039346656037u;
	h = fnv(h, source ? source : "", source ? strlen(source) + 1 : 1);
	for (size_t i = 0; i < f->nattrs; i++) {
		h = fnv(h, f->attrs[i].name, strlen(f->attrs[i].name) + 1);
		h = hash_json(h, f->attrs[i].value);
	}
	int64_t d = (int64_t)(h >> 1);
	return d ? d : 1;
}

/* The values of b joined to a's, each at its rank (a's first among equals). */
static void attrs_union(cJSON *a, const cJSON *b)
{
	const cJSON *name;
	cJSON_ArrayForEach(name, b) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(a, name->string);
		if (!cJSON_IsArray(list) && !(list = cJSON_AddArrayToObject(a, name->string)))
			continue;
		const cJSON *e;
		cJSON_ArrayForEach(e, name) {
			cJSON *copy = cJSON_Duplicate(e, true);
			if (copy)
				insert_ranked(list, copy);
		}
	}
}

/* a without the values b holds (those a merge brought). */
static void attrs_minus(cJSON *a, const cJSON *b)
{
	const cJSON *name;
	cJSON_ArrayForEach(name, b) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(a, name->string);
		const cJSON *e;
		cJSON_ArrayForEach(e, name) {
			int i = 0;
			for (cJSON *x = cJSON_IsArray(list) ? list->child : NULL; x; x = x->next, i++) {
				if (cJSON_Compare(x, e, true)) {
					cJSON_DeleteItemFromArray(list, i);
					break;
				}
			}
		}
		if (cJSON_IsArray(list) && !cJSON_GetArraySize(list))
			cJSON_DeleteItemFromObjectCaseSensitive(a, name->string);
	}
}

/* attrs as text in the arena; NULL when out of memory. */
static const char *attrs_text(ds_arena *a, const cJSON *attrs)
{
	return ds_json_print_arena(a, attrs);
}

cJSON *ds_profile_attributes(const char *text, bool history)
{
	cJSON *all = attrs_parse(text), *out = cJSON_CreateObject();
	const cJSON *name;
	cJSON_ArrayForEach(name, all) {
		const cJSON *e = history ? name->child ? name->child->next : NULL : name->child;
		if (!cJSON_IsObject(e))
			continue;
		if (history) {
			cJSON *list = cJSON_AddArrayToObject(out, name->string);
			for (; e; e = e->next)
				cJSON_AddItemToArray(list, cJSON_Duplicate(e, true));
		} else {
			cJSON_AddItemToObject(out, name->string, cJSON_Duplicate(e, true));
		}
	}
	cJSON_Delete(all);
	return out;
}

/* ---- finding a profile ---- */

int ds_profile_root(ds_store *s, int64_t pid, int64_t *root, ds_err *err)
{
	for (int depth = 0; depth < DS_PROFILE_MAX_DEPTH; depth++) {
		ds_profile_row p;
		int rc = ds_store_profile_get(s, pid, NULL, &p, err);
		if (rc)
			return rc;
		if (!p.merged_into) {
			*root = pid;
			return DS_OK;
		}
		pid = p.merged_into;
	}
	return ds_err_set(err, DS_ELIMIT, "profile %" PRId64 ": more than %d merges deep", pid,
			  DS_PROFILE_MAX_DEPTH);
}

struct find_ctx {
	ds_arena *a;                 /* keeps the attributes, or NULL */
	int64_t digest;              /* attributes with this digest need no copy */
	hits **h;                    /* per key */
};

/* The store gives no profile merged into another (a merge moves the
 * identities to the survivor, or leaves with the merged profile a copy of
 * those the survivor holds already): each hit is a profile of its own. */
static int on_found(void *ud, size_t key, const ds_identity_hit *hit)
{
	struct find_ctx *c = ud;
	bool same = c->digest && hit->attrs_digest == c->digest;
	const char *attrs = !same && c->a && hit->attributes
			    ? ds_arena_strdup(c->a, hit->attributes) : NULL;
	hit_add(c->h[key], hit->profile_id, hit->last_interaction_at, attrs, hit->attrs_digest);
	return 0;
}

/* The profiles holding each of keys[0..n), into *h[i]; their attributes
 * are copied into a unless their digest is digest. */
static int find_roots(ds_store *s, ds_arena *a, int64_t digest, const ds_identity_key *keys,
		      size_t n, hits **h, ds_err *err)
{
	struct find_ctx c = { a, digest, h };
	return ds_store_identity_find(s, keys, n, on_found, &c, err);
}

/* Why a record merged two profiles, for the merge log. */
static const char *merge_reason(ds_arena *a, const facts *f, int64_t survivor, int64_t merged)
{
	const fact_id *x = NULL, *y = NULL;
	for (size_t i = 0; i < f->nids; i++) {
		if (!f->ids[i].kind->merge)
			continue;
		if (!x && f->ids[i].found == survivor)
			x = &f->ids[i];
		if (!y && f->ids[i].found == merged)
			y = &f->ids[i];
	}
	if (!x || !y)
		return "one record names both";
	return ds_arena_printf(a, "one record names %s %s of profile %" PRId64 " and %s %s of "
			       "profile %" PRId64, x->kind->name, x->value, survivor, y->kind->name,
			       y->value, merged);
}

/* What resolve found: the profile, and what the lookups told of it. */
typedef struct lookup {
	int64_t pid;
	ds_time last;                /* last interaction, 0: not known */
	const char *attrs;           /* attributes, NULL: not known */
	int64_t digest;              /* their digest, 0: not known */
	bool created;                /* with the record's attributes and time */
	bool counted;                /* created with what the record's case counts */
	ds_traits born;              /* ... which is this */
} lookup;

/* The consent a record grants, as the bits of a new profile's mask: a
 * purpose and channel it grants and does not also withdraw. */
static int granted_mask(ds_store *s, const ds_profile_block *b, const cJSON *record,
			int64_t *mask, ds_err *err)
{
	*mask = 0;
	for (size_t i = 0; b && i < b->nconsent; i++) {
		const ds_consent_def *c = &b->consent[i];
		bool granted = cJSON_IsTrue(ds_json_dotted(record, c->path));
		for (size_t k = 0; granted && k < b->nconsent; k++)
			granted = !(!strcmp(b->consent[k].purpose, c->purpose) &&
				    !strcmp(b->consent[k].channel, c->channel) &&
				    cJSON_IsFalse(ds_json_dotted(record, b->consent[k].path)));
		int bit = -1, rc = granted ? ds_store_consent_bit(s, c->purpose, c->channel, &bit, err)
					   : DS_OK;
		if (rc)
			return rc;
		if (bit >= 0)
			*mask |= (int64_t)((uint64_t)1 << bit);
	}
	return DS_OK;
}

/* The attributes of a new profile, as text in a: what attrs_apply makes
 * of f on an empty object, printed, byte for byte (one value per name,
 * the names of f distinct), without the tree. NULL when out of memory. */
static const char *new_attrs_text(ds_arena *a, const facts *f, const ds_profile_input *in,
				  int trust)
{
	/* What follows each value is the same for all: written once. */
	ds_buf tail, b;
	ds_buf_init(&tail, 1024);
	ds_buf_init(&b, DS_JSON_PRINT_MAX);
	int rc = DS_OK;
	if (in->record_id && ((rc = ds_buf_puts(&tail, ",\"record\":")) ||
			      (rc = ds_buf_json_number(&tail, (double)in->record_id))))
		goto done;
	if (in->source && ((rc = ds_buf_puts(&tail, ",\"source\":")) ||
			   (rc = ds_buf_json_string(&tail, in->source))))
		goto done;
	if ((rc = ds_buf_puts(&tail, ",\"trust\":")) ||
	    (rc = ds_buf_json_number(&tail, trust)) ||
	    (rc = ds_buf_puts(&tail, ",\"at\":")) ||
	    (rc = ds_buf_json_number(&tail, (double)in->at)) ||
	    (rc = ds_buf_puts(&tail, "}]")) ||
	    (rc = ds_buf_putc(&b, '{')))
		goto done;
	for (size_t i = 0; !rc && i < f->nattrs; i++) {
		if ((i && (rc = ds_buf_putc(&b, ','))) ||
		    (rc = ds_buf_json_string(&b, f->attrs[i].name)) ||
		    (rc = ds_buf_puts(&b, ":[{\"value\":")) ||
		    (rc = ds_buf_json(&b, f->attrs[i].value)))
			break;
		rc = ds_buf_append(&b, tail.data, tail.len);
	}
	if (!rc)
		rc = ds_buf_putc(&b, '}');
done:;
	const char *text = rc ? NULL : ds_arena_strndup(a, b.data, b.len);
	ds_buf_free(&tail);
	ds_buf_free(&b);
	return text;
}

static int work_traits(ds_case_work *w, ds_traits *out, ds_err *err);

/* What the store needs to know of an attribute's current value v. */
static ds_attr_value attr_current(const char *name, const cJSON *v)
{
	if (!v)
		return (ds_attr_value){ .name = name };
	bool text = cJSON_IsString(v);
	return (ds_attr_value){ .name = name, .text = text ? v->valuestring : NULL,
				.other = !text && !cJSON_IsNull(v) };
}

/* The current values of attributes (a tree of attrs_apply's form), in a,
 * texts copied (the tree may go first); NULL when out of memory (the store
 * then reads the document). */
static const ds_attr_values *attrs_current(ds_arena *a, const cJSON *attrs)
{
	size_t n = (size_t)cJSON_GetArraySize(attrs);
	ds_attr_values *cur = ds_arena_alloc(a, sizeof *cur);
	ds_attr_value *v = ds_arena_alloc(a, (n ? n : 1) * sizeof *v);
	if (!cur || !v)
		return NULL;
	size_t i = 0;
	const cJSON *name;
	cJSON_ArrayForEach(name, attrs) {
		const cJSON *first = cJSON_IsArray(name) ? name->child : NULL;
		if (i == n)
			break;
		v[i] = attr_current(name->string, cJSON_IsObject(first)
			? cJSON_GetObjectItemCaseSensitive(first, "value") : NULL);
		if ((v[i].name && !(v[i].name = ds_arena_strdup(a, v[i].name))) ||
		    (v[i].text && !(v[i].text = ds_arena_strdup(a, v[i].text))))
			return NULL;
		i++;
	}
	*cur = (ds_attr_values){ .v = v, .n = i };
	return cur;
}

/* A new profile with what the record says of its attributes, the consent
 * it grants (its statements are recorded after), its time as the last
 * interaction and what the record's case counts (the case is linked to it
 * after, out->born), in one row. */
static int create(ds_runtime *rt, ds_arena *a, const facts *f, const ds_profile_input *in,
		  lookup *out, ds_err *err)
{
	const ds_profile_rules *rules = rt->cfg->profiles;
	const ds_case_work *w = in->work;
	int64_t mask;
	int rc;
	const char *text = new_attrs_text(a, f, in, ds_profile_trust(rules, in->source));
	if (!text)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if ((rc = granted_mask(rt->store, ds_profile_record_block(rules, in->record_type),
			       in->record, &mask, err)))
		return rc;
	memset(&out->born, 0, sizeof out->born);
	out->counted = w && w->p->profile && w->p->profile->ntraits;
	if (out->counted && (rc = work_traits(in->work, &out->born, err)))
		return rc;
	ds_traits t = out->born;
	t.v[DS_TRAIT_LAST_INTERACTION_AT] = in->at;
	ds_attr_value v[MAX_ATTRS];
	for (size_t i = 0; i < f->nattrs; i++)
		v[i] = attr_current(f->attrs[i].name, f->attrs[i].value);
	ds_attr_values cur = { .v = v, .n = f->nattrs };
	if ((rc = ds_store_profile_create(rt->store, in->at, text, &cur, f->digest, &t, mask,
					  &out->pid, err)))
		return rc;
	out->created = true;
	return DS_OK;
}

/* Sets *pid to 0 when it is the pseudonym of a forgotten person. */
static int forgotten(ds_store *s, int64_t *pid, ds_err *err)
{
	ds_profile_row p;
	int rc = ds_store_profile_get(s, *pid, NULL, &p, err);
	if (!rc && p.forgotten_at)
		*pid = 0;
	return rc;
}

/* The profile of facts: see profile.h. prefer is the case's profile, kept
 * when no strong identity says otherwise. */
static int resolve(ds_runtime *rt, ds_arena *a, facts *f, int64_t prefer,
		   const ds_profile_input *in, lookup *out, ds_err *err)
{
	int64_t record_id = in->record_id;
	ds_time at = in->at;
	ds_store *s = rt->store;
	hits strong = { .n = 0 }, weak = { .n = 0 };
	bool any_strong = false;
	int rc;
	memset(out, 0, sizeof *out);
	ds_identity_key keys[DS_PROFILE_MAX_IDS];
	ds_identity_row add[DS_PROFILE_MAX_IDS];
	size_t nadd = 0;
	hits *into[DS_PROFILE_MAX_IDS];
	size_t n = 0;
	for (size_t i = 0; i < f->nids; i++)
		any_strong = any_strong || (f->ids[i].kind->merge && !f->ids[i].shared);
	/* The strong identities decide, the weak ones only when no strong one
	 * is given: then a weak one decides when it leads to one profile, and
	 * two holders are enough to know. Beside a strong one, a weak one is
	 * only asked whether the profile found holds it (below). */
	for (size_t i = 0; i < f->nids; i++) {
		fact_id *id = &f->ids[i];
		if (id->shared || (any_strong && !id->kind->merge))
			continue;
		keys[n] = (ds_identity_key){ .kind = id->kind->name, .scope = id->scope,
					     .value = id->value, .max = id->kind->merge ? 0 : 2 };
		into[n++] = &id->roots;
	}
	if (n && (rc = find_roots(s, a, f->digest, keys, n, into, err)))
		return rc;
	for (size_t i = 0; i < f->nids; i++) {
		fact_id *id = &f->ids[i];
		id->found = id->roots.n ? id->roots.v[0] : 0;
		for (size_t k = 0; k < id->roots.n; k++)
			hit_add(id->kind->merge ? &strong : &weak, id->roots.v[k], id->roots.last[k],
				id->roots.attrs[k], id->roots.digest[k]);
	}
	/* The profiles this record is about: one, or several merged into the
	 * oldest of them. */
	hits group = { .n = 0 };
	int64_t pid = 0;
	/* The pseudonym of a forgotten person (privacy.h) is nobody's: a
	 * record of one of its cases goes to the profile of whom it names. */
	if (!strong.n && prefer && (rc = forgotten(s, &prefer, err)))
		return rc;
	if (!strong.n) {
		if (prefer)
			pid = prefer;
		else if (!any_strong && weak.n == 1)
			pid = weak.v[0];
		else if (!f->nids)
			return DS_OK;
		else if ((rc = create(rt, a, f, in, out, err)))
			return rc;
		else
			pid = out->pid;
		hit_add(&group, pid, 0, NULL, 0);
		if (weak.n && pid == weak.v[0]) {
			out->last = weak.last[0];
			out->attrs = weak.attrs[0];
			out->digest = weak.digest[0];
		}
	} else {
		/* The case's profile, else that of the first strong identity
		 * the record gives (a contact form's email: the person who
		 * wrote), which matters when profiles were kept apart. */
		int64_t target = hit_has(&strong, prefer) ? prefer : 0;
		for (size_t i = 0; !target && i < f->nids; i++)
			if (f->ids[i].kind->merge && !f->ids[i].shared && f->ids[i].roots.n)
				target = f->ids[i].roots.v[0];
		if (!target)
			target = strong.v[0];
		hit_add(&group, target, 0, NULL, 0);
		for (size_t i = 0; i < strong.n; i++) {
			bool apart = hit_has(&group, strong.v[i]);
			for (size_t g = 0; g < group.n && !apart; g++)
				apart = ds_store_kept_apart(s, group.v[g], strong.v[i]);
			if (!apart)
				hit_add(&group, strong.v[i], 0, NULL, 0);
		}
		for (size_t i = 0; group.n == 1 && i < strong.n; i++) {
			if (strong.v[i] == target) {
				out->last = strong.last[i];
				out->attrs = strong.attrs[i];
				out->digest = strong.digest[i];
			}
		}
		pid = group.v[0];
		for (size_t g = 1; g < group.n; g++)
			if (group.v[g] < pid)
				pid = group.v[g];
		for (size_t g = 0; g < group.n; g++) {
			if (group.v[g] == pid)
				continue;
			const char *why = merge_reason(a, f, pid, group.v[g]);
			if ((rc = ds_profile_merge(s, rt->cfg, pid, group.v[g], at, record_id,
						   why ? why : "one record names both", NULL, err)))
				return rc;
		}
	}
	/* The weak identities beside a strong one: held by the profile (which
	 * holds those of the profiles merged into it) or not; a new profile
	 * holds none. */
	n = 0;
	for (size_t i = 0; any_strong && !out->created && i < f->nids; i++) {
		fact_id *id = &f->ids[i];
		if (id->shared || id->kind->merge)
			continue;
		keys[n] = (ds_identity_key){ .kind = id->kind->name, .scope = id->scope,
					     .value = id->value, .holder = pid };
		into[n++] = &id->roots;
	}
	if (n && (rc = find_roots(s, NULL, 0, keys, n, into, err)))
		return rc;
	for (size_t i = 0; i < f->nids; i++) {
		const fact_id *id = &f->ids[i];
		/* Held already by the profile (or one merged into it): not
		 * written again; a strong identity of another profile, kept
		 * apart from this one, stays that profile's. */
		bool held = false;
		for (size_t k = 0; k < id->roots.n && !held; k++)
			held = hit_has(&group, id->roots.v[k]);
		if (held || (id->kind->merge && id->roots.n))
			continue;
		add[nadd++] = (ds_identity_row){ .profile_id = pid, .kind = id->kind->name,
						 .scope = id->scope, .value = id->value,
						 .record_id = record_id, .at = at };
	}
	if (nadd && (rc = ds_store_identity_add(s, add, nadd, err)))
		return rc;
	out->pid = pid;
	return DS_OK;
}

/* ---- traits ---- */

/* Money in cents from a decimal, rounded half away from zero. */
static int cents_of(ds_dec d, int64_t *out)
{
	ds_dec r;
	int rc = ds_dec_round(d, 2, &r);
	if (!rc)
		*out = r.units;
	return rc;
}

/* A priced line in cents: its amount, else quantity x unit price (per
 * base quantity), rounded to the cent. */
static int line_cents(const cJSON *line, int64_t *out)
{
	ds_dec q, p, b, m;
	const cJSON *amount = cJSON_GetObjectItemCaseSensitive(line, "amount");
	if (amount)
		return ds_dec_from_json(amount, &m) ? DS_EINVAL : cents_of(m, out);
	if (ds_dec_from_json(cJSON_GetObjectItemCaseSensitive(line, "quantity"), &q) ||
	    ds_dec_from_json(cJSON_GetObjectItemCaseSensitive(line, "unit_price"), &p) ||
	    ds_dec_mul(q, p, &m))
		return DS_EINVAL;
	const cJSON *base = cJSON_GetObjectItemCaseSensitive(line, "base_quantity");
	if (!base)
		return cents_of(m, out);
	if (ds_dec_from_json(base, &b) || b.units <= 0)
		return DS_EINVAL;
	/* m / b in cents: m.units 10^(b.scale + 2) / (b.units 10^m.scale),
	 * rounded half away from zero, in 128 bits. */
	__extension__ typedef __int128 wide;
	wide num = m.units, den = b.units;
	for (int i = 0; i < b.scale + 2; i++)
		num *= 10;
	for (int i = 0; i < m.scale; i++)
		den *= 10;
	wide qt = num / den, rem = num % den;
	if ((rem < 0 ? -rem : rem) * 2 >= den)
		qt += num < 0 ? -1 : 1;
	if (qt > INT64_MAX || qt < -INT64_MAX)
		return DS_ELIMIT;
	*out = (int64_t)qt;
	return DS_OK;
}

/* The amount at path: a decimal, or an array of priced lines less the
 * case's discount_pct (rounded once, on the subtotal). */
static int amount_cents(const cJSON *data, const char *path, int64_t *out)
{
	const cJSON *v = ds_json_dotted(data, path);
	ds_dec d;
	if (!cJSON_IsArray(v))
		return ds_dec_from_json(v, &d) ? DS_EINVAL : cents_of(d, out);
	int64_t sum = 0;
	const cJSON *line;
	cJSON_ArrayForEach(line, v) {
		int64_t c;
		int rc = line_cents(line, &c);
		if (rc)
			return rc;
		if (__builtin_add_overflow(sum, c, &sum))
			return DS_ELIMIT;
	}
	const cJSON *pct = cJSON_GetObjectItemCaseSensitive(data, "discount_pct");
	ds_dec p, off;
	if (!pct || ds_dec_from_json(pct, &p) || ds_dec_is_zero(p)) {
		*out = sum;
		return DS_OK;
	}
	int rc = ds_dec_percent((ds_dec){ sum, 2 }, p, 2, &off);
	if (!rc)
		*out = sum - off.units;
	return rc;
}

/* "2026-11-23" as 20261123; 0 when it is no date. */
static int64_t date_num(const cJSON *v)
{
	int y, m, d;
	if (!cJSON_IsString(v) || ds_date_parse(v->valuestring, &y, &m, &d))
		return 0;
	return (int64_t)y * 10000 + m * 100 + d;
}

void ds_profile_case_traits(const ds_process *p, int state, const cJSON *data, ds_traits *out)
{
	memset(out, 0, sizeof *out);
	const ds_profile_block *b = p->profile;
	for (size_t i = 0; b && state >= 0 && (size_t)state < p->nstates && i < b->ntraits; i++) {
		const ds_trait_def *t = &b->traits[i];
		if (!t->in || !t->in[state])
			continue;
		int64_t *v = &out->v[t->trait];
		int64_t c = 0, d;
		switch (ds_trait_kind_of(t->trait)) {
		case DS_TRAIT_COUNT:
			*v += 1;
			break;
		case DS_TRAIT_CENTS:
			if (t->currency) {
				const cJSON *cur = cJSON_GetObjectItemCaseSensitive(data, "currency");
				if (!cJSON_IsString(cur) || strcmp(cur->valuestring, t->currency))
					break;
			}
			if (!amount_cents(data, t->amount, &c))
				*v += c;
			break;
		case DS_TRAIT_DATE:
			if ((d = date_num(ds_json_dotted(data, t->date))) > *v)
				*v = d;
			break;
		case DS_TRAIT_TIME:
			break;
		}
	}
}

static bool needs_data(const ds_process *p)
{
	for (size_t i = 0; p->profile && i < p->profile->ntraits; i++)
		if (p->profile->traits[i].amount || p->profile->traits[i].date)
			return true;
	return false;
}

/* Adds to pid's traits the change from old to now (counts and money by
 * difference, dates and times when later), with the new attributes when
 * attrs is not NULL, in one statement; a date or time that went back makes
 * the profile's traits computed again. */
static int update_profile(ds_store *s, const ds_config *cfg, int64_t pid, const char *attrs,
			  const ds_attr_values *cur, const int64_t *digest, const ds_traits *old,
			  const ds_traits *now, ds_time at, ds_err *err)
{
	ds_traits d;
	bool any = false, back = false;
	for (int k = 0; k < DS_NTRAITS; k++) {
		ds_trait_kind kind = ds_trait_kind_of(k);
		if (kind == DS_TRAIT_COUNT || kind == DS_TRAIT_CENTS) {
			d.v[k] = now->v[k] - old->v[k];
		} else {
			d.v[k] = now->v[k] > old->v[k] ? now->v[k] : 0;
			back = back || now->v[k] < old->v[k];
		}
		any = any || d.v[k];
	}
	int rc = any || attrs || digest
		 ? ds_store_profile_update(s, pid, attrs, cur, digest, any ? &d : NULL, true, at, err)
		 : DS_OK;
	if (!rc && back)
		rc = ds_profile_rebuild(s, cfg, pid, at, true, NULL, err);
	return rc;
}

static int parse_data(const char *text, cJSON **out, ds_err *err)
{
	const char *t = text ? text : "{}";
	return ds_json_parse(t, strlen(t), 512, out, err);
}

/* What w counts now. */
static int work_traits(ds_case_work *w, ds_traits *out, ds_err *err)
{
	cJSON *data = NULL;
	if (needs_data(w->p)) {
		int rc = ds_engine_data(w, &data, err);
		if (rc)
			return rc;
	}
	ds_profile_case_traits(w->p, w->state, data, out);
	return DS_OK;
}

/* ---- what transitions do to the profile ---- */

/* raw as an interest: spaces collapsed, lower case, at most MAX_INTEREST
 * bytes; *out NULL when it is none. DS_ENOMEM only. */
static int interest_word(ds_arena *a, const char *raw, const char **out)
{
	static const char *const norm[] = { "collapse_spaces", "lower" };
	const char *v = NULL;
	int rc = normalize(a, norm, 2, raw, &v);
	*out = NULL;
	if (rc && rc != DS_EINVAL)
		return rc;
	if (!rc && v && *v && strlen(v) <= MAX_INTEREST)
		*out = v;
	return DS_OK;
}

/* Adds the interests of v (a string, or an array of strings) to arr. */
static int resolve_interests(ds_arena *a, const cJSON *v, cJSON *arr)
{
	const cJSON *it = cJSON_IsArray(v) ? v->child : v;
	for (; it; it = cJSON_IsArray(v) ? it->next : NULL) {
		const char *w = NULL;
		if (!cJSON_IsString(it))
			continue;
		if (interest_word(a, it->valuestring, &w))
			return DS_ENOMEM;
		bool dup = false;
		const cJSON *x;
		cJSON_ArrayForEach(x, arr)
			dup = dup || !strcmp(x->valuestring, w ? w : "");
		if (w && !dup && cJSON_GetArraySize(arr) < MAX_INTERESTS &&
		    !cJSON_AddItemToArray(arr, cJSON_CreateString(w)))
			return DS_ENOMEM;
	}
	return DS_OK;
}

static bool add_words(cJSON *o, const char *key, char *const *v, size_t n)
{
	if (!n)
		return true;
	cJSON *arr = cJSON_AddArrayToObject(o, key);
	for (size_t i = 0; arr && i < n; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(v[i])))
			return false;
	return arr != NULL;
}

bool ds_profile_effects_read_data(const ds_profile_effects *e)
{
	for (size_t i = 0; i < e->ninterests; i++)
		if (e->interests[i].field)
			return true;
	for (size_t i = 0; i < e->nsets; i++)
		if (e->sets[i].field)
			return true;
	return false;
}

char *ds_profile_effects_resolve(ds_arena *a, const ds_profile_effects *e, const cJSON *data,
				 bool *oom)
{
	cJSON *o = cJSON_CreateObject(), *interests = cJSON_CreateArray(), *set = NULL;
	char *text = NULL, *out = NULL;
	bool ok = o && interests && add_words(o, "tag", e->tags, e->ntags) &&
		  add_words(o, "untag", e->untags, e->nuntags);
	for (size_t i = 0; ok && i < e->ninterests; i++) {
		const ds_effect_value *v = &e->interests[i];
		cJSON *lit = v->literal ? cJSON_Parse(v->literal) : NULL;
		ok = (!v->literal || lit) &&
		     !resolve_interests(a, lit ? lit : ds_json_dotted(data, v->field), interests);
		cJSON_Delete(lit);
	}
	if (ok && cJSON_GetArraySize(interests)) {
		cJSON_AddItemToObject(o, "interest", interests);
		interests = NULL;
	}
	for (size_t i = 0; ok && i < e->nsets; i++) {
		const ds_effect_value *v = &e->sets[i];
		size_t bytes = 0;
		const cJSON *at = v->field ? ds_json_dotted(data, v->field) : NULL;
		if (v->field && !attr_value_ok(at, 0, &bytes))
			continue;  /* no value there: nothing to set */
		cJSON *val = v->literal ? cJSON_Parse(v->literal) : cJSON_Duplicate(at, true);
		if (!set)
			set = cJSON_AddObjectToObject(o, "set");
		ok = val && set && cJSON_AddItemToObject(set, v->name, val);
		if (!ok)
			cJSON_Delete(val);
	}
	if (ok && o->child && (text = cJSON_PrintUnformatted(o)))
		out = ds_arena_strdup(a, text);
	*oom = !ok || (o->child && !out);
	cJSON_free(text);
	cJSON_Delete(interests);
	cJSON_Delete(o);
	return out;
}

/* Applying effects to one profile: the attributes are read from the store
 * on the first value a transition sets, unless given. */
typedef struct fx_apply {
	ds_store *s;
	int64_t pid;
	ds_arena *a;
	cJSON *attrs;                /* NULL until needed */
	bool own;                    /* attrs read here: written back and freed */
	bool changed;                /* attrs changed */
	bool set;                    /* ... by a transition */
	ds_err *err;
} fx_apply;

/* The value a transition sets for attribute name of the profile: one
 * per case (the latest), ranked with the others by trust (that of a
 * source not listed), time and transition. */
static int effect_attr_put(cJSON *attrs, const char *name, const cJSON *value, int64_t case_id,
			   int64_t audit_id, ds_time at, bool *changed)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(attrs, name);
	if (!cJSON_IsArray(list)) {
		cJSON_DeleteItemFromObjectCaseSensitive(attrs, name);
		if (!(list = cJSON_AddArrayToObject(attrs, name)))
			return DS_ENOMEM;
	}
	int i = 0;
	for (cJSON *x = list->child; x; x = x->next, i++) {
		if (!cJSON_GetObjectItemCaseSensitive(x, "audit") || entry_num(x, "case") != (double)case_id)
			continue;
		double xa = entry_num(x, "at"), xu = entry_num(x, "audit");
		if (xa > (double)at || (xa == (double)at && xu >= (double)audit_id))
			return DS_OK;
		cJSON_DeleteItemFromArray(list, i);
		break;
	}
	cJSON *e = cJSON_CreateObject(), *v = cJSON_Duplicate(value, true);
	if (!e || !v || !cJSON_AddItemToObject(e, "value", v)) {
		cJSON_Delete(e);
		cJSON_Delete(v);
		return DS_ENOMEM;
	}
	cJSON_AddNumberToObject(e, "case", (double)case_id);
	cJSON_AddNumberToObject(e, "audit", (double)audit_id);
	cJSON_AddNumberToObject(e, "trust", DS_PROFILE_DEFAULT_TRUST);
	cJSON_AddNumberToObject(e, "at", (double)at);
	insert_ranked(list, e);
	*changed = true;
	return DS_OK;
}

/* The effects of one transition (an audit entry's text): tags and
 * interests are written, attribute values go into x->attrs. */
static int effects_apply(fx_apply *x, int64_t case_id, int64_t audit_id, ds_time at,
			 const char *text)
{
	cJSON *fx = cJSON_Parse(text);
	int rc = DS_OK;
	if (!fx)
		return ds_err_set(x->err, DS_EINVAL, "audit entry %" PRId64 ": what it did to the "
				  "profile is not JSON", audit_id);
	static const char *const kinds[] = { "tag", "untag" };
	for (size_t k = 0; k < 2 && !rc; k++) {
		const cJSON *t;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(fx, kinds[k])) {
			ds_tag_row r = { .profile_id = x->pid, .tag = t->valuestring, .present = !k,
					 .at = at, .case_id = case_id, .audit_id = audit_id };
			if (!cJSON_IsString(t) || (rc = ds_store_tag_put(x->s, &r, x->err)))
				break;
		}
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fx, "interest"))
		if (!rc && cJSON_IsString(it))
			rc = ds_store_interest_add(x->s, x->pid, it->valuestring, at, x->err);
	const cJSON *set = cJSON_GetObjectItemCaseSensitive(fx, "set");
	if (!rc && cJSON_GetArraySize(set) && !x->attrs) {
		ds_profile_row p;
		if (!(rc = ds_store_profile_get(x->s, x->pid, x->a, &p, x->err))) {
			x->own = true;
			if (!(x->attrs = attrs_parse(p.attributes)))
				rc = ds_err_set(x->err, DS_ENOMEM, "out of memory");
		}
	}
	bool changed = false;
	cJSON_ArrayForEach(it, set)
		if (!rc && effect_attr_put(x->attrs, it->string, it, case_id, audit_id, at, &changed))
			rc = ds_err_set(x->err, DS_ENOMEM, "out of memory");
	x->changed = x->changed || changed;
	x->set = x->set || changed;
	cJSON_Delete(fx);
	return rc;
}

/* Applies what w's changes did to pid; with x->own, writes the attributes
 * they changed (the digest of a record's attributes no longer stands). */
static int effects_of_work(fx_apply *x, const ds_case_work *w)
{
	int rc = DS_OK;
	for (size_t i = 0; i < w->nchanges && !rc; i++) {
		const ds_change *c = &w->changes[i];
		if (c->effects)
			rc = effects_apply(x, w->row.id, c->audit_id, c->at, c->effects);
	}
	return rc;
}

static int effects_done(fx_apply *x, ds_time at)
{
	int rc = DS_OK;
	if (x->own && x->changed) {
		const int64_t zero = 0;
		const char *text = attrs_text(x->a, x->attrs);
		rc = text ? ds_store_profile_update(x->s, x->pid, text, NULL, &zero, NULL, true, at,
						    x->err)
			  : ds_err_set(x->err, DS_ENOMEM, "out of memory");
	}
	if (x->own)
		cJSON_Delete(x->attrs);
	x->attrs = NULL;
	x->own = false;
	return rc;
}

bool ds_profile_case_reads_data(const ds_case_work *w)
{
	const ds_profile_block *b = w->p->profile;
	return b && w->row.profile_id && w->nchanges && (b->ntraits || w->counted_known) &&
	       needs_data(w->p);
}

int ds_profile_case_changed(ds_runtime *rt, ds_case_work *w, ds_err *err)
{
	const ds_profile_block *b = w->p->profile;
	int64_t pid = w->row.profile_id;
	int rc;
	if (!b || !pid)
		return DS_OK;
	if (w->is_new && (rc = ds_store_timeline_add(rt->store, pid, "case", w->row.id, rt->now, err)))
		return rc;
	fx_apply x = { .s = rt->store, .pid = pid, .a = w->a, .err = err };
	rc = effects_of_work(&x, w);
	int drc = effects_done(&x, rt->now);
	if (rc || (rc = drc))
		return rc;
	/* A case that counted nothing and counts nothing: nothing to add (a
	 * case migrated from a version that counted comes with counted). */
	if (!w->nchanges || (!b->ntraits && !w->counted_known))
		return DS_OK;
	ds_traits old, now;
	if (w->counted_known) {
		old = w->counted;
	} else if (w->old_state < 0) {
		memset(&old, 0, sizeof old);
	} else {
		cJSON *data = NULL;
		/* A case loaded without its data (a timer's) reads it now: it
		 * is still as stored, or was read before it changed. */
		if (needs_data(w->p) && !w->old_data && (rc = ds_engine_data(w, NULL, err)))
			return rc;
		if (needs_data(w->p) && (rc = parse_data(w->old_data, &data, err)))
			return rc;
		ds_profile_case_traits(w->p, w->old_state, data, &old);
		cJSON_Delete(data);
	}
	if (!b->ntraits)
		memset(&now, 0, sizeof now);
	else if ((rc = work_traits(w, &now, err)))
		return rc;
	w->counted = now;
	w->counted_known = true;
	return update_profile(rt->store, rt->cfg, pid, NULL, NULL, NULL, &old, &now, rt->now, err);
}

/* ---- rebuilding ---- */

typedef struct rebuild {
	const ds_config *cfg;
	ds_arena *a;
	ds_traits t;
	const char *interests[MAX_INTERESTS];
	size_t ninterests;
	ds_err *err;
} rebuild;

static int add_interest(rebuild *r, const char *raw)
{
	const char *v = NULL;
	if (interest_word(r->a, raw, &v))
		return ds_err_set(r->err, DS_ENOMEM, "out of memory");
	if (!v)
		return DS_OK;
	for (size_t i = 0; i < r->ninterests; i++)
		if (!strcmp(r->interests[i], v))
			return DS_OK;
	if (r->ninterests < MAX_INTERESTS)
		r->interests[r->ninterests++] = v;
	return DS_OK;
}

/* The interests a record of a type with block b states. */
static int record_interests(rebuild *r, const ds_profile_block *b, const cJSON *data)
{
	for (size_t i = 0; b && i < b->ninterests; i++) {
		const cJSON *v = ds_json_dotted(data, b->interests[i]);
		const cJSON *it = cJSON_IsArray(v) ? v->child : v;
		for (; it; it = cJSON_IsArray(v) ? it->next : NULL) {
			int rc = cJSON_IsString(it) ? add_interest(r, it->valuestring) : DS_OK;
			if (rc)
				return rc;
		}
	}
	return DS_OK;
}

static void max_into(int64_t *v, int64_t x)
{
	if (x > *v)
		*v = x;
}

static void add_traits(ds_traits *sum, const ds_traits *t)
{
	for (int k = 0; k < DS_NTRAITS; k++) {
		ds_trait_kind kind = ds_trait_kind_of(k);
		if (kind == DS_TRAIT_COUNT || kind == DS_TRAIT_CENTS)
			sum->v[k] += t->v[k];
		else
			max_into(&sum->v[k], t->v[k]);
	}
}

int ds_profile_row_traits(const ds_config *cfg, const ds_process *p, const ds_case_row *c,
			  ds_traits *out, ds_err *err)
{
	const ds_process *v = ds_config_process_version(cfg, c->process, c->process_version);
	if (v)
		p = v;
	memset(out, 0, sizeof *out);
	if (!p || !p->profile || !p->profile->ntraits)
		return DS_OK;
	cJSON *data = NULL;
	if (needs_data(p) && parse_data(c->data, &data, err))
		return err->code;
	ds_profile_case_traits(p, ds_process_state(p, c->state), data, out);
	cJSON_Delete(data);
	return DS_OK;
}

static int rebuild_case(void *ud, const ds_case_row *c)
{
	rebuild *r = ud;
	ds_traits t;
	if (ds_profile_row_traits(r->cfg, ds_config_process(r->cfg, c->process), c, &t, r->err))
		return r->err->code;
	add_traits(&r->t, &t);
	return 0;
}

static int rebuild_record(void *ud, const ds_timeline_record *rec)
{
	rebuild *r = ud;
	max_into(&r->t.v[DS_TRAIT_LAST_INTERACTION_AT], rec->received_at);
	const ds_profile_block *b = ds_profile_record_block(r->cfg->profiles, rec->type);
	if (!b || !b->ninterests)
		return 0;
	cJSON *data = NULL;
	if (parse_data(rec->data, &data, r->err))
		return r->err->code;
	int rc = record_interests(r, b, data);
	cJSON_Delete(data);
	return rc;
}

struct stored_interests {
	const rebuild *r;
	size_t n;
	bool same;
};

static int check_interest(void *ud, const char *value)
{
	struct stored_interests *c = ud;
	bool found = false;
	for (size_t i = 0; i < c->r->ninterests && !found; i++)
		found = !strcmp(c->r->interests[i], value);
	c->same = c->same && found;
	c->n++;
	return 0;
}

/* A profile's tag as its cases' transitions leave it. */
typedef struct fx_tag {
	const char *tag;
	bool present;
	ds_time at;
	int64_t case_id, audit_id;
} fx_tag;

/* What the transitions of a profile's cases did to it, computed again. */
typedef struct fx_rebuild {
	rebuild *r;                  /* gets the interests */
	fx_tag tags[MAX_TAGS];
	size_t ntags;
	cJSON *attrs;                /* the values they set, as in attributes */
	bool changed;
	ds_err *err;
} fx_rebuild;

static int rebuild_effect(void *ud, const ds_audit_row *row)
{
	fx_rebuild *x = ud;
	cJSON *fx = cJSON_Parse(row->effects);
	if (!fx)
		return ds_err_set(x->err, DS_EINVAL, "audit entry %" PRId64 ": what it did to the "
				  "profile is not JSON", row->id);
	int rc = DS_OK;
	static const char *const kinds[] = { "tag", "untag" };
	for (size_t k = 0; k < 2 && !rc; k++) {
		const cJSON *t;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(fx, kinds[k])) {
			if (!cJSON_IsString(t))
				continue;
			/* Entries come by time then id: the last one stands. */
			size_t i = 0;
			while (i < x->ntags && strcmp(x->tags[i].tag, t->valuestring))
				i++;
			if (i == MAX_TAGS) {
				rc = ds_err_set(x->err, DS_ELIMIT, "profile has more than %d tags",
						MAX_TAGS);
				break;
			}
			if (i == x->ntags) {
				x->tags[i].tag = ds_arena_strdup(x->r->a, t->valuestring);
				if (!x->tags[i].tag) {
					rc = ds_err_set(x->err, DS_ENOMEM, "out of memory");
					break;
				}
				x->ntags++;
			}
			x->tags[i].present = !k;
			x->tags[i].at = row->at;
			x->tags[i].case_id = row->case_id;
			x->tags[i].audit_id = row->id;
		}
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fx, "interest"))
		if (!rc && cJSON_IsString(it))
			rc = add_interest(x->r, it->valuestring);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fx, "set"))
		if (!rc && effect_attr_put(x->attrs, it->string, it, row->case_id, row->id, row->at,
					   &x->changed))
			rc = ds_err_set(x->err, DS_ENOMEM, "out of memory");
	cJSON_Delete(fx);
	return rc;
}

struct stored_tags {
	const fx_rebuild *x;
	size_t n;
	bool same;
};

static int check_tag(void *ud, const ds_tag_row *t)
{
	struct stored_tags *c = ud;
	bool found = false;
	for (size_t i = 0; i < c->x->ntags && !found; i++) {
		const fx_tag *f = &c->x->tags[i];
		found = !strcmp(f->tag, t->tag) && f->present == t->present && f->at == t->at &&
			f->case_id == t->case_id && f->audit_id == t->audit_id;
	}
	c->same = c->same && found;
	c->n++;
	return 0;
}

/* attrs without the values transitions set (kept with their audit entry). */
static void strip_effects(cJSON *attrs)
{
	cJSON *name = attrs ? attrs->child : NULL;
	while (name) {
		cJSON *next = name->next;
		int i = 0;
		for (cJSON *e = name->child; e;) {
			cJSON *en = e->next;
			if (cJSON_GetObjectItemCaseSensitive(e, "audit"))
				cJSON_DeleteItemFromArray(name, i);
			else
				i++;
			e = en;
		}
		if (cJSON_IsArray(name) && !cJSON_GetArraySize(name))
			cJSON_DeleteItemFromObjectCaseSensitive(attrs, name->string);
		name = next;
	}
}

/* The values transitions set in attrs, as one object like theirs. */
static cJSON *only_effects(const cJSON *attrs)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *name;
	cJSON_ArrayForEach(name, attrs) {
		cJSON *list = NULL;
		const cJSON *e;
		cJSON_ArrayForEach(e, name) {
			if (!cJSON_GetObjectItemCaseSensitive(e, "audit"))
				continue;
			if (!list && out)
				list = cJSON_AddArrayToObject(out, name->string);
			if (list)
				cJSON_AddItemToArray(list, cJSON_Duplicate(e, true));
		}
	}
	return out;
}

int ds_profile_rebuild(ds_store *s, const ds_config *cfg, int64_t pid, ds_time at, bool write,
		       ds_rebuild_diff *diff, ds_err *err)
{
	rebuild r = { .cfg = cfg, .a = ds_arena_new(4096), .err = err };
	fx_rebuild *x = r.a ? ds_arena_alloc(r.a, sizeof *x) : NULL;
	cJSON *stored = NULL, *kept = NULL;
	if (!x) {
		ds_arena_free(r.a);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	memset(x, 0, sizeof *x);
	x->r = &r;
	x->err = err;
	ds_profile_row p;
	struct stored_interests si = { &r, 0, true };
	struct stored_tags st = { x, 0, true };
	int rc = ds_store_profile_get(s, pid, r.a, &p, err);
	if (!rc && (!(x->attrs = cJSON_CreateObject()) || !(stored = attrs_parse(p.attributes))))
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	if (!rc)
		rc = ds_store_case_list_profile(s, pid, rebuild_case, &r, err);
	if (!rc)
		rc = ds_store_profile_records(s, pid, rebuild_record, &r, err);
	if (!rc)
		rc = ds_store_profile_effects(s, pid, rebuild_effect, x, err);
	if (!rc)
		rc = ds_store_interest_list(s, pid, check_interest, &si, err);
	if (!rc)
		rc = ds_store_tag_list(s, pid, true, check_tag, &st, err);
	if (!rc && !(kept = only_effects(stored)))
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc)
		goto done;
	ds_rebuild_diff d = { .stored = p.traits, .rebuilt = r.t };
	d.interests = !si.same || si.n != r.ninterests;
	d.tags = !st.same || st.n != x->ntags;
	d.attributes = !cJSON_Compare(kept, x->attrs, true);
	d.same = !memcmp(&p.traits, &r.t, sizeof r.t) && !d.interests && !d.tags && !d.attributes;
	if (diff)
		*diff = d;
	if (!write)
		goto done;
	if ((rc = ds_store_profile_update(s, pid, NULL, NULL, NULL, &r.t, false, at, err)) ||
	    (rc = ds_store_interest_clear(s, pid, err)) || (rc = ds_store_tag_clear(s, pid, err)))
		goto done;
	for (size_t i = 0; i < r.ninterests && !rc; i++)
		rc = ds_store_interest_add(s, pid, r.interests[i], at, err);
	for (size_t i = 0; i < x->ntags && !rc; i++) {
		const fx_tag *t = &x->tags[i];
		ds_tag_row row = { .profile_id = pid, .tag = t->tag, .present = t->present,
				   .at = t->at, .case_id = t->case_id, .audit_id = t->audit_id };
		rc = ds_store_tag_put(s, &row, err);
	}
	if (rc || !d.attributes)
		goto done;
	/* The values transitions set, in place of those the profile held. */
	strip_effects(stored);
	attrs_union(stored, x->attrs);
	const char *text = attrs_text(r.a, stored);
	const int64_t zero = 0;
	rc = text ? ds_store_profile_update(s, pid, text, NULL, &zero, NULL, true, at, err)
		  : ds_err_set(err, DS_ENOMEM, "out of memory");
done:
	cJSON_Delete(x->attrs);
	cJSON_Delete(stored);
	cJSON_Delete(kept);
	ds_arena_free(r.a);
	return rc;
}

/* ---- merging ---- */

int ds_profile_merge(ds_store *s, const ds_config *cfg, int64_t survivor, int64_t merged,
		     ds_time at, int64_t record_id, const char *reason, int64_t *merge_id,
		     ds_err *err)
{
	ds_profile_row a, b;
	ds_arena *ar = ds_arena_new(4096);
	cJSON *attrs = NULL, *battrs = NULL;
	const char *text;
	int rc;
	if (!ar)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if (survivor == merged) {
		rc = ds_err_set(err, DS_EREFUSED, "a profile cannot be merged into itself");
		goto done;
	}
	if ((rc = ds_store_profile_get(s, survivor, ar, &a, err)) ||
	    (rc = ds_store_profile_get(s, merged, ar, &b, err)))
		goto done;
	if (a.merged_into || b.merged_into) {
		rc = ds_err_set(err, DS_EREFUSED, "profile %" PRId64 " was merged into profile %" PRId64
				" already", a.merged_into ? survivor : merged,
				a.merged_into ? a.merged_into : b.merged_into);
		goto done;
	}
	if (a.forgotten_at || b.forgotten_at) {
		rc = ds_err_set(err, DS_EREFUSED, "profile %" PRId64 " is the pseudonym of a forgotten "
				"person: it is nobody's", a.forgotten_at ? survivor : merged);
		goto done;
	}
	ds_merge_row m = { .survivor = survivor, .merged = merged, .at = at,
			   .record_id = record_id, .reason = reason };
	const int64_t zero = 0;
	attrs = attrs_parse(a.attributes);
	battrs = attrs_parse(b.attributes);
	if (attrs && battrs)
		attrs_union(attrs, battrs);
	if (!attrs || !battrs || !(text = attrs_text(ar, attrs))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = ds_store_profile_merge(s, &m, err)) ||
	    (rc = ds_store_profile_update(s, survivor, text, NULL, &zero, NULL, true, at, err)) ||
	    (rc = ds_store_profile_settle(s, survivor, err)) ||
	    (rc = ds_profile_rebuild(s, cfg, survivor, at, true, NULL, err)))
		goto done;
	if (merge_id)
		*merge_id = m.id;
done:
	cJSON_Delete(attrs);
	cJSON_Delete(battrs);
	ds_arena_free(ar);
	return rc;
}

struct active_merge {
	int64_t pid;
	int64_t id;
	size_t count;
};

static int find_active(void *ud, const ds_merge_row *m)
{
	struct active_merge *c = ud;
	if (m->merged == c->pid && !m->undone_at)
		c->id = m->id;
	if (m->survivor == c->pid && !m->undone_at)
		c->count++;
	return 0;
}

int ds_profile_unmerge(ds_store *s, const ds_config *cfg, int64_t pid, ds_time at, ds_arena *a,
		       ds_merge_row *out, ds_err *err)
{
	ds_profile_row p;
	struct active_merge c = { pid, 0, 0 };
	int rc = ds_store_profile_get(s, pid, NULL, &p, err);
	if (!rc)
		rc = ds_store_merge_list(s, pid, find_active, &c, err);
	if (rc)
		return rc;
	if (!p.merged_into || !c.id)
		return ds_err_set(err, DS_EREFUSED, "profile %" PRId64 " is not merged into another%s",
				  pid, c.count ? " (profiles were merged into it: unmerge those "
				  "by their own ids, as `profile show` lists them)" : "");
	if ((rc = ds_store_profile_unmerge(s, c.id, at, a, out, err)) ||
	    (rc = ds_store_profile_get(s, out->survivor, a, &p, err)))
		return rc;
	/* The survivor keeps its values and those that came since; the
	 * merged profile gets back the values it had. */
	cJSON *attrs = attrs_parse(p.attributes), *brought = attrs_parse(out->attributes);
	if (attrs && brought)
		attrs_minus(attrs, brought);
	const char *text = attrs && brought ? attrs_text(a, attrs) : NULL;
	cJSON_Delete(attrs);
	cJSON_Delete(brought);
	if (!text)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	const int64_t zero = 0;
	if ((rc = ds_store_profile_update(s, out->survivor, text, NULL, &zero, NULL, true, at,
					  err)) ||
	    (rc = ds_store_profile_update(s, out->merged, out->attributes, NULL, &zero, NULL, true,
					  at, err)) ||
	    (rc = ds_store_profile_settle(s, out->survivor, err)) ||
	    (rc = ds_store_profile_settle(s, out->merged, err)) ||
	    (rc = ds_profile_rebuild(s, cfg, out->survivor, at, true, NULL, err)) ||
	    (rc = ds_profile_rebuild(s, cfg, out->merged, at, true, NULL, err)))
		return rc;
	return DS_OK;
}

/* ---- one record ---- */

/* The record's consent statements; created: pid was made with the mask
 * they leave (granted_mask). */
static int apply_consent(ds_runtime *rt, const ds_profile_block *b, int64_t pid,
			 const ds_profile_input *in, bool created, ds_err *err)
{
	for (size_t i = 0; b && i < b->nconsent; i++) {
		const cJSON *v = ds_json_dotted(in->record, b->consent[i].path);
		if (!cJSON_IsBool(v))
			continue;
		ds_consent_row r = { .profile_id = pid, .purpose = b->consent[i].purpose,
				     .channel = b->consent[i].channel, .granted = cJSON_IsTrue(v),
				     .at = in->at, .interaction_id = in->interaction_id,
				     .record_id = in->record_id, .source = in->source,
				     .in_mask = created };
		int rc = ds_store_consent_add(rt->store, &r, err);
		if (rc)
			return rc;
	}
	return DS_OK;
}

static int apply_interests(ds_runtime *rt, ds_arena *a, const ds_profile_block *b, int64_t pid,
			   const ds_profile_input *in, ds_err *err)
{
	if (!b || !b->ninterests)
		return DS_OK;
	rebuild r = { .cfg = rt->cfg, .a = a, .err = err };
	int rc = record_interests(&r, b, in->record);
	for (size_t i = 0; !rc && i < r.ninterests; i++)
		rc = ds_store_interest_add(rt->store, pid, r.interests[i], in->at, err);
	return rc;
}

/* Links the case of w to pid: what it counts moves from the profile it
 * had (computed again) to pid (added to *now, unless pid was created
 * counting it: fd). The record's timeline entry names the case. */
static int link_case(ds_runtime *rt, ds_case_work *w, int64_t pid, const lookup *fd,
		     ds_traits *now, ds_err *err)
{
	int64_t old = w->row.profile_id;
	int rc = ds_store_case_set_profile(rt->store, w->row.id, pid, err);
	w->row.profile_id = pid;
	if (!rc && old)
		rc = ds_profile_rebuild(rt->store, rt->cfg, old, rt->now, true, NULL, err);
	if (rc || !w->p->profile || !w->p->profile->ntraits)
		return rc;
	if (fd->counted) {
		w->counted = fd->born;
		w->counted_known = true;
		return DS_OK;
	}
	if ((rc = work_traits(w, &w->counted, err)))
		return rc;
	w->counted_known = true;
	add_traits(now, &w->counted);
	return DS_OK;
}

int ds_profile_record(ds_runtime *rt, ds_arena *a, const ds_profile_input *in, int64_t *out,
		      ds_err *err)
{
	const ds_profile_rules *rules = rt->cfg->profiles;
	ds_case_work *w = in->work;
	const ds_profile_block *pb = w ? w->p->profile : NULL;
	const ds_profile_block *rb = ds_profile_record_block(rules, in->record_type);
	facts *f = ds_arena_alloc(a, sizeof *f);
	int rc;
	*out = 0;
	if (!pb && !rb)
		return DS_OK;
	if (!f)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	f->nids = f->nattrs = 0;
	if (pb) {
		cJSON *data = NULL;
		if ((rc = ds_engine_data(w, &data, err)) ||
		    (rc = gather(rules, pb, data, in->source, a, f)))
			return rc;
	}
	if (rb && (rc = gather(rules, rb, in->record, in->source, a, f)))
		return rc;
	f->digest = attrs_digest(f, in->source);
	lookup fd;
	if ((rc = resolve(rt, a, f, w ? w->row.profile_id : 0, in, &fd, err)))
		return rc;
	int64_t pid = fd.pid;
	if (!pid)
		return DS_OK;
	ds_traits zero, now;
	memset(&zero, 0, sizeof zero);
	memset(&now, 0, sizeof now);
	/* A known profile's last interaction is written only when it moves;
	 * a new one has it, and the record's attributes, already. */
	if (!fd.created && (!fd.last || in->at > fd.last))
		now.v[DS_TRAIT_LAST_INTERACTION_AT] = in->at;
	/* A case this record links to pid brings what its transitions did:
	 * a case new with this record, its changes here; one that served
	 * another profile, everything (computed again below). */
	bool link = w && w->row.profile_id != pid;
	bool fresh = link && w->old_state < 0;
	fx_apply x = { .s = rt->store, .pid = pid, .a = a, .err = err };
	/* The attributes: nothing to do when the profile holds exactly what
	 * this record says (the same digest). */
	const char *attrs_out = NULL;
	int64_t digest = 0;
	bool new_digest = false;
	if (f->nattrs && !fd.created && (!f->digest || fd.digest != f->digest)) {
		ds_profile_row p;
		if (!fd.attrs && (rc = ds_store_profile_get(rt->store, pid, a, &p, err)))
			return rc;
		x.attrs = attrs_parse(fd.attrs ? fd.attrs : p.attributes);
		rc = x.attrs ? attrs_apply(x.attrs, f, in, ds_profile_trust(rules, in->source),
					   &x.changed)
			     : DS_ENOMEM;
		digest = x.attrs && attrs_hold(x.attrs, f) ? f->digest : 0;
		new_digest = digest != fd.digest;
		if (rc) {
			cJSON_Delete(x.attrs);
			return ds_err_set(err, rc, "out of memory");
		}
	}
	if ((link && (rc = link_case(rt, w, pid, &fd, &now, err))) ||
	    (fresh && (rc = effects_of_work(&x, w)))) {
		cJSON_Delete(x.attrs);
		return rc;
	}
	/* Values a transition set leave the record's digest behind. */
	if (x.set) {
		digest = 0;
		new_digest = fd.digest != 0;
	}
	const ds_attr_values *cur = NULL;
	if (x.changed && x.attrs && !(attrs_out = attrs_text(a, x.attrs)))
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	else if (attrs_out)
		cur = attrs_current(a, x.attrs);
	cJSON_Delete(x.attrs);
	if (rc ||
	    (rc = apply_consent(rt, rb, pid, in, fd.created, err)) ||
	    (rc = apply_interests(rt, a, rb, pid, in, err)) ||
	    (in->record_id &&
	     (rc = ds_store_timeline_add(rt->store, pid, "record", in->record_id, in->at, err))) ||
	    (rc = update_profile(rt->store, rt->cfg, pid, attrs_out, cur,
				 new_digest ? &digest : NULL, &zero, &now, in->at, err)) ||
	    (link && !fresh && (rc = ds_profile_rebuild(rt->store, rt->cfg, pid, in->at, true, NULL,
							err))))
		return rc;
	*out = pid;
	return DS_OK;
}

/* ---- references ---- */

bool ds_profile_ref_id(const char *ref, int64_t *id)
{
	size_t n = strspn(ref, "0123456789");
	if (!n || ref[n] || ref[0] == '0' || n > 18)
		return false;
	*id = strtoll(ref, NULL, 10);
	return true;
}

/* Whether ref is written as a phone: a + or a 0 first (an international
 * or a national number), then digits and the separators people type. */
static bool phone_like(const char *ref)
{
	if (*ref != '+' && *ref != '0')
		return false;
	for (const char *p = ref + 1; *p; p++)
		if (!(*p >= '0' && *p <= '9') && !strchr(" .-/()", *p))
			return false;
	return true;
}

/* A phone as a source reads one: a French number in any of its forms
 * (phone_fr), else any international one (+44 20 7946 0000, 0044...), in
 * E.164; NULL when it is neither (or out of memory). */
static const char *phone_e164(ds_arena *a, const char *raw)
{
	const char *v = NULL;
	char buf[DS_ID_MAX];
	ds_normalizer_fn fr = ds_normalizer("phone_fr");
	if (fr && !fr(a, raw, &v, NULL))
		return v;
	return ds_id_phone_normalize(raw, buf, NULL) ? NULL : ds_arena_strdup(a, buf);
}

/* What ds_profile_find says of a reference in none of its forms. */
static int no_form(const ds_config *cfg, const char *ref, ds_err *err)
{
	char kinds[256] = "";
	for (size_t i = 0; i < cfg->profiles->nkinds; i++) {
		const ds_identity_kind *k = &cfg->profiles->kinds[i];
		snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s:%s", i ? ", " : "",
			 k->name, k->per_source ? "SOURCE:VALUE" : "VALUE");
	}
	return ds_err_set(err, DS_ENOTFOUND, "\"%.100s\" names no profile: give a profile id (as "
			  "`profile list` prints it), an email, a phone (+33612345678, 06 12 34 56 78)"
			  " or one of %s", ref, kinds);
}

int ds_profile_find(ds_store *s, const ds_config *cfg, ds_arena *a, const char *ref,
		    int64_t *pid, ds_err *err)
{
	int64_t id;
	if (ds_profile_ref_id(ref, &id)) {
		int rc = ds_profile_root(s, id, pid, err);
		if (rc != DS_ENOTFOUND)
			return rc;
		return ds_err_set(err, rc, "no profile %" PRId64 "%s", id, strlen(ref) >= 9
				  ? " (a phone is written with its + or its 0: +33612345678,"
				    " 0612345678; a SIRET as siret:NUMBER)" : "");
	}
	const char *kind = NULL, *scope = "", *value = ref;
	const char *colon = strchr(ref, ':');
	char *k = colon ? ds_arena_strndup(a, ref, (size_t)(colon - ref)) : NULL;
	if (k && ds_profile_kind(cfg->profiles, k)) {
		kind = k;
		value = colon + 1;
	} else if (strchr(ref, '@')) {
		kind = "email";
	} else if (phone_like(ref)) {
		kind = "phone";
	}
	const ds_identity_kind *ik = kind ? ds_profile_kind(cfg->profiles, kind) : NULL;
	if (!ik)
		return no_form(cfg, ref, err);
	if (ik->per_source) {
		const char *c2 = strchr(value, ':');
		if (!c2)
			return ds_err_set(err, DS_ENOTFOUND, "%s is per source: write %s:SOURCE:%.100s,"
					  " SOURCE the source that sent it", kind, kind, value);
		scope = ds_arena_strndup(a, value, (size_t)(c2 - value));
		value = c2 + 1;
	}
	/* A phone is read as the sources read one before its kind's own
	 * normalizers run, as they did on the record's E.164 value. */
	if (scope && !strcmp(kind, "phone")) {
		const char *e164 = phone_e164(a, value);
		if (!e164)
			return ds_err_set(err, DS_ENOTFOUND, "%.100s is no phone number (+33612345678,"
					  " 06 12 34 56 78, +44 20 7946 0000)", value);
		value = e164;
	}
	const char *norm = NULL;
	int rc = scope ? normalize(a, (const char *const *)ik->normalize, ik->nnormalize, value,
				   &norm)
		       : DS_ENOMEM;
	if (rc == DS_EINVAL)
		return ds_err_set(err, DS_ENOTFOUND, "no profile holds %s %.100s", kind, value);
	if (rc)
		return ds_err_set(err, rc, "out of memory");
	hits h = { .n = 0 }, *hp = &h;
	ds_identity_key key = { .kind = kind, .scope = scope, .value = norm };
	if ((rc = find_roots(s, NULL, 0, &key, 1, &hp, err)))
		return rc;
	if (!h.n)
		return ds_err_set(err, DS_ENOTFOUND, "no profile holds %s %s", kind, norm);
	if (h.n > 1)
		return ds_err_set(err, DS_ENOTFOUND, "%s %s is held by %zu%s profiles (%" PRId64 ", %"
				  PRId64 "%s%s): name one by its id", kind, norm, h.n,
				  h.n == MAX_HITS ? " or more" : "", h.v[0], h.v[1],
				  h.n > 2 ? ", ..." : "",
				  ds_profile_is_shared(ik, norm) ? "; a shared number" : "");
	*pid = h.v[0];
	return DS_OK;
}
