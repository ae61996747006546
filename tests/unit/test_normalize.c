/*
 * test_normalize.c - every normalizer of mappings, on the variants real
 * French data has, and on what each must refuse.
 *
 * One table: a normalizer, an input, and either the expected output or a
 * piece of the expected error message (a refused value is DS_EINVAL, and
 * its message must show the raw value). Adding a case is adding a line.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "decimal.h"
#include "err.h"
#include "mem.h"
#include "normalize.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NBSP "\xC2\xA0"
#define NNBSP "\xE2\x80\xAF"
#define THIN "\xE2\x80\x89"

static const struct {
	const char *norm;
	const char *in;
	const char *out;    /* expected result, or NULL when refused */
	const char *error;  /* part of the message when refused */
} cases[] = {
	/* trim */
	{ "trim", "  Jean Dupont \t\n", "Jean Dupont", NULL },
	{ "trim", NBSP "Brest" NNBSP, "Brest", NULL },
	{ "trim", "", "", NULL },
	{ "trim", " a  b ", "a  b", NULL },
	/* lower, upper */
	{ "lower", "ÉCOLE Été", "école été", NULL },
	{ "upper", "rue de l'église", "RUE DE L'ÉGLISE", NULL },
	{ "upper", "çà et là ÿ ×", "ÇÀ ET LÀ ÿ ×", NULL },
	{ "lower", "ΑΒΓ", "ΑΒΓ", NULL },
	/* collapse_spaces */
	{ "collapse_spaces", "  Jean \t  Dupont\n", "Jean Dupont", NULL },
	{ "collapse_spaces", "", "", NULL },
	/* email */
	{ "email", "  Loic.Kerjean@Example.FR ", "loic.kerjean@example.fr", NULL },
	{ "email", "loic@example", NULL, "not an email address: \"loic@example\"" },
	{ "email", "a@b@c.fr", NULL, "not an email address" },
	{ "email", "Loïc <loic@example.fr>", NULL, "not an email address" },
	{ "email", "", NULL, "not an email address" },
	/* phone_fr */
	{ "phone_fr", "06 12 34 56 78", "+33612345678", NULL },
	{ "phone_fr", "+33 (0)6 12 34 56 78", "+33612345678", NULL },
	{ "phone_fr", "0033612345678", "+33612345678", NULL },
	{ "phone_fr", "0033 (0)6 12 34 56 78", "+33612345678", NULL },
	{ "phone_fr", "+33 6 12 34 56 78", "+33612345678", NULL },
	{ "phone_fr", "06.12.34.56.78", "+33612345678", NULL },
	{ "phone_fr", "06-12-34-56-78", "+33612345678", NULL },
	{ "phone_fr", "0612345678", "+33612345678", NULL },
	{ "phone_fr", " 02 98 44 10 20 ", "+33298441020", NULL },
	{ "phone_fr", "06" NBSP "12" NBSP "34" NBSP "56" NBSP "78", "+33612345678", NULL },
	{ "phone_fr", "+33 06 12 34 56 78", "+33612345678", NULL },
	{ "phone_fr", "(0)6 12 34 56 78", "+33612345678", NULL },
	{ "phone_fr", "0800 123 456", "+33800123456", NULL },
	/* overseas départements: their own country codes */
	{ "phone_fr", "0692 12 34 56", "+262692123456", NULL },
	{ "phone_fr", "+33 692 12 34 56", "+262692123456", NULL },
	{ "phone_fr", "+262 692 12 34 56", "+262692123456", NULL },
	{ "phone_fr", "0590 12 34 56", "+590590123456", NULL },
	{ "phone_fr", "0694 12 34 56", "+594694123456", NULL },
	{ "phone_fr", "0596 12 34 56", "+596596123456", NULL },
	{ "phone_fr", "+262 612 34 56 78", NULL, "not a French phone number" },
	/* not French, not a number */
	{ "phone_fr", "+32 470 12 34 56", NULL, "not a French phone number: \"+32 470 12 34 56\"" },
	{ "phone_fr", "+44 20 7946 0000", NULL, "not a French phone number" },
	{ "phone_fr", "33612345678", NULL, "not a French phone number" },
	{ "phone_fr", "612345678", NULL, "not a French phone number" },
	{ "phone_fr", "06 12 34 56 7", NULL, "not a French phone number" },
	{ "phone_fr", "06 12 34 56 789", NULL, "not a French phone number" },
	{ "phone_fr", "00 12 34 56 78", NULL, "not a French phone number" },
	{ "phone_fr", "06 12 34 56 78 poste 12", NULL, "not a French phone number" },
	{ "phone_fr", "+33 6 12 34 56 78 +1", NULL, "not a French phone number" },
	{ "phone_fr", "3631", NULL, "not a French phone number" },
	{ "phone_fr", "", NULL, "not a French phone number" },
	{ "phone_fr", "0612345678901234567890123456789", NULL, "not a French phone number" },
	/* amount_fr */
	{ "amount_fr", "1 234,50 €", "1234.50", NULL },
	{ "amount_fr", "1.234,50 EUR", "1234.50", NULL },
	{ "amount_fr", "1234.5", "1234.5", NULL },
	{ "amount_fr", "€1,234.50", "1234.50", NULL },
	{ "amount_fr", "-12,5", "-12.5", NULL },
	{ "amount_fr", "1" NBSP "234,50" NBSP "€", "1234.50", NULL },
	{ "amount_fr", "1" NNBSP "234" NNBSP "567,89" NNBSP "€", "1234567.89", NULL },
	{ "amount_fr", "1" THIN "234,5", "1234.5", NULL },
	{ "amount_fr", "1 234.50", "1234.50", NULL },
	{ "amount_fr", "1.234.567,89", "1234567.89", NULL },
	{ "amount_fr", "1,234,567.89", "1234567.89", NULL },
	{ "amount_fr", "1.234.567", "1234567", NULL },
	{ "amount_fr", "1,234,567", "1234567", NULL },
	{ "amount_fr", "0,10 €", "0.10", NULL },
	{ "amount_fr", "12 euros", "12", NULL },
	{ "amount_fr", "12 Euro", "12", NULL },
	{ "amount_fr", "EUR 12,00", "12.00", NULL },
	{ "amount_fr", "12€", "12", NULL },
	{ "amount_fr", "-€12,50", "-12.50", NULL },
	{ "amount_fr", "€-12,50", "-12.50", NULL },
	{ "amount_fr", "\xE2\x88\x92" "3,5", "-3.5", NULL },
	{ "amount_fr", "+3,5", "3.5", NULL },
	{ "amount_fr", "007,50", "7.50", NULL },
	{ "amount_fr", "-0,00", "0.00", NULL },
	{ "amount_fr", "0,125", "0.125", NULL },
	{ "amount_fr", "1234,567", "1234.567", NULL },
	{ "amount_fr", "  42  ", "42", NULL },
	{ "amount_fr", "0.000000000000000001", "0.000000000000000001", NULL },
	/* ambiguous: a decimal mark or a thousands separator? */
	{ "amount_fr", "1,234", NULL, "not an amount: \"1,234\"" },
	{ "amount_fr", "1.234 €", NULL, "not an amount" },
	{ "amount_fr", "123.456", NULL, "not an amount" },
	/* malformed */
	{ "amount_fr", "", NULL, "not an amount" },
	{ "amount_fr", "€", NULL, "not an amount" },
	{ "amount_fr", "abc", NULL, "not an amount" },
	{ "amount_fr", "12,", NULL, "not an amount" },
	{ "amount_fr", ",50", NULL, "not an amount" },
	{ "amount_fr", "1,2,3", NULL, "not an amount" },
	{ "amount_fr", "1.234,567.89", NULL, "not an amount" },
	{ "amount_fr", "1 234.567,89", NULL, "not an amount" },
	{ "amount_fr", "12 34,5", NULL, "not an amount" },
	{ "amount_fr", "1  234", NULL, "not an amount" },
	{ "amount_fr", "1234 567", NULL, "not an amount" },
	{ "amount_fr", "1,50 0", NULL, "not an amount" },
	{ "amount_fr", "12,5.3", NULL, "not an amount" },
	{ "amount_fr", "12 $", NULL, "not an amount" },
	{ "amount_fr", "USD 12", NULL, "not an amount" },
	{ "amount_fr", "€12 €", NULL, "currency written twice" },
	{ "amount_fr", "12 €50", NULL, "not an amount" },
	{ "amount_fr", "1e3", NULL, "not an amount" },
	{ "amount_fr", "--12", NULL, "not an amount" },
	{ "amount_fr", "12 europe", NULL, "not an amount" },
	{ "amount_fr", "99999999999999999999", NULL, "not an amount within range" },
	{ "amount_fr", "12345678901234567890123456789012345678901", NULL, "not an amount" },
	/* date_fr */
	{ "date_fr", "22/11/2026", "2026-11-22", NULL },
	{ "date_fr", "22-11-26", "2026-11-22", NULL },
	{ "date_fr", "22.11.2026", "2026-11-22", NULL },
	{ "date_fr", "1/2/2026", "2026-02-01", NULL },
	{ "date_fr", "2026-11-22", "2026-11-22", NULL },
	{ "date_fr", " 22/11/2026 ", "2026-11-22", NULL },
	{ "date_fr", "22 novembre 2026", "2026-11-22", NULL },
	{ "date_fr", "22 Novembre 2026", "2026-11-22", NULL },
	{ "date_fr", "22 NOVEMBRE 2026", "2026-11-22", NULL },
	{ "date_fr", "dimanche 22 novembre 2026", "2026-11-22", NULL },
	{ "date_fr", "Dimanche, 22 novembre 2026", "2026-11-22", NULL },
	{ "date_fr", "dim. 22 nov. 2026", "2026-11-22", NULL },
	{ "date_fr", "lundi 23 novembre 2026", "2026-11-23", NULL },
	{ "date_fr", "le 22 novembre 2026", "2026-11-22", NULL },
	{ "date_fr", "1er décembre 2026", "2026-12-01", NULL },
	{ "date_fr", "1er decembre 2026", "2026-12-01", NULL },
	{ "date_fr", "1ᵉʳ DÉCEMBRE 2026", "2026-12-01", NULL },
	{ "date_fr", "mardi 1er déc. 2026", "2026-12-01", NULL },
	{ "date_fr", "3 déc 2026", "2026-12-03", NULL },
	{ "date_fr", "15 août 2026", "2026-08-15", NULL },
	{ "date_fr", "15 aout 2026", "2026-08-15", NULL },
	{ "date_fr", "14 févr. 2026", "2026-02-14", NULL },
	{ "date_fr", "14 fevrier 2026", "2026-02-14", NULL },
	{ "date_fr", "5 janv. 2027", "2027-01-05", NULL },
	{ "date_fr", "5 sept. 2026", "2026-09-05", NULL },
	{ "date_fr", "14 juil. 2026", "2026-07-14", NULL },
	{ "date_fr", "1 mars 2026", "2026-03-01", NULL },
	{ "date_fr", "22" NBSP "novembre" NBSP "2026", "2026-11-22", NULL },
	{ "date_fr", "29/02/2028", "2028-02-29", NULL },
	{ "date_fr", "01/01/70", "1970-01-01", NULL },
	{ "date_fr", "31/12/69", "2069-12-31", NULL },
	/* a written weekday is not checked against the date */
	{ "date_fr", "lundi 22 novembre 2026", "2026-11-22", NULL },
	{ "date_fr", "31/11/2026", NULL, "not a date (no such day): \"31/11/2026\"" },
	{ "date_fr", "29/02/2026", NULL, "no such day" },
	{ "date_fr", "0/11/2026", NULL, "no such day" },
	{ "date_fr", "22/13/2026", NULL, "no such day" },
	{ "date_fr", "32 novembre 2026", NULL, "no such day" },
	{ "date_fr", "22/11/226", NULL, "not a date" },
	{ "date_fr", "22/11-2026", NULL, "not a date" },
	{ "date_fr", "11/22/2026", NULL, "no such day" },
	{ "date_fr", "2026/11/22", NULL, "not a date" },
	{ "date_fr", "22/11/2026 14:30", NULL, "not a date" },
	{ "date_fr", "2er novembre 2026", NULL, "not a date" },
	{ "date_fr", "22 brumaire 2026", NULL, "not a date" },
	{ "date_fr", "22 novembre", NULL, "not a date" },
	{ "date_fr", "22 novembre 26", NULL, "not a date" },
	{ "date_fr", "November 22, 2026", NULL, "not a date" },
	{ "date_fr", "demain", NULL, "not a date" },
	{ "date_fr", "", NULL, "not a date" },
	{ "date_fr", "22/11/0999", NULL, "not a date" },
	{ "date_fr", "le le le le le le le le le 22 novembre 2026", NULL, "not a date" },
	/* siret (and the other identifiers, through ident.c) */
	{ "siret", "732 829 320 00074", "73282932000074", NULL },
	{ "siret", "356 000 000 09075", "35600000009075", NULL },
	{ "siret", "732 829 320 00075", NULL,
	  "not a SIRET number (wrong check digits): \"732 829 320 00075\"" },
	{ "siret", "732 829 320", NULL, "not a SIRET number (wrong length)" },
	{ "siren", "732.829.320", "732829320", NULL },
	{ "vat_fr", "fr 40 303 265 045", "FR40303265045", NULL },
	{ "iban", "fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606", NULL },
	{ "postcode_fr", "29 200", "29200", NULL },
	{ "postcode_fr", "9200", NULL, "not a French postcode (wrong length)" },
	{ "postcode_fr", "20090", "20090", NULL },
	{ "postcode_fr", "97122", "97122", NULL },
	{ "postcode_fr", "2A004", NULL, "2A and 2B are Corsica's département codes" },
	{ "postcode_fr", " 2b200", NULL, "its postcodes are 5 digits starting with 20" },
	{ "currency", "eur", "EUR", NULL },
	/* strip_html */
	{ "strip_html", "<p>Bonjour <b>Loïc</b>,</p><p>Merci.</p>", "Bonjour Loïc,\nMerci.", NULL },
	{ "strip_html", "Ligne 1<br>Ligne 2<br/>Ligne 3<BR />Fin", "Ligne 1\nLigne 2\nLigne 3\nFin",
	  NULL },
	{ "strip_html", "a<br><br><br><br>b", "a\n\nb", NULL },
	{ "strip_html", "caf&eacute; &#233;t&#xE9; &#XE9;", "café été é", NULL },
	{ "strip_html", "1&nbsp;234&nbsp;&euro;", "1" NBSP "234" NBSP "€", NULL },
	{ "strip_html", "&lt;b&gt; &amp; &quot;x&quot; &apos;y&apos;", "<b> & \"x\" 'y'", NULL },
	{ "strip_html", "l&#146;&eacute;t&eacute; &#150; &laquo;&nbsp;oui&nbsp;&raquo;",
	  "l’été – «" NBSP "oui" NBSP "»", NULL },
	{ "strip_html", "&#0; &#xD800; &#x110000;", "\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD", NULL },
	{ "strip_html", "&unknown; &amp &#; &#x; &#12345678901;", "&unknown; &amp &#; &#x; &#12345678901;",
	  NULL },
	{ "strip_html", "a<script>if (a < b) { alert('</p>'); }</script>b", "ab", NULL },
	{ "strip_html", "a<SCRIPT type=\"text/javascript\">x</ScRiPt >b", "ab", NULL },
	{ "strip_html", "a<style>p { color: red }</style>b", "ab", NULL },
	{ "strip_html", "a<script>never closed", "a", NULL },
	{ "strip_html", "a<!-- <p>hidden</p> -->b", "ab", NULL },
	{ "strip_html", "a<!-- never closed", "a", NULL },
	{ "strip_html", "<!DOCTYPE html><?xml version=\"1.0\"?>x", "x", NULL },
	{ "strip_html", "<a href=\"x>y\" title='a>b'>lien</a>", "lien", NULL },
	{ "strip_html", "a < b et c > d", "a < b et c > d", NULL },
	{ "strip_html", "x <unclosed", "x", NULL },
	{ "strip_html", "  <div>\n  un\n  deux  </div>\n\n<div>trois</div>  ", "un deux\ntrois",
	  NULL },
	{ "strip_html", "<ul><li>un</li><li>deux</li></ul>", "un\ndeux", NULL },
	{ "strip_html", "<h1>Titre</h1>Texte<hr>Fin", "Titre\nTexte\nFin", NULL },
	{ "strip_html", "", "", NULL },
	{ "strip_html", "texte brut", "texte brut", NULL },
	/* integer */
	{ "integer", "2", "2", NULL },
	{ "integer", " 3.00 ", "3", NULL },
	{ "integer", "-007", "-7", NULL },
	{ "integer", "+12", "12", NULL },
	{ "integer", "-0", "0", NULL },
	{ "integer", "999999999999999", "999999999999999", NULL },
	{ "integer", "1000000000000000", NULL, "not a whole number" },
	{ "integer", "2.5", NULL, "not a whole number" },
	{ "integer", "1 000", NULL, "not a whole number" },
	{ "integer", "", NULL, "not a whole number" },
	{ "integer", "-", NULL, "not a whole number" },
	/* decimal: xs:decimal, as UBL writes amounts */
	{ "decimal", "890.00", "890.00", NULL },
	{ "decimal", " 6225 ", "6225", NULL },
	{ "decimal", "\n\t1780.5\n", "1780.5", NULL },
	{ "decimal", "+.5", "0.5", NULL },
	{ "decimal", "5.", "5", NULL },
	{ "decimal", "007.10", "7.10", NULL },
	{ "decimal", "-12.30", "-12.30", NULL },
	{ "decimal", "-0.00", "0.00", NULL },
	{ "decimal", "1.234,50", NULL, "not a decimal number (digits and a dot, such as 1234.50): \"1.234,50\"" },
	{ "decimal", "1234,50", NULL, "not a decimal number" },
	{ "decimal", "1 234.50", NULL, "not a decimal number" },
	{ "decimal", "1e3", NULL, "not a decimal number" },
	{ "decimal", "12.50 EUR", NULL, "not a decimal number" },
	{ "decimal", ".", NULL, "not a decimal number" },
	{ "decimal", "-", NULL, "not a decimal number" },
	{ "decimal", "", NULL, "not a decimal number" },
	{ "decimal", "99999999999999999999", NULL, "not a decimal number within range" },
	/* number: the same, as a JSON number */
	{ "number", "3.00", "3", NULL },
	{ "number", "2.50", "2.5", NULL },
	{ "number", " 12.125 ", "12.125", NULL },
	{ "number", "-2", "-2", NULL },
	{ "number", "0.0001", "0.0001", NULL },
	{ "number", "000120", "120", NULL },
	{ "number", "123456789012345", "123456789012345", NULL },
	{ "number", "1234567890123456", NULL, "not a number of at most 15 significant digits" },
	{ "number", "0.1234567890123456", NULL, "at most 15 significant digits" },
	{ "number", "2,5", NULL, "not a number (digits and a dot, such as 2.5)" },
	{ "number", "deux", NULL, "not a number" },
	/* percent */
	{ "percent", "20", "20.0", NULL },
	{ "percent", "20.00", "20.0", NULL },
	{ "percent", "5.50", "5.5", NULL },
	{ "percent", "5,5 %", "5.5", NULL },
	{ "percent", "2.1%", "2.1", NULL },
	{ "percent", "0", "0.0", NULL },
	{ "percent", " 10.000 ", "10.0", NULL },
	{ "percent", "19.60", "19.6", NULL },
	{ "percent", "%", NULL, "not a percentage" },
	{ "percent", "vingt", NULL, "not a percentage (such as 20, 5.5 or 5,5 %): \"vingt\"" },
	{ "percent", "5.5.5", NULL, "not a percentage" },
	/* bool */
	{ "bool", "oui", "true", NULL },
	{ "bool", "Non", "false", NULL },
	{ "bool", " OUI ", "true", NULL },
	{ "bool", "vrai", "true", NULL },
	{ "bool", "FAUX", "false", NULL },
	{ "bool", "yes", "true", NULL },
	{ "bool", "No", "false", NULL },
	{ "bool", "on", "true", NULL },
	{ "bool", "off", "false", NULL },
	{ "bool", "true", "true", NULL },
	{ "bool", "False", "false", NULL },
	{ "bool", "1", "true", NULL },
	{ "bool", "0", "false", NULL },
	{ "bool", NBSP "1" NBSP, "true", NULL },
	{ "bool", "peut-être", NULL, "not a yes/no value: \"peut-être\"" },
	{ "bool", "o", NULL, "not a yes/no value" },
	{ "bool", "2", NULL, "not a yes/no value" },
	{ "bool", "", NULL, "not a yes/no value" },
	{ "bool", "oui non", NULL, "not a yes/no value" },
};

Test(normalize, table)
{
	ds_arena *a = ds_arena_new(1024);
	cr_assert_not_null(a);
	for (size_t i = 0; i < N(cases); i++) {
		ds_normalizer_fn fn = ds_normalizer(cases[i].norm);
		cr_assert_not_null(fn, "no normalizer %s", cases[i].norm);
		const char *out = NULL;
		ds_err err = { 0, "" };
		int rc = fn(a, cases[i].in, &out, &err);
		if (cases[i].out) {
			cr_expect_eq(rc, 0, "%s(\"%s\"): %s", cases[i].norm, cases[i].in, err.msg);
			if (!rc)
				cr_expect_str_eq(out, cases[i].out, "%s(\"%s\")", cases[i].norm,
						 cases[i].in);
		} else {
			cr_expect_eq(rc, DS_EINVAL, "%s(\"%s\") should be refused, got \"%s\"",
				     cases[i].norm, cases[i].in, rc ? "" : out);
			cr_expect(strstr(err.msg, cases[i].error), "%s(\"%s\"): expected \"%s\" in: %s",
				  cases[i].norm, cases[i].in, cases[i].error, err.msg);
			cr_expect(!strchr(err.msg, '\n'), "one-line message: %s", err.msg);
		}
		ds_arena_reset(a);
	}
	ds_arena_free(a);
}

/* Every normalizer the SPEC lists exists; bool alone gives a JSON boolean. */
Test(normalize, names_and_kinds)
{
	static const char *const spec[] = { "trim", "lower", "upper", "collapse_spaces", "email",
					    "phone_fr", "amount_fr", "date_fr", "siret",
					    "strip_html", "bool" };
	for (size_t i = 0; i < N(spec); i++)
		cr_expect_not_null(ds_normalizer(spec[i]), "%s", spec[i]);
	cr_expect_null(ds_normalizer("soundex"));
	cr_expect_eq(ds_normalizer_kind("bool"), DS_NORM_BOOLEAN);
	cr_expect_eq(ds_normalizer_kind("integer"), DS_NORM_INTEGER);
	cr_expect_eq(ds_normalizer_kind("number"), DS_NORM_NUMBER);
	cr_expect_eq(ds_normalizer_kind("decimal"), DS_NORM_STRING);
	cr_expect_eq(ds_normalizer_kind("amount_fr"), DS_NORM_STRING);
	cr_expect_eq(ds_normalizer_kind("trim"), DS_NORM_STRING);
	cr_expect_eq(ds_normalizer_kind("soundex"), DS_NORM_STRING);
	size_t n = 0;
	for (const char *name; (name = ds_normalizer_name(n)) != NULL; n++)
		cr_expect_not_null(ds_normalizer(name), "%s", name);
	cr_expect_geq(n, N(spec));
}

/* Amounts keep their exact digits end to end: 0,10 € + 0,20 € is 0.30. */
Test(normalize, amounts_sum_exactly)
{
	ds_arena *a = ds_arena_new(256);
	cr_assert_not_null(a);
	ds_normalizer_fn fn = ds_normalizer("amount_fr");
	const char *x = NULL, *y = NULL;
	cr_assert_eq(fn(a, "0,10 €", &x, NULL), 0);
	cr_assert_eq(fn(a, "0,20" NBSP "€", &y, NULL), 0);
	ds_dec dx, dy, sum;
	cr_assert_eq(ds_dec_parse(x, strlen(x), &dx), 0);
	cr_assert_eq(ds_dec_parse(y, strlen(y), &dy), 0);
	cr_assert_eq(ds_dec_add(dx, dy, &sum), 0);
	char buf[32];
	ds_dec_format(sum, buf, sizeof buf);
	cr_expect_str_eq(buf, "0.30");
	ds_arena_free(a);
}

/* Long values: linear work, a short one-line message. */
Test(normalize, long_input)
{
	ds_arena *a = ds_arena_new(1024);
	cr_assert_not_null(a);
	size_t n = 1 << 20;
	char *big = ds_malloc(n + 1);
	cr_assert_not_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = "<b>&eacute;\n"[i % 12];
	big[n] = '\0';
	const char *out = NULL;
	ds_err err = { 0, "" };
	cr_expect_eq(ds_normalizer("strip_html")(a, big, &out, &err), 0);
	cr_expect_leq(strlen(out), n);
	static const char *const refusing[] = { "phone_fr", "amount_fr", "date_fr", "bool",
						"siret", "email" };
	for (size_t i = 0; i < N(refusing); i++) {
		cr_expect_eq(ds_normalizer(refusing[i])(a, big, &out, &err), DS_EINVAL, "%s",
			     refusing[i]);
		cr_expect_lt(strlen(err.msg), 160, "%s: %s", refusing[i], err.msg);
		cr_expect(!strchr(err.msg, '\n'), "%s: %s", refusing[i], err.msg);
	}
	/* an unclosed script or comment is still one pass */
	memcpy(big, "<script>", 8);
	cr_expect_eq(ds_normalizer("strip_html")(a, big, &out, &err), 0);
	cr_expect_str_eq(out, "");
	ds_free(big);
	ds_arena_free(a);
}

/* Out of memory is DS_ENOMEM, never a crash or a half-written result. */
Test(normalize, out_of_memory)
{
	static const struct {
		const char *norm, *in;
	} ok[] = {
		{ "trim", " x " }, { "lower", "X" }, { "upper", "x" }, { "collapse_spaces", "a  b" },
		{ "email", "a@b.fr" }, { "phone_fr", "0612345678" }, { "amount_fr", "1,5" },
		{ "date_fr", "22/11/2026" }, { "siret", "73282932000074" },
		{ "strip_html", "<p>x</p>" }, { "bool", "oui" },
	};
	for (size_t i = 0; i < N(ok); i++) {
		ds_arena *a = ds_arena_new(1024);
		cr_assert_not_null(a);
		/* fill the first block so the next allocation needs malloc */
		cr_assert_not_null(ds_arena_alloc(a, 1024));
		ds_mem_fail_after(0);
		const char *out = NULL;
		ds_err err = { 0, "" };
		int rc = ds_normalizer(ok[i].norm)(a, ok[i].in, &out, &err);
		ds_mem_fail_after(-1);
		cr_expect_eq(rc, DS_ENOMEM, "%s: %d %s", ok[i].norm, rc, err.msg);
		ds_arena_free(a);
	}
}
