/*
 * test_ubl_corpus.c - the OASIS UBL 2.1 example instances of
 * ../shared/corpus/xml/ubl-2.1-oasis-examples/ (read in place) through the
 * erp-orders source, in process: every Order maps to one order record that
 * is valid against schemas/records/order.schema.json and holds what the
 * document says; every other document type (Invoice, OrderResponse,
 * OrderChange...) is no order and maps to nothing, so it is quarantined as
 * unmapped.
 *
 * What the document says is read here with libxml2's own XPath, apart from
 * the source's picks: the ID, the issue date, the buyer's name, the order
 * lines with their quantities and prices, and the payable amount; numbers
 * are compared as exact decimals. Paths are relative to the repository
 * root, where the tests run.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "decimal.h"
#include "json.h"
#include "mem.h"
#include "schema.h"
#include "source.h"
#include "xml.h"

#define CORPUS "../shared/corpus/xml/ubl-2.1-oasis-examples"
#define NS_ORDER "urn:oasis:names:specification:ubl:schema:xsd:Order-2"

struct emitted {
	const char *type[4];
	cJSON *rec[4];
	size_t n;
};

static int emit(void *ud, const char *type, cJSON *record)
{
	struct emitted *e = ud;
	if (e->n == 4) {
		cJSON_Delete(record);
		return DS_ELIMIT;
	}
	e->type[e->n] = type;
	e->rec[e->n++] = record;
	return 0;
}

static void emitted_free(struct emitted *e)
{
	for (size_t i = 0; i < e->n; i++)
		cJSON_Delete(e->rec[i]);
	e->n = 0;
}

static void report(void *ud, const char *pointer, const char *keyword, const char *message)
{
	(void)keyword;
	fprintf(stderr, "ubl corpus: %s: %s: %s\n", (const char *)ud, pointer, message);
}

/* ---- the document read with libxml2 alone ---- */

static xmlXPathContext *xp_context(xmlDoc *doc)
{
	xmlXPathContext *c = xmlXPathNewContext(doc);
	cr_assert_not_null(c);
	xmlXPathRegisterNs(c, BAD_CAST "o", BAD_CAST NS_ORDER);
	xmlXPathRegisterNs(c, BAD_CAST "a",
			   BAD_CAST "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2");
	xmlXPathRegisterNs(c, BAD_CAST "b",
			   BAD_CAST "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2");
	return c;
}

/* The nodes expr selects from node (NULL: the document); caller frees. */
static xmlXPathObject *nodes_at(xmlXPathContext *c, xmlNode *node, const char *expr)
{
	c->node = node ? node : (xmlNode *)c->doc;
	xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, c);
	cr_assert(o && o->type == XPATH_NODESET, "%s", expr);
	return o;
}

/* The text of the first node expr selects, spaces around it removed and
 * inner runs of white space made one space, in buf; "" when none. */
static const char *text_at(xmlXPathContext *c, xmlNode *node, const char *expr, char *buf,
			   size_t size)
{
	xmlXPathObject *o = nodes_at(c, node, expr);
	buf[0] = '\0';
	if (o->nodesetval && o->nodesetval->nodeNr) {
		xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
		size_t n = 0;
		bool space = false;
		for (const xmlChar *p = t; p && *p && n + 2 < size; p++) {
			if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
				space = n > 0;
				continue;
			}
			if (space)
				buf[n++] = ' ';
			space = false;
			buf[n++] = (char)*p;
		}
		buf[n] = '\0';
		xmlFree(t);
	}
	xmlXPathFreeObject(o);
	return buf;
}

static ds_dec dec_of_text(const char *s, const char *what)
{
	ds_dec d;
	cr_assert_eq(ds_dec_parse(s, strlen(s), &d), 0, "%s: \"%s\" is not a decimal", what, s);
	return d;
}

/* The record's value at ptr (a decimal string or a JSON number) equals the
 * decimal text want. */
static void expect_same_decimal(const cJSON *rec, const char *ptr, const char *want,
				const char *file)
{
	const cJSON *v = ds_json_pointer(rec, ptr);
	ds_dec got;
	cr_assert_eq(ds_dec_from_json(v, &got), 0, "%s: no decimal at %s", file, ptr);
	cr_expect_eq(ds_dec_cmp(got, dec_of_text(want, ptr)), 0, "%s: %s is not %s", file, ptr,
		     want);
}

static const char *str_at(const cJSON *rec, const char *ptr)
{
	const cJSON *v = ds_json_pointer(rec, ptr);
	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

/* ---- the walk ---- */

struct corpus {
	ds_source *src;
	ds_schema_set *schemas;
	const ds_schema *order;
	ds_xml *x;
	size_t orders, valid, others, unmapped;
};

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	ds_err err = { 0 };
	cr_assert_eq(ds_read_file(path, 64u << 20, &buf, len, &err), 0, "%s: %s", path, err.msg);
	return buf;
}

/* One Order: the record against what libxml2 reads in the document. */
static void check_order(struct corpus *c, const char *file, xmlDoc *tree, const cJSON *rec)
{
	char want[512], up[512];
	xmlXPathContext *xc = xp_context(tree);

	size_t nerr = 9;
	ds_err err = { 0 };
	cr_assert_eq(ds_schema_validate(c->order, rec, report, (void *)file, &nerr, &err), 0,
		     "%s", err.msg);
	cr_expect_eq(nerr, 0, "%s: the order record is not valid", file);
	c->valid += nerr == 0;

	text_at(xc, NULL, "/o:Order/b:ID", want, sizeof want);
	size_t k = 0;
	for (; want[k]; k++)
		up[k] = (char)(want[k] >= 'a' && want[k] <= 'z' ? want[k] - 32 : want[k]);
	up[k] = '\0';
	cr_expect_str_eq(str_at(rec, "/order_number"), up, "%s: order number", file);
	cr_expect_str_eq(str_at(rec, "/date"),
			 text_at(xc, NULL, "/o:Order/b:IssueDate", want, sizeof want),
			 "%s: issue date", file);
	cr_expect_str_eq(str_at(rec, "/customer/name"),
			 text_at(xc, NULL, "/o:Order/a:BuyerCustomerParty/a:Party/a:PartyName/b:Name",
				 want, sizeof want),
			 "%s: buyer", file);
	cr_expect_str_eq(str_at(rec, "/currency"),
			 text_at(xc, NULL, "/o:Order/b:DocumentCurrencyCode", want, sizeof want),
			 "%s: currency", file);
	expect_same_decimal(rec, "/totals/payable",
			    text_at(xc, NULL, "/o:Order/a:AnticipatedMonetaryTotal/b:PayableAmount",
				    want, sizeof want), file);

	xmlXPathObject *lines = nodes_at(xc, NULL, "/o:Order/a:OrderLine/a:LineItem");
	int n = lines->nodesetval ? lines->nodesetval->nodeNr : 0;
	const cJSON *rl = ds_json_pointer(rec, "/lines");
	cr_assert(n > 0, "%s: an Order has lines", file);
	cr_assert_eq(cJSON_GetArraySize(rl), n, "%s: %d lines in the record, %d in the document",
		     file, cJSON_GetArraySize(rl), n);
	for (int i = 0; i < n; i++) {
		xmlNode *li = lines->nodesetval->nodeTab[i];
		char ptr[64];
		snprintf(ptr, sizeof ptr, "/lines/%d/quantity", i);
		expect_same_decimal(rec, ptr, text_at(xc, li, "b:Quantity", want, sizeof want), file);
		snprintf(ptr, sizeof ptr, "/lines/%d/unit_price", i);
		expect_same_decimal(rec, ptr, text_at(xc, li, "a:Price/b:PriceAmount", want,
						      sizeof want), file);
		snprintf(ptr, sizeof ptr, "/lines/%d/description", i);
		cr_expect_str_eq(str_at(rec, ptr), text_at(xc, li, "a:Item/b:Name", want, sizeof want),
				 "%s: line %d", file, i + 1);
		fprintf(stderr, "ubl corpus: %s line %d: %s x %s at %s\n", file, i + 1,
			text_at(xc, li, "b:Quantity", want, sizeof want),
			str_at(rec, ptr), str_at(cJSON_GetArrayItem(rl, i), "/unit_price"));
	}
	xmlXPathFreeObject(lines);
	xmlXPathFreeContext(xc);
}

static void one_file(struct corpus *c, const char *name)
{
	char path[512];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/%s", CORPUS, name);
	char *buf = slurp(path, &len);
	ds_err err = { 0 };
	ds_arena *a = ds_arena_new(16384);
	ds_xml_doc *doc = NULL;
	cr_assert_eq(ds_xml_parse(c->x, buf, len, a, &doc, &err), 0, "%s: %s", name, err.msg);
	xmlNode *root = ds_xml_doc_root(doc);
	bool is_order = root && root->ns && !strcmp((const char *)root->name, "Order") &&
			!strcmp((const char *)root->ns->href, NS_ORDER);
	bool accepts = true;
	cr_assert_eq(ds_source_accepts_xml(c->src, doc, a, &accepts, &err), 0, "%s: %s", name,
		     err.msg);
	struct emitted e = { .n = 0 };
	int rc = ds_source_map_xml(c->src, doc, NULL, a, emit, &e, &err);
	cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
	if (is_order) {
		c->orders++;
		cr_expect(accepts, "%s: erp-orders does not accept an Order", name);
		cr_assert_eq(e.n, 1, "%s: %zu records from one Order", name, e.n);
		cr_expect_str_eq(e.type[0], "order");
		check_order(c, name, ds_xml_doc_tree(doc), e.rec[0]);
	} else {
		c->others++;
		cr_expect(!accepts, "%s (%s): erp-orders accepts it", name, root->name);
		cr_expect_eq(e.n, 0, "%s (%s): mapped into %zu order record(s)", name, root->name,
			     e.n);
		c->unmapped += !accepts && e.n == 0;
	}
	emitted_free(&e);
	ds_arena_free(a);
	free(buf);
}

static int xml_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && !strcmp(d->d_name + n - 4, ".xml");
}

Test(ubl_corpus, orders_map_to_valid_records_and_other_documents_are_unmapped)
{
	struct corpus c = { 0 };
	ds_err err = { 0 };
	cr_assert_eq(ds_source_load("schemas/sources/erp-orders.json", NULL, &c.src, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(ds_schema_set_load_dir("schemas/records", NULL, &c.schemas, &err), 0, "%s",
		     err.msg);
	c.order = ds_schema_set_get(c.schemas, "order");
	cr_assert_not_null(c.order);
	cr_assert_eq(ds_xml_new(&c.x, NULL, &err), 0, "%s", err.msg);

	struct dirent **names = NULL;
	int n = scandir(CORPUS, &names, xml_name, alphasort);
	cr_assert(n > 0, "no documents in %s", CORPUS);
	for (int i = 0; i < n; i++) {
		one_file(&c, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	printf("ubl corpus: %zu Order instances, %zu valid records\n", c.orders, c.valid);
	printf("ubl corpus: %zu other documents, %zu unmapped\n", c.others, c.unmapped);
	cr_expect_geq(c.orders, 1);
	cr_expect_eq(c.valid, c.orders);
	cr_expect_geq(c.others, 30, "the Invoices, OrderResponses... are there");
	cr_expect_eq(c.unmapped, c.others);

	ds_xml_free(c.x);
	ds_schema_set_free(c.schemas);
	ds_source_free(c.src);
}
