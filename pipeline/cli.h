/*
 * cli.h - the dossier command line (SPEC section 3).
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <stdint.h>

/* Runs one command line; returns the process exit code (0 success, 1
 * internal error, 2 usage or configuration, 3 inputs quarantined, 4
 * refused, 5 not found). */
int ds_cli_main(int argc, char **argv);

/* The profile pid as `profile show --json` gives it, also the HTTP API's
 * answer; NULL with err set on failure. */
typedef struct cJSON cJSON;
typedef struct ds_store ds_store;
typedef struct ds_err ds_err;
cJSON *ds_cli_profile_doc(ds_store *s, int64_t pid, ds_err *err);

#endif
