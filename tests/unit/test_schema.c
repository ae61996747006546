/*
 * test_schema.c - the JSON Schema validator: keywords, formats, error
 * reports, compile-time diagnostics, $ref across a schema set, limits,
 * failure injection, concurrent use, and the offer record schema.
 *
 * Most cases are files under tests/unit/schema/ (adding a case is adding a
 * file or an entry):
 *   valid/NAME.json    {"schema", "tests": [{"description", "data",
 *                      "errors": [[pointer, keyword, message]...]}]}
 *   compile/NAME.json  {"schema", "errors": [[path, message]...],
 *                      optional "warnings": [[path, message]...]}
 *   offer/NAME.json    {"remove": [pointer...], "set": {pointer: value},
 *                      "errors": [...]}: an edit of offer-example.json
 *                      checked against schemas/records/offer.schema.json
 * Errors are compared exactly and in order, so a case also proves that
 * every error is reported, not only the first.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "err.h"
#include "json.h"
#include "mem.h"
#include "schema.h"

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(schema, .init = setup);

/* ---- helpers ---- */

/* tests/unit/schema, found next to this file (tests run from the root). */
static const char *here(const char *rel, char *buf, size_t n)
{
	const char *f = __FILE__;
	const char *slash = strrchr(f, '/');
	int dir = slash ? (int)(slash - f) : 0;
	snprintf(buf, n, "%.*s%s%s", dir, f, dir ? "/" : "", rel);
	return buf;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	ds_err err = { 0 };
	cr_assert_eq(ds_read_file(path, 64u << 20, &buf, &len, &err), 0, "%s: %s", path, err.msg);
	return buf;
}

static cJSON *load(const char *path)
{
	char *s = slurp(path);
	cJSON *j = cJSON_Parse(s);
	cr_assert(j, "%s: invalid JSON near: %.40s", path, cJSON_GetErrorPtr());
	free(s);
	return j;
}

static void spit(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of a directory, sorted; free with free_names. */
static size_t list_json(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s", dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	*out = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Errors as "pointer | keyword | message" lines. */
struct got {
	char text[8192];
	size_t n;
};

static void collect(void *ud, const char *pointer, const char *keyword, const char *message)
{
	struct got *g = ud;
	size_t len = strlen(g->text);
	snprintf(g->text + len, sizeof g->text - len, "  %s | %s | %s\n", pointer, keyword,
		 message);
	g->n++;
}

static void expected_text(const cJSON *errors, int width, char *buf, size_t n)
{
	buf[0] = '\0';
	const cJSON *e;
	cJSON_ArrayForEach(e, errors) {
		size_t len = strlen(buf);
		cr_assert(cJSON_GetArraySize(e) == width, "an expected error has %d parts", width);
		if (width == 3)
			snprintf(buf + len, n - len, "  %s | %s | %s\n",
				 cJSON_GetArrayItem(e, 0)->valuestring,
				 cJSON_GetArrayItem(e, 1)->valuestring,
				 cJSON_GetArrayItem(e, 2)->valuestring);
		else
			snprintf(buf + len, n - len, "  %s | %s\n",
				 cJSON_GetArrayItem(e, 0)->valuestring,
				 cJSON_GetArrayItem(e, 1)->valuestring);
	}
}

static void diag_text(const ds_diag *d, bool warnings, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].warning != warnings)
			continue;
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, "  %s | %s\n", d->items[i].path, d->items[i].message);
	}
}

static void check_errors(const ds_schema *s, const cJSON *data, const cJSON *want,
			 const char *where)
{
	struct got g = { "", 0 };
	size_t nerr = 99;
	ds_err err = { 0, "" };
	int rc = ds_schema_validate(s, data, collect, &g, &nerr, &err);
	cr_expect_eq(rc, 0, "%s: validate returned %d: %s", where, rc, err.msg);
	char exp[8192];
	expected_text(want, 3, exp, sizeof exp);
	cr_expect_str_eq(g.text, exp, "%s:\n got:\n%s want:\n%s", where, g.text, exp);
	cr_expect_eq(nerr, g.n, "%s: nerrors %zu, calls %zu", where, nerr, g.n);
}

static ds_schema *compile_ok(const cJSON *doc, const char *where)
{
	ds_diag d;
	ds_diag_init(&d);
	ds_schema *s = NULL;
	ds_err err = { 0, "" };
	int rc = ds_schema_compile(doc, where, &d, &s, &err);
	char text[8192];
	diag_text(&d, false, text, sizeof text);
	cr_assert_eq(rc, 0, "%s: schema does not compile (%s):\n%s", where, err.msg, text);
	cr_assert(s);
	ds_diag_free(&d);
	return s;
}

static ds_schema *compile_text(const char *text)
{
	cJSON *doc = cJSON_Parse(text);
	cr_assert(doc, "bad test schema %s", text);
	ds_schema *s = compile_ok(doc, "inline");
	cJSON_Delete(doc);
	return s;
}

/* ---- data-driven: validation ---- */

Test(schema, validation_cases)
{
	char dir[512];
	here("schema/valid", dir, sizeof dir);
	char **names;
	size_t n = list_json(dir, &names);
	cr_assert(n > 10, "no fixtures in %s", dir);
	for (size_t i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		cJSON *file = load(path);
		ds_schema *s = compile_ok(cJSON_GetObjectItem(file, "schema"), path);
		const cJSON *t;
		size_t k = 0;
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(file, "tests")) {
			char where[1200];
			const cJSON *desc = cJSON_GetObjectItem(t, "description");
			snprintf(where, sizeof where, "%s #%zu (%s)", names[i], k++,
				 cJSON_IsString(desc) ? desc->valuestring : "");
			const cJSON *data = cJSON_GetObjectItem(t, "data");
			const cJSON *want = cJSON_GetObjectItem(t, "errors");
			cr_assert(data && cJSON_IsArray(want), "%s: needs data and errors", where);
			check_errors(s, data, want, where);
		}
		cr_expect(k > 0, "%s has no tests", names[i]);
		ds_schema_free(s);
		cJSON_Delete(file);
	}
	free_names(names, n);
}

/* ---- data-driven: compile-time diagnostics ---- */

Test(schema, compile_cases)
{
	char dir[512];
	here("schema/compile", dir, sizeof dir);
	char **names;
	size_t n = list_json(dir, &names);
	cr_assert(n > 5, "no fixtures in %s", dir);
	for (size_t i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		cJSON *file = load(path);
		const cJSON *want = cJSON_GetObjectItem(file, "errors");
		const cJSON *warn = cJSON_GetObjectItem(file, "warnings");
		ds_diag d;
		ds_diag_init(&d);
		ds_schema *s = NULL;
		ds_err err = { 0, "" };
		int rc = ds_schema_compile(cJSON_GetObjectItem(file, "schema"), "case.json", &d,
					   &s, &err);
		char got[8192], exp[8192];
		diag_text(&d, false, got, sizeof got);
		expected_text(want, 2, exp, sizeof exp);
		cr_expect_str_eq(got, exp, "%s:\n got:\n%s want:\n%s", names[i], got, exp);
		if (cJSON_GetArraySize(want) > 0) {
			cr_expect_eq(rc, DS_ECONFIG, "%s: rc %d", names[i], rc);
			cr_expect_null(s, "%s: a schema with errors was returned", names[i]);
			cr_expect(strstr(err.msg, "case.json"), "%s: err says %s", names[i], err.msg);
		} else {
			cr_expect_eq(rc, 0, "%s: rc %d", names[i], rc);
		}
		for (size_t j = 0; j < d.count; j++)
			cr_expect_str_eq(d.items[j].file, "case.json");
		if (warn) {
			diag_text(&d, true, got, sizeof got);
			expected_text(warn, 2, exp, sizeof exp);
			cr_expect_str_eq(got, exp, "%s warnings:\n got:\n%s want:\n%s", names[i],
					 got, exp);
		}
		ds_schema_free(s);
		ds_diag_free(&d);
		cJSON_Delete(file);
	}
	free_names(names, n);
}

/* ---- the offer record schema ---- */

/* The parent of the node a pointer names, and the last token unescaped. */
static cJSON *parent_of(cJSON *root, const char *ptr, char *last, size_t n)
{
	cr_assert(ptr[0] == '/', "pointer %s", ptr);
	cJSON *cur = root;
	const char *p = ptr + 1;
	for (;;) {
		size_t o = 0;
		char tok[256];
		while (*p && *p != '/') {
			if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
				tok[o++] = p[1] == '0' ? '~' : '/';
				p += 2;
			} else {
				tok[o++] = *p++;
			}
		}
		tok[o] = '\0';
		if (!*p) {
			snprintf(last, n, "%s", tok);
			return cur;
		}
		p++;
		cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(tok))
					 : cJSON_GetObjectItemCaseSensitive(cur, tok);
		cr_assert(cur, "no %s in %s", tok, ptr);
	}
}

static void edit(cJSON *root, const cJSON *c)
{
	const cJSON *e;
	char last[256];
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "remove")) {
		cJSON *parent = parent_of(root, e->valuestring, last, sizeof last);
		if (cJSON_IsArray(parent))
			cJSON_DeleteItemFromArray(parent, atoi(last));
		else
			cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "set")) {
		cJSON *parent = parent_of(root, e->string, last, sizeof last);
		cJSON *v = cJSON_Duplicate(e, true);
		if (cJSON_IsArray(parent)) {
			int i = atoi(last);
			if (i < cJSON_GetArraySize(parent))
				cJSON_ReplaceItemInArray(parent, i, v);
			else
				cJSON_AddItemToArray(parent, v);
		} else if (cJSON_GetObjectItemCaseSensitive(parent, last)) {
			cJSON_ReplaceItemInObjectCaseSensitive(parent, last, v);
		} else {
			cJSON_AddItemToObject(parent, last, v);
		}
	}
}

static ds_schema_set *load_records(void)
{
	char dir[512];
	here("../../schemas/records", dir, sizeof dir);
	ds_diag d;
	ds_diag_init(&d);
	ds_schema_set *set = NULL;
	ds_err err = { 0, "" };
	int rc = ds_schema_set_load_dir(dir, &d, &set, &err);
	char text[8192];
	diag_text(&d, false, text, sizeof text);
	cr_assert_eq(rc, 0, "schemas/records: %s\n%s", err.msg, text);
	diag_text(&d, true, text, sizeof text);
	cr_expect_eq(d.warnings, 0, "schemas/records warnings:\n%s", text);
	ds_diag_free(&d);
	return set;
}

Test(schema, offer_cases)
{
	ds_schema_set *set = load_records();
	const ds_schema *offer = ds_schema_set_get(set, "offer");
	cr_assert(offer, "no offer type");
	char path[1024];
	cJSON *example = load(here("schema/offer-example.json", path, sizeof path));
	cJSON *none = cJSON_CreateArray();
	check_errors(offer, example, none, "offer-example.json");

	char dir[512];
	here("schema/offer", dir, sizeof dir);
	char **names;
	size_t n = list_json(dir, &names);
	cr_assert(n >= 8, "no fixtures in %s", dir);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		cJSON *c = load(path);
		cJSON *rec = cJSON_Duplicate(example, true);
		edit(rec, c);
		check_errors(offer, rec, cJSON_GetObjectItem(c, "errors"), names[i]);
		cJSON_Delete(rec);
		cJSON_Delete(c);
	}
	free_names(names, n);
	cJSON_Delete(none);
	cJSON_Delete(example);
	ds_schema_set_free(set);
}

/* ---- limits ---- */

static cJSON *nested_arrays(int depth)
{
	cJSON *root = cJSON_CreateArray(), *cur = root;
	for (int i = 1; i < depth; i++) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(cur, a);
		cur = a;
	}
	return root;
}

static size_t count_errors(const ds_schema *s, const cJSON *v, struct got *g)
{
	size_t n = 0;
	g->text[0] = '\0';
	g->n = 0;
	cr_assert_eq(ds_schema_validate(s, v, collect, g, &n, NULL), 0);
	return n;
}

Test(schema, depth_bomb)
{
	struct got g;
	ds_schema *tree = compile_text("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
	ds_schema *any = compile_text("true");
	cJSON *bomb = nested_arrays(10000);
	cr_expect_eq(count_errors(tree, bomb, &g), 1);
	cr_expect_str_eq(g.text, "   | depth | nesting deeper than 64\n");
	cr_expect_eq(count_errors(any, bomb, &g), 1);
	cJSON_Delete(bomb);

	cJSON *ok = nested_arrays(DS_SCHEMA_MAX_DEPTH);
	cr_expect_eq(count_errors(tree, ok, &g), 0, "%s", g.text);
	cJSON_Delete(ok);
	cJSON *over = nested_arrays(DS_SCHEMA_MAX_DEPTH + 1);
	cr_expect_eq(count_errors(tree, over, &g), 1);
	cJSON_Delete(over);

	/* Deep objects too, and the bomb inside a larger document. */
	cJSON *obj = cJSON_CreateObject(), *cur = obj;
	for (int i = 0; i < 5000; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(cur, "a", o);
		cur = o;
	}
	cJSON *doc = cJSON_CreateArray();
	cJSON_AddItemToArray(doc, cJSON_CreateNumber(1));
	cJSON_AddItemToArray(doc, obj);
	cr_expect_eq(count_errors(any, doc, &g), 1);
	cJSON_Delete(doc);
	ds_schema_free(tree);
	ds_schema_free(any);
}

/* Strings holding U+0000 (marked by ds_json_parse): no format admits one,
 * and they equal only strings that hold one too. */
Test(schema, strings_holding_nul)
{
	const char *schema_text = "{\"properties\":{\"ip\":{\"format\":\"ipv4\"},"
				  "\"tag\":{\"enum\":[\"a\\u0000b\"]},\"name\":{\"maxLength\":3}}}";
	cJSON *sdoc = NULL;
	ds_err err = { 0, "" };
	cr_assert_eq(ds_json_parse(schema_text, strlen(schema_text), 64, &sdoc, &err), 0, "%s",
		     err.msg);
	ds_schema *s = compile_ok(sdoc, "nul");
	cJSON_Delete(sdoc);
	const struct {
		const char *data;
		const char *errors;
	} cases[] = {
		{ "{\"ip\":\"192.0.2.1\",\"tag\":\"a\\u0000b\",\"name\":\"abc\\u0000\"}", "" },
		{ "{\"ip\":\"192.0.2.1\\u0000.evil.com\",\"tag\":\"a\"}",
		  "  /ip | format | must be an IPv4 address such as 192.0.2.1, got \"192.0.2.1\" "
		  "followed by U+0000\n  /tag | enum | must be one of \"a\", got \"a\"\n" },
		{ "{\"tag\":\"ab\"}", "  /tag | enum | must be one of \"a\", got \"ab\"\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *data = NULL;
		cr_assert_eq(ds_json_parse(cases[i].data, strlen(cases[i].data), 64, &data, &err),
			     0, "%s", err.msg);
		struct got g = { "", 0 };
		cr_expect_eq(ds_schema_validate(s, data, collect, &g, NULL, &err), 0);
		cr_expect_str_eq(g.text, cases[i].errors, "%s:\n%s", cases[i].data, g.text);
		cJSON_Delete(data);
	}
	ds_schema_free(s);
}

Test(schema, deep_schema_document)
{
	/* Built in memory: cJSON_Parse alone would stop at 1000 levels. */
	cJSON *root = cJSON_CreateObject(), *cur = root;
	for (int i = 0; i < 10000; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(cur, "not", o);
		cur = o;
	}
	ds_diag d;
	ds_diag_init(&d);
	ds_schema *s = NULL;
	cr_expect_eq(ds_schema_compile(root, "deep.json", &d, &s, NULL), DS_ECONFIG);
	cr_expect_null(s);
	cr_assert_eq(d.count, 1);
	cr_expect_str_eq(d.items[0].path, "");
	cr_expect_str_eq(d.items[0].message, "schema nesting deeper than 128");
	ds_diag_free(&d);
	cJSON_Delete(root);
}

Test(schema, error_limit)
{
	ds_schema *s = compile_text("{\"items\":{\"type\":\"integer\"}}");
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < 500; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString("x"));
	struct got g;
	cr_expect_eq(count_errors(s, a, &g), DS_SCHEMA_MAX_ERRORS + 1);
	cr_expect(strstr(g.text, "  /99 | type | must be an integer, got string\n"));
	cr_expect(!strstr(g.text, "/100 |"));
	cr_expect(strstr(g.text, "   | maxErrors | too many errors, stopped after 100\n"));
	size_t n = 7;
	cr_expect_eq(ds_schema_validate(s, a, NULL, NULL, &n, NULL), 0);
	cr_expect_eq(n, DS_SCHEMA_MAX_ERRORS + 1, "counted without a callback");
	cJSON_Delete(a);
	ds_schema_free(s);
}

Test(schema, pattern_backtracking_is_bounded)
{
	ds_schema *s = compile_text("{\"pattern\":\"^(a+)+$\"}");
	char text[128];
	memset(text, 'a', 60);
	strcpy(text + 60, "!");
	cJSON *v = cJSON_CreateString(text);
	struct got g;
	cr_expect_eq(count_errors(s, v, &g), 1);
	cr_expect(strstr(g.text, "   | pattern | too costly to match against the pattern \"^(a+)+$\", "
			 "got \"aaaa"), "%s", g.text);
	cJSON_Delete(v);
	ds_schema_free(s);
}

Test(schema, ref_chain_is_bounded)
{
	/* d0 -> d1 -> ... -> d299: no cycle, but longer than the limit. */
	cJSON *doc = cJSON_CreateObject();
	cJSON *defs = cJSON_AddObjectToObject(doc, "$defs");
	cJSON_AddStringToObject(doc, "$ref", "#/$defs/d0");
	for (int i = 0; i < 300; i++) {
		char name[16], ref[32];
		snprintf(name, sizeof name, "d%d", i);
		cJSON *d = cJSON_AddObjectToObject(defs, name);
		if (i < 299) {
			snprintf(ref, sizeof ref, "#/$defs/d%d", i + 1);
			cJSON_AddStringToObject(d, "$ref", ref);
		}
	}
	ds_schema *s = compile_ok(doc, "chain.json");
	cJSON *v = cJSON_CreateNull();
	struct got g;
	cr_expect_eq(count_errors(s, v, &g), 1);
	cr_expect_str_eq(g.text, "   | $ref | schema references nested deeper than 256\n");
	cJSON_Delete(v);
	ds_schema_free(s);
	cJSON_Delete(doc);
}

Test(schema, bad_arguments)
{
	ds_err err = { 0, "" };
	size_t n = 5;
	cr_expect_eq(ds_schema_validate(NULL, NULL, NULL, NULL, &n, &err), DS_EINVAL);
	cr_expect_eq(n, 0);
	cr_expect_eq(ds_schema_compile(NULL, "x", NULL, NULL, &err), DS_EINVAL);
	cr_expect_eq(ds_schema_set_load_dir(NULL, NULL, NULL, &err), DS_EINVAL);
	cr_expect_null(ds_schema_set_get(NULL, "offer"));
	cr_expect_eq(ds_schema_set_count(NULL), 0);
	cr_expect_null(ds_schema_set_name(NULL, 0));
	ds_schema_free(NULL);
	ds_schema_set_free(NULL);
}

/* ---- schema sets ---- */

struct tmpdir {
	char path[64];
};

static void tmp_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof t->path, "/tmp/ds-schema-XXXXXX");
	cr_assert(mkdtemp(t->path));
}

static void tmp_remove(struct tmpdir *t)
{
	DIR *d = opendir(t->path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[512];
		snprintf(p, sizeof p, "%s/%s", t->path, de->d_name);
		if (unlink(p) != 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(t->path);
}

static const char *diag_find(const ds_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->count; i++)
		if (strstr(d->items[i].message, needle))
			return d->items[i].path;
	return NULL;
}

Test(schema, set_cross_file_refs)
{
	struct tmpdir t;
	tmp_make(&t);
	spit(t.path, "address.schema.json",
	     "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
	     " \"type\":\"object\",\"required\":[\"city\"],"
	     " \"properties\":{\"city\":{\"type\":\"string\"},"
	     "   \"postcode\":{\"$ref\":\"#/$defs/postcode\"}},"
	     " \"$defs\":{\"postcode\":{\"type\":\"string\",\"pattern\":\"^[0-9]{5}$\"}}}");
	spit(t.path, "customer.schema.json",
	     "{\"type\":\"object\",\"properties\":{"
	     " \"home\":{\"$ref\":\"address.schema.json\"},"
	     " \"zip\":{\"$ref\":\"address.schema.json#/$defs/postcode\"},"
	     " \"self\":{\"$ref\":\"customer.schema.json#/properties/zip\"}}}");
	spit(t.path, "by-id.schema.json",
	     "{\"$id\":\"https://example.com/records/by-id.schema.json\","
	     " \"$ref\":\"https://example.com/records/other-id.schema.json#/$defs/n\"}");
	spit(t.path, "other-id.schema.json",
	     "{\"$id\":\"https://example.com/records/other-id.schema.json\","
	     " \"$defs\":{\"n\":{\"type\":\"number\"}},"
	     " \"properties\":{\"back\":{\"$ref\":\"by-id.schema.json\"}}}");
	spit(t.path, "notes.txt", "not a schema");

	ds_diag d;
	ds_diag_init(&d);
	ds_schema_set *set = NULL;
	cr_assert_eq(ds_schema_set_load_dir(t.path, &d, &set, NULL), 0,
		     "%s", d.count ? d.items[0].message : "");
	cr_expect_eq(d.count, 0);
	cr_assert_eq(ds_schema_set_count(set), 4);
	cr_expect_str_eq(ds_schema_set_name(set, 0), "address");
	cr_expect_str_eq(ds_schema_set_name(set, 1), "by-id");
	cr_expect_str_eq(ds_schema_set_name(set, 2), "customer");
	cr_expect_str_eq(ds_schema_set_name(set, 3), "other-id");
	cr_expect_null(ds_schema_set_name(set, 4));
	cr_expect_null(ds_schema_set_get(set, "notes"));

	const ds_schema *cust = ds_schema_set_get(set, "customer");
	cr_assert(cust);
	cJSON *v = cJSON_Parse("{\"home\":{\"postcode\":\"7500\"},\"zip\":\"ABCDE\",\"self\":\"1\"}");
	cJSON *want = cJSON_Parse(
		"[[\"/home/postcode\",\"pattern\",\"must match the pattern \\\"^[0-9]{5}$\\\", got \\\"7500\\\"\"],"
		" [\"/home\",\"required\",\"missing required property \\\"city\\\"\"],"
		" [\"/zip\",\"pattern\",\"must match the pattern \\\"^[0-9]{5}$\\\", got \\\"ABCDE\\\"\"],"
		" [\"/self\",\"pattern\",\"must match the pattern \\\"^[0-9]{5}$\\\", got \\\"1\\\"\"]]");
	check_errors(cust, v, want, "cross-file");
	cJSON_Delete(v);
	cJSON_Delete(want);

	const ds_schema *byid = ds_schema_set_get(set, "by-id");
	v = cJSON_Parse("\"seven\"");
	want = cJSON_Parse("[[\"\",\"type\",\"must be a number, got string\"]]");
	check_errors(byid, v, want, "by $id");
	cJSON_Delete(v);
	cJSON_Delete(want);

	ds_schema_set_free(set);
	ds_diag_free(&d);
	tmp_remove(&t);
}

Test(schema, set_keeps_what_compiles)
{
	struct tmpdir t;
	tmp_make(&t);
	spit(t.path, "good.schema.json", "{\"type\":\"object\"}");
	spit(t.path, "broken.schema.json", "{\"properties\":{\"x\":{\"uniqueItems\":true}}}");
	spit(t.path, "user.schema.json", "{\"properties\":{\"b\":{\"$ref\":\"broken.schema.json\"}}}");
	spit(t.path, "user2.schema.json", "{\"allOf\":[{\"$ref\":\"user.schema.json\"}]}");
	spit(t.path, "dangling.schema.json", "{\"$ref\":\"nowhere.schema.json#/$defs/x\"}");
	spit(t.path, "syntax.schema.json", "{\n  \"type\": \"object\",\n  oops\n}");
	spit(t.path, "Bad Name.schema.json", "{}");
	spit(t.path, "loop-a.schema.json", "{\"$ref\":\"loop-b.schema.json\"}");
	spit(t.path, "loop-b.schema.json", "{\"anyOf\":[{\"$ref\":\"loop-a.schema.json\"}]}");
	ds_diag d;
	ds_diag_init(&d);
	ds_schema_set *set = NULL;
	ds_err err = { 0, "" };
	cr_assert_eq(ds_schema_set_load_dir(t.path, &d, &set, &err), DS_ECONFIG);
	cr_assert(set, "the set is returned with what compiled");
	cr_expect_eq(ds_schema_set_count(set), 1);
	cr_expect_str_eq(ds_schema_set_name(set, 0), "good");
	cr_expect(ds_schema_set_get(set, "good"));
	cr_expect_null(ds_schema_set_get(set, "user"));

	const char *p = diag_find(&d, "unsupported keyword \"uniqueItems\"");
	cr_expect(p && strcmp(p, "/properties/x/uniqueItems") == 0, "%s", p ? p : "(none)");
	p = diag_find(&d, "broken.schema.json, which has errors");
	cr_expect(p && strcmp(p, "/properties/b/$ref") == 0, "%s", p ? p : "(none)");
	p = diag_find(&d, "user.schema.json, which has errors");
	cr_expect(p && strcmp(p, "/allOf/0/$ref") == 0, "%s", p ? p : "(none)");
	cr_expect(diag_find(&d, "no such schema file in the set"));
	cr_expect(diag_find(&d, "invalid JSON at line 3, column "), "syntax error located");
	cr_expect(diag_find(&d, "record type name"));
	p = diag_find(&d, "$ref cycle: comes back to loop-a.schema.json# without");
	cr_expect(p && strcmp(p, "/$ref") == 0, "%s", p ? p : "(none)");
	cr_expect(diag_find(&d, "loop-a.schema.json, which has errors"));
	for (size_t i = 0; i < d.count; i++)
		cr_expect(strncmp(d.items[i].file, t.path, strlen(t.path)) == 0, "file %s",
			  d.items[i].file);
	cr_expect(strstr(err.msg, "problems"), "%s", err.msg);
	ds_schema_set_free(set);
	ds_diag_free(&d);
	tmp_remove(&t);
}

Test(schema, set_missing_directory)
{
	ds_diag d;
	ds_diag_init(&d);
	ds_schema_set *set = NULL;
	cr_expect_eq(ds_schema_set_load_dir("/nonexistent/schemas/records", &d, &set, NULL),
		     DS_ECONFIG);
	cr_assert(set);
	cr_expect_eq(ds_schema_set_count(set), 0);
	cr_assert_eq(d.count, 1);
	cr_expect_str_eq(d.items[0].file, "/nonexistent/schemas/records");
	ds_schema_set_free(set);
	ds_diag_free(&d);
}

/* ---- concurrency ---- */

struct worker {
	const ds_schema *s;
	const cJSON *good, *bad;
	size_t bad_errors;
	int failures;
};

static void *work(void *p)
{
	struct worker *w = p;
	for (int i = 0; i < 2000; i++) {
		size_t n = 0;
		if (ds_schema_validate(w->s, w->good, NULL, NULL, &n, NULL) || n != 0)
			w->failures++;
		if (ds_schema_validate(w->s, w->bad, NULL, NULL, &n, NULL) || n != w->bad_errors)
			w->failures++;
	}
	return NULL;
}

Test(schema, concurrent_validation)
{
	ds_schema_set *set = load_records();
	const ds_schema *offer = ds_schema_set_get(set, "offer");
	char path[512];
	cJSON *good = load(here("schema/offer-example.json", path, sizeof path));
	cJSON *bad = cJSON_Duplicate(good, true);
	cJSON_ReplaceItemInObject(bad, "reference", cJSON_CreateString("DEV-26-1"));
	cJSON_ReplaceItemInObject(bad, "discount_pct", cJSON_CreateNumber(120));
	struct worker w[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ offer, good, bad, 2, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].failures, 0, "thread %d", i);
	}
	cJSON_Delete(bad);
	cJSON_Delete(good);
	ds_schema_set_free(set);
}

/* ---- failure injection: every allocation may fail ---- */

Test(schema, out_of_memory_compile_and_validate)
{
	char path[512];
	cJSON *doc = load(here("../../schemas/records/offer.schema.json", path, sizeof path));
	cJSON *rec = load(here("schema/offer-example.json", path, sizeof path));
	cJSON_ReplaceItemInObject(rec, "reference", cJSON_CreateString("bad"));
	bool done = false;
	for (long n = 0; n < 100000 && !done; n++) {
		ds_schema *s = NULL;
		ds_diag d;
		ds_diag_init(&d);
		ds_mem_fail_after(n);
		int rc = ds_schema_compile(doc, "offer.schema.json", &d, &s, NULL);
		size_t nerr = 0;
		int vrc = rc ? 0 : ds_schema_validate(s, rec, NULL, NULL, &nerr, NULL);
		ds_mem_fail_after(-1);
		cr_assert(rc == 0 || rc == DS_ENOMEM, "n=%ld rc=%d", n, rc);
		cr_assert(rc || s);
		cr_assert(vrc == 0 || vrc == DS_ENOMEM, "n=%ld vrc=%d", n, vrc);
		if (!rc && !vrc) {
			cr_expect_eq(nerr, 1);
			done = true;
		}
		ds_schema_free(s);
		ds_diag_free(&d);
	}
	cr_expect(done);
	cJSON_Delete(rec);
	cJSON_Delete(doc);
}

Test(schema, out_of_memory_load_dir)
{
	char dir[512];
	here("../../schemas/records", dir, sizeof dir);
	bool done = false;
	for (long n = 0; n < 100000 && !done; n++) {
		ds_schema_set *set = NULL;
		ds_diag d;
		ds_diag_init(&d);
		ds_mem_fail_after(n);
		int rc = ds_schema_set_load_dir(dir, &d, &set, NULL);
		ds_mem_fail_after(-1);
		/* cJSON cannot tell a failed allocation from a syntax error, so
		 * a file may be reported as invalid JSON instead. */
		cr_assert(rc == 0 || rc == DS_ENOMEM || rc == DS_ECONFIG, "n=%ld rc=%d", n, rc);
		cr_assert(rc == DS_ENOMEM ? set == NULL : set != NULL);
		done = rc == 0 && ds_schema_set_get(set, "offer");
		ds_schema_set_free(set);
		ds_diag_free(&d);
	}
	cr_expect(done);
}
