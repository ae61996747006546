/*
 * driver.c - replays a fuzz harness's seed corpus without a fuzzer, so the
 * harnesses build and run in every `make test` (with gcc) and never rot.
 *
 * Linked with one harness (tests/fuzz/<name>.c, which defines
 * LLVMFuzzerTestOneInput); runs every file of tests/fuzz/corpus/<name>/,
 * the name taken from the program's own name. A crash or a sanitizer
 * report fails the run; arguments are ignored (the test runner passes
 * Criterion's).
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	(void)argc;
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	char dir[512];
	snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "fuzz replay %s: no corpus at %s\n", name, dir);
		return 1;
	}
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(1 << 20);
		size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
		fclose(f);
		if (!buf)
			return 1;
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	fprintf(stderr, "fuzz replay %s: %d inputs ran\n", name, n);
	return n ? 0 : 1;
}
