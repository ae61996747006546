/*
 * test_json_parse_suite.c - ds_json_parse() against nst/JSONTestSuite, read
 * in place from ../shared/corpus/json-parse/test_parsing/ (the path is
 * relative to the repository root, where the tests run).
 *
 * The expected outcome is in each file's name: every y_ file must parse,
 * every n_ file must be refused with an error message, and every i_ file
 * may go either way but must return (the deeply nested files included: the
 * depth limit refuses them before cJSON recurses). Inputs are parsed with
 * DS_JSON_MAX_DEPTH, the limit every untrusted input gets. The counts go
 * to stderr, so the output of `make test` shows them.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "mem.h"

#define CORPUS "../shared/corpus/json-parse/test_parsing"
#define MAX_FILE (16u << 20)

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(json_parse_suite, .init = setup);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of the corpus, sorted; NULL when it is missing. */
static char **list_corpus(size_t *count)
{
	DIR *d = opendir(CORPUS);
	if (!d)
		return NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		cr_assert(names);
		names[n] = strdup(de->d_name);
		cr_assert(names[n]);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	*count = n;
	return names;
}

struct tally {
	size_t total, ok, bad;
};

Test(json_parse_suite, every_file_gives_its_expected_outcome)
{
	size_t n = 0;
	char **names = list_corpus(&n);
	cr_assert(names && n > 0,
		  "the JSON parsing corpus is missing: expected the JSONTestSuite files in "
		  "%s (relative to the repository root; run the tests from there)", CORPUS);
	/* y: parsed / refused; n: refused / accepted; i: accepted / refused. */
	struct tally y = { 0, 0, 0 }, no = { 0, 0, 0 }, in = { 0, 0, 0 };
	size_t wrong = 0, printed = 0;
	ds_arena *arena = ds_arena_new(4096);
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", CORPUS, name);
		char *text = NULL;
		size_t len = 0;
		ds_err err = { 0, "" };
		int rc = ds_read_file(path, MAX_FILE, &text, &len, &err);
		cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
		cJSON *doc = NULL;
		ds_err perr = { 0, "" };
		rc = ds_json_parse(text, len, DS_JSON_MAX_DEPTH, &doc, &perr);
		bool parsed = rc == 0;
		if (parsed) {
			cr_expect(doc != NULL, "%s: parsed without a tree", name);
			/* printed back as cJSON prints it, byte for byte */
			char *want = cJSON_PrintUnformatted(doc);
			char *got = ds_json_print_arena(arena, doc);
			cr_expect(want && got && !strcmp(got, want), "%s: printed %s, not %s", name,
				  got ? got : "(nothing)", want ? want : "(nothing)");
			printed += want && got && !strcmp(got, want);
			cJSON_free(want);
			ds_arena_reset(arena);
		}
		else
			cr_expect(doc == NULL && perr.msg[0] && rc == DS_EINVAL,
				  "%s: refused without DS_EINVAL and a message (%d, \"%s\")",
				  name, rc, perr.msg);
		cJSON_Delete(doc);
		ds_free(text);
		switch (name[0]) {
		case 'y':
			y.total++;
			if (parsed) {
				y.ok++;
			} else {
				y.bad++;
				wrong++;
				cr_log_error("%s must parse; refused: %s", name, perr.msg);
				fprintf(stderr, "json-parse: %s must parse; refused: %s\n", name,
					perr.msg);
			}
			break;
		case 'n':
			no.total++;
			if (!parsed) {
				no.ok++;
			} else {
				no.bad++;
				wrong++;
				fprintf(stderr, "json-parse: %s must be refused; it parsed\n", name);
			}
			break;
		case 'i':
			in.total++;
			if (parsed)
				in.ok++;
			else
				in.bad++;
			break;
		default:
			cr_expect_fail("%s: not a y_, n_ or i_ file", name);
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	fprintf(stderr,
		"json-parse JSONTestSuite: %zu files; y_: %zu, %zu parsed, %zu refused; "
		"n_: %zu, %zu refused, %zu accepted; i_: %zu, %zu accepted, %zu refused, "
		"none crashed; %zu wrong\n",
		y.total + no.total + in.total, y.total, y.ok, y.bad, no.total, no.ok, no.bad,
		in.total, in.ok, in.bad, wrong);
	cr_expect(y.total > 0 && no.total > 0 && in.total > 0,
		  "the corpus lacks y_, n_ or i_ files");
	cr_expect_eq(wrong, 0, "%zu files gave the wrong outcome (listed above)", wrong);
	fprintf(stderr, "json-parse JSONTestSuite: %zu parsed documents printed as cJSON prints "
		"them\n", printed);
	cr_expect_gt(printed, 80);
	ds_arena_free(arena);
}
