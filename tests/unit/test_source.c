/*
 * test_source.c - mappings of the reference business's sources applied to
 * the fixtures: several records from one interaction, form field picks,
 * normalizers, booleans, defaults, and the errors a mapping reports.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "form.h"
#include "json.h"
#include "source.h"
#include "xml.h"

struct emitted {
	const char *type[8];
	cJSON *rec[8];
	size_t n;
};

static int emit(void *ud, const char *type, cJSON *record)
{
	struct emitted *e = ud;
	cr_assert(e->n < 8);
	e->type[e->n] = type;
	e->rec[e->n++] = record;
	return 0;
}

static void emitted_free(struct emitted *e)
{
	for (size_t i = 0; i < e->n; i++)
		cJSON_Delete(e->rec[i]);
}

static ds_source *load(const char *name)
{
	char path[256];
	ds_source *s = NULL;
	ds_err err = {0};
	snprintf(path, sizeof path, "schemas/sources/%s.json", name);
	cr_assert_eq(ds_source_load(path, NULL, &s, &err), 0, "%s", err.msg);
	return s;
}

static cJSON *form_fixture(const char *name)
{
	char path[256], *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof path, "fixtures/forms/%s", name);
	cr_assert_eq(ds_read_file(path, 1 << 20, &text, &len, NULL), 0);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	ds_form_opts opts = { DS_FORM_MAX_FIELDS, DS_FORM_MAX_NAME, DS_FORM_MAX_VALUE,
			      DS_FORM_MAX_TOTAL, NULL, 0 };
	cJSON *doc = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_form_parse_json(text, len, &opts, DS_FORM_OBJECT, &doc, &err), 0, "%s",
		     err.msg);
	ds_free(text);
	return doc;
}

static const char *str_at(const cJSON *rec, const char *ptr)
{
	const cJSON *v = ds_json_pointer(rec, ptr);
	cr_assert(cJSON_IsString(v), "no string at %s", ptr);
	return v->valuestring;
}

Test(source, one_report_gives_three_records)
{
	ds_source *s = load("intervention-reports");
	cJSON *doc = form_fixture("intervention-0101-need-and-problem.form");
	ds_arena *a = ds_arena_new(4096);
	struct emitted e = { .n = 0 };
	ds_err err = {0};
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e.n, 3);
	cr_expect_str_eq(e.type[0], "intervention_report");
	cr_expect_str_eq(e.type[1], "opportunity");
	cr_expect_str_eq(e.type[2], "complaint");
	cr_expect_str_eq(str_at(e.rec[0], "/date"), "2026-11-23");
	cr_expect_str_eq(str_at(e.rec[0], "/customer/phone"), "+33478000001");
	cr_expect_str_eq(str_at(e.rec[0], "/equipment/serial"), "SD-2211-8841");
	cr_expect(cJSON_IsTrue(ds_json_pointer(e.rec[0], "/need_mentioned")));
	cr_expect(cJSON_IsTrue(ds_json_pointer(e.rec[0], "/problem_reported")));
	cr_expect_str_eq(str_at(e.rec[1], "/intervention_ref"), "INT-2026-0101");
	cr_expect_str_eq(str_at(e.rec[2], "/origin"), "intervention");
	cr_expect_str_eq(str_at(e.rec[2], "/subject"), "Retard de l'intervention");
	emitted_free(&e);
	cJSON_Delete(doc);

	/* a routine visit: one record, the unticked boxes are false */
	doc = form_fixture("intervention-0102-routine.form");
	e.n = 0;
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e.n, 1);
	cr_expect(cJSON_IsFalse(ds_json_pointer(e.rec[0], "/need_mentioned")));
	cr_expect_str_eq(str_at(e.rec[0], "/date"), "2026-11-24");
	cr_expect_null(ds_json_pointer(e.rec[0], "/customer/phone"), "a missing field stays missing");
	emitted_free(&e);
	cJSON_Delete(doc);
	ds_arena_free(a);
	ds_source_free(s);
}

Test(source, contact_form_in_windows_1252)
{
	ds_source *s = load("web-contact");
	cJSON *doc = form_fixture("contact-menard-cp1252.form");
	ds_arena *a = ds_arena_new(4096);
	struct emitted e = { .n = 0 };
	ds_err err = {0};
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e.n, 1);
	cr_expect_str_eq(str_at(e.rec[0], "/name"), "François Ménard");
	cr_expect(strstr(str_at(e.rec[0], "/message"), "Coût €"));
	cr_expect(cJSON_IsTrue(ds_json_pointer(e.rec[0], "/consent_marketing")));
	emitted_free(&e);
	cJSON_Delete(doc);

	doc = form_fixture("contact-legoff-no-consent.form");
	e.n = 0;
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_expect(cJSON_IsFalse(ds_json_pointer(e.rec[0], "/consent_marketing")));
	cr_expect_str_eq(str_at(e.rec[0], "/phone"), "+33298001122");
	emitted_free(&e);
	cJSON_Delete(doc);

	/* a value a normalizer cannot read names the field and shows it */
	doc = form_fixture("broken-contact-bad-phone.form");
	e.n = 0;
	cr_expect_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), DS_EINVAL);
	cr_expect(strstr(err.msg, "telephone") && strstr(err.msg, "01 23"), "%s", err.msg);
	cr_expect_eq(e.n, 0);
	cJSON_Delete(doc);
	ds_arena_free(a);
	ds_source_free(s);
}

/* Checkboxes of one name: "list" gives every value, a single one too; a
 * field sent twice where one value is expected is refused, not guessed. */
Test(source, repeated_form_fields)
{
	ds_source *s = load("web-contact");
	ds_arena *a = ds_arena_new(4096);
	struct emitted e = { .n = 0 };
	ds_err err = {0};
	cJSON *doc = form_fixture("contact-santoni-bastia-0033.form");
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	const cJSON *in = ds_json_pointer(e.rec[0], "/interests");
	cr_assert_eq(cJSON_GetArraySize(in), 3);
	cr_expect_str_eq(cJSON_GetArrayItem(in, 0)->valuestring, "Pompe à chaleur");
	emitted_free(&e);
	cJSON_Delete(doc);

	doc = form_fixture("contact-coeurdevey-iso-8859-1.form");
	e.n = 0;
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	in = ds_json_pointer(e.rec[0], "/interests");
	cr_assert_eq(cJSON_GetArraySize(in), 1, "one box ticked: an array of one");
	cr_expect_str_eq(cJSON_GetArrayItem(in, 0)->valuestring, "Entretien");
	emitted_free(&e);
	cJSON_Delete(doc);

	/* none ticked, or only blank values: no interests at all */
	doc = cJSON_Parse("{\"email\": \"a@example.fr\", \"message\": \"x\", "
			  "\"interets\": [\"\", \"  \"]}");
	e.n = 0;
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_expect_null(ds_json_pointer(e.rec[0], "/interests"));
	emitted_free(&e);
	cJSON_Delete(doc);

	doc = form_fixture("broken-contact-email-twice.form");
	e.n = 0;
	cr_expect_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), DS_EINVAL);
	cr_expect(strstr(err.msg, "email: the form field is sent 2 times (\"v.besson@example.fr\", "
			 "\"veronique.besson@example.com\")"), "%s", err.msg);
	cr_expect_eq(e.n, 0);
	cJSON_Delete(doc);
	ds_arena_free(a);
	ds_source_free(s);
}

Test(source, load_errors_have_json_paths)
{
	char dir[] = "/tmp/dossier-source-XXXXXX";
	cr_assert(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/bad.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"name\": \"bad\", \"channel\": \"json\", \"role\": \"sales\", \"rules\": [{"
	      "\"record\": \"offer\", \"when\": \"reference >\", \"fields\": {"
	      "\"/a\": {\"pick\": \"/a\", \"normalize\": [\"rot13\"]},"
	      "\"/b\": {\"field\": \"b\"}, \"/c\": {\"pick\": \"/c\", \"list\": true}}}]}", f);
	fclose(f);
	ds_diag d;
	ds_diag_init(&d);
	ds_source *s = NULL;
	cr_expect_eq(ds_source_load(path, &d, &s, NULL), DS_ECONFIG);
	cr_expect_null(s);
	bool when = false, norm = false, field = false, list = false;
	for (size_t i = 0; i < d.count; i++) {
		list = list || (!strcmp(d.items[i].path, "/rules/0/fields/~1c/list") &&
				strstr(d.items[i].message, "\"field\" pick"));
		when = when || !strcmp(d.items[i].path, "/rules/0/when");
		norm = norm || (!strcmp(d.items[i].path, "/rules/0/fields/~1a/normalize/0") &&
				strstr(d.items[i].message, "rot13"));
		field = field || !strcmp(d.items[i].path, "/rules/0/fields/~1b/field");
	}
	cr_expect(when, "a when that does not parse");
	cr_expect(norm, "an unknown normalizer");
	cr_expect(field, "a form pick in a JSON source");
	cr_expect(list, "\"list\" on a JSON Pointer pick");
	ds_diag_free(&d);
	remove(path);
	rmdir(dir);
}

Test(source, ubl_order_with_xpath_picks)
{
	ds_source *s = load("erp-orders");
	char *text = NULL;
	size_t len = 0;
	ds_err err = {0};
	cr_assert_eq(ds_read_file("fixtures/xml/CMD-2026-0101.xml", 1 << 20, &text, &len, NULL), 0);
	ds_xml *x = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, &err), 0, "%s", err.msg);
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *doc = NULL;
	cr_assert_eq(ds_xml_parse(x, text, len, a, &doc, &err), 0, "%s", err.msg);
	struct emitted e = { .n = 0 };
	cr_assert_eq(ds_source_map_xml(s, doc, NULL, a, emit, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e.n, 1);
	cr_expect_str_eq(e.type[0], "order");
	cr_expect_str_eq(str_at(e.rec[0], "/order_number"), "CMD-2026-0101");
	cr_expect_str_eq(str_at(e.rec[0], "/customer/name"), "Société Œnologique du Rhône");
	cr_expect_str_eq(str_at(e.rec[0], "/customer/siret"), "41876235700006");
	cr_expect_str_eq(str_at(e.rec[0], "/customer/email"), "achats@oenologie-rhone.example.fr");
	const cJSON *lines = ds_json_pointer(e.rec[0], "/lines");
	cr_assert_eq(cJSON_GetArraySize(lines), 2);
	cr_expect_str_eq(str_at(e.rec[0], "/lines/1/description"), "Pose et mise en service");
	const cJSON *q = ds_json_pointer(e.rec[0], "/lines/1/quantity");
	cr_expect(cJSON_IsNumber(q) && q->valuedouble == 3.0, "\"3.00\" is the integer 3");
	cr_expect_str_eq(str_at(e.rec[0], "/lines/1/unit_price"), "65.50");
	cr_expect_null(ds_json_pointer(e.rec[0], "/lines/1/sku"), "a missing pick stays missing");
	emitted_free(&e);
	ds_arena_free(a);
	ds_xml_free(x);
	ds_free(text);
	ds_source_free(s);
}

/* Writes text to a source file in a new temporary folder and loads it;
 * the diagnostics go to d. */
static int load_text(const char *text, ds_diag *d, ds_source **s)
{
	char dir[] = "/tmp/dossier-source-XXXXXX";
	cr_assert(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/s.json", dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	int rc = ds_source_load(path, d, s, NULL);
	remove(path);
	rmdir(dir);
	return rc;
}

static int map_xml_text(const ds_source *s, const char *xml, struct emitted *e, ds_err *err)
{
	ds_xml *x = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, err), 0, "%s", err->msg);
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *doc = NULL;
	cr_assert_eq(ds_xml_parse(x, xml, strlen(xml), a, &doc, err), 0, "%s", err->msg);
	bool yes = false;
	cr_assert_eq(ds_source_accepts_xml(s, doc, a, &yes, err), 0, "%s", err->msg);
	e->n = 0;
	int rc = ds_source_map_xml(s, doc, NULL, a, emit, e, err);
	cr_expect_eq(yes, rc == 0 && e->n > 0, "accepts and maps agree");
	ds_arena_free(a);
	ds_xml_free(x);
	return rc;
}

/* An XML rule's "when" is an XPath: a UBL Invoice is no order. An "each"
 * whose one target is "" gives an array of values; "number" gives a JSON
 * number with its decimals. */
Test(source, xml_conditions_and_arrays_of_values)
{
	ds_diag d;
	ds_diag_init(&d);
	ds_source *s = NULL;
	cr_assert_eq(load_text(
		"{\"name\": \"t\", \"channel\": \"xml\", \"role\": \"sales\","
		" \"namespaces\": {\"o\": \"urn:oasis:names:specification:ubl:schema:xsd:Order-2\"},"
		" \"rules\": [{\"record\": \"order\", \"when\": \"/o:Order\", \"fields\": {"
		"  \"/id\": {\"xpath\": \"/o:Order/o:ID\"},"
		"  \"/notes\": {\"xpath\": \"/o:Order/o:Note\","
		"              \"each\": {\"\": {\"xpath\": \".\", \"normalize\": [\"collapse_spaces\"]}}},"
		"  \"/none\": {\"xpath\": \"/o:Order/o:Nothing\", \"each\": {\"\": {\"xpath\": \".\"}}},"
		"  \"/qty\": {\"xpath\": \"/o:Order/o:Qty\", \"normalize\": [\"number\"]}}}]}",
		&d, &s), 0);
	struct emitted e = { .n = 0 };
	ds_err err = {0};
	cr_assert_eq(map_xml_text(s,
		"<Order xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Order-2\">"
		"<ID>BC-1</ID><Note> Livrer   avant 8 h </Note><Note>  </Note><Note>Code 1234</Note>"
		"<Nothing/><Qty>2.50</Qty></Order>", &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e.n, 1);
	const cJSON *notes = ds_json_pointer(e.rec[0], "/notes");
	cr_assert_eq(cJSON_GetArraySize(notes), 2, "the blank note is left out");
	cr_expect_str_eq(str_at(e.rec[0], "/notes/0"), "Livrer avant 8 h");
	cr_expect_str_eq(str_at(e.rec[0], "/notes/1"), "Code 1234");
	cr_expect_null(ds_json_pointer(e.rec[0], "/none"), "nothing found: no empty array");
	const cJSON *q = ds_json_pointer(e.rec[0], "/qty");
	cr_expect(cJSON_IsNumber(q) && q->valuedouble == 2.5);
	emitted_free(&e);
	/* an Invoice: the rule does not hold, nothing is mapped */
	cr_assert_eq(map_xml_text(s,
		"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">"
		"<ID>FA-1</ID></Invoice>", &e, &err), 0, "%s", err.msg);
	cr_expect_eq(e.n, 0);
	/* an Order in no namespace is not a UBL Order either */
	cr_assert_eq(map_xml_text(s, "<Order><ID>BC-1</ID></Order>", &e, &err), 0, "%s", err.msg);
	cr_expect_eq(e.n, 0);
	ds_source_free(s);

	/* errors: an undeclared prefix in "when", "" beside another target,
	 * "copy" in an XML rule */
	s = NULL;
	cr_expect_eq(load_text(
		"{\"name\": \"t\", \"channel\": \"xml\", \"role\": \"sales\","
		" \"namespaces\": {\"o\": \"urn:x\"},"
		" \"rules\": [{\"record\": \"order\", \"when\": \"/x:Order\", \"copy\": \"\","
		"  \"fields\": {\"/notes\": {\"xpath\": \"/o:N\", \"each\": {"
		"   \"\": {\"xpath\": \".\"}, \"/b\": {\"xpath\": \"b\"}}}}}]}",
		&d, &s), DS_ECONFIG);
	cr_expect_null(s);
	bool when = false, item = false, copy = false;
	for (size_t i = 0; i < d.count; i++) {
		when = when || (!strcmp(d.items[i].path, "/rules/0/when") &&
				strstr(d.items[i].message, "x:Order"));
		item = item || (!strcmp(d.items[i].path, "/rules/0/fields/~1notes/each/") &&
				strstr(d.items[i].message, "the only field"));
		copy = copy || (!strcmp(d.items[i].path, "/rules/0") &&
				strstr(d.items[i].message, "no \"copy\""));
	}
	cr_expect(when, "an undeclared prefix in when");
	cr_expect(item, "\"\" beside another target");
	cr_expect(copy, "copy in an XML rule");
	ds_diag_free(&d);
}

/* A contact form carries no reference: the lead's is made from the raw
 * bytes' SHA-256 ("interaction" pick, its first "digits", normalized, a
 * "prefix" before it). The same bytes give the same reference, other bytes
 * another; without the SHA-256 the pick is missing and its default, if
 * any, is written as it is. */
Test(source, interaction_picks_give_a_reference_from_the_bytes)
{
	static const char sha_a[] = "b26ea0652ba0dadac1cfebd7772450d31d92eff55380cc6f2b6289afe0090e7c";
	static const char sha_b[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	ds_source *s = load("web-contact");
	ds_arena *a = ds_arena_new(4096);
	struct emitted e = { .n = 0 };
	ds_err err = {0};
	cJSON *doc = form_fixture("contact-helene-dupre.form");
	cr_assert_eq(ds_source_map(s, &doc, sha_a, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_expect_str_eq(str_at(e.rec[0], "/reference"), "LEAD-B26EA0652BA0DADA");
	emitted_free(&e);
	e.n = 0;
	cr_assert_eq(ds_source_map(s, &doc, sha_b, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_expect_str_eq(str_at(e.rec[0], "/reference"), "LEAD-0123456789ABCDEF");
	emitted_free(&e);
	e.n = 0;
	cr_assert_eq(ds_source_map(s, &doc, NULL, 0, a, emit, &e, &err), 0, "%s", err.msg);
	cr_expect_null(ds_json_pointer(e.rec[0], "/reference"), "no SHA-256, no reference");
	emitted_free(&e);
	cJSON_Delete(doc);
	ds_source_free(s);

	/* every channel has it, XML too; all 64 digits by default; a default
	 * stands in when the SHA-256 is not known */
	ds_diag d;
	ds_diag_init(&d);
	cr_assert_eq(load_text(
		"{\"name\": \"t\", \"channel\": \"xml\", \"role\": \"sales\","
		" \"rules\": [{\"record\": \"order\", \"fields\": {"
		"  \"/id\": {\"xpath\": \"/Order/ID\", \"prefix\": \"CMD-\"},"
		"  \"/sha\": {\"interaction\": \"sha256\"},"
		"  \"/short\": {\"interaction\": \"sha256\", \"digits\": 8, \"prefix\": \"X-\","
		"             \"default\": \"none\"}}}]}", &d, &s), 0);
	cr_assert_eq(map_xml_text(s, "<Order><ID>7</ID></Order>", &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e.n, 1);
	cr_expect_str_eq(str_at(e.rec[0], "/id"), "CMD-7");
	cr_expect_null(ds_json_pointer(e.rec[0], "/sha"));
	cr_expect_str_eq(str_at(e.rec[0], "/short"), "none");
	emitted_free(&e);
	ds_xml *x = NULL;
	cr_assert_eq(ds_xml_new(&x, NULL, &err), 0, "%s", err.msg);
	ds_xml_doc *xd = NULL;
	cr_assert_eq(ds_xml_parse(x, "<Order/>", 8, a, &xd, &err), 0, "%s", err.msg);
	e.n = 0;
	cr_assert_eq(ds_source_map_xml(s, xd, sha_b, a, emit, &e, &err), 0, "%s", err.msg);
	cr_expect_str_eq(str_at(e.rec[0], "/sha"), sha_b);
	cr_expect_str_eq(str_at(e.rec[0], "/short"), "X-01234567");
	cr_expect_null(ds_json_pointer(e.rec[0], "/id"));
	emitted_free(&e);
	ds_xml_free(x);
	ds_source_free(s);
	ds_diag_free(&d);
	ds_arena_free(a);
}
