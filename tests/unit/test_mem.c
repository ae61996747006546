/*
 * test_mem.c - bounded buffers: printing into the room there is, growing
 * when it does not fit, refusing past the bound with the text as it was;
 * integers in decimal.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

Test(buf, printf_fits_grows_and_stops_at_the_bound)
{
	ds_buf b;
	ds_buf_init(&b, 100);
	cr_assert_eq(ds_buf_printf(&b, "%s-%d", "ab", 12), 0);
	cr_assert_str_eq(b.data, "ab-12");
	size_t cap = b.cap;
	/* more than the room the first allocation left: grown, printed whole */
	cr_assert_eq(ds_buf_printf(&b, "%070d", 7), 0);
	cr_assert_gt(b.cap, cap);
	cr_assert_eq(b.len, 75);
	cr_assert_eq(strlen(b.data), 75);
	cr_assert_eq(b.data[74], '7');
	/* within the allocation but past the bound: refused, text unchanged */
	cr_assert_geq(b.cap, 75 + 27);
	cr_assert_eq(ds_buf_printf(&b, "%026d", 1), DS_ELIMIT);
	cr_assert_eq(b.len, 75);
	cr_assert_eq(strlen(b.data), 75);
	cr_assert_eq(ds_buf_printf(&b, "%025d", 1), 0);
	cr_assert_eq(b.len, 100);
	/* past the allocation and the bound */
	cr_assert_eq(ds_buf_printf(&b, "%0200d", 1), DS_ELIMIT);
	cr_assert_eq(strlen(b.data), 100);
	ds_buf_free(&b);
}

Test(buf, integers_in_decimal)
{
	ds_buf b;
	ds_buf_init(&b, 1024);
	const int64_t v[] = { 0, 7, -7, 1234567890123, INT64_MAX, INT64_MIN };
	const char *want = "0 7 -7 1234567890123 9223372036854775807 -9223372036854775808 ";
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		cr_assert_eq(ds_buf_put_i64(&b, v[i]), 0);
		ds_buf_putc(&b, ' ');
	}
	cr_assert_str_eq(b.data, want);
	ds_buf_free(&b);
}
