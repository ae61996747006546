/*
 * normalize.c - fuzz harness: untrusted field values through every
 * normalizer (the first byte picks which).
 */
#include <stdint.h>
#include <string.h>

#include "mem.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t count = 0;
	while (ds_normalizer_name(count))
		count++;
	const char *name = ds_normalizer_name(data[0] % count);
	char in[4096];
	size_t n = size - 1 < sizeof in - 1 ? size - 1 : sizeof in - 1;
	memcpy(in, data + 1, n);
	in[n] = '\0';
	ds_mem_init();
	ds_arena *a = ds_arena_new(4096);
	const char *out = NULL;
	if (a)
		ds_normalizer(name)(a, in, &out, NULL);
	ds_arena_free(a);
	return 0;
}
