/*
 * test_serve_store.c - what `dossier serve` stores is what `dossier ingest`
 * stores. The same offers (new customers and known ones, offers printed at
 * once and offers waiting for approval, exact repeats, broken ones) are
 * ingested from a folder in one home, and posted to a server in another
 * by several clients at once, so that the server commits them in groups;
 * both at the same pretend time. Then every table of both stores must hold
 * the same rows.
 *
 * Rows are compared by what they say, not by their ids: the order in which
 * concurrent requests are committed is not the order of the files, so each
 * id is written as what it stands for (an interaction as its source and
 * SHA-256, a record as its interaction and rank, a case as process:key, a
 * profile as its emails, an audit entry as its case and version), ids
 * inside JSON text (an audit entry's cause, a profile's attribute
 * provenance) included. A customer's offers are posted by one client in
 * file order, so what depends on their order (which record set an
 * attribute) is the same. Left out: where an input came from (a file name,
 * or "http") and where a document was written (each home's own folder).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "mem.h"
#include "serve.h"

#define NOW "2026-11-24T09:00:00Z"
#define CUSTOMERS 12
#define OFFERS_EACH 9
#define CLIENTS 4

static const char *const JSON_TYPE = "Content-Type: application/json\r\n";

/* ---- the inputs ---- */

typedef struct input {
	char name[32];
	char *body;
	int customer;            /* -1: a broken input, posted by client 0 */
} input;

static size_t make_inputs(input *in, size_t cap)
{
	size_t len;
	char *tpl = th_slurp("fixtures/offers/DEV-2026-0001.json", &len);
	cJSON *base = cJSON_Parse(tpl);
	free(tpl);
	cr_assert(base);
	size_t n = 0;
	for (int k = 0; k < OFFERS_EACH; k++) {
		for (int c = 0; c < CUSTOMERS && n < cap; c++) {
			cJSON *o = cJSON_Duplicate(base, true);
			char v[64];
			snprintf(v, sizeof v, "DEV-2027-%04d", k * CUSTOMERS + c + 1);
			cJSON_ReplaceItemInObject(o, "reference", cJSON_CreateString(v));
			cJSON *cust = cJSON_GetObjectItemCaseSensitive(o, "customer");
			snprintf(v, sizeof v, "client%02d@example.fr", c);
			cJSON_ReplaceItemInObject(cust, "email", cJSON_CreateString(v));
			/* One in three is printed at once (validated), the rest wait
			 * for a manager. */
			cJSON_ReplaceItemInObject(o, "discount_pct", cJSON_CreateNumber(k % 3 ? 25 : 10));
			snprintf(in[n].name, sizeof in[n].name, "%04zu.json", n);
			in[n].body = cJSON_PrintUnformatted(o);
			in[n].customer = c;
			cJSON_Delete(o);
			n++;
		}
	}
	cJSON_Delete(base);
	/* Exact repeats, after their first copy, by the same client. */
	for (int c = 0; c < 3 && n < cap; c++) {
		snprintf(in[n].name, sizeof in[n].name, "%04zu.json", n);
		in[n].body = strdup(in[c].body);
		in[n].customer = c;
		n++;
	}
	/* Broken: quarantined at read and at validate. */
	static const char *const broken[] = {
		"{\"reference\": ",
		"{\"reference\": \"DEV-2027-0999\", \"customer\": {\"name\": \"X\"}}",
	};
	for (size_t b = 0; b < sizeof broken / sizeof *broken && n < cap; b++) {
		snprintf(in[n].name, sizeof in[n].name, "%04zu.json", n);
		in[n].body = strdup(broken[b]);
		in[n].customer = -1;
		n++;
	}
	return n;
}

struct client {
	int port;
	int id;
	const input *in;
	size_t n;
	int failed;
};

/* Posts the inputs of this client's customers, in file order. */
static void *client_main(void *p)
{
	struct client *cl = p;
	for (size_t i = 0; i < cl->n; i++) {
		const input *x = &cl->in[i];
		int who = x->customer < 0 ? 0 : x->customer % CLIENTS;
		if (who != cl->id)
			continue;
		ts_resp r;
		if (ts_request(cl->port, "POST", "/v1/ingest/api-offers", JSON_TYPE, x->body,
			       strlen(x->body), &r) ||
		    (r.status != 202 && r.status != 200 && r.status != 400))
			cl->failed++;
		ts_resp_free(&r);
	}
	return NULL;
}

/* ---- the stores, row by row ---- */

/* Strings by id, for the ids of one table. */
typedef struct idmap {
	char **v;
	size_t n;
} idmap;

static void map_set(idmap *m, sqlite3_int64 id, const char *s)
{
	cr_assert(id >= 0 && id < 1000000);
	if ((size_t)id >= m->n) {
		size_t n = (size_t)id + 64;
		m->v = realloc(m->v, n * sizeof *m->v);
		memset(m->v + m->n, 0, (n - m->n) * sizeof *m->v);
		m->n = n;
	}
	free(m->v[id]);
	m->v[id] = strdup(s);
}

static const char *map_get(const idmap *m, sqlite3_int64 id)
{
	return id > 0 && (size_t)id < m->n && m->v[id] ? m->v[id] : "?";
}

static void map_free(idmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
}

typedef struct maps {
	idmap interaction, record, kase, profile, audit;
} maps;

static void fill(sqlite3 *db, const char *sql, idmap *m)
{
	sqlite3_stmt *q;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	while (sqlite3_step(q) == SQLITE_ROW)
		map_set(m, sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1));
	sqlite3_finalize(q);
}

static void build_maps(sqlite3 *db, maps *m)
{
	memset(m, 0, sizeof *m);
	fill(db, "SELECT id, 'i:' || source || ':' || hex(sha256) FROM interactions",
	     &m->interaction);
	fill(db, "SELECT r.id, 'r:' || i.source || ':' || hex(i.sha256) || '#' || "
		 "(SELECT count(*) FROM records r2 WHERE r2.interaction_id = r.interaction_id "
		 "AND r2.id < r.id) FROM records r JOIN interactions i ON i.id = r.interaction_id",
	     &m->record);
	fill(db, "SELECT id, 'c:' || process || ':' || key FROM cases", &m->kase);
	fill(db, "SELECT p.id, 'p:' || coalesce((SELECT group_concat(value, ',') FROM "
		 "(SELECT value FROM identities WHERE profile_id = p.id AND kind = 'email' "
		 "ORDER BY value)), '') FROM profiles p", &m->profile);
	fill(db, "SELECT a.id, 'a:' || c.process || ':' || c.key || '@' || a.version "
		 "FROM audit a JOIN cases c ON c.id = a.case_id", &m->audit);
}

static void maps_free(maps *m)
{
	map_free(&m->interaction);
	map_free(&m->record);
	map_free(&m->kase);
	map_free(&m->profile);
	map_free(&m->audit);
}

/* Ids inside JSON text, written as what they stand for. */
static void canon_json(cJSON *v, const maps *m)
{
	for (cJSON *it = v->child, *next; it; it = next) {
		next = it->next;
		const idmap *to = NULL;
		if (cJSON_IsNumber(it) && it->string)
			to = !strcmp(it->string, "record") ? &m->record
			     : !strcmp(it->string, "interaction") ? &m->interaction
			     : !strcmp(it->string, "case_id") ? &m->kase : NULL;
		if (to)
			cJSON_ReplaceItemViaPointer(v, it, cJSON_CreateString(
				map_get(to, (sqlite3_int64)it->valuedouble)));
		else
			canon_json(it, m);
	}
}

/* A column's value as it is compared: ids as what they stand for. */
static char *canon(const char *table, const char *col, sqlite3_stmt *q, int i, const maps *m,
		   const char *kind)
{
	int t = sqlite3_column_type(q, i);
	sqlite3_int64 n = sqlite3_column_int64(q, i);
	char buf[128];
	if (t == SQLITE_NULL)
		return strdup("NULL");
	const idmap *to = NULL;
	if (!strcmp(col, "interaction_id"))
		to = &m->interaction;
	else if (!strcmp(col, "record_id"))
		to = &m->record;
	else if (!strcmp(col, "case_id"))
		to = &m->kase;
	else if (!strcmp(col, "profile_id") || !strcmp(col, "merged_into") ||
		 !strcmp(col, "survivor") || !strcmp(col, "merged"))
		to = &m->profile;
	else if (!strcmp(col, "audit_id"))
		to = &m->audit;
	else if (!strcmp(table, "timeline") && !strcmp(col, "ref"))
		to = kind && !strcmp(kind, "case") ? &m->kase : &m->record;
	if (to)
		return strdup(map_get(to, n));
	if (t == SQLITE_BLOB) {
		const unsigned char *b = sqlite3_column_blob(q, i);
		int len = sqlite3_column_bytes(q, i);
		char *s = malloc((size_t)len * 2 + 1);
		for (int k = 0; k < len; k++)
			snprintf(s + 2 * k, 3, "%02x", b[k]);
		s[2 * len] = '\0';
		return s;
	}
	if (t != SQLITE_TEXT) {
		snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(q, i));
		return strdup(buf);
	}
	const char *s = (const char *)sqlite3_column_text(q, i);
	if (*s == '{' || *s == '[') {
		cJSON *j = cJSON_Parse(s);
		if (j) {
			canon_json(j, m);
			char *out = cJSON_PrintUnformatted(j);
			cJSON_Delete(j);
			return out;
		}
	}
	return strdup(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct rows {
	char **v;
	size_t n, cap;
} rows;

/* Every row of every table of the store at path, one line each, sorted. */
static void dump(const char *path, rows *out)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", path);
	maps m;
	build_maps(db, &m);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *tables;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
				       "AND name NOT LIKE 'sqlite_%' ORDER BY name", -1, &tables,
				       NULL), SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(tables, 0);
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
		sqlite3_stmt *q;
		cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
		int ncol = sqlite3_column_count(q);
		while (sqlite3_step(q) == SQLITE_ROW) {
			ds_buf line;
			ds_buf_init(&line, 1 << 20);
			ds_buf_puts(&line, table);
			const char *kind = NULL;
			for (int i = 0; i < ncol; i++)
				if (!strcmp(sqlite3_column_name(q, i), "kind"))
					kind = (const char *)sqlite3_column_text(q, i);
			for (int i = 0; i < ncol; i++) {
				const char *col = sqlite3_column_name(q, i);
				/* Ids themselves, where an input came from, where a
				 * document was written: not compared. */
				if (!strcmp(col, "id") || !strcmp(col, "origin") ||
				    (!strcmp(table, "documents") && !strcmp(col, "path")))
					continue;
				char *v = canon(table, col, q, i, &m, kind);
				ds_buf_printf(&line, " %s=%s", col, v);
				free(v);
			}
			if (out->n == out->cap) {
				out->cap = out->cap ? 2 * out->cap : 1024;
				out->v = realloc(out->v, out->cap * sizeof *out->v);
			}
			out->v[out->n++] = strdup(line.data);
			ds_buf_free(&line);
		}
		sqlite3_finalize(q);
	}
	sqlite3_finalize(tables);
	maps_free(&m);
	sqlite3_close(db);
	qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

static void rows_free(rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

static size_t count_prefix(const rows *r, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += !strncmp(r->v[i], prefix, strlen(prefix));
	return n;
}

Test(serve_store, serving_offers_stores_what_ingest_stores)
{
	input in[CUSTOMERS * OFFERS_EACH + 8];
	size_t n = make_inputs(in, sizeof in / sizeof *in);

	/* Ingested from a folder, in file order. */
	th_home a;
	th_home_init(&a);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "in/%s", in[i].name);
		if (!i) {
			char dir[PATH_MAX + 8];
			snprintf(dir, sizeof dir, "%s/in", a.dir);
			cr_assert(mkdir(dir, 0755) == 0);
		}
		ts_write(&a, name, in[i].body);
	}
	char *out = NULL, *err = NULL;
	int rc = th_run(&a, &out, &err, "--now " NOW " --quiet ingest --source api-offers '%s/in'", a.dir);
	cr_assert_eq(rc, 3, "ingest: exit %d: %s", rc, err);
	free(out);
	free(err);

	/* Posted by CLIENTS clients at once. */
	th_home b;
	th_home_init(&b);
	ts_server s;
	ts_start(&b, &s, "--now " NOW " --quiet");
	struct client cl[CLIENTS];
	pthread_t t[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		cl[i] = (struct client){ .port = s.port, .id = i, .in = in, .n = n };
		pthread_create(&t[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(cl[i].failed, 0, "client %d: %d requests failed", i, cl[i].failed);
	}
	cr_assert_eq(ts_stop(&s, SIGTERM), 0);

	char pa[PATH_MAX + 32], pb[PATH_MAX + 32];
	snprintf(pa, sizeof pa, "%s/var/dossier.db", a.dir);
	snprintf(pb, sizeof pb, "%s/var/dossier.db", b.dir);
	rows ra, rb;
	dump(pa, &ra);
	dump(pb, &rb);
	/* The stores hold what the inputs make. */
	cr_assert_eq(count_prefix(&ra, "interactions "), n - 3 - 1,
		     "every input but the repeats and the unreadable one is stored raw");
	cr_assert_eq(count_prefix(&ra, "cases "), CUSTOMERS * OFFERS_EACH);
	cr_assert_eq(count_prefix(&ra, "profiles "), CUSTOMERS);
	cr_assert_eq(count_prefix(&ra, "documents "), CUSTOMERS * ((OFFERS_EACH + 2) / 3));
	cr_assert_eq(count_prefix(&ra, "quarantine "), 2);
	/* Both hold the same. */
	size_t i = 0, j = 0, differ = 0;
	while (i < ra.n || j < rb.n) {
		int c = i == ra.n ? 1 : j == rb.n ? -1 : strcmp(ra.v[i], rb.v[j]);
		if (!c) {
			i++;
			j++;
			continue;
		}
		if (differ++ < 10)
			cr_expect_fail("%s: %s", c < 0 ? "only ingest stored" : "only serve stored",
				       c < 0 ? ra.v[i] : rb.v[j]);
		if (c < 0)
			i++;
		else
			j++;
	}
	cr_assert_eq(differ, 0, "%zu rows differ between ingest (%zu rows) and serve (%zu rows)",
		     differ, ra.n, rb.n);
	rows_free(&ra);
	rows_free(&rb);
	for (size_t k = 0; k < n; k++)
		free(in[k].body);
	th_home_fini(&a);
	th_home_fini(&b);
}
