/*
 * ident.c - check digits and canonical forms of French and European
 * identifiers; see ident.h.
 *
 * Every check reads its canonical text once, left to right, with integer
 * arithmetic that cannot overflow (remainders are taken digit by digit), so
 * the cost is linear in the length and bounded by DS_ID_MAX. Normalisation
 * first compacts the raw text into a small stack buffer (dropping the
 * separators people type), refusing anything longer than DS_ID_INPUT_MAX
 * bytes, then runs the same check: there is one rule per identifier.
 */
#include "ident.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool isdig(char c) { return c >= '0' && c <= '9'; }
static bool isup(char c) { return c >= 'A' && c <= 'Z'; }

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdig(s[i]))
			return false;
	return true;
}

const char *ds_id_fault_text(ds_id_fault f)
{
	switch (f) {
	case DS_ID_OK: return "valid";
	case DS_ID_FORMAT: return "bad characters";
	case DS_ID_LENGTH: return "wrong length";
	case DS_ID_CHECKSUM: return "wrong check digits";
	case DS_ID_COMPONENT: return "unknown country, code or prefix";
	}
	return "invalid";
}

/* ---- raw text ---- */

/* Length of the whitespace at s that people type inside identifiers: ASCII
 * space and tab, U+00A0 no-break space, U+2009 thin space, U+202F narrow
 * no-break space; 0 if none. */
static size_t space_at(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] == ' ' || u[0] == '\t' || u[0] == '\n' || u[0] == '\r')
		return 1;
	if (u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0x89 || u[2] == 0xAF))
		return 3;
	return 0;
}

/* Copies in to out without spaces and without the bytes of seps, ASCII
 * letters upper-cased. Returns the length, or -1 when the input is longer
 * than DS_ID_INPUT_MAX or the result does not fit in cap - 1 bytes. */
static long compact(const char *in, const char *seps, char *out, size_t cap)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		if ((size_t)(p - in) >= DS_ID_INPUT_MAX)
			return -1;
		size_t sp = space_at(p);
		if (sp) {
			p += sp;
			continue;
		}
		char c = *p++;
		if (strchr(seps, c))
			continue;
		if (n + 1 >= cap)
			return -1;
		out[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	out[n] = '\0';
	return (long)n;
}


static int refuse(ds_err *err, const char *what, ds_id_fault f, const char *raw)
{
	char q[72];
	return ds_err_set(err, DS_EINVAL, "not %s (%s): \"%s\"", what, ds_id_fault_text(f),
			  ds_quote(raw, q));
}

/* Compacts in with seps, runs check on the result and either keeps it in
 * out or refuses with what. */
static int normalize_with(const char *in, const char *seps,
			  ds_id_fault (*check)(const char *, size_t), const char *what,
			  char out[static DS_ID_MAX], ds_err *err)
{
	char buf[DS_ID_MAX + 1];
	long n = compact(in, seps, buf, sizeof buf);
	ds_id_fault f = n < 0 ? DS_ID_LENGTH : check(buf, (size_t)n);
	if (f) {
		out[0] = '\0';
		return refuse(err, what, f, in);
	}
	memcpy(out, buf, (size_t)n + 1);
	return DS_OK;
}

/* ---- Luhn ---- */

/* Sum modulo 10 with the rightmost digit of s at position shift (0: s is
 * the whole number; 1: a check digit will follow). -1 for a non-digit. */
static int luhn_sum(const char *s, size_t len, int shift)
{
	int sum = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[len - 1 - i];
		if (!isdig(c))
			return -1;
		int d = c - '0';
		if ((i + (size_t)shift) & 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum = (sum + d) % 10;
	}
	return sum;
}

int ds_id_luhn_checksum(const char *s, size_t len, int *out)
{
	int sum = len ? luhn_sum(s, len, 0) : -1;
	if (sum < 0)
		return DS_EINVAL;
	*out = sum;
	return DS_OK;
}

int ds_id_luhn_check_digit(const char *s, size_t len, char *out)
{
	int sum = len ? luhn_sum(s, len, 1) : -1;
	if (sum < 0)
		return DS_EINVAL;
	*out = (char)('0' + (10 - sum) % 10);
	return DS_OK;
}

ds_id_fault ds_id_luhn_check(const char *s, size_t len)
{
	int sum = len ? luhn_sum(s, len, 0) : -1;
	return sum < 0 ? DS_ID_FORMAT : sum ? DS_ID_CHECKSUM : DS_ID_OK;
}

/* ---- SIREN, SIRET ---- */

ds_id_fault ds_id_siren_check(const char *s, size_t len)
{
	if (!len || !all_digits(s, len))
		return DS_ID_FORMAT;
	if (len != 9)
		return DS_ID_LENGTH;
	return luhn_sum(s, len, 0) ? DS_ID_CHECKSUM : DS_ID_OK;
}

int ds_id_siren_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	return normalize_with(in, ".-", ds_id_siren_check, "a SIREN number", out, err);
}

ds_id_fault ds_id_siret_check(const char *s, size_t len)
{
	if (!len || !all_digits(s, len))
		return DS_ID_FORMAT;
	if (len != 14)
		return DS_ID_LENGTH;
	if (!memcmp(s, "356000000", 9) && memcmp(s, "35600000000048", 14)) {
		/* La Poste's establishments: the digit sum is a multiple of 5. */
		int sum = 0;
		for (size_t i = 0; i < len; i++)
			sum += s[i] - '0';
		if (sum % 5)
			return DS_ID_CHECKSUM;
	} else if (luhn_sum(s, len, 0)) {
		return DS_ID_CHECKSUM;
	}
	return ds_id_siren_check(s, 9);
}

int ds_id_siret_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	return normalize_with(in, ".-", ds_id_siret_check, "a SIRET number", out, err);
}

/* ---- French VAT ---- */

/* The key alphabet: digits, then letters without I and O. */
static const char vat_alphabet[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

static int vat_index(char c)
{
	const char *p = c ? strchr(vat_alphabet, c) : NULL;
	return p ? (int)(p - vat_alphabet) : -1;
}

/* The 11 characters after "FR": key and SIREN. */
static ds_id_fault vat_body(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (i < 2 ? vat_index(b[i]) < 0 : !isdig(b[i]))
			return DS_ID_FORMAT;
	if (n != 11)
		return DS_ID_LENGTH;
	if (memcmp(b + 2, "000", 3)) {
		ds_id_fault f = ds_id_siren_check(b + 2, 9);
		if (f)
			return f;
	}
	long siren = 0;
	for (size_t i = 2; i < 11; i++)
		siren = siren * 10 + (b[i] - '0');
	int k0 = vat_index(b[0]), k1 = vat_index(b[1]);
	if (k0 < 10 && k1 < 10)
		return k0 * 10 + k1 == (int)((siren * 100 + 12) % 97) ? DS_ID_OK : DS_ID_CHECKSUM;
	/* New-style keys: the key encodes a number whose remainder modulo 11
	 * must match the SIREN's. */
	long check = k0 < 10 ? k0 * 24 + k1 - 10 : k0 * 34 + k1 - 100;
	return (siren + 1 + check / 11) % 11 == check % 11 ? DS_ID_OK : DS_ID_CHECKSUM;
}

ds_id_fault ds_id_vat_fr_check(const char *s, size_t len)
{
	if (len < 2 || s[0] != 'F' || s[1] != 'R')
		return DS_ID_FORMAT;
	return vat_body(s + 2, len - 2);
}

int ds_id_vat_fr_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	char buf[DS_ID_MAX];
	long n = compact(in, ".-", buf, sizeof buf);
	const char *b = buf;
	if (n >= 2 && b[0] == 'F' && b[1] == 'R') {
		/* The prefix is optional in what people write. */
		b += 2;
		n -= 2;
	}
	ds_id_fault f = n < 0 ? DS_ID_LENGTH : vat_body(b, (size_t)n);
	if (!f) {
		memcpy(out, "FR", 2);
		memcpy(out + 2, b, (size_t)n + 1);
		return DS_OK;
	}
	out[0] = '\0';
	return refuse(err, "a French VAT number", f, in);
}

int ds_id_vat_fr_to_siren(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	char vat[DS_ID_MAX];
	int rc = ds_id_vat_fr_normalize(in, vat, err);
	if (rc)
		return rc;
	if (!memcmp(vat + 4, "000", 3)) {
		out[0] = '\0';
		return ds_err_set(err, DS_EINVAL, "not a French VAT number with a SIREN (%s: Monaco "
				  "numbers have none): \"%s\"", ds_id_fault_text(DS_ID_COMPONENT), vat);
	}
	memcpy(out, vat + 4, 10);
	return DS_OK;
}

/* ---- IBAN ---- */

/* The SWIFT IBAN registry: country, then the BBAN as runs of n (digits),
 * a (upper-case letters) and c (digits or letters); the IBAN length is 4
 * plus the sum of the runs. Sorted by country. */
static const struct iban_country {
	char cc[3];
	const char *bban;
} iban_countries[] = {
	{ "AD", "4n4n12c" }, { "AE", "3n16n" }, { "AL", "8n16c" }, { "AT", "5n11n" },
	{ "AZ", "4a20c" }, { "BA", "3n3n8n2n" }, { "BE", "3n7n2n" }, { "BG", "4a4n2n8c" },
	{ "BH", "4a14c" }, { "BI", "5n5n11n2n" }, { "BR", "8n5n10n1a1c" }, { "BY", "4c4n16c" },
	{ "CH", "5n12c" }, { "CR", "4n14n" }, { "CY", "3n5n16c" }, { "CZ", "4n6n10n" },
	{ "DE", "8n10n" }, { "DJ", "5n5n11n2n" }, { "DK", "4n9n1n" }, { "DO", "4c20n" },
	{ "EE", "2n14n" }, { "EG", "4n4n17n" }, { "ES", "4n4n1n1n10n" }, { "FI", "3n11n" },
	{ "FK", "2a12n" }, { "FO", "4n9n1n" }, { "FR", "5n5n11c2n" }, { "GB", "4a6n8n" },
	{ "GE", "2a16n" }, { "GI", "4a15c" }, { "GL", "4n9n1n" }, { "GR", "3n4n16c" },
	{ "GT", "4c20c" }, { "HN", "4a20n" }, { "HR", "7n10n" }, { "HU", "3n4n1n15n1n" },
	{ "IE", "4a6n8n" }, { "IL", "3n3n13n" }, { "IQ", "4a3n12n" }, { "IS", "4n2n6n10n" },
	{ "IT", "1a5n5n12c" }, { "JO", "4a4n18c" }, { "KW", "4a22c" }, { "KZ", "3n13c" },
	{ "LB", "4n20c" }, { "LC", "4a24c" }, { "LI", "5n12c" }, { "LT", "5n11n" },
	{ "LU", "3n13c" }, { "LV", "4a13c" }, { "LY", "3n3n15n" }, { "MC", "5n5n11c2n" },
	{ "MD", "2c18c" }, { "ME", "3n13n2n" }, { "MK", "3n10c2n" }, { "MN", "4n12n" },
	{ "MR", "5n5n11n2n" }, { "MT", "4a5n18c" }, { "MU", "4a2n2n12n3n3a" }, { "NI", "4a20n" },
	{ "NL", "4a10n" }, { "NO", "4n6n1n" }, { "OM", "3n16c" }, { "PK", "4a16c" },
	{ "PL", "8n16n" }, { "PS", "4a21c" }, { "PT", "4n4n11n2n" }, { "QA", "4a21c" },
	{ "RO", "4a16c" }, { "RS", "3n13n2n" }, { "RU", "9n5n15c" }, { "SA", "2n18c" },
	{ "SC", "4a2n2n16n3a" }, { "SD", "2n12n" }, { "SE", "3n16n1n" }, { "SI", "5n8n2n" },
	{ "SK", "4n6n10n" }, { "SM", "1a5n5n12c" }, { "SO", "4n3n12n" }, { "ST", "8n11n2n" },
	{ "SV", "4a20n" }, { "TL", "3n14n2n" }, { "TN", "2n3n13n2n" }, { "TR", "5n1n16c" },
	{ "UA", "6n19c" }, { "VA", "3n15n" }, { "VG", "4a16n" }, { "XK", "4n10n2n" },
	{ "YE", "4a4n18c" },
};

static int cmp_cc(const void *key, const void *elem)
{
	return memcmp(key, elem, 2);
}

/* The BBAN structure of country s[0..2), or NULL. */
static const char *iban_bban(const char *s)
{
	const struct iban_country *e = bsearch(s, iban_countries,
					       sizeof iban_countries / sizeof *iban_countries,
					       sizeof *iban_countries, cmp_cc);
	return e ? e->bban : NULL;
}

/* DS_ID_LENGTH or DS_ID_FORMAT when bban (len bytes) does not follow the
 * structure. */
static ds_id_fault bban_fits(const char *st, const char *bban, size_t len)
{
	size_t want = 0;
	for (const char *p = st; *p;) {
		size_t run = 0;
		while (isdig(*p))
			run = run * 10 + (size_t)(*p++ - '0');
		want += run;
		p++;
	}
	if (want != len)
		return DS_ID_LENGTH;
	size_t i = 0;
	for (const char *p = st; *p;) {
		size_t run = 0;
		while (isdig(*p))
			run = run * 10 + (size_t)(*p++ - '0');
		char cls = *p++;
		for (size_t k = 0; k < run; k++, i++) {
			char c = bban[i];
			if (cls == 'n' ? !isdig(c) : cls == 'a' ? !isup(c) : !(isdig(c) || isup(c)))
				return DS_ID_FORMAT;
		}
	}
	return DS_ID_OK;
}

/* Remainder modulo 97 of the digits of s[a, b) (a digit string). */
static unsigned mod97_digits(const char *s, size_t a, size_t b)
{
	unsigned r = 0;
	for (size_t i = a; i < b; i++)
		r = (r * 10 + (unsigned)(s[i] - '0')) % 97;
	return r;
}

/* Spanish CCC check digit over ten digits (weights 1, 2, 4, 8, 5, 10, 9, 7,
 * 3, 6): 11 minus the weighted sum modulo 11, with 11 -> 0 and 10 -> 1. */
static int ccc_digit(const char *ten)
{
	static const int w[10] = { 1, 2, 4, 8, 5, 10, 9, 7, 3, 6 };
	int sum = 0;
	for (int i = 0; i < 10; i++)
		sum += w[i] * (ten[i] - '0');
	int d = 11 - sum % 11;
	return d == 11 ? 0 : d == 10 ? 1 : d;
}

/* The value of a RIB account character: digits as they are, letters by
 * the RIB table (A-I 1-9, J-R 1-9, S-Z 2-9). */
static int rib_value(char c)
{
	if (isdig(c))
		return c - '0';
	if (c >= 'A' && c <= 'I')
		return c - 'A' + 1;
	if (c >= 'J' && c <= 'R')
		return c - 'J' + 1;
	return c - 'S' + 2;
}

/* National check digits inside the BBAN (structure already checked). */
static ds_id_fault iban_national(const char *cc, const char *bban)
{
	if (!memcmp(cc, "BE", 2)) {
		unsigned r = mod97_digits(bban, 0, 10);
		unsigned key = (unsigned)((bban[10] - '0') * 10 + (bban[11] - '0'));
		return (r ? r : 97) == key ? DS_ID_OK : DS_ID_CHECKSUM;
	}
	if (!memcmp(cc, "ES", 2)) {
		char ten[10] = { '0', '0' };
		memcpy(ten + 2, bban, 8);
		return ccc_digit(ten) == bban[8] - '0' && ccc_digit(bban + 10) == bban[9] - '0'
		       ? DS_ID_OK : DS_ID_CHECKSUM;
	}
	if (!memcmp(cc, "FR", 2) || !memcmp(cc, "MC", 2)) {
		/* RIB key: 97 - (89 bank + 15 branch + 3 account) mod 97; each
		 * part is reduced modulo 97 first, so nothing overflows. */
		unsigned bank = mod97_digits(bban, 0, 5), branch = mod97_digits(bban, 5, 10);
		unsigned acc = 0;
		for (int i = 10; i < 21; i++)
			acc = (acc * 10 + (unsigned)rib_value(bban[i])) % 97;
		unsigned key = (unsigned)((bban[21] - '0') * 10 + (bban[22] - '0'));
		return 97 - (89 * bank + 15 * branch + 3 * acc) % 97 == key ? DS_ID_OK
									 : DS_ID_CHECKSUM;
	}
	return DS_ID_OK;
}

ds_id_fault ds_id_iban_check(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isdig(s[i]) && !isup(s[i]))
			return DS_ID_FORMAT;
	if (len < 2)
		return DS_ID_LENGTH;
	const char *st = iban_bban(s);
	if (!st)
		return DS_ID_COMPONENT;
	if (len < 4)
		return DS_ID_LENGTH;
	if (!isdig(s[2]) || !isdig(s[3]))
		return DS_ID_FORMAT;
	ds_id_fault f = bban_fits(st, s + 4, len - 4);
	if (f)
		return f;
	/* ISO 7064 mod 97-10 with the first four characters moved to the end
	 * and letters read as 10..35. */
	unsigned r = 0;
	for (size_t k = 0; k < len; k++) {
		char c = s[(k + 4) % len];
		r = isdig(c) ? (r * 10 + (unsigned)(c - '0')) % 97
			     : (r * 100 + (unsigned)(c - 'A' + 10)) % 97;
	}
	if (r != 1)
		return DS_ID_CHECKSUM;
	return iban_national(s, s + 4);
}

int ds_id_iban_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	return normalize_with(in, ".-", ds_id_iban_check, "an IBAN", out, err);
}

/* ---- French postcode ---- */

ds_id_fault ds_id_postcode_fr_check(const char *s, size_t len)
{
	if (!len || !all_digits(s, len))
		return DS_ID_FORMAT;
	if (len != 5)
		return DS_ID_LENGTH;
	int dep = (s[0] - '0') * 10 + (s[1] - '0');
	char third = s[2];
	switch (dep) {
	case 0: case 96: case 99:
		return DS_ID_COMPONENT;
	case 20:
		return strchr("0126", third) ? DS_ID_OK : DS_ID_COMPONENT;
	case 97:
		return third >= '1' && third <= '6' ? DS_ID_OK : DS_ID_COMPONENT;
	case 98:
		return strchr("04678", third) ? DS_ID_OK : DS_ID_COMPONENT;
	default:
		return DS_ID_OK;
	}
}

int ds_id_postcode_fr_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	return normalize_with(in, "", ds_id_postcode_fr_check, "a French postcode", out, err);
}

/* ---- E.164 ---- */

ds_id_fault ds_id_phone_check(const char *s, size_t len)
{
	if (len < 2 || s[0] != '+' || !all_digits(s + 1, len - 1))
		return DS_ID_FORMAT;
	if (len < 8 || len > 16)
		return DS_ID_LENGTH;
	return s[1] == '0' ? DS_ID_COMPONENT : DS_ID_OK;
}

int ds_id_phone_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	char buf[DS_ID_MAX];
	size_t n = 0;
	ds_id_fault f = DS_ID_OK;
	for (const char *p = in; *p && !f;) {
		size_t sp = space_at(p);
		if ((size_t)(p - in) >= DS_ID_INPUT_MAX) {
			f = DS_ID_LENGTH;
		} else if (sp) {
			p += sp;
		} else if (!strncmp(p, "(0)", 3) && n > 0) {
			p += 3; /* the trunk prefix, dialled only inside the country */
		} else if (strchr(".-/()", *p)) {
			p++;
		} else if (*p == '+' && n == 0) {
			buf[n++] = *p++;
		} else if (isdig(*p)) {
			if (n + 1 >= sizeof buf)
				f = DS_ID_LENGTH;
			else
				buf[n++] = *p++;
		} else {
			f = DS_ID_FORMAT;
		}
	}
	buf[n] = '\0';
	if (!f && n >= 2 && buf[0] == '0' && buf[1] == '0') {
		/* 00 is the international prefix of most countries. */
		buf[0] = '+';
		memmove(buf + 1, buf + 2, n - 1);
		n--;
	}
	if (!f)
		f = n && buf[0] != '+' ? DS_ID_COMPONENT : ds_id_phone_check(buf, n);
	if (f) {
		out[0] = '\0';
		return refuse(err, "an international phone number", f, in);
	}
	memcpy(out, buf, n + 1);
	return DS_OK;
}

/* ---- ISO 4217 ---- */

/* Alphabetic codes of ISO 4217 List One in force in 2026, sorted. */
static const char currencies[][4] = {
	"AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM",
	"BBD", "BDT", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD",
	"BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF",
	"CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK",
	"DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
	"GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
	"IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES",
	"KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
	"LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
	"MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
	"NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
	"PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
	"SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
	"SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
	"TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS",
	"VED", "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB",
	"XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU",
	"XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
};

static int cmp_code(const void *key, const void *elem)
{
	return memcmp(key, elem, 3);
}

ds_id_fault ds_id_currency_check(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isup(s[i]))
			return DS_ID_FORMAT;
	if (len != 3)
		return DS_ID_LENGTH;
	return bsearch(s, currencies, sizeof currencies / sizeof *currencies, sizeof *currencies,
		       cmp_code) ? DS_ID_OK : DS_ID_COMPONENT;
}

int ds_id_currency_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err)
{
	char buf[DS_ID_MAX];
	long n = compact(in, "", buf, sizeof buf);
	if (n == 3 && !strcmp(buf, "\xE2\x82\xAC")) {
		memcpy(out, "EUR", 4);
		return DS_OK;
	}
	ds_id_fault f = n < 0 ? DS_ID_LENGTH : ds_id_currency_check(buf, (size_t)n);
	if (f) {
		out[0] = '\0';
		return refuse(err, "an ISO 4217 currency code", f, in);
	}
	memcpy(out, buf, (size_t)n + 1);
	return DS_OK;
}
