/*
 * test_process.c - the warning about guards of one state that can both be
 * true: a table of guard pairs, each with whether some data takes both
 * (the first listed would then hide the second) and, when one is found,
 * the data it shows.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "process.h"

struct pair {
	const char *a, *b;
	const char *shows;  /* part of the warning, or NULL: no warning */
};

static const struct pair pairs[] = {
	/* Both can hold. */
	{ "discount_pct > 20", "discount_pct > 10", "{\"discount_pct\":21}" },
	{ "x >= 10 and x <= 20", "x >= 20", "{\"x\":20}" },
	{ "x > 10 and x < 11", "x > 10.5", "{\"x\":10.99}" },
	{ "x in [\"a\", \"b\"]", "x = \"b\"", "{\"x\":\"b\"}" },
	{ "x != \"a\"", "x = \"b\"", "{\"x\":\"b\"}" },
	{ "data.x > 1", "x < 3", "{\"x\":2}" },
	{ "tags contains \"a\"", "\"b\" in tags", "{\"tags\":[\"a\",\"b\"]}" },
	{ "vip = true", "discount > 20", "{\"vip\":true,\"discount\":21}" },
	{ "days_since(d) > 5d", "days_since(d) > 10", "{\"d\":\"2026-06-04\"}" },
	{ "due < now()", "exists(due)", "{\"due\":\"2026-06-14\"}" },
	{ "true", "x = 1", "{\"x\":1}" },
	{ "x = 1 or y = 2", "y = 2", "\"y\":2" },
	{ "exists(a)", "exists(b)", "{\"a\":\"x\",\"b\":\"x\"}" },
	{ "not (x > 5)", "x < 3", "{\"x\":2}" },
	{ "x = null", "not exists(x)", "{\"x\":null}" },
	{ "s matches \"^R\"", "s = \"Réclamation\"", "{\"s\":\"Réclamation\"}" },
	{ "x = \"5\"", "x = 5", "{\"x\":5}" },
	{ "customer.type = \"pro\"", "customer.vat exists", NULL },  /* a syntax error: none */
	{ "customer.type = \"pro\"", "exists(customer.vat)",
	  "{\"customer\":{\"type\":\"pro\",\"vat\":\"x\"}}" },
	/* Never both. */
	{ "discount_pct > 20", "discount_pct <= 20", NULL },
	{ "x = \"a\"", "x = \"b\"", NULL },
	{ "x in [\"a\", \"b\"]", "x in [\"c\"]", NULL },
	{ "exists(x)", "not exists(x)", NULL },
	{ "x > 5 and y = 1", "x < 3", NULL },
	{ "days_since(d) > 5", "days_since(d) <= 5", NULL },
	{ "x > 10 and x < 11", "x >= 11", NULL },
	{ "x = true", "x = false", NULL },
	{ "x = null", "exists(x)", NULL },
	{ "x > 20 and currency = \"EUR\"", "x > 20 and currency != \"EUR\"", NULL },
	/* Not searched (fields compared with each other, a field and its
	 * parent): no warning rather than a guess. */
	{ "a > b", "a <= b", NULL },
	{ "customer = null", "customer.name = \"x\"", NULL },
};

/* Loads a process whose first state has guards a (to "one") and b (to
 * "two", or "one" too when same_target), the first fail_after allocations
 * of the load only succeeding (-1: all); returns what it reported. */
static ds_diag load_failing(const char *a, const char *b, bool same_target, long fail_after)
{
	char path[] = "/tmp/dossier-process-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	cr_assert(f);
	cJSON *doc = cJSON_Parse("{\"name\": \"p\", \"consumes\": [\"p\"], \"key\": \"k\","
				 " \"initial\": \"start\", \"states\": {\"start\": {\"on\": []},"
				 " \"one\": {\"final\": true}, \"two\": {\"final\": true}}}");
	cJSON *on = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "states"),
							    "start"), "on");
	const char *guards[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "when", guards[i]);
		cJSON_AddStringToObject(t, "to", i == 0 || same_target ? "one" : "two");
		cJSON_AddItemToArray(on, t);
	}
	char *text = cJSON_Print(doc);
	fputs(text, f);
	fclose(f);
	cJSON_free(text);
	cJSON_Delete(doc);
	ds_diag d;
	ds_diag_init(&d);
	ds_process *p = NULL;
	ds_err err = {0};
	ds_mem_fail_after(fail_after);
	int rc = ds_process_load(path, &d, &p, &err);
	ds_mem_fail_after(-1);
	cr_assert(rc == 0 || rc == DS_ENOMEM || rc == DS_ECONFIG, "%s", err.msg);
	cr_assert(rc != DS_ENOMEM || !p);
	ds_process_free(p);
	unlink(path);
	return d;
}

static ds_diag load(const char *a, const char *b, bool same_target)
{
	return load_failing(a, b, same_target, -1);
}

Test(process, guards_that_can_both_be_true_are_shown_with_data_taking_both)
{
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		const struct pair *c = &pairs[i];
		ds_diag d = load(c->a, c->b, false);
		const char *msg = NULL;
		for (size_t k = 0; k < d.count; k++)
			if (d.items[k].warning)
				msg = d.items[k].message;
		if (c->shows) {
			cr_expect(msg && strstr(msg, c->shows), "%s / %s: expected a warning showing %s, got %s",
				  c->a, c->b, c->shows, msg ? msg : "none");
			cr_expect(msg && strstr(msg, "/states/start/on/0/when"), "%s", msg ? msg : "none");
			cr_expect(d.count && !strcmp(d.items[d.count - 1].path, "/states/start/on/1/when"));
		} else {
			cr_expect(!msg, "%s / %s: no warning expected, got %s", c->a, c->b, msg);
		}
		ds_diag_free(&d);
	}
}

Test(process, overlapping_guards_to_the_same_state_are_not_reported)
{
	ds_diag d = load("discount_pct > 20", "discount_pct > 10", true);
	cr_expect_eq(d.warnings, 0);
	ds_diag_free(&d);
}

Test(process, a_repeated_guard_is_a_transition_never_taken)
{
	for (int same = 0; same < 2; same++) {
		ds_diag d = load("discount_pct > 20", "discount_pct>20", same);
		cr_assert_eq(d.warnings, 1);
		cr_expect(strstr(d.items[0].message, "the same guard as at /states/start/on/0/when"),
			  "%s", d.items[0].message);
		cr_expect_str_eq(d.items[0].path, "/states/start/on/1/when");
		ds_diag_free(&d);
	}
}

/* Memory running out anywhere in the load, the search for data taking two
 * guards included, is an error or a warning less, never a crash or a
 * leak; with memory, the warnings are all there. */
Test(process, running_out_of_memory_loses_no_more_than_warnings)
{
	ds_mem_init();
	size_t full = 0;
	bool done = false;
	for (long n = 0; n < 100000 && !done; n++) {
		ds_diag d = load_failing("discount_pct > 20 and customer.type = \"pro\"",
					 "discount_pct > 10 or exists(customer.vat)", false, n);
		done = d.count == 1 && d.warnings == 1;
		full = d.warnings;
		ds_diag_free(&d);
	}
	cr_expect(done);
	cr_expect_eq(full, 1);
}
