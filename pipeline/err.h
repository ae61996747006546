/*
 * err.h - the error object that travels with every fallible call.
 *
 * Every function that can fail returns 0 on success or one of the negative
 * DS_E* codes below, and writes a one-line, user-readable message into the
 * ds_err the caller passed (which may be NULL when the caller does not care).
 * There is no global error state, so threads never see each other's errors.
 */
#ifndef DS_ERR_H
#define DS_ERR_H

#include <stddef.h>

enum {
	DS_OK = 0,
	DS_EINTERNAL = -1,  /* a bug or an unexpected library failure */
	DS_ENOMEM = -2,     /* allocation failed */
	DS_EINVAL = -3,     /* bad input data: quarantine material */
	DS_ECONFIG = -4,    /* bad configuration or usage */
	DS_EREFUSED = -5,   /* a right or a state forbids it */
	DS_ENOTFOUND = -6,  /* no such object */
	DS_EIO = -7,        /* file or store I/O failed */
	DS_ELIMIT = -8,     /* a size, depth or count limit was exceeded */
	DS_EBUSY = -9,      /* try again later (store busy, conflict) */
};

typedef struct ds_err {
	int code;
	char msg[1024];
} ds_err;

/* Sets *err (if not NULL) to code and the formatted message; returns code. */
int ds_err_set(ds_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with the formatted text and ": ". */
int ds_err_prefix(ds_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Resets *err to DS_OK with an empty message. */
void ds_err_clear(ds_err *err);

/* A short name for a code ("invalid input", "refused"...). */
const char *ds_err_name(int code);

/* A raw value for a message: at most 60 bytes, cut at a UTF-8 character
 * boundary and followed by "..." when longer, control characters and bytes
 * that are not UTF-8 shown as '?', so the message stays one line of UTF-8.
 * Returns buf. */
const char *ds_quote(const char *raw, char buf[static 72]);

/* The process exit code (SPEC section 3) matching an error code. */
int ds_err_exit_code(int code);

#endif
