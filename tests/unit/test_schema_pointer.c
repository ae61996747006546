/*
 * test_schema_pointer.c - what a schema says of a place in a record:
 * ds_schema_allows_pointer() (mappings may write there) and the stricter
 * ds_schema_declares_pointer() (guards may read it: the name is declared,
 * not only let through by a missing additionalProperties).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "schema.h"

static const char *const doc =
	"{\"type\": \"object\", \"additionalProperties\": false,"
	" \"properties\": {"
	"  \"reference\": {\"type\": \"string\"},"
	"  \"customer\": {\"$ref\": \"#/$defs/customer\"},"
	"  \"lines\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/line\"}},"
	"  \"open\": {\"type\": \"object\"},"
	"  \"counts\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}},"
	"  \"loose\": {\"type\": \"object\", \"properties\": {\"a\": {}}},"
	"  \"free\": {\"properties\": {\"a\": {}}, \"additionalProperties\": true},"
	"  \"tags\": {\"type\": \"array\"},"
	"  \"extra\": {\"allOf\": [{\"properties\": {\"x\": {}}}, {\"properties\": {\"y\": {}}}]},"
	"  \"either\": {\"anyOf\": [{\"type\": \"object\", \"properties\": {\"p\": {}}},"
	"                           {\"type\": \"object\", \"properties\": {\"q\": {}}}]}},"
	" \"$defs\": {"
	"  \"customer\": {\"type\": \"object\", \"additionalProperties\": false,"
	"                \"properties\": {\"name\": {}, \"email\": {}}},"
	"  \"line\": {\"type\": \"object\", \"properties\": {\"sku\": {}, \"qty\": {}}}}}";

static const struct {
	const char *pointer;
	bool allows, declares;
} cases[] = {
	{ "", true, true },
	{ "/reference", true, true },
	{ "/referense", false, false },
	{ "/reference/x", false, false },          /* inside a string */
	{ "/customer/email", true, true },         /* through $ref */
	{ "/customer/mail", false, false },
	{ "/lines/0/sku", true, true },            /* items */
	{ "/lines/0/colour", true, false },        /* let through, not declared */
	{ "/lines/sku", false, false },            /* an array needs an index */
	{ "/open/anything", true, true },          /* names no property at all */
	{ "/counts/east", true, true },            /* additionalProperties schema */
	{ "/loose/a", true, true },
	{ "/loose/b", true, false },
	{ "/free/b/c", true, true },               /* additionalProperties: true */
	{ "/tags/3", true, true },
	{ "/extra/x", true, true },                /* allOf: the names of its parts */
	{ "/extra/y", true, true },
	{ "/extra/z", true, false },
	{ "/either/q", true, true },               /* one branch of anyOf */
	{ "/either/r", true, false },
};

Test(schema_pointer, declared_names_are_what_guards_may_read)
{
	cJSON *j = cJSON_Parse(doc);
	cr_assert(j);
	ds_schema *s = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_schema_compile(j, "t.json", NULL, &s, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cr_expect_eq(ds_schema_allows_pointer(s, cases[i].pointer), cases[i].allows,
			     "allows %s", cases[i].pointer);
		cr_expect_eq(ds_schema_declares_pointer(s, cases[i].pointer), cases[i].declares,
			     "declares %s", cases[i].pointer);
	}
	cr_expect(!ds_schema_declares_pointer(s, "reference"), "not a pointer");
	cr_expect(!ds_schema_declares_pointer(NULL, "/reference"));
	ds_schema_free(s);
	cJSON_Delete(j);
}

Test(schema_pointer, a_schema_without_properties_declares_everything)
{
	cJSON *j = cJSON_Parse("{}");
	ds_schema *s = NULL;
	ds_err err = {0};
	cr_assert_eq(ds_schema_compile(j, "t.json", NULL, &s, &err), 0, "%s", err.msg);
	cr_expect(ds_schema_declares_pointer(s, "/a/b/0/c"));
	ds_schema_free(s);
	cJSON_Delete(j);
}
