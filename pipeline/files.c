/*
 * files.c - file-system helpers; see files.h.
 */
#include "files.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int ds_mkdirs(const char *dir, ds_err *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
		return ds_err_set(err, DS_ECONFIG, "path too long: %s", dir);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return ds_err_set(err, DS_EIO, "cannot create %s: %s", buf, strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	return DS_OK;
}
