/*
 * graph.c - process definitions as Graphviz diagrams; see graph.h.
 *
 * Node identifiers are the state names themselves (so that the DOT text
 * reads like the definition); the few nodes that are not states (the entry
 * point, the boxes of started processes) get an identifier no state has.
 * Everything taken from a definition goes through text(), which escapes
 * it for a DOT string: a hostile name can change a label, never the graph.
 */
#include "graph.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"

#define GUARD_WRAP 28           /* a long guard breaks at a space past this */

#define COLOR_GUARD "#1f5f9e"
#define COLOR_TIMER "#a8590a"
#define COLOR_START "#555555"

/* The output, and the first error met writing it (later writes are then
 * skipped, so the code reads as a straight sequence). */
typedef struct gw {
	ds_buf *b;
	int rc;
} gw;

static void put(gw *w, const char *s)
{
	if (!w->rc)
		w->rc = ds_buf_puts(w->b, s);
}

static void putn(gw *w, const char *s, size_t n)
{
	if (!w->rc)
		w->rc = ds_buf_append(w->b, s, n);
}

static void putf(gw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(gw *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!w->rc)
		w->rc = ds_buf_vprintf(w->b, fmt, ap);
	va_end(ap);
}

/* s inside a DOT string. '"' and '\' are escaped, so neither the end of
 * the string nor a Graphviz escape (\N, \G...) can come from a definition.
 * In a label (eol given) a line feed becomes eol ("\\n" centred, "\\l"
 * left-justified), tabs and carriage returns spaces, other control
 * characters and bytes that are not UTF-8 '?'; with wrap > 0, the first
 * space past wrap characters on a line breaks it. In an identifier (eol
 * NULL) those bytes are written \xNN instead, so that two names never make
 * one node (and the SVG, which shows identifiers, stays valid XML). */
static void text(gw *w, const char *s, const char *eol, size_t wrap)
{
	size_t n = strlen(s), col = 0;
	for (size_t i = 0; i < n && !w->rc; i++, col++) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		bool ok = c >= 0x80 ? i + len <= n && ds_utf8_valid(s + i, len)
				    : c >= 0x20 && c != 0x7F;
		if (ok && c == ' ' && eol && wrap && col >= wrap) {
			put(w, eol);
			col = (size_t)-1;
		} else if (c == '"' || c == '\\') {
			putn(w, "\\", 1);
			putn(w, s + i, 1);
		} else if (ok) {
			putn(w, s + i, len);
			i += len - 1;
		} else if (!eol) {
			putf(w, "\\x%02X", c);
		} else if (c == '\n') {
			put(w, eol);
			col = (size_t)-1;
		} else {
			put(w, c == '\t' || c == '\r' ? " " : "?");
		}
	}
}

/* s as a DOT identifier, quotes included. */
static void ident(gw *w, const char *s)
{
	put(w, "\"");
	text(w, s, NULL, 0);
	put(w, "\"");
}

static void joined(gw *w, char *const *list, size_t n, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(w, sep);
		text(w, list[i], "\\n", 0);
	}
}

/* An identifier for a node that is not a state: fmt's text, with '_'
 * appended for as long as a state has that name. */
static void node_id(const ds_process *p, char id[128], const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void node_id(const ds_process *p, char id[128], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(id, 128, fmt, ap);
	va_end(ap);
	size_t len = strlen(id);
	while (ds_process_state(p, id) >= 0 && len < 127) {
		id[len++] = '_';
		id[len] = '\0';
	}
}

static void state_node(gw *w, const ds_state_def *st, const char *indent)
{
	put(w, indent);
	ident(w, st->name);
	put(w, " [label=\"");
	text(w, st->name, "\\n", 0);
	if (st->output) {
		put(w, "\\nprints: ");
		text(w, st->output, "\\n", 0);
		put(w, "\", shape=note, style=filled, fillcolor=\"#fff3c4\"");
	} else {
		put(w, "\"");
	}
	if (st->final)
		put(w, ", peripheries=2");
	put(w, "];\n");
}

static bool same_lane(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* One cluster per lane, in the order lanes first appear; then the states
 * without a lane. */
static void states(gw *w, const ds_process *p)
{
	for (size_t s = 0; s < p->nstates; s++) {
		const char *lane = p->states[s].lane;
		bool seen = false;
		for (size_t e = 0; e < s && !seen; e++)
			seen = same_lane(p->states[e].lane, lane);
		if (!lane || seen)
			continue;
		put(w, "\tsubgraph \"cluster_");
		text(w, lane, NULL, 0);
		put(w, "\" {\n\t\tlabel=\"");
		text(w, lane, "\\n", 0);
		put(w, "\";\n\t\tstyle=\"rounded,filled\"; fillcolor=\"#f2f5f9\"; color=\"#b4c0d0\";\n"
		       "\t\tfontsize=12; labeljust=l;\n");
		for (size_t t = s; t < p->nstates; t++)
			if (same_lane(p->states[t].lane, lane))
				state_node(w, &p->states[t], "\t\t");
		put(w, "\t}\n");
	}
	for (size_t s = 0; s < p->nstates; s++)
		if (!p->states[s].lane)
			state_node(w, &p->states[s], "\t");
}

static void transition(gw *w, const ds_process *p, const ds_state_def *st,
		       const ds_transition_def *tr)
{
	if (tr->to < 0 || (size_t)tr->to >= p->nstates)
		return;  /* an unknown target: `check` reports it */
	put(w, "\t");
	ident(w, st->name);
	put(w, " -> ");
	ident(w, p->states[tr->to].name);
	put(w, " [label=\"");
	switch (tr->kind) {
	case DS_ON_WHEN:
		text(w, tr->guard_src ? tr->guard_src : "", "\\n", GUARD_WRAP);
		put(w, "\", color=\"" COLOR_GUARD "\", fontcolor=\"" COLOR_GUARD "\"");
		break;
	case DS_ON_EVENT:
		text(w, tr->event ? tr->event : "", "\\n", 0);
		put(w, " [");
		joined(w, tr->roles, tr->nroles, ", ");
		put(w, "]\"");
		break;
	case DS_ON_AFTER:
		put(w, "after ");
		text(w, tr->after_src ? tr->after_src : "", "\\n", 0);
		put(w, "\", color=\"" COLOR_TIMER "\", fontcolor=\"" COLOR_TIMER "\"");
		break;
	}
	put(w, "];\n");
}

/* A start: a dashed box naming the process and the fields it receives. */
static void start_box(gw *w, const ds_process *p, size_t s, size_t k)
{
	const ds_state_def *st = &p->states[s];
	const ds_start_def *sd = &st->starts[k];
	char id[128];
	node_id(p, id, "start %zu.%zu", s, k);
	putf(w, "\t\"%s\" [shape=box, style=dashed, color=\"" COLOR_START "\", label=\"starts ", id);
	text(w, sd->process, "\\l", 0);
	put(w, "\\l");
	for (size_t f = 0; f < sd->n; f++) {
		put(w, "  ");
		text(w, sd->to[f], "\\l", 0);
		put(w, " \u2190 ");
		text(w, sd->from[f], "\\l", 0);
		put(w, "\\l");
	}
	put(w, "\"];\n\t");
	ident(w, st->name);
	putf(w, " -> \"%s\" [style=dashed, color=\"" COLOR_START "\"];\n", id);
}

/* The states of other processes whose entry starts a case of p. */
static void started_by(gw *w, const ds_process *p, const ds_config *cfg)
{
	if (!cfg || p->initial < 0 || (size_t)p->initial >= p->nstates)
		return;
	for (size_t i = 0; i < cfg->nprocesses; i++) {
		const ds_process *q = cfg->processes[i];
		for (size_t s = 0; q != p && s < q->nstates; s++) {
			const ds_state_def *st = &q->states[s];
			for (size_t k = 0; k < st->nstarts; k++) {
				if (strcmp(st->starts[k].process, p->name))
					continue;
				char id[128];
				node_id(p, id, "from %zu.%zu.%zu", i, s, k);
				putf(w, "\t\"%s\" [shape=box, style=dashed, color=\"" COLOR_START
				     "\", label=\"started by ", id);
				text(w, q->name, "\\n", 0);
				put(w, "\\nin ");
				text(w, st->name, "\\n", 0);
				putf(w, "\"];\n\t\"%s\" -> ", id);
				ident(w, p->states[p->initial].name);
				put(w, " [style=dashed, color=\"" COLOR_START "\"];\n");
			}
		}
	}
}

int ds_graph_dot(const ds_process *p, const ds_config *cfg, ds_buf *out, ds_err *err)
{
	gw w = { out, DS_OK };
	put(&w, "digraph ");
	ident(&w, p->name);
	put(&w, " {\n\tgraph [label=\"");
	text(&w, p->name, "\\n", 0);
	putf(&w, " (version %d)\", labelloc=t, fontname=\"DejaVu Sans\", fontsize=16,\n"
	     "\t       rankdir=LR, nodesep=0.6, ranksep=0.5, newrank=true];\n"
	     "\tnode [fontname=\"DejaVu Sans\", fontsize=11, shape=box, style=\"rounded,filled\",\n"
	     "\t      fillcolor=white];\n"
	     "\tedge [fontname=\"DejaVu Sans\", fontsize=10, color=\"#333333\"];\n",
	     p->version);
	char entry[128];
	node_id(p, entry, "entry");
	putf(&w, "\t\"%s\" [shape=circle, style=filled, fillcolor=black, label=\"\", width=0.18];\n",
	     entry);
	states(&w, p);
	if (p->initial >= 0 && (size_t)p->initial < p->nstates) {
		putf(&w, "\t\"%s\" -> ", entry);
		ident(&w, p->states[p->initial].name);
		if (p->nstarts) {
			put(&w, " [label=\"new ");
			joined(&w, p->starts_with, p->nstarts, " / ");
			put(&w, "\"]");
		}
		put(&w, ";\n");
	}
	started_by(&w, p, cfg);
	for (size_t s = 0; s < p->nstates; s++) {
		const ds_state_def *st = &p->states[s];
		for (size_t t = 0; t < st->non; t++)
			transition(&w, p, st, &st->on[t]);
		for (size_t k = 0; k < st->nstarts; k++)
			start_box(&w, p, s, k);
	}
	put(&w, "}\n");
	if (w.rc == DS_ELIMIT)
		return ds_err_set(err, DS_ECONFIG, "the diagram of %s is larger than %zu bytes",
				  p->name, out->max);
	if (w.rc)
		return ds_err_set(err, w.rc, "out of memory drawing %s", p->name);
	return DS_OK;
}

/* ---- running dot ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* dot's stdin is a pipe we write the DOT text to, its stdout an anonymous
 * temporary file we read once it has exited: no deadlock whatever the size
 * of either, and nothing half-written reaches the caller when it fails. */
int ds_graph_render(const char *dot, size_t len, const char *format, ds_buf *out,
		    ds_err *err)
{
	int rc = DS_OK, in[2] = { -1, -1 };
	FILE *tmp = NULL;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	bool fa_ok = false, at_ok = false, sig_ok = false;
	struct sigaction ign, old;
	char prog[] = "dot", targ[64];
	snprintf(targ, sizeof targ, "-T%s", format);
	char *argv[] = { prog, targ, NULL };

	if (!(tmp = tmpfile()) || pipe2(in, O_CLOEXEC)) {
		rc = ds_err_set(err, DS_EIO, "cannot run dot: %s", strerror(errno));
		goto done;
	}
	fa_ok = posix_spawn_file_actions_init(&fa) == 0;
	at_ok = posix_spawnattr_init(&at) == 0;
	/* A dot that exits early must not kill us with SIGPIPE (ignored below
	 * while we write); dot itself gets the default disposition back. */
	sigset_t def;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	if (!fa_ok || !at_ok ||
	    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO) ||
	    posix_spawn_file_actions_adddup2(&fa, fileno(tmp), STDOUT_FILENO) ||
	    posix_spawnattr_setsigdefault(&at, &def) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF)) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sig_ok = sigaction(SIGPIPE, &ign, &old) == 0;
	int e = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
	if (e) {
		pid = -1;
		if (e == ENOENT)
			rc = ds_err_set(err, DS_ECONFIG,
					"dot (Graphviz) is not installed: apt-get install graphviz "
					"(or use --format dot)");
		else
			rc = ds_err_set(err, DS_EIO, "cannot run dot: %s", strerror(e));
		goto done;
	}
	close(in[0]);
	in[0] = -1;
	/* A write error means dot stopped reading: its exit status says why. */
	(void)write_all(in[1], dot, len);
	close(in[1]);
	in[1] = -1;
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = ds_err_set(err, DS_EINTERNAL, "waiting for dot: %s", strerror(errno));
			goto done;
		}
	}
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		rc = ds_err_set(err, DS_EINTERNAL, "dot -T%s failed (%s %d)", format,
				WIFEXITED(status) ? "exit" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto done;
	}
	if (lseek(fileno(tmp), 0, SEEK_SET) < 0) {
		rc = ds_err_set(err, DS_EIO, "reading dot's output: %s", strerror(errno));
		goto done;
	}
	char chunk[16384];
	ssize_t k;
	while ((k = read(fileno(tmp), chunk, sizeof chunk)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = ds_err_set(err, DS_EIO, "reading dot's output: %s", strerror(errno));
			goto done;
		}
		int r = ds_buf_append(out, chunk, (size_t)k);
		if (r == DS_ELIMIT) {
			rc = ds_err_set(err, DS_ECONFIG, "dot's output is larger than %zu bytes",
					out->max);
			goto done;
		}
		if (r) {
			rc = ds_err_set(err, r, "out of memory");
			goto done;
		}
	}
done:
	if (in[1] >= 0)
		close(in[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (sig_ok)
		sigaction(SIGPIPE, &old, NULL);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (tmp)
		fclose(tmp);
	return rc;
}
