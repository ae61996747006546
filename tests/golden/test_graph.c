/*
 * test_graph.c - `dossier graph`: the offer's diagram (its lanes, one
 * labelled edge per transition, the entry point, the output point, the
 * order it starts), hostile names escaped (the process under
 * tests/golden/graph/), SVG through Graphviz's dot, and the errors.
 */
#include "helpers.h"

static char *graph(th_home *h, const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, "graph %s", args);
	cr_assert_eq(rc, 0, "graph %s: exit %d; stderr: %s", args, rc, err);
	free(err);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static bool have_dot(void)
{
	return system("command -v dot >/dev/null 2>&1") == 0;
}

Test(graph, offer_lanes_transitions_output_and_start)
{
	th_home h;
	th_home_init(&h);
	char *dot = graph(&h, "offer");
	cr_expect(!strncmp(dot, "digraph \"offer\" {\n", 18), "%s", dot);

	/* one cluster per lane, the state in its lane */
	cr_expect(strstr(dot, "subgraph \"cluster_sales\" {\n\t\tlabel=\"sales\";"), "%s", dot);
	const char *mgmt = strstr(dot, "subgraph \"cluster_management\" {\n\t\tlabel=\"management\";");
	cr_assert(mgmt, "%s", dot);
	const char *in = strstr(mgmt, "\"pending_approval\" ["), *end = strstr(mgmt, "\n\t}\n");
	cr_expect(in && end && in < end, "pending_approval outside its lane: %s", dot);
	cr_expect_eq(count(dot, "subgraph \"cluster_"), 2);

	/* every transition, with its guard, event [roles] or timer */
	static const char *const edges[][3] = {
		{ "draft", "pending_approval", "discount_pct > 20" },
		{ "draft", "validated", "discount_pct <= 20" },
		{ "pending_approval", "validated", "approve [manager]" },
		{ "pending_approval", "validated", "discount_pct <= 20" },
		{ "pending_approval", "validated", "after 5d" },
		{ "validated", "sent", "send [sales]" },
		{ "sent", "accepted", "accept [sales]" },
		{ "sent", "rejected", "reject [sales]" },
		{ "sent", "to_resend", "resend [sales]" },
		{ "sent", "unreachable", "unreachable [sales]" },
		{ "to_resend", "sent", "send [sales]" },
		{ "unreachable", "to_resend", "after 3d" },
		{ "unreachable", "sent", "send [sales]" },
	};
	size_t n = sizeof edges / sizeof edges[0];
	for (size_t i = 0; i < n; i++) {
		char want[256];
		snprintf(want, sizeof want, "\t\"%s\" -> \"%s\" [label=\"%s\"", edges[i][0],
			 edges[i][1], edges[i][2]);
		cr_expect(strstr(dot, want), "no edge %s in:\n%s", want, dot);
	}
	/* the transitions, the entry and the start: nothing else */
	cr_expect_eq(count(dot, " -> "), n + 2, "%s", dot);

	/* entry point, output point, final states */
	cr_expect(strstr(dot, "\"entry\" -> \"draft\" [label=\"new offer\"];"), "%s", dot);
	cr_expect(strstr(dot, "\"validated\" [label=\"validated\\nprints: offer\", shape=note"),
		  "%s", dot);
	cr_expect(strstr(dot, "\"accepted\" [label=\"accepted\", peripheries=2];"), "%s", dot);
	cr_expect(strstr(dot, "\"rejected\" [label=\"rejected\", peripheries=2];"), "%s", dot);
	cr_expect(strstr(dot, "\"draft\" [label=\"draft\"];"), "%s", dot);

	/* the order it starts, and the fields passed */
	const char *box = strstr(dot, "\t\"start 6.0\" [shape=box, style=dashed");
	cr_assert(box, "%s", dot);
	cr_expect(strstr(box, "label=\"starts order\\l  order_number \u2190 reference\\l"), "%s", box);
	cr_expect(strstr(box, "  customer \u2190 customer\\l"), "%s", box);
	cr_expect(strstr(dot, "\"accepted\" -> \"start 6.0\" [style=dashed"), "%s", dot);

	/* same definitions, same bytes */
	char *again = graph(&h, "--format dot offer");
	cr_expect_str_eq(again, dot);
	free(again);
	free(dot);
	th_home_fini(&h);
}

Test(graph, the_order_shows_what_starts_it)
{
	th_home h;
	th_home_init(&h);
	char *dot = graph(&h, "order");
	cr_expect(strstr(dot, "label=\"started by offer\\nin accepted\"]"), "%s", dot);
	cr_expect(strstr(dot, "\" -> \"received\" [style=dashed"), "%s", dot);
	cr_expect(strstr(dot, "\"invoiced\" [label=\"invoiced\\nprints: invoice\", shape=note"),
		  "%s", dot);
	cr_expect(strstr(dot, "\"shipped\" -> \"invoiced\" [label=\"invoice [accounting]\""),
		  "%s", dot);
	free(dot);
	th_home_fini(&h);
}

/* Whether each line of DOT text ends outside any string: a name that
 * could end a string early would leave one open, or close one too many. */
static void expect_strings_closed(const char *dot)
{
	int line = 1;
	bool in = false;
	for (const char *p = dot; *p; p++) {
		if (in && *p == '\\' && p[1]) {
			p++;
		} else if (*p == '"') {
			in = !in;
		} else if (*p == '\n') {
			cr_expect(!in, "line %d ends inside a string:\n%s", line, dot);
			in = false;
			line++;
		} else {
			cr_expect((unsigned char)*p >= 0x20 || *p == '\t',
				  "raw control character on line %d", line);
		}
	}
}

Test(graph, hostile_names_are_escaped)
{
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, "tests/golden/graph");
	char *dot = graph(&h, "hostile");
	expect_strings_closed(dot);
	cr_expect(!strncmp(dot, "digraph \"hostile\" {\n", 20), "%s", dot);
	cr_expect_eq(count(dot, "\n}"), 1, "one graph, closed once: %s", dot);
	cr_expect(strstr(dot, "\t\t\"x\\\"]; injected [label=\\\"pwned\" [label=\"x\\\"]; injected "
			      "[label=\\\"pwned\\nprints: offer\", shape=note"),
		  "%s", dot);
	cr_expect(strstr(dot, "\tsubgraph \"cluster_front \\\"desk\\\"\\x0Asecond line \\\\N\" {\n"
			      "\t\tlabel=\"front \\\"desk\\\"\\nsecond line \\\\N\";"),
		  "%s", dot);
	cr_expect(strstr(dot, "subgraph \"cluster_} digraph evil {\" {"), "%s", dot);
	cr_expect(strstr(dot, "[label=\"note = \\\"a \\\\\\\"quoted\\\\\\\" \\\\\\\\ back\\\"\""),
		  "%s", dot);
	cr_expect(strstr(dot, "\"say \\\"hi\\\"\" -> \"back\\\\slash\" [label=\"ok\\\"go [r\\\\le, "
			      "new\\nline]\"];"),
		  "%s", dot);
	/* a tab and a control character: shown as a space and '?', and never
	 * the same node as a state really named so */
	cr_expect(strstr(dot, "\t\"tab\\x09here\\x01\" [label=\"tab here?\"];"), "%s", dot);
	cr_expect(strstr(dot, "\t\"tab here?\" [label=\"tab here?\", peripheries=2];"), "%s", dot);
	cr_expect(strstr(dot, "\"tab\\x09here\\x01\" -> \"tab here?\" [label=\"stop [r\\\\le]\"]"),
		  "%s", dot);
	cr_expect(strstr(dot, "  notes \u2190 note\\\"}\\l\"];"), "%s", dot);
	free(dot);

	/* and Graphviz draws exactly the nodes there are: five states, the
	 * entry point and the started order */
	if (have_dot()) {
		char *svg = graph(&h, "--format svg hostile");
		cr_expect(strstr(svg, "<svg"), "%s", svg);
		cr_expect_eq(count(svg, "class=\"node\""), 7, "%s", svg);
		cr_expect_eq(count(svg, "class=\"cluster\""), 2, "%s", svg);
		free(svg);
	}
	th_home_fini(&h);
}

Test(graph, svg_through_graphviz)
{
	if (!have_dot())
		cr_skip("dot (Graphviz) is not installed");
	th_home h;
	th_home_init(&h);
	char *svg = graph(&h, "complaint --format svg");
	cr_expect(strstr(svg, "<svg"), "%s", svg);
	cr_expect(strstr(svg, "acknowledge [after&#45;sales]") ||
		  strstr(svg, "acknowledge [after-sales]"), "%s", svg);
	free(svg);

	char path[PATH_MAX + 16], args[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/offer.svg", h.dir);
	snprintf(args, sizeof args, "offer --format svg --out '%s'", path);
	char *out = graph(&h, args);
	cr_expect_str_eq(out, "", "--out writes nothing on stdout");
	free(out);
	char *file = th_slurp(path, NULL);
	cr_expect(strstr(file, "<svg") && strstr(file, "pending_approval"));
	free(file);
	th_home_fini(&h);
}

Test(graph, svg_without_dot_says_how_to_install_it)
{
	th_home h;
	th_home_init(&h);
	char cmd[PATH_MAX * 4];
	snprintf(cmd, sizeof cmd,
		 "PATH='%s/nowhere' '%s' --home '%s' graph offer --format svg >'%s/.out' 2>'%s/.err'",
		 h.dir, h.bin, h.dir, h.dir, h.dir);
	int st = system(cmd);
	cr_assert(st != -1 && WIFEXITED(st));
	cr_expect_eq(WEXITSTATUS(st), 2);
	char ef[PATH_MAX + 16], of[PATH_MAX + 16];
	snprintf(ef, sizeof ef, "%s/.err", h.dir);
	snprintf(of, sizeof of, "%s/.out", h.dir);
	char *err = th_slurp(ef, NULL), *out = th_slurp(of, NULL);
	cr_expect(strstr(err, "dot (Graphviz) is not installed") &&
		  strstr(err, "apt-get install graphviz"), "%s", err);
	cr_expect_str_eq(out, "");
	free(err);
	free(out);
	th_home_fini(&h);
}

Test(graph, usage_errors_and_json)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL, *err = NULL;
	cr_expect_eq(th_run(&h, &out, &err, "graph nope"), 2);
	cr_expect(strstr(err, "no process \"nope\"") && strstr(err, "complaint") &&
		  strstr(err, "intervention_report") && strstr(err, "offer") &&
		  strstr(err, "opportunity") && strstr(err, "order"), "%s", err);
	cr_expect_str_eq(out, "");
	free(out);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "graph"), 2);
	cr_expect_eq(th_run(&h, NULL, NULL, "graph offer --format png"), 2);
	cr_expect_eq(th_run(&h, NULL, NULL, "graph offer order"), 2);
	cr_expect_eq(th_run(&h, &out, NULL, "graph --help"), 0);
	cr_expect(strstr(out, "usage: dossier graph PROCESS"), "%s", out);
	free(out);
	cr_expect_eq(th_run(&h, &out, NULL, "--help"), 0);
	cr_expect(strstr(out, "  graph PROCESS"), "%s", out);
	free(out);

	cJSON *j = th_json(&h, 0, "graph opportunity");
	cr_expect_str_eq(th_str(j, "process"), "opportunity");
	cr_expect_str_eq(th_str(j, "format"), "dot");
	cr_expect(strstr(th_str(j, "diagram"), "\"open\" -> \"overdue\" [label=\"after 5bd\""));
	cJSON_Delete(j);
	th_home_fini(&h);
}
