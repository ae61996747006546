/*
 * test_privacy.c - what names a person in the bytes of an input
 * (ds_person_named, pipeline/privacy.c): emails in any case and
 * percent-encoded, phones in E.164 and national forms with separators,
 * SIRETs with spaces; and what must not match.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "privacy.h"

static char email[] = "sophie.marchand@example.org";
/* +33671829304 as ds_person_find writes it down */
static char e164[] = "+33671829304", intl[] = "0033671829304", national[] = "0671829304";
static char siret[] = "83451270900009";
static char *emails[] = { email };
static char *phones[] = { e164, intl, national };
static char *numbers[] = { siret };

static const ds_person person = {
	.emails = emails, .nemails = 1,
	.phones = phones, .nphones = 3,
	.numbers = numbers, .nnumbers = 1,
};

static bool named(const char *text)
{
	return ds_person_named(&person, text, strlen(text));
}

Test(privacy, names_by_email_in_any_case_and_encoding)
{
	cr_expect(named("From: Sophie Marchand <sophie.marchand@example.org>"));
	cr_expect(named("email=Sophie.Marchand%40Example.ORG&nom=x"));
	cr_expect(named("<cbc:ElectronicMail>SOPHIE.MARCHAND@EXAMPLE.ORG</cbc:ElectronicMail>"));
	cr_expect(!named("sophie.marchand@example.com"));
	cr_expect(!named("From: Sophie Marchand <s.marchand@example.org>"), "a name is no identity");
}

Test(privacy, names_by_phone_as_people_write_it)
{
	static const char *const yes[] = {
		"\"phone\": \"+33671829304\"", "telephone=06+71+82+93+04&x=1", "tel. 06 71 82 93 04",
		"06.71.82.93.04", "06-71-82-93-04", "+33 6 71 82 93 04", "0033 6 71 82 93 04",
		"telephone=%2B33671829304",
	};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		cr_expect(named(yes[i]), "%s", yes[i]);
	static const char *const no[] = {
		"10671829304", "06718293041", "06 71 82 93 05", "067182930", "06  71 82 93 04",
		"SIRET 50671829304123",
	};
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		cr_expect(!named(no[i]), "%s", no[i]);
}

Test(privacy, names_by_siret_with_or_without_spaces)
{
	cr_expect(named("siret=834+512+709+00009"));
	cr_expect(named("<cbc:CompanyID>834 512 709 00009</cbc:CompanyID>"));
	cr_expect(named("83451270900009"));
	cr_expect(!named("834512709"), "the SIREN alone is not the SIRET");
	cr_expect(!named("834512709000091"));
}

Test(privacy, nothing_names_a_person_without_identities)
{
	ds_person nobody = { .root = 1 };
	cr_expect(!ds_person_named(&nobody, "anything", 8));
	cr_expect(!ds_person_named(&person, "", 0));
	cr_expect(!ds_person_named(&person, NULL, 0));
}
