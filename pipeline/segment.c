/*
 * segment.c - segment definitions, their compilation into the store's
 * query, and exports; see segment.h.
 *
 * The compiler walks the filter's syntax tree once. 'not' is pushed down
 * to the leaves (De Morgan), so each leaf says itself whether it holds or
 * not, a field without a value included ("!=" is the negation of "=", as
 * in the evaluator). Comparisons become bounds in the store's own units:
 * a count or money (in cents) compared with a decimal becomes an integer
 * bound (orders_count > 2.5 is orders_count >= 3); days_since(x) op N
 * becomes a window on x, exact to the second under the evaluator's
 * truncation of days toward zero; a time compared with a string as the
 * evaluator does it, bytewise on the ISO text, becomes the first second
 * whose text passes (found by bisection, the text being fixed-width).
 */
#include "segment.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "json.h"

/* ---- loading ---- */

static const char *const channels[] = { "email", "sms", "post", "phone", NULL };

static void free_column(ds_segment_column *c)
{
	ds_free(c->field);
	ds_free(c->header);
	ds_free(c->arg);
	ds_strv_free(c->keys, c->nkeys);
}

void ds_segment_free(ds_segment *s)
{
	if (!s)
		return;
	ds_free(s->file);
	ds_free(s->name);
	ds_free(s->title);
	ds_free(s->description);
	ds_free(s->filter_src);
	ds_expr_free(s->filter);
	ds_free(s->purpose);
	ds_free(s->channel);
	for (size_t i = 0; i < s->ncolumns; i++)
		free_column(&s->columns[i]);
	ds_free(s->columns);
	ds_free(s->reads);
	ds_free(s);
}

static bool is_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* Splits a dotted field into its segments (in a). */
static size_t split(ds_arena *a, const char *field, const char **segs, size_t max)
{
	size_t n = 0;
	const char *p = field;
	while (n < max) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!(segs[n++] = ds_arena_strndup(a, p, len)))
			return 0;
		if (!dot)
			break;
		p = dot + 1;
	}
	return n;
}

/* The store column that holds what kind/arg/trait read, added once. */
static int add_read(ds_segment *s, ds_segc_kind kind, const char *arg, int trait, size_t *cell)
{
	for (size_t i = 0; i < s->nreads; i++) {
		const ds_seg_column *r = &s->reads[i];
		if (r->kind == kind && r->trait == trait &&
		    ((!r->arg && !arg) || (r->arg && arg && !strcmp(r->arg, arg)))) {
			*cell = i;
			return DS_OK;
		}
	}
	s->reads[s->nreads] = (ds_seg_column){ .kind = kind, .arg = arg, .trait = trait };
	*cell = s->nreads++;
	return DS_OK;
}

/* Reads one column: what it names and where the store puts it. */
static int load_column(ds_segment *s, const cJSON *j, const ds_profile_rules *rules,
		       const char *file, const char *path, ds_diag *diag, bool *ok)
{
	const cJSON *field = cJSON_IsString(j) ? j : cJSON_GetObjectItemCaseSensitive(j, "field");
	const cJSON *header = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "header")
						: NULL;
	*ok = false;
	if (cJSON_IsObject(j)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, j)
			if (strcmp(it->string, "field") && strcmp(it->string, "header") &&
			    strcmp(it->string, "description"))
				ds_diag_error(diag, file, path, "unknown member \"%s\"", it->string);
	}
	if (!cJSON_IsString(field) || !*field->valuestring ||
	    (header && (!cJSON_IsString(header) || !*header->valuestring))) {
		ds_diag_error(diag, file, path, "a column is a field (\"attributes.name\") or "
			      "{\"field\": F, \"header\": H}");
		return DS_OK;
	}
	ds_arena *a = ds_arena_new(1024);
	const char *segs[16];
	size_t n = a ? split(a, field->valuestring, segs, 16) : 0;
	if (!n) {
		ds_arena_free(a);
		return DS_ENOMEM;
	}
	size_t i0 = !strcmp(segs[0], "profile") && n > 1 ? 1 : 0;
	const char *root = segs[i0];
	size_t rest = n - i0 - 1;
	ds_segment_column *c = &s->columns[s->ncolumns];
	memset(c, 0, sizeof *c);
	c->trait = -1;
	int rc = DS_OK;
	bool known = true;
	if (!strcmp(root, "id") && !rest) {
		c->kind = DS_SEGC_ID;
	} else if (!strcmp(root, "attributes") && rest) {
		c->kind = DS_SEGC_ATTRIBUTES;
		c->nkeys = rest;
		if (!(c->keys = ds_calloc(rest, sizeof *c->keys)))
			rc = DS_ENOMEM;
		for (size_t k = 0; !rc && k < rest; k++)
			if (!(c->keys[k] = ds_strdup(segs[i0 + 1 + k])))
				rc = DS_ENOMEM;
	} else if (!strcmp(root, "traits") && rest == 1 && ds_trait_index(segs[i0 + 1]) >= 0) {
		c->kind = DS_SEGC_TRAIT;
		c->trait = ds_trait_index(segs[i0 + 1]);
	} else if (!strcmp(root, "tags") && !rest) {
		c->kind = DS_SEGC_TAGS;
	} else if (!strcmp(root, "tags") && rest == 1 && ds_profile_tag_ok(segs[i0 + 1])) {
		c->kind = DS_SEGC_TAG_AT;
		rc = (c->arg = ds_strdup(segs[i0 + 1])) ? DS_OK : DS_ENOMEM;
	} else if (!strcmp(root, "interests") && !rest) {
		c->kind = DS_SEGC_INTERESTS;
	} else if (!rest && (rules ? ds_profile_kind(rules, root) != NULL : is_name(root, 32))) {
		c->kind = DS_SEGC_IDENTITY;
		rc = (c->arg = ds_strdup(root)) ? DS_OK : DS_ENOMEM;
	} else {
		known = false;
	}
	ds_arena_free(a);
	if (!rc && !known) {
		ds_diag_error(diag, file, path, "unknown column \"%s\": a column is id, an identity "
			      "kind of schemas/profiles.json (email, phone...), attributes.NAME, "
			      "traits.NAME, tags, tags.NAME or interests", field->valuestring);
		free_column(c);
		return DS_OK;
	}
	if (!rc && (!(c->field = ds_strdup(field->valuestring)) ||
		    !(c->header = ds_strdup(header ? header->valuestring : field->valuestring))))
		rc = DS_ENOMEM;
	if (!rc)
		rc = add_read(s, c->kind, c->arg, c->trait, &c->cell);
	if (rc) {
		free_column(c);
		return rc;
	}
	s->ncolumns++;
	*ok = true;
	return DS_OK;
}

static int load_columns(ds_segment *s, const cJSON *cols, const ds_profile_rules *rules,
			const char *file, ds_diag *diag)
{
	static const char *const defaults[] = { "id", "email", "attributes.name" };
	cJSON *def = NULL;
	if (!cols) {
		if (!(def = cJSON_CreateStringArray(defaults, 3)))
			return DS_ENOMEM;
		cols = def;
	}
	size_t n = cJSON_IsArray(cols) ? (size_t)cJSON_GetArraySize(cols) : 0;
	if (!n || n > DS_SEGMENT_MAX_COLUMNS) {
		ds_diag_error(diag, file, "/columns", "\"columns\" is a list of 1 to %d fields",
			      DS_SEGMENT_MAX_COLUMNS);
		cJSON_Delete(def);
		return DS_OK;
	}
	s->columns = ds_calloc(n, sizeof *s->columns);
	s->reads = ds_calloc(n, sizeof *s->reads);
	int rc = s->columns && s->reads ? DS_OK : DS_ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cols) {
		char p[64];
		bool ok;
		snprintf(p, sizeof p, "/columns/%zu", i++);
		if (rc || (rc = load_column(s, it, rules, file, p, diag, &ok)))
			break;
		for (size_t k = 0; ok && k + 1 < s->ncolumns; k++)
			if (!strcmp(s->columns[k].header, s->columns[s->ncolumns - 1].header))
				ds_diag_error(diag, file, p, "two columns are headed \"%s\"",
					      s->columns[k].header);
	}
	cJSON_Delete(def);
	return rc;
}

static char *dup_member(const cJSON *doc, const char *key, int *rc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	char *s = cJSON_IsString(v) ? ds_strdup(v->valuestring) : NULL;
	if (cJSON_IsString(v) && !s)
		*rc = DS_ENOMEM;
	return s;
}

static int load_doc(ds_segment *s, const cJSON *doc, const ds_profile_rules *rules,
		    const char *file, ds_diag *diag, ds_err *err)
{
	static const char *const known[] = { "name", "title", "description", "filter", "consent",
					     "columns", NULL };
	if (!cJSON_IsObject(doc)) {
		ds_diag_error(diag, file, "", "a segment is a JSON object");
		return DS_OK;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, doc) {
		size_t k = 0;
		while (known[k] && strcmp(known[k], it->string))
			k++;
		if (!known[k]) {
			char p[300] = "/";
			ds_json_pointer_escape(it->string, p + 1, sizeof p - 1);
			ds_diag_error(diag, file, p, "unknown member \"%s\"", it->string);
		}
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	if (name && (!cJSON_IsString(name) || strcmp(name->valuestring, s->name)))
		ds_diag_error(diag, file, "/name", "\"name\" must be the file's name, \"%s\"", s->name);
	int rc = DS_OK;
	s->title = dup_member(doc, "title", &rc);
	s->description = dup_member(doc, "description", &rc);
	const cJSON *filter = cJSON_GetObjectItemCaseSensitive(doc, "filter");
	if (!cJSON_IsString(filter) || !*filter->valuestring) {
		ds_diag_error(diag, file, "/filter", "\"filter\" is required: an expression over "
			      "the profile (\"traits.orders_count > 0\")");
	} else if (!(s->filter_src = ds_strdup(filter->valuestring))) {
		rc = DS_ENOMEM;
	} else {
		ds_err e = {0};
		int prc = ds_expr_parse(s->filter_src, &s->filter, &e);
		if (prc == DS_ENOMEM)
			rc = prc;
		else if (prc)
			ds_diag_error(diag, file, "/filter", "%s", e.msg);
	}
	const cJSON *consent = cJSON_GetObjectItemCaseSensitive(doc, "consent");
	const cJSON *pu = cJSON_GetObjectItemCaseSensitive(consent, "purpose");
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(consent, "channel");
	size_t c = 0;
	while (cJSON_IsString(ch) && channels[c] && strcmp(channels[c], ch->valuestring))
		c++;
	if (!cJSON_IsObject(consent)) {
		ds_diag_error(diag, file, "/consent", "\"consent\" is required: the purpose and "
			      "channel an export needs ({\"purpose\": \"marketing\", \"channel\": "
			      "\"email\"})");
	} else {
		cJSON_ArrayForEach(it, consent)
			if (strcmp(it->string, "purpose") && strcmp(it->string, "channel"))
				ds_diag_error(diag, file, "/consent", "unknown member \"%s\"",
					      it->string);
		if (!cJSON_IsString(pu) || !is_name(pu->valuestring, 63))
			ds_diag_error(diag, file, "/consent/purpose", "\"purpose\" is a word such as "
				      "\"marketing\"");
		if (!cJSON_IsString(ch) || !channels[c])
			ds_diag_error(diag, file, "/consent/channel", "\"channel\" is email, sms, "
				      "post or phone");
		if (!rc && cJSON_IsString(pu) && cJSON_IsString(ch) &&
		    (!(s->purpose = ds_strdup(pu->valuestring)) ||
		     !(s->channel = ds_strdup(ch->valuestring))))
			rc = DS_ENOMEM;
	}
	if (!rc)
		rc = load_columns(s, cJSON_GetObjectItemCaseSensitive(doc, "columns"), rules, file,
				  diag);
	if (rc)
		return ds_err_set(err, rc, "out of memory");
	return DS_OK;
}

int ds_segment_load(const char *path, const ds_profile_rules *rules, ds_diag *diag,
		    ds_segment **out, ds_err *err)
{
	*out = NULL;
	size_t before = diag->errors;
	ds_segment *s = ds_calloc(1, sizeof *s);
	if (!s || !(s->file = ds_strdup(path))) {
		ds_free(s);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".json"))
		len -= 5;
	if (!(s->name = ds_calloc(len + 1, 1))) {
		ds_segment_free(s);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	memcpy(s->name, base, len);
	if (!is_name(s->name, 63))
		ds_diag_error(diag, path, "", "a segment's file is named with a-z, 0-9, _ and - "
			      "(\"%s\" is not)", s->name);
	cJSON *doc = ds_json_load_file(path, diag);
	int rc = doc ? load_doc(s, doc, rules, path, diag, err) : DS_OK;
	cJSON_Delete(doc);
	if (!rc && s->filter) {
		/* Whatever does not compile is known now: the times do not
		 * change what compiles. */
		ds_arena *a = ds_arena_new(4096);
		ds_seg_query q;
		ds_err e = {0};
		rc = a ? ds_segment_query(s, 0, a, &q, &e) : DS_ENOMEM;
		if (rc && rc != DS_ENOMEM) {
			ds_diag_error(diag, path, "/filter", "%s", e.msg);
			rc = DS_OK;
		}
		ds_arena_free(a);
		if (rc)
			ds_err_set(err, rc, "out of memory");
	}
	if (rc || diag->errors > before) {
		ds_segment_free(s);
		return rc ? rc : ds_err_set(err, DS_ECONFIG, "%s: the segment has errors", path);
	}
	*out = s;
	return DS_OK;
}

/* ---- checks against the configuration ---- */

struct tag_reads {
	const ds_process *const *processes;
	size_t nprocesses;
	const ds_segment *s;
	ds_diag *diag;
};

static bool tag_added(const ds_process *const *ps, size_t n, const char *tag)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ps[i]->nstates; k++) {
			const ds_profile_effects *e = ps[i]->states[k].effects;
			for (size_t t = 0; e && t < e->ntags; t++)
				if (!strcmp(e->tags[t], tag))
					return true;
		}
	return false;
}

static void check_tag(const struct tag_reads *t, const char *tag, const char *path)
{
	if (!tag_added(t->processes, t->nprocesses, tag))
		ds_diag_warn(t->diag, t->s->file, path, "no state of any process adds tag \"%s\": "
			     "%s", tag, strcmp(path, "/filter") ? "the column stays empty"
							       : "the condition never holds");
}

/* Tags the filter names: tags.NAME, and "NAME" in tags. */
static void filter_tags(const struct tag_reads *t, const ds_expr_node *n)
{
	if (n->kind == DS_EXPR_PATH) {
		const char *const *sg = n->v.path.segs;
		size_t i = n->v.path.nsegs > 1 && !strcmp(sg[0], "profile") ? 1 : 0;
		if (n->v.path.nsegs == i + 2 && !strcmp(sg[i], "tags"))
			check_tag(t, sg[i + 1], "/filter");
	}
	if ((n->kind == DS_EXPR_IN || n->kind == DS_EXPR_CONTAINS) && n->nkids == 2) {
		const ds_expr_node *lit = n->kids[n->kind == DS_EXPR_IN ? 0 : 1];
		const ds_expr_node *list = n->kids[n->kind == DS_EXPR_IN ? 1 : 0];
		const char *const *sg = list->kind == DS_EXPR_PATH ? list->v.path.segs : NULL;
		size_t ns = sg ? list->v.path.nsegs : 0;
		size_t i = ns > 1 && !strcmp(sg[0], "profile") ? 1 : 0;
		if (lit->kind == DS_EXPR_STRING && ns == i + 1 && !strcmp(sg[i], "tags"))
			check_tag(t, lit->v.string.s, "/filter");
	}
	for (size_t i = 0; i < n->nkids; i++)
		filter_tags(t, n->kids[i]);
}

void ds_segment_check(const ds_segment *s, const ds_process *const *processes,
		      size_t nprocesses, const ds_profile_rules *rules, ds_diag *diag)
{
	for (size_t i = 0; i < s->ncolumns; i++) {
		const ds_segment_column *c = &s->columns[i];
		char p[64];
		snprintf(p, sizeof p, "/columns/%zu", i);
		struct tag_reads t = { processes, nprocesses, s, diag };
		if (c->kind == DS_SEGC_TAG_AT)
			check_tag(&t, c->arg, p);
	}
	struct tag_reads t = { processes, nprocesses, s, diag };
	if (s->filter)
		filter_tags(&t, ds_expr_root(s->filter));
	/* Consent is stated by the records of a record block. */
	bool stated = false;
	for (size_t r = 0; rules && r < rules->nrecords && !stated; r++) {
		const ds_profile_block *b = rules->records[r].block;
		for (size_t k = 0; b && k < b->nconsent && !stated; k++)
			stated = !strcmp(b->consent[k].purpose, s->purpose) &&
				 !strcmp(b->consent[k].channel, s->channel);
	}
	if (s->purpose && !stated)
		ds_diag_warn(diag, s->file, "/consent", "no record states consent for %s by %s "
			     "(schemas/profiles.json): nothing would ever be exported", s->purpose,
			     s->channel);
}

/* ---- compiling the filter ---- */

typedef struct comp {
	const ds_expr *e;
	ds_time now;
	ds_arena *a;
	ds_err *err;
} comp;

/* What a path of the filter names. */
typedef enum { R_ID, R_TRAIT, R_ATTR, R_TAGS, R_TAG_AT, R_INTERESTS, R_CONSENT } rkind;

typedef struct ref {
	rkind kind;
	ds_seg_field field;          /* R_ID, R_TRAIT, R_ATTR */
	const char *tag;
	const char *purpose, *channel;
} ref;

static int cerr(const comp *c, const ds_expr_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cerr(const comp *c, const ds_expr_node *n, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n->line > 1)
		return ds_err_set(c->err, DS_EINVAL, "line %u, column %u: %s", n->line, n->column,
				  msg);
	return ds_err_set(c->err, DS_EINVAL, "column %u: %s", n->column, msg);
}

static int nomem(const comp *c)
{
	return ds_err_set(c->err, DS_ENOMEM, "out of memory");
}

static ds_seg_node *mk(const comp *c, ds_seg_kind kind, bool neg)
{
	ds_seg_node *n = ds_arena_alloc(c->a, sizeof *n);
	if (n) {
		memset(n, 0, sizeof *n);
		n->kind = kind;
		n->neg = neg;
	}
	return n;
}

/* TRUE or FALSE: whether a constant condition holds (xor neg). */
static int constant(const comp *c, bool holds, bool neg, ds_seg_node **out)
{
	*out = mk(c, holds != neg ? DS_SEG_TRUE : DS_SEG_FALSE, false);
	return *out ? DS_OK : nomem(c);
}

/* The JSON path of an attribute's current value, and the keys inside. */
static const char *attr_path(const comp *c, const char *const *keys, size_t n)
{
	ds_buf b;
	ds_buf_init(&b, 4096);
	int rc = ds_buf_puts(&b, "$.");
	for (size_t i = 0; i < n && !rc; i++) {
		rc = ds_buf_puts(&b, i ? "." : "");
		if (!rc)
			rc = ds_buf_json_string(&b, keys[i]);
		if (!rc && !i)
			rc = ds_buf_puts(&b, "[0].value");
	}
	const char *p = rc ? NULL : ds_arena_strndup(c->a, b.data, b.len);
	ds_buf_free(&b);
	return p;
}

static const char *const fields_help = "a segment filters on id, attributes.NAME, "
	"traits.NAME, tags, tags.NAME, interests and consent.PURPOSE.CHANNEL";

static int resolve(const comp *c, const ds_expr_node *n, ref *r)
{
	const char *const *sg = n->v.path.segs;
	size_t ns = n->v.path.nsegs, i = ns > 1 && !strcmp(sg[0], "profile") ? 1 : 0;
	size_t rest = ns - i - 1;
	const char *root = sg[i];
	memset(r, 0, sizeof *r);
	if (!strcmp(root, "id") && !rest) {
		r->kind = R_ID;
		r->field.kind = DS_SEGF_ID;
	} else if (!strcmp(root, "traits") && rest == 1) {
		int t = ds_trait_index(sg[i + 1]);
		if (t < 0)
			return cerr(c, n, "unknown trait \"%s\" (orders_count, total_spent, "
				    "last_order_at, offers_sent, offers_accepted, offers_rejected, "
				    "open_complaints, last_interaction_at)", sg[i + 1]);
		r->kind = R_TRAIT;
		r->field.kind = DS_SEGF_TRAIT;
		r->field.trait = t;
	} else if (!strcmp(root, "attributes") && rest) {
		r->kind = R_ATTR;
		r->field.kind = DS_SEGF_ATTR;
		r->field.attr = sg[i + 1];
		r->field.whole = rest == 1;
		if (!(r->field.path = attr_path(c, sg + i + 1, rest)))
			return nomem(c);
	} else if (!strcmp(root, "tags") && rest <= 1) {
		r->kind = rest ? R_TAG_AT : R_TAGS;
		r->tag = rest ? sg[i + 1] : NULL;
		if (rest && !ds_profile_tag_ok(r->tag))
			return cerr(c, n, "\"%s\" is no tag (a-z, then a-z, 0-9 and _)", r->tag);
	} else if (!strcmp(root, "interests") && !rest) {
		r->kind = R_INTERESTS;
	} else if (!strcmp(root, "consent") && rest == 2) {
		size_t k = 0;
		while (channels[k] && strcmp(channels[k], sg[i + 2]))
			k++;
		if (!channels[k])
			return cerr(c, n, "consent.%s.%s: the channel is email, sms, post or phone",
				    sg[i + 1], sg[i + 2]);
		r->kind = R_CONSENT;
		r->purpose = sg[i + 1];
		r->channel = sg[i + 2];
	} else {
		char all[256] = "";
		for (size_t k = 0; k < ns; k++)
			snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", k ? "." : "",
				 sg[k]);
		return cerr(c, n, "unknown field \"%s\": %s", all, fields_help);
	}
	return DS_OK;
}

/* ---- exact bounds ---- */

/* Exact arithmetic on bounds: days times seconds, decimals times 100. */
__extension__ typedef __int128 wide;

/* A value as the fraction num / den (den > 0). */
typedef struct frac {
	wide num, den;
} frac;

static frac frac_dec(ds_dec d)
{
	frac f = { d.units, 1 };
	for (int i = 0; i < d.scale; i++)
		f.den *= 10;
	return f;
}

static wide floor_div(wide a, wide b)
{
	wide q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp64(wide v)
{
	return v > INT64_MAX / 4 ? INT64_MAX / 4 : v < -(INT64_MAX / 4) ? -(INT64_MAX / 4)
									: (int64_t)v;
}

/* For x an integer: x op f as lo <= x <= hi (has_*: that side bounds);
 * false when nothing satisfies it (= with a fraction). */
static bool int_bounds(int op, frac f, int64_t *lo, bool *has_lo, int64_t *hi, bool *has_hi)
{
	wide fl = floor_div(f.num, f.den), ce = -floor_div(-f.num, f.den);
	*has_lo = *has_hi = false;
	switch (op) {
	case DS_SEG_OP_GT:
		*lo = clamp64(fl + 1), *has_lo = true;
		return true;
	case DS_SEG_OP_GE:
		*lo = clamp64(ce), *has_lo = true;
		return true;
	case DS_SEG_OP_LT:
		*hi = clamp64(ce - 1), *has_hi = true;
		return true;
	case DS_SEG_OP_LE:
		*hi = clamp64(fl), *has_hi = true;
		return true;
	default:
		if (fl != ce)
			return false;
		*lo = *hi = clamp64(fl);
		*has_lo = *has_hi = true;
		return true;
	}
}

/* The latest t with days_since(t) >= m at now: the evaluator's whole days,
 * (now - t) / 86400 truncated toward zero. */
static int64_t days_upper(ds_time now, int64_t m)
{
	wide u = m >= 1 ? (wide)now - (wide)m * 86400
			    : (wide)now - ((wide)m - 1) * 86400 - 1;
	return clamp64(u);
}

/* The days (since 1970-01-01) of 0000-03-01 and 9999-12-31: the dates a
 * "YYYY-MM-DD" text can hold. */
#define DAY_MIN (-719468)
#define DAY_MAX 2932896

/* A window [lo, hi] of times, either side open. */
typedef struct window {
	int64_t lo, hi;
	bool has_lo, has_hi;
	bool empty;
} window;

/* days_since(t) op f as a window on t. */
static window days_window(ds_time now, int op, frac f)
{
	window w = { 0 };
	int64_t dlo, dhi;
	bool hl, hh;
	if (!int_bounds(op, f, &dlo, &hl, &dhi, &hh)) {
		w.empty = true;
		return w;
	}
	if (hl) {
		w.hi = days_upper(now, dlo);
		w.has_hi = true;
	}
	if (hh) {
		w.lo = days_upper(now, dhi + 1) + 1;
		w.has_lo = true;
	}
	return w;
}

static int op_of(ds_expr_op op)
{
	switch (op) {
	case DS_EXPR_LT: return DS_SEG_OP_LT;
	case DS_EXPR_LE: return DS_SEG_OP_LE;
	case DS_EXPR_GT: return DS_SEG_OP_GT;
	case DS_EXPR_GE: return DS_SEG_OP_GE;
	default: return DS_SEG_OP_EQ;
	}
}

static int flip(int op)
{
	switch (op) {
	case DS_SEG_OP_LT: return DS_SEG_OP_GT;
	case DS_SEG_OP_LE: return DS_SEG_OP_GE;
	case DS_SEG_OP_GT: return DS_SEG_OP_LT;
	case DS_SEG_OP_GE: return DS_SEG_OP_LE;
	default: return op;
	}
}

/* The first second whose ISO 8601 text compares with s as op wants
 * (bytewise, as the evaluator compares two strings): the texts of
 * 0000-01-01 to 9999-12-31 are fixed-width, so their order is time's. */
static int64_t first_text_at_least(const char *s, bool strict)
{
	int64_t lo = -62167219200, hi = 253402300800; /* 0000-01-01, 10000-01-01 */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		char buf[24];
		ds_time_format(mid, buf);
		int c = strcmp(buf, s);
		if (strict ? c > 0 : c >= 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* time op s, a string compared bytewise with the time's text, as a window. */
static window text_window(int op, const char *s)
{
	window w = { 0 };
	switch (op) {
	case DS_SEG_OP_GT:
		w.lo = first_text_at_least(s, true), w.has_lo = true;
		break;
	case DS_SEG_OP_GE:
		w.lo = first_text_at_least(s, false), w.has_lo = true;
		break;
	case DS_SEG_OP_LT:
		w.hi = first_text_at_least(s, false) - 1, w.has_hi = true;
		break;
	case DS_SEG_OP_LE:
		w.hi = first_text_at_least(s, true) - 1, w.has_hi = true;
		break;
	default:
		w.lo = first_text_at_least(s, false), w.has_lo = true;
		w.hi = first_text_at_least(s, true) - 1, w.has_hi = true;
		w.empty = w.hi < w.lo;
		break;
	}
	return w;
}

/* time op t as a window. */
static window time_window(int op, ds_time t)
{
	frac f = { t, 1 };
	window w = { 0 };
	int64_t lo, hi;
	bool hl, hh;
	int_bounds(op, f, &lo, &hl, &hi, &hh);
	w.lo = lo, w.has_lo = hl;
	w.hi = hi, w.has_hi = hh;
	return w;
}

/* ---- building leaves ---- */

static ds_seg_value *values(const comp *c, size_t n)
{
	ds_seg_value *v = ds_arena_alloc(c->a, (n ? n : 1) * sizeof *v);
	if (v)
		memset(v, 0, (n ? n : 1) * sizeof *v);
	return v;
}

static int cmp_leaf(const comp *c, const ds_seg_field *f, int op, ds_seg_value v, bool neg,
		    ds_seg_node **out)
{
	ds_seg_node *n = mk(c, DS_SEG_CMP, neg);
	ds_seg_value *vs = values(c, 1);
	if (!n || !vs)
		return nomem(c);
	vs[0] = v;
	n->field = *f;
	n->op = op;
	n->values = vs;
	n->nvalues = 1;
	*out = n;
	return DS_OK;
}

/* A window on a field holding times (seconds) or dates ("YYYY-MM-DD"
 * text, a date being its midnight), as one or two comparisons. */
static int window_leaf(const comp *c, const ds_seg_field *f, window w, bool neg,
		       ds_seg_node **out)
{
	if (w.empty || (w.has_lo && w.has_hi && w.lo > w.hi))
		return constant(c, false, neg, out);
	if (!w.has_lo && !w.has_hi) {
		ds_seg_node *n = mk(c, DS_SEG_SET, neg);
		if (!n)
			return nomem(c);
		n->field = *f;
		*out = n;
		return DS_OK;
	}
	bool date = f->kind == DS_SEGF_TRAIT && ds_trait_kind_of(f->trait) == DS_TRAIT_DATE;
	ds_seg_node *parts[2];
	size_t np = 0;
	for (int side = 0; side < 2; side++) {
		bool has = side ? w.has_hi : w.has_lo;
		if (!has)
			continue;
		int64_t t = side ? w.hi : w.lo;
		ds_seg_value v = { .type = DS_SEGV_INT, .i = t };
		if (date) {
			/* A date is its midnight: midnight(d) >= lo when d is at
			 * least lo's day rounded up; <= hi, hi's day rounded down. */
			int64_t day = side ? clamp64(floor_div(t, 86400))
					   : clamp64(-floor_div(-(wide)t, 86400));
			int y, m, d;
			if ((side && day < DAY_MIN) || (!side && day > DAY_MAX))
				return constant(c, false, neg, out);
			ds_civil_from_days(day < DAY_MIN ? DAY_MIN : day > DAY_MAX ? DAY_MAX : day,
					   &y, &m, &d);
			char *text = ds_arena_printf(c->a, "%04d-%02d-%02d", y, m, d);
			if (!text)
				return nomem(c);
			v = (ds_seg_value){ .type = DS_SEGV_TEXT, .text = text };
		}
		int rc = cmp_leaf(c, f, side ? DS_SEG_OP_LE : DS_SEG_OP_GE, v, neg, &parts[np++]);
		if (rc)
			return rc;
	}
	if (np == 1) {
		*out = parts[0];
		return DS_OK;
	}
	/* lo <= x <= hi; or, negated, x without a value or outside */
	ds_seg_node *n = mk(c, neg ? DS_SEG_OR : DS_SEG_AND, false);
	ds_seg_node **kids = ds_arena_alloc(c->a, 2 * sizeof *kids);
	if (!n || !kids)
		return nomem(c);
	kids[0] = parts[0];
	kids[1] = parts[1];
	n->kids = kids;
	n->nkids = 2;
	*out = n;
	return DS_OK;
}

static int tag_leaf(const comp *c, const char *tag, window w, bool neg, ds_seg_node **out)
{
	if (w.empty || (w.has_lo && w.has_hi && w.lo > w.hi))
		return constant(c, false, neg, out);
	ds_seg_node *n = mk(c, DS_SEG_TAG, neg);
	if (!n)
		return nomem(c);
	n->text = tag;
	n->lo = w.lo, n->has_lo = w.has_lo;
	n->hi = w.hi, n->has_hi = w.has_hi;
	*out = n;
	return DS_OK;
}

static int consent_leaf(const comp *c, const ref *r, int state, bool neg, ds_seg_node **out)
{
	ds_seg_node *n = mk(c, DS_SEG_CONSENT, neg);
	if (!n)
		return nomem(c);
	n->purpose = r->purpose;
	n->channel = r->channel;
	n->state = state;
	*out = n;
	return DS_OK;
}

static bool is_literal(const ds_expr_node *n)
{
	return n->kind == DS_EXPR_NULL || n->kind == DS_EXPR_BOOL || n->kind == DS_EXPR_NUMBER ||
	       n->kind == DS_EXPR_STRING || n->kind == DS_EXPR_DURATION || n->kind == DS_EXPR_NOW;
}

/* A literal read as a number, as the evaluator would against a number
 * (a string that parses); false when it is not one. */
static bool literal_frac(const ds_expr_node *lit, frac *f)
{
	ds_dec d;
	if (lit->kind == DS_EXPR_NUMBER) {
		*f = frac_dec(lit->v.number);
		return true;
	}
	if (lit->kind == DS_EXPR_STRING &&
	    !ds_dec_parse(lit->v.string.s, lit->v.string.len, &d)) {
		*f = frac_dec(d);
		return true;
	}
	if (lit->kind == DS_EXPR_DURATION) {
		/* a number against a duration counts days */
		*f = (frac){ ds_duration_seconds(lit->v.duration), 86400 };
		return true;
	}
	return false;
}

/* A time (a time trait, or a tag's time) compared with a literal, as a
 * window; false when the comparison never holds (not a time, nor text). */
static bool time_literal_window(const comp *c, const ds_expr_node *lit, int op, window *w)
{
	if (lit->kind == DS_EXPR_NOW)
		*w = time_window(op, c->now);
	else if (lit->kind == DS_EXPR_STRING)
		*w = text_window(op, lit->v.string.s);
	else
		return false;
	return true;
}

/* field op literal (field on the left). */
static int comp_cmp_field(const comp *c, const ds_expr_node *at, const ref *r, int op,
			  const ds_expr_node *lit, bool neg, ds_seg_node **out)
{
	frac f;
	int64_t lo, hi;
	bool hl, hh;
	if (lit->kind == DS_EXPR_NULL) {
		/* only "= null" holds, for a field without a value */
		if (op != DS_SEG_OP_EQ)
			return constant(c, false, neg, out);
		if (r->kind == R_TAG_AT)
			return tag_leaf(c, r->tag, (window){ 0 }, !neg, out);
		if (r->kind == R_CONSENT)
			return consent_leaf(c, r, -1, !neg, out);
		if (r->kind == R_TAGS || r->kind == R_INTERESTS || r->kind == R_ID ||
		    (r->kind == R_TRAIT && ds_trait_kind_of(r->field.trait) < DS_TRAIT_DATE))
			return constant(c, false, neg, out);
		return window_leaf(c, &r->field, (window){ 0 }, !neg, out);
	}
	switch (r->kind) {
	case R_TAGS:
	case R_INTERESTS:
		return cerr(c, at, "%s is a list: write \"NAME\" in %s", r->kind == R_TAGS ? "tags"
			    : "interests", r->kind == R_TAGS ? "tags" : "interests");
	case R_CONSENT:
		if (lit->kind != DS_EXPR_BOOL || op != DS_SEG_OP_EQ)
			return constant(c, false, neg, out);
		return consent_leaf(c, r, lit->v.boolean ? 1 : 0, neg, out);
	case R_TAG_AT: {
		window w;
		if (!time_literal_window(c, lit, op, &w))
			return constant(c, false, neg, out);
		return tag_leaf(c, r->tag, w, neg, out);
	}
	case R_ID:
		if (!literal_frac(lit, &f) || lit->kind == DS_EXPR_DURATION)
			return constant(c, false, neg, out);
		break;
	case R_TRAIT:
		switch (ds_trait_kind_of(r->field.trait)) {
		case DS_TRAIT_COUNT:
			if (!literal_frac(lit, &f))
				return constant(c, false, neg, out);
			break;
		case DS_TRAIT_CENTS:
			if (!literal_frac(lit, &f))
				return constant(c, false, neg, out);
			f.num *= 100;  /* money in cents */
			break;
		case DS_TRAIT_DATE:
			if (lit->kind == DS_EXPR_STRING) {
				/* text against the date's text, bytewise as the evaluator does */
				ds_seg_value v = { .type = DS_SEGV_TEXT, .text = lit->v.string.s };
				return cmp_leaf(c, &r->field, op, v, neg, out);
			}
			if (lit->kind != DS_EXPR_NOW)
				return constant(c, false, neg, out);
			return window_leaf(c, &r->field, time_window(op, c->now), neg, out);
		case DS_TRAIT_TIME: {
			window w;
			if (!time_literal_window(c, lit, op, &w))
				return constant(c, false, neg, out);
			return window_leaf(c, &r->field, w, neg, out);
		}
		}
		break;
	case R_ATTR:
		if (lit->kind == DS_EXPR_BOOL) {
			if (op != DS_SEG_OP_EQ)
				return constant(c, false, neg, out);
			ds_seg_node *n = mk(c, DS_SEG_BOOL, neg);
			ds_seg_value *vs = values(c, 1);
			if (!n || !vs)
				return nomem(c);
			vs[0] = (ds_seg_value){ .type = DS_SEGV_INT, .i = lit->v.boolean };
			n->field = r->field;
			n->values = vs;
			n->nvalues = 1;
			*out = n;
			return DS_OK;
		}
		if (lit->kind == DS_EXPR_STRING)
			return cmp_leaf(c, &r->field, op, (ds_seg_value){ .type = DS_SEGV_TEXT,
					.text = lit->v.string.s }, neg, out);
		if (lit->kind == DS_EXPR_NUMBER)
			return cmp_leaf(c, &r->field, op, (ds_seg_value){ .type = DS_SEGV_NUM,
					.num = lit->v.number }, neg, out);
		return cerr(c, lit, "an attribute compares with a string, a number, true, false "
			    "or null");
	}
	/* An integer column (id, a count, cents) against an exact fraction. */
	if (!int_bounds(op, f, &lo, &hl, &hi, &hh))
		return constant(c, false, neg, out);
	if (hl && hh && lo == hi)
		return cmp_leaf(c, &r->field, DS_SEG_OP_EQ, (ds_seg_value){ .type = DS_SEGV_INT,
				.i = lo }, neg, out);
	return cmp_leaf(c, &r->field, hl ? DS_SEG_OP_GE : DS_SEG_OP_LE,
			(ds_seg_value){ .type = DS_SEGV_INT, .i = hl ? lo : hi }, neg, out);
}

static int comp_node(const comp *c, const ds_expr_node *n, bool neg, ds_seg_node **out);

/* days_since(PATH) op literal. */
static int comp_days(const comp *c, const ds_expr_node *ds, int op, const ds_expr_node *lit,
		     bool neg, ds_seg_node **out)
{
	ref r;
	int rc = resolve(c, ds->kids[0], &r);
	if (rc)
		return rc;
	bool timed = r.kind == R_TAG_AT ||
		     (r.kind == R_TRAIT && ds_trait_kind_of(r.field.trait) >= DS_TRAIT_DATE);
	if (!timed)
		return cerr(c, ds, "days_since reads a date or a time: traits.last_order_at, "
			    "traits.last_interaction_at or tags.NAME");
	frac f;
	if (lit->kind == DS_EXPR_NULL)
		return comp_cmp_field(c, ds, &r, op, lit, neg, out);
	if (!literal_frac(lit, &f))
		return constant(c, false, neg, out);
	window w = days_window(c->now, op, f);
	if (r.kind == R_TAG_AT)
		return tag_leaf(c, r.tag, w, neg, out);
	return window_leaf(c, &r.field, w, neg, out);
}

static int comp_cmp(const comp *c, const ds_expr_node *n, bool neg, ds_seg_node **out)
{
	const ds_expr_node *left = n->kids[0], *right = n->kids[1];
	int op = op_of(n->op);
	if (n->op == DS_EXPR_NE)
		neg = !neg;
	if (is_literal(left) && !is_literal(right)) {
		const ds_expr_node *t = left;
		left = right;
		right = t;
		op = flip(op);
	}
	if (!is_literal(right))
		return cerr(c, n, "a segment compares a field with a value, not two fields");
	if (left->kind == DS_EXPR_DAYS_SINCE)
		return comp_days(c, left, op, right, neg, out);
	if (left->kind != DS_EXPR_PATH)
		return cerr(c, n, "a segment compares a field with a value");
	ref r;
	int rc = resolve(c, left, &r);
	return rc ? rc : comp_cmp_field(c, n, &r, op, right, neg, out);
}

/* LIT in tags / interests, or field in [LIT, ...]. */
static int comp_in(const comp *c, const ds_expr_node *n, bool neg, ds_seg_node **out)
{
	const ds_expr_node *item = n->kids[0], *list = n->kids[1];
	if (list->kind == DS_EXPR_PATH) {
		ref r;
		int rc = resolve(c, list, &r);
		if (rc)
			return rc;
		if (r.kind != R_TAGS && r.kind != R_INTERESTS)
			return cerr(c, list, "'in' takes a list: tags, interests or [values]");
		if (item->kind != DS_EXPR_STRING)
			return is_literal(item) ? constant(c, false, neg, out)
						: cerr(c, item, "write \"NAME\" in %s",
						       r.kind == R_TAGS ? "tags" : "interests");
		if (r.kind == R_TAGS) {
			if (!ds_profile_tag_ok(item->v.string.s))
				return constant(c, false, neg, out);
			return tag_leaf(c, item->v.string.s, (window){ 0 }, neg, out);
		}
		ds_seg_node *x = mk(c, DS_SEG_INTEREST, neg);
		if (!x)
			return nomem(c);
		x->text = item->v.string.s;
		*out = x;
		return DS_OK;
	}
	if (item->kind != DS_EXPR_PATH && item->kind != DS_EXPR_DAYS_SINCE)
		return cerr(c, n, "'in' tests a field: FIELD in [values], or \"NAME\" in tags");
	/* field in [a, b]: field = a or field = b */
	ds_seg_node *o = mk(c, neg ? DS_SEG_AND : DS_SEG_OR, false);
	ds_seg_node **kids = ds_arena_alloc(c->a, (list->nkids ? list->nkids : 1) * sizeof *kids);
	if (!o || !kids)
		return nomem(c);
	for (size_t i = 0; i < list->nkids; i++) {
		ds_expr_node eq = { .kind = DS_EXPR_CMP, .op = DS_EXPR_EQ, .line = n->line,
				    .column = n->column, .nkids = 2 };
		const ds_expr_node *two[2] = { item, list->kids[i] };
		eq.kids = two;
		int rc = comp_cmp(c, &eq, neg, &kids[i]);
		if (rc)
			return rc;
	}
	if (!list->nkids)
		return constant(c, false, neg, out);
	o->kids = kids;
	o->nkids = list->nkids;
	*out = list->nkids == 1 ? kids[0] : o;
	return DS_OK;
}

/* The literal prefixes every match of an anchored pattern starts with:
 * "^75" gives 75, "^(75|77|78)" gives 75, 77, 78; none (0) when the
 * pattern does not say. Each prefix comes with the bound just above it. */
static size_t regex_prefixes(const comp *c, const char *re, ds_seg_value *out, size_t max)
{
	char alt[16][64];
	size_t n = 0, len = 0;
	const char *p = re;
	if (*p++ != '^')
		return 0;
	bool group = *p == '(';
	if (group)
		p += !strncmp(p, "(?:", 3) ? 3 : 1;
	if (group && *p == '?')
		return 0;
	for (;; p++) {
		unsigned char ch = (unsigned char)*p;
		bool lit = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == ' ' || ch == '-' || ch == '_' ||
			   ch == '@' || ch == ',' || ch == ':' || ch == '/' || ch == '\'';
		if (lit && len < sizeof alt[0] - 1) {
			alt[n][len++] = (char)ch;
			continue;
		}
		/* A quantifier takes back the character before it. */
		if (ch == '?' || ch == '*' || ch == '{')
			len = len ? len - 1 : 0;
		alt[n][len] = '\0';
		if (!len || n >= 16)
			return 0;
		n++;
		len = 0;
		if (!group || ch == ')')
			break;
		if (ch != '|')
			return 0;
	}
	if (group) {
		char q = p[1];
		if (q == '?' || q == '*' || q == '{')
			return 0;
	}
	if (2 * n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char *lo = ds_arena_strdup(c->a, alt[i]), *hi = ds_arena_strdup(c->a, alt[i]);
		if (!lo || !hi)
			return 0;
		hi[strlen(hi) - 1]++;  /* ASCII: never past 0x7f */
		out[2 * i] = (ds_seg_value){ .type = DS_SEGV_TEXT, .text = lo };
		out[2 * i + 1] = (ds_seg_value){ .type = DS_SEGV_TEXT, .text = hi };
	}
	return 2 * n;
}

static int comp_text_op(const comp *c, const ds_expr_node *n, bool neg, ds_seg_node **out)
{
	const ds_expr_node *left = n->kids[0], *right = n->kids[1];
	const char *what = n->kind == DS_EXPR_MATCHES ? "matches" : "contains";
	if (left->kind != DS_EXPR_PATH)
		return cerr(c, n, "'%s' tests a field", what);
	ref r;
	int rc = resolve(c, left, &r);
	if (rc)
		return rc;
	if (n->kind == DS_EXPR_CONTAINS && (r.kind == R_TAGS || r.kind == R_INTERESTS)) {
		ds_expr_node in = { .kind = DS_EXPR_IN, .line = n->line, .column = n->column,
				    .nkids = 2 };
		const ds_expr_node *two[2] = { right, left };
		in.kids = two;
		return comp_in(c, &in, neg, out);
	}
	if (r.kind != R_ATTR)
		return cerr(c, left, "'%s' tests an attribute (attributes.NAME)", what);
	if (right->kind != DS_EXPR_STRING)
		return is_literal(right) ? constant(c, false, neg, out)
					 : cerr(c, right, "'%s' takes a string", what);
	ds_seg_node *x = mk(c, n->kind == DS_EXPR_MATCHES ? DS_SEG_MATCH : DS_SEG_CONTAINS, neg);
	if (!x)
		return nomem(c);
	x->field = r.field;
	x->text = right->v.string.s;
	if (n->kind == DS_EXPR_MATCHES) {
		ds_seg_value *vs = values(c, 32);
		if (!vs)
			return nomem(c);
		x->values = vs;
		x->nvalues = regex_prefixes(c, right->v.string.s, vs, 32);
	}
	*out = x;
	return DS_OK;
}

static int comp_exists(const comp *c, const ds_expr_node *n, bool neg, ds_seg_node **out)
{
	ref r;
	int rc = resolve(c, n->kids[0], &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_ID: case R_TAGS: case R_INTERESTS:
		return constant(c, true, neg, out);
	case R_TAG_AT:
		return tag_leaf(c, r.tag, (window){ 0 }, neg, out);
	case R_CONSENT:
		return consent_leaf(c, &r, -1, neg, out);
	case R_TRAIT:
		if (ds_trait_kind_of(r.field.trait) < DS_TRAIT_DATE)
			return constant(c, true, neg, out);
		return window_leaf(c, &r.field, (window){ 0 }, neg, out);
	case R_ATTR:
		return window_leaf(c, &r.field, (window){ 0 }, neg, out);
	}
	return constant(c, false, neg, out);
}

static int comp_node(const comp *c, const ds_expr_node *n, bool neg, ds_seg_node **out)
{
	switch (n->kind) {
	case DS_EXPR_BOOL:
		return constant(c, n->v.boolean, neg, out);
	case DS_EXPR_NULL:
		return constant(c, false, neg, out);
	case DS_EXPR_NOT:
		return comp_node(c, n->kids[0], !neg, out);
	case DS_EXPR_AND:
	case DS_EXPR_OR: {
		/* not (a and b) = not a or not b */
		bool and = (n->kind == DS_EXPR_AND) != neg;
		ds_seg_node *x = mk(c, and ? DS_SEG_AND : DS_SEG_OR, false);
		ds_seg_node **kids = ds_arena_alloc(c->a, n->nkids * sizeof *kids);
		if (!x || !kids)
			return nomem(c);
		for (size_t i = 0; i < n->nkids; i++) {
			int rc = comp_node(c, n->kids[i], neg, &kids[i]);
			if (rc)
				return rc;
		}
		x->kids = kids;
		x->nkids = n->nkids;
		*out = x;
		return DS_OK;
	}
	case DS_EXPR_CMP:
		return comp_cmp(c, n, neg, out);
	case DS_EXPR_IN:
		return comp_in(c, n, neg, out);
	case DS_EXPR_CONTAINS:
	case DS_EXPR_MATCHES:
		return comp_text_op(c, n, neg, out);
	case DS_EXPR_EXISTS:
		return comp_exists(c, n, neg, out);
	case DS_EXPR_PATH: {
		/* A field alone must be true or false: consent, or an
		 * attribute holding a boolean. */
		ref r;
		int rc = resolve(c, n, &r);
		if (rc)
			return rc;
		if (r.kind == R_CONSENT)
			return consent_leaf(c, &r, 1, neg, out);
		if (r.kind == R_ATTR) {
			ds_expr_node t = { .kind = DS_EXPR_BOOL, .line = n->line, .column = n->column };
			t.v.boolean = true;
			return comp_cmp_field(c, n, &r, DS_SEG_OP_EQ, &t, neg, out);
		}
		return cerr(c, n, "a field alone is a condition only when it is true or false "
			    "(consent.marketing.email): compare it, or test exists(...)");
	}
	default:
		return cerr(c, n, "%s is not a condition: compare it with something",
			    ds_expr_kind_name(n->kind));
	}
}

int ds_segment_query(const ds_segment *s, ds_time now, ds_arena *a, ds_seg_query *out,
		     ds_err *err)
{
	comp c = { s->filter, now, a, err };
	ds_seg_node *root = NULL;
	memset(out, 0, sizeof *out);
	if (!s->filter)
		return ds_err_set(err, DS_ECONFIG, "segment %s has no filter", s->name);
	int rc = comp_node(&c, ds_expr_root(s->filter), false, &root);
	if (rc)
		return rc;
	out->filter = root;
	out->purpose = s->purpose;
	out->channel = s->channel;
	out->columns = s->reads;
	out->ncolumns = s->nreads;
	return DS_OK;
}

/* ---- running ---- */

int ds_segment_count(ds_store *store, const ds_segment *s, ds_time now, int64_t *matched,
		     int64_t *exported, ds_err *err)
{
	ds_arena *a = ds_arena_new(4096);
	ds_seg_query q;
	int rc = a ? ds_segment_query(s, now, a, &q, err) : ds_err_set(err, DS_ENOMEM,
									  "out of memory");
	if (!rc)
		rc = ds_store_segment_count(store, &q, matched, exported, err);
	ds_arena_free(a);
	return rc;
}

int ds_segment_csv_field(ds_buf *out, const char *s, size_t n)
{
	bool quote = false;
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote)
		return ds_buf_append(out, s, n);
	/* Each quote is written twice: as the end of one piece and the start
	 * of the next. */
	int rc = ds_buf_putc(out, '"');
	size_t from = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (s[i] == '"') {
			rc = ds_buf_append(out, s + from, i + 1 - from);
			from = i;
		}
	}
	if (!rc)
		rc = ds_buf_append(out, s + from, n - from);
	return rc ? rc : ds_buf_putc(out, '"');
}

/* A column's value as JSON (NULL: none); attrs is the row's attributes
 * document, parsed once. */
static cJSON *cell_value(const ds_segment_column *col, const ds_seg_cell *cells,
			 const cJSON *attrs)
{
	const ds_seg_cell *c = &cells[col->cell];
	char buf[40];
	if (c->null)
		return NULL;
	switch (col->kind) {
	case DS_SEGC_ID:
		return cJSON_CreateNumber((double)c->i);
	case DS_SEGC_IDENTITY:
		return c->is_text ? cJSON_CreateString(c->text) : NULL;
	case DS_SEGC_ATTRIBUTES: {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(attrs, col->keys[0]), 0),
			"value");
		for (size_t k = 1; v && k < col->nkeys; k++)
			v = cJSON_GetObjectItemCaseSensitive(v, col->keys[k]);
		return v && !cJSON_IsNull(v) ? cJSON_Duplicate(v, true) : NULL;
	}
	case DS_SEGC_TRAIT:
		switch (ds_trait_kind_of(col->trait)) {
		case DS_TRAIT_CENTS:
			ds_dec_format((ds_dec){ c->i, 2 }, buf, sizeof buf);
			return cJSON_CreateString(buf);
		case DS_TRAIT_DATE:
			return c->is_text ? cJSON_CreateString(c->text) : NULL;
		case DS_TRAIT_TIME:
			ds_time_format(c->i, buf);
			return cJSON_CreateString(buf);
		default:
			return cJSON_CreateNumber((double)c->i);
		}
	case DS_SEGC_TAG_AT:
		ds_time_format(c->i, buf);
		return cJSON_CreateString(buf);
	case DS_SEGC_TAGS:
	case DS_SEGC_INTERESTS:
		return c->is_text ? cJSON_ParseWithLength(c->text, c->len) : NULL;
	}
	return NULL;
}

/* One CSV field from a column's JSON value: text as it is, a list as its
 * items joined by "; ", numbers and objects as JSON. */
static int csv_value(ds_buf *out, const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v))
		return ds_segment_csv_field(out, v->valuestring, strlen(v->valuestring));
	int rc = 0;
	if (cJSON_IsArray(v)) {
		ds_buf b;
		ds_buf_init(&b, out->max);
		const cJSON *it;
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsString(it))
				continue;
			if (b.len && !rc)
				rc = ds_buf_puts(&b, "; ");
			if (!rc)
				rc = ds_buf_puts(&b, it->valuestring);
		}
		if (b.len && !rc)
			rc = ds_segment_csv_field(out, b.data, b.len);
		ds_buf_free(&b);
		return rc;
	}
	char *t = cJSON_PrintUnformatted(v);
	rc = t ? ds_segment_csv_field(out, t, strlen(t)) : DS_ENOMEM;
	cJSON_free(t);
	return rc;
}

struct ds_segment_reader {
	const ds_segment *s;
	ds_segment_format format;
	ds_arena *a;                 /* the query */
	ds_seg_query q;
	ds_seg_cursor *cur;
	bool head_done;              /* CSV: the header row is written */
	int64_t rows;
};

int ds_segment_reader_open(ds_store *store, const ds_segment *s, ds_time now,
			   ds_segment_format format, ds_segment_reader **out, ds_err *err)
{
	int rc;
	ds_segment_reader *r = ds_calloc(1, sizeof *r);
	*out = NULL;
	if (!r || !(r->a = ds_arena_new(4096))) {
		ds_free(r);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	r->s = s;
	r->format = format;
	r->head_done = format != DS_SEGMENT_CSV;
	if ((rc = ds_segment_query(s, now, r->a, &r->q, err)) ||
	    (rc = ds_store_segment_open(store, &r->q, &r->cur, err))) {
		ds_segment_reader_close(r);
		return rc;
	}
	*out = r;
	return DS_OK;
}

/* One profile's row, appended to out. */
static int format_row(const ds_segment *s, ds_segment_format format, const ds_seg_cell *cells,
		      ds_buf *out)
{
	cJSON *obj = format == DS_SEGMENT_NDJSON ? cJSON_CreateObject() : NULL;
	cJSON *attrs = NULL;
	int rc = 0;
	if (format == DS_SEGMENT_NDJSON && !obj)
		return DS_ENOMEM;
	for (size_t i = 0; i < s->nreads && !attrs; i++)
		if (s->reads[i].kind == DS_SEGC_ATTRIBUTES && cells[i].is_text)
			attrs = cJSON_ParseWithLength(cells[i].text, cells[i].len);
	for (size_t i = 0; i < s->ncolumns && !rc; i++) {
		cJSON *v = cell_value(&s->columns[i], cells, attrs);
		if (obj) {
			cJSON_AddItemToObject(obj, s->columns[i].header, v ? v : cJSON_CreateNull());
			continue;
		}
		if (i)
			rc = ds_buf_putc(out, ',');
		if (!rc)
			rc = csv_value(out, v);
		cJSON_Delete(v);
	}
	cJSON_Delete(attrs);
	if (obj) {
		char *t = cJSON_PrintUnformatted(obj);
		rc = t ? ds_buf_puts(out, t) : DS_ENOMEM;
		cJSON_free(t);
		cJSON_Delete(obj);
		return rc ? rc : ds_buf_putc(out, '\n');
	}
	return rc ? rc : ds_buf_puts(out, "\r\n");
}

int ds_segment_reader_next(ds_segment_reader *r, ds_buf *out, ds_err *err)
{
	const ds_segment *s = r->s;
	int rc = 0;
	if (!r->head_done) {
		for (size_t i = 0; i < s->ncolumns && !rc; i++) {
			if (i)
				rc = ds_buf_putc(out, ',');
			if (!rc)
				rc = ds_segment_csv_field(out, s->columns[i].header,
							  strlen(s->columns[i].header));
		}
		if (!rc)
			rc = ds_buf_puts(out, "\r\n");
		r->head_done = true;
	} else {
		const ds_seg_cell *cells;
		if ((rc = ds_store_segment_next(r->cur, &cells, err)) <= 0)
			return rc;
		rc = format_row(s, r->format, cells, out);
		r->rows += !rc;
	}
	if (rc == DS_ELIMIT)
		return ds_err_set(err, rc, "segment %s: a row is over %zu bytes", s->name, out->max);
	return rc ? ds_err_set(err, rc, "out of memory") : 1;
}

int64_t ds_segment_reader_rows(const ds_segment_reader *r)
{
	return r->rows;
}

void ds_segment_reader_close(ds_segment_reader *r)
{
	if (!r)
		return;
	ds_store_segment_close(r->cur);
	ds_arena_free(r->a);
	ds_free(r);
}

/* Writes what b holds to out and empties it. */
static int write_out(ds_buf *b, FILE *out, ds_err *err)
{
	if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
		return ds_err_set(err, DS_EIO, "cannot write the export");
	ds_buf_reset(b);
	return 0;
}

int ds_segment_export(ds_store *store, const ds_segment *s, ds_time now, ds_segment_format format,
		      FILE *out, int64_t *rows, ds_err *err)
{
	ds_segment_reader *r = NULL;
	ds_buf b;
	ds_buf_init(&b, DS_SEGMENT_ROW_MAX);
	int rc = ds_segment_reader_open(store, s, now, format, &r, err);
	while (!rc && (rc = ds_segment_reader_next(r, &b, err)) == 1)
		rc = b.len >= 65536 ? write_out(&b, out, err) : 0;
	if (!rc)
		rc = write_out(&b, out, err);
	if (!rc && fflush(out))
		rc = ds_err_set(err, DS_EIO, "cannot write the export");
	*rows = r ? ds_segment_reader_rows(r) : 0;
	ds_segment_reader_close(r);
	ds_buf_free(&b);
	return rc;
}

/* ---- the profile as a filter reads it ---- */

struct view {
	cJSON *tags, *tagged, *interests, *consent;
};

static int view_tag(void *ud, const ds_tag_row *t)
{
	struct view *v = ud;
	char at[24];
	ds_time_format(t->at, at);
	cJSON_AddItemToArray(v->tags, cJSON_CreateString(t->tag));
	cJSON_AddStringToObject(v->tagged, t->tag, at);
	return 0;
}

static int view_interest(void *ud, const char *value)
{
	cJSON_AddItemToArray(((struct view *)ud)->interests, cJSON_CreateString(value));
	return 0;
}

static int view_consent(void *ud, const ds_consent_row *r)
{
	struct view *v = ud;
	cJSON *p = cJSON_GetObjectItemCaseSensitive(v->consent, r->purpose);
	if (!p)
		p = cJSON_AddObjectToObject(v->consent, r->purpose);
	cJSON_AddBoolToObject(p, r->channel, r->granted);
	return 0;
}

int ds_segment_view(ds_store *store, int64_t pid, cJSON **out, ds_err *err)
{
	ds_arena *a = ds_arena_new(4096);
	ds_profile_row p;
	cJSON *v = cJSON_CreateObject();
	*out = NULL;
	int rc = a && v ? ds_store_profile_get(store, pid, a, &p, err)
			: ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc)
		goto done;
	cJSON_AddNumberToObject(v, "id", (double)pid);
	cJSON *attrs = cJSON_AddObjectToObject(v, "attributes");
	cJSON *all = p.attributes ? cJSON_Parse(p.attributes) : NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, all) {
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(it, 0), "value");
		if (cur)
			cJSON_AddItemToObject(attrs, it->string, cJSON_Duplicate(cur, true));
	}
	cJSON_Delete(all);
	cJSON *traits = cJSON_AddObjectToObject(v, "traits");
	for (int k = 0; k < DS_NTRAITS; k++) {
		int64_t x = p.traits.v[k];
		char buf[40];
		switch (ds_trait_kind_of(k)) {
		case DS_TRAIT_CENTS:
			/* a number, as the evaluator reads it: cents fit a double
			 * exactly, and its shortest text is the decimal */
			cJSON_AddNumberToObject(traits, ds_trait_name(k), (double)x / 100.0);
			break;
		case DS_TRAIT_DATE:
			snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)(x / 10000),
				 (int)(x / 100 % 100), (int)(x % 100));
			cJSON_AddItemToObject(traits, ds_trait_name(k),
					      x ? cJSON_CreateString(buf) : cJSON_CreateNull());
			break;
		case DS_TRAIT_TIME:
			ds_time_format(x, buf);
			cJSON_AddItemToObject(traits, ds_trait_name(k),
					      x ? cJSON_CreateString(buf) : cJSON_CreateNull());
			break;
		default:
			cJSON_AddNumberToObject(traits, ds_trait_name(k), (double)x);
			break;
		}
	}
	struct view w = { cJSON_AddArrayToObject(v, "tags"), cJSON_AddObjectToObject(v, "tagged"),
			  cJSON_AddArrayToObject(v, "interests"),
			  cJSON_AddObjectToObject(v, "consent") };
	if ((rc = ds_store_tag_list(store, pid, false, view_tag, &w, err)) ||
	    (rc = ds_store_interest_list(store, pid, view_interest, &w, err)) ||
	    (rc = ds_store_consent_list(store, pid, false, view_consent, &w, err)))
		goto done;
	*out = v;
	v = NULL;
done:
	cJSON_Delete(v);
	ds_arena_free(a);
	return rc;
}

const cJSON *ds_segment_resolve(void *view, const char *const *segs, size_t n)
{
	const cJSON *v = view;
	if (n > 1 && !strcmp(segs[0], "profile")) {
		segs++;
		n--;
	}
	if (n == 2 && !strcmp(segs[0], "tags"))
		return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "tagged"),
							segs[1]);
	if (!strcmp(segs[0], "tagged"))
		return NULL;
	return ds_expr_json_path(v, segs, n);
}
