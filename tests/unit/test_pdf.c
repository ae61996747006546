/*
 * test_pdf.c - document templates and PDF rendering.
 *
 * The rendered bytes are read back with poppler's pdftotext / pdffonts (run
 * on a mkstemp file), so the tests check what a reader of the PDF sees:
 * French formatting, totals computed by hand, page breaks, fonts. Templates
 * and case data live in tests/unit/pdf/, one file per case; load errors are
 * a table of file, JSON Pointer and message fragment. Run from the
 * repository root (as `make test` does).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decimal.h"
#include "json.h"
#include "mem.h"
#include "pdf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DIR "tests/unit/pdf/"
#define OFFER "schemas/documents/offer.json"
#define DEJAVU DS_PDF_FONT_DIR "/DejaVuSans.ttf"

static void setup(void)
{
	ds_mem_init();
}

TestSuite(pdf, .init = setup);

/* ---- helpers ---- */

static ds_doc_template *load(const char *path)
{
	ds_doc_template *t = NULL;
	ds_diag d;
	ds_err e = { 0, "" };
	ds_diag_init(&d);
	int rc = ds_doc_template_load(path, &d, &t, &e);
	for (size_t i = 0; i < d.count; i++)
		cr_log_error("%s %s: %s", d.items[i].file, d.items[i].path,
			     d.items[i].message);
	cr_assert_eq(rc, 0, "%s does not load: %s", path, e.msg);
	ds_diag_free(&d);
	return t;
}

static cJSON *read_json(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *j = NULL;
	ds_err e = { 0, "" };
	cr_assert_eq(ds_read_file(path, 1 << 20, &text, &len, &e), 0, "%s", e.msg);
	cr_assert_eq(ds_json_parse(text, len, 64, &j, &e), 0, "%s: %s", path, e.msg);
	ds_free(text);
	return j;
}

/* vars as the engine builds them, owning data. */
static cJSON *make_vars(cJSON *data)
{
	cJSON *v = cJSON_CreateObject();
	cJSON *c = cJSON_AddObjectToObject(v, "case");
	cJSON_AddNumberToObject(c, "id", 42);
	cJSON_AddStringToObject(c, "key", "DEV-2026-0042");
	cJSON_AddStringToObject(c, "process", "offer");
	cJSON_AddStringToObject(c, "state", "validated");
	cJSON_AddNumberToObject(c, "version", 3);
	cJSON_AddItemToObject(v, "data", data);
	cJSON_AddStringToObject(v, "now", "2026-11-20T09:30:00Z");
	return v;
}

static cJSON *example_vars(void)
{
	return make_vars(read_json(DIR "offer-example.json"));
}

static cJSON *data_of(cJSON *vars)
{
	return cJSON_GetObjectItemCaseSensitive(vars, "data");
}

static cJSON *line_of(cJSON *vars, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(data_of(vars),
								   "lines"), i);
}

static void set_str(cJSON *obj, const char *key, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddStringToObject(obj, key, value);
}

/* Renders and returns the code; the bytes are in *out (ds_buf_free). */
static int render(ds_pdf *r, const ds_doc_template *t, const cJSON *vars,
		  ds_buf *out, ds_err *e)
{
	ds_buf_init(out, 16u << 20);
	return ds_pdf_render(r, t, vars, out, e);
}

static void render_ok(const char *tpath, const cJSON *vars, ds_buf *out)
{
	ds_pdf *r = NULL;
	ds_err e = { 0, "" };
	ds_doc_template *t = load(tpath);
	cr_assert_eq(ds_pdf_new(&r, &e), 0, "%s", e.msg);
	int rc = render(r, t, vars, out, &e);
	cr_assert_eq(rc, 0, "render failed (%d): %s", rc, e.msg);
	cr_assert(out->len > 100 && memcmp(out->data, "%PDF-1.", 7) == 0);
	ds_pdf_free(r);
	ds_doc_template_free(t);
}

/* Runs `tool ARGS FILE -` on the PDF bytes and returns its stdout. */
static char *run_on_pdf(const ds_buf *pdf, const char *tool, const char *args)
{
	char path[] = "/tmp/ds-test-pdf-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, pdf->data, pdf->len), (ssize_t)pdf->len);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s %s '%s' %s 2>/dev/null", tool, args, path,
		 strcmp(tool, "pdftotext") == 0 ? "-" : "");
	FILE *p = popen(cmd, "r");
	cr_assert(p, "cannot run %s", tool);
	ds_buf text;
	ds_buf_init(&text, 64u << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		cr_assert_eq(ds_buf_append(&text, chunk, n), 0);
	int status = pclose(p);
	unlink(path);
	cr_assert_eq(status, 0, "%s failed on the PDF (status %d)", tool, status);
	return ds_buf_steal(&text);
}

static char *pdf_text(const ds_buf *pdf)
{
	return run_on_pdf(pdf, "pdftotext", "-q -enc UTF-8");
}

static void expect_in(const char *text, const char *needle)
{
	cr_expect(strstr(text, needle), "\"%s\" not found in:\n%s", needle, text);
}

static int page_count(const ds_buf *pdf)
{
	char *info = run_on_pdf(pdf, "pdfinfo", "");
	const char *p = strstr(info, "Pages:");
	cr_assert(p);
	int n = atoi(p + 6);
	ds_free(info);
	return n;
}

/* ---- the reference offer ---- */

Test(pdf, offer_example_prints_fields_dates_and_totals)
{
	cJSON *vars = example_vars();
	ds_buf pdf;
	render_ok(OFFER, vars, &pdf);
	char *text = pdf_text(&pdf);
	expect_in(text, "Thermeo Services SARL");
	expect_in(text, "SIRET 732 829 320 00074");
	expect_in(text, "Hélène Dupré");
	expect_in(text, "Boulangerie Dupré SARL");
	expect_in(text, "Devis DEV-2026-0042");
	expect_in(text, "20 novembre 2026");
	expect_in(text, "20 décembre 2026");
	expect_in(text, "Valable jusqu’au");
	expect_in(text, "Chaudière à condensation 24 kW");
	expect_in(text, "06 12 34 56 78");
	expect_in(text, "Installation comprise.");
	/* By hand: 1 x 2450.00 at 20 % and 3 x 85.50 = 256.50 at 10 %.
	 * Subtotal 2706.50; discount 12.5 %: 338.3125 -> 338.31; net 2368.19.
	 * VAT 20 %: 2450.00 x 0.875 x 0.20 = 428.75; VAT 10 %: 256.50 x 0.875
	 * x 0.10 = 22.44375 -> 22.44. Total 2368.19 + 428.75 + 22.44 =
	 * 2819.38. */
	expect_in(text, "2 450,00 €");
	expect_in(text, "85,50 €");
	expect_in(text, "256,50 €");
	expect_in(text, "Total HT");
	expect_in(text, "2 706,50 €");
	expect_in(text, "Remise 12,5 %");
	expect_in(text, "-338,31 €");
	expect_in(text, "2 368,19 €");
	expect_in(text, "TVA 20 %");
	expect_in(text, "428,75 €");
	expect_in(text, "TVA 10 %");
	expect_in(text, "22,44 €");
	expect_in(text, "Total TTC");
	expect_in(text, "2 819,38 €");
	expect_in(text, "page 1/1");
	ds_free(text);

	char *info = run_on_pdf(&pdf, "pdfinfo", "");
	const char *title = strstr(info, "Title:");
	cr_expect(title && strncmp(title + 6 + strspn(title + 6, " "),
				   "Devis DEV-2026-0042\n", 20) == 0,
		  "the document's title:\n%s", info);
	expect_in(info, "Creator:");
	ds_free(info);
	cr_expect_eq(page_count(&pdf), 1);
	cr_expect(pdf.len < 4096, "a one-page offer takes %zu bytes", pdf.len);
	ds_buf_free(&pdf);
	cJSON_Delete(vars);
}

Test(pdf, optional_fields_leave_their_lines_and_blocks_out)
{
	cJSON *vars = example_vars();
	cJSON *data = data_of(vars);
	cJSON *customer = cJSON_GetObjectItemCaseSensitive(data, "customer");
	cJSON_DeleteItemFromObjectCaseSensitive(customer, "company");
	cJSON_DeleteItemFromObjectCaseSensitive(customer, "phone");
	cJSON_DeleteItemFromObjectCaseSensitive(data, "valid_until");
	cJSON_DeleteItemFromObjectCaseSensitive(data, "notes");
	cJSON_DeleteItemFromObjectCaseSensitive(data, "discount_pct");
	cJSON_ReplaceItemInObjectCaseSensitive(data, "salesperson", cJSON_CreateNull());
	ds_buf pdf;
	render_ok(OFFER, vars, &pdf);
	char *text = pdf_text(&pdf);
	expect_in(text, "Hélène Dupré");
	cr_expect(!strstr(text, "Boulangerie"));
	cr_expect(!strstr(text, "Valable"));
	cr_expect(!strstr(text, "interlocuteur"));
	cr_expect(!strstr(text, "Notes"), "an empty block keeps its label");
	cr_expect(!strstr(text, "Remise"));
	/* No discount: 2450.00 x 0.20 = 490.00, 256.50 x 0.10 = 25.65. */
	expect_in(text, "490,00 €");
	expect_in(text, "25,65 €");
	expect_in(text, "3 222,15 €");
	ds_free(text);
	ds_buf_free(&pdf);
	cJSON_Delete(vars);
}

/* Every valid offer fixture prints the total TTC that
 * fixtures/expected/offers.json gives. */
Test(pdf, fixture_offers_print_their_expected_totals)
{
	cJSON *expected = read_json("fixtures/expected/offers.json");
	ds_doc_template *t = load(OFFER);
	ds_pdf *r = NULL;
	ds_err e = { 0, "" };
	cr_assert_eq(ds_pdf_new(&r, &e), 0);
	size_t checked = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, expected) {
		const char *ref = ds_json_str(it, "reference");
		const char *ttc = ds_json_str(it, "total_ttc");
		const char *name = ds_json_str(it, "customer_name");
		char path[256], want[64];
		snprintf(path, sizeof path, "fixtures/offers/%s.json", ref);
		cJSON *vars = make_vars(read_json(path));
		ds_buf pdf;
		int rc = render(r, t, vars, &pdf, &e);
		cr_assert_eq(rc, 0, "%s: %s", ref, e.msg);
		ds_dec d;
		cr_assert_eq(ds_dec_parse(ttc, strlen(ttc), &d), 0);
		size_t n = ds_dec_format_fr(d, 2, " ", want, sizeof want - 8);
		memcpy(want + n, " €", sizeof " €");
		char *text = pdf_text(&pdf);
		cr_expect(strstr(text, want), "%s: total %s not printed", ref, want);
		cr_expect(strstr(text, name), "%s: %s not printed", ref, name);
		cr_expect(!strstr(text, "?"), "%s: a character became '?'", ref);
		ds_free(text);
		ds_buf_free(&pdf);
		cJSON_Delete(vars);
		checked++;
	}
	cr_expect_geq(checked, 28);
	ds_pdf_free(r);
	ds_doc_template_free(t);
	cJSON_Delete(expected);
}

/* ---- determinism ---- */

Test(pdf, same_inputs_give_the_same_bytes)
{
	cJSON *vars = example_vars();
	cJSON *other = example_vars();
	set_str(data_of(other), "reference", "DEV-2026-0043");
	ds_doc_template *t = load(OFFER);
	ds_pdf *r1 = NULL, *r2 = NULL;
	ds_err e = { 0, "" };
	ds_buf a, b, c, x;
	cr_assert_eq(ds_pdf_new(&r1, &e), 0);
	cr_assert_eq(ds_pdf_new(&r2, &e), 0);
	cr_assert_eq(render(r1, t, vars, &a, &e), 0, "%s", e.msg);
	cr_assert_eq(render(r1, t, other, &x, &e), 0, "%s", e.msg);
	cr_assert_eq(render(r1, t, vars, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(render(r2, t, vars, &c, &e), 0, "%s", e.msg);
	cr_assert_eq(a.len, b.len);
	cr_assert(memcmp(a.data, b.data, a.len) == 0, "a second render differs");
	cr_assert_eq(a.len, c.len);
	cr_assert(memcmp(a.data, c.data, a.len) == 0, "another renderer differs");
	cr_assert(x.len != a.len || memcmp(a.data, x.data, a.len) != 0);
	ds_buf_free(&a);
	ds_buf_free(&b);
	ds_buf_free(&c);
	ds_buf_free(&x);
	ds_pdf_free(r1);
	ds_pdf_free(r2);
	ds_doc_template_free(t);
	cJSON_Delete(vars);
	cJSON_Delete(other);
}

Test(pdf, output_is_appended_and_bounded)
{
	cJSON *vars = example_vars();
	ds_doc_template *t = load(OFFER);
	ds_pdf *r = NULL;
	ds_err e = { 0, "" };
	ds_buf out;
	cr_assert_eq(ds_pdf_new(&r, &e), 0);
	ds_buf_init(&out, 1000);
	cr_assert_eq(ds_buf_puts(&out, "prefix"), 0);
	cr_assert_eq(ds_pdf_render(r, t, vars, &out, &e), DS_ELIMIT);
	cr_assert_eq(out.len, 6, "a failed render leaves the buffer as it was");
	cr_assert_str_eq(out.data, "prefix");
	out.max = 1 << 20;
	cr_assert_eq(ds_pdf_render(r, t, vars, &out, &e), 0, "%s", e.msg);
	cr_assert(memcmp(out.data, "prefix%PDF-1.", 13) == 0);
	ds_buf_free(&out);
	ds_pdf_free(r);
	ds_doc_template_free(t);
	cJSON_Delete(vars);
}

/* ---- case data that does not fit the template ---- */

static void expect_render_error(const char *tpath, cJSON *vars, int code,
				const char *fragment)
{
	ds_doc_template *t = load(tpath);
	ds_pdf *r = NULL;
	ds_err e = { 0, "" };
	ds_buf out;
	cr_assert_eq(ds_pdf_new(&r, &e), 0);
	int rc = render(r, t, vars, &out, &e);
	cr_expect_eq(rc, code, "expected %d, got %d (%s)", code, rc, e.msg);
	cr_expect(strstr(e.msg, fragment), "\"%s\" not in the message \"%s\"",
		  fragment, e.msg);
	cr_expect_eq(out.len, 0);
	/* The renderer is still usable after a failure. */
	cJSON *good = example_vars();
	ds_buf_free(&out);
	ds_doc_template *offer = load(OFFER);
	cr_expect_eq(render(r, offer, good, &out, &e), 0, "%s", e.msg);
	ds_buf_free(&out);
	cJSON_Delete(good);
	ds_doc_template_free(offer);
	ds_pdf_free(r);
	ds_doc_template_free(t);
	cJSON_Delete(vars);
}

Test(pdf, missing_required_binding)
{
	expect_render_error(DIR "missing-binding.json", example_vars(), DS_EINVAL,
			    "missing-binding: data.customer.siret: required field is missing");
}

Test(pdf, missing_required_field_of_the_offer)
{
	cJSON *vars = example_vars();
	cJSON_DeleteItemFromObjectCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(data_of(vars), "customer"), "name");
	expect_render_error(OFFER, vars, DS_EINVAL, "data.customer.name: required");
}

Test(pdf, missing_line_description)
{
	cJSON *vars = example_vars();
	cJSON_DeleteItemFromObjectCaseSensitive(line_of(vars, 1), "description");
	expect_render_error(OFFER, vars, DS_EINVAL, "data.lines.1.description: required");
}

static const struct {
	int line;
	const char *field;
	const char *json;     /* the bad value, as JSON */
	const char *message;
} bad_amounts[] = {
	{ 1, "unit_price", "\"12,50\"", "data.lines.1.unit_price: \"12,50\" is not a decimal" },
	{ 0, "unit_price", "\"2 450.00\"", "data.lines.0.unit_price: \"2 450.00\" is not" },
	{ 0, "unit_price", "\"1e3\"", "data.lines.0.unit_price: \"1e3\" is not" },
	{ 1, "unit_price", "true", "data.lines.1.unit_price: true is not" },
	{ 1, "unit_price", "{}", "data.lines.1.unit_price: an object is not" },
	{ 0, "unit_price", "\"99999999999999999999.00\"", "data.lines.0.unit_price" },
	{ 0, "quantity", "\"trois\"", "data.lines.0.quantity: \"trois\" is not a decimal" },
	{ 1, "vat_rate", "\"vingt\"", "data.lines.1.vat_rate: \"vingt\" is not a decimal" },
	{ 1, "vat_rate", "\"120.0\"", "data.lines.1.vat_rate: VAT rate must be between" },
	{ 0, "vat_rate", "null", "data.lines.0.vat_rate: required field is missing" },
	{ 0, "unit_price", "\"4000000000000000.00\"", "amount too large" },
};

Test(pdf, bad_amounts_are_refused_with_their_path)
{
	for (size_t i = 0; i < N(bad_amounts); i++) {
		cJSON *vars = example_vars();
		cJSON *line = line_of(vars, bad_amounts[i].line);
		cJSON *v = cJSON_Parse(bad_amounts[i].json);
		cr_assert(v);
		cJSON_ReplaceItemInObjectCaseSensitive(line, bad_amounts[i].field, v);
		if (strstr(bad_amounts[i].message, "too large"))
			cJSON_ReplaceItemInObjectCaseSensitive(line, "quantity",
							       cJSON_CreateNumber(9000));
		cr_log_info("case %zu: %s = %s", i, bad_amounts[i].field,
			    bad_amounts[i].json);
		expect_render_error(OFFER, vars, DS_EINVAL, bad_amounts[i].message);
	}
}

Test(pdf, bad_discount_date_and_currency)
{
	cJSON *vars = example_vars();
	set_str(data_of(vars), "discount_pct", "vingt");
	expect_render_error(OFFER, vars, DS_EINVAL, "data.discount_pct: \"vingt\" is not");

	vars = example_vars();
	cJSON_ReplaceItemInObjectCaseSensitive(data_of(vars), "discount_pct",
					       cJSON_CreateNumber(120));
	expect_render_error(OFFER, vars, DS_EINVAL, "data.discount_pct: a discount must be");

	vars = example_vars();
	set_str(data_of(vars), "date", "novembre 2026");
	expect_render_error(OFFER, vars, DS_EINVAL,
			    "data.date: \"novembre 2026\" is not an ISO 8601 date");

	vars = example_vars();
	set_str(data_of(vars), "date", "2026-02-30");
	expect_render_error(OFFER, vars, DS_EINVAL, "data.date:");

	vars = example_vars();
	set_str(data_of(vars), "currency", "USD");
	expect_render_error(OFFER, vars, DS_EINVAL, "data.currency: \"USD\" cannot be printed");

	vars = example_vars();
	cJSON_ReplaceItemInObjectCaseSensitive(data_of(vars), "lines",
					       cJSON_CreateString("none"));
	expect_render_error(OFFER, vars, DS_EINVAL, "data.lines: must be an array");

	vars = example_vars();
	cJSON_ReplaceItemInObjectCaseSensitive(data_of(vars), "customer",
					       cJSON_CreateArray());
	expect_render_error(OFFER, vars, DS_EINVAL, "data.customer.name: required");
}

Test(pdf, dates_and_numbers_in_french)
{
	cJSON *vars = example_vars();
	cJSON *data = data_of(vars);
	set_str(data, "date", "2026-12-01T23:30:00-02:00");  /* the date as written */
	set_str(data, "valid_until", "2027-08-15");
	cJSON *line = line_of(vars, 1);
	cJSON_ReplaceItemInObjectCaseSensitive(line, "quantity", cJSON_CreateNumber(1250));
	set_str(line, "vat_rate", "5.5");
	cJSON_ReplaceItemInObjectCaseSensitive(data, "discount_pct", cJSON_CreateNumber(0));
	ds_buf pdf;
	render_ok(OFFER, vars, &pdf);
	char *text = pdf_text(&pdf);
	expect_in(text, "1er décembre 2026");
	expect_in(text, "15 août 2027");
	expect_in(text, "1 250");
	expect_in(text, "TVA 5,5 %");
	/* 1250 x 85.50 = 106 875.00; VAT 5.5 %: 5878.125 -> 5878.13;
	 * VAT 20 %: 490.00; total 2450 + 106875 + 5878.13 + 490 = 115 693,13. */
	expect_in(text, "106 875,00 €");
	expect_in(text, "5 878,13 €");
	expect_in(text, "115 693,13 €");
	cr_expect(!strstr(text, "Remise"), "a zero discount is not printed");
	ds_free(text);
	ds_buf_free(&pdf);
	cJSON_Delete(vars);
}

/* ---- long documents ---- */

static cJSON *many_lines(int n)
{
	cJSON *vars = example_vars();
	cJSON *lines = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		char desc[96], price[32];
		cJSON *l = cJSON_CreateObject();
		snprintf(desc, sizeof desc, "Article %03d%s", i,
			 i % 10 == 0 ? " avec une désignation assez longue pour "
				       "tenir sur deux lignes du tableau" : "");
		snprintf(price, sizeof price, "%d.%02d", i, i % 100);
		cJSON_AddStringToObject(l, "description", desc);
		cJSON_AddNumberToObject(l, "quantity", 2);
		cJSON_AddStringToObject(l, "unit_price", price);
		cJSON_AddStringToObject(l, "vat_rate", "20.0");
		cJSON_AddItemToArray(lines, l);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(data_of(vars), "lines", lines);
	cJSON_ReplaceItemInObjectCaseSensitive(data_of(vars), "discount_pct",
					       cJSON_CreateNumber(0));
	return vars;
}

Test(pdf, long_table_continues_on_further_pages)
{
	cJSON *vars = many_lines(300);
	ds_buf pdf;
	render_ok(OFFER, vars, &pdf);
	int pages = page_count(&pdf);
	cr_expect(pages >= 5 && pages <= 12, "300 lines on %d pages", pages);
	char *text = pdf_text(&pdf);
	char want[32];
	expect_in(text, "Article 000");
	expect_in(text, "Article 299");
	snprintf(want, sizeof want, "page %d/%d", pages, pages);
	expect_in(text, want);
	/* The header is repeated on every page of the table. */
	size_t headers = 0;
	for (const char *p = text; (p = strstr(p, "Désignation")); p++)
		headers++;
	cr_expect_eq(headers, (size_t)pages);
	/* Sum of 2 x (i + (i % 100) / 100) for i < 300 = 89700 + 297 = 89997.00;
	 * VAT 20 % 17 999.40; total 107 996.40. */
	expect_in(text, "89 997,00 €");
	expect_in(text, "17 999,40 €");
	expect_in(text, "107 996,40 €");
	ds_free(text);
	ds_buf_free(&pdf);
	cJSON_Delete(vars);
}

Test(pdf, too_many_lines_is_a_limit)
{
	expect_render_error(OFFER, many_lines(501), DS_ELIMIT,
			    "data.lines: 501 lines, more than the 500");
}

Test(pdf, too_many_pages_is_a_limit)
{
	cJSON *vars = example_vars();
	char *notes = malloc(60000);
	for (size_t i = 0; i < 59999; i++)
		notes[i] = i % 2 ? '\n' : 'x';
	notes[59999] = '\0';
	set_str(data_of(vars), "notes", notes);
	free(notes);
	expect_render_error(OFFER, vars, DS_ELIMIT, "more than 200 pages");
}

/* Every word pdftotext finds lies inside the page margins (with half a
 * point for glyph overhangs), so no text is drawn off the page. */
static void expect_inside(const ds_buf *pdf, float left, float top,
			  float right_margin, float bottom_margin, bool footer)
{
	char *html = run_on_pdf(pdf, "pdftotext", "-q -bbox -enc UTF-8");
	float pw = 0, ph = 0;
	size_t words = 0;
	for (const char *p = html; (p = strstr(p, "<page ")); p++) {
		cr_assert_eq(sscanf(p, "<page width=\"%f\" height=\"%f\"", &pw, &ph), 2);
		const char *end = strstr(p, "</page>");
		for (const char *w = p; (w = strstr(w, "<word ")) && w < end; w++) {
			float x0, y0, x1, y1;
			cr_assert_eq(sscanf(w, "<word xMin=\"%f\" yMin=\"%f\" xMax=\"%f\" yMax=\"%f\"",
					    &x0, &y0, &x1, &y1), 4);
			float bottom = ph - bottom_margin;
			if (footer && y0 > bottom)   /* the footer lives in the margin */
				bottom = ph;
			cr_expect(x0 >= left - 0.5f && x1 <= pw - right_margin + 0.5f &&
				  y0 >= top - 0.5f && y1 <= bottom + 0.5f,
				  "word at [%.1f %.1f %.1f %.1f] is outside the page "
				  "area (%.1f x %.1f): %.60s", (double)x0, (double)y0,
				  (double)x1, (double)y1, (double)pw, (double)ph, w);
			words++;
		}
	}
	cr_expect(words > 20);
	ds_free(html);
}

Test(pdf, long_text_wraps_and_stays_inside_the_margins)
{
	cJSON *vars = many_lines(40);
	char notes[6000] = "";
	for (int i = 0; i < 60; i++)
		strcat(notes, i % 7 ? "texte très long " : "Motsansaucuneespaceplusquelargequelacolonneelleméme ");
	set_str(data_of(vars), "notes", notes);
	set_str(cJSON_GetObjectItemCaseSensitive(data_of(vars), "customer"), "name",
		"Nom d’une cliente vraiment beaucoup trop long pour la colonne de droite");
	const float mm = 72.0f / 25.4f;
	ds_buf pdf;
	render_ok(OFFER, vars, &pdf);
	expect_inside(&pdf, 15 * mm, 15 * mm, 15 * mm, 18 * mm, true);
	ds_buf_free(&pdf);
	render_ok(DIR "overflow.json", vars, &pdf);
	expect_inside(&pdf, 12 * mm, 12 * mm, 12 * mm, 12 * mm, true);
	char *text = pdf_text(&pdf);
	expect_in(text, "…");   /* cut lines end with an ellipsis */
	ds_free(text);
	ds_buf_free(&pdf);
	cJSON_Delete(vars);
}

/* ---- characters ---- */

Test(pdf, characters_outside_cp1252_become_question_marks)
{
	cJSON *vars = example_vars();
	cJSON *customer = cJSON_GetObjectItemCaseSensitive(data_of(vars), "customer");
	set_str(customer, "name", "Łukasz Wróbel 日本 😀 Œuvre œuf «ici» € ’");
	set_str(data_of(vars), "notes", "bad \xff\xfe bytes \xc3 and \xed\xa0\x80 surrogate\ttab\x01");
	ds_buf pdf;
	render_ok(OFFER, vars, &pdf);
	char *text = pdf_text(&pdf);
	expect_in(text, "?ukasz Wróbel ?? ? Œuvre œuf «ici» € ’");
	expect_in(text, "bad ?? bytes ? and ??? surrogate tab?");
	ds_free(text);
	ds_buf_free(&pdf);
	cJSON_Delete(vars);
}

/* ---- TrueType ---- */

static bool have_dejavu(void)
{
	return access(DEJAVU, R_OK) == 0;
}

Test(pdf, ttf_font_is_embedded)
{
	if (!have_dejavu())
		cr_skip_test("%s is not installed (fonts-dejavu-core)", DEJAVU);
	cJSON *vars = example_vars();
	ds_doc_template *t = load(DIR "ttf.json");
	ds_pdf *r = NULL;
	ds_err e = { 0, "" };
	ds_buf a, b;
	cr_assert_eq(ds_pdf_new(&r, &e), 0);
	cr_assert_eq(render(r, t, vars, &a, &e), 0, "%s", e.msg);
	cr_assert_eq(render(r, t, vars, &b, &e), 0, "%s", e.msg);
	cr_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
		  "the cached font changes the second document");
	char *fonts = run_on_pdf(&a, "pdffonts", "");
	expect_in(fonts, "DejaVuSans,Book");
	expect_in(fonts, "DejaVuSans-Bold");
	/* Columns emb and sub: embedded, as a subset. */
	size_t embedded = 0;
	for (const char *p = fonts; (p = strstr(p, " yes yes ")); p++)
		embedded++;
	cr_expect_eq(embedded, 2, "both fonts are embedded:\n%s", fonts);
	ds_free(fonts);
	char *text = pdf_text(&a);
	expect_in(text, "Hélène Dupré");
	expect_in(text, "2 819,38 €");
	ds_free(text);
	ds_buf_free(&a);
	ds_buf_free(&b);
	ds_pdf_free(r);
	ds_doc_template_free(t);
	cJSON_Delete(vars);
}

Test(pdf, ttf_unicode_prints_beyond_cp1252)
{
	if (!have_dejavu())
		cr_skip_test("%s is not installed (fonts-dejavu-core)", DEJAVU);
	cJSON *vars = example_vars();
	set_str(cJSON_GetObjectItemCaseSensitive(data_of(vars), "customer"), "name",
		"Łukasz Wróbel 😀");
	ds_doc_template *t = load(DIR "ttf-unicode.json");
	ds_doc_template *plain = load(OFFER);
	ds_pdf *r = NULL;
	ds_err e = { 0, "" };
	ds_buf a, b, c;
	cr_assert_eq(ds_pdf_new(&r, &e), 0);
	cr_assert_eq(render(r, t, vars, &a, &e), 0, "%s", e.msg);
	/* Built-in and TrueType documents alternate on one renderer. */
	cr_assert_eq(render(r, plain, vars, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(render(r, t, vars, &c, &e), 0, "%s", e.msg);
	cr_assert(a.len == c.len && memcmp(a.data, c.data, a.len) == 0);
	char *text = pdf_text(&a);
	expect_in(text, "Łukasz Wróbel ?");
	expect_in(text, "2 819,38 €");
	ds_free(text);
	text = pdf_text(&b);
	expect_in(text, "?ukasz Wróbel ?");
	ds_free(text);
	ds_buf_free(&a);
	ds_buf_free(&b);
	ds_buf_free(&c);
	ds_pdf_free(r);
	ds_doc_template_free(t);
	ds_doc_template_free(plain);
	cJSON_Delete(vars);
}

/* ---- template loading ---- */

static const struct {
	const char *file;
	const char *path;     /* the JSON Pointer of the first problem */
	const char *message;  /* a fragment of its message */
} load_errors[] = {
	{ "load-unknown-kind.json", "/blocks/1/kind", "unknown block kind \"picture\"" },
	{ "load-items-no-source.json", "/blocks/0/source", "\"source\" is required" },
	{ "load-column-no-value.json", "/blocks/0/columns/1/value", "\"value\" is required" },
	{ "load-unknown-filter.json", "/blocks/0/lines/0", "unknown filter \"longdate\"" },
	{ "load-bad-root.json", "/blocks/0/lines/0", "\"customer.name\" must start with one of: case, data, now" },
	{ "load-item-outside-table.json", "/blocks/0/lines/0", "must start with one of" },
	{ "load-static-company.json", "/blocks/0/lines/1", "static" },
	{ "load-unclosed-brace.json", "/blocks/0/text", "unclosed \"{\"" },
	{ "load-unknown-member.json", "/page/colour", "unknown member \"colour\"" },
	{ "load-bad-page.json", "/page/size", "must be one of A4, A5, Letter" },
	{ "load-no-blocks.json", "/blocks", "\"blocks\" is required" },
	{ "load-not-json.json", "", "invalid JSON" },
	{ "load-bad-ttf.json", "/font/ttf", "font file name" },
	{ "load-nested-columns.json", "/blocks/0/blocks/1/kind", "a column holds" },
	{ "load-row-field.json", "/blocks/0/columns/0/value", "row.total" },
};

Test(pdf, template_load_errors_name_their_json_path)
{
	for (size_t i = 0; i < N(load_errors); i++) {
		char path[256];
		ds_doc_template *t = (ds_doc_template *)1;
		ds_diag d;
		ds_err e = { 0, "" };
		snprintf(path, sizeof path, DIR "%s", load_errors[i].file);
		ds_diag_init(&d);
		int rc = ds_doc_template_load(path, &d, &t, &e);
		cr_expect_eq(rc, DS_ECONFIG, "%s: %d (%s)", path, rc, e.msg);
		cr_expect_null(t, "%s", path);
		cr_expect_geq(d.errors, 1, "%s", path);
		bool found = false;
		for (size_t k = 0; k < d.count; k++) {
			cr_expect_str_eq(d.items[k].file, path);
			if (strcmp(d.items[k].path, load_errors[i].path) == 0 &&
			    strstr(d.items[k].message, load_errors[i].message))
				found = true;
		}
		if (!found)
			for (size_t k = 0; k < d.count; k++)
				cr_log_error("%s %s: %s", d.items[k].file,
					     d.items[k].path, d.items[k].message);
		cr_expect(found, "%s: no problem at %s with \"%s\"", path,
			  load_errors[i].path, load_errors[i].message);
		ds_diag_free(&d);
	}
}

Test(pdf, template_load_reports_every_problem)
{
	ds_doc_template *t = NULL;
	ds_diag d;
	ds_err e = { 0, "" };
	ds_diag_init(&d);
	/* An unknown page size and a margin out of range, both reported. */
	cr_assert_eq(ds_doc_template_load(DIR "load-bad-page.json", &d, &t, &e),
		     DS_ECONFIG);
	cr_expect_geq(d.errors, 2, "size and margin are both reported");
	ds_diag_free(&d);
}

Test(pdf, template_load_io_error)
{
	ds_doc_template *t = NULL;
	ds_diag d;
	ds_err e = { 0, "" };
	ds_diag_init(&d);
	cr_expect_eq(ds_doc_template_load(DIR "no-such-template.json", &d, &t, &e),
		     DS_EIO);
	cr_expect_null(t);
	cr_expect_eq(d.errors, 1);
	ds_diag_free(&d);
}

Test(pdf, shipped_templates_load)
{
	ds_doc_template *t = load(OFFER);
	cr_expect_str_eq(ds_doc_template_name(t), "offer");
	ds_doc_template_free(t);
	t = load(DIR "overflow.json");
	cr_expect_str_eq(ds_doc_template_name(t), "overflow");
	ds_doc_template_free(t);
}

/* ---- allocation failures ---- */

/* Every allocation, ours and libharu's (routed through ds_malloc), fails
 * in turn: each failure is reported, nothing leaks,
 * nothing crashes, and the renderer that failed then renders the same
 * bytes as a fresh one. */
static void walk_failures(const char *tpath)
{
	cJSON *vars = example_vars();
	ds_doc_template *t = load(tpath);
	ds_buf ref;
	ds_pdf *fresh = NULL;
	ds_err e = { 0, "" };
	cr_assert_eq(ds_pdf_new(&fresh, &e), 0);
	cr_assert_eq(render(fresh, t, vars, &ref, &e), 0, "%s", e.msg);
	ds_pdf_free(fresh);
	bool done = false;
	for (long k = 0; !done && k < 200000; k++) {
		ds_pdf *r = NULL;
		ds_buf out;
		ds_buf_init(&out, 1 << 20);
		ds_mem_fail_after(k);
		int rc = ds_pdf_new(&r, &e);
		if (!rc)
			rc = ds_pdf_render(r, t, vars, &out, &e);
		ds_mem_fail_after(-1);
		if (rc) {
			cr_assert(rc == DS_ENOMEM || rc == DS_EINTERNAL,
				  "after %ld allocations: %d %s", k, rc, e.msg);
			cr_assert_eq(out.len, 0);
		} else {
			done = true;
		}
		if (r && rc) {
			cr_assert_eq(ds_pdf_render(r, t, vars, &out, &e), 0,
				     "after %ld allocations, then: %s", k, e.msg);
			cr_assert(out.len == ref.len && memcmp(out.data, ref.data,
							       ref.len) == 0,
				  "after %ld allocations, the bytes differ", k);
		}
		ds_buf_free(&out);
		ds_pdf_free(r);
	}
	cr_expect(done);
	ds_buf_free(&ref);
	ds_doc_template_free(t);
	cJSON_Delete(vars);
}

Test(pdf, allocation_failures_are_reported)
{
	walk_failures(OFFER);
}

/* No such walk with a TrueType font: libharu 2.3.0 itself reads freed
 * memory when an allocation fails while it writes an embedded TrueType
 * font (CreateDescriptor in hpdf_font_tt.c uses the descriptor that
 * HPDF_Xref_Add has just freed). */

/* cJSON cannot tell a failed allocation from bad JSON, so a failing load
 * is DS_ENOMEM or DS_ECONFIG; it never crashes nor leaks. */
Test(pdf, allocation_failures_while_loading)
{
	bool done = false;
	for (long k = 0; !done && k < 20000; k++) {
		ds_doc_template *t = NULL;
		ds_err e = { 0, "" };
		ds_mem_fail_after(k);
		int rc = ds_doc_template_load(OFFER, NULL, &t, &e);
		ds_mem_fail_after(-1);
		if (rc)
			cr_assert(rc == DS_ENOMEM || rc == DS_ECONFIG,
				  "after %ld allocations: %d %s", k, rc, e.msg);
		else
			done = true;
		ds_doc_template_free(t);
	}
	cr_expect(done);
}
