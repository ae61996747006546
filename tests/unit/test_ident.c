/*
 * test_ident.c - identifiers: the python-stdnum vectors of the shared
 * corpus, then our own tables for what stdnum does not cover (postcodes,
 * phone numbers, currencies, RIB keys, canonical-form checks, limits).
 *
 * The corpus file is read in place, from the repository root where the tests
 * run; every row must give its expected validity, its expected normalised
 * form, and, when the row names a stdnum exception, the matching fault.
 * The counts are printed to stderr.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ident.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define VECTORS "../shared/corpus/fr-ids/stdnum-vectors.visible.tsv"

typedef int (*norm_fn)(const char *, char[static DS_ID_MAX], ds_err *);
typedef ds_id_fault (*check_fn)(const char *, size_t);

/* ---- the stdnum vectors ---- */

/* The fault a stdnum exception name stands for; -1 when the row gives no
 * name, or marks it as uncertain with a '?'. */
static int fault_of(const char *name)
{
	static const struct {
		const char *name;
		ds_id_fault fault;
	} map[] = {
		{ "InvalidFormat", DS_ID_FORMAT },
		{ "InvalidLength", DS_ID_LENGTH },
		{ "InvalidChecksum", DS_ID_CHECKSUM },
		{ "InvalidComponent", DS_ID_COMPONENT },
	};
	if (strchr(name, '?'))
		return -1;
	for (size_t i = 0; i < N(map); i++)
		if (!strcmp(name, map[i].name))
			return (int)map[i].fault;
	return -1;
}

struct tally {
	const char *module;
	int rows, passed, faults;
};

/* Splits a TSV line in place into at most n fields; returns the count. */
static int split(char *line, char **f, int n)
{
	int k = 0;
	line[strcspn(line, "\r\n")] = '\0';
	f[k++] = line;
	for (char *p = line; *p && k < n; p++)
		if (*p == '\t') {
			*p = '\0';
			f[k++] = p + 1;
		}
	return k;
}

/* Runs one row; returns NULL when it passes, else why (static text or buf). */
static const char *run_row(char **f, bool *fault_compared, char *buf, size_t n)
{
	const char *module = f[0], *fn = f[1], *in = f[2], *valid = f[3], *want = f[4];
	char out[DS_ID_MAX] = "";
	ds_err err = { 0, "" };
	int rc;
	*fault_compared = false;

	if (!strcmp(module, "luhn")) {
		size_t len = strlen(in);
		if (!strcmp(fn, "checksum")) {
			int sum = -1;
			rc = ds_id_luhn_checksum(in, len, &sum);
			snprintf(out, sizeof out, "%d", sum);
		} else if (!strcmp(fn, "calc_check_digit")) {
			char d = '?';
			rc = ds_id_luhn_check_digit(in, len, &d);
			snprintf(out, sizeof out, "%c", d);
		} else if (!strcmp(fn, "validate")) {
			rc = ds_id_luhn_check(in, len) ? DS_EINVAL : DS_OK;
			snprintf(out, sizeof out, "%.*s", (int)sizeof out - 1, in);
			if (!rc && strcmp(in, want))
				return "luhn validate returns its input";
			if (!rc)
				out[0] = '\0', want = "";
		} else {
			return "unknown luhn function";
		}
	} else {
		norm_fn norm = NULL;
		size_t skip = 0; /* stdnum's French VAT form has no FR prefix */
		if (!strcmp(module, "fr.siren"))
			norm = ds_id_siren_normalize;
		else if (!strcmp(module, "fr.siret"))
			norm = ds_id_siret_normalize;
		else if (!strcmp(module, "iban"))
			norm = ds_id_iban_normalize;
		else if (!strcmp(module, "fr.tva") || !strcmp(module, "eu.vat"))
			norm = !strcmp(fn, "to_siren") ? ds_id_vat_fr_to_siren
						       : (skip = 2, ds_id_vat_fr_normalize);
		if (!norm)
			return "unknown module";
		if (strcmp(fn, "is_valid") && strcmp(fn, "validate") && strcmp(fn, "to_siren"))
			return "unknown function";
		rc = norm(in, out, &err);
		bool expect_ok = strcmp(valid, "false") != 0;
		if (expect_ok != !rc) {
			snprintf(buf, n, "expected %s, got %s", expect_ok ? "valid" : "invalid",
				 rc ? err.msg : out);
			return buf;
		}
		if (rc) {
			int fault = fault_of(want);
			if (fault >= 0) {
				*fault_compared = true;
				if (!strstr(err.msg, ds_id_fault_text((ds_id_fault)fault))) {
					snprintf(buf, n, "expected %s, got %s", want, err.msg);
					return buf;
				}
			}
			return NULL;
		}
		if (!*want) /* is_valid rows give no form */
			return NULL;
		if (strcmp(out + skip, want)) {
			snprintf(buf, n, "expected \"%s\", got \"%s\"", want, out + skip);
			return buf;
		}
		return NULL;
	}
	if (rc) {
		snprintf(buf, n, "failed: %d", rc);
		return buf;
	}
	if (strcmp(out, want)) {
		snprintf(buf, n, "expected \"%s\", got \"%s\"", want, out);
		return buf;
	}
	return NULL;
}

Test(ident, stdnum_vectors)
{
	FILE *fp = fopen(VECTORS, "r");
	cr_assert_not_null(fp, "cannot open %s (tests run from the repository root)", VECTORS);
	struct tally t[8];
	size_t nt = 0;
	int rows = 0, passed = 0, compared = 0;
	char line[1024];
	bool header = true;
	while (fgets(line, sizeof line, fp)) {
		char *f[6];
		if (header) {
			header = false;
			cr_assert(!strncmp(line, "module\tfunction\tinput\texpected_valid\texpected_output",
					   51), "unexpected header: %s", line);
			continue;
		}
		if (split(line, f, 6) < 5)
			continue;
		size_t i = 0;
		while (i < nt && strcmp(t[i].module, f[0]))
			i++;
		if (i == nt) {
			cr_assert(nt < N(t), "too many modules");
			t[nt++] = (struct tally){ strdup(f[0]), 0, 0, 0 };
		}
		char why[1200];
		bool fc;
		const char *fail = run_row(f, &fc, why, sizeof why);
		rows++;
		t[i].rows++;
		if (fc) {
			compared++;
			t[i].faults++;
		}
		if (fail) {
			cr_expect_fail("%s %s \"%s\" (%s): %s", f[0], f[1], f[2], f[5], fail);
		} else {
			passed++;
			t[i].passed++;
		}
	}
	fclose(fp);
	fprintf(stderr, "stdnum vectors: %d/%d rows pass (%d failures matched to stdnum's "
		"exception)", passed, rows, compared);
	for (size_t i = 0; i < nt; i++) {
		fprintf(stderr, "%s %s %d/%d", i ? "," : ":", t[i].module, t[i].passed, t[i].rows);
		free((void *)t[i].module);
	}
	fprintf(stderr, "\n");
	cr_expect_eq(rows, 259, "the corpus README announces 259 rows, read %d", rows);
}

/* ---- our own cases ---- */

static const struct {
	const char *what;
	norm_fn norm;
	const char *in;
	const char *out;          /* canonical form, or NULL when refused */
	ds_id_fault fault;
} cases[] = {
	/* SIREN / SIRET */
	{ "siren", ds_id_siren_normalize, " 732.829.320 ", "732829320", 0 },
	{ "siren", ds_id_siren_normalize, "732\xC2\xA0" "829\xE2\x80\xAF" "320", "732829320", 0 },
	{ "siren", ds_id_siren_normalize, "732829321", NULL, DS_ID_CHECKSUM },
	{ "siren", ds_id_siren_normalize, "73282932", NULL, DS_ID_LENGTH },
	{ "siren", ds_id_siren_normalize, "73282932O", NULL, DS_ID_FORMAT },
	{ "siren", ds_id_siren_normalize, "", NULL, DS_ID_FORMAT },
	{ "siret", ds_id_siret_normalize, "732 829 320 00074", "73282932000074", 0 },
	{ "siret", ds_id_siret_normalize, "732-829-320-00074", "73282932000074", 0 },
	{ "siret", ds_id_siret_normalize, "73282932000079", NULL, DS_ID_CHECKSUM },
	/* La Poste: digit sum, not Luhn; its head office uses Luhn */
	{ "siret", ds_id_siret_normalize, "35600000000048", "35600000000048", 0 },
	{ "siret", ds_id_siret_normalize, "356 000 000 09075", "35600000009075", 0 },
	{ "siret", ds_id_siret_normalize, "35600000049838", NULL, DS_ID_CHECKSUM },
	/* Luhn-valid over 14 digits but the SIREN part is not */
	{ "siret", ds_id_siret_normalize, "10000000000008", NULL, DS_ID_CHECKSUM },
	/* French VAT: numeric and new-style keys, Monaco */
	{ "vat", ds_id_vat_fr_normalize, "fr 40 303 265 045", "FR40303265045", 0 },
	{ "vat", ds_id_vat_fr_normalize, "40303265045", "FR40303265045", 0 },
	{ "vat", ds_id_vat_fr_normalize, "K7399859412", "FRK7399859412", 0 },
	{ "vat", ds_id_vat_fr_normalize, "4Z123456782", "FR4Z123456782", 0 },
	{ "vat", ds_id_vat_fr_normalize, "IO334175221", NULL, DS_ID_FORMAT },
	{ "vat", ds_id_vat_fr_normalize, "FR53000004605", "FR53000004605", 0 },
	{ "vat", ds_id_vat_fr_normalize, "FR41303265045", NULL, DS_ID_CHECKSUM },
	{ "vat", ds_id_vat_fr_normalize, "FR4030326504", NULL, DS_ID_LENGTH },
	{ "vat", ds_id_vat_fr_to_siren, "FR 40 303 265 045", "303265045", 0 },
	{ "vat", ds_id_vat_fr_to_siren, "FR53000004605", NULL, DS_ID_COMPONENT },
	/* IBAN */
	{ "iban", ds_id_iban_normalize, "fr14 2004 1010 0505 0001 3m02 606",
	  "FR1420041010050500013M02606", 0 },
	{ "iban", ds_id_iban_normalize, "FR76 3000 6000 0112 3456 7890 189",
	  "FR7630006000011234567890189", 0 },
	/* the IBAN check digits match but the RIB key (last two) does not */
	{ "iban", ds_id_iban_normalize, "FR7630006000011234567890188", NULL, DS_ID_CHECKSUM },
	{ "iban", ds_id_iban_normalize, "FR0530006000011234567890188", NULL, DS_ID_CHECKSUM },
	{ "iban", ds_id_iban_normalize, "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", 0 },
	{ "iban", ds_id_iban_normalize, "DE88 3704 0044 0532 0130 00", NULL, DS_ID_CHECKSUM },
	{ "iban", ds_id_iban_normalize, "DE89 3704 0044 0532 0130 0", NULL, DS_ID_LENGTH },
	{ "iban", ds_id_iban_normalize, "BE68 5390 0754 7034", "BE68539007547034", 0 },
	{ "iban", ds_id_iban_normalize, "BE41091811735141", NULL, DS_ID_CHECKSUM },
	{ "iban", ds_id_iban_normalize, "ES77 1234-1234-16 1234567890", "ES7712341234161234567890", 0 },
	{ "iban", ds_id_iban_normalize, "ES15 1234-1234-17 1234567890", NULL, DS_ID_CHECKSUM },
	{ "iban", ds_id_iban_normalize, "US12 3456 7890", NULL, DS_ID_COMPONENT },
	{ "iban", ds_id_iban_normalize, "FR14_2004", NULL, DS_ID_FORMAT },
	{ "iban", ds_id_iban_normalize, "F", NULL, DS_ID_LENGTH },
	/* postcodes */
	{ "postcode", ds_id_postcode_fr_normalize, "75001", "75001", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, " 01 000 ", "01000", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "20000", "20000", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "20200", "20200", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "20600", "20600", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "20300", NULL, DS_ID_COMPONENT },
	{ "postcode", ds_id_postcode_fr_normalize, "97400", "97400", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "97600", "97600", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "97700", NULL, DS_ID_COMPONENT },
	{ "postcode", ds_id_postcode_fr_normalize, "98000", "98000", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "98800", "98800", 0 },
	{ "postcode", ds_id_postcode_fr_normalize, "98100", NULL, DS_ID_COMPONENT },
	{ "postcode", ds_id_postcode_fr_normalize, "00100", NULL, DS_ID_COMPONENT },
	{ "postcode", ds_id_postcode_fr_normalize, "96100", NULL, DS_ID_COMPONENT },
	{ "postcode", ds_id_postcode_fr_normalize, "7500", NULL, DS_ID_LENGTH },
	{ "postcode", ds_id_postcode_fr_normalize, "2A004", NULL, DS_ID_FORMAT },
	/* E.164 */
	{ "phone", ds_id_phone_normalize, "+33 6 12 34 56 78", "+33612345678", 0 },
	{ "phone", ds_id_phone_normalize, "+44 (0)20 7946 0000", "+442079460000", 0 },
	{ "phone", ds_id_phone_normalize, "0049-30-1234567", "+49301234567", 0 },
	{ "phone", ds_id_phone_normalize, "+1 (555) 010-0199", "+15550100199", 0 },
	{ "phone", ds_id_phone_normalize, "06 12 34 56 78", NULL, DS_ID_COMPONENT },
	{ "phone", ds_id_phone_normalize, "+33 6 12 34 56 78 ext 3", NULL, DS_ID_FORMAT },
	{ "phone", ds_id_phone_normalize, "+1234567890123456", NULL, DS_ID_LENGTH },
	{ "phone", ds_id_phone_normalize, "+123456", NULL, DS_ID_LENGTH },
	{ "phone", ds_id_phone_normalize, "+0123456789", NULL, DS_ID_COMPONENT },
	{ "phone", ds_id_phone_normalize, "+33+612345678", NULL, DS_ID_FORMAT },
	/* currencies */
	{ "currency", ds_id_currency_normalize, " eur ", "EUR", 0 },
	{ "currency", ds_id_currency_normalize, "\xE2\x82\xAC", "EUR", 0 },
	{ "currency", ds_id_currency_normalize, "XCG", "XCG", 0 },
	{ "currency", ds_id_currency_normalize, "FRF", NULL, DS_ID_COMPONENT },
	{ "currency", ds_id_currency_normalize, "HRK", NULL, DS_ID_COMPONENT },
	{ "currency", ds_id_currency_normalize, "EURO", NULL, DS_ID_LENGTH },
	{ "currency", ds_id_currency_normalize, "$", NULL, DS_ID_FORMAT },
};

Test(ident, normalize_table)
{
	for (size_t i = 0; i < N(cases); i++) {
		char out[DS_ID_MAX] = "x";
		ds_err err = { 0, "" };
		int rc = cases[i].norm(cases[i].in, out, &err);
		if (cases[i].out) {
			cr_expect_eq(rc, 0, "%s \"%s\": %s", cases[i].what, cases[i].in, err.msg);
			cr_expect_str_eq(out, cases[i].out, "%s \"%s\"", cases[i].what, cases[i].in);
		} else {
			cr_expect_eq(rc, DS_EINVAL, "%s \"%s\" should be refused, got \"%s\"",
				     cases[i].what, cases[i].in, out);
			cr_expect(strstr(err.msg, ds_id_fault_text(cases[i].fault)),
				  "%s \"%s\": expected %s, got %s", cases[i].what, cases[i].in,
				  ds_id_fault_text(cases[i].fault), err.msg);
			cr_expect(strstr(err.msg, cases[i].in), "%s: the message shows the raw "
				  "value: %s", cases[i].what, err.msg);
		}
	}
}

/* The checks see canonical text only: separators and lower case are the
 * normalizers' business. */
static const struct {
	check_fn check;
	const char *s;
	ds_id_fault fault;
} canon[] = {
	{ ds_id_siren_check, "732829320", DS_ID_OK },
	{ ds_id_siren_check, "732 829 320", DS_ID_FORMAT },
	{ ds_id_siret_check, "73282932000074", DS_ID_OK },
	{ ds_id_vat_fr_check, "FR40303265045", DS_ID_OK },
	{ ds_id_vat_fr_check, "40303265045", DS_ID_FORMAT },
	{ ds_id_vat_fr_check, "Fr40303265045", DS_ID_FORMAT },
	{ ds_id_iban_check, "FR1420041010050500013M02606", DS_ID_OK },
	{ ds_id_iban_check, "fr1420041010050500013m02606", DS_ID_FORMAT },
	{ ds_id_iban_check, "FR14 2004 1010 0505 0001 3M02 606", DS_ID_FORMAT },
	{ ds_id_postcode_fr_check, "75001", DS_ID_OK },
	{ ds_id_phone_check, "+33612345678", DS_ID_OK },
	{ ds_id_phone_check, "0612345678", DS_ID_FORMAT },
	{ ds_id_currency_check, "EUR", DS_ID_OK },
	{ ds_id_currency_check, "eur", DS_ID_FORMAT },
	{ ds_id_luhn_check, "", DS_ID_FORMAT },
};

Test(ident, canonical_checks)
{
	for (size_t i = 0; i < N(canon); i++)
		cr_expect_eq(canon[i].check(canon[i].s, strlen(canon[i].s)), canon[i].fault,
			     "\"%s\": expected %s", canon[i].s, ds_id_fault_text(canon[i].fault));
}

Test(ident, luhn)
{
	int sum = -1;
	char d = 0;
	cr_expect_eq(ds_id_luhn_checksum("79927398713", 11, &sum), 0);
	cr_expect_eq(sum, 0);
	cr_expect_eq(ds_id_luhn_check_digit("7992739871", 10, &d), 0);
	cr_expect_eq(d, '3');
	cr_expect_eq(ds_id_luhn_check_digit("0", 1, &d), 0);
	cr_expect_eq(d, '0');
	cr_expect_eq(ds_id_luhn_checksum("12a", 3, &sum), DS_EINVAL);
	cr_expect_eq(ds_id_luhn_check_digit("", 0, &d), DS_EINVAL);
}

/* Long input is refused without being read to the end, and the message
 * keeps one line and at most 60 bytes of it. */
Test(ident, limits)
{
	size_t n = 100000;
	char *big = malloc(n + 1);
	cr_assert_not_null(big);
	memset(big, ' ', n);
	memcpy(big + n - 9, "732829320", 9);
	big[n] = '\0';
	char out[DS_ID_MAX];
	ds_err err = { 0, "" };
	cr_expect_eq(ds_id_siren_normalize(big, out, &err), DS_EINVAL);
	cr_expect(strstr(err.msg, "wrong length"), "%s", err.msg);
	cr_expect_lt(strlen(err.msg), 140, "%s", err.msg);
	memset(big, '1', n);
	cr_expect_eq(ds_id_phone_normalize(big, out, &err), DS_EINVAL);
	cr_expect_eq(ds_id_iban_normalize(big, out, &err), DS_EINVAL);
	free(big);

	cr_expect_eq(ds_id_siret_normalize("7328\n29320", out, &err), DS_EINVAL);
	cr_expect(!strchr(err.msg, '\n'), "%s", err.msg);
	/* a NULL error object is allowed */
	cr_expect_eq(ds_id_iban_normalize("nope", out, NULL), DS_EINVAL);
}
