/*
 * test_hostile.c - inputs that try to break ingest: an NDJSON line over the
 * size limit, a NUL byte inside a line, blank lines and CRLF, a file over
 * the limit, a symbolic link loop, a FIFO, a dangling link. Each is
 * quarantined or skipped with a reason; nothing else is lost.
 */
#include <sys/stat.h>

#include "helpers.h"

static void put(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f, "cannot write %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A fixture offer on one line. */
static char *one_line(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "fixtures/offers/%s", name);
	char *t = th_slurp(path, NULL);
	for (char *p = t; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return t;
}

Test(hostile, ndjson_lines)
{
	th_home h;
	th_home_init(&h);
	/* a 1 KiB limit makes an offer line "too large" cheaply */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/dossier.json", h.dir);
	put(path, "{\"max_input_bytes\": 4096}", 25);
	char *a = one_line("DEV-2026-0002.json"), *b = one_line("DEV-2026-0004.json");
	size_t big = 10000;
	char *data = malloc(strlen(a) + strlen(b) + big + 64);
	size_t n = 0;
	memset(data, ' ', big);
	memcpy(data, "{\"x\": \"", 7);
	data[big - 2] = '"';
	data[big - 1] = '}';
	n = big;
	data[n++] = '\n';
	memcpy(data + n, a, strlen(a));
	n += strlen(a);
	memcpy(data + n, "\0junk\r\n\r\n   \n", 13);
	n += 13;
	memcpy(data + n, b, strlen(b));
	n += strlen(b);
	data[n++] = '\r';
	data[n++] = '\n';
	snprintf(path, sizeof path, "%s/in.ndjson", h.dir);
	put(path, data, n);
	cJSON *sum = th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest '%s'", path);
	cr_expect_eq(th_num(sum, "read"), 3, "blank lines are not inputs");
	cr_expect_eq(th_num(sum, "records"), 1);
	cr_expect_eq(th_num(sum, "quarantined"), 2);
	cJSON_Delete(sum);
	cJSON *q = th_json(&h, 0, "quarantine list");
	cr_assert_eq(cJSON_GetArraySize(q), 2);
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 0), "reason"), "10000 bytes, over the limit"),
		  "%s", th_str(cJSON_GetArrayItem(q, 0), "reason"));
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 0), "origin"), "in.ndjson:1"));
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 1), "reason"), "NUL"));
	cr_expect(strstr(th_str(cJSON_GetArrayItem(q, 1), "origin"), "in.ndjson:2"));
	cJSON_Delete(q);
	cJSON *show = th_json(&h, 0, "quarantine show 1");
	cr_expect_eq(th_num(show, "size"), 10000);
	cJSON_Delete(show);
	cJSON *c = th_json(&h, 0, "case list");
	cr_assert_eq(cJSON_GetArraySize(c), 1);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(c, 0), "key"), "DEV-2026-0004");
	cJSON_Delete(c);
	/* again: the same three, all duplicates */
	sum = th_json(&h, 0, "ingest '%s'", path);
	cr_expect_eq(th_num(sum, "duplicates"), 3);
	cJSON_Delete(sum);
	free(a);
	free(b);
	free(data);
	th_home_fini(&h);
}

Test(hostile, paths_that_are_not_files)
{
	th_home h;
	th_home_init(&h);
	char dir[PATH_MAX + 16], cmd[PATH_MAX * 3];
	snprintf(dir, sizeof dir, "%s/in", h.dir);
	snprintf(cmd, sizeof cmd,
		 "mkdir '%s' && cp fixtures/offers/DEV-2026-0001.json '%s/' && ln -s . '%s/loop' && "
		 "ln -s nowhere '%s/dangling' && mkfifo '%s/fifo'", dir, dir, dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	char *err = NULL;
	char *out = NULL;
	cr_expect_eq(th_run(&h, &out, &err, "--json --now 2026-11-24T09:00:00Z ingest '%s'", dir), 2);
	cJSON *sum = cJSON_Parse(out);
	cr_assert(sum, "%s", out);
	cr_expect_eq(th_num(sum, "records"), 1, "the good file is kept");
	cr_expect_eq(th_num(sum, "unreadable"), 3);
	cr_expect(strstr(err, "loop") && strstr(err, "fifo") && strstr(err, "dangling"), "%s", err);
	cJSON_Delete(sum);
	free(out);
	free(err);
	/* the committed document has its row; nothing is left without one */
	cJSON *docs = th_json(&h, 0, "document list");
	cr_expect_eq(cJSON_GetArraySize(docs), 1);
	cJSON_Delete(docs);
	th_home_fini(&h);
}
