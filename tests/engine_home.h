/*
 * engine_home.h - an engine in a fresh home for in-process tests: the
 * repository's schemas/ linked in, a SQLite store, a runtime at a fixed
 * time. Tests run from the repository root.
 */
#ifndef DS_TEST_ENGINE_HOME_H
#define DS_TEST_ENGINE_HOME_H

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"

typedef struct th_engine {
	char home[PATH_MAX];
	ds_config *cfg;
	ds_store *store;
	ds_runtime rt;
	ds_diag diag;
} th_engine;

static inline void th_engine_open(th_engine *e, ds_time now)
{
	char repo[PATH_MAX], link[PATH_MAX + 16], target[PATH_MAX + 16];
	ds_err err = {0};
	ds_mem_init();
	cr_assert(getcwd(repo, sizeof repo));
	snprintf(e->home, sizeof e->home, "/tmp/dossier-test-XXXXXX");
	cr_assert(mkdtemp(e->home));
	snprintf(link, sizeof link, "%s/schemas", e->home);
	snprintf(target, sizeof target, "%s/schemas", repo);
	cr_assert(symlink(target, link) == 0);
	ds_diag_init(&e->diag);
	cr_assert_eq(ds_config_load(e->home, &e->diag, &e->cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(ds_store_open("sqlite:var/test.db", e->home, &e->store, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(ds_runtime_init(&e->rt, e->cfg, e->store, now, &err), 0, "%s", err.msg);
}

static inline void th_engine_close(th_engine *e)
{
	char cmd[PATH_MAX + 16];
	ds_runtime_fini(&e->rt);
	ds_store_close(e->store);
	ds_config_free(e->cfg);
	ds_diag_free(&e->diag);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->home);
	cr_assert(system(cmd) == 0);
}

#endif
