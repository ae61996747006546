/*
 * test_segment.c - segment filters compiled to the store's SQL give what
 * the evaluator gives: on a store of generated profiles (times on both
 * sides of day boundaries, tags set and removed, consent granted,
 * withdrawn or never stated), each filter's export is exactly the profiles
 * whose view the evaluator accepts and whose consent allows it, and its
 * count matches them all. Also: what does not compile, with its column;
 * no value of a filter in the SQL text; CSV quoting.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caltime.h"
#include "json.h"
#include "mem.h"
#include "segment.h"
#include "store.h"

#define NOW 1795510800 /* 2026-11-24T09:00:00Z */
#define DAY 86400
#define NPROFILES 240

typedef struct fixture {
	char home[64];
	ds_store *store;
	int64_t ids[NPROFILES];
} fixture;

static uint64_t seed = 42;

static uint32_t rnd(uint32_t n)
{
	seed = seed * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(seed >> 33) % n;
}

/* A time near a day boundary before or after now, or none. */
static ds_time near_day(int span)
{
	int64_t days = (int64_t)rnd((uint32_t)(2 * span + 1)) - span;
	static const int64_t jitter[] = { 0, 1, -1, 3600, -3600, 43200 };
	return NOW - days * DAY + jitter[rnd(6)];
}

static const char *pick(const char *const *v, size_t n)
{
	return v[rnd((uint32_t)n)];
}

static void add_attr(cJSON *attrs, const char *name, cJSON *value)
{
	cJSON *list = cJSON_AddArrayToObject(attrs, name), *e = cJSON_CreateObject();
	cJSON_AddItemToObject(e, "value", value);
	cJSON_AddNumberToObject(e, "trust", 1);
	cJSON_AddNumberToObject(e, "at", NOW - DAY);
	cJSON_AddItemToArray(list, e);
}

static void make_profile(fixture *f, size_t i)
{
	static const char *const postcodes[] = { "75011", "75018", "77100", "13001", "92100",
						 "69003", "95000", "7501", "750110" };
	static const char *const companies[] = { "Boulangerie Dupré SARL", "Vidal Paysage",
						 "Atelier, \"Le Bois\"" };
	ds_err err = {0};
	cJSON *attrs = cJSON_CreateObject();
	char name[32];
	snprintf(name, sizeof name, "Client %zu", i);
	add_attr(attrs, "name", cJSON_CreateString(name));
	if (rnd(8))
		add_attr(attrs, "postcode", cJSON_CreateString(pick(postcodes, 9)));
	if (rnd(2))
		add_attr(attrs, "company", cJSON_CreateString(pick(companies, 3)));
	if (rnd(3) == 0)
		add_attr(attrs, "vip", cJSON_CreateBool(rnd(2)));
	if (rnd(3) == 0)
		add_attr(attrs, "score", cJSON_CreateNumber(rnd(100)));
	if (rnd(4) == 0) {
		cJSON *addr = cJSON_CreateObject();
		cJSON_AddStringToObject(addr, "city", rnd(2) ? "Paris" : "Lyon");
		add_attr(attrs, "address", addr);
	}
	char *text = cJSON_PrintUnformatted(attrs);
	cJSON_Delete(attrs);
	int64_t id;
	cr_assert_eq(ds_store_profile_create(f->store, NOW - 400 * DAY, text, NULL, 0, NULL, 0, &id,
					     &err), 0,
		     "%s", err.msg);
	cJSON_free(text);
	f->ids[i] = id;

	ds_traits t;
	memset(&t, 0, sizeof t);
	t.v[DS_TRAIT_ORDERS_COUNT] = rnd(5);
	t.v[DS_TRAIT_TOTAL_SPENT] = rnd(4) ? (int64_t)rnd(200000) : 123456;
	if (rnd(5)) {
		int y, m, d;
		ds_civil_from_days((NOW / DAY) - (int64_t)rnd(800) + 10, &y, &m, &d);
		t.v[DS_TRAIT_LAST_ORDER_AT] = (int64_t)y * 10000 + m * 100 + d;
	}
	t.v[DS_TRAIT_OFFERS_REJECTED] = rnd(3);
	t.v[DS_TRAIT_LAST_INTERACTION_AT] = rnd(6) ? near_day(4) : 0;
	cr_assert_eq(ds_store_profile_update(f->store, id, NULL, NULL, NULL, &t, false, NOW, &err), 0,
		     "%s", err.msg);

	static const char *const tags[] = { "offer_rejected", "need_spotted", "equipment_serviced",
					    "customer" };
	for (size_t k = 0; k < 4; k++) {
		if (rnd(3))
			continue;
		ds_tag_row r = { .profile_id = id, .tag = tags[k], .present = rnd(5) != 0,
				 .at = near_day(200), .case_id = 1, .audit_id = (int64_t)(i * 10 + k) };
		cr_assert_eq(ds_store_tag_put(f->store, &r, &err), 0, "%s", err.msg);
	}
	static const char *const interests[] = { "climatisation", "pompe à chaleur" };
	for (size_t k = 0; k < 2; k++)
		if (!rnd(3))
			cr_assert_eq(ds_store_interest_add(f->store, id, interests[k], NOW, &err), 0);
	/* marketing by email: granted, withdrawn after a grant, never stated */
	uint32_t c = rnd(10);
	if (c < 8) {
		ds_consent_row r = { .profile_id = id, .purpose = "marketing", .channel = "email",
				     .granted = true, .at = NOW - 30 * DAY, .interaction_id = 1,
				     .record_id = 1, .source = "web-contact" };
		cr_assert_eq(ds_store_consent_add(f->store, &r, &err), 0, "%s", err.msg);
		if (c >= 6) {
			r.granted = false;
			r.at = NOW - 3 * DAY;
			cr_assert_eq(ds_store_consent_add(f->store, &r, &err), 0, "%s", err.msg);
		}
	}
	if (!rnd(4)) {
		ds_consent_row r = { .profile_id = id, .purpose = "marketing", .channel = "sms",
				     .granted = rnd(2), .at = NOW - DAY, .interaction_id = 1,
				     .record_id = 1, .source = "web-contact" };
		cr_assert_eq(ds_store_consent_add(f->store, &r, &err), 0, "%s", err.msg);
	}
}

static void open_fixture(fixture *f)
{
	ds_err err = {0};
	ds_mem_init();
	snprintf(f->home, sizeof f->home, "/tmp/dossier-seg-XXXXXX");
	cr_assert(mkdtemp(f->home));
	cr_assert_eq(ds_store_open("sqlite:seg.db", f->home, &f->store, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_begin(f->store, &err), 0);
	seed = 42;
	for (size_t i = 0; i < NPROFILES; i++)
		make_profile(f, i);
	cr_assert_eq(ds_store_commit(f->store, &err), 0, "%s", err.msg);
}

static void close_fixture(fixture *f)
{
	char cmd[128];
	ds_store_close(f->store);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->home);
	cr_assert_eq(system(cmd), 0);
}

/* Writes the definition of a segment with this filter into path. */
static void write_segment(const char *path, const char *filter, const char *columns)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "filter", filter);
	cJSON *c = cJSON_AddObjectToObject(doc, "consent");
	cJSON_AddStringToObject(c, "purpose", "marketing");
	cJSON_AddStringToObject(c, "channel", "email");
	cJSON_AddItemToObject(doc, "columns", cJSON_Parse(columns ? columns : "[\"id\"]"));
	char *text = cJSON_Print(doc);
	FILE *fp = fopen(path, "w");
	cr_assert(fp);
	fputs(text, fp);
	fclose(fp);
	cJSON_free(text);
	cJSON_Delete(doc);
}

/* The segment of path, loaded as any other; NULL with the problem in *why
 * when it does not load. */
static ds_segment *load_segment(const char *path, char *why, size_t n)
{
	ds_diag d;
	ds_diag_init(&d);
	ds_err err = {0};
	ds_segment *s = NULL;
	int rc = ds_segment_load(path, NULL, &d, &s, &err);
	if (why)
		snprintf(why, n, "%s", d.count ? d.items[0].message : err.msg);
	cr_assert(rc == DS_OK || rc == DS_ECONFIG || rc == DS_ENOMEM, "%s", err.msg);
	ds_diag_free(&d);
	return s;
}

/* A segment with this filter, loaded from a file as any other. */
static ds_segment *segment(const fixture *f, const char *filter, const char *columns,
			   char *why, size_t n)
{
	char path[128];
	snprintf(path, sizeof path, "%s/test.json", f->home);
	write_segment(path, filter, columns);
	return load_segment(path, why, n);
}

struct ids {
	int64_t v[NPROFILES];
	size_t n;
};

static int collect(void *ud, const ds_seg_cell *row)
{
	struct ids *x = ud;
	cr_assert(x->n < NPROFILES);
	x->v[x->n++] = row[0].i;
	return 0;
}

static bool has(const struct ids *x, int64_t id)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i] == id)
			return true;
	return false;
}

/* The evaluator's answer for one profile. */
static bool eval_view(const fixture *f, const ds_segment *s, int64_t id, bool *consented)
{
	ds_err err = {0};
	cJSON *view = NULL;
	cr_assert_eq(ds_segment_view(f->store, id, &view, &err), 0, "%s", err.msg);
	ds_expr_env env = { ds_segment_resolve, view, NOW };
	bool ok = false;
	cr_assert_eq(ds_expr_eval_bool(s->filter, &env, &ok, &err), 0, "%s: %s", s->filter_src,
		     err.msg);
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(view, "consent"),
						 "marketing"), "email");
	*consented = cJSON_IsTrue(g);
	cJSON_Delete(view);
	return ok;
}

static const char *const filters[] = {
	"traits.orders_count > 2",
	"traits.orders_count >= 2.5",
	"traits.orders_count = 3",
	"traits.orders_count != 3",
	"not traits.orders_count < 2",
	"traits.orders_count > 1d",
	"traits.orders_count = '3'",
	"2 < traits.orders_count",
	"traits.total_spent > 1000",
	"traits.total_spent <= 1234.565",
	"traits.total_spent = 1234.56",
	"traits.total_spent >= '500.5'",
	"days_since(traits.last_order_at) > 365",
	"days_since(traits.last_order_at) <= 30",
	"days_since(traits.last_order_at) = 0",
	"days_since(traits.last_order_at) != 10",
	"days_since(traits.last_order_at) < -1",
	"days_since(traits.last_order_at) >= 90.5",
	"days_since(traits.last_interaction_at) >= 1",
	"days_since(traits.last_interaction_at) < 1.5",
	"days_since(traits.last_interaction_at) > 2d",
	"days_since(traits.last_interaction_at) = 0",
	"days_since(traits.last_interaction_at) <= -1",
	"days_since(traits.last_interaction_at) = -2",
	"days_since(traits.last_interaction_at) > 36h",
	"days_since(traits.last_interaction_at) = null",
	"traits.last_order_at >= '2026-01-01'",
	"traits.last_order_at < '2025-06-15'",
	"traits.last_order_at = null",
	"traits.last_order_at < now()",
	"traits.last_order_at >= now()",
	"traits.last_interaction_at > '2026-11-22'",
	"traits.last_interaction_at <= '2026-11-23T12:00:00Z'",
	"traits.last_interaction_at = '2026-11-24T09:00:00Z'",
	"traits.last_interaction_at > now()",
	"traits.last_interaction_at != now()",
	"exists(traits.last_order_at)",
	"not exists(traits.last_interaction_at)",
	"\"offer_rejected\" in tags",
	"tags contains \"need_spotted\"",
	"not (\"offer_rejected\" in tags)",
	"days_since(tags.offer_rejected) < 183",
	"days_since(tags.offer_rejected) >= 30 and days_since(tags.offer_rejected) <= 90",
	"not days_since(tags.customer) > 100",
	"tags.offer_rejected = null",
	"tags.offer_rejected > '2026-08-01'",
	"exists(tags.need_spotted) or \"climatisation\" in interests",
	"\"equipment_serviced\" in tags and \"need_spotted\" in tags",
	"\"equipment_serviced\" in tags and not (\"customer\" in tags)",
	"\"pompe à chaleur\" in interests",
	"interests contains \"climatisation\" and traits.orders_count > 0",
	"consent.marketing.email",
	"consent.marketing.email = false",
	"not consent.marketing.sms",
	"exists(consent.marketing.sms)",
	"consent.marketing.email != true",
	"consent.marketing.sms = null",
	"attributes.postcode matches '^(75|77|92)[0-9]{3}$'",
	"not attributes.postcode matches '^75'",
	"exists(attributes.company) and attributes.postcode matches "
	"'^(75|77|78|91|92|93|94|95)[0-9]{3}$'",
	"attributes.postcode matches '0$'",
	"attributes.postcode = '75011'",
	"attributes.postcode != '75011'",
	"attributes.postcode in ['75011', '13001']",
	"not (attributes.postcode in ['75011', '13001'])",
	"attributes.postcode >= '75' and attributes.postcode < '76'",
	"attributes.company contains 'SARL'",
	"not (attributes.company contains ',')",
	"attributes.vip",
	"attributes.vip = false",
	"not attributes.vip",
	"attributes.score > 50",
	"attributes.score <= 10 or attributes.score = 99",
	"attributes.score = null",
	"attributes.score != 42",
	"attributes.address.city = 'Paris'",
	"not exists(attributes.address)",
	"id > 100 and id <= 150",
	"id in [1, 2, 3, 240]",
	"true",
	"false",
	"null",
	"not (traits.orders_count > 1 or consent.marketing.sms)",
	"profile.traits.orders_count = 0 and not profile.consent.marketing.email",
};

Test(segment, the_store_agrees_with_the_evaluator)
{
	fixture f;
	open_fixture(&f);
	size_t nonempty = 0;
	for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) {
		char why[512];
		ds_segment *s = segment(&f, filters[k], NULL, why, sizeof why);
		cr_assert(s, "%s: %s", filters[k], why);
		ds_arena *a = ds_arena_new(4096);
		ds_seg_query q;
		ds_err err = {0};
		cr_assert_eq(ds_segment_query(s, NOW, a, &q, &err), 0, "%s: %s", filters[k], err.msg);
		struct ids got = { .n = 0 };
		cr_assert_eq(ds_store_segment_export(f.store, &q, collect, &got, &err), 0, "%s: %s",
			     filters[k], err.msg);
		int64_t matched = 0, consented = 0;
		cr_assert_eq(ds_store_segment_count(f.store, &q, &matched, &consented, &err), 0);
		int64_t want_matched = 0, want_consented = 0;
		for (size_t i = 0; i < NPROFILES; i++) {
			bool cons;
			bool ok = eval_view(&f, s, f.ids[i], &cons);
			want_matched += ok;
			want_consented += ok && cons;
			cr_expect_eq(has(&got, f.ids[i]), ok && cons,
				     "%s: profile %lld: evaluator %s (consent %s), export %s",
				     filters[k], (long long)f.ids[i], ok ? "true" : "false",
				     cons ? "granted" : "not granted",
				     has(&got, f.ids[i]) ? "has it" : "has it not");
		}
		cr_expect_eq(matched, want_matched, "%s: count %lld, evaluator %lld", filters[k],
			     (long long)matched, (long long)want_matched);
		cr_expect_eq(consented, want_consented, "%s", filters[k]);
		cr_expect_eq((int64_t)got.n, want_consented, "%s", filters[k]);
		nonempty += want_consented > 0 && want_consented < NPROFILES / 2;
		ds_arena_free(a);
		ds_segment_free(s);
	}
	/* The generated profiles make most filters split them. */
	cr_expect_gt(nonempty, sizeof filters / sizeof *filters / 2);
	close_fixture(&f);
}

struct sqltext {
	char *sql;
	cJSON *params;
};

static int on_explain(void *ud, const char *what, const char *text)
{
	struct sqltext *x = ud;
	if (!strcmp(what, "sql"))
		x->sql = strdup(text);
	else if (!strcmp(what, "param"))
		cJSON_AddItemToArray(x->params, cJSON_CreateString(text));
	return 0;
}

/* The SQL text without its parameter markers (?12). */
static void strip_markers(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if (*r == '?') {
			r++;
			while (*r >= '0' && *r <= '9')
				r++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

/* Whether word occurs in s as a whole token (not inside a longer word or
 * number). */
static bool has_token(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(s, word); p; p = strstr(p + 1, word)) {
		bool before = p == s || !(p[-1] == '_' || (p[-1] >= '0' && p[-1] <= '9') ||
					  (p[-1] >= 'a' && p[-1] <= 'z'));
		char c = p[n];
		bool after = !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'));
		if (before && after)
			return true;
	}
	return false;
}

Test(segment, no_value_is_in_the_sql_text)
{
	fixture f;
	open_fixture(&f);
	static const char *const columns =
		"[\"id\", \"email\", \"attributes.name\", \"tags.offer_rejected\", \"tags\","
		" \"interests\", \"traits.total_spent\"]";
	size_t checked = 0;
	for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) {
		ds_segment *s = segment(&f, filters[k], columns, NULL, 0);
		ds_arena *a = ds_arena_new(4096);
		ds_seg_query q;
		ds_err err = {0};
		cr_assert_eq(ds_segment_query(s, NOW, a, &q, &err), 0);
		for (int count = 0; count < 2; count++) {
			struct sqltext x = { NULL, cJSON_CreateArray() };
			cr_assert_eq(ds_store_segment_explain(f.store, &q, count, on_explain, &x, &err),
				     0, "%s: %s", filters[k], err.msg);
			cr_assert(x.sql);
			strip_markers(x.sql);
			const cJSON *p;
			cJSON_ArrayForEach(p, x.params) {
				/* 0 and 1 are the text's own constants (present = 1) */
				if (strlen(p->valuestring) < 2)
					continue;
				checked++;
				cr_expect(!has_token(x.sql, p->valuestring),
					  "%s: the value %s is in the SQL: %s", filters[k],
					  p->valuestring, x.sql);
			}
			free(x.sql);
			cJSON_Delete(x.params);
		}
		ds_arena_free(a);
		ds_segment_free(s);
	}
	cr_expect_gt(checked, 100);
	close_fixture(&f);
}

static const struct {
	const char *filter;
	const char *message;
} refused[] = {
	{ "traits.orders > 1", "column 1: unknown trait \"orders\"" },
	{ "traits.orders_count > traits.offers_sent", "not two fields" },
	{ "tags = 'x'", "tags is a list" },
	{ "days_since(attributes.since) > 3", "days_since reads a date or a time" },
	{ "colour = 'blue'", "unknown field \"colour\"" },
	{ "consent.marketing.fax", "the channel is email, sms, post or phone" },
	{ "traits.orders_count", "a field alone is a condition only when" },
	{ "traits.orders_count > 1 and\n  tags.Bad = null", "line 2, column 3: \"Bad\" is no tag" },
	{ "traits.orders_count >", "column" },
	{ "days_since(traits.last_order_at)", "is not a condition" },
	{ "attributes.x matches 3", "column" },
};

Test(segment, what_does_not_compile_is_said_with_its_place)
{
	fixture f;
	open_fixture(&f);
	for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
		char why[512];
		ds_segment *s = segment(&f, refused[k].filter, NULL, why, sizeof why);
		cr_expect_null(s, "%s compiled", refused[k].filter);
		cr_expect(strstr(why, refused[k].message), "%s: \"%s\", expected \"%s\"",
			  refused[k].filter, why, refused[k].message);
		ds_segment_free(s);
	}
	char why[512];
	cr_expect_null(segment(&f, "true", "[\"colour\", \"tags.X\"]", why, sizeof why));
	cr_expect(strstr(why, "unknown column \"tags.X\""), "%s", why);
	close_fixture(&f);
}

static char *csv(const char *s)
{
	ds_buf b;
	ds_buf_init(&b, 1024);
	cr_assert_eq(ds_segment_csv_field(&b, s, strlen(s)), 0);
	char *text = strndup(b.data ? b.data : "", b.len);
	ds_buf_free(&b);
	return text;
}

Test(segment, csv_fields_are_quoted_as_rfc_4180_says)
{
	static const char *const cases[][2] = {
		{ "Hélène Dupré", "Hélène Dupré" },
		{ "", "" },
		{ "Dupré, Hélène", "\"Dupré, Hélène\"" },
		{ "Atelier \"Le Bois\"", "\"Atelier \"\"Le Bois\"\"\"" },
		{ "ligne 1\nligne 2", "\"ligne 1\nligne 2\"" },
		{ "ligne 1\r\nligne 2", "\"ligne 1\r\nligne 2\"" },
		{ "\"", "\"\"\"\"" },
		{ "café; crème", "café; crème" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *got = csv(cases[i][0]);
		cr_expect_str_eq(got, cases[i][1], "%s", cases[i][0]);
		free(got);
	}
}

/* Loading and compiling a segment when memory runs out at each allocation
 * in turn: it fails cleanly (no crash, no leak under ASan) until it
 * succeeds, and then compiles the same statement. */
Test(segment, running_out_of_memory_fails_cleanly)
{
	fixture f;
	open_fixture(&f);
	static const char *const filter =
		"\"need_spotted\" in tags and not consent.marketing.sms and "
		"(days_since(traits.last_order_at) > 365 or attributes.postcode matches "
		"'^(75|77|78|91|92|93|94|95)[0-9]{3}$')";
	ds_segment *s = NULL;
	char path[128];
	snprintf(path, sizeof path, "%s/oom.json", f.home);
	write_segment(path, filter, "[\"id\", \"email\", \"tags.need_spotted\"]");
	for (long n = 0; !s; n++) {
		cr_assert_lt(n, 100000, "never loads");
		ds_mem_fail_after(n);
		s = load_segment(path, NULL, 0);
		ds_mem_fail_after(-1);
	}
	int rc = DS_ENOMEM;
	for (long n = 0; rc; n++) {
		cr_assert_lt(n, 100000, "never compiles");
		ds_arena *a = NULL;
		ds_seg_query q;
		ds_err err = {0};
		ds_mem_fail_after(n);
		a = ds_arena_new(4096);
		rc = a ? ds_segment_query(s, NOW, a, &q, &err) : DS_ENOMEM;
		ds_mem_fail_after(-1);
		cr_assert(rc == DS_OK || rc == DS_ENOMEM, "%d: %s", rc, err.msg);
		if (!rc) {
			int64_t matched = -1, consented = -1;
			cr_assert_eq(ds_store_segment_count(f.store, &q, &matched, &consented, &err), 0,
				     "%s", err.msg);
			cr_expect_geq(matched, consented);
		}
		ds_arena_free(a);
	}
	ds_segment_free(s);
	close_fixture(&f);
}
