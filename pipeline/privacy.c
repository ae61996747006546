/*
 * privacy.c - erasure and retention (privacy.h): finding a person and
 * what names them, erasing them, purging what retention says is old, and
 * deleting the files of erased documents once their erasure committed.
 * The export is in privacy_export.c.
 *
 * An erased case keeps its state, its audit trail (without the Message-IDs
 * that tied inputs to it, nor the names of the fields edits changed) and,
 * of its data, only what its process's traits are computed from (amounts,
 * priced lines, currency, discount, dates) and its key; a key that names
 * someone (an email's Message-ID, an email, a phone) is replaced. So the
 * profile's counts stay right and `profile rebuild` still agrees.
 */
#include "privacy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "mem.h"
#include "profile.h"

#define MAX_MEMBERS 100000   /* profiles merged into one person */
#define MAX_RUN 32           /* characters of a phone or number in bytes */

/* ---- the person ---- */

static int push(char ***v, size_t *n, const char *s)
{
	char **w = ds_realloc(*v, (*n + 1) * sizeof *w);
	if (!w)
		return DS_ENOMEM;
	*v = w;
	if (!(w[*n] = ds_strdup(s)))
		return DS_ENOMEM;
	(*n)++;
	return DS_OK;
}

/* An arena array v of n elements of size bytes, with room for *cap, that
 * has room for one more: v, or a copy twice as large; NULL when out of
 * memory. */
static void *room(ds_arena *a, void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? 2 * *cap : 16;
	void *w = ds_arena_alloc(a, c * size);
	if (w && n)
		memcpy(w, v, n * size);
	if (w)
		*cap = c;
	return w;
}

void ds_person_free(ds_person *p)
{
	if (!p)
		return;
	ds_free(p->ids);
	ds_free(p->ids_json);
	ds_strv_free(p->emails, p->nemails);
	ds_strv_free(p->phones, p->nphones);
	ds_strv_free(p->numbers, p->nnumbers);
	ds_strv_free(p->labels, p->nlabels);
	ds_free(p);
}

bool ds_person_has(const ds_person *p, int64_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ids[i] == id)
			return true;
	return false;
}

static int add_member(ds_person *p, int64_t id)
{
	if (ds_person_has(p, id))
		return DS_OK;
	if (p->n >= MAX_MEMBERS)
		return DS_ELIMIT;
	int64_t *v = ds_realloc(p->ids, (p->n + 1) * sizeof *v);
	if (!v)
		return DS_ENOMEM;
	p->ids = v;
	p->ids[p->n++] = id;
	return DS_OK;
}

struct members {
	ds_person *p;
	int64_t of;
};

static int on_merge(void *ud, const ds_merge_row *m)
{
	struct members *c = ud;
	return m->survivor == c->of && !m->undone_at ? add_member(c->p, m->merged) : 0;
}

/* The national forms of a French number (metropolitan or overseas). */
static const char *const french_codes[] = { "33", "262", "269", "508", "590", "594", "596" };

static int add_phone(ds_person *p, const char *v)
{
	char buf[MAX_RUN + 8];
	int rc = push(&p->phones, &p->nphones, v);
	if (rc || v[0] != '+' || strlen(v) > MAX_RUN)
		return rc;
	snprintf(buf, sizeof buf, "00%s", v + 1);
	if ((rc = push(&p->phones, &p->nphones, buf)))
		return rc;
	for (size_t i = 0; i < sizeof french_codes / sizeof *french_codes; i++) {
		size_t n = strlen(french_codes[i]);
		if (!strncmp(v + 1, french_codes[i], n) && strlen(v + 1 + n) == 9) {
			snprintf(buf, sizeof buf, "0%s", v + 1 + n);
			return push(&p->phones, &p->nphones, buf);
		}
	}
	return DS_OK;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int on_identity(void *ud, const ds_identity_row *r)
{
	ds_person *p = ud;
	char label[DS_PROFILE_MAX_VALUE + 300];
	snprintf(label, sizeof label, "%s %s%s%s", r->kind, *r->scope ? r->scope : "",
		 *r->scope ? ":" : "", r->value);
	int rc = push(&p->labels, &p->nlabels, label);
	if (rc)
		return rc;
	if (!strcmp(r->kind, "email")) {
		char *low = ds_strdup(r->value);
		if (!low)
			return DS_ENOMEM;
		for (char *c = low; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		rc = push(&p->emails, &p->nemails, low);
		ds_free(low);
		return rc;
	}
	if (!strcmp(r->kind, "phone"))
		return add_phone(p, r->value);
	/* a SIRET, a SIREN: long enough not to be found by chance */
	if (strlen(r->value) >= 9 && strlen(r->value) <= MAX_RUN && all_digits(r->value))
		return push(&p->numbers, &p->nnumbers, r->value);
	return DS_OK;
}

int ds_person_find(ds_store *s, const ds_config *cfg, const char *ref, ds_person **out,
		   ds_err *err)
{
	*out = NULL;
	ds_arena *a = ds_arena_new(4096);
	ds_person *p = ds_calloc(1, sizeof *p);
	ds_buf b;
	ds_buf_init(&b, 32u << 20);
	int rc = a && p ? ds_profile_find(s, cfg, a, ref, &p->root, err)
			: ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc)
		goto done;
	ds_profile_row row;
	if ((rc = ds_store_profile_get(s, p->root, NULL, &row, err)))
		goto done;
	p->forgotten_at = row.forgotten_at;
	if ((rc = add_member(p, p->root)))
		goto oom;
	for (size_t i = 0; i < p->n; i++) {
		struct members c = { p, p->ids[i] };
		if ((rc = ds_store_merge_list(s, p->ids[i], on_merge, &c, err)) < 0)
			goto done;
		if (rc)
			goto oom;
	}
	for (size_t i = 0; i < p->n; i++) {
		if ((rc = ds_store_identity_list(s, p->ids[i], on_identity, p, err)) < 0)
			goto done;
		if (rc)
			goto oom;
		if (ds_buf_printf(&b, "%c%" PRId64, i ? ',' : '[', p->ids[i]))
			goto oom;
	}
	if (ds_buf_putc(&b, ']') || !(p->ids_json = ds_buf_steal(&b)))
		goto oom;
	*out = p;
	p = NULL;
	goto done;
oom:
	rc = rc == DS_ELIMIT ? ds_err_set(err, rc, "profile %" PRId64 " has more than %d profiles "
					  "merged into it", p->root, MAX_MEMBERS)
			     : ds_err_set(err, DS_ENOMEM, "out of memory");
done:
	ds_buf_free(&b);
	ds_person_free(p);
	ds_arena_free(a);
	return rc;
}

/* ---- what names them ---- */

static int hexval(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The bytes as searched: %XX decoded, ASCII in lower case. */
static size_t fold(const unsigned char *b, size_t n, char *out)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = b[i];
		int h, l;
		if (c == '%' && i + 2 < n && (h = hexval(b[i + 1])) >= 0 && (l = hexval(b[i + 2])) >= 0) {
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		out[j++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return j;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool in_list(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Whether a run of digits in t (a leading '+' kept; one space, dot, dash,
 * slash or '+' allowed between two digits) is one of p's phones or
 * numbers. */
static bool names_number(const ds_person *p, const char *t, size_t n)
{
	for (size_t i = 0; i < n;) {
		bool plus = t[i] == '+' && i + 1 < n && is_digit(t[i + 1]) && !(i && is_digit(t[i - 1]));
		if (!plus && !is_digit(t[i])) {
			i++;
			continue;
		}
		char run[MAX_RUN + 2];
		size_t k = 0;
		bool whole = true;
		if (plus)
			run[k++] = t[i++];
		while (i < n) {
			if (is_digit(t[i])) {
				if (k < MAX_RUN)
					run[k++] = t[i];
				else
					whole = false;
				i++;
			} else if (strchr(" .-/+", t[i]) && i + 1 < n && is_digit(t[i + 1])) {
				i++;
			} else {
				break;
			}
		}
		run[k] = '\0';
		if (whole && (in_list(p->phones, p->nphones, run) ||
			      in_list(p->numbers, p->nnumbers, run)))
			return true;
	}
	return false;
}

bool ds_person_named(const ds_person *p, const void *bytes, size_t n)
{
	if (!n || (!p->nemails && !p->nphones && !p->nnumbers))
		return false;
	char *t = ds_malloc(n);
	if (!t)
		return false;
	size_t m = fold(bytes, n, t);
	bool hit = false;
	for (size_t i = 0; i < p->nemails && !hit; i++)
		hit = memmem(t, m, p->emails[i], strlen(p->emails[i])) != NULL;
	hit = hit || names_number(p, t, m);
	ds_free(t);
	return hit;
}

/* Whether a case's key says who its customer is: an email's Message-ID
 * or an email holds an '@'; or one of p's identities. */
static bool personal_key(const ds_person *p, const char *key)
{
	if (strchr(key, '@'))
		return true;
	if (!p)
		return false;
	for (size_t i = 0; i < p->nphones; i++)
		if (strstr(key, p->phones[i]))
			return true;
	for (size_t i = 0; i < p->nnumbers; i++)
		if (strstr(key, p->numbers[i]))
			return true;
	return false;
}

/* ---- erasing a case ---- */

/* Copies the node at a dotted path of from into to, when there is one. */
static int keep_path(cJSON *to, const cJSON *from, const char *path)
{
	const cJSON *v = ds_json_dotted(from, path);
	return v && !ds_json_dotted(to, path) ? ds_json_set_dotted(to, path, cJSON_Duplicate(v, true))
					       : DS_OK;
}

/* A priced line, without its description: what line_cents() reads. */
static cJSON *priced_line(const cJSON *line)
{
	static const char *const keep[] = { "amount", "quantity", "unit_price", "base_quantity" };
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; o && i < sizeof keep / sizeof *keep; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, keep[i]);
		if (v)
			cJSON_AddItemToObject(o, keep[i], cJSON_Duplicate(v, true));
	}
	return o;
}

/* What an erased case's data keeps: its key, and what the traits of its
 * process's profile block are computed from (ds_profile_case_traits). */
static cJSON *case_keeps(const ds_process *p, const cJSON *data, const char *key)
{
	cJSON *out = cJSON_CreateObject();
	int rc = out ? DS_OK : DS_ENOMEM;
	if (!rc && p && p->key)
		rc = ds_json_set_dotted(out, p->key, cJSON_CreateString(key));
	for (size_t i = 0; !rc && p && p->profile && i < p->profile->ntraits; i++) {
		const ds_trait_def *t = &p->profile->traits[i];
		const cJSON *v = t->amount ? ds_json_dotted(data, t->amount) : NULL;
		if (t->currency)
			rc = keep_path(out, data, "currency");
		if (!rc && t->date)
			rc = keep_path(out, data, t->date);
		if (rc || !v)
			continue;
		if (!cJSON_IsArray(v)) {
			rc = keep_path(out, data, t->amount);
			continue;
		}
		cJSON *lines = cJSON_CreateArray();
		const cJSON *line;
		cJSON_ArrayForEach(line, v)
			cJSON_AddItemToArray(lines, priced_line(line));
		if ((rc = ds_json_set_dotted(out, t->amount, lines)) == DS_OK)
			rc = keep_path(out, data, "discount_pct");
	}
	if (rc) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* What an erased record's data keeps: with retention, the interests its
 * type's profile block reads (knowledge of the customer, computed again
 * by a rebuild); erased for good, nothing. */
static char *record_keeps(const ds_config *cfg, const char *type, const char *text, bool retention)
{
	const ds_profile_block *b = retention ? ds_profile_record_block(cfg->profiles, type) : NULL;
	cJSON *data = NULL, *out = cJSON_CreateObject();
	int rc = out ? DS_OK : DS_ENOMEM;
	if (!rc && b && b->ninterests)
		rc = ds_json_parse(text, strlen(text), 512, &data, NULL);
	for (size_t i = 0; !rc && b && data && i < b->ninterests; i++)
		rc = keep_path(out, data, b->interests[i]);
	char *s = rc ? NULL : cJSON_PrintUnformatted(out);
	cJSON_Delete(data);
	cJSON_Delete(out);
	return s;
}

typedef struct rec_ref {
	int64_t id;
	const char *type, *data;
} rec_ref;

struct recs {
	ds_arena *a;
	rec_ref *v;
	size_t n, cap;
};

static int collect_record(void *ud, const ds_timeline_record *r)
{
	struct recs *l = ud;
	if (!(l->v = room(l->a, l->v, l->n, &l->cap, sizeof *l->v)))
		return DS_ENOMEM;
	rec_ref *x = &l->v[l->n++];
	x->id = r->id;
	x->type = ds_arena_strdup(l->a, r->type);
	x->data = ds_arena_strdup(l->a, r->data ? r->data : "{}");
	return x->type && x->data ? 0 : DS_ENOMEM;
}

/* Erases case c (store.h: ds_store_case_erase) and its records; p is the
 * person forgotten, or NULL for retention. */
static int erase_case(ds_store *s, const ds_config *cfg, ds_arena *a, const ds_case_row *c,
		      const ds_person *p, ds_time now, ds_erase_counts *n, ds_err *err)
{
	const ds_process *pr = ds_config_process_version(cfg, c->process, c->process_version);
	const char *key = personal_key(p, c->key)
			  ? ds_arena_printf(a, "ERASED-%" PRId64, c->id) : NULL;
	cJSON *data = NULL, *keep = NULL;
	char *text = NULL;
	struct recs l = { .a = a };
	int rc = ds_json_parse(c->data, strlen(c->data), 512, &data, err);
	if (rc)
		return ds_err_prefix(err, "case %s", c->key);
	if (!(keep = case_keeps(pr, data, key ? key : c->key)) || !(text = cJSON_PrintUnformatted(keep))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = ds_store_record_list_case(s, c->id, collect_record, &l, err)) > 0)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < l.n; i++) {
		char *r = record_keeps(cfg, l.v[i].type, l.v[i].data, !p);
		if (!r)
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		else if (strcmp(r, l.v[i].data) && !(rc = ds_store_record_set_data(s, l.v[i].id, r, err)))
			n->records++;
		cJSON_free(r);
	}
	if (!rc)
		rc = ds_store_case_erase(s, c->id, text, key, now, !p, n, err);
done:
	cJSON_free(text);
	cJSON_Delete(keep);
	cJSON_Delete(data);
	return rc;
}

/* Case rows copied into an arena, to be erased once the walk is over. */
struct cases {
	ds_arena *a;
	ds_case_row *v;
	size_t n, cap;
};

static int collect_case(void *ud, const ds_case_row *c)
{
	struct cases *l = ud;
	if (!(l->v = room(l->a, l->v, l->n, &l->cap, sizeof *l->v)))
		return DS_ENOMEM;
	ds_case_row *x = &l->v[l->n++];
	*x = *c;
	x->process = ds_arena_strdup(l->a, c->process);
	x->key = ds_arena_strdup(l->a, c->key);
	x->state = ds_arena_strdup(l->a, c->state);
	x->data = ds_arena_strdup(l->a, c->data ? c->data : "{}");
	return x->process && x->key && x->state && x->data ? 0 : DS_ENOMEM;
}

static bool is_final(const ds_config *cfg, const ds_case_row *c)
{
	const ds_process *p = ds_config_process_version(cfg, c->process, c->process_version);
	int k = p ? ds_process_state(p, c->state) : -1;
	return k >= 0 && p->states[k].final;
}

/* ---- forgetting ---- */

struct named {
	ds_arena *a;
	const ds_person *p;
	int64_t *v;
	size_t n, cap;
};

static int collect_named(void *ud, const ds_quarantine_row *q)
{
	struct named *l = ud;
	if (!ds_person_named(l->p, q->bytes, q->len))
		return 0;
	if (!(l->v = room(l->a, l->v, l->n, &l->cap, sizeof *l->v)))
		return DS_ENOMEM;
	l->v[l->n++] = q->id;
	return 0;
}

/* The erasure itself, in the open transaction. */
static int forget_in_tx(ds_store *s, const ds_config *cfg, const ds_person *p, ds_time now,
			ds_arena *a, ds_forget_result *out, ds_err *err)
{
	struct cases cs = { .a = a };
	struct named q = { .a = a, .p = p };
	ds_profile_row root;
	int rc = DS_OK;
	for (size_t i = 0; i < p->n && !rc; i++)
		rc = ds_store_case_list_profile(s, p->ids[i], collect_case, &cs, err);
	if (rc > 0)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < cs.n; i++) {
		out->open_cases += !is_final(cfg, &cs.v[i]);
		rc = erase_case(s, cfg, a, &cs.v[i], p, now, &out->n, err);
	}
	/* Quarantined inputs gave no record: found by what they hold. */
	if (!rc && (rc = ds_store_quarantine_scan(s, collect_named, &q, err)) > 0)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < q.n; i++)
		rc = ds_store_quarantine_erase(s, q.v[i], now, &out->n, err);
	/* The pseudonym: the counts, nothing else. */
	if (!rc && !(rc = ds_store_profile_get(s, p->root, NULL, &root, err)))
		rc = ds_store_profile_create(s, now, "{}", NULL, 0, &root.traits, 0, &out->pseudonym,
					     err);
	if (!rc)
		rc = ds_store_person_erase(s, p->ids_json, out->pseudonym, now, &out->n, err);
	return rc;
}

int ds_privacy_forget(ds_store *s, const ds_config *cfg, const ds_person *p, ds_time now,
		      bool apply, ds_forget_result *out, ds_err *err)
{
	memset(out, 0, sizeof *out);
	if (p->forgotten_at) {
		char when[24];
		ds_time_format(p->forgotten_at, when);
		return ds_err_set(err, DS_EREFUSED, "profile %" PRId64 " is the pseudonym of a person "
				  "forgotten on %s: it holds nothing personal", p->root, when);
	}
	ds_arena *a = ds_arena_new(64 * 1024);
	if (!a)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	int rc = ds_store_begin(s, err);
	if (!rc && (rc = forget_in_tx(s, cfg, p, now, a, out, err)))
		ds_store_rollback(s);
	else if (!rc && !apply)
		ds_store_rollback(s);
	else if (!rc)
		rc = ds_store_commit(s, err);
	ds_arena_free(a);
	if (!apply || rc) {
		out->pseudonym = 0;
		return rc;
	}
	rc = ds_privacy_finish(s, true, &out->files, &out->scrub, err);
	out->scrubbed = !rc && !out->scrub.code;
	return rc;
}

/* ---- deleting the files of erased documents ---- */

struct pending {
	ds_arena *a;
	struct doc_file {
		int64_t id;
		const char *path;
	} *v;
	size_t n, cap;
};

static int collect_pending(void *ud, int64_t id, const char *path)
{
	struct pending *l = ud;
	if (!(l->v = room(l->a, l->v, l->n, &l->cap, sizeof *l->v)))
		return DS_ENOMEM;
	l->v[l->n].id = id;
	return (l->v[l->n++].path = ds_arena_strdup(l->a, path)) ? 0 : DS_ENOMEM;
}

/* Makes the removal of a file durable: its folder is flushed. */
static int sync_dir_of(const char *path, ds_err *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? DS_OK
				       : ds_err_set(err, DS_EIO, "cannot open %s: %s", dir, strerror(errno));
	int rc = fsync(fd) ? ds_err_set(err, DS_EIO, "cannot flush %s: %s", dir, strerror(errno))
			   : DS_OK;
	close(fd);
	return rc;
}

int ds_privacy_finish(ds_store *s, bool scrub, int64_t *files, ds_err *scrub_err, ds_err *err)
{
	struct pending l = { .a = ds_arena_new(4096) };
	int rc = l.a ? ds_store_document_pending(s, collect_pending, &l, err)
		     : ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc > 0)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < l.n; i++) {
		if (unlink(l.v[i].path) && errno != ENOENT)
			rc = ds_err_set(err, DS_EIO, "cannot delete %s: %s", l.v[i].path, strerror(errno));
		else if (!(rc = sync_dir_of(l.v[i].path, err)))
			(*files)++;
	}
	/* Only once the files are gone for good are their paths forgotten. */
	if (!rc && l.n && !(rc = ds_store_begin(s, err))) {
		for (size_t i = 0; !rc && i < l.n; i++)
			rc = ds_store_document_cleared(s, l.v[i].id, err);
		if (rc)
			ds_store_rollback(s);
		else
			rc = ds_store_commit(s, err);
	}
	/* The log is emptied after an erasure, or after one cut short. */
	if (!rc && (scrub || l.n))
		ds_store_scrub(s, scrub_err);
	ds_arena_free(l.a);
	return rc;
}

/* ---- retention ---- */

/* The time before which what d keeps is due. */
static ds_time cutoff_of(ds_time now, ds_duration d)
{
	d.amount = -d.amount;
	return ds_time_add(now, d);
}

static int purge_state(ds_runtime *rt, ds_arena *a, const ds_process *p, const char *state,
		       ds_time cutoff, ds_erase_counts *n, ds_err *err)
{
	for (;;) {
		struct cases cs = { .a = a };
		ds_arena_reset(a);
		int rc = ds_store_begin(rt->store, err);
		if (rc)
			return rc;
		rc = ds_store_case_list_since(rt->store, p->name, p->version, state, cutoff,
					      rt->cfg->batch_size, collect_case, &cs, err);
		if (rc > 0)
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		for (size_t i = 0; !rc && i < cs.n; i++)
			rc = erase_case(rt->store, rt->cfg, a, &cs.v[i], NULL, rt->now, n, err);
		if (rc) {
			ds_store_rollback(rt->store);
			return rc;
		}
		if ((rc = ds_store_commit(rt->store, err)))
			return rc;
		if (cs.n < rt->cfg->batch_size)
			return DS_OK;
	}
}

static int purge_cases(ds_runtime *rt, ds_time cutoff, ds_erase_counts *n, ds_err *err)
{
	const ds_config *cfg = rt->cfg;
	ds_arena *a = ds_arena_new(64 * 1024);
	int rc = a ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
	size_t all = cfg->nprocesses + cfg->nversions;
	for (size_t i = 0; !rc && i < all; i++) {
		const ds_process *p = i < cfg->nprocesses ? cfg->processes[i]
							  : cfg->versions[i - cfg->nprocesses];
		for (size_t k = 0; !rc && k < p->nstates; k++)
			if (p->states[k].final)
				rc = purge_state(rt, a, p, p->states[k].name, cutoff, n, err);
	}
	ds_arena_free(a);
	return rc;
}

/* Runs one batch of an expiry in its own transaction; *more says whether
 * the batch was full. */
static int expire_batch(ds_runtime *rt, ds_time cutoff, ds_time *from, bool interactions,
			ds_erase_counts *n, bool *more, ds_err *err)
{
	int64_t before = interactions ? n->interactions : n->quarantine;
	int rc = ds_store_begin(rt->store, err);
	if (rc)
		return rc;
	rc = interactions ? ds_store_interactions_expire(rt->store, cutoff, from, rt->cfg->batch_size,
							 rt->now, n, err)
			  : ds_store_quarantine_expire(rt->store, cutoff, rt->cfg->batch_size, n, err);
	if (rc) {
		ds_store_rollback(rt->store);
		return rc;
	}
	*more = (size_t)((interactions ? n->interactions : n->quarantine) - before) >=
		rt->cfg->batch_size;
	return ds_store_commit(rt->store, err);
}

int ds_privacy_purge(ds_runtime *rt, ds_err *err)
{
	const ds_retention *r = &rt->cfg->retention;
	ds_erase_counts n;
	memset(&n, 0, sizeof n);
	int rc = r->closed_cases_set || r->interactions_set
		 ? ds_store_retention_prepare(rt->store, err) : DS_OK;
	if (!rc && r->closed_cases_set)
		rc = purge_cases(rt, cutoff_of(rt->now, r->closed_cases), &n, err);
	if (!rc && r->interactions_set) {
		ds_time cutoff = cutoff_of(rt->now, r->interactions), from = INT64_MIN;
		bool more = true;
		while (!rc && more)
			rc = expire_batch(rt, cutoff, &from, true, &n, &more, err);
		more = true;
		while (!rc && more)
			rc = expire_batch(rt, cutoff, &from, false, &n, &more, err);
		int64_t kept = rc ? 0 : ds_store_interactions_kept(rt->store, cutoff);
		rt->stats.kept_proofs = kept > 0 ? kept : 0;
	}
	int64_t files = 0;
	ds_err scrub = {0};
	bool any = n.cases || n.interactions || n.quarantine;
	if (!rc)
		rc = ds_privacy_finish(rt->store, any, &files, &scrub, err);
	rt->stats.purged_interactions += n.interactions;
	rt->stats.purged_cases += n.cases;
	rt->stats.purged_documents += n.documents;
	rt->stats.purged_quarantine += n.quarantine;
	rt->stats.purged += n.interactions + n.cases + n.quarantine;
	return rc;
}
