/*
 * normalize.h - normalizers: the named functions mappings apply to picked
 * text before it becomes a record field (SPEC section 5).
 *
 * A normalizer reads a NUL-terminated UTF-8 string and writes its result,
 * allocated in the arena, to *out. A value it cannot read is DS_EINVAL with
 * the raw value in the message (truncated to 60 bytes), never a guess.
 */
#ifndef DS_NORMALIZE_H
#define DS_NORMALIZE_H

#include "err.h"
#include "mem.h"

typedef int (*ds_normalizer_fn)(ds_arena *a, const char *in, const char **out,
				ds_err *err);

/* The normalizer of that name, or NULL. */
ds_normalizer_fn ds_normalizer(const char *name);

#endif
