/*
 * graph.h - a process definition as a diagram: Graphviz DOT text, and the
 * other formats `dot` renders from it.
 *
 * The DOT text is a pure function of the definitions (same files, same
 * bytes): states in file order, grouped into one cluster per lane in the
 * order lanes first appear; every string taken from a definition is
 * escaped, so no state, lane, guard, event or role can end a DOT string or
 * add a statement.
 */
#ifndef DS_GRAPH_H
#define DS_GRAPH_H

#include "config.h"
#include "mem.h"
#include "process.h"

/* Appends p as a DOT digraph to out:
 *   - one `subgraph "cluster_<lane>"` per lane, labelled with the lane;
 *     states without a lane outside any cluster;
 *   - an entry point (a dot) with an edge to the initial state, labelled
 *     with the record types that start cases ("new offer");
 *   - final states drawn with a double border; output points as a note
 *     shape with a line "prints: <template>";
 *   - one edge per transition, in order, labelled with its guard, its
 *     "event [roles]" or its "after <duration>";
 *   - for each "start" of a state, a dashed edge to a dashed box naming the
 *     process started and the fields passed ("order_number <- reference").
 * cfg may be NULL; when given, the states of other processes that start p
 * are drawn as dashed boxes with an edge to p's initial state.
 * Returns 0, DS_ENOMEM, or DS_ECONFIG when out's maximum is too small. */
int ds_graph_dot(const ds_process *p, const ds_config *cfg, ds_buf *out,
		 ds_err *err);

/* Runs Graphviz's `dot -T<format>` (found on PATH, no shell) on len bytes
 * of DOT text and appends what it prints to out. SIGPIPE is ignored while
 * the text is written (a dot that stops reading is reported by its exit
 * status), so call it from the main thread of a command. Returns 0; DS_ECONFIG
 * when dot is not installed (the message says how to install it) or its
 * output is larger than out's maximum; DS_EINTERNAL when dot fails (its
 * own messages went to stderr); DS_EIO, DS_ENOMEM. */
int ds_graph_render(const char *dot, size_t len, const char *format,
		    ds_buf *out, ds_err *err);

#endif
