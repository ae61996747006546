/*
 * test_json.c - ds_json_parse(): the strict lexical rules added on top of
 * cJSON (numbers, escapes, control characters, whitespace), the nesting
 * bound, the messages, and the marking of strings that hold U+0000. The
 * JSONTestSuite corpus runs in test_json_parse_suite.c.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "mem.h"

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(json, .init = setup);

static int parse(const char *text, cJSON **out, ds_err *err)
{
	return ds_json_parse(text, strlen(text), DS_JSON_MAX_DEPTH, out, err);
}

static const struct {
	const char *text;
	const char *message;        /* NULL: must parse */
} cases[] = {
	{ "[0, -0, 1.5, -1.5e10, 2E-3, 1e+2, 10]", NULL },
	{ "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}", NULL },
	{ " \t\r\n[ ]\n", NULL },
	{ "[-01]", "invalid JSON at byte 1: malformed number" },
	{ "[01]", "invalid JSON at byte 1: malformed number" },
	{ "[1.]", "invalid JSON at byte 1: malformed number" },
	{ "[.5]", "invalid JSON at byte 1: unexpected character" },
	{ "[-.5]", "invalid JSON at byte 1: malformed number" },
	{ "[2.e3]", "invalid JSON at byte 1: malformed number" },
	{ "[1e]", "invalid JSON at byte 1: malformed number" },
	{ "[1e+]", "invalid JSON at byte 1: malformed number" },
	{ "[+1]", "invalid JSON at byte 1: unexpected character" },
	{ "[1.5.2]", "invalid JSON at byte 1: malformed number" },
	{ "[\"a\nb\"]", "invalid JSON at byte 3: control character in a string" },
	{ "[\"a\tb\"]", "invalid JSON at byte 3: control character in a string" },
	{ "[\"\\uqqqq\"]", "invalid JSON at byte 2: bad \\u escape" },
	{ "[\"\\u12\"]", "invalid JSON at byte 2: bad \\u escape" },
	{ "[\"\\x41\"]", "invalid JSON at byte 2: bad escape in a string" },
	{ "[\"\\'\"]", "invalid JSON at byte 2: bad escape in a string" },
	{ "[\f]", "invalid JSON at byte 1: unexpected character" },
	{ "['a']", "invalid JSON at byte 1: unexpected character" },
	{ "[1] x", "invalid JSON: unexpected data after the value at byte 4" },
	{ "[1] #", "invalid JSON at byte 4: unexpected character" },
	{ "[1]]", "invalid JSON: unexpected data after the value at byte 3" },
	{ "[tru]", "invalid JSON at byte 1" },
	{ "", "empty input" },
	{ "[\"\xC3\"]", "invalid UTF-8 at byte 2" },
};

Test(json, strict_lexical_rules)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *doc = NULL;
		ds_err err = { 0, "" };
		int rc = parse(cases[i].text, &doc, &err);
		if (!cases[i].message) {
			cr_expect_eq(rc, 0, "%s: %s", cases[i].text, err.msg);
			cr_expect(doc);
		} else {
			cr_expect_eq(rc, DS_EINVAL, "%s: parsed", cases[i].text);
			cr_expect_null(doc);
			cr_expect_str_eq(err.msg, cases[i].message, "%s", cases[i].text);
		}
		cJSON_Delete(doc);
	}
}

Test(json, nesting_is_bounded_before_cjson_recurses)
{
	static char deep[200001];
	memset(deep, '[', sizeof deep - 1);
	cJSON *doc = NULL;
	ds_err err = { 0, "" };
	cr_expect_eq(ds_json_parse(deep, sizeof deep - 1, DS_JSON_MAX_DEPTH, &doc, &err),
		     DS_EINVAL);
	cr_expect_str_eq(err.msg, "nesting deeper than 64 levels at byte 64");
	cr_expect_eq(ds_json_parse("[[1]]", 5, 2, &doc, &err), 0);
	cJSON_Delete(doc);
	cr_expect_eq(ds_json_parse("[[1]]", 5, 1, &doc, &err), DS_EINVAL);
	/* Brackets inside strings do not count. */
	cr_expect_eq(ds_json_parse("[\"[[[\"]", 7, 1, &doc, &err), 0);
	cJSON_Delete(doc);
}

Test(json, strings_holding_nul_are_marked)
{
	const char *text = "{\"a\\u0000b\": \"x\\u0000y\", \"plain\": \"\\\\u0000\","
			   " \"list\": [\"ok\", \"\\u0000\", 1, {\"k\": \"z\\u0000\"}],"
			   " \"last\": \"fine\"}";
	cJSON *doc = NULL;
	ds_err err = { 0, "" };
	cr_assert_eq(parse(text, &doc, &err), 0, "%s", err.msg);
	const cJSON *m = doc->child;
	/* The member name "a\0b" is not marked; its value is. */
	cr_expect_str_eq(m->string, "a");
	cr_expect_str_eq(m->valuestring, "x");
	cr_expect(cJSON_IsString(m) && (m->type & DS_JSON_STRING_NUL));
	m = m->next;
	cr_expect_str_eq(m->valuestring, "\\u0000", "an escaped backslash is not U+0000");
	cr_expect_not(m->type & DS_JSON_STRING_NUL);
	m = m->next;
	const cJSON *e = m->child;
	cr_expect_not(e->type & DS_JSON_STRING_NUL);
	e = e->next;
	cr_expect(e->type & DS_JSON_STRING_NUL);
	cr_expect_str_eq(e->valuestring, "");
	e = e->next;
	cr_expect(cJSON_IsNumber(e));
	e = e->next;
	cr_expect(e->child->type & DS_JSON_STRING_NUL);
	m = m->next;
	cr_expect_str_eq(m->valuestring, "fine");
	cr_expect_not(m->type & DS_JSON_STRING_NUL);
	/* cJSON reads the type through its low byte and copies the mark. */
	cJSON *copy = cJSON_Duplicate(doc, true);
	cr_assert(copy);
	cr_expect(cJSON_IsString(copy->child) && (copy->child->type & DS_JSON_STRING_NUL));
	cr_expect(cJSON_Compare(doc, copy, true));
	cJSON_Delete(copy);
	cJSON_Delete(doc);
}

Test(json, config_errors_give_line_column_and_reason)
{
	char path[] = "/tmp/dossier-json-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	const char *text = "{\n  \"a\": 01\n}\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ds_diag d;
	ds_diag_init(&d);
	cJSON *doc = ds_json_load_file(path, &d);
	cr_expect_null(doc);
	cr_assert_eq(d.count, 1);
	cr_expect_str_eq(d.items[0].message, "invalid JSON at line 2, column 8: malformed number");
	ds_diag_free(&d);
	unlink(path);
}

/* ---- zones ---- */

/* A tree made in a zone is read as any other; deleting it frees the heap
 * nodes attached to it later (the leak checker of `make asan` would say
 * otherwise) and leaves its zone blocks to the arena. */
Test(json, trees_made_in_a_zone)
{
	ds_arena *zone = ds_arena_new(64 * 1024);
	for (int round = 0; round < 3; round++) {
		ds_json_zone(zone);
		cJSON *doc = cJSON_Parse("{\"name\":\"Hélène\",\"lines\":[1,2,3]}");
		cr_assert_not_null(doc);
		cr_assert(ds_zone_owns(doc));
		char *text = cJSON_PrintUnformatted(doc);
		cr_assert(ds_zone_owns(text));
		ds_json_zone(NULL);
		cJSON *late = cJSON_CreateString("added on the heap");
		cr_assert(!ds_zone_owns(late));
		cJSON_AddItemToObject(doc, "note", late);
		cr_assert_str_eq(text, "{\"name\":\"Hélène\",\"lines\":[1,2,3]}");
		cJSON_free(text);
		cJSON_Delete(doc);
		ds_arena_reset(zone);
	}
	ds_arena_free(zone);
}

/* Zoned blocks grow from the zone to the zone and from the heap on the
 * heap, keeping their bytes; a full zone hands out heap blocks. */
Test(json, zoned_blocks)
{
	ds_arena *zone = ds_arena_new(1024);
	char *z = ds_zone_alloc(zone, 10, true);
	char *h = ds_zone_alloc(NULL, 10, true);
	cr_assert(ds_zone_owns(z));
	cr_assert(!ds_zone_owns(h));
	memcpy(z, "zone-made", 10);
	memcpy(h, "heap-made", 10);
	z = ds_zone_realloc(zone, z, 5000, true);
	h = ds_zone_realloc(zone, h, 5000, true);
	cr_assert(ds_zone_owns(z));
	cr_assert(!ds_zone_owns(h));
	cr_assert_str_eq(z, "zone-made");
	cr_assert_str_eq(h, "heap-made");
	ds_zone_free(z);
	ds_zone_free(h);
	cr_assert_not_null(ds_arena_alloc(zone, DS_ZONE_MAX));
	char *spilled = ds_zone_alloc(zone, 16, true);
	cr_assert(!ds_zone_owns(spilled));
	ds_zone_free(spilled);
	ds_mem_fail_after(0);
	cr_assert_null(ds_zone_alloc(NULL, 16, true), "the heap's failures are injected");
	cr_assert_not_null(h = ds_zone_alloc(NULL, 16, false), "or not");
	ds_mem_fail_after(-1);
	ds_zone_free(h);
	ds_arena_free(zone);
}

/* Strings are escaped as cJSON prints them, so that text written by hand
 * (audit causes, the fields an edit changed) reads as cJSON's would. */
Test(json, strings_are_escaped_as_cjson_prints_them)
{
	const char *s = "quote \" back \\ nl \n cr \r tab \t bs \b ff \f one \x01 us \x1f é €";
	ds_buf b;
	ds_buf_init(&b, 1024);
	cr_assert_eq(ds_buf_json_string(&b, s), 0);
	cJSON *v = cJSON_CreateString(s);
	char *want = cJSON_PrintUnformatted(v);
	cr_expect_str_eq(b.data, want);
	cJSON_free(want);
	cJSON_Delete(v);
	ds_buf_free(&b);
}

/* What dossier wrote itself reads back as ds_json_parse reads it: with
 * an escaped NUL marked, and text that is not JSON refused. */
Test(json, own_text_reads_back_the_same)
{
	const char *texts[] = {
		"{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null,\"d\":true},\"e\":\"é\\n\\\"\"}",
		"{\"nul\":\"a\\u0000b\",\"ok\":\"c\"}",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		cJSON *own = NULL, *strict = NULL;
		ds_err err = {0};
		cr_assert_eq(ds_json_parse_own(texts[i], strlen(texts[i]), &own, &err), 0, "%s",
			     err.msg);
		cr_assert_eq(ds_json_parse(texts[i], strlen(texts[i]), 64, &strict, &err), 0);
		cr_expect(cJSON_Compare(own, strict, true), "%s", texts[i]);
		const cJSON *nul = cJSON_GetObjectItem(own, "nul");
		if (nul)
			cr_expect(nul->type & DS_JSON_STRING_NUL, "the NUL is marked");
		cJSON_Delete(own);
		cJSON_Delete(strict);
	}
	cJSON *bad = NULL;
	ds_err err = {0};
	cr_expect_eq(ds_json_parse_own("{\"a\":", 5, &bad, &err), DS_EINVAL);
	cr_expect_null(bad);
}

/* Numbers appended alone print as cJSON prints the number it makes of
 * them, past the range of an int too. */
Test(json, a_number_appended_prints_as_cjson_prints_it)
{
	static const double nums[] = { 0, 1, -1, 3, 1795510800, 2147483647, 2147483648.0,
				       4102444800.0, -2147483649.0, 0.1, 12.5, 1e21, -0.0 };
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
		ds_buf b;
		ds_buf_init(&b, 64);
		cr_assert_eq(ds_buf_json_number(&b, nums[i]), 0);
		cJSON *n = cJSON_CreateNumber(nums[i]);
		char *want = cJSON_PrintUnformatted(n);
		cr_expect_str_eq(b.data, want, "%.17g", nums[i]);
		cJSON_free(want);
		cJSON_Delete(n);
		ds_buf_free(&b);
	}
}

Test(json, a_value_appended_is_the_value_printed)
{
	const char *text = "{\"a\":[1,2.5,\"x\\n\\u0001é\"],\"b\":{\"c\":null,\"d\":true}}";
	cJSON *v = cJSON_Parse(text);
	cr_assert(v);
	ds_buf b;
	ds_buf_init(&b, 1024);
	cr_assert_eq(ds_buf_puts(&b, "["), 0);
	cr_assert_eq(ds_buf_json(&b, v), 0);
	cr_assert_eq(ds_buf_puts(&b, "]"), 0);
	char *want = cJSON_PrintUnformatted(v);
	char expect[256];
	snprintf(expect, sizeof expect, "[%s]", want);
	cr_expect_str_eq(b.data, expect);
	cJSON_free(want);
	ds_buf_free(&b);
	ds_buf_init(&b, 8);
	cr_expect_eq(ds_buf_json(&b, v), DS_ELIMIT, "past the buffer's maximum");
	ds_buf_free(&b);
	cJSON_Delete(v);
}
