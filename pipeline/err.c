/*
 * err.c - formatting of the error object; see err.h.
 */
#include "err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

int ds_err_set(ds_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

int ds_err_prefix(ds_err *err, const char *fmt, ...)
{
	if (!err)
		return DS_EINTERNAL;
	char pre[512];
	char old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* Truncation keeps the start of the message, which is what matters. */
	int n = snprintf(err->msg, sizeof err->msg, "%s: ", pre);
	if (n > 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, "%.*s",
			 (int)(sizeof err->msg - (size_t)n - 1), old);
	return err->code;
}

void ds_err_clear(ds_err *err)
{
	if (!err)
		return;
	err->code = DS_OK;
	err->msg[0] = '\0';
}

const char *ds_err_name(int code)
{
	switch (code) {
	case DS_OK: return "ok";
	case DS_ENOMEM: return "out of memory";
	case DS_EINVAL: return "invalid input";
	case DS_ECONFIG: return "configuration error";
	case DS_EREFUSED: return "refused";
	case DS_ENOTFOUND: return "not found";
	case DS_EIO: return "I/O error";
	case DS_ELIMIT: return "limit exceeded";
	case DS_EBUSY: return "busy";
	default: return "internal error";
	}
}

int ds_err_exit_code(int code)
{
	switch (code) {
	case DS_OK: return 0;
	case DS_ECONFIG: return 2;
	case DS_EINVAL: case DS_ELIMIT: return 3;
	case DS_EREFUSED: return 4;
	case DS_ENOTFOUND: return 5;
	default: return 1;
	}
}

const char *ds_quote(const char *raw, char buf[static 72])
{
	size_t n = strlen(raw), k = 0;
	bool cut = n > 60;
	if (cut) {
		n = 60;
		while (n > 0 && ((unsigned char)raw[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c >= 0x80) {
			/* a UTF-8 sequence is kept whole; any other byte is '?' */
			size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			if (i + len <= n && ds_utf8_valid(raw + i, len)) {
				memcpy(buf + k, raw + i, len);
				k += len;
				i += len - 1;
			} else {
				buf[k++] = '?';
			}
			continue;
		}
		buf[k++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
	}
	if (cut) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}
