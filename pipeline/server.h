/*
 * server.h - `dossier serve`: the HTTP API of SPEC section 4 on
 * libmicrohttpd, over the same stages as batch ingestion.
 *
 * Request threads (libmicrohttpd's pool) read requests within the limits,
 * check signatures, tokens and rates, and answer what only reads the store
 * on their own read connection. Everything that writes (inputs posted to
 * a source, case events and edits) is handed to one committer thread,
 * which takes every request waiting, runs them through the chain and the
 * engine in one transaction, commits it (SQLite synchronous=FULL: one
 * fsync for the whole group), and only then answers each request, so an
 * acknowledgement always means the input is on disk. The committer also
 * fires due timers, every tick_seconds, as `dossier tick` does.
 *
 * SIGTERM or SIGINT: stop accepting, answer what is in flight, commit,
 * return 0.
 */
#ifndef DS_SERVER_H
#define DS_SERVER_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "err.h"

typedef struct ds_server_opts {
	const char *listen;      /* HOST:PORT (port 0: any free one); NULL: the
	                            settings', else 127.0.0.1:8080 */
	const char *store_url;   /* NULL: the configuration's */
	bool quiet;              /* no request log */
	FILE *ready;             /* told "listening on URL" once serving; may be NULL */
} ds_server_opts;

/* Serves until SIGTERM or SIGINT (the caller must not have other threads
 * that take these signals). Returns 0 after a clean stop, DS_ECONFIG for
 * settings that cannot work (a token or secret variable unset, an address
 * in use or unknown, TLS files unreadable), other codes for failures;
 * err says which. */
int ds_server_run(const ds_config *cfg, const ds_server_opts *o, ds_err *err);

#endif
