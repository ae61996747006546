/*
 * cli.c - the command line: global options, one function per command,
 * readable text by default and one JSON document with --json.
 *
 * Global options come before the command (dossier --home DIR --json case
 * list); each command has --help. Errors go to stderr, one line each, and
 * the exit code follows SPEC section 3.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "config.h"
#include "decimal.h"
#include "engine.h"
#include "form.h"
#include "graph.h"
#include "hash.h"
#include "input.h"
#include "multipart.h"
#include "profile.h"
#include "json.h"
#include "mem.h"
#include "privacy.h"
#include "procver.h"
#include "segment.h"
#include "server.h"
#include "store.h"
#include "view.h"
#include "xml.h"

#include <libxml/tree.h>

#define VERSION "0.1.0"

/* SPEC section 3. EX_QUARANTINED is also "finished, but found wrong": some
 * documents invalid (validate), stored values that differ from what they
 * are computed from (profile rebuild --check). */
enum { EX_OK = 0, EX_INTERNAL = 1, EX_USAGE = 2, EX_QUARANTINED = 3, EX_REFUSED = 4,
       EX_NOTFOUND = 5 };

typedef struct opts {
	const char *home;
	const char *store;
	bool json;
	bool quiet;
	bool has_now;
	ds_time now;
} opts;

typedef struct ctx {
	opts o;
	ds_config *cfg;
	ds_store *store;
	ds_diag diag;
} ctx;

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("dossier: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int fail(const ds_err *err)
{
	errorf("%s", err->msg[0] ? err->msg : ds_err_name(err->code));
	return ds_err_exit_code(err->code);
}

static void print_json(cJSON *doc)
{
	char *s = cJSON_Print(doc);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		cJSON_free(s);
	} else {
		errorf("out of memory printing the result");
	}
	cJSON_Delete(doc);
}

static void fmt_time(ds_time t, char buf[24])
{
	ds_time_format(t, buf);
}

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* The value of option name ("--source") at argv[*i], given as "--source V"
 * (then *i moves past V) or "--source=V"; NULL when argv[*i] is not it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	return NULL;
}

/* ---- setup ---- */

static void print_diag(const ds_diag *d, bool warnings)
{
	for (size_t i = 0; i < d->count; i++) {
		const ds_diag_entry *e = &d->items[i];
		if (e->warning != warnings)
			continue;
		fprintf(stderr, "%s: %s%s%s: %s\n", e->warning ? "warning" : "error", e->file,
			*e->path ? " at " : "", e->path, e->message);
	}
}

static void migrated(void *ud, const ds_process *p, int from, int64_t cases)
{
	const ctx *c = ud;
	if (!c->o.quiet)
		fprintf(stderr, "dossier: %s: %" PRId64 " case%s of version %d moved to version %d "
			"(\"migrate\" in %s)\n", p->name, cases, cases == 1 ? "" : "s", from,
			p->version, p->file);
}

/* Loads the configuration and opens the store, where the process
 * definitions are recorded and declared migrations done (procver.h); on
 * failure prints why and returns the exit code. */
static int setup(ctx *c, bool need_store)
{
	ds_err err = {0};
	ds_diag_init(&c->diag);
	int rc = ds_config_load(c->o.home, &c->diag, &c->cfg, &err);
	if (rc == DS_ECONFIG) {
		print_diag(&c->diag, false);
		errorf("%s; run `dossier check` for details", err.msg);
		return EX_USAGE;
	}
	if (rc)
		return fail(&err);
	if (!need_store)
		return EX_OK;
	const char *url = c->o.store ? c->o.store : c->cfg->store_url;
	if ((rc = ds_store_open(url, c->o.home, &c->store, &err)))
		return fail(&err);
	rc = ds_procver_sync(c->cfg, c->store, ds_time_now(), migrated, c, &c->diag, &err);
	if (rc == DS_ECONFIG) {
		print_diag(&c->diag, false);
		errorf("%s; run `dossier check` for details", err.msg);
		return EX_USAGE;
	}
	return rc ? fail(&err) : EX_OK;
}

static void teardown(ctx *c)
{
	ds_store_close(c->store);
	ds_config_free(c->cfg);
	ds_diag_free(&c->diag);
}


/* ---- check ---- */

static int cmd_check(ctx *c, int argc, char **argv)
{
	if (argc > 1 && is_help(argv[1])) {
		puts("usage: dossier check\n\n"
		     "Loads and cross-checks every record schema, source, process, document\n"
		     "template and segment under HOME/schemas/, and dossier.json. When the\n"
		     "store exists, the process definitions are also compared with the versions\n"
		     "it has run: a definition changed without raising its \"version\", or a\n"
		     "version that drops a state where cases of an earlier one still are\n"
		     "(without a \"migrate\" for them), is an error. Nothing is written. Prints\n"
		     "each problem with its file and JSON path. Exit 0 when there is none, 2 when\n"
		     "there are errors (warnings alone do not fail).");
		return EX_OK;
	}
	if (argc > 1) {
		errorf("check takes no arguments");
		return EX_USAGE;
	}
	ds_err err = {0};
	ds_diag_init(&c->diag);
	int rc = ds_config_load(c->o.home, &c->diag, &c->cfg, &err);
	if (rc && rc != DS_ECONFIG)
		return fail(&err);
	/* With a store, the definitions against what it has run; check never
	 * creates one. */
	const char *url = c->o.store ? c->o.store : c->cfg->store_url;
	rc = ds_store_open_existing(url, c->o.home, &c->store, &err);
	if (!rc)
		rc = ds_procver_check(c->cfg, c->store, &c->diag, &err);
	if (rc && rc != DS_ECONFIG && rc != DS_ENOTFOUND)
		return fail(&err);
	if (c->o.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON *errs = cJSON_AddArrayToObject(doc, "errors");
		cJSON *warns = cJSON_AddArrayToObject(doc, "warnings");
		for (size_t i = 0; i < c->diag.count; i++) {
			const ds_diag_entry *e = &c->diag.items[i];
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "file", e->file);
			cJSON_AddStringToObject(o, "path", e->path);
			cJSON_AddStringToObject(o, "message", e->message);
			cJSON_AddItemToArray(e->warning ? warns : errs, o);
		}
		print_json(doc);
	} else {
		print_diag(&c->diag, false);
		print_diag(&c->diag, true);
		if (!c->o.quiet && c->cfg)
			printf("%s: %zu record type%s, %zu source%s, %zu process%s, %zu template%s, "
			       "%zu segment%s; %zu error%s, %zu warning%s\n",
			       c->diag.errors ? "problems" : "ok",
			       ds_schema_set_count(c->cfg->schemas),
			       ds_schema_set_count(c->cfg->schemas) == 1 ? "" : "s",
			       c->cfg->nsources, c->cfg->nsources == 1 ? "" : "s",
			       c->cfg->nprocesses, c->cfg->nprocesses == 1 ? "" : "es",
			       c->cfg->ntemplates, c->cfg->ntemplates == 1 ? "" : "s",
			       c->cfg->nsegments, c->cfg->nsegments == 1 ? "" : "s",
			       c->diag.errors, c->diag.errors == 1 ? "" : "s",
			       c->diag.warnings, c->diag.warnings == 1 ? "" : "s");
	}
	return c->diag.errors ? EX_USAGE : EX_OK;
}

/* ---- graph ---- */

#define GRAPH_MAX_BYTES ((size_t)64 << 20)

/* The diagram to stdout, to --out FILE, or in the --json object. */
static int graph_emit(ctx *c, const ds_process *p, const char *format, const ds_buf *text,
		      const char *out)
{
	if (out) {
		FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
		if (!f || fwrite(text->data, 1, text->len, f) != text->len ||
		    (f != stdout && fclose(f))) {
			errorf("cannot write %s: %s", out, strerror(errno));
			return EX_INTERNAL;
		}
	}
	if (c->o.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "process", p->name);
		cJSON_AddStringToObject(doc, "format", format);
		if (out)
			cJSON_AddStringToObject(doc, "path", out);
		else
			cJSON_AddStringToObject(doc, "diagram", text->data);
		print_json(doc);
	} else if (!out && fwrite(text->data, 1, text->len, stdout) != text->len) {
		errorf("cannot write the diagram: %s", strerror(errno));
		return EX_INTERNAL;
	}
	return EX_OK;
}

static int cmd_graph(ctx *c, int argc, char **argv)
{
	if (argc > 1 && is_help(argv[1])) {
		puts("usage: dossier graph PROCESS [--format dot|svg] [--out FILE]\n\n"
		     "Draws a process of HOME/schemas/processes/: its states in one box per lane,\n"
		     "the entry point (labelled with the records that start a case), final states\n"
		     "with a double border, output points as notes naming the document they print,\n"
		     "each transition labelled with its guard, its event [and the roles that may\n"
		     "send it] or its timer, and, dashed, the processes a state starts (with the\n"
		     "fields passed) or that start this one.\n\n"
		     "--format dot (default) prints Graphviz DOT text; --format svg runs Graphviz's\n"
		     "`dot -Tsvg` on it. --out FILE writes to FILE instead of stdout. With --json:\n"
		     "{process, format, diagram}, or {process, format, path} with --out.\n"
		     "Exit 2 for an unknown process, or when --format svg finds no `dot` on PATH\n"
		     "(apt-get install graphviz); 1 when dot fails.");
		return EX_OK;
	}
	const char *name = NULL, *format = "dot", *out = NULL;
	char q[72];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			format = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!name && argv[i][0] != '-') {
			name = argv[i];
		} else {
			errorf("graph: unexpected argument %s", ds_quote(argv[i], q));
			return EX_USAGE;
		}
	}
	if (!name) {
		errorf("graph: which process? (see `dossier graph --help`)");
		return EX_USAGE;
	}
	if (strcmp(format, "dot") && strcmp(format, "svg")) {
		errorf("graph: --format is dot or svg, not %s", ds_quote(format, q));
		return EX_USAGE;
	}
	int rc = setup(c, false);
	if (rc)
		return rc;
	const ds_process *p = ds_config_process(c->cfg, name);
	ds_buf dot, img;
	ds_buf_init(&dot, GRAPH_MAX_BYTES);
	ds_buf_init(&img, GRAPH_MAX_BYTES);
	ds_err err = {0};
	if (!p) {
		rc = ds_buf_printf(&dot, "graph: no process \"%s\"; the processes are:",
				   ds_quote(name, q));
		for (size_t i = 0; !rc && i < c->cfg->nprocesses; i++)
			rc = ds_buf_printf(&dot, "%s %s", i ? "," : "", c->cfg->processes[i]->name);
		if (!rc && !c->cfg->nprocesses)
			rc = ds_buf_puts(&dot, " none");
		errorf("%s", rc ? "graph: no such process" : dot.data);
		rc = EX_USAGE;
		goto done;
	}
	if ((rc = ds_graph_dot(p, c->cfg, &dot, &err)) ||
	    (!strcmp(format, "svg") && (rc = ds_graph_render(dot.data, dot.len, format, &img, &err)))) {
		rc = fail(&err);
		goto done;
	}
	rc = graph_emit(c, p, format, strcmp(format, "svg") ? &dot : &img, out);
done:
	ds_buf_free(&dot);
	ds_buf_free(&img);
	return rc;
}

/* ---- ingest ---- */

typedef struct ahead ahead;

/* An input run unsaved in the open batch, kept to run it again. */
typedef struct logged {
	size_t origin;           /* offset of its origin in ingest.logbuf */
	size_t bytes, len;       /* its bytes there */
	const char *channel;     /* static */
	bool too_large;
	size_t size;
	char sha256[65];         /* as given to the chain, or "" */
} logged;

typedef struct ingest {
	ctx *c;
	ds_runtime rt;
	ds_chain *chain;
	ds_arena *arena;
	const ds_source *forced;
	size_t in_batch;         /* inputs run in the open batch */
	bool batch;              /* a batch is open */
	bool progress;
	ahead *ahead;            /* files read ahead by other threads, or NULL */
	/* inputs of the batch run without a savepoint each (see run_one) */
	bool unsaved;
	logged *log;             /* they, ds_malloc'd */
	size_t nlog, caplog;
	ds_buf logbuf;           /* their origins and bytes, at most LOG_BYTES */
} ingest;

/* One input for the chain, as the driver read it. */
typedef struct input {
	const char *origin;
	const char *channel;
	const unsigned char *bytes;  /* NULL when too_large */
	size_t len;
	bool too_large;              /* over the limit: size and sha256 say what it was */
	size_t size;
	const char *sha256;          /* NULL: the read stage takes it */
	cJSON *doc;                  /* read ahead: handed to the chain */
	ds_xml_doc *xml;             /* read ahead, in arena */
	const ds_premap *premap;     /* mapped and validated ahead, or NULL */
	ds_arena *arena;             /* the input's; reset once it is through */
} input;

static const char *channel_of(const char *path, const unsigned char *b, size_t n)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (dot && (!slash || dot > slash)) {
		if (!strcmp(dot, ".json") || !strcmp(dot, ".ndjson"))
			return "json";
		if (!strcmp(dot, ".xml"))
			return "xml";
		if (!strcmp(dot, ".eml"))
			return "email";
		if (!strcmp(dot, ".form") || !strcmp(dot, ".mime"))
			return "form";
	}
	for (size_t i = 0; i < n; i++) {
		if (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')
			continue;
		if (b[i] == '{' || b[i] == '[')
			return "json";
		if (b[i] == '<')
			return "xml";
		break;
	}
	return "unknown";
}

/* The source of an input: --source, or the only source of its channel;
 * when several sources read the channel, NULL: the read stage routes the
 * input by content. */
static const ds_source *source_for(ingest *g, const char *channel)
{
	if (g->forced)
		return g->forced;
	const ds_config *cfg = g->c->cfg;
	const ds_source *found = NULL;
	for (size_t i = 0; i < cfg->nsources; i++) {
		if (strcmp(cfg->sources[i]->channel, channel))
			continue;
		if (found)
			return NULL;
		found = cfg->sources[i];
	}
	return found;
}

static void show_progress(ingest *g, bool final)
{
	if (!g->progress)
		return;
	const ds_stats *s = &g->rt.stats;
	if (!final && s->read % 500)
		return;
	fprintf(stderr, "\r%" PRId64 " read, %" PRId64 " new, %" PRId64 " duplicates, %" PRId64
		" quarantined%s", s->read, s->new_, s->duplicates, s->quarantined,
		final ? "\n" : "");
}

/* run_chain's answer for an input refused after it wrote, unsaved: the
 * batch is to be undone and run again (not an exit code). */
#define RUN_AGAIN (-1)

/* The bytes of the unsaved inputs of a batch and their origins at most:
 * the inputs that do not fit run saved. */
#define LOG_BYTES (16u << 20)

/* Begins a batch unless one is open; unsaved: its inputs run unsaved
 * while they can be kept. */
static int batch_open(ingest *g, bool unsaved)
{
	ds_err err = {0};
	if (g->batch)
		return EX_OK;
	if (ds_chain_batch_begin(g->chain, &err))
		return fail(&err);
	g->batch = true;
	g->unsaved = unsaved;
	ds_chain_savepoints(g->chain, !unsaved);
	if (unsaved) {
		g->nlog = 0;
		ds_buf_reset(&g->logbuf);
	}
	return EX_OK;
}

/* Commits the open batch. */
static int batch_close(ingest *g)
{
	ds_err err = {0};
	g->in_batch = 0;
	g->batch = false;
	if (ds_chain_batch_end(g->chain, &err))
		return fail(&err);
	return EX_OK;
}

/* Runs one input through the chain inside the open batch, and resets its
 * arena. silent: the input runs again, and was reported the first time. */
static int run_chain(ingest *g, const input *in, bool silent)
{
	ds_err err = {0};
	ds_env env;
	ds_env_init(&env);
	env.arena = in->arena;
	env.origin = in->origin;
	env.channel = in->channel;
	env.bytes = in->bytes;
	env.len = in->len;
	env.too_large = in->too_large;
	env.size = in->size;
	if (in->sha256)
		memcpy(env.sha256, in->sha256, sizeof env.sha256);
	env.doc = in->doc;
	env.xml = in->xml;
	env.premap = in->premap;
	/* Mapped ahead: by the source it was routed to, as the route stage
	 * would have found it. */
	env.source = in->premap ? in->premap->source : source_for(g, in->channel);
	/* What cJSON makes for the input (its case's data, edits, documents'
	 * variables) dies with its arena: taken from it, and freed at once. */
	ds_json_zone(in->arena);
	ds_outcome o = ds_chain_run(g->chain, &env, &err);
	ds_json_zone(NULL);
	if (env.redo) {
		ds_arena_reset(in->arena);
		return RUN_AGAIN;
	}
	if (o == DS_STAGE_REJECT && !env.quarantine_dup && !g->c->o.quiet && !g->c->o.json &&
	    !g->progress && !silent)
		fprintf(stderr, "quarantined %s (%s): %s\n", in->origin, env.stage, err.msg);
	ds_arena_reset(in->arena);
	if (o == DS_STAGE_FAIL || o == DS_STAGE_RETRY) {
		ds_chain_batch_abort(g->chain);
		g->in_batch = 0;
		g->batch = false;
		errorf("%s: %s%s", in->origin, err.msg,
		       o == DS_STAGE_RETRY ? " (the store is busy; run ingest again)" : "");
		return ds_err_exit_code(err.code) ? ds_err_exit_code(err.code) : EX_INTERNAL;
	}
	if (!silent)
		show_progress(g, false);
	if (++g->in_batch >= g->c->cfg->batch_size)
		return batch_close(g);
	return EX_OK;
}

/* Keeps in for running it again; false when it does not fit. */
static bool keep(ingest *g, const input *in)
{
	size_t olen = strlen(in->origin) + 1, len = in->too_large ? 0 : in->len;
	if (g->logbuf.len + olen + len > LOG_BYTES)
		return false;
	logged *v = ds_room(g->log, g->nlog, &g->caplog, sizeof *v);
	if (!v)
		return false;
	g->log = v;
	logged *l = &g->log[g->nlog];
	*l = (logged){ .origin = g->logbuf.len, .bytes = g->logbuf.len + olen, .len = len,
		       .channel = in->channel, .too_large = in->too_large, .size = in->size };
	if (in->sha256)
		memcpy(l->sha256, in->sha256, sizeof l->sha256);
	if (ds_buf_append(&g->logbuf, in->origin, olen) ||
	    (len && ds_buf_append(&g->logbuf, in->bytes, len))) {
		g->logbuf.len = l->origin;
		return false;
	}
	g->nlog++;
	return true;
}

/* An unsaved input was refused after it wrote: the batch is undone, and
 * its inputs run again, each saved, those before that one silently (they
 * were reported); so does the rest of the batch. */
static int run_again(ingest *g)
{
	ds_chain_batch_abort(g->chain);
	g->batch = false;
	g->in_batch = 0;
	int rc = batch_open(g, false);
	for (size_t k = 0; k < g->nlog && !rc; k++) {
		const logged *l = &g->log[k];
		input in = { .origin = g->logbuf.data + l->origin, .channel = l->channel,
			     .too_large = l->too_large, .size = l->size,
			     .sha256 = l->sha256[0] ? l->sha256 : NULL, .arena = g->arena };
		if (!l->too_large) {
			in.bytes = (const unsigned char *)g->logbuf.data + l->bytes;
			in.len = l->len;
		}
		rc = run_chain(g, &in, k + 1 < g->nlog);
	}
	g->nlog = 0;
	return rc == RUN_AGAIN ? EX_INTERNAL : rc;
}

/* Runs one input through the chain inside the current batch, and resets
 * its arena. The inputs of a batch run without a savepoint each (unsaved,
 * see chain.h) while they can be kept (origin and bytes, LOG_BYTES in
 * all): a savepoint copies each page the input changes the first time it
 * does, which costs a short input more than the rest of its writes. When
 * one is refused after it wrote, which its savepoint would have undone,
 * the batch is undone and its inputs run again, saved, and so does the
 * rest of the batch. */
static int run_one(ingest *g, const input *in)
{
	int rc = batch_open(g, true);
	if (rc) {
		cJSON_Delete(in->doc);
		ds_arena_reset(in->arena);
		return rc;
	}
	/* When the kept inputs fill the log, the batch is committed and the
	 * input opens the next one: a savepoint per input costs more than a
	 * commit shared by a log's worth of inputs. An input that does not
	 * fit an empty log runs with its savepoint. */
	if (g->unsaved && !keep(g, in)) {
		bool kept = false;
		if (g->nlog && !(rc = batch_close(g)) && !(rc = batch_open(g, true)))
			kept = keep(g, in);
		if (rc) {
			cJSON_Delete(in->doc);
			ds_arena_reset(in->arena);
			return rc;
		}
		if (!kept) {
			g->unsaved = false;
			ds_chain_savepoints(g->chain, true);
		}
	}
	rc = run_chain(g, in, false);
	if (rc == RUN_AGAIN)
		rc = run_again(g);
	return rc;
}

/* One input being read: its bytes up to the limit, and beyond the limit
 * only its size and hash, so that an oversized input costs no memory. */
typedef struct reading {
	ds_buf buf;
	size_t max;
	size_t size;
	ds_sha256 *over;         /* hashing since the limit was passed */
} reading;

static void reading_init(reading *r, size_t max)
{
	ds_buf_init(&r->buf, max);
	r->max = max;
	r->size = 0;
	r->over = NULL;
}

static int reading_add(reading *r, const char *p, size_t n)
{
	r->size += n;
	if (!r->over) {
		int rc = ds_buf_append(&r->buf, p, n);
		if (rc != DS_ELIMIT)
			return rc;
		/* Over the limit: hash what was kept, then the rest as it comes. */
		if (!(r->over = ds_sha256_begin()))
			return DS_ENOMEM;
		ds_sha256_update(r->over, r->buf.data ? r->buf.data : "", r->buf.len);
		ds_buf_reset(&r->buf);
	}
	ds_sha256_update(r->over, p, n);
	return DS_OK;
}

/* Hands the input to the chain and gets ready for the next one. */
static int reading_flush(ingest *g, reading *r, const char *origin, const char *channel)
{
	char sha[65];
	input in = { .origin = origin, .channel = channel, .size = r->size, .arena = g->arena };
	if (r->over) {
		ds_sha256_end(r->over, sha);
		r->over = NULL;
		in.too_large = true;
		in.sha256 = sha;
	} else {
		in.bytes = (const unsigned char *)(r->buf.data ? r->buf.data : "");
		in.len = r->buf.len;
	}
	int rc = run_one(g, &in);
	ds_buf_reset(&r->buf);
	r->size = 0;
	return rc;
}

static void reading_free(reading *r)
{
	if (r->over) {
		char sha[65];
		ds_sha256_end(r->over, sha);
	}
	ds_buf_free(&r->buf);
}

/* strerror(e), safe in any thread. */
static const char *errtext(int e, char *buf, size_t cap)
{
	return strerror_r(e, buf, cap);
}

/* Opens a file given to ingest for reading. Returns 0 and *fd, or -1 when
 * the path is to be skipped, why saying why. */
static int open_input(const char *path, int *fd, char *why, size_t cap)
{
	struct stat st;
	/* Non-blocking, so that a FIFO met on the way cannot hang the run. */
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(why, cap, "%s", errtext(errno, (char[128]){0}, 128));
		return -1;
	}
	if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		snprintf(why, cap, "not a regular file");
		return -1;
	}
	int fl = fcntl(*fd, F_GETFL);
	if (fl >= 0)
		fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK);
	return 0;
}

/* Reads fd to its end into r. Returns 0, or EX_INTERNAL with why naming
 * origin and the error: the run cannot go on. */
static int read_whole(int fd, const char *origin, reading *r, char *why, size_t cap)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, cap, "cannot read %s: %s", origin,
				 errtext(errno, (char[128]){0}, 128));
			return EX_INTERNAL;
		}
		if (n == 0)
			return EX_OK;
		if (reading_add(r, chunk, (size_t)n) == DS_ENOMEM) {
			snprintf(why, cap, "out of memory reading %s", origin);
			return EX_INTERNAL;
		}
	}
}

/* NDJSON: one input per line, split on '\n' by length (a NUL byte inside
 * a line stays in it, for the read stage to refuse). Blank lines are
 * skipped; a '\r' before the '\n' is dropped. Each line, in r, goes to
 * line(), which runs it through the chain here or queues it for the
 * readers, and empties r. Returns line()'s error, or EX_INTERNAL with why
 * saying what stopped the reading (not yet reported). */
typedef int (*line_fn)(ingest *g, const char *path, size_t lineno, reading *r);

static int ndjson_lines(ingest *g, const char *path, int fd, line_fn line, char *why,
			size_t cap)
{
	reading r;
	reading_init(&r, g->c->cfg->limits.max_input_bytes);
	char chunk[65536];
	size_t lineno = 0;
	int rc = EX_OK;
	bool eof = false;
	why[0] = '\0';
	while (!rc && !eof) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
			rc = EX_INTERNAL;
			break;
		}
		eof = n == 0;
		const char *p = chunk, *end = chunk + n;
		while (!rc && (p < end || (eof && r.size))) {
			const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
			size_t take = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (take && reading_add(&r, p, take) == DS_ENOMEM) {
				snprintf(why, cap, "out of memory reading %s", path);
				rc = EX_INTERNAL;
				break;
			}
			p += take;
			if (!nl && !eof)
				break;
			if (nl)
				p++;
			lineno++;
			if (!r.over && r.buf.len && r.buf.data[r.buf.len - 1] == '\r')
				r.buf.data[--r.buf.len] = '\0';
			bool blank = !r.over;
			for (size_t i = 0; blank && i < r.buf.len; i++)
				blank = r.buf.data[i] == ' ' || r.buf.data[i] == '\t';
			if (blank) {
				ds_buf_reset(&r.buf);
				r.size = 0;
				continue;
			}
			rc = line(g, path, lineno, &r);
		}
	}
	reading_free(&r);
	return rc;
}

static int run_line(ingest *g, const char *path, size_t lineno, reading *r)
{
	char origin[PATH_MAX + 32];
	snprintf(origin, sizeof origin, "%s:%zu", path, lineno);
	return reading_flush(g, r, origin, "json");
}

/* An NDJSON file read and run line by line on this thread. */
static int ingest_ndjson(ingest *g, const char *path, int fd)
{
	char why[PATH_MAX + 160];
	int rc = ndjson_lines(g, path, fd, run_line, why, sizeof why);
	if (why[0])
		errorf("%s", why);
	return rc;
}

static int ingest_fd(ingest *g, const char *path, const char *origin, int fd)
{
	size_t pl = strlen(path);
	if (pl > 7 && !strcmp(path + pl - 7, ".ndjson"))
		return ingest_ndjson(g, origin, fd);
	reading r;
	reading_init(&r, g->c->cfg->limits.max_input_bytes);
	char why[PATH_MAX + 160];
	int rc = read_whole(fd, origin, &r, why, sizeof why);
	if (rc) {
		errorf("%s", why);
	} else {
		const unsigned char *head = (const unsigned char *)(r.buf.data ? r.buf.data : "");
		rc = reading_flush(g, &r, origin, channel_of(path, head, r.buf.len));
	}
	reading_free(&r);
	return rc;
}

/* ---- reading ahead ----
 *
 * Reading an input (the file, its SHA-256, its parse) is most of what an
 * email or an XML document costs, and none of it touches the store; nor do
 * routing, mapping and validation. So when the machine has more than one
 * CPU, ingest hands the inputs it meets to reader threads (one per CPU but
 * one, at most MAX_READERS) and runs the chain on this thread over what
 * they read, in the order the inputs were met: the store, the messages and
 * the exit code are those of reading the inputs one after the other. A
 * slot carries one file, which its reader opens and reads, or a run of
 * lines of an NDJSON file, which this thread reads and splits (at most
 * LINES_PER_SLOT lines, LINE_BATCH_BYTES bytes, or one line larger than
 * that) so that a line costs the readers no handing over of its own. When
 * the oldest slot is not read yet, this thread reads the next queued one
 * itself rather than wait, so that every CPU stays busy whichever side is
 * ahead. Each slot has its own arenas and XML parser, and is handed
 * between the threads under the mutex (one thread at a time); the number
 * of slots and AHEAD_BYTES bound the memory read ahead. What libxml2 and
 * cJSON allocate while a slot is read comes from the slot's parsed arena
 * (zones: see mem.h), and is freed with the slot's next use. An input a
 * reader could not parse reaches the read stage without a document and is
 * parsed again there, so its quarantine reason is the same. Standard input
 * is read on this thread, once the inputs met before it are through the
 * chain.
 */

#define MAX_READERS 8
#define SLOTS_PER_READER 32
/* Bytes of files read ahead at most (one file may be larger), and the
 * largest buffer a slot keeps for its next file. */
#define AHEAD_BYTES (64u << 20)
#define SLOT_KEEP (1u << 20)
/* NDJSON lines per slot at most, and their bytes. */
#define LINES_PER_SLOT 64
#define LINE_BATCH_BYTES (256u << 10)

enum { SLOT_FREE, SLOT_QUEUED, SLOT_TAKEN, SLOT_READY };

/* One input of a slot: its file, or one of its lines. */
typedef struct ahead_item {
	size_t off, len;         /* its bytes in the slot's buffer */
	size_t size;             /* as read; over the limit when too_large */
	size_t lineno;           /* an NDJSON line's number, from 1 */
	bool too_large;          /* no bytes: size and sha256 say what it was */
	const char *channel;
	char sha256[65];
	cJSON *doc;              /* in parsed; handed to the chain unless premapped */
	ds_xml_doc *xdoc;        /* in parsed */
	ds_premap *premap;       /* in parsed: its records, mapped and validated */
} ahead_item;

typedef struct slot {
	int state;               /* under ahead.mu */
	char *path;              /* ds_malloc'd */
	bool note;               /* nothing to read: a path to report as skipped */
	bool lines;              /* lines of the NDJSON file path, read by this
	                            thread; else the file path, for the reader */
	/* what the reader found */
	int result;              /* 0; -1: skip the path; EX_INTERNAL: stop the run */
	char why[PATH_MAX + 160];
	size_t size;             /* the bytes queued: the file's size, or the lines' */
	reading r;               /* the file, or the lines one after the other */
	ahead_item *items;       /* ds_malloc'd: one for a file, or the lines */
	size_t nitems, capitems;
	ds_arena *arena;         /* the input's, for the chain; reset by this thread */
	ds_arena *parsed;        /* documents and records: a reader frees them
	                            before the slot's next use, so this thread
	                            does not */
	ds_xml *xml;             /* made on first use */
} slot;

struct ahead {
	pthread_mutex_t mu;      /* guards what follows but slots, nslots, wake,
	                            bytes and filling */
	pthread_cond_t queued;   /* slots to read, or stop */
	pthread_cond_t ready;    /* the head slot was read */
	slot *slots;
	size_t nslots;
	size_t wake;             /* slots queued before an idle reader is woken */
	size_t head;             /* next slot for the chain */
	size_t next;             /* next slot for a reader */
	size_t tail;             /* next slot to fill */
	size_t bytes;            /* sizes of the slots queued (this thread only) */
	slot *filling;           /* NDJSON lines not queued yet, in the tail slot */
	size_t idle;             /* readers waiting for slots */
	bool waiting;            /* the chain waits for the head slot */
	bool stop;
	pthread_t threads[MAX_READERS];
	size_t nthreads;
	ingest *g;               /* read only by the readers: the config, --source */
};

static void free_json(void *p) { cJSON_Delete(p); }

/* The one source of the channel whose rules accept the parsed input, as
 * the route stage would find it; NULL when none or several do, or a
 * condition fails: the route stage then says why. */
static const ds_source *route_ahead(ingest *g, const char *channel, const cJSON *doc,
				    ds_xml_doc *xdoc, ds_arena *a)
{
	const ds_config *cfg = g->c->cfg;
	const ds_source *found = NULL;
	for (size_t i = 0; i < cfg->nsources; i++) {
		const ds_source *s = cfg->sources[i];
		if (strcmp(s->channel, channel))
			continue;
		bool yes = false;
		ds_err err = {0};
		if (xdoc ? ds_source_accepts_xml(s, xdoc, a, &yes, &err)
			 : ds_source_accepts(s, doc, g->rt.now, &yes, &err))
			return NULL;
		if (yes && found)
			return NULL;
		if (yes)
			found = s;
	}
	return found;
}

/* What one reader does for one input: fingerprint, parse, route, map and
 * validate; no store, no output, no stats. */
static void read_item(ingest *g, slot *s, ahead_item *it)
{
	const ds_config *cfg = g->c->cfg;
	if (it->too_large)
		return;
	const char *b = (s->r.buf.data ? s->r.buf.data : "") + it->off;
	ds_sha256_hex(b, it->len, it->sha256);
	/* What the read stage would refuse before parsing, it refuses. */
	const ds_source *src = source_for(g, it->channel);
	if (src && strcmp(src->channel, it->channel))
		return;
	ds_err err = {0};
	bool xml = !strcmp(it->channel, "xml");
	if (xml && !s->xml) {
		ds_xml_opts o = { .max_size = cfg->limits.max_input_bytes,
				  .max_depth = (unsigned)cfg->limits.xml_max_depth };
		if (ds_xml_new(&s->xml, &o, &err))
			return;
	}
	cJSON *doc = NULL;
	ds_xml_doc *xdoc = NULL;
	/* Mapping and validation need neither the store nor the order of
	 * inputs: done here, they leave the chain's thread less to do. The
	 * document and what they make stay the slot's, and are freed with its
	 * next use: so libxml2's allocations, and cJSON's, come from the
	 * parsed arena, and freeing them one by one, on either thread, costs
	 * nothing. */
	ds_xml_zone(s->parsed);
	ds_json_zone(s->parsed);
	if (ds_input_parse(it->channel, b, it->len, &cfg->limits, s->xml, s->parsed, &doc, &xdoc,
			   &err) != DS_OK) {
		cJSON_Delete(doc);
		goto done;
	}
	it->xdoc = xdoc;
	if (!src)
		src = route_ahead(g, it->channel, doc, xdoc, s->parsed);
	/* A rule that copies the input may make it its record: on the JSON
	 * channel nothing else reads the document, elsewhere store_raw does. */
	ds_premap *pm = NULL;
	if (src && (ds_source_keeps_input(src) || !strcmp(it->channel, "json")) &&
	    (pm = ds_arena_alloc(s->parsed, sizeof *pm))) {
		ds_premap_run(pm, cfg, src, &doc, xdoc, it->sha256, g->rt.now, s->parsed);
		/* doc NULL: a record took it over, and is freed with it. On
		 * failure the document is freed at once: the read stage parses
		 * the input again. */
		if (doc && ds_arena_defer(s->parsed, free_json, doc))
			pm = NULL, doc = NULL;
		it->premap = pm;
	}
	it->doc = doc;
done:
	ds_json_zone(NULL);
	ds_xml_zone(NULL);
}

/* What one reader does for one slot. */
static void read_slot(ingest *g, slot *s)
{
	int fd = -1;
	ds_arena_reset(s->parsed);
	s->result = 0;
	if (s->note)
		return;
	if (s->lines) {
		for (size_t i = 0; i < s->nitems; i++)
			read_item(g, s, &s->items[i]);
		return;
	}
	if ((s->result = open_input(s->path, &fd, s->why, sizeof s->why)))
		return;
	s->result = read_whole(fd, s->path, &s->r, s->why, sizeof s->why);
	close(fd);
	if (s->result)
		return;
	ahead_item *it = &s->items[0];
	const unsigned char *b = (const unsigned char *)(s->r.buf.data ? s->r.buf.data : "");
	*it = (ahead_item){ .len = s->r.buf.len, .size = s->r.size,
		      .channel = channel_of(s->path, b, s->r.buf.len) };
	s->nitems = 1;
	if (s->r.over) {
		ds_sha256_end(s->r.over, it->sha256);
		s->r.over = NULL;
		it->too_large = true;
		return;
	}
	read_item(g, s, it);
}

static void *reader(void *p)
{
	ahead *a = p;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->stop && a->next == a->tail) {
			a->idle++;
			pthread_cond_wait(&a->queued, &a->mu);
			a->idle--;
		}
		if (a->stop)
			break;
		size_t i = a->next++;
		slot *s = &a->slots[i % a->nslots];
		s->state = SLOT_TAKEN;
		pthread_mutex_unlock(&a->mu);
		read_slot(a->g, s);
		pthread_mutex_lock(&a->mu);
		s->state = SLOT_READY;
		if (a->waiting && i == a->head)
			pthread_cond_signal(&a->ready);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Empties a slot for its next use; its buffers and parser stay. */
static void slot_clear(slot *s)
{
	for (size_t i = 0; i < s->nitems; i++)
		if (!s->items[i].premap)
			cJSON_Delete(s->items[i].doc); /* else the parsed arena's */
	s->nitems = 0;
	s->lines = false;
	ds_arena_reset(s->arena);
	if (s->r.over) {
		char sha[65];
		ds_sha256_end(s->r.over, sha);
		s->r.over = NULL;
	}
	if (s->r.buf.cap > SLOT_KEEP)
		ds_buf_free(&s->r.buf);
	ds_buf_reset(&s->r.buf);
	s->r.size = 0;
	ds_free(s->path);
	s->path = NULL;
	s->note = false;
	s->why[0] = '\0';
}

/* Stops the readers (each finishes the slot it holds) and frees it all. */
static void ahead_free(ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->queued);
	pthread_mutex_unlock(&a->mu);
	for (size_t i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	for (size_t i = 0; i < a->nslots; i++) {
		slot *s = &a->slots[i];
		slot_clear(s);
		reading_free(&s->r);
		ds_free(s->items);
		ds_arena_free(s->arena);
		ds_arena_free(s->parsed);
		ds_xml_free(s->xml);
	}
	ds_free(a->slots);
	pthread_cond_destroy(&a->ready);
	pthread_cond_destroy(&a->queued);
	pthread_mutex_destroy(&a->mu);
	ds_free(a);
}

/* Readers for g, one per online CPU but one, up to MAX_READERS; NULL on a single
 * CPU, or when no thread could start (ingest then reads on its own). */
static ahead *ahead_new(ingest *g)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 2)
		return NULL;
	size_t readers = cpus - 1 > MAX_READERS ? MAX_READERS : (size_t)cpus - 1;
	ahead *a = ds_calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->g = g;
	a->nslots = readers * SLOTS_PER_READER;
	a->wake = SLOTS_PER_READER / 2;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->queued, NULL);
	pthread_cond_init(&a->ready, NULL);
	if (!(a->slots = ds_calloc(a->nslots, sizeof *a->slots))) {
		a->nslots = 0;
		ahead_free(a);
		return NULL;
	}
	for (size_t i = 0; i < a->nslots; i++) {
		slot *s = &a->slots[i];
		reading_init(&s->r, g->c->cfg->limits.max_input_bytes);
		if (!(s->items = ds_calloc(1, sizeof *s->items)) ||
		    !(s->arena = ds_arena_new(64 * 1024)) ||
		    !(s->parsed = ds_arena_new(64 * 1024))) {
			ahead_free(a);
			return NULL;
		}
		s->capitems = 1;
	}
	for (size_t i = 0; i < readers; i++) {
		if (pthread_create(&a->threads[a->nthreads], NULL, reader, a))
			break;
		a->nthreads++;
	}
	if (!a->nthreads) {
		ahead_free(a);
		return NULL;
	}
	return a;
}

/* A path that cannot be read is reported and skipped; the run goes on. */
static void unreadable(ingest *g, const char *path, const char *why)
{
	g->rt.stats.unreadable++;
	if (!g->c->o.quiet)
		errorf("skipped %s: %s", path, why);
}

/* Runs one input of slot s through the chain. */
static int run_item(ingest *g, slot *s, ahead_item *it)
{
	char origin[PATH_MAX + 32];
	if (s->lines)
		snprintf(origin, sizeof origin, "%s:%zu", s->path, it->lineno);
	input in = { .origin = s->lines ? origin : s->path, .channel = it->channel,
		     .size = it->size, .too_large = it->too_large, .sha256 = it->sha256,
		     .doc = it->doc, .xml = it->xdoc, .premap = it->premap, .arena = s->arena };
	if (!it->too_large) {
		in.bytes = (const unsigned char *)(s->r.buf.data ? s->r.buf.data : "") + it->off;
		in.len = it->len;
	}
	if (!it->premap)
		it->doc = NULL; /* the chain's now */
	return run_one(g, &in);
}

/* Runs the oldest slot through the chain once its reader is done. */
static int ahead_run_head(ingest *g)
{
	ahead *a = g->ahead;
	slot *s = &a->slots[a->head % a->nslots];
	pthread_mutex_lock(&a->mu);
	if (s->state != SLOT_READY && a->idle && a->next != a->tail)
		pthread_cond_broadcast(&a->queued); /* no more to wait for */
	while (s->state != SLOT_READY) {
		if (a->next != a->tail) {
			/* Rather than wait, read the next queued slot here. */
			slot *t = &a->slots[a->next++ % a->nslots];
			t->state = SLOT_TAKEN;
			pthread_mutex_unlock(&a->mu);
			read_slot(g, t);
			pthread_mutex_lock(&a->mu);
			t->state = SLOT_READY;
			continue;
		}
		a->waiting = true;
		pthread_cond_wait(&a->ready, &a->mu);
		a->waiting = false;
	}
	pthread_mutex_unlock(&a->mu);
	int rc = EX_OK;
	if (s->note || s->result < 0) {
		unreadable(g, s->path, s->why);
	} else if (s->result) {
		errorf("%s", s->why);
		rc = s->result;
	}
	for (size_t i = 0; i < s->nitems && !rc; i++)
		rc = run_item(g, s, &s->items[i]);
	a->bytes -= s->size;
	slot_clear(s);
	pthread_mutex_lock(&a->mu);
	s->state = SLOT_FREE;
	a->head++;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* The tail slot, for path and something of size bytes, once free: first
 * runs the oldest slots through the chain while every slot is taken or the
 * bytes queued are too many. */
static int ahead_slot(ingest *g, const char *path, size_t size, slot **out)
{
	ahead *a = g->ahead;
	int rc;
	while (a->tail - a->head == a->nslots ||
	       (a->tail != a->head && size > AHEAD_BYTES - (a->bytes < AHEAD_BYTES ? a->bytes
										    : AHEAD_BYTES)))
		if ((rc = ahead_run_head(g)))
			return rc;
	*out = &a->slots[a->tail % a->nslots];
	if (!((*out)->path = ds_strdup(path))) {
		errorf("out of memory");
		return EX_INTERNAL;
	}
	return EX_OK;
}

/* Hands the tail slot s, of size bytes, to the readers. */
static void ahead_queue(ingest *g, slot *s, size_t size)
{
	ahead *a = g->ahead;
	s->size = size;
	a->bytes += size;
	pthread_mutex_lock(&a->mu);
	s->state = SLOT_QUEUED;
	a->tail++;
	/* Readers are woken for a few slots at once, not one by one. */
	if (a->idle && a->tail - a->next >= a->wake)
		pthread_cond_signal(&a->queued);
	pthread_mutex_unlock(&a->mu);
}

/* Queues a file of size bytes for the readers (note: a path to report as
 * skipped, in its turn). */
static int ahead_submit(ingest *g, const char *path, size_t size, const char *note)
{
	slot *s;
	int rc = ahead_slot(g, path, size, &s);
	if (rc)
		return rc;
	if (note) {
		s->note = true;
		snprintf(s->why, sizeof s->why, "%s", note);
	}
	ahead_queue(g, s, size);
	return EX_OK;
}

/* Queues the NDJSON lines not queued yet. */
static void ahead_flush_lines(ingest *g)
{
	ahead *a = g->ahead;
	if (a->filling)
		ahead_queue(g, a->filling, a->filling->r.buf.len);
	a->filling = NULL;
}

/* line_fn of NDJSON read ahead: adds the line in r to the slot being
 * filled, after queueing that slot when the line would not fit. */
static int queue_line(ingest *g, const char *path, size_t lineno, reading *r)
{
	ahead *a = g->ahead;
	slot *s = a->filling;
	size_t len = r->over ? 0 : r->buf.len;
	if (s) {
		size_t cap = s->r.buf.max < LINE_BATCH_BYTES ? s->r.buf.max : LINE_BATCH_BYTES;
		if (s->nitems == LINES_PER_SLOT || s->r.buf.len + len > cap)
			ahead_flush_lines(g);
	}
	if (!a->filling) {
		int rc = ahead_slot(g, path, LINE_BATCH_BYTES, &s);
		if (rc)
			return rc;
		s->lines = true;
		a->filling = s;
	}
	ahead_item *items = ds_room(s->items, s->nitems, &s->capitems, sizeof *items);
	if (!items) {
		errorf("out of memory reading %s", path);
		return EX_INTERNAL;
	}
	s->items = items;
	ahead_item *it = &s->items[s->nitems];
	*it = (ahead_item){ .off = s->r.buf.len, .len = len, .size = r->size, .lineno = lineno,
		      .channel = "json" };
	if (r->over) {
		ds_sha256_end(r->over, it->sha256);
		r->over = NULL;
		it->too_large = true;
	} else if (ds_buf_append(&s->r.buf, r->buf.data, len)) {
		errorf("out of memory reading %s", path);
		return EX_INTERNAL;
	}
	s->nitems++;
	ds_buf_reset(&r->buf);
	r->size = 0;
	return EX_OK;
}

/* Runs every queued input through the chain. */
static int ahead_drain(ingest *g)
{
	int rc = EX_OK;
	while (!rc && g->ahead && g->ahead->head != g->ahead->tail)
		rc = ahead_run_head(g);
	return rc;
}

/* An NDJSON file split here, its lines read by the readers. A reading
 * error is reported once the lines before it are through the chain, as
 * when the lines are run as they are read. */
static int ingest_ndjson_ahead(ingest *g, const char *path, int fd)
{
	char why[PATH_MAX + 160];
	int rc = ndjson_lines(g, path, fd, queue_line, why, sizeof why);
	if (rc && !why[0])
		return rc; /* reported; what is queued is dropped with the readers */
	ahead_flush_lines(g);
	if (why[0]) {
		int drc = ahead_drain(g);
		if (drc)
			return drc;
		errorf("%s", why);
	}
	return rc;
}

/* A path to skip, reported in its turn. */
static int skip_path(ingest *g, const char *path, const char *why)
{
	if (g->ahead)
		return ahead_submit(g, path, 0, why);
	unreadable(g, path, why);
	return EX_OK;
}

/* path: "-" or a file of size bytes (as stat saw it). */
static int ingest_file(ingest *g, const char *path, size_t size)
{
	size_t pl = strlen(path);
	bool ndjson = pl > 7 && !strcmp(path + pl - 7, ".ndjson");
	if (g->ahead && strcmp(path, "-") && !ndjson)
		return ahead_submit(g, path, size, NULL);
	char why[PATH_MAX + 160];
	int fd = -1, rc;
	if (g->ahead && ndjson) {
		if (open_input(path, &fd, why, sizeof why))
			return skip_path(g, path, why);
		rc = ingest_ndjson_ahead(g, path, fd);
		close(fd);
		return rc;
	}
	/* Read here, after what was met before. */
	if ((rc = ahead_drain(g)))
		return rc;
	if (!strcmp(path, "-"))
		return ingest_fd(g, "-", "stdin", STDIN_FILENO);
	if (open_input(path, &fd, why, sizeof why)) {
		unreadable(g, path, why);
		return EX_OK;
	}
	rc = ingest_fd(g, path, path, fd);
	close(fd);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* top: a path given on the command line (symbolic links followed); below
 * it, symbolic links to folders are not followed, so a loop cannot trap
 * the walk. */
static int ingest_path(ingest *g, const char *path, int depth)
{
	struct stat st;
	if (!strcmp(path, "-"))
		return ingest_file(g, path, 0);
	if ((depth ? lstat(path, &st) : stat(path, &st)))
		return skip_path(g, path, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			return skip_path(g, path, "a symbolic link to something other than a file");
	}
	if (!S_ISDIR(st.st_mode))
		return ingest_file(g, path, st.st_size > 0 ? (size_t)st.st_size : 0);
	if (depth > 32)
		return skip_path(g, path, "folders nested more than 32 deep");
	DIR *d = opendir(path);
	if (!d) {
		return skip_path(g, path, strerror(errno));
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = EX_OK;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		/* Notes beside the inputs, expected results and a store's own
		 * files (a home given as the folder) are not inputs. */
		static const char *const skip[] = { ".md", ".db", ".db-wal", ".db-shm",
						    ".db-journal", ".pdf" };
		size_t l = strlen(e->d_name);
		bool skipped = !strcmp(e->d_name, "expected");
		for (size_t k = 0; k < sizeof skip / sizeof *skip && !skipped; k++) {
			size_t sl = strlen(skip[k]);
			skipped = l > sl && !strcmp(e->d_name + l - sl, skip[k]);
		}
		if (skipped)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = ds_realloc(names, cap * sizeof *nn);
			if (!nn) {
				rc = EX_INTERNAL;
				break;
			}
			names = nn;
		}
		if (!(names[n] = ds_strdup(e->d_name))) {
			rc = EX_INTERNAL;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc)
		errorf("out of memory listing %s", path);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && !rc; i++) {
		char child[PATH_MAX];
		if (snprintf(child, sizeof child, "%s%s%s", path,
			     path[strlen(path) - 1] == '/' ? "" : "/", names[i]) >= (int)sizeof child) {
			rc = skip_path(g, names[i], "path too long");
			continue;
		}
		rc = ingest_path(g, child, depth + 1);
	}
	for (size_t i = 0; i < n; i++)
		ds_free(names[i]);
	ds_free(names);
	return rc;
}

static void print_counts(const ctx *c, const ds_stats *s, bool tick)
{
	if (c->o.json) {
		cJSON *doc = cJSON_CreateObject();
		if (tick) {
			cJSON_AddNumberToObject(doc, "fired", (double)s->fired);
			cJSON_AddNumberToObject(doc, "transitions", (double)s->transitions);
			cJSON_AddNumberToObject(doc, "documents", (double)s->documents);
			cJSON_AddNumberToObject(doc, "purged", (double)s->purged);
			cJSON *r = cJSON_AddObjectToObject(doc, "retention");
			cJSON_AddNumberToObject(r, "interactions", (double)s->purged_interactions);
			cJSON_AddNumberToObject(r, "closed_cases", (double)s->purged_cases);
			cJSON_AddNumberToObject(r, "documents", (double)s->purged_documents);
			cJSON_AddNumberToObject(r, "quarantine", (double)s->purged_quarantine);
			cJSON_AddNumberToObject(r, "kept_as_consent_proof", (double)s->kept_proofs);
			cJSON_AddNumberToObject(doc, "obsolete", (double)s->obsolete);
			cJSON_AddNumberToObject(doc, "failed", (double)s->failed);
			cJSON_AddNumberToObject(doc, "max_late_seconds", (double)s->max_late);
		} else {
			cJSON_AddNumberToObject(doc, "read", (double)s->read);
			cJSON_AddNumberToObject(doc, "new", (double)s->new_);
			cJSON_AddNumberToObject(doc, "duplicates", (double)s->duplicates);
			cJSON_AddNumberToObject(doc, "quarantined", (double)s->quarantined);
			cJSON_AddNumberToObject(doc, "records", (double)s->records);
			cJSON_AddNumberToObject(doc, "transitions", (double)s->transitions);
			cJSON_AddNumberToObject(doc, "documents", (double)s->documents);
			cJSON_AddNumberToObject(doc, "unreadable", (double)s->unreadable);
		}
		print_json(doc);
		return;
	}
	if (c->o.quiet)
		return;
	if (tick) {
		printf("fired %" PRId64 " timer%s (%" PRId64 " no longer applied), %" PRId64
		       " transition%s, %" PRId64 " document%s, purged %" PRId64 "\n",
		       s->fired, s->fired == 1 ? "" : "s", s->obsolete, s->transitions,
		       s->transitions == 1 ? "" : "s", s->documents, s->documents == 1 ? "" : "s",
		       s->purged);
		if (s->purged || s->kept_proofs)
			printf("retention: erased %" PRId64 " raw interaction%s (%" PRId64 " older kept as "
			       "proof of a consent in force), %" PRId64 " closed case%s (%" PRId64
			       " document%s), %" PRId64 " quarantine entr%s\n", s->purged_interactions,
			       s->purged_interactions == 1 ? "" : "s", s->kept_proofs, s->purged_cases,
			       s->purged_cases == 1 ? "" : "s", s->purged_documents,
			       s->purged_documents == 1 ? "" : "s", s->purged_quarantine,
			       s->purged_quarantine == 1 ? "y" : "ies");
	} else {
		printf("read %" PRId64 ", new %" PRId64 ", duplicates %" PRId64 ", quarantined %" PRId64
		       ", records %" PRId64 ", transitions %" PRId64 ", documents %" PRId64 "%s\n",
		       s->read, s->new_, s->duplicates, s->quarantined, s->records, s->transitions,
		       s->documents, s->unreadable ? "; some paths could not be read (above)" : "");
	}
}

static int cmd_ingest(ctx *c, int argc, char **argv)
{
	const char *source = NULL;
	int first = 1;
	for (; first < argc; first++) {
		if (is_help(argv[first])) {
			puts("usage: dossier ingest [--source NAME] PATH...\n\n"
			     "Ingests files and folders (recursively, in name order; notes *.md, store\n"
			     "files *.db*, PDFs and folders named expected/ are skipped); - reads stdin.\n"
			     "The format comes from the extension (.json one document, .ndjson one per\n"
			     "line) or, failing that, the content. Each input is stored raw, mapped by its\n"
			     "source, validated, and moves its case; re-running on the same inputs creates\n"
			     "nothing new. Without --source, the source is the one that reads the input's\n"
			     "channel or, when several do, the one whose mapping rules accept the input.\n"
			     "Exit 0; 3 when some inputs were quarantined (see `dossier quarantine\n"
			     "list`); 2 when some paths could not be read (each is named on stderr).");
			return EX_OK;
		}
		const char *v = opt_value(argc, argv, &first, "--source");
		if (v) {
			source = v;
		} else if (argv[first][0] == '-' && argv[first][1]) {
			errorf("ingest: unknown option %s", argv[first]);
			return EX_USAGE;
		} else {
			break;
		}
	}
	if (first >= argc) {
		errorf("ingest: nothing to ingest (give files, folders or -)");
		return EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ingest g;
	memset(&g, 0, sizeof g);
	g.c = c;
	if (source && !(g.forced = ds_config_source(c->cfg, source))) {
		errorf("no source named \"%s\" in %s/schemas/sources/", source, c->o.home);
		return EX_USAGE;
	}
	ds_err err = {0};
	if ((rc = ds_runtime_init(&g.rt, c->cfg, c->store, ds_time_now(), &err)))
		return fail(&err);
	if ((rc = ds_chain_new(&g.rt, &g.chain, &err))) {
		ds_runtime_fini(&g.rt);
		return fail(&err);
	}
	g.arena = ds_arena_new(64 * 1024);
	g.progress = !c->o.quiet && !c->o.json && isatty(STDERR_FILENO);
	ds_buf_init(&g.logbuf, LOG_BYTES);
	g.ahead = ahead_new(&g);
	rc = g.arena ? EX_OK : EX_INTERNAL;
	for (int i = first; i < argc && !rc; i++)
		rc = ingest_path(&g, argv[i], 0);
	if (!rc)
		rc = ahead_drain(&g);
	ahead_free(g.ahead);
	g.ahead = NULL;
	if (!rc && g.batch && ds_chain_batch_end(g.chain, &err))
		rc = fail(&err);
	if (rc)
		ds_chain_batch_abort(g.chain);
	show_progress(&g, true);
	if (!rc) {
		print_counts(c, &g.rt.stats, false);
		if (g.rt.stats.quarantined && !c->o.quiet && !c->o.json)
			fprintf(stderr, "%" PRId64 " input%s quarantined: see `dossier quarantine list`\n",
				g.rt.stats.quarantined, g.rt.stats.quarantined == 1 ? "" : "s");
	}
	ds_chain_free(g.chain);
	ds_arena_free(g.arena);
	ds_free(g.log);
	ds_buf_free(&g.logbuf);
	ds_runtime_fini(&g.rt);
	/* 3 when this run put inputs in quarantine (a re-run that only meets
	 * them again as duplicates succeeds); else 2 when some paths given
	 * could not be read. */
	if (!rc && g.rt.stats.quarantined)
		rc = EX_QUARANTINED;
	else if (!rc && g.rt.stats.unreadable)
		rc = EX_USAGE;
	return rc;
}

/* ---- tick ---- */

static void report_timer(void *ud, const ds_case_work *w, const ds_timer_row *t, int64_t late)
{
	const ctx *c = ud;
	if (c->o.json || c->o.quiet)
		return;
	char due[24];
	fmt_time(t->due, due);
	const ds_change *last = &w->changes[w->nchanges - 1];
	printf("%s  %s -> %s  (timer %s, due %s, fired %" PRId64 "d %02" PRId64 "h %02" PRId64
	       "m late)\n", w->row.key, t->state, w->p->states[last->to].name,
	       w->changes[0].cause.after ? w->changes[0].cause.after : "", due, late / 86400,
	       (late % 86400) / 3600, (late % 3600) / 60);
}

static void report_failed(void *ud, const ds_timer_row *t, const ds_err *e)
{
	(void)ud;
	errorf("timer %" PRId64 " of case %" PRId64 " (%s) did not fire and stays due: %s", t->id,
	       t->case_id, t->state, e->msg);
}

static int cmd_tick(ctx *c, int argc, char **argv)
{
	if (argc > 1 && is_help(argv[1])) {
		puts("usage: dossier tick\n\n"
		     "Fires every timer due at the current time (or --now), in due order, each\n"
		     "exactly once, however long dossier was not run; prints how late each fired.\n"
		     "A timer whose case cannot move (e.g. its document fails on the case's data) is\n"
		     "reported, stays due, and makes the exit code 1; the others fire. Run it from\n"
		     "cron.\n\n"
		     "Then applies the \"retention\" of dossier.json ({\"interactions\": \"365d\",\n"
		     "\"closed_cases\": \"730d\"}): raw inputs received longer ago are erased (bytes,\n"
		     "file names, attachments, quarantine entries), except those that prove a consent\n"
		     "in force; cases closed longer ago keep their state, history and what their\n"
		     "customer's counts need, the rest of their data, records, raw inputs and\n"
		     "documents erased. It says what it purged (--json: purged, retention).");
		return EX_OK;
	}
	if (argc > 1) {
		errorf("tick takes no arguments");
		return EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_runtime rt;
	ds_err err = {0};
	if ((rc = ds_runtime_init(&rt, c->cfg, c->store, ds_time_now(), &err)))
		return fail(&err);
	rc = ds_engine_tick(&rt, report_timer, report_failed, c, &err);
	if (rc) {
		rc = fail(&err);
	} else {
		print_counts(c, &rt.stats, true);
		/* Timers that could not fire stay due; the run itself went on. */
		if (rt.stats.failed)
			rc = EX_INTERNAL;
	}
	ds_runtime_fini(&rt);
	return rc;
}

/* ---- case ---- */

struct list_ctx {
	const ctx *c;
	cJSON *arr;
	size_t n;
};

static int list_case(void *ud, const ds_case_row *r)
{
	struct list_ctx *l = ud;
	l->n++;
	if (l->arr) {
		cJSON_AddItemToArray(l->arr, ds_view_case(r, false));
		return 0;
	}
	char t[24];
	fmt_time(r->updated_at, t);
	printf("%-6" PRId64 " %-10s %-21s %-18s v%-4" PRId64 " %s\n", r->id, r->process, r->key,
	       r->state, r->version, t);
	return 0;
}

static int case_list(ctx *c, int argc, char **argv)
{
	const char *process = NULL, *state = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			puts("usage: dossier case list [--process NAME] [--state STATE]\n\n"
			     "Lists cases in creation order: id, process, key, state, version, last change.");
			return EX_OK;
		}
		if (!strcmp(argv[i], "--process") && i + 1 < argc)
			process = argv[++i];
		else if (!strcmp(argv[i], "--state") && i + 1 < argc)
			state = argv[++i];
		else {
			errorf("case list: unexpected argument %s", argv[i]);
			return EX_USAGE;
		}
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	if (process && !ds_config_process(c->cfg, process)) {
		errorf("no process named \"%s\"", process);
		return EX_USAGE;
	}
	struct list_ctx l = { c, c->o.json ? cJSON_CreateArray() : NULL, 0 };
	ds_err err = {0};
	if (!c->o.json && !c->o.quiet)
		printf("%-6s %-10s %-21s %-18s %-5s %s\n", "ID", "PROCESS", "KEY", "STATE", "VER",
		       "UPDATED");
	rc = ds_store_case_list(c->store, process, state, list_case, &l, &err);
	if (rc < 0) {
		cJSON_Delete(l.arr);
		return fail(&err);
	}
	if (l.arr)
		print_json(l.arr);
	return EX_OK;
}

struct hist_ctx {
	const ctx *c;
	const ds_case_work *w;
	cJSON *arr;
};

static int history_row(void *ud, const ds_audit_row *r)
{
	struct hist_ctx *h = ud;
	char t[24];
	fmt_time(r->at, t);
	if (h->arr) {
		cJSON_AddItemToArray(h->arr, ds_view_audit(r));
		return 0;
	}
	cJSON *cause = cJSON_Parse(r->cause);
	const char *type = cause ? ds_json_str(cause, "type") : NULL;
	char what[512] = "";
	if (type && !strcmp(type, "record")) {
		const cJSON *rid = cJSON_GetObjectItemCaseSensitive(cause, "record");
		snprintf(what, sizeof what, "record #%.0f (%s from %s)",
			 cJSON_IsNumber(rid) ? rid->valuedouble : 0.0,
			 ds_json_str(cause, "record_type") ? ds_json_str(cause, "record_type") : "?",
			 ds_json_str(cause, "source") ? ds_json_str(cause, "source") : "?");
	} else if (type && (!strcmp(type, "event") || !strcmp(type, "edit"))) {
		snprintf(what, sizeof what, "%s %s by %s%s%s", type,
			 ds_json_str(cause, "event") ? ds_json_str(cause, "event") : "",
			 ds_json_str(cause, "role") ? ds_json_str(cause, "role") : "?",
			 ds_json_str(cause, "actor") ? " " : "",
			 ds_json_str(cause, "actor") ? ds_json_str(cause, "actor") : "");
	} else if (type && !strcmp(type, "timer")) {
		snprintf(what, sizeof what, "timer %s (due %s)", ds_json_str(cause, "after"),
			 ds_json_str(cause, "due"));
	} else if (type && !strcmp(type, "guard")) {
		snprintf(what, sizeof what, "guard %s", ds_json_str(cause, "when"));
	} else if (type && !strcmp(type, "migration")) {
		const cJSON *vf = cJSON_GetObjectItemCaseSensitive(cause, "from_version");
		const cJSON *vt = cJSON_GetObjectItemCaseSensitive(cause, "to_version");
		snprintf(what, sizeof what, "migration from version %d to version %d",
			 cJSON_IsNumber(vf) ? vf->valueint : 0, cJSON_IsNumber(vt) ? vt->valueint : 0);
	} else {
		snprintf(what, sizeof what, "%s", r->cause);
	}
	printf("  v%-3" PRId64 " %s  %-16s -> %-16s %s%s%s%s%s\n", r->version, t,
	       r->from_state ? r->from_state : "(new)", r->to_state, what,
	       r->changed ? "  changed " : "", r->changed ? r->changed : "",
	       r->effects ? "  profile " : "", r->effects ? r->effects : "");
	cJSON_Delete(cause);
	return 0;
}

static int doc_row(void *ud, const ds_document_row *d);

static int att_row(void *ud, const ds_attachment_row *r)
{
	struct list_ctx *l = ud;
	l->n++;
	if (l->arr) {
		cJSON_AddItemToArray(l->arr, ds_view_attachment(r));
		return 0;
	}
	printf("  %-5" PRId64 " %s (%s, %" PRId64 " bytes, sha256 %.16s…) from interaction %" PRId64
	       ", part %s\n", r->id, *r->filename ? r->filename : "(no name)", r->content_type,
	       r->size, r->sha256, r->interaction_id, r->part);
	return 0;
}

static int case_show(ctx *c, int argc, char **argv, bool history_only)
{
	if (argc < 2 || is_help(argv[1])) {
		printf("usage: dossier case %s CASE\n\n"
		       "CASE is a case id, a key (DEV-2026-0042), or PROCESS:KEY.\n%s",
		       history_only ? "history" : "show",
		       history_only ? "Prints the audit trail: every change with its version, time,\n"
				      "from, to, cause and changed fields.\n"
				    : "Prints the case's state, data, audit trail and documents.\n");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	if (argc > 2) {
		errorf("case: unexpected argument %s", argv[2]);
		return EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_arena *a = ds_arena_new(16384);
	ds_case_work w;
	ds_err err = {0};
	if (!a)
		return EX_INTERNAL;
	if ((rc = ds_engine_find(&w, a, c->cfg, c->store, argv[1], &err))) {
		ds_arena_free(a);
		return fail(&err);
	}
	struct hist_ctx h = { c, &w, NULL };
	if (c->o.json) {
		cJSON *doc = history_only ? NULL : ds_view_case(&w.row, true);
		h.arr = cJSON_CreateArray();
		rc = ds_store_audit_list(c->store, w.row.id, history_row, &h, &err);
		if (history_only) {
			print_json(h.arr);
		} else {
			cJSON_AddItemToObject(doc, "history", h.arr);
			struct list_ctx l = { c, cJSON_AddArrayToObject(doc, "documents"), 0 };
			ds_store_document_list(c->store, w.row.id, doc_row, &l, &err);
			struct list_ctx at = { c, cJSON_AddArrayToObject(doc, "attachments"), 0 };
			ds_store_attachment_list(c->store, w.row.id, att_row, &at, &err);
			print_json(doc);
		}
	} else {
		if (!history_only) {
			char t[24];
			fmt_time(w.row.state_since, t);
			printf("%s %s (case %" PRId64 ", process version %d)\n", w.p->name, w.row.key,
			       w.row.id, w.row.process_version);
			printf("state:   %s since %s, version %" PRId64 "\n", w.row.state, t,
			       w.row.version);
			if (w.row.profile_id)
				printf("profile: %" PRId64 "\n", w.row.profile_id);
			if (w.row.erased_at) {
				fmt_time(w.row.erased_at, t);
				printf("erased:  %s (its data keeps what its customer's counts need)\n", t);
			}
			/* The case's data is read from its text on first use. */
			cJSON *tree = NULL;
			char *data = ds_engine_data(&w, &tree, &err) ? NULL : cJSON_Print(tree);
			printf("data:\n%s\n", data ? data : err.code ? err.msg : "?");
			cJSON_free(data);
			printf("history:\n");
		}
		rc = ds_store_audit_list(c->store, w.row.id, history_row, &h, &err);
		if (!history_only) {
			struct list_ctx l = { c, NULL, 0 };
			printf("documents:\n");
			ds_store_document_list(c->store, w.row.id, doc_row, &l, &err);
			if (!l.n)
				printf("  (none)\n");
			struct list_ctx at = { c, NULL, 0 };
			printf("attachments (dossier attachment get ID):\n");
			ds_store_attachment_list(c->store, w.row.id, att_row, &at, &err);
			if (!at.n)
				printf("  (none)\n");
		}
	}
	ds_arena_free(a);
	return rc < 0 ? fail(&err) : EX_OK;
}

/* Runs a user action on one case in one transaction: load, act, settle,
 * commit, produce documents. */
static int case_act(ctx *c, const char *ref, const char *role,
		    int (*act)(ds_case_work *w, const ds_config *cfg, void *ud, ds_time now,
			   ds_err *err),
		    void *ud)
{
	int rc = setup(c, true);
	if (rc)
		return rc;
	if (!role) {
		errorf("say as whom with --role ROLE");
		return EX_USAGE;
	}
	ds_runtime rt;
	ds_err err = {0};
	if ((rc = ds_runtime_init(&rt, c->cfg, c->store, ds_time_now(), &err)))
		return fail(&err);
	ds_arena *a = ds_arena_new(16384);
	ds_case_work w;
	if (!a) {
		ds_runtime_fini(&rt);
		return EX_INTERNAL;
	}
	if ((rc = ds_store_begin(c->store, &err)))
		goto out;
	if ((rc = ds_engine_find(&w, a, c->cfg, c->store, ref, &err)) ||
	    (rc = act(&w, c->cfg, ud, rt.now, &err)) ||
	    (rc = ds_engine_settle(&w, rt.now, &err)) ||
	    (rc = ds_engine_commit(&rt, &w, &err)) ||
	    (rc = ds_engine_produce(&rt, &w, &err)) ||
	    (rc = ds_runtime_sync(&rt, &err)) ||
	    (rc = ds_store_commit(c->store, &err))) {
		ds_store_rollback(c->store);
		ds_runtime_discard(&rt, 0);
		goto out;
	}
	ds_runtime_committed(&rt);
	if (c->o.json) {
		cJSON *doc = ds_view_case(&w.row, false);
		cJSON_AddNumberToObject(doc, "transitions", (double)rt.stats.transitions);
		cJSON_AddNumberToObject(doc, "documents", (double)rt.stats.documents);
		print_json(doc);
	} else if (!c->o.quiet) {
		printf("%s %s: %s, version %" PRId64 "", w.p->name, w.row.key, w.row.state,
		       w.row.version);
		if (rt.stats.documents)
			printf(", %" PRId64 " document%s produced", rt.stats.documents,
			       rt.stats.documents == 1 ? "" : "s");
		printf("\n");
	}
out:
	ds_arena_free(a);
	ds_runtime_fini(&rt);
	/* A change whose document fails on the case's data is refused like
	 * any change the case cannot take. */
	if (rc == DS_EINVAL)
		err.code = DS_EREFUSED;
	return rc ? fail(&err) : EX_OK;
}

struct event_args {
	const char *event, *role, *actor;
};

static int do_event(ds_case_work *w, const ds_config *cfg, void *ud, ds_time now, ds_err *err)
{
	(void)cfg;
	struct event_args *e = ud;
	return ds_engine_event(w, e->event, e->role, e->actor, now, err);
}

static const char *default_actor(void)
{
	const char *u = getenv("USER");
	return u && *u ? u : "cli";
}

/* Parses --role R and --actor A out of argv; the rest stay positional. */
static int role_args(int argc, char **argv, const char **role, const char **actor, char **pos,
		     int *npos)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--role") && i + 1 < argc)
			*role = argv[++i];
		else if (!strncmp(argv[i], "--role=", 7))
			*role = argv[i] + 7;
		else if (!strcmp(argv[i], "--actor") && i + 1 < argc)
			*actor = argv[++i];
		else if (!strncmp(argv[i], "--actor=", 8))
			*actor = argv[i] + 8;
		else if (argv[i][0] == '-' && argv[i][1] && argv[i][1] == '-') {
			errorf("unknown option %s", argv[i]);
			return EX_USAGE;
		} else if (*npos < 64)
			pos[(*npos)++] = argv[i];
		else {
			errorf("too many arguments");
			return EX_USAGE;
		}
	}
	return EX_OK;
}

static int case_event(ctx *c, int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1])) {
		puts("usage: dossier case event CASE EVENT --role ROLE [--actor NAME]\n\n"
		     "Sends a user event (approve, send, accept...) to a case as ROLE. Refused (exit\n"
		     "4) when the case's state has no such event or ROLE may not send it.");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	struct event_args e = { NULL, NULL, default_actor() };
	char *pos[64];
	int npos, rc = role_args(argc, argv, &e.role, &e.actor, pos, &npos);
	if (rc)
		return rc;
	if (npos != 2) {
		errorf("case event: give CASE and EVENT");
		return EX_USAGE;
	}
	e.event = pos[1];
	return case_act(c, pos[0], e.role, do_event, &e);
}

struct set_args {
	char **pairs;
	int n;
	const char *role, *actor;
	const ds_config *cfg;
};

static int do_set(ds_case_work *w, const ds_config *cfg, void *ud, ds_time now, ds_err *err)
{
	struct set_args *s = ud;
	s->cfg = cfg;
	cJSON *fields = cJSON_CreateObject();
	if (!fields)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	for (int i = 0; i < s->n; i++) {
		char *eq = strchr(s->pairs[i], '=');
		/* A value that parses as JSON is JSON (25, true, "x", [...]); anything
		 * else is a string. The same limits as for inputs apply. */
		cJSON *v = NULL;
		const char *val = eq + 1;
		if (!*val || ds_json_parse(val, strlen(val), s->cfg->limits.max_depth, &v, NULL))
			v = cJSON_CreateString(val);
		if (!v) {
			cJSON_Delete(fields);
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		}
		*eq = '\0';
		cJSON_AddItemToObject(fields, s->pairs[i], v);
		*eq = '=';
	}
	ds_cause cause = { .kind = DS_CAUSE_EDIT, .role = s->role, .actor = s->actor };
	int rc = ds_engine_edit(w, fields, s->role, &cause, now, err);
	if (!rc)
		rc = ds_engine_validate(w, s->cfg, err);
	cJSON_Delete(fields);
	return rc;
}

static int case_set(ctx *c, int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1])) {
		puts("usage: dossier case set CASE FIELD=VALUE... --role ROLE [--actor NAME]\n\n"
		     "Changes top-level data fields as ROLE. VALUE is JSON when it parses as JSON\n"
		     "(25, true, \"text\"), else text. Refused (exit 4) when the case's state does\n"
		     "not let ROLE change a field. Data guards run afterwards.");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	struct set_args s = { NULL, 0, NULL, default_actor(), NULL };
	char *pos[64];
	int npos, rc = role_args(argc, argv, &s.role, &s.actor, pos, &npos);
	if (rc)
		return rc;
	if (npos < 2) {
		errorf("case set: give CASE and at least one FIELD=VALUE");
		return EX_USAGE;
	}
	for (int i = 1; i < npos; i++) {
		if (!strchr(pos[i], '=') || pos[i][0] == '=') {
			errorf("case set: expected FIELD=VALUE, got %s", pos[i]);
			return EX_USAGE;
		}
	}
	s.pairs = pos + 1;
	s.n = npos - 1;
	return case_act(c, pos[0], s.role, do_set, &s);
}

static int cmd_case(ctx *c, int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1])) {
		puts("usage: dossier case list|show|history|event|set ...\n\n"
		     "  list [--process P] [--state S]     cases and their states\n"
		     "  show CASE                          data, state, history, documents\n"
		     "  history CASE                       the audit trail\n"
		     "  event CASE EVENT --role R          send a user event as role R\n"
		     "  set CASE FIELD=VALUE... --role R   change fields as role R");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "list"))
		return case_list(c, argc - 1, argv + 1);
	if (!strcmp(sub, "show"))
		return case_show(c, argc - 1, argv + 1, false);
	if (!strcmp(sub, "history"))
		return case_show(c, argc - 1, argv + 1, true);
	if (!strcmp(sub, "event"))
		return case_event(c, argc - 1, argv + 1);
	if (!strcmp(sub, "set"))
		return case_set(c, argc - 1, argv + 1);
	errorf("case: unknown subcommand %s", sub);
	return EX_USAGE;
}

/* ---- document ---- */

static int doc_row(void *ud, const ds_document_row *d)
{
	struct list_ctx *l = ud;
	l->n++;
	char t[24];
	fmt_time(d->created_at, t);
	if (l->arr) {
		cJSON_AddItemToArray(l->arr, ds_view_document(d));
		return 0;
	}
	printf("  %-5" PRId64 " %-18s %-8s %s  %s\n", d->id, d->case_key, d->template_name, t,
	       d->path);
	return 0;
}

/* `WHAT get ID [--out FILE]`: the id (> 0), or 0 after saying what is wrong. */
static long long get_args(const char *what, const char *list, int argc, char **argv,
			  const char **out)
{
	const char *id = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			*out = argv[++i];
		} else if (!id && (argv[i][0] != '-' || !argv[i][1])) {
			id = argv[i];
		} else {
			errorf("%s get: unexpected argument %s", what, argv[i]);
			return 0;
		}
	}
	char *end;
	long long n = id ? strtoll(id, &end, 10) : 0;
	if (!id || *end || n <= 0) {
		errorf("%s get: give a%s %s id (see `%s`)", what, *what == 'a' ? "n" : "", what, list);
		return 0;
	}
	return n;
}

static int cmd_document(ctx *c, int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1])) {
		puts("usage: dossier document list [--case CASE]\n"
		     "       dossier document get ID [--out FILE]\n\n"
		     "Documents are produced only when a case enters an output point of its\n"
		     "process; these commands list them and fetch one (its path, or its bytes with\n"
		     "--out FILE, - for stdout). They never produce one.");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	int rc;
	ds_err err = {0};
	if (argc > 2 && is_help(argv[2])) {
		argv[1] = argv[2];
		return cmd_document(c, 2, argv);
	}
	if (!strcmp(argv[1], "list")) {
		const char *cref = NULL;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--case") && i + 1 < argc)
				cref = argv[++i];
			else {
				errorf("document list: unexpected argument %s", argv[i]);
				return EX_USAGE;
			}
		}
		if ((rc = setup(c, true)))
			return rc;
		int64_t case_id = 0;
		ds_arena *a = ds_arena_new(4096);
		if (!a)
			return EX_INTERNAL;
		if (cref) {
			ds_case_work w;
			if ((rc = ds_engine_find(&w, a, c->cfg, c->store, cref, &err))) {
				ds_arena_free(a);
				return fail(&err);
			}
			case_id = w.row.id;
		}
		struct list_ctx l = { c, c->o.json ? cJSON_CreateArray() : NULL, 0 };
		if (!c->o.json && !c->o.quiet)
			printf("  %-5s %-18s %-8s %-20s  %s\n", "ID", "CASE", "TEMPLATE", "CREATED", "PATH");
		rc = ds_store_document_list(c->store, case_id, doc_row, &l, &err);
		ds_arena_free(a);
		if (rc < 0) {
			cJSON_Delete(l.arr);
			return fail(&err);
		}
		if (l.arr)
			print_json(l.arr);
		return EX_OK;
	}
	if (!strcmp(argv[1], "get")) {
		const char *out = NULL;
		long long n = get_args("document", "dossier document list", argc, argv, &out);
		if (n <= 0)
			return EX_USAGE;
		if ((rc = setup(c, true)))
			return rc;
		ds_arena *a = ds_arena_new(4096);
		ds_document_row d;
		if (!a)
			return EX_INTERNAL;
		if ((rc = ds_store_document_get(c->store, n, a, &d, &err))) {
			ds_arena_free(a);
			return fail(&err);
		}
		if (out) {
			char *bytes = NULL;
			size_t len = 0;
			rc = ds_read_file(d.path, SIZE_MAX / 2, &bytes, &len, &err);
			if (!rc) {
				FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
				if (!f || fwrite(bytes, 1, len, f) != len || (f != stdout && fclose(f))) {
					errorf("cannot write %s: %s", out, strerror(errno));
					rc = DS_EIO;
					err.code = DS_EIO;
					snprintf(err.msg, sizeof err.msg, "cannot write %s", out);
				}
			}
			ds_free(bytes);
		} else if (c->o.json) {
			struct list_ctx l = { c, cJSON_CreateArray(), 0 };
			doc_row(&l, &d);
			cJSON *o = cJSON_DetachItemFromArray(l.arr, 0);
			cJSON_Delete(l.arr);
			print_json(o);
		} else {
			printf("%s\n", d.path);
		}
		ds_arena_free(a);
		return rc ? ds_err_exit_code(err.code) : EX_OK;
	}
	errorf("document: unknown subcommand %s", argv[1]);
	return EX_USAGE;
}

/* ---- attachment ---- */

static int attachment_get(ctx *c, int argc, char **argv)
{
	const char *out = NULL;
	long long n = get_args("attachment", "dossier case show CASE", argc, argv, &out);
	if (n <= 0)
		return EX_USAGE;
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_arena *a = ds_arena_new(4096);
	if (!a)
		return EX_INTERNAL;
	ds_err err = { 0 };
	ds_attachment_row r;
	ds_interaction in;
	char *data = NULL;
	size_t len = 0;
	if ((rc = ds_store_attachment_get(c->store, n, a, &r, &err)) ||
	    (rc = ds_store_interaction_get(c->store, r.interaction_id, a, &in, &err)) ||
	    (rc = ds_input_attachment(in.channel, (const char *)in.bytes, in.len, &c->cfg->limits,
				      r.part, r.seq, &data, &len, &err))) {
		ds_arena_free(a);
		return fail(&err);
	}
	char sha[65];
	ds_sha256_hex(data, len, sha);
	if (strcmp(sha, r.sha256)) {
		errorf("attachment %lld: its bytes no longer match their SHA-256 (%s)", n, r.sha256);
		rc = EX_INTERNAL;
	} else {
		FILE *f = out && strcmp(out, "-") ? fopen(out, "wb") : stdout;
		if (!f || fwrite(data, 1, len, f) != len || (f != stdout ? fclose(f) : fflush(f))) {
			errorf("cannot write %s: %s", out ? out : "stdout", strerror(errno));
			rc = EX_INTERNAL;
		}
	}
	ds_free(data);
	ds_arena_free(a);
	return rc;
}

static int cmd_attachment(ctx *c, int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1]) || (argc > 2 && is_help(argv[2]))) {
		puts("usage: dossier attachment list CASE\n"
		     "       dossier attachment get ID [--out FILE]\n\n"
		     "The files that came with a case's inputs (an email's attachments, a form's\n"
		     "uploads), kept inside the raw interaction: list gives each one's id, name,\n"
		     "type, size and SHA-256; get writes its bytes to stdout or FILE, checked\n"
		     "against the SHA-256 taken when it arrived.");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	if (!strcmp(argv[1], "get"))
		return attachment_get(c, argc, argv);
	if (strcmp(argv[1], "list")) {
		errorf("attachment: unknown subcommand %s", argv[1]);
		return EX_USAGE;
	}
	if (argc != 3) {
		errorf("attachment list: give one case (an id, a key, or PROCESS:KEY)");
		return EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_arena *a = ds_arena_new(4096);
	if (!a)
		return EX_INTERNAL;
	ds_err err = { 0 };
	ds_case_work w;
	if ((rc = ds_engine_find(&w, a, c->cfg, c->store, argv[2], &err))) {
		ds_arena_free(a);
		return fail(&err);
	}
	struct list_ctx l = { c, c->o.json ? cJSON_CreateArray() : NULL, 0 };
	rc = ds_store_attachment_list(c->store, w.row.id, att_row, &l, &err);
	ds_arena_free(a);
	if (rc) {
		cJSON_Delete(l.arr);
		return fail(&err);
	}
	if (l.arr)
		print_json(l.arr);
	else if (!l.n && !c->o.quiet)
		puts("(no attachments)");
	return EX_OK;
}

/* ---- quarantine ---- */

static int q_row(void *ud, const ds_quarantine_row *q)
{
	struct list_ctx *l = ud;
	l->n++;
	char t[24];
	fmt_time(q->at, t);
	if (l->arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)q->id);
		cJSON_AddStringToObject(o, "stage", q->stage);
		cJSON_AddStringToObject(o, "reason", q->reason);
		cJSON_AddStringToObject(o, "source", q->source);
		cJSON_AddStringToObject(o, "channel", q->channel ? q->channel : "");
		cJSON_AddStringToObject(o, "origin", q->origin ? q->origin : "");
		if (q->interaction_id)
			cJSON_AddNumberToObject(o, "interaction", (double)q->interaction_id);
		else
			cJSON_AddNullToObject(o, "interaction");
		cJSON_AddStringToObject(o, "sha256", q->sha256);
		cJSON_AddStringToObject(o, "at", t);
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	printf("%-5" PRId64 " %-9s %-40s %s\n", q->id, q->stage, q->origin ? q->origin : "",
	       q->reason);
	return 0;
}

struct replay_ids {
	int64_t *v;
	size_t n, cap;
};

static int collect_q(void *ud, const ds_quarantine_row *q)
{
	struct replay_ids *r = ud;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		int64_t *n = ds_realloc(r->v, cap * sizeof *n);
		if (!n)
			return DS_ENOMEM;
		r->v = n;
		r->cap = cap;
	}
	r->v[r->n++] = q->id;
	return 0;
}

/* Runs quarantined inputs through the chain again, each in the batch of
 * the chain, the entry marked replayed in the same transaction. */
static int quarantine_replay(ctx *c, int argc, char **argv)
{
	struct replay_ids ids = { NULL, 0, 0 };
	bool all = false;
	int rc;
	for (int i = 1; i < argc; i++) {
		char *end;
		long long n = strtoll(argv[i], &end, 10);
		if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (*end || n <= 0) {
			errorf("quarantine replay: expected entry ids or --all, got %s", argv[i]);
			ds_free(ids.v);
			return EX_USAGE;
		} else if (collect_q(&ids, &(ds_quarantine_row){ .id = n })) {
			ds_free(ids.v);
			return EX_INTERNAL;
		}
	}
	if (!all && !ids.n) {
		errorf("quarantine replay: give entry ids or --all");
		return EX_USAGE;
	}
	if ((rc = setup(c, true))) {
		ds_free(ids.v);
		return rc;
	}
	ds_err err = {0};
	if (all && ds_store_quarantine_list(c->store, collect_q, &ids, &err)) {
		ds_free(ids.v);
		return fail(&err);
	}
	ds_runtime rt;
	ds_chain *chain = NULL;
	ds_arena *a = ds_arena_new(64 * 1024), *qa = ds_arena_new(64 * 1024);
	int64_t passed = 0, again = 0, skipped = 0;
	if (!a || !qa || (rc = ds_runtime_init(&rt, c->cfg, c->store, ds_time_now(), &err))) {
		ds_arena_free(a);
		ds_arena_free(qa);
		ds_free(ids.v);
		return a && qa ? fail(&err) : EX_INTERNAL;
	}
	if ((rc = ds_chain_new(&rt, &chain, &err)))
		goto out;
	if ((rc = ds_chain_batch_begin(chain, &err)))
		goto out;
	for (size_t i = 0; i < ids.n; i++) {
		ds_quarantine_row q;
		ds_interaction in;
		ds_arena_reset(qa);
		if ((rc = ds_store_quarantine_get(c->store, ids.v[i], qa, &q, &err)))
			break;
		if (q.replayed) {
			errorf("entry %" PRId64 " was replayed already", q.id);
			skipped++;
			continue;
		}
		const unsigned char *bytes = q.bytes;
		size_t len = q.len;
		if (!bytes && q.interaction_id) {
			if ((rc = ds_store_interaction_get(c->store, q.interaction_id, qa, &in, &err)))
				break;
			bytes = in.bytes;
			len = in.len;
		}
		if (!bytes) {
			errorf("entry %" PRId64 " cannot be replayed: its bytes were over the size limit "
			       "and were not kept", q.id);
			skipped++;
			continue;
		}
		if ((rc = ds_store_quarantine_mark_replayed(c->store, q.id, &err)))
			break;
		ds_env env;
		ds_env_init(&env);
		env.arena = a;
		env.origin = q.origin ? q.origin : "quarantine";
		env.channel = q.channel ? q.channel : "unknown";
		env.source = ds_config_source(c->cfg, q.source);
		env.bytes = bytes;
		env.len = len;
		env.interaction_id = q.interaction_id;
		ds_outcome o = ds_chain_run(chain, &env, &err);
		ds_arena_reset(a);
		if (o == DS_STAGE_FAIL || o == DS_STAGE_RETRY) {
			rc = err.code ? err.code : DS_EINTERNAL;
			break;
		}
		rc = DS_OK;
		if (o == DS_STAGE_REJECT) {
			again++;
			if (!c->o.json && !c->o.quiet)
				printf("%" PRId64 ": quarantined again as %" PRId64 " (%s): %s\n", q.id,
				       env.quarantine_id, env.stage, err.msg);
		} else {
			passed++;
			if (!c->o.json && !c->o.quiet)
				printf("%" PRId64 ": passed\n", q.id);
		}
	}
	if (rc) {
		ds_chain_batch_abort(chain);
		goto out;
	}
	if ((rc = ds_chain_batch_end(chain, &err)))
		goto out;
	if (c->o.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "replayed", (double)(passed + again));
		cJSON_AddNumberToObject(doc, "passed", (double)passed);
		cJSON_AddNumberToObject(doc, "quarantined", (double)again);
		cJSON_AddNumberToObject(doc, "skipped", (double)skipped);
		cJSON_AddNumberToObject(doc, "records", (double)rt.stats.records);
		cJSON_AddNumberToObject(doc, "transitions", (double)rt.stats.transitions);
		cJSON_AddNumberToObject(doc, "documents", (double)rt.stats.documents);
		print_json(doc);
	} else if (!c->o.quiet) {
		printf("replayed %" PRId64 ": %" PRId64 " passed, %" PRId64 " quarantined again, %" PRId64
		       " skipped; records %" PRId64 ", transitions %" PRId64 ", documents %" PRId64 "\n",
		       passed + again, passed, again, skipped, rt.stats.records, rt.stats.transitions,
		       rt.stats.documents);
	}
out:
	ds_chain_free(chain);
	ds_arena_free(a);
	ds_arena_free(qa);
	ds_runtime_fini(&rt);
	ds_free(ids.v);
	if (rc)
		return fail(&err);
	return again || skipped ? EX_QUARANTINED : EX_OK;
}

static int cmd_quarantine(ctx *c, int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1])) {
		puts("usage: dossier quarantine list\n"
		     "       dossier quarantine show ID\n"
		     "       dossier quarantine replay ID...|--all\n\n"
		     "Inputs that a stage rejected, with the stage, the reason and the original\n"
		     "bytes (show prints them). replay runs them through the stages again, with\n"
		     "the configuration as it is now: an entry that passes leaves the quarantine;\n"
		     "one that fails again gets a new entry with the new reason (exit 3).");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	int rc;
	ds_err err = {0};
	if (!strcmp(argv[1], "list")) {
		if (argc > 2) {
			errorf("quarantine list takes no arguments");
			return EX_USAGE;
		}
		if ((rc = setup(c, true)))
			return rc;
		struct list_ctx l = { c, c->o.json ? cJSON_CreateArray() : NULL, 0 };
		if (!c->o.json && !c->o.quiet)
			printf("%-5s %-9s %-40s %s\n", "ID", "STAGE", "ORIGIN", "REASON");
		rc = ds_store_quarantine_list(c->store, q_row, &l, &err);
		if (rc < 0) {
			cJSON_Delete(l.arr);
			return fail(&err);
		}
		if (l.arr)
			print_json(l.arr);
		return EX_OK;
	}
	if (argc > 2 && is_help(argv[2])) {
		argv[1] = argv[2];
		return cmd_quarantine(c, 2, argv);
	}
	if (!strcmp(argv[1], "replay"))
		return quarantine_replay(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "show")) {
		char *end;
		long long n = argc == 3 ? strtoll(argv[2], &end, 10) : 0;
		if (argc != 3 || *end || n <= 0) {
			errorf("quarantine show: give an entry id (see `dossier quarantine list`)");
			return EX_USAGE;
		}
		if ((rc = setup(c, true)))
			return rc;
		ds_arena *a = ds_arena_new(16384);
		ds_quarantine_row q;
		if (!a)
			return EX_INTERNAL;
		if ((rc = ds_store_quarantine_get(c->store, n, a, &q, &err))) {
			ds_arena_free(a);
			return fail(&err);
		}
		const unsigned char *bytes = q.bytes;
		size_t len = q.len;
		ds_interaction in;
		if (!bytes && q.interaction_id &&
		    !ds_store_interaction_get(c->store, q.interaction_id, a, &in, &err)) {
			bytes = in.bytes;
			len = in.len;
		}
		if (c->o.json) {
			struct list_ctx l = { c, cJSON_CreateArray(), 0 };
			q_row(&l, &q);
			cJSON *o = cJSON_DetachItemFromArray(l.arr, 0);
			cJSON_Delete(l.arr);
			cJSON_AddNumberToObject(o, "size", (double)q.size);
			/* Text only: bytes that are not UTF-8, or hold a NUL, are shown
			 * by the text output. */
			if (bytes && ds_utf8_valid((const char *)bytes, len) && !memchr(bytes, 0, len))
				cJSON_AddStringToObject(o, "bytes", (const char *)bytes);
			else
				cJSON_AddNullToObject(o, "bytes");
			print_json(o);
		} else {
			char t[24];
			fmt_time(q.at, t);
			printf("entry:   %" PRId64 "\nsource:  %s (%s)\norigin:  %s\nstage:   %s\n"
			       "reason:  %s\nat:      %s\nsha256:  %s\nsize:    %zu bytes\n",
			       q.id, q.source, q.channel ? q.channel : "?", q.origin ? q.origin : "",
			       q.stage, q.reason, t, q.sha256, q.size);
			if (bytes) {
				printf("--- original bytes ---\n");
				fwrite(bytes, 1, len > 65536 ? 65536 : len, stdout);
				if (len > 65536)
					printf("\n[... %zu more bytes]", len - 65536);
				printf("\n");
			} else {
				printf("(the input was larger than the limit; its bytes were not kept)\n");
			}
		}
		ds_arena_free(a);
		return EX_OK;
	}
	errorf("quarantine: unknown subcommand %s", argv[1]);
	return EX_USAGE;
}

/* ---- validate ---- */

struct verr_ctx {
	cJSON *errors;       /* JSON mode */
	const char *file;    /* text mode */
	bool quiet;
};

static void on_verr(void *ud, const char *pointer, const char *keyword, const char *message)
{
	struct verr_ctx *v = ud;
	if (v->errors) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "pointer", pointer);
		cJSON_AddStringToObject(o, "keyword", keyword);
		cJSON_AddStringToObject(o, "message", message);
		cJSON_AddItemToArray(v->errors, o);
	} else if (!v->quiet) {
		printf("  %s: %s (%s)\n", *pointer ? pointer : "/", message, keyword);
	}
}

#define VALIDATE_MAX_BYTES (64u << 20)

static int cmd_validate(ctx *c, int argc, char **argv)
{
	const char *schema_file = NULL, *type = NULL;
	int first = 1;
	if (argc < 2 || is_help(argv[1])) {
		puts("usage: dossier validate --schema FILE JSON...\n"
		     "       dossier validate TYPE JSON...\n\n"
		     "Validates JSON documents (files, or - for stdin) against a schema file or\n"
		     "the record type TYPE of HOME/schemas/records/, and prints every error as a\n"
		     "JSON Pointer and a message. A FILE named *.schema.json is loaded with the\n"
		     "other schemas of its folder, so references between them resolve.\n"
		     "Exit 0 when all are valid, 3 when some are not, 2 when the schema itself is\n"
		     "wrong or uses an unsupported keyword, or a document cannot be read.");
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	if (!strcmp(argv[1], "--schema") && argc > 2) {
		schema_file = argv[2];
		first = 3;
	} else if (!strncmp(argv[1], "--schema=", 9)) {
		schema_file = argv[1] + 9;
		first = 2;
	} else if (argv[1][0] == '-') {
		errorf("validate: unknown option %s", argv[1]);
		return EX_USAGE;
	} else {
		type = argv[1];
		first = 2;
	}
	if (first >= argc) {
		errorf("validate: give at least one JSON document");
		return EX_USAGE;
	}
	ds_err err = {0};
	ds_diag_init(&c->diag);
	ds_schema *own = NULL;
	ds_schema_set *set = NULL;
	const ds_schema *schema = NULL;
	int rc = EX_OK;
	size_t sl = schema_file ? strlen(schema_file) : 0;
	if (schema_file && sl > 12 && !strcmp(schema_file + sl - 12, ".schema.json")) {
		/* A record type's file: load its folder as a set, so that its
		 * references to the other files resolve as they will in use. */
		char dir[PATH_MAX], name[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", schema_file);
		char *slash = strrchr(dir, '/');
		snprintf(name, sizeof name, "%s", slash ? slash + 1 : dir);
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, ".");
		name[strlen(name) - 12] = '\0';
		int r = ds_schema_set_load_dir(dir, &c->diag, &set, &err);
		if (r && r != DS_ECONFIG)
			return fail(&err);
		schema = set ? ds_schema_set_get(set, name) : NULL;
		/* Problems of the other files are theirs, not this schema's. */
		if (schema) {
			ds_diag_free(&c->diag);
			ds_diag_init(&c->diag);
		}
	} else if (schema_file) {
		cJSON *doc = ds_json_load_file(schema_file, &c->diag);
		if (doc)
			ds_schema_compile(doc, schema_file, &c->diag, &own, &err);
		cJSON_Delete(doc);
		schema = own;
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s/schemas/records", c->o.home);
		int r = ds_schema_set_load_dir(dir, &c->diag, &set, &err);
		if (r && r != DS_ECONFIG)
			return fail(&err);
		schema = set ? ds_schema_set_get(set, type) : NULL;
		if (!schema && !c->diag.errors)
			ds_diag_error(&c->diag, dir, "", "no record type \"%s\" (no %s.schema.json)",
				      type, type);
	}
	if (!schema || c->diag.errors) {
		print_diag(&c->diag, false);
		if (!schema)
			errorf("the schema cannot be used");
		rc = EX_USAGE;
		goto done;
	}
	cJSON *out = c->o.json ? cJSON_CreateArray() : NULL;
	bool all_valid = true, unreadable = false;
	for (int i = first; i < argc; i++) {
		const char *file = argv[i];
		char *text = NULL;
		size_t len = 0;
		cJSON *item = out ? cJSON_CreateObject() : NULL;
		struct verr_ctx v = { item ? cJSON_CreateArray() : NULL, file, c->o.quiet };
		bool valid = false;
		int r;
		if (!strcmp(file, "-")) {
			ds_buf b;
			ds_buf_init(&b, VALIDATE_MAX_BYTES);
			char chunk[65536];
			size_t n;
			r = DS_OK;
			while (!r && (n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
				r = ds_buf_append(&b, chunk, n);
			if (r)
				ds_err_set(&err, r, "stdin is larger than %u bytes", VALIDATE_MAX_BYTES);
			len = b.len;
			text = r ? NULL : ds_buf_steal(&b);
			ds_buf_free(&b);
		} else {
			r = ds_read_file(file, VALIDATE_MAX_BYTES, &text, &len, &err);
		}
		cJSON *doc = NULL;
		if (r == DS_ENOTFOUND || r == DS_EIO) {
			/* A file that cannot be read is not a document. */
			errorf("%s", err.msg);
			cJSON_Delete(item);
			cJSON_Delete(v.errors);
			unreadable = true;
			continue;
		}
		/* The same reading as ingest's: limits, and one value per name. */
		if (!r)
			r = ds_json_parse(text, len, DS_JSON_MAX_DEPTH, &doc, &err);
		if (!r) {
			bool oom = false;
			const char *dup = ds_json_duplicate_member(doc, &oom);
			if (dup || oom) {
				r = ds_err_set(&err, oom ? DS_ENOMEM : DS_EINVAL,
					       oom ? "out of memory" : "member \"%.100s\" appears twice in one object",
					       dup);
				cJSON_Delete(doc);
				doc = NULL;
			}
		}
		if (r) {
			/* A document that cannot be read is invalid, with why. */
			if (!out && !c->o.quiet)
				printf("%s: invalid\n", file);
			on_verr(&v, "", "json", err.msg);
		} else {
			size_t n = 0;
			if (!out && !c->o.quiet) {
				/* Errors print under the file's line, so validate first
				 * into a count, then print. */
				struct verr_ctx none = { NULL, file, true };
				r = ds_schema_validate(schema, doc, on_verr, &none, &n, &err);
				if (!r) {
					printf("%s: %s\n", file, n ? "invalid" : "valid");
					r = ds_schema_validate(schema, doc, on_verr, &v, &n, &err);
				}
			} else {
				r = ds_schema_validate(schema, doc, on_verr, &v, &n, &err);
			}
			if (r) {
				cJSON_Delete(doc);
				ds_free(text);
				cJSON_Delete(item);
				cJSON_Delete(v.errors);
				cJSON_Delete(out);
				rc = fail(&err);
				goto done;
			}
			valid = n == 0;
		}
		all_valid = all_valid && valid;
		if (item) {
			cJSON_AddStringToObject(item, "file", file);
			cJSON_AddBoolToObject(item, "valid", valid);
			cJSON_AddItemToObject(item, "errors", v.errors);
			cJSON_AddItemToArray(out, item);
		}
		cJSON_Delete(doc);
		ds_free(text);
	}
	if (out)
		print_json(out);
	rc = unreadable ? EX_USAGE : all_valid ? EX_OK : EX_QUARANTINED;
done:
	ds_schema_free(own);
	ds_schema_set_free(set);
	return rc;
}

/* ---- inspect ---- */

struct inspect_emit {
	cJSON *records;
	const ds_config *cfg;
	size_t invalid;
	ds_err why;                  /* the first invalid record's reason */
};

static int inspect_record(void *ud, const char *type, cJSON *record)
{
	struct inspect_emit *ie = ud;
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(record);
		return DS_ENOMEM;
	}
	cJSON_AddStringToObject(o, "type", type);
	const ds_schema *schema = ds_schema_set_get(ie->cfg->schemas, type);
	ds_err e = { 0 };
	int rc = schema ? ds_reason_invalid(schema, type, record, &e)
			: ds_err_set(&e, DS_EINVAL, "unknown record type \"%s\"", type);
	if (rc && rc != DS_EINVAL) {
		cJSON_Delete(o);
		cJSON_Delete(record);
		return rc;
	}
	if (rc && !ie->invalid++)
		ie->why = e;
	cJSON_AddBoolToObject(o, "valid", !rc);
	cJSON_AddItemToObject(o, "data", record);
	cJSON_AddItemToArray(ie->records, o);
	return DS_OK;
}

/* ---- inspect, for people: one line per value, text quoted with "| " ---- */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void human_lines(const char *indent, const char *text)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");
		printf("%s| %.*s\n", indent, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void human_json(const char *indent, const cJSON *v)
{
	char *s = cJSON_Print(v);
	if (!s)
		return;
	for (char *line = s, *end; *line; line = end + (*end == '\n')) {
		end = line + strcspn(line, "\n");
		printf("%s%.*s\n", indent, (int)(end - line), line);
	}
	cJSON_free(s);
}

/* A record as the mapping's targets name its values: "/customer/name = …";
 * a string with a line break in it is printed as JSON. */
static void human_flat(const char *indent, char *ptr, size_t cap, const cJSON *v)
{
	size_t n = strlen(ptr);
	if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child) {
		int i = 0;
		for (const cJSON *c = v->child; c; c = c->next, i++) {
			if (cJSON_IsObject(v))
				snprintf(ptr + n, cap - n, "/%s", c->string);
			else
				snprintf(ptr + n, cap - n, "/%d", i);
			human_flat(indent, ptr, cap, c);
			ptr[n] = '\0';
		}
		return;
	}
	if (cJSON_IsString(v) && !strpbrk(v->valuestring, "\n\r\t")) {
		printf("%s%s = %s\n", indent, *ptr ? ptr : "/", v->valuestring);
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	printf("%s%s = %s\n", indent, *ptr ? ptr : "/", s ? s : "?");
	cJSON_free(s);
}

static void human_addresses(const char *label, const cJSON *list)
{
	if (cJSON_IsObject(list)) {
		const char *name = jstr(list, "name"), *addr = jstr(list, "address");
		printf("%-12s %s%s<%s>\n", label, name && *name ? name : "", name && *name ? " " : "",
		       addr ? addr : "");
		return;
	}
	const cJSON *a;
	cJSON_ArrayForEach(a, list) {
		human_addresses(label, a);
		label = "";
	}
}

static void human_email(const cJSON *m)
{
	const char *keys[][2] = { { "subject", "subject:" }, { "date", "date:" },
				  { "message_id", "message-id:" }, { "in_reply_to", "in-reply-to:" } };
	printf("%-12s %s\n", "channel:", "email");
	printf("%-12s %s\n", keys[0][1], jstr(m, keys[0][0]) ? jstr(m, keys[0][0]) : "(none)");
	human_addresses("from:", cJSON_GetObjectItemCaseSensitive(m, "from"));
	human_addresses("to:", cJSON_GetObjectItemCaseSensitive(m, "to"));
	human_addresses("cc:", cJSON_GetObjectItemCaseSensitive(m, "cc"));
	for (size_t i = 1; i < sizeof keys / sizeof *keys; i++)
		if (jstr(m, keys[i][0]))
			printf("%-12s %s\n", keys[i][1], jstr(m, keys[i][0]));
	const cJSON *r;
	const char *label = "references:";
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(m, "references")) {
		printf("%-12s %s\n", label, cJSON_IsString(r) ? r->valuestring : "");
		label = "";
	}
	const cJSON *p;
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "parts")))
		puts("parts:");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(m, "parts")) {
		const char *cs = jstr(p, "charset"), *fn = jstr(p, "filename");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(p, "size");
		printf("  %-8s %s%s%s%s%s%s, %.0f bytes\n", jstr(p, "path") ? jstr(p, "path") : "",
		       jstr(p, "content_type") ? jstr(p, "content_type") : "", cs ? " (" : "",
		       cs ? cs : "", cs ? ")" : "", fn ? " " : "", fn ? fn : "",
		       cJSON_IsNumber(size) ? size->valuedouble : 0.0);
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "attachments")))
		puts("attachments:");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(m, "attachments")) {
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(p, "size");
		printf("  %s (%s, %.0f bytes, sha256 %s)\n", jstr(p, "filename") ? jstr(p, "filename") : "",
		       jstr(p, "content_type") ? jstr(p, "content_type") : "",
		       cJSON_IsNumber(size) ? size->valuedouble : 0.0,
		       jstr(p, "sha256") ? jstr(p, "sha256") : "");
	}
	puts("text:");
	human_lines("  ", jstr(m, "text"));
}

static void human_form(const cJSON *out)
{
	printf("%-12s %s\n", "channel:", "form");
	const cJSON *f;
	puts("fields:");
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(out, "fields")) {
		const char *v = jstr(f, "value");
		if (v && strchr(v, '\n')) {
			printf("  %s =\n", jstr(f, "name") ? jstr(f, "name") : "");
			human_lines("    ", v);
		} else {
			printf("  %s = %s\n", jstr(f, "name") ? jstr(f, "name") : "", v ? v : "");
		}
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "files")))
		puts("files:");
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(out, "files")) {
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
		printf("  %s: %s (%s, %.0f bytes, sha256 %s)\n", jstr(f, "name") ? jstr(f, "name") : "",
		       jstr(f, "filename") ? jstr(f, "filename") : "",
		       jstr(f, "content_type") ? jstr(f, "content_type") : "",
		       cJSON_IsNumber(size) ? size->valuedouble : 0.0,
		       jstr(f, "sha256") ? jstr(f, "sha256") : "");
	}
}

static void human_inspect(const cJSON *out, const char *source)
{
	const char *channel = jstr(out, "channel") ? jstr(out, "channel") : "";
	if (!strcmp(channel, "email") && cJSON_GetObjectItemCaseSensitive(out, "parts"))
		human_email(out);
	else if (!strcmp(channel, "form") && cJSON_GetObjectItemCaseSensitive(out, "fields"))
		human_form(out);
	else {
		printf("%-12s %s\n", "channel:", channel);
		if (jstr(out, "root"))
			printf("%-12s %s\n", "root:", jstr(out, "root"));
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(out, "document");
		if (d) {
			puts("document:");
			human_json("  ", d);
		}
	}
	const cJSON *r;
	if (source && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "records")))
		printf("records (source %s):\n", source);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(out, "records")) {
		printf("  %s (%s):\n", jstr(r, "type") ? jstr(r, "type") : "",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "valid")) ? "valid" : "not valid");
		char ptr[1024] = "";
		human_flat("    ", ptr, sizeof ptr, cJSON_GetObjectItemCaseSensitive(r, "data"));
	}
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(out, "quarantine");
	if (q)
		printf("quarantine:  at %s: %s\n", jstr(q, "stage") ? jstr(q, "stage") : "",
		       jstr(q, "reason") ? jstr(q, "reason") : "");
}

/* `inspect --part P`: one decoded MIME part of an email, on stdout. */
static int inspect_part(ctx *c, const char *text, size_t len, const char *part)
{
	ds_email_opts eo = c->cfg->limits.email;
	eo.max_total = c->cfg->limits.max_input_bytes;
	char *data = NULL;
	size_t n = 0;
	ds_err err = { 0 };
	int rc = ds_email_part(text, len, &eo, part, &data, &n, &err);
	if (rc == DS_ENOTFOUND) {
		errorf("inspect: %s", err.msg);
		return EX_NOTFOUND;
	}
	if (rc == DS_EINVAL || rc == DS_ELIMIT) {
		errorf("inspect: %s", err.msg);
		return EX_QUARANTINED;
	}
	if (rc)
		return fail(&err);
	bool ok = fwrite(data, 1, n, stdout) == n && fflush(stdout) == 0;
	ds_free(data);
	if (!ok) {
		errorf("inspect: cannot write the part to stdout");
		return EX_INTERNAL;
	}
	return EX_OK;
}

/* What dossier reads from one input, without storing anything. */
static int cmd_inspect(ctx *c, int argc, char **argv)
{
	const char *channel = NULL, *source = NULL, *file = NULL, *ctype = NULL, *part = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			puts("usage: dossier inspect [--channel json|form|xml|email] [--content-type T]\n"
			     "                       [--source NAME] [--part P] FILE\n\n"
			     "Prints what dossier reads from one input, storing nothing. For an email: its\n"
			     "decoded headers, addresses, date (UTC), Message-ID, thread ids (In-Reply-To,\n"
			     "References), parts, attachments (with SHA-256) and body text. For a form: its\n"
			     "fields in order (repeats kept) and its files. A JSON document as parsed; an\n"
			     "XML document's root. With --source, also the records its mappings would\n"
			     "produce, each checked against its record type, or the stage and reason that\n"
			     "would quarantine it. --json prints it all as one JSON object.\n\n"
			     "The channel comes from --channel, else from --content-type (the media type\n"
			     "the input arrived with: application/json, application/xml, message/rfc822,\n"
			     "application/x-www-form-urlencoded, or multipart/form-data with its boundary,\n"
			     "for a body saved without its Content-Type line), else from the source, else\n"
			     "from the file's extension.\n\n"
			     "--part 1.2 writes the bytes of that part of an email to stdout, transfer\n"
			     "encoding undone and charset untouched; paths number parts as IMAP does\n"
			     "(RFC 3501 6.4.5), as the parts list shows them. Exit 5 if there is no\n"
			     "such part.");
			return EX_OK;
		}
		if (!strcmp(argv[i], "--channel") && i + 1 < argc)
			channel = argv[++i];
		else if (!strcmp(argv[i], "--content-type") && i + 1 < argc)
			ctype = argv[++i];
		else if (!strcmp(argv[i], "--source") && i + 1 < argc)
			source = argv[++i];
		else if (!strcmp(argv[i], "--part") && i + 1 < argc)
			part = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1]) {
			errorf("inspect: unknown option %s (see dossier inspect --help)", argv[i]);
			return EX_USAGE;
		} else if (!file)
			file = argv[i];
		else {
			errorf("inspect: one file at a time");
			return EX_USAGE;
		}
	}
	if (!file) {
		errorf("inspect: give a file (see dossier inspect --help)");
		return EX_USAGE;
	}
	if (channel && strcmp(channel, "json") && strcmp(channel, "form") && strcmp(channel, "xml") &&
	    strcmp(channel, "email")) {
		errorf("inspect: unknown channel \"%s\" (json, form, xml or email)", channel);
		return EX_USAGE;
	}
	const char *typed = ctype ? ds_input_channel_of_type(ctype) : NULL;
	if (ctype && !typed) {
		errorf("inspect: no channel reads content type \"%s\"", ctype);
		return EX_USAGE;
	}
	int rc = setup(c, false);
	if (rc)
		return rc;
	const ds_source *src = NULL;
	if (source && !(src = ds_config_source(c->cfg, source))) {
		errorf("no source named \"%s\"", source);
		return EX_USAGE;
	}
	char *text = NULL;
	size_t len = 0;
	ds_err err = { 0 };
	if ((rc = ds_read_file(file, c->cfg->limits.max_input_bytes, &text, &len, &err)))
		return rc == DS_ELIMIT ? (errorf("%s", err.msg), EX_QUARANTINED) : fail(&err);
	if (!channel)
		channel = typed ? typed : src ? src->channel : channel_of(file, (const unsigned char *)text, len);
	if (part) {
		if (strcmp(channel, "email")) {
			ds_free(text);
			errorf("inspect: --part reads emails; %s is read as %s", file, channel);
			return EX_USAGE;
		}
		rc = inspect_part(c, text, len, part);
		ds_free(text);
		return rc;
	}
	/* A multipart form body saved without its Content-Type line. */
	if (ctype && !strcmp(channel, "form") && !strncasecmp(ctype, "multipart/", 10) &&
	    !ds_input_is_multipart(text, len)) {
		char *whole = NULL;
		size_t n = 0;
		if ((rc = ds_input_multipart_with_type(ctype, text, len, &whole, &n, &err))) {
			ds_free(text);
			return rc == DS_EINVAL ? (errorf("inspect: %s", err.msg), EX_USAGE) : fail(&err);
		}
		ds_free(text);
		text = whole;
		len = n;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "channel", channel);
	cJSON *doc = NULL;
	ds_xml *x = NULL;
	ds_xml_doc *xdoc = NULL;
	ds_arena *a = ds_arena_new(16384);
	const char *stage = "read";
	int perr = DS_OK;
	/* What the stages read, read the same way... */
	ds_xml_opts xo = { .max_size = c->cfg->limits.max_input_bytes,
			   .max_depth = (unsigned)c->cfg->limits.xml_max_depth };
	perr = ds_xml_new(&x, &xo, &err);
	if (!perr)
		perr = ds_input_parse(channel, text, len, &c->cfg->limits, x, a, &doc, &xdoc, &err);
	/* ...and shown: a form's fields in order with its files, an email's
	 * keys, an XML document's root, a JSON document as it is. */
	if (!perr && !strcmp(channel, "form")) {
		cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "_files");
		cJSON *list = NULL;
		if (ds_input_is_multipart(text, len)) {
			ds_multipart_opts mo = c->cfg->limits.multipart;
			mo.max_total = c->cfg->limits.max_input_bytes;
			cJSON *all = NULL;
			if (!ds_multipart_parse_mime_json(text, len, &mo, DS_FORM_LIST, &all, &err))
				list = cJSON_DetachItemFromObjectCaseSensitive(all, "fields");
			cJSON_Delete(all);
		} else {
			ds_form_opts fo = c->cfg->limits.form;
			fo.max_total = c->cfg->limits.max_input_bytes;
			size_t l = len;
			while (l && (text[l - 1] == '\n' || text[l - 1] == '\r'))
				l--;
			ds_form_parse_json(text, l, &fo, DS_FORM_LIST, &list, &err);
		}
		cJSON_AddItemToObject(out, "fields", list ? list : cJSON_CreateArray());
		cJSON_AddItemToObject(out, "files", files ? cJSON_Duplicate(files, true)
							  : cJSON_CreateArray());
	} else if (!perr && !strcmp(channel, "email")) {
		cJSON *view = cJSON_Duplicate(doc, true);
		if (view) {
			cJSON_Delete(out);
			out = view;
		}
	} else if (!perr && !strcmp(channel, "xml")) {
		ds_xml_node *root = ds_xml_doc_root(xdoc);
		cJSON_AddStringToObject(out, "root", root ? (const char *)root->name : "");
	} else if (!perr) {
		cJSON_AddItemReferenceToObject(out, "document", doc);
	}
	if (!perr && src) {
		struct inspect_emit ie = { cJSON_CreateArray(), c->cfg, 0, { 0 } };
		stage = "map";
		/* The mapping may take its input over: give it a copy. The
		 * SHA-256 is that of the bytes ingest would store. */
		cJSON *copy = doc ? cJSON_Duplicate(doc, true) : NULL;
		char sha[65];
		ds_sha256_hex(text, len, sha);
		perr = xdoc ? ds_source_map_xml(src, xdoc, sha, a, inspect_record, &ie, &err)
			    : ds_source_map(src, &copy, sha, ds_time_now(), a, inspect_record, &ie,
					    &err);
		cJSON_Delete(copy);
		if (!perr && !cJSON_GetArraySize(ie.records))
			perr = ds_reason_unmapped(src, doc, xdoc, &err);
		if (!perr && ie.invalid) {
			stage = "validate";
			err = ie.why;
			perr = err.code;
		}
		cJSON_AddItemToObject(out, "records", ie.records);
	}
	if (perr) {
		cJSON *q = cJSON_CreateObject();
		cJSON_AddStringToObject(q, "stage", stage);
		cJSON_AddStringToObject(q, "reason", err.msg);
		cJSON_AddItemToObject(out, "quarantine", q);
	}
	if (c->o.json) {
		print_json(out);
	} else {
		if (!c->o.quiet)
			human_inspect(out, source);
		else if (perr)
			errorf("%s: quarantined at %s: %s", file, stage, err.msg);
		cJSON_Delete(out);
	}
	cJSON_Delete(doc);
	ds_arena_free(a);
	ds_xml_free(x);
	ds_free(text);
	return perr ? EX_QUARANTINED : EX_OK;
}

/* ---- serve ---- */

static int cmd_serve(ctx *c, int argc, char **argv)
{
	ds_server_opts so = { .ready = stdout };
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			puts("usage: dossier serve [--listen HOST:PORT]\n\n"
			     "The HTTP API (default 127.0.0.1:8080; port 0 takes a free port): inputs\n"
			     "posted to POST /v1/ingest/SOURCE go through the same stages as `ingest`\n"
			     "and are answered 202 only once committed to disk; cases, documents and\n"
			     "profiles for bearer tokens with a role; GET /healthz and GET /metrics.\n"
			     "Settings in dossier.json \"serve\" (tokens by environment variable, limits,\n"
			     "rates, TLS). Prints \"dossier: listening on URL\" once it serves, one JSON\n"
			     "line per request on stderr (not with --quiet), fires due timers by itself,\n"
			     "and stops on SIGTERM or SIGINT after answering and committing what is in\n"
			     "flight (exit 0). Exit 2 when the address is in use or a setting is wrong.");
			return EX_OK;
		}
		const char *v = opt_value(argc, argv, &i, "--listen");
		if (v) {
			so.listen = v;
		} else {
			errorf("serve: unexpected argument %s (see dossier serve --help)", argv[i]);
			return EX_USAGE;
		}
	}
	/* As every command that writes: the process definitions checked
	 * against the store and recorded, migrations done; the server opens
	 * connections of its own. */
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_store_close(c->store);
	c->store = NULL;
	so.store_url = c->o.store;
	so.quiet = c->o.quiet;
	ds_err err = {0};
	if ((rc = ds_server_run(c->cfg, &so, &err)))
		return fail(&err);
	return EX_OK;
}

/* ---- profile ---- */

/* A trait as JSON: money as an exact decimal string, dates and times as
 * ISO 8601 text, counts as numbers; NULL when a date or time is unset. */
static cJSON *trait_json(int k, int64_t v)
{
	char buf[32];
	switch (ds_trait_kind_of(k)) {
	case DS_TRAIT_CENTS:
		ds_dec_format((ds_dec){ v, 2 }, buf, sizeof buf);
		return cJSON_CreateString(buf);
	case DS_TRAIT_DATE:
		if (!v)
			return cJSON_CreateNull();
		snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)(v / 10000), (int)(v / 100 % 100),
			 (int)(v % 100));
		return cJSON_CreateString(buf);
	case DS_TRAIT_TIME:
		if (!v)
			return cJSON_CreateNull();
		fmt_time(v, buf);
		return cJSON_CreateString(buf);
	default:
		return cJSON_CreateNumber((double)v);
	}
}

static cJSON *traits_json(const ds_traits *t)
{
	cJSON *o = cJSON_CreateObject();
	for (int k = 0; k < DS_NTRAITS; k++)
		cJSON_AddItemToObject(o, ds_trait_name(k), trait_json(k, t->v[k]));
	return o;
}

static void add_time(cJSON *o, const char *key, ds_time t)
{
	char buf[24];
	if (!t) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	fmt_time(t, buf);
	cJSON_AddStringToObject(o, key, buf);
}

static void add_id(cJSON *o, const char *key, int64_t id)
{
	if (id)
		cJSON_AddNumberToObject(o, key, (double)id);
	else
		cJSON_AddNullToObject(o, key);
}

/* Everything profile show prints, gathered as JSON first. */
struct pshow {
	cJSON *doc;
	cJSON *emails, *phones, *ids, *consent, *history, *interests, *tags, *tagged, *timeline,
	      *merges;
	ds_store *s;
};

static int ps_identity(void *ud, const ds_identity_row *r)
{
	struct pshow *p = ud;
	if (!strcmp(r->kind, "email"))
		cJSON_AddItemToArray(p->emails, cJSON_CreateString(r->value));
	else if (!strcmp(r->kind, "phone"))
		cJSON_AddItemToArray(p->phones, cJSON_CreateString(r->value));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", r->kind);
	if (*r->scope)
		cJSON_AddStringToObject(o, "source", r->scope);
	cJSON_AddStringToObject(o, "value", r->value);
	add_id(o, "record", r->record_id);
	add_time(o, "at", r->at);
	cJSON_AddItemToArray(p->ids, o);
	return 0;
}

/* An attribute value as profile show gives it: its time as ISO 8601. */
static void attr_entry_json(cJSON *e)
{
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "at");
	ds_time t = cJSON_IsNumber(at) ? (ds_time)at->valuedouble : 0;
	cJSON_DeleteItemFromObjectCaseSensitive(e, "at");
	add_time(e, "at", t);
	if (!cJSON_GetObjectItemCaseSensitive(e, "record"))
		cJSON_AddNullToObject(e, "record");
	if (!cJSON_GetObjectItemCaseSensitive(e, "source"))
		cJSON_AddNullToObject(e, "source");
}

static void ps_attributes(struct pshow *p, const char *text)
{
	cJSON *cur = ds_profile_attributes(text, false), *old = ds_profile_attributes(text, true);
	cJSON *it, *e;
	cJSON_ArrayForEach(it, cur)
		attr_entry_json(it);
	cJSON_ArrayForEach(it, old)
		cJSON_ArrayForEach(e, it)
			attr_entry_json(e);
	cJSON_ReplaceItemInObjectCaseSensitive(p->doc, "attributes", cur);
	cJSON_ReplaceItemInObjectCaseSensitive(p->doc, "attribute_history", old);
}

static cJSON *consent_json(const ds_consent_row *r, bool with_what)
{
	cJSON *o = cJSON_CreateObject();
	if (with_what) {
		cJSON_AddStringToObject(o, "purpose", r->purpose);
		cJSON_AddStringToObject(o, "channel", r->channel);
	}
	cJSON_AddBoolToObject(o, "granted", r->granted);
	add_time(o, "at", r->at);
	add_id(o, "interaction", r->interaction_id);
	add_id(o, "record", r->record_id);
	if (r->source)
		cJSON_AddStringToObject(o, "source", r->source);
	return o;
}

static int ps_consent(void *ud, const ds_consent_row *r)
{
	struct pshow *p = ud;
	cJSON *purpose = cJSON_GetObjectItemCaseSensitive(p->consent, r->purpose);
	if (!purpose)
		purpose = cJSON_AddObjectToObject(p->consent, r->purpose);
	cJSON_AddItemToObject(purpose, r->channel, consent_json(r, false));
	return 0;
}

static int ps_history(void *ud, const ds_consent_row *r)
{
	cJSON_AddItemToArray(((struct pshow *)ud)->history, consent_json(r, true));
	return 0;
}

static int ps_interest(void *ud, const char *v)
{
	cJSON_AddItemToArray(((struct pshow *)ud)->interests, cJSON_CreateString(v));
	return 0;
}

/* A tag, and the transition that set it: when, and which case. */
static int ps_tag(void *ud, const ds_tag_row *t)
{
	struct pshow *p = ud;
	cJSON_AddItemToArray(p->tags, cJSON_CreateString(t->tag));
	cJSON *o = cJSON_AddObjectToObject(p->tagged, t->tag);
	add_time(o, "at", t->at);
	add_id(o, "case_id", t->case_id);
	ds_arena *a = ds_arena_new(1024);
	ds_case_row c;
	ds_err e = {0};
	bool known = a && t->case_id && !ds_store_case_get(p->s, t->case_id, a, &c, &e);
	cJSON_AddItemToObject(o, "case", known ? cJSON_CreateString(c.key) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "process", known ? cJSON_CreateString(c.process)
						  : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "transition", (double)t->audit_id);
	ds_arena_free(a);
	return 0;
}

static int ps_timeline(void *ud, const ds_timeline_row *r)
{
	cJSON_AddItemToArray(((struct pshow *)ud)->timeline, ds_view_timeline(r));
	return 0;
}

static cJSON *merge_json(const ds_merge_row *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)m->id);
	cJSON_AddNumberToObject(o, "survivor", (double)m->survivor);
	cJSON_AddNumberToObject(o, "merged", (double)m->merged);
	add_time(o, "at", m->at);
	add_id(o, "record", m->record_id);
	cJSON_AddStringToObject(o, "reason", m->reason ? m->reason : "");
	add_time(o, "undone_at", m->undone_at);
	return o;
}

static int ps_merge(void *ud, const ds_merge_row *m)
{
	cJSON_AddItemToArray(((struct pshow *)ud)->merges, merge_json(m));
	return 0;
}

/* The profile pid as profile show prints it (keys of SPEC section 3 and
 * more); NULL with err set on failure. */
cJSON *ds_cli_profile_doc(ds_store *s, int64_t pid, ds_err *err)
{
	ds_profile_row p;
	ds_arena *a = ds_arena_new(4096);
	if (!a || ds_store_profile_get(s, pid, a, &p, err)) {
		ds_arena_free(a);
		return NULL;
	}
	struct pshow v = { .doc = cJSON_CreateObject(), .s = s };
	cJSON *d = v.doc;
	cJSON_AddNumberToObject(d, "id", (double)p.id);
	add_time(d, "created_at", p.created_at);
	add_time(d, "updated_at", p.updated_at);
	if (p.forgotten_at)
		add_time(d, "forgotten_at", p.forgotten_at);
	v.emails = cJSON_AddArrayToObject(d, "emails");
	v.phones = cJSON_AddArrayToObject(d, "phones");
	v.ids = cJSON_AddArrayToObject(d, "identities");
	cJSON_AddObjectToObject(d, "attributes");
	cJSON_AddObjectToObject(d, "attribute_history");
	ps_attributes(&v, p.attributes);
	ds_arena_free(a);
	v.consent = cJSON_AddObjectToObject(d, "consent");
	v.history = cJSON_AddArrayToObject(d, "consent_history");
	cJSON *traits = traits_json(&p.traits);
	cJSON_AddItemToObject(d, "traits", traits);
	v.interests = cJSON_AddArrayToObject(traits, "interests");
	v.tags = cJSON_AddArrayToObject(d, "tags");
	v.tagged = cJSON_AddObjectToObject(d, "tagged");
	v.timeline = cJSON_AddArrayToObject(d, "timeline");
	v.merges = cJSON_AddArrayToObject(d, "merges");
	if (ds_store_identity_list(s, pid, ps_identity, &v, err) ||
	    ds_store_consent_list(s, pid, false, ps_consent, &v, err) ||
	    ds_store_consent_list(s, pid, true, ps_history, &v, err) ||
	    ds_store_interest_list(s, pid, ps_interest, &v, err) ||
	    ds_store_tag_list(s, pid, false, ps_tag, &v, err) ||
	    ds_store_timeline_list(s, pid, ps_timeline, &v, err) ||
	    ds_store_merge_list(s, pid, ps_merge, &v, err)) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

static const char *jtext(const cJSON *o, const char *key, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(buf, n, "%.0f", v->valuedouble);
		return buf;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (!v || cJSON_IsNull(v))
		return "-";
	char *t = cJSON_PrintUnformatted(v);
	snprintf(buf, n, "%s", t ? t : "?");
	cJSON_free(t);
	return buf;
}

static void print_profile(const cJSON *d)
{
	char b1[512], b2[64], b3[64], val_buf[64];
	const cJSON *it, *sub;
	printf("profile %s (created %s, updated %s)\n", jtext(d, "id", b1, sizeof b1),
	       jtext(d, "created_at", b2, sizeof b2), jtext(d, "updated_at", b3, sizeof b3));
	printf("identities:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "identities")) {
		const char *src = ds_json_str(it, "source");
		printf("  %-8s %s%s%s%s (record %s)\n", ds_json_str(it, "kind"),
		       ds_json_str(it, "value"), src ? " (" : "", src ? src : "", src ? ")" : "",
		       jtext(it, "record", b2, sizeof b2));
	}
	printf("attributes:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "attributes")) {
		char val[512];
		if (cJSON_GetObjectItemCaseSensitive(it, "audit"))
			printf("  %-12s %s  (case %s, transition %s, %s)\n", it->string,
			       jtext(it, "value", val, sizeof val), jtext(it, "case", b1, sizeof b1),
			       jtext(it, "audit", b2, sizeof b2), jtext(it, "at", b3, sizeof b3));
		else
			printf("  %-12s %s  (%s, record %s, %s)\n", it->string,
			       jtext(it, "value", val, sizeof val), jtext(it, "source", b1, sizeof b1),
			       jtext(it, "record", b2, sizeof b2), jtext(it, "at", b3, sizeof b3));
	}
	printf("consent:\n");
	size_t n = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "consent")) {
		cJSON_ArrayForEach(sub, it) {
			n++;
			printf("  %s by %s: %s %s (interaction %s, %s)\n", it->string, sub->string,
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sub, "granted"))
			       ? "granted" : "withdrawn", jtext(sub, "at", b1, sizeof b1),
			       jtext(sub, "interaction", b2, sizeof b2), jtext(sub, "source", b3, sizeof b3));
		}
	}
	if (!n)
		printf("  (none stated)\n");
	printf("traits:\n");
	const cJSON *traits = cJSON_GetObjectItemCaseSensitive(d, "traits");
	cJSON_ArrayForEach(it, traits) {
		if (cJSON_IsArray(it)) {
			printf("  %-20s%s", it->string, cJSON_GetArraySize(it) ? "" : " -");
			cJSON_ArrayForEach(sub, it)
				printf(" %s%s", sub->valuestring, sub->next ? "," : "");
			printf("\n");
		} else {
			printf("  %-20s %s\n", it->string, jtext(traits, it->string, b1, sizeof b1));
		}
	}
	printf("tags:\n");
	const cJSON *tagged = cJSON_GetObjectItemCaseSensitive(d, "tagged");
	if (!cJSON_GetArraySize(tagged))
		printf("  (none)\n");
	cJSON_ArrayForEach(it, tagged)
		printf("  %-20s %s (%s %s, transition %s)\n", it->string, jtext(it, "at", b1, sizeof b1),
		       jtext(it, "process", b2, sizeof b2), jtext(it, "case", b3, sizeof b3),
		       jtext(it, "transition", val_buf, sizeof val_buf));
	printf("timeline:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "timeline")) {
		const char *key = ds_json_str(it, "case"), *state = ds_json_str(it, "state");
		printf("  %s  %-6s %-6s %-20s %s%s%s%s\n", jtext(it, "at", b1, sizeof b1),
		       ds_json_str(it, "kind"), jtext(it, "ref", b2, sizeof b2),
		       jtext(it, "type", b3, sizeof b3), key ? key : "(no case)",
		       state ? " (" : "", state ? state : "", state ? ")" : "");
	}
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(d, "merges");
	if (cJSON_GetArraySize(merges))
		printf("merges:\n");
	cJSON_ArrayForEach(it, merges) {
		char b4[32];
		const cJSON *undone = cJSON_GetObjectItemCaseSensitive(it, "undone_at");
		printf("  merge %s: profile %s into %s at %s: %s%s%s\n", jtext(it, "id", b1, sizeof b1),
		       jtext(it, "merged", b2, sizeof b2), jtext(it, "survivor", b3, sizeof b3),
		       jtext(it, "at", b4, sizeof b4), ds_json_str(it, "reason"),
		       cJSON_IsString(undone) ? "; undone " : "",
		       cJSON_IsString(undone) ? undone->valuestring : "");
	}
}

/* How the profile commands name a person (ds_profile_find). */
#define PROFILE_REF_HELP \
	"REF is a profile id as `profile list` prints it (digits, never a leading 0);\n" \
	"an email (any case, spaces around ignored); a phone starting with + or 0\n" \
	"(06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033..., +44 20 7946 0000:\n" \
	"read as the sources read one, to E.164); or KIND:VALUE for any identity kind\n" \
	"of schemas/profiles.json (siret:41876235700006), KIND:SOURCE:VALUE for an id\n" \
	"per source (erp_id:api-orders:C-10442). A profile merged into another names\n" \
	"that one. A reference held by several profiles (a shared phone) names none:\n" \
	"give the id.\n"

static int profile_show(ctx *c, int argc, char **argv)
{
	if (argc != 2 || is_help(argv[1])) {
		printf("usage: dossier profile show REF\n\n"
		       "Prints a profile: its identities, attributes (with the record, source and\n"
		       "time that set each), consent by purpose and channel with its history,\n"
		       "traits, interests, tags, timeline and merges.\n\n"
		       PROFILE_REF_HELP "\n"
		       "--json: {id, created_at, updated_at, emails, phones, identities,\n"
		       "attributes, attribute_history, consent, consent_history, traits (and\n"
		       "interests), tags, tagged, timeline, merges}.\n"
		       "Exit codes: 0 shown, 5 when REF names no profile (or several), 2 for a\n"
		       "missing or extra argument or a configuration with errors.\n");
		return argc == 2 ? EX_OK : EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_err err = {0};
	ds_arena *a = ds_arena_new(4096);
	int64_t pid = 0;
	if (!a)
		return EX_INTERNAL;
	rc = ds_profile_find(c->store, c->cfg, a, argv[1], &pid, &err);
	ds_arena_free(a);
	if (rc)
		return fail(&err);
	cJSON *doc = ds_cli_profile_doc(c->store, pid, &err);
	if (!doc)
		return fail(&err);
	int64_t asked;
	if (ds_profile_ref_id(argv[1], &asked) && asked != pid && !c->o.json && !c->o.quiet)
		printf("profile %" PRId64 " was merged into profile %" PRId64 "\n", asked, pid);
	if (c->o.json) {
		print_json(doc);
		return EX_OK;
	}
	print_profile(doc);
	cJSON_Delete(doc);
	return EX_OK;
}

struct plist {
	ds_store *s;
	cJSON *arr;
	ds_err *err;
};

static int plist_row(void *ud, const ds_profile_row *p)
{
	struct plist *l = ud;
	cJSON *d = ds_cli_profile_doc(l->s, p->id, l->err);
	if (!d)
		return l->err->code;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)p->id);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "attributes"),
						 "name"), "value");
	cJSON_AddItemToObject(o, "name", cJSON_IsString(name) ? cJSON_CreateString(name->valuestring)
							      : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "emails", cJSON_DetachItemFromObject(d, "emails"));
	cJSON_AddItemToObject(o, "phones", cJSON_DetachItemFromObject(d, "phones"));
	if (p->forgotten_at)
		add_time(o, "forgotten_at", p->forgotten_at);
	cJSON_Delete(d);
	name = cJSON_GetObjectItemCaseSensitive(o, "name");
	if (l->arr) {
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	char line[1024] = "";
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "emails"))
		snprintf(line + strlen(line), sizeof line - strlen(line), " %s", it->valuestring);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "phones"))
		snprintf(line + strlen(line), sizeof line - strlen(line), " %s", it->valuestring);
	char gone[48] = "-";
	if (p->forgotten_at) {
		char when[24];
		fmt_time(p->forgotten_at, when);
		snprintf(gone, sizeof gone, "(forgotten %.10s)", when);
	}
	printf("%-6" PRId64 " %-30s%s\n", p->id, cJSON_IsString(name) ? name->valuestring : gone,
	       line);
	cJSON_Delete(o);
	return 0;
}

static int profile_list(ctx *c, int argc, char **argv)
{
	if (argc > 1) {
		printf("usage: dossier profile list\n\n"
		       "Lists the profiles (merged ones left out): id, name, emails and phones.\n"
		       "--json: [{id, name, emails, phones}].\n"
		       "Exit codes: 0 listed, 2 for an extra argument or a configuration with\n"
		       "errors.\n");
		return is_help(argv[1]) ? EX_OK : EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_err err = {0};
	struct plist l = { c->store, c->o.json ? cJSON_CreateArray() : NULL, &err };
	rc = ds_store_profile_list(c->store, plist_row, &l, &err);
	if (rc) {
		cJSON_Delete(l.arr);
		return fail(&err);
	}
	if (l.arr)
		print_json(l.arr);
	return EX_OK;
}

/* Runs fn in one transaction; on failure prints why. */
static int in_tx(ctx *c, int (*fn)(ctx *c, void *ud, ds_err *err), void *ud)
{
	ds_err err = {0};
	int rc = ds_store_begin(c->store, &err);
	if (!rc && (rc = fn(c, ud, &err)))
		ds_store_rollback(c->store);
	else if (!rc)
		rc = ds_store_commit(c->store, &err);
	return rc ? fail(&err) : EX_OK;
}

struct merge_args {
	const char *keep, *other;
	ds_arena *a;
	ds_merge_row m;
	int64_t id;
};

static int do_unmerge(ctx *c, void *ud, ds_err *err)
{
	struct merge_args *m = ud;
	int64_t id;
	if (!ds_profile_ref_id(m->other, &id))
		return ds_err_set(err, DS_ECONFIG, "profile unmerge: expected the id of a merged "
				  "profile, got %s", m->other);
	return ds_profile_unmerge(c->store, c->cfg, id, ds_time_now(), m->a, &m->m, err);
}

static int do_merge(ctx *c, void *ud, ds_err *err)
{
	struct merge_args *m = ud;
	int64_t keep = 0, other = 0;
	int rc = ds_profile_find(c->store, c->cfg, m->a, m->keep, &keep, err);
	if (!rc)
		rc = ds_profile_find(c->store, c->cfg, m->a, m->other, &other, err);
	if (rc)
		return rc;
	const char *why = ds_arena_printf(m->a, "merged by hand (%s and %s)", m->keep, m->other);
	if ((rc = ds_profile_merge(c->store, c->cfg, keep, other, ds_time_now(), 0,
				   why ? why : "merged by hand", &m->id, err)))
		return rc;
	return ds_store_merge_get(c->store, m->id, m->a, &m->m, err);
}

static int profile_merge_cmd(ctx *c, int argc, char **argv, bool undo)
{
	if (argc != (undo ? 2 : 3) || is_help(argv[1])) {
		if (undo)
			printf("usage: dossier profile unmerge ID\n\n"
			       "Undoes the merge that folded profile ID into another: both profiles\n"
			       "get back their identities, attributes, consent, timeline and cases as\n"
			       "they were before it (what arrived since stays with the other), their\n"
			       "traits are computed again, and the two are never merged again.\n"
			       "`profile show` lists a profile's merges. ID is the merged profile's id\n"
			       "(its emails and phones name the profile it was merged into).\n"
			       "--json: the merge {id, survivor, merged, at, record, reason, undone_at}.\n"
			       "Exit codes: 0 undone; 4 when ID is merged into no other, or the\n"
			       "profile it was merged into was merged since (undo that first); 5 when\n"
			       "there is no profile ID; 2 when ID is not an id, or for a configuration\n"
			       "with errors.\n");
		else
			printf("usage: dossier profile merge KEEP OTHER\n\n"
			       "Merges profile OTHER into KEEP, as a record naming both would: OTHER's\n"
			       "identities, consent statements, timeline and cases move to KEEP, their\n"
			       "attributes are joined and KEEP's traits computed again; logged, and\n"
			       "undone by `dossier profile unmerge OTHER`.\n\n"
			       "KEEP and OTHER are each a REF, as for `profile show`: a profile id, an\n"
			       "email, a phone (+33612345678, 06 12 34 56 78) or KIND:VALUE.\n"
			       "--json: the merge {id, survivor, merged, at, record, reason, undone_at}.\n"
			       "Exit codes: 0 merged; 4 when both name one profile, or either is a\n"
			       "forgotten person's pseudonym; 5 when either names no profile (or\n"
			       "several); 2 for a missing or extra argument or a configuration with\n"
			       "errors.\n");
		return argc > 1 && is_help(argv[1]) ? EX_OK : EX_USAGE;
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	struct merge_args m = { .keep = undo ? NULL : argv[1], .other = argv[undo ? 1 : 2],
				.a = ds_arena_new(4096) };
	if (!m.a)
		return EX_INTERNAL;
	rc = in_tx(c, undo ? do_unmerge : do_merge, &m);
	if (!rc && c->o.json) {
		print_json(merge_json(&m.m));
	} else if (!rc && !c->o.quiet) {
		if (undo)
			printf("profile %" PRId64 " unmerged from profile %" PRId64 " (merge %" PRId64
			       " undone)\n", m.m.merged, m.m.survivor, m.m.id);
		else
			printf("profile %" PRId64 " merged into profile %" PRId64 " (merge %" PRId64 ")\n",
			       m.m.merged, m.m.survivor, m.m.id);
	}
	ds_arena_free(m.a);
	return rc;
}

struct rebuild_args {
	int64_t only;
	bool write;
	int64_t n, changed;
	cJSON *diffs;
};

static int rebuild_one(ctx *c, struct rebuild_args *r, int64_t pid, ds_err *err)
{
	ds_rebuild_diff d;
	int rc = ds_profile_rebuild(c->store, c->cfg, pid, ds_time_now(), r->write, &d, err);
	if (rc)
		return rc;
	r->n++;
	if (d.same)
		return 0;
	r->changed++;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)pid);
	cJSON *was = cJSON_AddObjectToObject(o, "stored"), *now = cJSON_AddObjectToObject(o, "rebuilt");
	for (int k = 0; k < DS_NTRAITS; k++) {
		if (d.stored.v[k] == d.rebuilt.v[k])
			continue;
		cJSON_AddItemToObject(was, ds_trait_name(k), trait_json(k, d.stored.v[k]));
		cJSON_AddItemToObject(now, ds_trait_name(k), trait_json(k, d.rebuilt.v[k]));
	}
	/* What else differed, by name: the profile shows the values. */
	cJSON *other = cJSON_AddArrayToObject(o, "differ");
	static const char *const names[] = { "interests", "tags", "attributes" };
	const bool differ[] = { d.interests, d.tags, d.attributes };
	char also[64] = "";
	for (size_t i = 0; i < 3; i++) {
		if (!differ[i])
			continue;
		cJSON_AddItemToArray(other, cJSON_CreateString(names[i]));
		snprintf(also + strlen(also), sizeof also - strlen(also), "%s%s", *also ? ", " : "",
			 names[i]);
	}
	cJSON_AddItemToArray(r->diffs, o);
	if (!c->o.json && !c->o.quiet) {
		char *w = cJSON_PrintUnformatted(was), *n = cJSON_PrintUnformatted(now);
		printf("profile %" PRId64 ": stored %s, rebuilt %s%s%s%s\n", pid, w ? w : "?",
		       n ? n : "?", *also ? " (" : "", also, *also ? " differ)" : "");
		cJSON_free(w);
		cJSON_free(n);
	}
	return 0;
}

struct rebuild_walk {
	ctx *c;
	struct rebuild_args *r;
	ds_err *err;
};

/* Rebuilding writes only traits and interests, never what the walk over
 * the profiles reads (their ids and merges). */
static int rebuild_row(void *ud, const ds_profile_row *p)
{
	struct rebuild_walk *w = ud;
	return rebuild_one(w->c, w->r, p->id, w->err);
}

static int do_rebuild(ctx *c, void *ud, ds_err *err)
{
	struct rebuild_args *r = ud;
	if (r->only)
		return rebuild_one(c, r, r->only, err);
	struct rebuild_walk w = { c, r, err };
	return ds_store_profile_list(c->store, rebuild_row, &w, err);
}

static int profile_rebuild(ctx *c, int argc, char **argv)
{
	struct rebuild_args r = { .write = true };
	const char *ref = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf("usage: dossier profile rebuild [--check] [REF]\n\n"
			       "Computes the traits (orders, money spent, offers, open complaints,\n"
			       "last order and interaction, interests) of every profile, or of the one\n"
			       "REF names (an id, email, phone or KIND:VALUE, as for `profile show`),\n"
			       "again from its cases and records, and the tags and attributes its\n"
			       "cases' transitions set from their audit entries; reports each profile\n"
			       "whose stored values differed, and stores the new ones.\n"
			       "Traits are kept up to date as records and transitions happen; this\n"
			       "checks them, and fills them in for a store written before profiles\n"
			       "had traits.\n\n"
			       "  --check   store nothing: only report the profiles that differ\n\n"
			       "--json: {profiles, changed, written, differences: [{id, stored,\n"
			       "rebuilt, differ}]}.\n"
			       "Exit codes: 0 done (with --check: nothing differs), 3 with --check when\n"
			       "some profile differs, 5 when REF names no profile (or several), 2 for\n"
			       "an unknown option, an extra argument or a configuration with errors.\n");
			return EX_OK;
		}
		if (!strcmp(argv[i], "--check"))
			r.write = false;
		else if (!ref && argv[i][0] != '-')
			ref = argv[i];
		else {
			errorf("profile rebuild: unexpected argument %s", argv[i]);
			return EX_USAGE;
		}
	}
	int rc = setup(c, true);
	if (rc)
		return rc;
	ds_err err = {0};
	if (ref) {
		ds_arena *a = ds_arena_new(4096);
		rc = a ? ds_profile_find(c->store, c->cfg, a, ref, &r.only, &err) : DS_ENOMEM;
		ds_arena_free(a);
		if (rc)
			return fail(&err);
	}
	r.diffs = cJSON_CreateArray();
	if ((rc = in_tx(c, do_rebuild, &r))) {
		cJSON_Delete(r.diffs);
		return rc;
	}
	if (c->o.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "profiles", (double)r.n);
		cJSON_AddNumberToObject(doc, "changed", (double)r.changed);
		cJSON_AddBoolToObject(doc, "written", r.write);
		cJSON_AddItemToObject(doc, "differences", r.diffs);
		print_json(doc);
	} else {
		cJSON_Delete(r.diffs);
		if (!c->o.quiet)
			printf("%" PRId64 " profile%s rebuilt from their cases and records; %" PRId64
			       " differed from what was stored (traits, interests, tags, attributes"
			       " set by transitions)%s\n", r.n, r.n == 1 ? "" : "s", r.changed,
			       r.write ? "" : " (--check: nothing stored)");
	}
	/* A check that finds differences finished, but found them. */
	return !r.write && r.changed ? EX_QUARANTINED : EX_OK;
}

/* ---- profile export and forget (privacy.h) ---- */

/* The person ref names, or the exit code after saying why not. */
static int find_person(ctx *c, const char *ref, ds_person **p)
{
	ds_err err = {0};
	int rc = setup(c, true);
	if (rc)
		return rc;
	return ds_person_find(c->store, c->cfg, ref, p, &err) ? fail(&err) : EX_OK;
}

/* `profile WHAT REF [OPTION]`, OPTION "--out FILE" (*out) or "--yes"
 * (*yes): EX_OK with *ref set, or after printing help (*ref NULL), or the
 * exit code after saying what is wrong. */
static int person_args(const char *what, const char *help, int argc, char **argv,
		       const char **ref, const char **out, bool *yes)
{
	*ref = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(help, stdout);
			*ref = NULL;
			return EX_OK;
		}
		if (out && !strcmp(argv[i], "--out") && i + 1 < argc)
			*out = argv[++i];
		else if (yes && !strcmp(argv[i], "--yes"))
			*yes = true;
		else if (!*ref && (argv[i][0] != '-' || !argv[i][1]))
			*ref = argv[i];
		else {
			errorf("profile %s: unexpected argument %s", what, argv[i]);
			return EX_USAGE;
		}
	}
	if (!*ref) {
		errorf("profile %s: give the person's id, email or phone", what);
		return EX_USAGE;
	}
	return EX_OK;
}

static int profile_export(ctx *c, int argc, char **argv)
{
	const char *ref, *out = NULL;
	int rc = person_args("export",
			     "usage: dossier profile export REF [--out FILE]\n\n"
			     "Writes everything the store holds on a person (the profile found and\n"
			     "those merged into it) as one JSON document: the profile with its\n"
			     "attributes' provenance and traits, identities, consent and its history,\n"
			     "merges, timeline, cases with their data and history, documents, records, raw\n"
			     "interactions (as text when they are UTF-8, else base64), the files they\n"
			     "carried, and the quarantine entries that name the person.\n\n"
			     "  --out FILE   write FILE (readable by its owner only; written whole or\n"
			     "               not at all) rather than stdout (- is stdout)\n\n"
			     PROFILE_REF_HELP "\n"
			     "Exit codes: 0 written; 5 when REF names no profile (or several); 2 for\n"
			     "a missing or extra argument, a FILE that cannot be created, or a\n"
			     "configuration with errors.\n",
			     argc, argv, &ref, &out, NULL);
	if (rc || !ref)
		return rc;
	ds_person *p = NULL;
	if ((rc = find_person(c, ref, &p)))
		return rc;
	char tmp[PATH_MAX];
	FILE *f = stdout;
	if (out && strcmp(out, "-")) {
		snprintf(tmp, sizeof tmp, "%s.tmp", out);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			errorf("cannot write %s: %s", tmp, strerror(errno));
			if (fd >= 0)
				close(fd);
			ds_person_free(p);
			return EX_USAGE;
		}
	}
	ds_err err = {0};
	rc = ds_privacy_export(c->store, p, ds_time_now(), f, &err);
	if (f != stdout) {
		if (!rc && (fflush(f) || fsync(fileno(f))))
			rc = ds_err_set(&err, DS_EIO, "cannot write %s: %s", tmp, strerror(errno));
		if (fclose(f) && !rc)
			rc = ds_err_set(&err, DS_EIO, "cannot write %s: %s", tmp, strerror(errno));
		if (!rc && rename(tmp, out))
			rc = ds_err_set(&err, DS_EIO, "cannot write %s: %s", out, strerror(errno));
		if (rc)
			unlink(tmp);
		else if (!c->o.quiet)
			fprintf(stderr, "profile %" PRId64 " exported to %s\n", p->root, out);
	}
	ds_person_free(p);
	return rc ? fail(&err) : EX_OK;
}

/* What forget erased, or would. */
static cJSON *forget_json(const ds_person *p, const ds_forget_result *r, bool applied)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "profile", (double)p->root);
	cJSON *ids = cJSON_AddArrayToObject(o, "profiles");
	for (size_t i = 0; i < p->n; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)p->ids[i]));
	cJSON *who = cJSON_AddArrayToObject(o, "identities");
	for (size_t i = 0; i < p->nlabels; i++)
		cJSON_AddItemToArray(who, cJSON_CreateString(p->labels[i]));
	cJSON_AddBoolToObject(o, "erased", applied);
	if (applied)
		cJSON_AddNumberToObject(o, "pseudonym", (double)r->pseudonym);
	else
		cJSON_AddNullToObject(o, "pseudonym");
	cJSON *n = cJSON_AddObjectToObject(o, applied ? "counts" : "would_erase");
	const ds_erase_counts *k = &r->n;
	const struct { const char *name; int64_t v; } f[] = {
		{ "profiles", k->profiles }, { "identities", k->identities },
		{ "consent_statements", k->consent }, { "merges", k->merges },
		{ "cases", k->cases }, { "case_keys", k->rekeyed }, { "records", k->records },
		{ "interactions", k->interactions }, { "attachments", k->attachments },
		{ "documents", k->documents }, { "timers", k->timers },
		{ "quarantine", k->quarantine }, { "open_cases", r->open_cases },
	};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++)
		cJSON_AddNumberToObject(n, f[i].name, (double)f[i].v);
	if (applied) {
		cJSON_AddNumberToObject(o, "files_deleted", (double)r->files);
		cJSON_AddBoolToObject(o, "log_emptied", r->scrubbed);
	}
	return o;
}

static void print_forget(const ds_person *p, const ds_forget_result *r, bool applied)
{
	const ds_erase_counts *k = &r->n;
	FILE *f = applied ? stdout : stderr;
	fprintf(f, "%s profile %" PRId64, applied ? "forgot" : "profile forget would erase, for",
		p->root);
	for (size_t i = 1; i < p->n; i++)
		fprintf(f, "%s%" PRId64, i == 1 ? " (and merged into it: " : ", ", p->ids[i]);
	fprintf(f, "%s:\n", p->n > 1 ? ")" : "");
	for (size_t i = 0; i < p->nlabels; i++)
		fprintf(f, "  %s\n", p->labels[i]);
	fprintf(f, "  %" PRId64 " identit%s, %" PRId64 " consent statement%s, %" PRId64 " merge%s,"
		" the attributes and interests of %" PRId64 " profile%s\n", k->identities,
		k->identities == 1 ? "y" : "ies", k->consent, k->consent == 1 ? "" : "s", k->merges,
		k->merges == 1 ? "" : "s", k->profiles, k->profiles == 1 ? "" : "s");
	fprintf(f, "  the data of %" PRId64 " case%s (%" PRId64 " still open: %" PRId64 " pending "
		"timer%s dropped; %" PRId64 " key%s naming them replaced)\n", k->cases,
		k->cases == 1 ? "" : "s", r->open_cases, k->timers, k->timers == 1 ? "" : "s",
		k->rekeyed, k->rekeyed == 1 ? "" : "s");
	fprintf(f, "  %" PRId64 " record%s, %" PRId64 " raw interaction%s, %" PRId64
		" attachment%s, %" PRId64 " document%s (PDF files deleted), %" PRId64
		" quarantine entr%s\n", k->records, k->records == 1 ? "" : "s", k->interactions,
		k->interactions == 1 ? "" : "s", k->attachments, k->attachments == 1 ? "" : "s",
		k->documents, k->documents == 1 ? "" : "s", k->quarantine,
		k->quarantine == 1 ? "y" : "ies");
	if (applied)
		fprintf(f, "their cases' history and their counts are kept under pseudonymous "
			"profile %" PRId64 "\n", r->pseudonym);
	else
		fprintf(f, "and keep their cases' history and their counts under a new pseudonymous "
			"profile.\nNothing was erased: run again with --yes to erase.\n");
}

static int profile_forget(ctx *c, int argc, char **argv)
{
	const char *ref;
	bool yes = false;
	int rc = person_args("forget",
			     "usage: dossier profile forget REF [--yes]\n\n"
			     "Erases a person (the profile found and those merged into it): their\n"
			     "identities, attributes, consent and its history, interests and merges;\n"
			     "the data of their cases but what their counts are computed from; their\n"
			     "records, raw interactions and the files these carried; the quarantine\n"
			     "entries that name them; their documents, PDF files deleted. Their\n"
			     "cases keep their states and history, and the counts (orders, money\n"
			     "spent, offers...) go to a new pseudonymous profile. A case still open\n"
			     "stops where it is (its pending timers are dropped). One transaction;\n"
			     "see docs/privacy.md.\n\n"
			     "  --yes   erase; without it nothing is erased: it says what would be\n"
			     "          (on stderr) and exits 2\n\n"
			     PROFILE_REF_HELP "\n"
			     "--json: {profile, profiles, identities, erased, pseudonym, counts (or\n"
			     "would_erase), files_deleted, log_emptied}.\n"
			     "Exit codes: 0 erased; 2 without --yes, or for an extra argument or a\n"
			     "configuration with errors; 5 when REF names no profile (or several); 4\n"
			     "for a forgotten person's pseudonym.\n",
			     argc, argv, &ref, NULL, &yes);
	if (rc || !ref)
		return rc;
	ds_person *p = NULL;
	if ((rc = find_person(c, ref, &p)))
		return rc;
	ds_forget_result r;
	ds_err err = {0};
	rc = ds_privacy_forget(c->store, c->cfg, p, ds_time_now(), yes, &r, &err);
	if (rc) {
		ds_person_free(p);
		return fail(&err);
	}
	if (c->o.json)
		print_json(forget_json(p, &r, yes));
	else if (!c->o.quiet || !yes)
		print_forget(p, &r, yes);
	if (yes && !r.scrubbed)
		errorf("warning: %s", r.scrub.msg);
	ds_person_free(p);
	return yes ? EX_OK : EX_USAGE;
}

static int cmd_profile(ctx *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (!sub || is_help(sub)) {
		FILE *f = sub ? stdout : stderr;
		fputs("usage: dossier profile COMMAND\n\n"
		      "  list                          profiles: id, name, emails, phones\n"
		      "  show REF                      one profile: identities, attributes,\n"
		      "                                consent, traits, timeline, merges\n"
		      "  merge KEEP OTHER              merge OTHER into KEEP by hand\n"
		      "  unmerge ID                    undo the merge of profile ID into another\n"
		      "  rebuild [--check] [REF]       compute traits again from cases and records\n"
		      "  export REF [--out FILE]       everything held on a person, as JSON\n"
		      "  forget REF [--yes]            erase a person, keeping anonymous history\n\n"
		      "REF: a profile id, an email, a phone (+33612345678, 06 12 34 56 78) or\n"
		      "KIND:VALUE (siret:41876235700006). `dossier profile COMMAND --help` says\n"
		      "more, and gives each command's exit codes.\n", f);
		return sub ? EX_OK : EX_USAGE;
	}
	if (!strcmp(sub, "show"))
		return profile_show(c, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return profile_list(c, argc - 1, argv + 1);
	if (!strcmp(sub, "merge"))
		return profile_merge_cmd(c, argc - 1, argv + 1, false);
	if (!strcmp(sub, "unmerge"))
		return profile_merge_cmd(c, argc - 1, argv + 1, true);
	if (!strcmp(sub, "rebuild"))
		return profile_rebuild(c, argc - 1, argv + 1);
	if (!strcmp(sub, "export"))
		return profile_export(c, argc - 1, argv + 1);
	if (!strcmp(sub, "forget"))
		return profile_forget(c, argc - 1, argv + 1);
	errorf("profile: unknown command \"%s\" (list, show, merge, unmerge, rebuild, export, "
	       "forget)", sub);
	return EX_USAGE;
}

/* ---- segment ---- */

/* The segment named by argv[1] (after setup); prints why not. */
static int segment_named(ctx *c, const char *name, const ds_segment **out)
{
	int rc = setup(c, true);
	if (rc)
		return rc;
	if (!(*out = ds_config_segment(c->cfg, name))) {
		char known[512] = "";
		for (size_t i = 0; i < c->cfg->nsegments; i++)
			snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
				 i ? ", " : "", c->cfg->segments[i]->name);
		errorf("no segment \"%s\" in schemas/segments/ (%s)", name,
		       *known ? known : "there are none");
		return EX_NOTFOUND;
	}
	return EX_OK;
}

static int segment_list(ctx *c, int argc, char **argv)
{
	if (argc > 1) {
		printf("usage: dossier segment list\n\n"
		       "Lists the segments of schemas/segments/: name, the consent an export needs,\n"
		       "title and filter.\n"
		       "--json: [{name, title, description, filter, consent: {purpose, channel},\n"
		       "columns: [{field, header}]}].\n"
		       "Exit codes: 0 listed, 2 for an extra argument or a configuration with\n"
		       "errors (dossier check says which).\n");
		return is_help(argv[1]) ? EX_OK : EX_USAGE;
	}
	int rc = setup(c, false);
	if (rc)
		return rc;
	cJSON *arr = c->o.json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; i < c->cfg->nsegments; i++) {
		const ds_segment *sg = c->cfg->segments[i];
		if (!arr) {
			printf("%-28s %s by %-6s %s\n  %s\n", sg->name, sg->purpose, sg->channel,
			       sg->title ? sg->title : "", sg->filter_src);
			continue;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", sg->name);
		cJSON_AddItemToObject(o, "title", sg->title ? cJSON_CreateString(sg->title)
							   : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "description", sg->description
					  ? cJSON_CreateString(sg->description) : cJSON_CreateNull());
		cJSON_AddStringToObject(o, "filter", sg->filter_src);
		cJSON *cons = cJSON_AddObjectToObject(o, "consent");
		cJSON_AddStringToObject(cons, "purpose", sg->purpose);
		cJSON_AddStringToObject(cons, "channel", sg->channel);
		cJSON *cols = cJSON_AddArrayToObject(o, "columns");
		for (size_t k = 0; k < sg->ncolumns; k++) {
			cJSON *col = cJSON_CreateObject();
			cJSON_AddStringToObject(col, "field", sg->columns[k].field);
			cJSON_AddStringToObject(col, "header", sg->columns[k].header);
			cJSON_AddItemToArray(cols, col);
		}
		cJSON_AddItemToArray(arr, o);
	}
	if (arr)
		print_json(arr);
	else if (!c->cfg->nsegments && !c->o.quiet)
		printf("no segments in schemas/segments/\n");
	return EX_OK;
}

static cJSON *count_json(const ds_segment *sg, int64_t matched, int64_t exported)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "segment", sg->name);
	cJSON_AddNumberToObject(o, "matched", (double)matched);
	cJSON_AddNumberToObject(o, "exported", (double)exported);
	cJSON_AddNumberToObject(o, "excluded_consent", (double)(matched - exported));
	cJSON *cons = cJSON_AddObjectToObject(o, "consent");
	cJSON_AddStringToObject(cons, "purpose", sg->purpose);
	cJSON_AddStringToObject(cons, "channel", sg->channel);
	return o;
}

static int segment_count(ctx *c, int argc, char **argv)
{
	if (argc != 2 || is_help(argv[1])) {
		printf("usage: dossier segment count NAME\n\n"
		       "How many profiles the segment's filter matches, and how many of them were\n"
		       "left out for lack of the consent it needs (they would not be exported).\n"
		       "--json: {segment, matched, exported, excluded_consent, consent}. Times in\n"
		       "the filter (days_since) count from now, or --now.\n"
		       "Exit codes: 0 counted, 5 for an unknown segment, 2 for a missing or extra\n"
		       "argument or a configuration with errors.\n");
		return argc == 2 ? EX_OK : EX_USAGE;
	}
	const ds_segment *sg;
	int rc = segment_named(c, argv[1], &sg);
	if (rc)
		return rc;
	ds_err err = {0};
	int64_t matched = 0, exported = 0;
	if ((rc = ds_segment_count(c->store, sg, ds_time_now(), &matched, &exported, &err)))
		return fail(&err);
	if (c->o.json)
		print_json(count_json(sg, matched, exported));
	else if (!c->o.quiet)
		printf("%s: %" PRId64 " matched; %" PRId64 " may be exported, %" PRId64
		       " left out for lack of consent to %s by %s\n", sg->name, matched, exported,
		       matched - exported, sg->purpose, sg->channel);
	return EX_OK;
}

static int segment_export(ctx *c, int argc, char **argv)
{
	const char *name = NULL, *format = "csv", *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf("usage: dossier segment export NAME [--format csv|ndjson] [--out FILE]\n\n"
			       "Writes the profiles the segment matches and whose consent allows it, one\n"
			       "row each with the segment's columns. Profiles without the consent are\n"
			       "never written. Rows are streamed in constant memory, in the order the\n"
			       "store's index gives, on stdout unless --out says otherwise.\n\n"
			       "  --format csv     CSV (RFC 4180, UTF-8, a header row, CRLF line ends;\n"
			       "                   lists joined with \"; \"); the default\n"
			       "  --format ndjson  one JSON object per line, keyed by the columns' headers\n"
			       "  --out FILE       write FILE (FILE.part, renamed once the export is\n"
			       "                   complete) and say how many rows it holds; - is stdout\n\n"
			       "With --out and --json that summary is {segment, format, path, exported,\n"
			       "matched, excluded_consent, consent}.\n"
			       "Exit codes: 0 written; 5 for an unknown segment; 2 for a missing\n"
			       "segment, an unknown option or format, or a configuration with errors; 1\n"
			       "when FILE cannot be written (nothing is left behind).\n");
			return EX_OK;
		}
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			errorf("segment export: unexpected argument %s", argv[i]);
			return EX_USAGE;
		}
	}
	if (!name) {
		errorf("segment export: which segment? (dossier segment list)");
		return EX_USAGE;
	}
	ds_segment_format fmt;
	if (!strcmp(format, "csv"))
		fmt = DS_SEGMENT_CSV;
	else if (!strcmp(format, "ndjson"))
		fmt = DS_SEGMENT_NDJSON;
	else {
		errorf("segment export: --format is csv or ndjson, not %s", format);
		return EX_USAGE;
	}
	const ds_segment *sg;
	int rc = segment_named(c, name, &sg);
	if (rc)
		return rc;
	/* A file appears only complete: written aside, then renamed. */
	char tmp[PATH_MAX];
	FILE *f = stdout;
	if (out && strcmp(out, "-")) {
		if (snprintf(tmp, sizeof tmp, "%s.part", out) >= (int)sizeof tmp) {
			errorf("segment export: file name too long: %s", out);
			return EX_USAGE;
		}
		if (!(f = fopen(tmp, "wb"))) {
			errorf("cannot write %s: %s", tmp, strerror(errno));
			return EX_INTERNAL;
		}
	}
	ds_err err = {0};
	ds_time now = ds_time_now();
	int64_t rows = 0, matched = 0, exported = 0;
	rc = ds_segment_export(c->store, sg, now, fmt, f, &rows, &err);
	if (f != stdout) {
		if (fclose(f) && !rc)
			rc = ds_err_set(&err, DS_EIO, "cannot write %s: %s", tmp, strerror(errno));
		if (!rc && rename(tmp, out))
			rc = ds_err_set(&err, DS_EIO, "cannot rename %s to %s: %s", tmp, out,
					strerror(errno));
		if (rc)
			unlink(tmp);
	}
	if (rc)
		return fail(&err);
	if (!out || !strcmp(out, "-"))
		return EX_OK;
	if ((rc = ds_segment_count(c->store, sg, now, &matched, &exported, &err)))
		return fail(&err);
	if (c->o.json) {
		cJSON *o = count_json(sg, matched, rows);
		cJSON_AddStringToObject(o, "format", format);
		cJSON_AddStringToObject(o, "path", out);
		print_json(o);
	} else if (!c->o.quiet) {
		printf("%s: %" PRId64 " profile%s written to %s (%s); %" PRId64 " matched, %" PRId64
		       " left out for lack of consent to %s by %s\n", sg->name, rows,
		       rows == 1 ? "" : "s", out, format, matched, matched - exported, sg->purpose,
		       sg->channel);
	}
	return EX_OK;
}

struct explain_out {
	cJSON *doc, *params, *plan;
	int nparams;
};

static int explain_line(void *ud, const char *what, const char *text)
{
	struct explain_out *x = ud;
	if (x->doc) {
		if (!strcmp(what, "sql"))
			cJSON_AddStringToObject(x->doc, "sql", text);
		else
			cJSON_AddItemToArray(!strcmp(what, "param") ? x->params : x->plan,
					     cJSON_CreateString(text));
		return 0;
	}
	if (!strcmp(what, "sql"))
		printf("%s\n", text);
	else if (!strcmp(what, "param"))
		printf("  ?%d = %s\n", ++x->nparams, text);
	else
		printf("plan: %s\n", text);
	return 0;
}

static int segment_explain(ctx *c, int argc, char **argv)
{
	const char *name = NULL;
	bool count = true;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf("usage: dossier segment explain NAME [--export]\n\n"
			       "The statement `segment count` (or, with --export, `segment export`) runs\n"
			       "for the segment: its SQL, where every value is a parameter (?1, ?2...),\n"
			       "the parameters, and the store's query plan, which shows the indexes it\n"
			       "uses. Nothing is run.\n\n"
			       "  --export   the export's statement rather than the count's\n\n"
			       "--json: {segment, sql, params, plan}.\n"
			       "Exit codes: 0 explained, 5 for an unknown segment, 2 for a missing\n"
			       "segment, an unknown option or a configuration with errors.\n");
			return EX_OK;
		}
		if (!strcmp(argv[i], "--export"))
			count = false;
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			errorf("segment explain: unexpected argument %s", argv[i]);
			return EX_USAGE;
		}
	}
	if (!name) {
		errorf("segment explain: which segment? (dossier segment list)");
		return EX_USAGE;
	}
	const ds_segment *sg;
	int rc = segment_named(c, name, &sg);
	if (rc)
		return rc;
	ds_err err = {0};
	ds_arena *a = ds_arena_new(4096);
	ds_seg_query q;
	struct explain_out x = { .params = cJSON_CreateArray(), .plan = cJSON_CreateArray() };
	if (c->o.json) {
		x.doc = cJSON_CreateObject();
		cJSON_AddStringToObject(x.doc, "segment", sg->name);
	}
	rc = a ? ds_segment_query(sg, ds_time_now(), a, &q, &err) : ds_err_set(&err, DS_ENOMEM,
										 "out of memory");
	if (!rc)
		rc = ds_store_segment_explain(c->store, &q, count, explain_line, &x, &err);
	ds_arena_free(a);
	if (rc) {
		cJSON_Delete(x.doc);
		cJSON_Delete(x.params);
		cJSON_Delete(x.plan);
		return fail(&err);
	}
	if (x.doc) {
		cJSON_AddItemToObject(x.doc, "params", x.params);
		cJSON_AddItemToObject(x.doc, "plan", x.plan);
		print_json(x.doc);
	} else {
		cJSON_Delete(x.params);
		cJSON_Delete(x.plan);
	}
	return EX_OK;
}

static int cmd_segment(ctx *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (!sub || is_help(sub)) {
		FILE *f = sub ? stdout : stderr;
		fputs("usage: dossier segment COMMAND\n\n"
		      "  list                        the segments of schemas/segments/\n"
		      "  count NAME                  profiles matched, and left out for consent\n"
		      "  export NAME [--format csv|ndjson] [--out FILE]\n"
		      "                              the profiles whose consent allows it\n"
		      "  explain NAME [--export]     the statement and the store's plan\n\n"
		      "`dossier segment COMMAND --help` says more, and gives each command's exit\n"
		      "codes.\n", f);
		return sub ? EX_OK : EX_USAGE;
	}
	if (!strcmp(sub, "list"))
		return segment_list(c, argc - 1, argv + 1);
	if (!strcmp(sub, "count"))
		return segment_count(c, argc - 1, argv + 1);
	if (!strcmp(sub, "export"))
		return segment_export(c, argc - 1, argv + 1);
	if (!strcmp(sub, "explain"))
		return segment_explain(c, argc - 1, argv + 1);
	errorf("segment: unknown command \"%s\" (list, count, export, explain)", sub);
	return EX_USAGE;
}

/* ---- top level ---- */

static void usage(FILE *f)
{
	fputs("usage: dossier [--home DIR] [--store URL] [--json] [--quiet] [--now ISO8601]\n"
	      "               COMMAND [ARGS]\n\n"
	      "commands:\n"
	      "  check                     load and cross-check everything under schemas/\n"
	      "  validate (--schema F | T) JSON...  validate documents against a schema\n"
	      "  ingest [--source S] PATH  ingest files, folders or - (stdin)\n"
	      "  inspect [--source S] FILE what dossier reads from one input (stores nothing)\n"
	      "  tick                      fire due timers\n"
	      "  serve [--listen HOST:PORT]  the HTTP API (webhooks, cases, metrics)\n"
	      "  case list|show|history|event|set\n"
	      "  document list|get         produced PDFs\n"
	      "  attachment list|get       files that came with a case's inputs\n"
	      "  profile list|show|merge|unmerge|rebuild|export|forget  customer profiles\n"
	      "  segment list|count|export|explain  marketing segments, consent-aware\n"
	      "  graph PROCESS             a process as a diagram (Graphviz DOT, or SVG)\n"
	      "  quarantine list|show|replay  rejected inputs, why, and running them again\n\n"
	      "global options (before the command):\n"
	      "  --home DIR    where schemas/ and dossier.json live (default: .)\n"
	      "  --store URL   sqlite:PATH (default sqlite:var/dossier.db under home)\n"
	      "  --json        machine-readable output: one JSON document on stdout\n"
	      "  --quiet       print nothing but errors\n"
	      "  --now T       pretend the time is T (ISO 8601), for tests and simulations\n\n"
	      "exit codes: 0 ok, 1 internal error, 2 usage or configuration, 3 some inputs\n"
	      "quarantined, 4 refused, 5 not found. `dossier COMMAND --help` for more.\n", f);
}

int ds_cli_main(int argc, char **argv)
{
	ctx c;
	memset(&c, 0, sizeof c);
	c.o.home = ".";
	ds_mem_init();
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			break;
		if (is_help(a)) {
			usage(stdout);
			return EX_OK;
		}
		if (!strcmp(a, "--version")) {
			puts("dossier " VERSION);
			return EX_OK;
		}
		if (!strcmp(a, "--json")) {
			c.o.json = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			c.o.quiet = true;
		} else if ((!strcmp(a, "--home") || !strcmp(a, "--store") || !strcmp(a, "--now")) &&
			   i + 1 < argc) {
			const char *v = argv[++i];
			if (!strcmp(a, "--home"))
				c.o.home = v;
			else if (!strcmp(a, "--store"))
				c.o.store = v;
			else if (ds_time_parse(v, &c.o.now)) {
				errorf("--now: not an ISO 8601 time: %s", v);
				return EX_USAGE;
			} else {
				c.o.has_now = true;
			}
		} else {
			errorf("unknown or incomplete option %s", a);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	ds_time_set_now(c.o.has_now, c.o.now);
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	int rc;
	if (!strcmp(cmd, "check"))
		rc = cmd_check(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "ingest"))
		rc = cmd_ingest(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "tick"))
		rc = cmd_tick(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "serve"))
		rc = cmd_serve(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "case"))
		rc = cmd_case(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "document"))
		rc = cmd_document(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "attachment"))
		rc = cmd_attachment(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "profile"))
		rc = cmd_profile(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "segment"))
		rc = cmd_segment(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "inspect"))
		rc = cmd_inspect(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "validate"))
		rc = cmd_validate(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "quarantine"))
		rc = cmd_quarantine(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "graph"))
		rc = cmd_graph(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "help"))
		usage(stdout), rc = EX_OK;
	else {
		errorf("unknown command \"%s\"", cmd);
		usage(stderr);
		rc = EX_USAGE;
	}
	teardown(&c);
	return rc;
}
