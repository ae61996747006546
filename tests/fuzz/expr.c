/*
 * expr.c - fuzz harness: untrusted expressions (segment filters will come
 * from users) parsed, printed back and evaluated against an empty record.
 */
#include <stdint.h>
#include <string.h>

#include "expr.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char src[DS_EXPR_MAX_SOURCE + 2];
	if (size > DS_EXPR_MAX_SOURCE + 1)
		size = DS_EXPR_MAX_SOURCE + 1;
	memcpy(src, data, size);
	src[size] = '\0';
	ds_mem_init();
	ds_expr *e = NULL;
	if (ds_expr_parse(src, &e, NULL))
		return 0;
	ds_buf b;
	ds_buf_init(&b, 1 << 16);
	ds_expr_format(e, &b);
	ds_buf_free(&b);
	ds_expr_env env = { NULL, NULL, 0 };
	bool out;
	ds_expr_eval_bool(e, &env, &out, NULL);
	ds_expr_free(e);
	return 0;
}
