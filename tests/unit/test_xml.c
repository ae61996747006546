/*
 * test_xml.c - the safe XML parser and XPath picks (xml.h): the attack
 * samples of ../shared/corpus/xml/attacks/ refused, DOCTYPE policy cases,
 * depth, size and non-XML inputs, the OASIS UBL 2.1 example Order read
 * with namespaced picks (order lines as node sets with relative
 * sub-picks), every XML file of ../shared/corpus/xml/ parsed by one reused
 * parser, XPath set errors, and every allocation failing in turn. Corpus
 * paths are relative to the repository root, where the tests run.
 */
#include <criterion/criterion.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "mem.h"
#include "xml.h"

#include <libxml/catalog.h>
#include <libxml/tree.h>

#define CORPUS "../shared/corpus/xml/"
#define UBL_ORDER CORPUS "ubl-2.1-oasis-examples/UBL-Order-2.1-Example.xml"
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void setup(void)
{
	ds_mem_init();
	ds_mem_fail_after(-1);
}

TestSuite(xml, .init = setup);

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	ds_err err = { 0 };
	cr_assert_eq(ds_read_file(path, 64u << 20, &buf, len, &err), 0, "%s: %s", path, err.msg);
	return buf;
}

/* Parses s with default limits; returns the code, message in err. */
static int parse_str(const char *s, size_t len, const ds_xml_opts *o, ds_err *err)
{
	ds_xml *x = NULL;
	cr_assert_eq(ds_xml_new(&x, o, err), 0);
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *d = NULL;
	int rc = ds_xml_parse(x, s, len, a, &d, err);
	cr_assert_eq(rc == 0, d != NULL);
	ds_arena_free(a);
	ds_xml_free(x);
	return rc;
}

/* ---- hostile input ---- */

Test(xml, attack_samples_refused)
{
	static const char *files[] = { "xmlbomb.xml", "external.xml" };
	for (size_t i = 0; i < N(files); i++) {
		char path[256];
		size_t len;
		snprintf(path, sizeof path, CORPUS "attacks/%s", files[i]);
		char *buf = slurp(path, &len);
		ds_err err = { 0 };
		int rc = parse_str(buf, len, NULL, &err);
		cr_assert_eq(rc, DS_EINVAL, "%s: %d %s", files[i], rc, err.msg);
		cr_assert_not_null(strstr(err.msg, "XML refused: the DOCTYPE declares the entity"),
				   "%s: %s", files[i], err.msg);
		cr_assert_null(strchr(err.msg, '\n'));
		fprintf(stderr, "xml: %s refused: %s\n", files[i], err.msg);
		free(buf);
	}
}

Test(xml, doctype_policy)
{
	static const struct {
		const char *xml;
		int rc;
		const char *msg;
	} cases[] = {
		{ "<!DOCTYPE r [<!ELEMENT r ANY>]><r>x</r>", 0, NULL },
		{ "<!DOCTYPE r><r/>", 0, NULL },
		{ "<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/r.dtd\"><r/>", DS_EINVAL,
		  "refers to an external DTD" },
		{ "<!DOCTYPE r PUBLIC \"-//X//Y//EN\" \"r.dtd\"><r/>", DS_EINVAL,
		  "refers to an external DTD" },
		{ "<!DOCTYPE r [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><r/>", DS_EINVAL,
		  "declares the entity \"p\"" },
		{ "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>", DS_EINVAL,
		  "declares the entity \"e\"" },
		{ "<!DOCTYPE r [<!NOTATION n SYSTEM \"n\"><!ENTITY u SYSTEM \"u\" NDATA n>]><r/>",
		  DS_EINVAL, "declares the entity \"u\"" },
		{ "<r>&undeclared;</r>", DS_EINVAL, "not well-formed" },
		{ "<r>&lt;&#233;&amp;</r>", 0, NULL },
	};
	for (size_t i = 0; i < N(cases); i++) {
		ds_err err = { 0 };
		int rc = parse_str(cases[i].xml, strlen(cases[i].xml), NULL, &err);
		cr_assert_eq(rc, cases[i].rc, "case %zu: %d %s", i, rc, err.msg);
		if (cases[i].msg)
			cr_assert_not_null(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
	}
}

Test(xml, depth_limits)
{
	/* A depth bomb: 100,000 nested elements. */
	size_t depth = 100000;
	char *buf = malloc(depth * 3 + 1);
	for (size_t i = 0; i < depth; i++)
		memcpy(buf + i * 3, "<a>", 3);
	buf[depth * 3] = '\0';
	ds_err err = { 0 };
	cr_assert_eq(parse_str(buf, depth * 3, NULL, &err), DS_ELIMIT, "%s", err.msg);
	cr_assert_str_eq(err.msg, "XML nesting deeper than 100 elements (max_depth)");
	free(buf);

	ds_xml_opts o = { .max_depth = 3 };
	const char *ok = "<a><b><c/></b></a>", *deep = "<a><b><c><d/></c></b></a>";
	cr_assert_eq(parse_str(ok, strlen(ok), &o, &err), 0, "%s", err.msg);
	cr_assert_eq(parse_str(deep, strlen(deep), &o, &err), DS_ELIMIT);
	cr_assert_str_eq(err.msg, "XML nesting deeper than 3 elements (max_depth)");

	o.max_depth = 257;
	ds_xml *x = NULL;
	cr_assert_eq(ds_xml_new(&x, &o, &err), DS_ECONFIG);
	cr_assert_null(x);
}

Test(xml, not_xml_and_oversized)
{
	static const char *bad[] = { "", "hello, world", "{\"json\": true}", "<a><b></a>",
				     "<a>\xff\xfe</a>", "<a/><b/>", "\0<a/>" };
	for (size_t i = 0; i < N(bad); i++) {
		ds_err err = { 0 };
		size_t len = i == N(bad) - 1 ? 5 : strlen(bad[i]);
		cr_assert_eq(parse_str(bad[i], len, NULL, &err), DS_EINVAL, "case %zu", i);
		cr_assert_not_null(strstr(err.msg, "XML not well-formed"), "case %zu: %s", i, err.msg);
		cr_assert_null(strchr(err.msg, '\n'));
	}
	ds_err err = { 0 };
	cr_assert_eq(parse_str(NULL, 0, NULL, &err), DS_EINVAL);

	/* UTF-16 without a BOM or a declaration is named as such; with a BOM,
	 * or starting "<?xml", libxml2 reads it */
	static const char le[] = "<\0a\0/\0>\0", be[] = "\0<\0a\0/\0>";
	static const char bom[] = "\xff\xfe<\0a\0/\0>\0";
	const char *ascii = "<?xml version=\"1.0\"?><a/>";
	char decl[64];
	for (size_t k = 0; k <= strlen(ascii); k++)
		decl[2 * k] = ascii[k], decl[2 * k + 1] = '\0';
	cr_assert_eq(parse_str(le, sizeof le - 1, NULL, &err), DS_EINVAL);
	cr_assert(strstr(err.msg, "look like UTF-16 without a byte order mark"), "%s", err.msg);
	cr_assert_eq(parse_str(be, sizeof be - 1, NULL, &err), DS_EINVAL);
	cr_assert(strstr(err.msg, "look like UTF-16"), "%s", err.msg);
	cr_assert_eq(parse_str(bom, sizeof bom - 1, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(parse_str(decl, 2 * strlen(ascii), NULL, &err), 0, "%s", err.msg);

	ds_xml_opts o = { .max_size = 1000 };
	char *big = malloc(1001);
	memset(big, ' ', 1001);
	memcpy(big, "<a>", 3);
	memcpy(big + 997, "</a>", 4);
	cr_assert_eq(parse_str(big, 1001, &o, &err), DS_ELIMIT);
	cr_assert_str_eq(err.msg, "XML input of 1001 bytes is larger than 1000 (max_size)");
	cr_assert_eq(parse_str(big + 1, 1000, &o, &err), DS_EINVAL, "%s", err.msg);
	free(big);
}

/* ---- XPath ---- */

static const ds_xml_ns ubl_ns[] = {
	{ "ord", "urn:oasis:names:specification:ubl:schema:xsd:Order-2" },
	{ "cac", "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" },
	{ "cbc", "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" },
};

static size_t add(ds_xpath_set *s, const char *e)
{
	size_t i = 99;
	ds_err err = { 0 };
	cr_assert_eq(ds_xpath_set_add(s, e, &i, &err), 0, "%s: %s", e, err.msg);
	cr_assert_str_eq(ds_xpath_set_expr(s, i), e);
	return i;
}

static void expect(const ds_xpath_set *s, size_t i, ds_xml_doc *d, const ds_xml_node *node,
		   ds_arena *a, const char *want)
{
	const char *v = "unset";
	ds_err err = { 0 };
	cr_assert_eq(ds_xpath_eval_string(s, i, d, node, a, &v, &err), 0, "%s",
		     err.msg);
	if (want)
		cr_assert_str_eq(v ? v : "(missing)", want, "%s", ds_xpath_set_expr(s, i));
	else
		cr_assert_null(v, "%s gave %s", ds_xpath_set_expr(s, i), v);
}

/* A parser and an empty set of picks with the UBL prefixes. */
static void open_ubl(ds_xml **x, ds_xpath_set **s)
{
	ds_err err = { 0 };
	cr_assert_eq(ds_xml_new(x, NULL, &err), 0);
	cr_assert_eq(ds_xpath_set_new(s, ubl_ns, N(ubl_ns), &err), 0, "%s", err.msg);
}

Test(xml, ubl_order_picks)
{
	size_t len;
	char *buf = slurp(UBL_ORDER, &len);
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	open_ubl(&x, &s);
	size_t id = add(s, "/ord:Order/cbc:ID");
	size_t date = add(s, "/ord:Order/cbc:IssueDate");
	size_t buyer = add(s, "/ord:Order/cac:BuyerCustomerParty/cac:Party/cac:PartyName/cbc:Name");
	size_t cur = add(s, "/ord:Order/cbc:DocumentCurrencyCode");
	size_t lines = add(s, "/ord:Order/cac:OrderLine");
	size_t l_id = add(s, "cac:LineItem/cbc:ID");
	size_t l_qty = add(s, "cac:LineItem/cbc:Quantity");
	size_t l_unit = add(s, "cac:LineItem/cbc:Quantity/@unitCode");
	size_t l_price = add(s, "cac:LineItem/cac:Price/cbc:PriceAmount");
	size_t l_name = add(s, "cac:LineItem/cac:Item/cbc:Name");
	size_t t_line = add(s, "/ord:Order/cac:AnticipatedMonetaryTotal/cbc:LineExtensionAmount");
	size_t t_pay = add(s, "/ord:Order/cac:AnticipatedMonetaryTotal/cbc:PayableAmount");
	size_t t_tax = add(s, "/ord:Order/cac:TaxTotal/cbc:TaxAmount");
	size_t none = add(s, "/ord:Order/cbc:Nothing");
	size_t count = add(s, "count(//cac:OrderLine)");
	size_t sum = add(s, "sum(//cac:LineItem/cbc:LineExtensionAmount)");
	size_t has = add(s, "boolean(/ord:Order/cac:Contract)");
	size_t nan = add(s, "number('x')");
	size_t blank = add(s, "string(/ord:Order/cbc:Nothing)");
	size_t names = add(s, "/ord:Order/cac:OrderLine/cac:LineItem/cac:Item/cbc:Name");
	size_t profile = add(s, "/ord:Order/cbc:ProfileID");
	cr_assert_eq(ds_xpath_set_count(s), 21);

	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *d = NULL;
	cr_assert_eq(ds_xml_parse(x, buf, len, a, &d, &err), 0, "%s", err.msg);
	cr_assert_str_eq((const char *)ds_xml_doc_root(d)->name, "Order");
	cr_assert_not_null(ds_xml_doc_tree(d));

	expect(s, id, d, NULL, a, "34");
	expect(s, date, d, NULL, a, "2010-01-20");
	expect(s, buyer, d, NULL, a, "Johnssons byggvaror");
	expect(s, cur, d, NULL, a, "SEK");
	expect(s, t_line, d, NULL, a, "6225");
	expect(s, t_pay, d, NULL, a, "6225");
	expect(s, t_tax, d, NULL, a, "100");
	expect(s, none, d, NULL, a, NULL);
	expect(s, count, d, NULL, a, "2");
	expect(s, sum, d, NULL, a, "6225");
	expect(s, has, d, NULL, a, "true");
	expect(s, nan, d, NULL, a, NULL);
	expect(s, blank, d, NULL, a, NULL);
	/* Text split over a line break inside the tag is trimmed. */
	expect(s, profile, d, NULL, a, "urn:www.cenbii.eu:profile:BII01:ver1.0");

	/* Order lines: nodes, then sub-picks relative to each. */
	static const char *want[][5] = {
		{ "1", "120", "LTR", "50", "Falu Rödfärg" },
		{ "2", "15", "C62", "15", "Pensel 20 mm" },
	};
	ds_xml_node **nodes = NULL;
	size_t n = 0;
	cr_assert_eq(ds_xpath_eval_nodes(s, lines, d, NULL, a, &nodes, &n, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(n, 2);
	for (size_t k = 0; k < n; k++) {
		expect(s, l_id, d, nodes[k], a, want[k][0]);
		expect(s, l_qty, d, nodes[k], a, want[k][1]);
		expect(s, l_unit, d, nodes[k], a, want[k][2]);
		expect(s, l_price, d, nodes[k], a, want[k][3]);
		expect(s, l_name, d, nodes[k], a, want[k][4]);
		/* An absolute path ignores the context node. */
		expect(s, id, d, nodes[k], a, "34");
	}
	fprintf(stderr, "xml: UBL order 34: %zu lines, 21 picks\n", n);

	const char **strs = NULL;
	cr_assert_eq(ds_xpath_eval_strings(s, names, d, NULL, a, &strs, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(strs[0], "Falu Rödfärg");
	cr_assert_str_eq(strs[1], "Pensel 20 mm");
	cr_assert_eq(ds_xpath_eval_strings(s, count, d, NULL, a, &strs, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(strs[0], "2");
	cr_assert_eq(ds_xpath_eval_strings(s, none, d, NULL, a, &strs, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(strs);
	cr_assert_eq(ds_xpath_eval_strings(s, blank, d, NULL, a, &strs, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(ds_xpath_eval_nodes(s, none, d, NULL, a, &nodes, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(nodes);
	cr_assert_eq(ds_xpath_eval_nodes(s, count, d, NULL, a, &nodes, &n, &err), DS_EINVAL);
	cr_assert_str_eq(err.msg, "XPath \"count(//cac:OrderLine)\" selects a value, not nodes");

	ds_arena_free(a);
	ds_xpath_set_free(s);
	ds_xml_free(x);
	free(buf);
}

static const char mixed_doc[] =
	"<?xml version=\"1.0\"?>\n"
	"<ord:Order xmlns:ord=\"urn:oasis:names:specification:ubl:schema:xsd:Order-2\"\n"
	" xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\"\n"
	" xmlns:x=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\">\n"
	"  <ID>  A-1 </ID>\n"
	"  <ID>A-2</ID>\n"
	"  <Note><![CDATA[ cdata <b> ]]></Note>\n"
	"  <Note>mixed <!-- c --> text <ID>inner</ID> tail&amp;more</Note>\n"
	"  <Note>   </Note>\n"
	"  <Note/>\n"
	"  <Note>  Soci\xc3\xa9t\xc3\xa9 \t \xc5\x92nologique  \xc3\xa9lan </Note>\n"
	"  <x:OrderLine><x:LineItem><ID unit=\"C62\" x:unit=\"ns\">1</ID>"
	"<ID unit=\"\">1b</ID></x:LineItem></x:OrderLine>\n"
	"  <x:OrderLine><x:LineItem><ID>2</ID></x:LineItem>"
	"<x:LineItem><ID unit=\"HUR\">3</ID></x:LineItem></x:OrderLine>\n"
	"  <x:OrderLine/>\n"
	"  <plain><ID>no namespace</ID></plain>\n"
	"  <cbc:ID xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">"
	"by another prefix</cbc:ID>\n"
	"</ord:Order>\n";

/* Each path must give what libxml2's evaluator gives for the same path in
 * parentheses (which xml.c leaves to libxml2 whole): strings, all strings
 * and (when nodes) nodes, from the document and from each element as the
 * context node. Returns the number of evaluations compared. */
static size_t compare_as_libxml2(const char *const *paths, size_t npaths, bool nodes)
{
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, &err), 0);
	cr_assert_eq(ds_xpath_set_new(&s, ubl_ns, N(ubl_ns), &err), 0, "%s", err.msg);
	size_t fast[128], lib[128];
	cr_assert_leq(npaths, N(fast));
	char wrapped[512];
	for (size_t k = 0; k < npaths; k++) {
		fast[k] = add(s, paths[k]);
		snprintf(wrapped, sizeof wrapped, "(%s)", paths[k]);
		lib[k] = add(s, wrapped);
	}
	size_t every = add(s, "//* | //@*");
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *d = NULL;
	cr_assert_eq(ds_xml_parse(x, mixed_doc, sizeof mixed_doc - 1, a, &d, &err), 0, "%s",
		     err.msg);
	ds_xml_node **ctx = NULL;
	size_t nctx = 0;
	cr_assert_eq(ds_xpath_eval_nodes(s, every, d, NULL, a, &ctx, &nctx, &err), 0);
	cr_assert_gt(nctx, 20);
	size_t compared = 0;
	for (size_t c = 0; c <= nctx; c++) {
		const ds_xml_node *node = c ? ctx[c - 1] : NULL;
		for (size_t k = 0; k < npaths; k++) {
			const char *v1 = "unset", *v2 = "unset";
			cr_assert_eq(ds_xpath_eval_string(s, fast[k], d, node, a, &v1, &err), 0, "%s: %s",
				     paths[k], err.msg);
			cr_assert_eq(ds_xpath_eval_string(s, lib[k], d, node, a, &v2, &err), 0);
			cr_assert((!v1 && !v2) || (v1 && v2 && !strcmp(v1, v2)), "%s at %zu: %s, not %s",
				  paths[k], c, v1 ? v1 : "(missing)", v2 ? v2 : "(missing)");
			const char **s1 = NULL, **s2 = NULL;
			size_t n1 = 0, n2 = 0;
			cr_assert_eq(ds_xpath_eval_strings(s, fast[k], d, node, a, &s1, &n1, &err), 0);
			cr_assert_eq(ds_xpath_eval_strings(s, lib[k], d, node, a, &s2, &n2, &err), 0);
			cr_assert_eq(n1, n2, "%s at %zu: %zu strings, not %zu", paths[k], c, n1, n2);
			for (size_t i = 0; i < n1; i++)
				cr_assert_str_eq(s1[i], s2[i], "%s at %zu, #%zu", paths[k], c, i);
			compared++;
			if (!nodes)
				continue;
			ds_xml_node **m1 = NULL, **m2 = NULL;
			cr_assert_eq(ds_xpath_eval_nodes(s, fast[k], d, node, a, &m1, &n1, &err), 0);
			cr_assert_eq(ds_xpath_eval_nodes(s, lib[k], d, node, a, &m2, &n2, &err), 0);
			cr_assert_eq(n1, n2, "%s at %zu: %zu nodes, not %zu", paths[k], c, n1, n2);
			for (size_t i = 0; i < n1; i++)
				cr_assert_eq(m1[i], m2[i], "%s at %zu, node #%zu", paths[k], c, i);
		}
	}
	ds_arena_free(a);
	ds_xpath_set_free(s);
	ds_xml_free(x);
	return compared;
}

/* A set with the UBL namespaces, for checking how expressions are taken. */
static ds_xpath_set *ubl_set(void)
{
	ds_err err = { 0 };
	ds_xpath_set *s = NULL;
	cr_assert_eq(ds_xpath_set_new(&s, ubl_ns, N(ubl_ns), &err), 0, "%s", err.msg);
	return s;
}

/* Plain paths are walked by xml.c itself. */
Test(xml, plain_paths_as_libxml2)
{
	static const char *const paths[] = {
		"/ord:Order", "/ord:Order/cbc:ID", "/ord:Order/cbc:Note", "/ord:Order/cbc:Nothing",
		"/cbc:Order", "/Order", "/ord:Order/cac:OrderLine",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID/@unit",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID/@none", "/ord:Order/plain/ID",
		"/ord:Order/plain", "/ord:Order/cbc:Note/cbc:ID", "cbc:ID", "cac:LineItem",
		"cac:LineItem/cbc:ID", "cac:LineItem/cbc:ID/@unit", "cbc:ID/@unit", "@unit",
		"ID", "plain/ID", "ord:Order/cbc:ID",
		/* parent steps first: from one node, one node */
		"../cbc:ID", "../cbc:Note", "../ID", "../../cac:LineItem/cbc:ID",
		"../../plain/ID", "../cbc:ID/@unit", "../@unit", "../../../ord:Order/cbc:ID",
		"../../../../ord:Order",
	};
	fprintf(stderr, "xml: plain paths: %zu evaluations as libxml2's\n",
		compare_as_libxml2(paths, N(paths), true));
}

/* Paths that begin plain and go on with predicates are split, unions of
 * them taken part by part; those that cannot be (a predicate asking the
 * position, or a number, or a path) go to libxml2 whole. All must give
 * what libxml2 gives. */
Test(xml, split_paths_and_unions_as_libxml2)
{
	static const char *const paths[] = {
		"/ord:Order/cac:OrderLine[cac:LineItem/cbc:ID = '2']/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine/cac:LineItem[cbc:ID = '3' or cbc:ID = '1b']/cbc:ID",
		"/ord:Order/cac:OrderLine/cac:LineItem[cbc:ID/@unit != '']/cbc:ID/@unit",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[@unit = 'HUR' or not(@unit)]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[starts-with(., '1')]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[ contains(., 'b') ]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[not(number(.) = 1)]",
		"/ord:Order/cbc:ID[normalize-space(.) != normalize-space(../cbc:ID[2])]",
		"/ord:Order/cbc:Note[. != ']']",
		"/ord:Order/cbc:Note[string-length(.) > 3]/cbc:ID",
		"/ord:Order/cac:OrderLine[1]/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine[last()]/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine[position() = 2]/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine[cac:LineItem]/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine[count(cac:LineItem) = 2][1]/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine/cac:LineItem[cbc:ID and cbc:ID != '2'][1]/cbc:ID",
		"/ord:Order/cac:OrderLine[cac:LineItem]//cbc:ID",
		"cac:LineItem[cbc:ID = '3']/cbc:ID",
		"cbc:ID[. = '1b']/@unit",
		"/ord:Order/cbc:Note | /ord:Order/cbc:ID",
		"/ord:Order/cbc:ID | /ord:Order/cbc:Note",
		"/ord:Order/cac:OrderLine[2]/cac:LineItem/cbc:ID | /ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[. = '1b']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[. = '3'] | /ord:Order/plain/ID",
		"/ord:Order/cbc:Nothing | /ord:Order/plain/ID | /ord:Order/cbc:Note[. = 'x']",
		"cbc:ID | cac:LineItem/cbc:ID",
		"/ord:Order/cbc:ID | /ord:Order/cbc:ID",
		"/ord:Order/cbc:ID/@x | /ord:Order/cac:OrderLine/cac:LineItem/cbc:ID/@unit",
		"../cbc:ID[. = '1b']", "../../cac:LineItem[cbc:ID = '3']/cbc:ID",
		"../cbc:Note | ../cbc:ID",
	};
	fprintf(stderr, "xml: split paths and unions: %zu evaluations as libxml2's\n",
		compare_as_libxml2(paths, N(paths), true));
	/* And they are taken the way meant. */
	static const struct {
		const char *path, *how;
	} hows[] = {
		{ "/ord:Order/cbc:ID", "plain" },
		{ "/ord:Order/cac:OrderLine[cac:LineItem/cbc:ID = '2']/cac:LineItem/cbc:ID", "split-native" },
		{ "cbc:ID[. = '1b']/@unit", "split-native" },
		{ "/ord:Order/cbc:ID[not(@x)]", "split-native" },
		{ "/ord:Order/cbc:ID[number(.) mod 2 = 1]", "split" },
		{ "/ord:Order/cbc:ID[. = 'x'][. = 'y']", "split" },
		{ "/ord:Order/cbc:Note | /ord:Order/cbc:ID[. = 'x']", "union" },
		{ "/ord:Order/cac:OrderLine[1]/cac:LineItem/cbc:ID", "libxml2" },
		{ "/ord:Order/cac:OrderLine[last()]/cbc:ID", "libxml2" },
		{ "/ord:Order/cac:OrderLine[position() = 2]/cbc:ID", "libxml2" },
		{ "/ord:Order/cac:OrderLine[cac:LineItem]/cbc:ID", "libxml2" },
		{ "/ord:Order/cac:OrderLine[. = 'x']//cbc:ID", "libxml2" },
		{ "/ord:Order/cac:OrderLine[. = 'x']/../cbc:ID", "libxml2" },
		{ "/ord:Order/cbc:ID | count(//ord:Order)", "libxml2" },
		{ "normalize-space(/ord:Order/cbc:ID)", "native" },
		{ "count(/ord:Order/cbc:ID)", "bound" },
		{ "(normalize-space(/ord:Order/cbc:ID))", "libxml2" },
		{ "normalize-space(//cbc:ID)", "libxml2" },
		{ "normalize-space(/ord:Order/cbc:ID[1])", "libxml2" },
		{ "name(/ord:Order/*)", "libxml2" },
		{ "concat('/ord:Order/cbc:ID', cbc:ID)", "native" },
		{ "concat('/ord:Order/cbc:ID', cbc:ID[1])", "libxml2" },
		{ "/ord:Order/cbc:ID/@unit[. = 'x']", "libxml2" },
		{ "../cbc:Note", "plain" },
		{ "../../cac:LineItem[cbc:ID = '3']/cbc:ID", "split-native" },
		{ "/../cbc:Note", "libxml2" },
		{ "cbc:ID/../cbc:Note", "libxml2" },
		{ "..//cbc:Note", "libxml2" },
	};
	ds_err err = { 0 };
	ds_xpath_set *s = NULL;
	cr_assert_eq(ds_xpath_set_new(&s, ubl_ns, N(ubl_ns), &err), 0, "%s", err.msg);
	for (size_t k = 0; k < N(hows); k++)
		cr_expect_str_eq(ds_xpath_set_how(s, add(s, hows[k].path)), hows[k].how, "%s",
				 hows[k].path);
	ds_xpath_set_free(s);
}

/* The predicates of split paths and the expressions of functions that
 * xml.c evaluates itself (and those it leaves to libxml2 beside them):
 * every conversion and comparison of XPath 1.0 they use, from every
 * element and attribute, as libxml2 gives them. */
Test(xml, predicates_and_functions_as_libxml2)
{
	static const char *const preds[] = {
		"/ord:Order/cbc:ID[. = 'A-2']", "/ord:Order/cbc:ID[normalize-space(.) = 'A-1']",
		"/ord:Order/cbc:ID[. != 'A-2']", "/ord:Order/cbc:ID[. = ../cbc:ID]",
		"/ord:Order/cbc:ID[. != ../cbc:ID]", "/ord:Order/cbc:ID[../plain/ID = .]",
		"/ord:Order/cbc:ID[(. = 'A-2') = true()]", "/ord:Order/cbc:ID[@x = false()]",
		"/ord:Order/cbc:ID[boolean(.) != false()]", "/ord:Order/cbc:ID[@x != ../cbc:ID]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[@unit = 'C62' or @unit = 'HUR']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[@unit != 'C62']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[not(@unit)]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[boolean(@unit)]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[number(.) = 1]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[number(.) != 1]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[not(number(.) = 1)]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[. = 1]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[. != 3]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[number(.) = '1']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[string-length(.) = 2]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[string-length(translate(., 'b', '')) = '1']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[starts-with(., '1') and contains(., 'b')]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[contains(., '') and starts-with(., '')]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[concat(., '|', @unit) = '1|C62']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[string(@unit) = '' or string() = '3']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[(@unit = 'C62' or not(@unit)) and . != '2']",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[number(.) = 3 or number(.) = 2]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[number(@unit) != 0]",
		"/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[@unit = 'HUR' or (not(@unit) and "
		"string-length(translate(., ' ', '')) != 9 and (not(../../cac:Nothing) or "
		"translate(normalize-space(../cbc:ID), 'b', 'B') = '1B'))]",
		"/ord:Order/cac:OrderLine/cac:LineItem[cbc:ID = '3']/cbc:ID/@unit",
		"/ord:Order/cac:OrderLine[cac:LineItem/cbc:ID != '2']/cac:LineItem/cbc:ID",
		"/ord:Order/cac:OrderLine[true()]/cac:LineItem", "/ord:Order/cbc:Note[false()]",
		"/ord:Order/cbc:Note[normalize-space() = '']",
		"/ord:Order/cbc:Note[normalize-space(.) = 'mixed text inner tail&more']",
		"/ord:Order/cbc:Note[translate(., '\xc3\xa9\xc5\x92 ', 'eO') = 'SocieteOnologiqueelan']",
		"/ord:Order/cbc:Note[string-length(normalize-space(.)) = 25]",
		"/ord:Order/cbc:Note[contains(translate(., 'aa\xc3\xa9', 'bcE'), 'SociEtE')]",
		"cac:LineItem[cbc:ID = 3]/cbc:ID", "cbc:ID[@unit = '']/@unit",
		"../cbc:ID[. = 'A-2' or . = '1b']",
		/* and beside them, left to libxml2 */
		"/ord:Order/cbc:Note[string-length() > 3]", "/ord:Order/cbc:ID[. = 1.0]",
		"/ord:Order/cbc:ID[number(.) mod 2 = 1]",
	};
	fprintf(stderr, "xml: native predicates: %zu evaluations as libxml2's\n",
		compare_as_libxml2(preds, N(preds), true));
	ds_xpath_set *s = ubl_set();
	for (size_t k = 0; k < N(preds); k++)
		cr_expect_str_eq(ds_xpath_set_how(s, add(s, preds[k])),
				 k + 3 < N(preds) ? "split-native" : "split", "%s", preds[k]);
	static const char *const fns[] = {
		"normalize-space(.)", "string(.)", "string-length(.)", "number(.)", "boolean(.)",
		"not(.)", "translate(., 'A-', 'a')", "concat(., '-', @unit)",
		"string-length(normalize-space(/ord:Order/cbc:Note))",
		"number(/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID)", "number('  12  ')",
		"number('1e3')", "number('-0')", "number('.5')", "number('1.')", "number('- 1')",
		"starts-with(/ord:Order/cbc:ID, '  A')", "contains(/ord:Order/cbc:Note, 'cdata')",
		"/ord:Order/cbc:ID = 'A-2'", "/ord:Order/cbc:ID != /ord:Order/cbc:ID", "@unit = 'C62'",
		"true()", "false()", "1 = 1", "1 = '1'", "'a' = 'a'", "'' != ''", "0 = false()",
		"'0' = true()", "number('x') != number('x')", "number('x') = number('x')",
		"translate('Soci\xc3\xa9t\xc3\xa9 \xc5\x92no', '\xc3\xa9\xc5\x92', 'eO')",
		"string-length('\xc5\x92\xc3\xa9')", "concat(1, 2)", "number(true())",
		"concat(true(), 1, false())", "string(number('7.50'))", "string(0 = 0)",
		"concat(/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID, @unit, ../@unit)",
		"normalize-space(concat(' a ', '  b', 'c  '))", "translate('abcabc', 'aab', 'xyz')",
		"string(/ord:Order/cbc:Nothing)", "boolean(/ord:Order/cbc:Nothing)",
		"not(/ord:Order/cbc:ID = 'nothing')",
		"substring(., 2)", "substring(., 2, 3)", "substring(., 3 div 2, 13 div 5)",
		"substring(., 0, 3)", "substring(., 0 - 1, 3)", "substring(., 0 div 0, 3)",
		"substring(., 1, 0 div 0)", "substring(., 1 div 0)", "substring(., 2, 0 - 1)",
		"substring(., (0 - 1) div 0, 1 div 0)", "substring(., 3000000000)",
		"substring(., 1, 3000000000)", "substring(., 5 div 2)", "substring(., 2, 5 div 2)",
		"substring('\xc5\x92\xc3\xa9x', 2, 1)", "substring('12345', 14999 div 10000, 25001 div 10000)",
		"concat(substring(., 1, 400 * not(@unit)), '|')", "1 + 2 * 3", "7 div 2", "1 - 3 - 4",
		"10 div 0", "0 div 0", "string-length(.) * 2 - 1", "number(.) + 1", "@unit * 1",
		"concat(2 div 3, '')", "1 div 3 = 5 div 10 - 1 div 6",
	};
	/* Beside them, what is left to libxml2 (decimals, unary minus, mod). */
	static const char *const others[] = {
		"substring(., 1.5, 2.6)", "substring(., -1, 3)", "substring(., 2.5)", "-1 + 1",
		"substring('12345', 1.4999, 2.5001)", "7 mod 2", "1 div 3 = 0.5 - 1 div 6",
	};
	fprintf(stderr, "xml: beside them, libxml2: %zu evaluations\n",
		compare_as_libxml2(others, N(others), false));
	fprintf(stderr, "xml: native functions: %zu evaluations as libxml2's\n",
		compare_as_libxml2(fns, N(fns), false));
	for (size_t k = 0; k < N(fns); k++)
		cr_expect_str_eq(ds_xpath_set_how(s, add(s, fns[k])), "native", "%s", fns[k]);
	ds_xpath_set_free(s);
}

/* Functions over absolute plain paths: the paths are walked by xml.c and
 * given to libxml2 as variables, which must change nothing. */
Test(xml, bound_paths_as_libxml2)
{
	static const char *const exprs[] = {
		"normalize-space(concat(/ord:Order/cbc:ID, ' ', /ord:Order/cbc:Note))",
		"translate(/ord:Order/cbc:ID, ' -', '')",
		"concat(/ord:Order/cbc:Nothing, 'x')",
		"normalize-space(concat(/ord:Order/plain/ID, substring(concat(/ord:Order/cbc:ID, ' ', "
		"/ord:Order/cbc:Note), 1, 400 * not(/ord:Order/plain/ID))))",
		"normalize-space(concat(/ord:Order/cbc:Nothing, substring(concat(/ord:Order/cbc:ID, ' ', "
		"/ord:Order/cbc:Note), 1, 400 * not(/ord:Order/cbc:Nothing))))",
		"count(/ord:Order/cac:OrderLine/cac:LineItem)",
		"sum(/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID)",
		"string(/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID/@unit)",
		"boolean(/ord:Order/cbc:Note)",
		"concat(cbc:ID, '|', /ord:Order/cbc:ID)",
		"string((/ord:Order/cbc:ID)[2])",
		"concat('/ord:Order/cbc:ID', /ord:Order/cbc:ID , ',', /ord:Order/plain/ID)",
		"concat(\"a')\", /ord:Order/cbc:ID)",
		"string-length(/ord:Order/cbc:Note) > 3",
		"count(/ord:Order/cac:OrderLine | /ord:Order/cbc:ID)",
		"sum(/ord:Order/cac:OrderLine/cac:LineItem/cbc:ID[. != '1b'])",
	};
	fprintf(stderr, "xml: bound paths: %zu evaluations as libxml2's\n",
		compare_as_libxml2(exprs, N(exprs), false));
	ds_xpath_set *s = ubl_set();
	/* Those of functions xml.c knows are evaluated by it whole. */
	static const char *const hows[] = {
		"native", "native", "native", "native", "native", "bound", "bound", "native", "native",
		"native", "bound", "native", "native", "bound", "libxml2", "libxml2",
	};
	cr_assert_eq(N(hows), N(exprs));
	for (size_t k = 0; k < N(exprs); k++)
		cr_expect_str_eq(ds_xpath_set_how(s, add(s, exprs[k])), hows[k], "%s", exprs[k]);
	ds_xpath_set_free(s);
}

Test(xml, xpath_set_errors)
{
	ds_err err = { 0 };
	ds_xpath_set *s = NULL;
	static const ds_xml_ns bad[][2] = {
		{ { "xml", "u" }, { "a", "b" } },
		{ { "a", "" }, { "b", "c" } },
		{ { "a", "u" }, { "a", "v" } },
		{ { "1a", "u" }, { "b", "v" } },
	};
	for (size_t i = 0; i < N(bad); i++) {
		cr_assert_eq(ds_xpath_set_new(&s, bad[i], 2, &err), DS_ECONFIG, "case %zu", i);
		cr_assert_null(s);
	}
	cr_assert_eq(ds_xpath_set_new(&s, ubl_ns, N(ubl_ns), &err), 0);
	cr_assert_eq(ds_xpath_set_add(s, "/ord:Order/cbx:ID", NULL, &err), DS_ECONFIG);
	cr_assert_str_eq(err.msg, "XPath \"/ord:Order/cbx:ID\": the prefix \"cbx\" is not declared");
	cr_assert_eq(ds_xpath_set_add(s, "/ord:Order[", NULL, &err), DS_ECONFIG);
	cr_assert_not_null(strstr(err.msg, "XPath \"/ord:Order[\": "), "%s", err.msg);
	cr_assert_null(strchr(err.msg, '\n'));
	/* Axes, literals, numbers and the xml prefix are not prefixes. */
	cr_assert_eq(ds_xpath_set_add(s, "child::cbc:ID[@xml:lang='x:y' and 1.5 > 1]", NULL, &err),
		     0, "%s", err.msg);
	cr_assert_eq(ds_xpath_set_count(s), 1);
	cr_assert_null(ds_xpath_set_expr(s, 1));
	ds_xpath_set_free(s);
	ds_xpath_set_free(NULL);
	ds_xml_free(NULL);
}

/* An expression whose work grows fast is stopped by the work bound. */
Test(xml, xpath_work_bound)
{
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, &err), 0);
	cr_assert_eq(ds_xpath_set_new(&s, NULL, 0, &err), 0);
	size_t i = add(s, "count(//*[count(//*[count(//*) > 0]) > 0])");
	ds_buf b;
	ds_buf_init(&b, 1 << 20);
	ds_buf_puts(&b, "<r>");
	for (int k = 0; k < 2000; k++)
		ds_buf_puts(&b, "<e/>");
	ds_buf_puts(&b, "</r>");
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *d = NULL;
	cr_assert_eq(ds_xml_parse(x, b.data, b.len, a, &d, &err), 0, "%s", err.msg);
	const char *v = NULL;
	int rc = ds_xpath_eval_string(s, i, d, NULL, a, &v, &err);
	cr_assert_eq(rc, DS_ELIMIT, "%d %s", rc, v ? v : "");
	cr_assert_not_null(strstr(err.msg, "XPath \"count("), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "operations (DS_XPATH_OP_LIMIT)"), "%s", err.msg);
	fprintf(stderr, "xml: work bound: %s\n", err.msg);
	/* A split pick has one budget for all the nodes its plain part finds:
	 * here each of the 2,000 stays under the bound, all together not. */
	size_t j = add(s, "/r/e[count(//*[count(../*) > 0]) < 0]");
	cr_assert_str_eq(ds_xpath_set_how(s, j), "split");
	rc = ds_xpath_eval_string(s, j, d, NULL, a, &v, &err);
	cr_assert_eq(rc, DS_ELIMIT, "%d %s", rc, v ? v : "");
	cr_assert_not_null(strstr(err.msg, "XPath \"/r/e["), "%s", err.msg);
	const char **vs = NULL;
	size_t nv = 0;
	cr_assert_eq(ds_xpath_eval_strings(s, j, d, NULL, a, &vs, &nv, &err), DS_ELIMIT);
	/* So does a predicate xml.c evaluates: 2,000 x 2,000 pairs compared
	 * for each element. */
	size_t k = add(s, "/r/e[../e != ../e]");
	cr_assert_str_eq(ds_xpath_set_how(s, k), "split-native");
	rc = ds_xpath_eval_string(s, k, d, NULL, a, &v, &err);
	cr_assert_eq(rc, DS_ELIMIT, "%d %s", rc, v ? v : "");
	cr_assert_not_null(strstr(err.msg, "XPath \"/r/e[../e != ../e]\": more than"), "%s", err.msg);
	cr_assert_eq(ds_xpath_eval_nodes(s, k, d, NULL, a, &(ds_xml_node **){ NULL }, &nv, &err),
		     DS_ELIMIT);
	ds_arena_free(a);
	ds_buf_free(&b);
	ds_xpath_set_free(s);
	ds_xml_free(x);
}

/* A path in a predicate xml.c evaluates is charged for the nodes it
 * visits: "../x" looks at all 4,001 children of r again from each of the
 * 4,000 heads, 16 million nodes, though it finds one node each time
 * (and no head is picked, so every head is tried). */
Test(xml, xpath_work_bound_visits)
{
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, &err), 0);
	cr_assert_eq(ds_xpath_set_new(&s, NULL, 0, &err), 0);
	ds_buf b;
	ds_buf_init(&b, 1 << 20);
	ds_buf_puts(&b, "<r>");
	for (int k = 0; k < 4000; k++)
		ds_buf_puts(&b, "<e/>");
	ds_buf_puts(&b, "<x>1</x></r>");
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *d = NULL;
	cr_assert_eq(ds_xml_parse(x, b.data, b.len, a, &d, &err), 0, "%s", err.msg);
	const char *exprs[] = { "/r/e[not(../x)]", "/r/e[/r/x = 2]" };
	for (size_t n = 0; n < sizeof exprs / sizeof *exprs; n++) {
		size_t i = add(s, exprs[n]);
		cr_assert_str_eq(ds_xpath_set_how(s, i), "split-native", "%s", exprs[n]);
		const char *v = NULL;
		int rc = ds_xpath_eval_string(s, i, d, NULL, a, &v, &err);
		cr_assert_eq(rc, DS_ELIMIT, "%s: %d %s", exprs[n], rc, v ? v : "");
		cr_assert_not_null(strstr(err.msg, "operations (DS_XPATH_OP_LIMIT)"), "%s", err.msg);
	}
	/* Over fewer heads the same predicate stays under the bound. */
	size_t i = add(s, "/r/x[boolean(../e)]");
	const char *v = NULL;
	cr_assert_eq(ds_xpath_eval_string(s, i, d, NULL, a, &v, &err), 0, "%s", err.msg);
	cr_assert_str_eq(v, "1");
	ds_arena_free(a);
	ds_buf_free(&b);
	ds_xpath_set_free(s);
	ds_xml_free(x);
}

/* Comparing two node-sets xml.c evaluates makes the string-values of the
 * second once, not once for each node of the first, and charges their
 * bytes: 2,000 x 2,000 elements of 2 KB of mixed content (a comment splits
 * the text, so no string-value is one text node) would otherwise copy
 * 8 GB for one comparison under the bound. */
Test(xml, xpath_work_bound_strings)
{
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, &err), 0);
	cr_assert_eq(ds_xpath_set_new(&s, NULL, 0, &err), 0);
	char half[1001];
	ds_buf b;
	ds_buf_init(&b, 16 << 20);
	ds_buf_puts(&b, "<r>");
	for (int k = 0; k < 4000; k++) {
		memset(half, k < 2000 ? 'a' : 'b', 1000);
		half[1000] = '\0';
		ds_buf_puts(&b, k < 2000 ? "<e>" : "<f>");
		ds_buf_puts(&b, half);
		ds_buf_puts(&b, "<!---->");
		ds_buf_puts(&b, half);
		ds_buf_puts(&b, k < 2000 ? "</e>" : "</f>");
	}
	ds_buf_puts(&b, "</r>");
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *d = NULL;
	cr_assert_eq(ds_xml_parse(x, b.data, b.len, a, &d, &err), 0, "%s", err.msg);
	static const struct {
		const char *expr, *how;
	} picks[] = {
		{ "boolean(/r/e = /r/f)", "native" },
		{ "/r/e[../e = ../f]", "split-native" },
		{ "/r/e[../f = ../e]", "split-native" },
	};
	for (size_t n = 0; n < sizeof picks / sizeof *picks; n++) {
		size_t i = add(s, picks[n].expr);
		cr_assert_str_eq(ds_xpath_set_how(s, i), picks[n].how, "%s", picks[n].expr);
		const char *v = NULL;
		int rc = ds_xpath_eval_string(s, i, d, NULL, a, &v, &err);
		cr_assert_eq(rc, DS_ELIMIT, "%s: %d %s", picks[n].expr, rc, v ? v : "");
		cr_assert_not_null(strstr(err.msg, "operations (DS_XPATH_OP_LIMIT)"), "%s", err.msg);
	}
	ds_arena_free(a);
	ds_buf_free(&b);
	ds_xpath_set_free(s);
	ds_xml_free(x);
}

/* ---- the corpus ---- */

static struct {
	ds_xml *x;
	ds_arena *a;
	size_t files, parsed, failed;
} walk;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	size_t n = strlen(path);
	if (type != FTW_F || n < 4 || strcasecmp(path + n - 4, ".xml") || strstr(path, "/attacks/"))
		return 0;
	size_t len;
	char *buf = slurp(path, &len);
	ds_xml_doc *d = NULL;
	ds_err err = { 0 };
	walk.files++;
	if (ds_xml_parse(walk.x, buf, len, walk.a, &d, &err)) {
		walk.failed++;
		fprintf(stderr, "xml: %s: %s\n", path, err.msg);
	} else {
		walk.parsed++;
	}
	ds_arena_reset(walk.a);
	free(buf);
	return 0;
}

Test(xml, corpus_parses)
{
	ds_err err = { 0 };
	cr_assert_eq(ds_xml_new(&walk.x, NULL, &err), 0);
	walk.a = ds_arena_new(4096);
	cr_assert_eq(nftw(CORPUS, visit, 16, FTW_PHYS), 0);
	fprintf(stderr, "xml: corpus: %zu files, %zu parsed, %zu failed\n", walk.files,
		walk.parsed, walk.failed);
	cr_assert_geq(walk.files, 280);
	cr_assert_eq(walk.failed, 0);
	ds_arena_free(walk.a);
	ds_xml_free(walk.x);
}

/* ---- allocation failures ---- */

static int run_all(const char *buf, size_t len)
{
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	ds_arena *a = NULL;
	int rc = ds_xml_new(&x, NULL, &err);
	if (!rc)
		rc = ds_xpath_set_new(&s, ubl_ns, N(ubl_ns), &err);
	size_t lines = 0, qty = 0;
	if (!rc)
		rc = ds_xpath_set_add(s, "/ord:Order/cac:OrderLine", &lines, &err);
	if (!rc)
		rc = ds_xpath_set_add(s, "cac:LineItem/cbc:Quantity", &qty, &err);
	if (!rc && !(a = ds_arena_new(256)))
		rc = DS_ENOMEM;
	ds_xml_doc *d = NULL;
	if (!rc)
		rc = ds_xml_parse(x, buf, len, a, &d, &err);
	ds_xml_node **nodes = NULL;
	size_t n = 0;
	if (!rc)
		rc = ds_xpath_eval_nodes(s, lines, d, NULL, a, &nodes, &n, &err);
	for (size_t k = 0; !rc && k < n; k++) {
		const char *v = NULL;
		rc = ds_xpath_eval_string(s, qty, d, nodes[k], a, &v, &err);
		if (!rc)
			cr_assert_str_eq(v, k ? "15" : "120");
	}
	const char **strs = NULL;
	if (!rc)
		rc = ds_xpath_eval_strings(s, qty, d, nodes[0], a, &strs, &n, &err);
	ds_arena_free(a);
	ds_xpath_set_free(s);
	ds_xml_free(x);
	return rc;
}

Test(xml, allocation_failures)
{
	size_t len;
	char *buf = slurp(UBL_ORDER, &len);
	long k = 0;
	for (;; k++) {
		ds_mem_fail_after(k);
		int rc = run_all(buf, len);
		ds_mem_fail_after(-1);
		if (!rc)
			break;
		cr_assert_eq(rc, DS_ENOMEM, "after %ld allocations: %d", k, rc);
	}
	fprintf(stderr, "xml: allocation failures: %ld points\n", k);
	free(buf);
}

/* A document parsed and picked in a memory zone gives what it gives on the
 * heap; its blocks may be freed in or out of the zone, from heap blocks
 * made before; and an error met in a zone leaves nothing behind that a
 * later error, once the zone is reset, would touch. */
Test(xml, memory_zone)
{
	size_t len;
	char *buf = slurp(UBL_ORDER, &len);
	ds_err err = { 0 };
	ds_xml *x = NULL;
	ds_xpath_set *s = NULL;
	open_ubl(&x, &s);
	size_t id = add(s, "/ord:Order/cbc:ID");
	size_t sum = add(s, "sum(//cac:LineItem/cbc:LineExtensionAmount)");
	xmlChar *heap = xmlStrdup(BAD_CAST "made before the zone");
	ds_arena *zone = ds_arena_new(64 * 1024);
	ds_arena *out = ds_arena_new(4096);
	for (int round = 0; round < 3; round++) {
		ds_xml_zone(zone);
		ds_xml_doc *d = NULL;
		cr_assert_eq(ds_xml_parse(x, buf, len, zone, &d, &err), 0, "%s", err.msg);
		expect(s, id, d, NULL, out, "34");
		expect(s, sum, d, NULL, out, "6225");
		heap = xmlRealloc(heap, 64); /* a heap block stays on the heap */
		cr_assert_str_eq((char *)heap, "made before the zone");
		xmlChar *in = xmlStrdup(BAD_CAST "in the zone");
		in = xmlRealloc(in, 4096);
		cr_assert_str_eq((char *)in, "in the zone");
		cr_assert_neq(parse_str("<a><b></a>", 10, NULL, &err), 0);
		cr_assert(strstr(err.msg, "not well-formed"), "%s", err.msg);
		ds_xml_zone(NULL);
		xmlFree(in); /* out of the zone: nothing */
		ds_arena_reset(zone);
		cr_assert_eq(ds_arena_size(zone), 64 * 1024, "one block left, reused");
		memset(ds_arena_alloc(zone, 60 * 1024), 0xa5, 60 * 1024);
		ds_arena_reset(zone);
		cr_assert_neq(parse_str("<a>&undeclared;</a>", 19, NULL, &err), 0);
	}
	xmlFree(heap);
	/* A document asking for catalogs loads none (nor makes libxml2's
	 * process-wide catalog inside the zone, which its cleanup would free). */
	static const char pi[] = "<?oasis-xml-catalog catalog=\"file:///nonexistent.xml\"?><a/>";
	ds_xml_zone(zone);
	ds_xml_doc *c = NULL;
	cr_assert_eq(ds_xml_parse(x, pi, sizeof pi - 1, zone, &c, &err), 0, "%s", err.msg);
	ds_xml_zone(NULL);
	ds_arena_reset(zone);
	memset(ds_arena_alloc(zone, 60 * 1024), 0xa5, 60 * 1024);
	xmlCatalogCleanup();
	/* The heap again, as before any zone. */
	ds_xml_doc *d = NULL;
	cr_assert_eq(ds_xml_parse(x, buf, len, out, &d, &err), 0, "%s", err.msg);
	expect(s, id, d, NULL, out, "34");
	ds_arena_free(out);
	ds_arena_free(zone);
	ds_xpath_set_free(s);
	ds_xml_free(x);
	free(buf);
}
