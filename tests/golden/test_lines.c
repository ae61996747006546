/*
 * test_lines.c - an NDJSON file, read by the reading threads in runs of
 * lines, gives the store that the same inputs give one file each, read
 * one after the other: the same cases in the same states with the same
 * histories, the same duplicates found, the same quarantine entries in the
 * same order, each reported once. Among the lines, one is refused after it
 * wrote (a job's status, then a note for a job that does not exist): the
 * batch it is in is undone and run again, and it alone is quarantined,
 * whatever the batch size. The jobs of tests/golden/lines/.
 */
#include <sys/stat.h>

#include "helpers.h"

#define NOW "--now 2026-11-24T09:00:00Z"
#define JOBS 150
#define DONE 50

/* The lines, in order; NULL entries are blank lines. */
static char *lines[2 * JOBS + DONE + 16];
static size_t nlines;

/* Adds a line (NULL: a blank one). */
static void add(const char *text)
{
	lines[nlines++] = text ? strdup(text) : NULL;
}

/* pad: spaces inside each "started" line, so that the lines before the
 * one refused after it wrote can fill the bytes ingest keeps of a batch. */
static void make_lines(size_t pad)
{
	char buf[256];
	nlines = 0;
	for (int i = 1; i <= JOBS; i++) {
		snprintf(buf, sizeof buf, "{\"job\":\"JOB-%04d\",\"status\":\"open\",\"by\":\"Zoë %d\"}",
			 i, i);
		add(buf);
	}
	add(NULL);
	add(lines[2]);                        /* a duplicate */
	add("{\"job\": \"JOB-0001\",");        /* not JSON */
	for (int i = 1; i <= JOBS; i++) {
		char *line = malloc(pad + 64);
		cr_assert(line);
		int n = snprintf(line, 64, "{\"job\":\"JOB-%04d\",", i);
		memset(line + n, ' ', pad);
		snprintf(line + n + pad, 64, "\"status\":\"started\"}");
		add(line);
		free(line);
	}
	/* done, then a note for a job that does not exist: refused after the
	 * status was written */
	add("{\"job\":\"JOB-0007\",\"status\":\"done\",\"note\":\"livré\",\"note_for\":\"JOB-9999\"}");
	/* done, and a note for another job */
	add("{\"job\":\"JOB-0008\",\"status\":\"done\",\"note\":\"livré\",\"note_for\":\"JOB-0009\"}");
	add("{\"job\":\"JOB-0010\",\"status\":\"closed\"}"); /* invalid */
	for (int i = 11; i < 11 + DONE; i++) {
		snprintf(buf, sizeof buf, "{\"job\":\"JOB-%04d\",\"status\":\"done\"}", i);
		add(buf);
	}
}

static void free_lines(void)
{
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
}

/* config: the home's dossier.json, or NULL for none. */
static void home(th_home *h, const char *config)
{
	th_home_init(h);
	th_home_overlay(h, "tests/golden/lines");
	if (config) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/dossier.json", h->dir);
		FILE *f = fopen(path, "w");
		cr_assert(f);
		fprintf(f, "%s\n", config);
		fclose(f);
	}
}

static void write_ndjson(th_home *h)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/jobs.ndjson", h->dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	for (size_t i = 0; i < nlines; i++)
		fprintf(f, "%s\n", lines[i] ? lines[i] : "  ");
	fclose(f);
}

/* The same lines as one file each, named by line number (blank lines
 * left out: an empty file is an input, a blank line is not). */
static void write_files(th_home *h)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/jobs", h->dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	for (size_t i = 0; i < nlines; i++) {
		if (!lines[i])
			continue;
		snprintf(path, sizeof path, "%s/jobs/%04zu.json", h->dir, i + 1);
		FILE *f = fopen(path, "w");
		cr_assert(f);
		fputs(lines[i], f);
		fclose(f);
	}
}

/* The line number an origin names: "...jobs.ndjson:N" or ".../jobs/N.json". */
static long line_of(const char *origin)
{
	const char *colon = strrchr(origin, ':');
	const char *slash = strrchr(origin, '/');
	return atol(colon ? colon + 1 : slash + 1);
}

/* What the store holds, in a form two homes can compare: the cases with
 * their states and versions, the data and history of one in ten and of
 * those the special lines touch, and the quarantine. */
static char *store_text(th_home *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cJSON *list = th_json(h, 0, "case list --process job");
	const cJSON *c;
	cJSON_ArrayForEach(c, list) {
		fprintf(m, "%s %s v%.0f\n", th_str(c, "key"), th_str(c, "state"),
			th_num(c, "version"));
		int n = atoi(th_str(c, "key") + 4);
		if (n % 10 != 3 && (n < 7 || n > 10))
			continue;
		cJSON *show = th_json(h, 0, "case show %s", th_str(c, "key"));
		char *data = cJSON_PrintUnformatted(cJSON_GetObjectItem(show, "data"));
		fprintf(m, "  data %s\n", data);
		free(data);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(show, "history")) {
			const cJSON *from = cJSON_GetObjectItem(e, "from");
			const cJSON *cause = cJSON_GetObjectItem(e, "cause");
			fprintf(m, "  %s -> %s (%s)\n", cJSON_IsString(from) ? from->valuestring : "-",
				th_str(e, "to"), th_str(cause, "type"));
		}
		cJSON_Delete(show);
	}
	cJSON_Delete(list);
	cJSON *q = th_json(h, 0, "quarantine list");
	cJSON_ArrayForEach(c, q)
		fprintf(m, "quarantine line %ld %s: %s\n", line_of(th_str(c, "origin")),
			th_str(c, "stage"), th_str(c, "reason"));
	cJSON_Delete(q);
	fclose(m);
	return buf;
}

/* Ingests what; checks the counts every way of reading gives, and that
 * each quarantined input was reported once, in order. */
static void ingest(th_home *h, const char *what)
{
	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, NOW " ingest '%s/%s'", h->dir, what);
	cr_expect_eq(rc, 3, "exit %d: %s", rc, err);
	cr_expect(strstr(out, "read 355, new 353, duplicates 1, quarantined 3, records 352,"
			      " transitions 201,"), "%s", out);
	const char *p = err;
	long last = 0;
	int reported = 0;
	while ((p = strstr(p, "quarantined "))) {
		if (p == err || p[-1] == '\n') {
			const char *origin = p + strlen("quarantined ");
			const char *end = strstr(origin, " (");
			cr_assert(end);
			char o[PATH_MAX + 32];
			snprintf(o, sizeof o, "%.*s", (int)(end - origin), origin);
			long line = line_of(o);
			cr_expect_gt(line, last, "reported in order, once: %s", err);
			last = line;
			reported++;
		}
		p++;
	}
	cr_expect_eq(reported, 3, "%s", err);
	free(out);
	free(err);
}

Test(lines, ndjson_read_ahead_gives_the_store_files_give)
{
	th_home a, b, c;
	make_lines(0);
	home(&a, NULL);
	write_ndjson(&a);
	ingest(&a, "jobs.ndjson");
	char *sa = store_text(&a);
	/* the note for a job that does not exist undid its whole line */
	cr_expect(strstr(sa, "JOB-0007 started v3\n"), "%s", sa);
	cr_expect(strstr(sa, "JOB-0008 done v5\n"), "%s", sa);
	cr_expect(strstr(sa, "\"note\":\"livré\""), "%s", sa);
	cr_expect(strstr(sa, "quarantine line 153 read: "), "%s", sa);
	cr_expect(strstr(sa, "quarantine line 304 advance: uncorrelated: no job case JOB-9999"),
		  "%s", sa);
	cr_expect(strstr(sa, "quarantine line 306 validate: "), "%s", sa);

	home(&b, NULL);
	write_files(&b);
	ingest(&b, "jobs");
	char *sb = store_text(&b);
	cr_expect_str_eq(sa, sb);

	/* batches ending inside the runs of lines, and the batch undone
	 * and run again small */
	home(&c, "{\"batch_size\": 7}");
	write_ndjson(&c);
	ingest(&c, "jobs.ndjson");
	char *sc = store_text(&c);
	cr_expect_str_eq(sa, sc);

	/* again: everything a duplicate, nothing new */
	cJSON *sum = th_json(&a, 0, NOW " ingest '%s/jobs.ndjson'", a.dir);
	cr_expect_eq(th_num(sum, "read"), 355);
	cr_expect_eq(th_num(sum, "duplicates"), 355);
	cr_expect_eq(th_num(sum, "new"), 0);
	cr_expect_eq(th_num(sum, "records"), 0);
	cJSON_Delete(sum);
	char *again = store_text(&a);
	cr_expect_str_eq(sa, again);

	free(again);
	free(sa);
	free(sb);
	free(sc);
	th_home_fini(&a);
	th_home_fini(&b);
	th_home_fini(&c);
	free_lines();
}

/* Lines of 128 KiB: ingest keeps 16 MiB of a batch's inputs to run them
 * again, so the batch is committed well before the line refused after it
 * wrote, and the next one, undone and run again, holds that line. The
 * store is the one the short lines give, and so it is with a page cache
 * of 1 MiB, which the batches' changed pages outgrow. */
/* What the store holds once the lines are ingested as one NDJSON file in
 * a fresh home (config: its dossier.json, or NULL). */
static char *store_of(const char *config)
{
	th_home h;
	home(&h, config);
	write_ndjson(&h);
	ingest(&h, "jobs.ndjson");
	char *text = store_text(&h);
	th_home_fini(&h);
	return text;
}

Test(lines, a_batch_that_fills_what_ingest_keeps_is_committed_and_the_next_run_again)
{
	make_lines(0);
	char *sa = store_of(NULL);
	free_lines();

	make_lines(128u << 10);
	char *sb = store_of(NULL);
	cr_expect_str_eq(sa, sb);
	cr_expect(strstr(sb, "JOB-0007 started v3\n"), "%s", sb);
	cr_expect(strstr(sb, "quarantine line 304 advance: uncorrelated: no job case JOB-9999"),
		  "%s", sb);
	/* a page cache of 1 MiB, which SQLite spills to the WAL mid-batch */
	char *sc = store_of("{\"store\": \"sqlite:var/dossier.db?cache_mib=1\"}");
	cr_expect_str_eq(sa, sc);

	free(sa);
	free(sb);
	free(sc);
	free_lines();
}

/* A path that cannot be read, met in a batch that is then undone and run
 * again (line 304 is refused after it wrote), is still counted: paths are
 * not run again, so their count is not undone with the batch. */
Test(lines, a_batch_run_again_keeps_the_count_of_paths_not_read)
{
	th_home h;
	make_lines(0);
	home(&h, NULL);
	write_files(&h);
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "ln -s nowhere '%s/jobs/0200-dangling'", h.dir);
	cr_assert_eq(system(cmd), 0);
	char *out = NULL;
	int rc = th_run(&h, &out, NULL, "--json " NOW " ingest '%s/jobs'", h.dir);
	cJSON *sum = cJSON_Parse(out);
	cr_assert(sum, "%s", out);
	cr_expect_eq(th_num(sum, "unreadable"), 1, "%s", out);
	cr_expect_eq(th_num(sum, "quarantined"), 3, "%s", out);
	cr_expect_neq(rc, 0);
	cJSON_Delete(sum);
	free(out);
	free_lines();
	th_home_fini(&h);
}
