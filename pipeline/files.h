/*
 * files.h - file-system helpers shared by the store and the documents.
 */
#ifndef DS_FILES_H
#define DS_FILES_H

#include "err.h"

/* Creates dir and its missing parents (mode 0755), like mkdir -p.
 * DS_ECONFIG for a path over PATH_MAX, DS_EIO with the folder that could
 * not be made. */
int ds_mkdirs(const char *dir, ds_err *err);

#endif
