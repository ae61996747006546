/*
 * test_expr.c - the expression language (pipeline/expr.c).
 *
 * Most tests are rows of a table: an expression, the data it reads, the
 * time now() stands for, and the expected result or error. Data is written
 * with single quotes for readability and turned into JSON by the harness;
 * its "data" member is also what bare field names read, as process guards
 * do. Time is always injected; nothing here reads the clock or sleeps.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "expr.h"
#include "mem.h"

#define NOW "2026-03-10T12:00:00Z"

enum { F = 0, T = 1 };  /* expected results; errors are DS_E* codes */

struct row {
	const char *expr;
	const char *data;  /* quotes written as ', NULL for {} */
	const char *now;   /* NULL for NOW */
	int want;
	const char *msg;   /* a substring of the error message */
};

/* "data", "profile" and other roots present in the document are read from
 * the root; any other first segment is a field of "data". */
static const cJSON *resolve(void *ud, const char *const *segs, size_t n)
{
	const cJSON *root = ud;
	if (n && cJSON_GetObjectItemCaseSensitive(root, segs[0])
	    && (!strcmp(segs[0], "data") || !strcmp(segs[0], "profile")))
		return ds_expr_json_path(root, segs, n);
	return ds_expr_json_path(
		cJSON_GetObjectItemCaseSensitive(root, "data"), segs, n);
}

static cJSON *parse_data(const char *text)
{
	if (!text)
		text = "{}";
	char *json = strdup(text);
	cr_assert_not_null(json);
	for (char *c = json; *c; c++)
		if (*c == '\'')
			*c = '"';
	cJSON *j = cJSON_Parse(json);
	cr_assert_not_null(j, "bad test data: %s", json);
	free(json);
	return j;
}

static ds_time parse_now(const char *text)
{
	ds_time t;
	cr_assert_eq(ds_time_parse(text ? text : NOW, &t), 0);
	return t;
}

/* Parses and evaluates one row; returns 1, 0 or the error code. */
static int run(const struct row *r, ds_err *err)
{
	ds_expr *e = NULL;
	ds_err_clear(err);
	int rc = ds_expr_parse(r->expr, &e, err);
	if (rc < 0) {
		cr_expect_null(e);
		return rc;
	}
	cJSON *data = parse_data(r->data);
	ds_expr_env env = { resolve, data, parse_now(r->now) };
	bool b;
	rc = ds_expr_eval_bool(e, &env, &b, err);
	cJSON_Delete(data);
	ds_expr_free(e);
	return rc < 0 ? rc : b;
}

static void check_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		ds_err err;
		int got = run(r, &err);
		cr_expect_eq(got, r->want, "`%s` on %s: got %d (%s), want %d",
			     r->expr, r->data ? r->data : "{}", got, err.msg,
			     r->want);
		if (r->want < 0 && got == r->want && r->msg)
			cr_expect(strstr(err.msg, r->msg) != NULL,
				  "`%s`: message \"%s\" lacks \"%s\"", r->expr,
				  err.msg, r->msg);
		if (got < 0)
			cr_expect(err.msg[0] != '\0', "`%s`: empty message",
				  r->expr);
	}
}

#define CHECK(rows) check_rows(rows, sizeof rows / sizeof *rows)

/* ---- literals ---- */

static const struct row literals[] = {
	{ "true", NULL, NULL, T, NULL },
	{ "false", NULL, NULL, F, NULL },
	{ "null", NULL, NULL, F, NULL },
	{ "1", NULL, NULL, DS_EINVAL, "column 1: the expression gives a number, not true or false" },
	{ "'a'", NULL, NULL, DS_EINVAL, "gives a string" },
	{ "5d", NULL, NULL, DS_EINVAL, "gives a duration" },
	{ "[1]", NULL, NULL, DS_EINVAL, "gives a list" },
	{ "1 = 1", NULL, NULL, T, NULL },
	{ "1 = 1.0", NULL, NULL, T, NULL },
	{ "20.00 = 20", NULL, NULL, T, NULL },
	{ "20.00 == 20", NULL, NULL, T, NULL },
	{ "-3 < 0", NULL, NULL, T, NULL },
	{ "-3 < -2.5", NULL, NULL, T, NULL },
	{ "12.5 > 12.49", NULL, NULL, T, NULL },
	{ "0.1 != 0.10", NULL, NULL, F, NULL },
	{ "007 = 7", NULL, NULL, T, NULL },
	{ "'a' = \"a\"", NULL, NULL, T, NULL },
	{ "'it\\'s' = \"it's\"", NULL, NULL, T, NULL },
	{ "\"say \\\"hi\\\"\" = 'say \"hi\"'", NULL, NULL, T, NULL },
	{ "'a\\tb' contains '\\t'", NULL, NULL, T, NULL },
	{ "'a\\nb' != 'a\\\\nb'", NULL, NULL, T, NULL },
	{ "'\\u00e9' = '\xc3\xa9'", NULL, NULL, T, NULL },
	{ "'\\uD83D\\uDE00' = '\xf0\x9f\x98\x80'", NULL, NULL, T, NULL },
	{ "'\\d' = '\\\\d'", NULL, NULL, T, NULL },
	{ "true = true", NULL, NULL, T, NULL },
	{ "true != false", NULL, NULL, T, NULL },
	{ "true = 1", NULL, NULL, F, NULL },
	{ "true < false", NULL, NULL, F, NULL },
	{ "null = null", NULL, NULL, T, NULL },
	{ "null != 1", NULL, NULL, T, NULL },
	{ "null < 1", NULL, NULL, F, NULL },
	{ "null >= null", NULL, NULL, F, NULL },
	{ "'abc' < 'abd'", NULL, NULL, T, NULL },
	{ "'ab' < 'abc'", NULL, NULL, T, NULL },
	{ "'b' > 'abc'", NULL, NULL, T, NULL },
	{ "'\xc3\xa9' > 'z'", NULL, NULL, T, NULL },
	{ "'10' > 9", NULL, NULL, T, NULL },
	{ "'10' > '9'", NULL, NULL, F, NULL },
	{ "'abc' < 5", NULL, NULL, F, NULL },
	{ "'abc' > 5", NULL, NULL, F, NULL },
	{ "'abc' != 5", NULL, NULL, T, NULL },
	{ "[1, 2] = [1, 2]", NULL, NULL, T, NULL },
	{ "[1, 2] = [2, 1]", NULL, NULL, F, NULL },
	{ "[1, 2] = [1]", NULL, NULL, F, NULL },
	{ "[] = []", NULL, NULL, T, NULL },
	{ "[1] < [2]", NULL, NULL, F, NULL },
};

Test(expr, literals) { CHECK(literals); }

static const struct row durations[] = {
	{ "5d = 5d", NULL, NULL, T, NULL },
	{ "48h = 2d", NULL, NULL, T, NULL },
	{ "30m < 1h", NULL, NULL, T, NULL },
	{ "1d > 23h", NULL, NULL, T, NULL },
	{ "5bd = 5d", NULL, NULL, T, NULL },
	{ "5d = 5", NULL, NULL, T, NULL },
	{ "5 = 5d", NULL, NULL, T, NULL },
	{ "48h = 2", NULL, NULL, T, NULL },
	{ "12h < 1", NULL, NULL, T, NULL },
	{ "12h > 0.5", NULL, NULL, F, NULL },
	{ "12h = 0.5", NULL, NULL, T, NULL },
	{ "2d > 1", NULL, NULL, T, NULL },
	{ "100000d < 123456789012345678", NULL, NULL, T, NULL },
	{ "100000d > -123456789012345678", NULL, NULL, T, NULL },
	{ "0m = 0", NULL, NULL, T, NULL },
	{ "5d = '5d'", NULL, NULL, T, NULL },
	{ "delay >= 2d", "{'data':{'delay':'48h'}}", NULL, T, NULL },
	{ "delay >= 2d", "{'data':{'delay':'soon'}}", NULL, F, NULL },
	{ "5d = 'abc'", NULL, NULL, F, NULL },
	{ "5d < 'abc'", NULL, NULL, F, NULL },
	{ "[5d, 48h] contains 2d", NULL, NULL, T, NULL },
};

Test(expr, durations) { CHECK(durations); }

/* ---- fields ---- */

#define ORDER "{'data':{'discount_pct':25,'customer':{'email':'a@b.fr'," \
	"'name':'H\xc3\xa9l\xc3\xa8ne Dupont'},'items':[{'sku':'A1','qty':1}," \
	"{'sku':'B2','qty':2}],'nothing':null,'flag':true,'off':false," \
	"'amount':'0.30','ratio':0.3,'total':20.00,'big':1e300," \
	"'tags':['vip','pro'],'ref':'OF-2026','last':'2026-03-01'}," \
	"'profile':{'traits':{'orders_count':3," \
	"'last_order_at':'2025-11-01T08:00:00Z'}," \
	"'consent':{'email_marketing':true},'tags':['vip']}}"

static const struct row fields[] = {
	{ "discount_pct > 20", "{'data':{'discount_pct':25}}", NULL, T, NULL },
	{ "discount_pct > 20", "{'data':{'discount_pct':20}}", NULL, F, NULL },
	{ "discount_pct > 20", "{'data':{'discount_pct':20.01}}", NULL, T, NULL },
	{ "discount_pct > 20", "{'data':{'discount_pct':'20.5'}}", NULL, T, NULL },
	{ "discount_pct > 20", "{'data':{}}", NULL, F, NULL },
	{ "discount_pct > 20", NULL, NULL, F, NULL },
	{ "data.discount_pct <= 20", "{'data':{'discount_pct':20}}", NULL, T, NULL },
	{ "data.discount_pct <= 20", "{'data':{'discount_pct':'20.000'}}", NULL, T, NULL },
	{ "data.customer.email = 'a@b.fr'", ORDER, NULL, T, NULL },
	{ "customer.email = 'a@b.fr'", ORDER, NULL, T, NULL },
	{ "data.items.0.sku = 'A1'", ORDER, NULL, T, NULL },
	{ "items.1.qty = 2", ORDER, NULL, T, NULL },
	{ "items.2.qty = null", ORDER, NULL, T, NULL },
	{ "items.sku = null", ORDER, NULL, T, NULL },
	{ "items.99999999999999999999999.sku = null", ORDER, NULL, T, NULL },
	{ "customer.email.x = null", ORDER, NULL, T, NULL },
	{ "profile.traits.orders_count >= 3", ORDER, NULL, T, NULL },
	{ "profile.traits.orders_count > 3", ORDER, NULL, F, NULL },
	{ "missing = null", ORDER, NULL, T, NULL },
	{ "missing > 1", ORDER, NULL, F, NULL },
	{ "missing < 1", ORDER, NULL, F, NULL },
	{ "missing != 1", ORDER, NULL, T, NULL },
	{ "missing", ORDER, NULL, F, NULL },
	{ "not missing", ORDER, NULL, T, NULL },
	{ "nothing = null", ORDER, NULL, T, NULL },
	{ "nothing", ORDER, NULL, F, NULL },
	{ "flag", ORDER, NULL, T, NULL },
	{ "flag = true", ORDER, NULL, T, NULL },
	{ "off", ORDER, NULL, F, NULL },
	{ "not off and flag", ORDER, NULL, T, NULL },
	{ "amount = 0.3", ORDER, NULL, T, NULL },
	{ "ratio = 0.3", ORDER, NULL, T, NULL },
	{ "ratio = 0.30", ORDER, NULL, T, NULL },
	{ "total = 20", ORDER, NULL, T, NULL },
	{ "amount = ratio", ORDER, NULL, T, NULL },
	{ "amount = '0.3'", ORDER, NULL, F, NULL },
	{ "customer.name < 5", ORDER, NULL, F, NULL },
	{ "customer.name = 5", ORDER, NULL, F, NULL },
	{ "customer = customer", ORDER, NULL, T, NULL },
	{ "customer = items", ORDER, NULL, F, NULL },
	{ "items = items", ORDER, NULL, T, NULL },
	{ "tags = ['vip', 'pro']", ORDER, NULL, T, NULL },
	{ "profile.tags = ['vip']", ORDER, NULL, T, NULL },
	{ "tags = profile.tags", ORDER, NULL, F, NULL },
	{ "big = 1", ORDER, NULL, DS_EINVAL, "does not fit an exact decimal" },
	{ "flag or big = 1", ORDER, NULL, T, NULL },
	{ "customer", ORDER, NULL, DS_EINVAL, "gives an object" },
	{ "x = 1", NULL, NULL, F, NULL },
	{ "x in [1] and y = 2", "{'data':{'x':1,'y':2}}", NULL, T, NULL },
	{ "exists(x) and y.z", "{'data':{'x':1,'y':{'z':true}}}", NULL, T, NULL },
	{ "days_since(profile.traits.last_order_at) > 90 and "
	  "profile.consent.email_marketing = true", ORDER, NULL, T, NULL },
	{ "days_since(profile.traits.last_order_at) > 90 and "
	  "profile.consent.email_marketing = true",
	  "{'profile':{'traits':{'last_order_at':'2026-01-01'},"
	  "'consent':{'email_marketing':true}}}", NULL, F, NULL },
};

Test(expr, fields) { CHECK(fields); }

/* ---- operators ---- */

static const struct row logic[] = {
	{ "true and true", NULL, NULL, T, NULL },
	{ "true and false", NULL, NULL, F, NULL },
	{ "false or true", NULL, NULL, T, NULL },
	{ "false or false", NULL, NULL, F, NULL },
	{ "not true", NULL, NULL, F, NULL },
	{ "not not true", NULL, NULL, T, NULL },
	{ "true or false and false", NULL, NULL, T, NULL },
	{ "(true or false) and false", NULL, NULL, F, NULL },
	{ "false and false or true", NULL, NULL, T, NULL },
	{ "false and (false or true)", NULL, NULL, F, NULL },
	{ "not false and false", NULL, NULL, F, NULL },
	{ "not (false and false)", NULL, NULL, T, NULL },
	{ "not 1 = 2", NULL, NULL, T, NULL },
	{ "not 1 = 1 or true", NULL, NULL, T, NULL },
	{ "false or not false", NULL, NULL, T, NULL },
	{ "true and true and true and false", NULL, NULL, F, NULL },
	{ "false or false or false or true", NULL, NULL, T, NULL },
	{ "(1 < 2) = true", NULL, NULL, T, NULL },
	{ "(1 > 2) = (2 > 3)", NULL, NULL, T, NULL },
	{ "((true))", NULL, NULL, T, NULL },
	{ " \t\n true \r\n", NULL, NULL, T, NULL },
	{ "false and 1", NULL, NULL, F, NULL },
	{ "true or 1", NULL, NULL, T, NULL },
	{ "true and 1", NULL, NULL, DS_EINVAL, "column 10: 'and' needs true or false, got a number" },
	{ "1 or true", NULL, NULL, DS_EINVAL, "column 1: 'or' needs true or false, got a number" },
	{ "not 'x'", NULL, NULL, DS_EINVAL, "column 5: 'not' needs true or false, got a string" },
	{ "not x", "{'data':{'x':[1]}}", NULL, DS_EINVAL, "got a list" },
	{ "x and true", "{'data':{'x':{}}}", NULL, DS_EINVAL, "got an object" },
	{ "now() or true", NULL, NULL, DS_EINVAL, "got a time" },
	{ "missing and true", NULL, NULL, F, NULL },
	{ "missing or true", NULL, NULL, T, NULL },
	{ "missing or missing", NULL, NULL, F, NULL },
};

Test(expr, logic) { CHECK(logic); }

static const struct row membership[] = {
	{ "x in [1, 2, 3]", "{'data':{'x':2}}", NULL, T, NULL },
	{ "x in [1, 2, 3]", "{'data':{'x':2.00}}", NULL, T, NULL },
	{ "x in [1, 2, 3]", "{'data':{'x':'2'}}", NULL, T, NULL },
	{ "x in [1, 2, 3]", "{'data':{'x':4}}", NULL, F, NULL },
	{ "x in []", "{'data':{'x':4}}", NULL, F, NULL },
	{ "x in [1, 'a', true]", "{'data':{'x':true}}", NULL, T, NULL },
	{ "x in [1, 'a', true]", "{'data':{'x':'a'}}", NULL, T, NULL },
	{ "x in [1, 'a', true]", "{'data':{'x':'A'}}", NULL, F, NULL },
	{ "missing in [null]", NULL, NULL, T, NULL },
	{ "missing in [1]", NULL, NULL, F, NULL },
	{ "not x in [1, 2]", "{'data':{'x':3}}", NULL, T, NULL },
	{ "'vip' in profile.tags", ORDER, NULL, T, NULL },
	{ "'pro' in profile.tags", ORDER, NULL, F, NULL },
	{ "'vip' in customer.email", ORDER, NULL, F, NULL },
	{ "'vip' in missing", ORDER, NULL, F, NULL },
	{ "x in [5d, 1h]", "{'data':{'x':'60m'}}", NULL, T, NULL },
	{ "x in items", "{'data':{'x':{'a':1},'items':[{'a':2},{'a':1}]}}", NULL, T, NULL },
	{ "1 in big", ORDER, NULL, DS_EINVAL, "column 6: the number 1.0000000000000001e+300 in the data does not fit" },
	{ "1 in tags", "{'data':{'tags':['a',1e300]}}", NULL, DS_EINVAL, "does not fit" },
	{ "customer.name contains 'Dup'", ORDER, NULL, T, NULL },
	{ "customer.name contains 'dup'", ORDER, NULL, F, NULL },
	{ "customer.name contains '\xc3\xa8ne'", ORDER, NULL, T, NULL },
	{ "customer.name contains ''", ORDER, NULL, T, NULL },
	{ "'' contains ''", NULL, NULL, T, NULL },
	{ "'' contains 'a'", NULL, NULL, F, NULL },
	{ "tags contains 'vip'", ORDER, NULL, T, NULL },
	{ "tags contains 'v'", ORDER, NULL, F, NULL },
	{ "profile.tags contains 'pro'", ORDER, NULL, F, NULL },
	{ "missing contains 'a'", ORDER, NULL, F, NULL },
	{ "discount_pct contains 2", ORDER, NULL, F, NULL },
	{ "customer contains 'email'", ORDER, NULL, F, NULL },
	{ "'abc' contains missing", ORDER, NULL, F, NULL },
	{ "[1, 2] contains 2.0", NULL, NULL, T, NULL },
	{ "[null] contains missing", NULL, NULL, T, NULL },
	{ "x contains [1]", "{'data':{'x':[[1],[2]]}}", NULL, T, NULL },
};

Test(expr, membership) { CHECK(membership); }

static const struct row regex[] = {
	{ "customer.name matches '^H'", ORDER, NULL, T, NULL },
	{ "customer.name matches '^h'", ORDER, NULL, F, NULL },
	{ "customer.name matches '(?i)^h'", ORDER, NULL, T, NULL },
	{ "customer.name matches 'Dupont$'", ORDER, NULL, T, NULL },
	{ "customer.name matches 'Dup'", ORDER, NULL, T, NULL },
	{ "customer.name matches '^H\xc3\xa9l'", ORDER, NULL, T, NULL },
	{ "customer.name matches '^H.l.ne '", ORDER, NULL, T, NULL },
	{ "customer.name matches '^\\w+ \\w+$'", ORDER, NULL, T, NULL },
	{ "customer.name matches '^[a-z\xc3\xa9\xc3\xa8 ]+$'", ORDER, NULL, F, NULL },
	{ "customer.name matches '(?i)^[a-z\xc3\xa9\xc3\xa8 ]+$'", ORDER, NULL, T, NULL },
	{ "subject matches '^R[\xc3\xa9""e]clamation'",
	  "{'data':{'subject':'R\xc3\xa9""clamation urgente'}}", NULL, T, NULL },
	{ "subject matches '^R[\xc3\xa9""e]clamation'",
	  "{'data':{'subject':'Reclamation'}}", NULL, T, NULL },
	{ "subject matches '^R[\xc3\xa9""e]clamation'",
	  "{'data':{'subject':'R\xc3\xa8""clamation'}}", NULL, F, NULL },
	{ "ref matches '^OF-\\d{4}$'", ORDER, NULL, T, NULL },
	{ "ref matches \"^OF-\\\\d{4}$\"", ORDER, NULL, T, NULL },
	{ "ref matches '^OF-\\d{3}$'", ORDER, NULL, F, NULL },
	{ "missing matches '.*'", ORDER, NULL, F, NULL },
	{ "discount_pct matches '25'", ORDER, NULL, F, NULL },
	{ "tags matches 'vip'", ORDER, NULL, F, NULL },
	{ "bad matches 'b'", "{'data':{'bad':'a\xff""b'}}", NULL, T, NULL },
	{ "bad matches '^a.b$'", "{'data':{'bad':'a\xff""b'}}", NULL, F, NULL },
	{ "x matches '^(a|aa)+$'",
	  "{'data':{'x':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'}}",
	  NULL, DS_ELIMIT, "column 1: 'matches' gave up" },
	{ "not (x matches 'a')", "{'data':{'x':'b'}}", NULL, T, NULL },
};

Test(expr, regex) { CHECK(regex); }

/* ---- functions ---- */

static const struct row functions[] = {
	{ "exists(discount_pct)", ORDER, NULL, T, NULL },
	{ "exists(missing)", ORDER, NULL, F, NULL },
	{ "exists(nothing)", ORDER, NULL, F, NULL },
	{ "exists(off)", ORDER, NULL, T, NULL },
	{ "exists(items.0)", ORDER, NULL, T, NULL },
	{ "exists(items.2)", ORDER, NULL, F, NULL },
	{ "exists ( data.customer.email )", ORDER, NULL, T, NULL },
	{ "not exists(discount_pct)", ORDER, NULL, F, NULL },
	{ "exists(x)", NULL, NULL, F, NULL },
	/* now is 2026-03-10T12:00:00Z; last is 2026-03-01, 9.5 days ago */
	{ "days_since(last) = 9", ORDER, NULL, T, NULL },
	{ "days_since(last) > 9", ORDER, NULL, F, NULL },
	{ "days_since(last) > 5d", ORDER, NULL, T, NULL },
	{ "days_since(last) >= 9d", ORDER, NULL, T, NULL },
	{ "days_since(last) < 10d", ORDER, NULL, T, NULL },
	{ "days_since(last) > 216h", ORDER, NULL, F, NULL },
	{ "days_since(last) = 9", ORDER, "2026-03-10T00:00:00Z", T, NULL },
	{ "days_since(last) = 8", ORDER, "2026-03-09T23:59:59Z", T, NULL },
	{ "days_since(last) = 0", ORDER, "2026-03-01T00:00:00Z", T, NULL },
	{ "days_since(profile.traits.last_order_at) > 90", ORDER, NULL, T, NULL },
	{ "days_since(profile.traits.last_order_at) = 129", ORDER, NULL, T, NULL },
	{ "days_since(t) = -1", "{'data':{'t':'2026-03-12'}}", NULL, T, NULL },
	{ "days_since(t) < 0", "{'data':{'t':'2026-03-12'}}", NULL, T, NULL },
	{ "days_since(t) = 0", "{'data':{'t':'2026-03-11T11:00:00Z'}}", NULL, T, NULL },
	{ "days_since(t) = 0", "{'data':{'t':'2026-03-10T11:00:00+01:00'}}", NULL, T, NULL },
	{ "days_since(t) = 1", "{'data':{'t':'2026-03-09T12:30:00+01:00'}}", NULL, T, NULL },
	{ "days_since(missing) = null", ORDER, NULL, T, NULL },
	{ "days_since(missing) > 1", ORDER, NULL, F, NULL },
	{ "days_since(missing) < 1", ORDER, NULL, F, NULL },
	{ "days_since(t) = null", "{'data':{'t':'yesterday'}}", NULL, T, NULL },
	{ "days_since(t) = null", "{'data':{'t':20260301}}", NULL, T, NULL },
	{ "days_since(t) = null", "{'data':{'t':'2026-02-30'}}", NULL, T, NULL },
	{ "now() = now()", NULL, NULL, T, NULL },
	{ "now() > '2026-03-10T11:59:59Z'", NULL, NULL, T, NULL },
	{ "now() = '2026-03-10T13:00:00+01:00'", NULL, NULL, T, NULL },
	{ "'2026-01-01' < now()", NULL, NULL, T, NULL },
	{ "now() > '2027-01-01'", NULL, NULL, F, NULL },
	{ "last < now()", ORDER, NULL, T, NULL },
	{ "last < now()", ORDER, "2026-02-01T00:00:00Z", F, NULL },
	{ "now() > 5", NULL, NULL, F, NULL },
	{ "now() = 'soon'", NULL, NULL, F, NULL },
	{ "now() > 5d", NULL, NULL, F, NULL },
};

Test(expr, functions) { CHECK(functions); }

/* ---- parse errors, each with its column ---- */

static const struct row parse_errors[] = {
	{ "", NULL, NULL, DS_EINVAL, "column 1: expected a value, found the end" },
	{ "   ", NULL, NULL, DS_EINVAL, "column 4: expected a value, found the end" },
	{ "discount_pct >", NULL, NULL, DS_EINVAL, "column 15: expected a value after '>', found the end" },
	{ "discount_pct > and", NULL, NULL, DS_EINVAL, "column 16: expected a value after '>', found 'and'" },
	{ "a = = 1", NULL, NULL, DS_EINVAL, "column 5: expected a value after '=', found '='" },
	{ "a >= )", NULL, NULL, DS_EINVAL, "column 6: expected a value after '>=', found ')'" },
	{ "not", NULL, NULL, DS_EINVAL, "column 4: expected a value after 'not', found the end" },
	{ "a and", NULL, NULL, DS_EINVAL, "column 6: expected a value after 'and', found the end" },
	{ "(a or)", NULL, NULL, DS_EINVAL, "column 6: expected a value after 'or', found ')'" },
	{ "()", NULL, NULL, DS_EINVAL, "column 2: expected a value after '(', found ')'" },
	{ "a contains", NULL, NULL, DS_EINVAL, "column 11: expected a value after 'contains'" },
	{ "a = (1", NULL, NULL, DS_EINVAL, "column 7: expected ')' to close the '(' at column 5, found the end" },
	{ "a = 1)", NULL, NULL, DS_EINVAL, "column 6: unmatched ')'" },
	{ "a 1", NULL, NULL, DS_EINVAL, "column 3: expected an operator, 'and', 'or' or the end, found '1'" },
	{ "a AND b", NULL, NULL, DS_EINVAL, "column 3: expected an operator, 'and', 'or' or the end, found 'AND'" },
	{ "a = 'abc", NULL, NULL, DS_EINVAL, "column 5: unterminated string" },
	{ "a = \"abc\\\"", NULL, NULL, DS_EINVAL, "column 5: unterminated string" },
	{ "a = 'x\\u12'", NULL, NULL, DS_EINVAL, "column 7: expected 4 hex digits after \\u" },
	{ "a = 'x\\u12g4'", NULL, NULL, DS_EINVAL, "column 7: expected 4 hex digits after \\u" },
	{ "a = '\\uDC00'", NULL, NULL, DS_EINVAL, "column 6: \\uDC00 is half of a surrogate pair" },
	{ "a = '\\uD800x'", NULL, NULL, DS_EINVAL, "column 6: \\uD800 must be followed by a low surrogate" },
	{ "a = '\\u0000'", NULL, NULL, DS_EINVAL, "column 6: \\u0000 is not allowed" },
	{ "a # 1", NULL, NULL, DS_EINVAL, "column 3: unexpected character '#'" },
	{ "a = 1 ;", NULL, NULL, DS_EINVAL, "column 7: unexpected character ';'" },
	{ "a = \x01", NULL, NULL, DS_EINVAL, "column 5: unexpected character U+0001" },
	{ "a = \xe2\x82\xac", NULL, NULL, DS_EINVAL, "column 5: unexpected character '\xe2\x82\xac'" },
	{ "a ! 1", NULL, NULL, DS_EINVAL, "column 3: expected '=' after '!'" },
	{ "a = - 1", NULL, NULL, DS_EINVAL, "column 5: expected a digit after '-'" },
	{ "a = 1.", NULL, NULL, DS_EINVAL, "column 7: expected a digit after '.' in a number" },
	{ "a = .5", NULL, NULL, DS_EINVAL, "column 5: unexpected character '.'" },
	{ "a = 5x", NULL, NULL, DS_EINVAL, "column 6: unknown duration unit 'x' (expected m, h, d or bd)" },
	{ "a = 5days", NULL, NULL, DS_EINVAL, "column 6: unknown duration unit 'days'" },
	{ "a = 1.5d", NULL, NULL, DS_EINVAL, "column 5: a duration is a whole, non-negative number" },
	{ "a = -5d", NULL, NULL, DS_EINVAL, "column 5: a duration is a whole" },
	{ "a = 100001d", NULL, NULL, DS_EINVAL, "column 5: duration '100001d' is out of range" },
	{ "a = 12345678901234567890", NULL, NULL, DS_EINVAL, "column 5: number '12345678901234567890' does not fit an exact decimal" },
	{ "a = 0.1234567890123456789", NULL, NULL, DS_EINVAL, "column 5: number" },
	{ "a. = 1", NULL, NULL, DS_EINVAL, "column 3: expected a field name after '.'" },
	{ "a.b. = 1", NULL, NULL, DS_EINVAL, "column 5: expected a field name after '.'" },
	{ "a.1b = 1", NULL, NULL, DS_EINVAL, "column 3: a field name cannot start with a digit" },
	{ "a .b = 1", NULL, NULL, DS_EINVAL, "column 3: unexpected character '.'" },
	{ "foo(x)", NULL, NULL, DS_EINVAL, "column 1: unknown function 'foo' (expected exists, now or days_since)" },
	{ "a = data.now()", NULL, NULL, DS_EINVAL, "column 5: unknown function 'data.now'" },
	{ "exists(1)", NULL, NULL, DS_EINVAL, "column 8: exists() expects a field path, found '1'" },
	{ "exists()", NULL, NULL, DS_EINVAL, "column 8: exists() expects a field path, found ')'" },
	{ "days_since('2026-01-01') > 1", NULL, NULL, DS_EINVAL, "column 12: days_since() expects a field path, found a string" },
	{ "exists(a, b)", NULL, NULL, DS_EINVAL, "column 9: expected ')' to close exists(, found ','" },
	{ "now(x)", NULL, NULL, DS_EINVAL, "column 5: expected ')' to close now(, found 'x'" },
	{ "exists(a", NULL, NULL, DS_EINVAL, "column 9: expected ')' to close exists(, found the end" },
	{ "a in 1", NULL, NULL, DS_EINVAL, "column 6: expected a list or a field after 'in', found '1'" },
	{ "a in [1, b]", NULL, NULL, DS_EINVAL, "column 10: expected a number, string, duration, true, false or null in the list, found 'b'" },
	{ "a in [1, [2]]", NULL, NULL, DS_EINVAL, "column 10: expected a number, string, duration, true, false or null in the list, found '['" },
	{ "a in [1,]", NULL, NULL, DS_EINVAL, "column 9: expected a number, string" },
	{ "a in [1 2]", NULL, NULL, DS_EINVAL, "column 9: expected ',' or ']' in the list opened at column 6, found '2'" },
	{ "a in [1", NULL, NULL, DS_EINVAL, "column 8: expected ',' or ']' in the list opened at column 6, found the end" },
	{ "a matches b", NULL, NULL, DS_EINVAL, "column 11: expected a string (the pattern) after 'matches', found 'b'" },
	{ "a matches '('", NULL, NULL, DS_EINVAL, "column 11: invalid pattern after 'matches': missing closing parenthesis" },
	{ "a matches '\\C'", NULL, NULL, DS_EINVAL, "column 11: invalid pattern after 'matches'" },
	{ "a < b < c", NULL, NULL, DS_EINVAL, "column 7: expected 'and', 'or' or the end after the test at column 1, found '<' (tests do not chain" },
	{ "x = 1 and a in [1] contains 1", NULL, NULL, DS_EINVAL, "column 20: expected 'and', 'or' or the end after the test at column 11, found 'contains'" },
	{ "a in", NULL, NULL, DS_EINVAL, "column 5: expected a list or a field after 'in', found the end" },
	{ "and", NULL, NULL, DS_EINVAL, "column 1: expected a value, found 'and'" },
	{ "a = 'x' 'y'", NULL, NULL, DS_EINVAL, "column 9: expected an operator, 'and', 'or' or the end, found a string" },
	{ "a = 'ok' or b = 12345678901234567890123456789012345678901234567890", NULL, NULL, DS_EINVAL,
	  "column 17: number '12345678901234567890123456789012345678901234567890' does not fit" },
	{ "a = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyy", NULL, NULL, DS_EINVAL,
	  "column 54: expected an operator, 'and', 'or' or the end, found 'yyy'" },
	{ "a = 1 zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", NULL, NULL, DS_EINVAL,
	  "found 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...'" },
	/* columns count characters, not bytes */
	{ "nom = '\xc3\xa9t\xc3\xa9' ?", NULL, NULL, DS_EINVAL, "column 13: unexpected character '?'" },
	{ "nom = '\xff'", NULL, NULL, DS_EINVAL, "column 8: invalid UTF-8" },
	{ "nom = '\xc3\xa9' \xc0\x80", NULL, NULL, DS_EINVAL, "column 11: invalid UTF-8" },
	{ "a = '\xed\xa0\x80'", NULL, NULL, DS_EINVAL, "column 6: invalid UTF-8" },
	/* several lines: the line is given too */
	{ "a = 1 and\n  b >", NULL, NULL, DS_EINVAL, "line 2, column 6: expected a value after '>', found the end" },
	{ "a = 1 and\n  b >\n )", NULL, NULL, DS_EINVAL, "line 3, column 2: expected a value after '>', found ')'" },
	{ "(a = 1\nor b = 2", NULL, NULL, DS_EINVAL, "line 2, column 9: expected ')' to close the '(' at column 1" },
	{ "true and\n'x'", NULL, NULL, DS_EINVAL, "line 2, column 1: 'and' needs true or false, got a string" },
	{ NULL, NULL, NULL, DS_EINVAL, "no expression" },
};

Test(expr, parse_errors) { CHECK(parse_errors); }

/* ---- limits and hostile input ---- */

static char *repeat(const char *head, const char *unit, size_t n,
		    const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	cr_assert_not_null(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	return s;
}

static void expect_result(char *src, int want, const char *msg)
{
	struct row r = { src, NULL, NULL, want, msg };
	check_rows(&r, 1);
	free(src);
}

Test(expr, depth_limit)
{
	char *open = repeat("", "(", 64, "true");
	char *closed = repeat(open, ")", 64, "");
	free(open);
	expect_result(closed, T, NULL);
	expect_result(repeat("", "(", 65, "true"), DS_ELIMIT,
		      "column 65: expression nested deeper than 64 levels");
	expect_result(repeat("", "not ", 64, "true"), T, NULL);
	expect_result(repeat("", "not ", 65, "true"), DS_ELIMIT,
		      "column 257: expression nested deeper than 64 levels");
	expect_result(repeat("", "(not ", 32, "false"), DS_EINVAL,
		      "column 166: expected ')' to close the '(' at column 156");
	expect_result(repeat("", "(not ", 33, "false"), DS_ELIMIT,
		      "nested deeper than 64 levels");
	/* flat chains are not nesting */
	expect_result(repeat("true", " and true", 400, ""), T, NULL);
	expect_result(repeat("false", " or false", 400, " or true"), T, NULL);
}

Test(expr, list_limit)
{
	expect_result(repeat("1 in [", "2,", 1023, "1]"), T, NULL);
	expect_result(repeat("1 in [", "2,", 1024, "1]"), DS_ELIMIT,
		      "column 6: a list holds at most 1024 items");
	expect_result(repeat("[", "1,", 1023, "1] contains 1"), T, NULL);
}

Test(expr, length_limit)
{
	char *ok = repeat("true", " ", DS_EXPR_MAX_SOURCE - 4, "");
	cr_assert_eq(strlen(ok), DS_EXPR_MAX_SOURCE);
	expect_result(ok, T, NULL);
	expect_result(repeat("true", " ", DS_EXPR_MAX_SOURCE - 3, ""),
		      DS_ELIMIT, "expression longer than 4096 bytes");
}

Test(expr, hostile_input)
{
	/* 100 KB of each: refused on length before anything is read */
	const char *units[] = { "(", "not ", "a.", "'", "[1,", "\xff", "a and ",
				"\\u" };
	for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
		size_t n = 100 * 1024 / strlen(units[i]);
		expect_result(repeat("", units[i], n, ""), DS_ELIMIT,
			      "longer than 4096 bytes");
	}
	/* the same just under the limit fail cleanly too */
	expect_result(repeat("", "(", 4000, ""), DS_ELIMIT, "nested deeper");
	expect_result(repeat("", "[", 4000, ""), DS_EINVAL, "found '['");
	expect_result(repeat("'", "\\", 4000, ""), DS_EINVAL,
		      "unterminated string");
	expect_result(repeat("a", ".a", 2000, " = null"), T, NULL);
	expect_result(repeat("a", ".0", 2000, " = null"), T, NULL);
	expect_result(repeat("'", "\\uD83D\\uDE00", 340, "' contains 'x'"), F,
		      NULL);
	expect_result(repeat("x matches '", "(", 4000, "'"), DS_EINVAL,
		      "invalid pattern");
	expect_result(repeat("", "1 = 1 and ", 409, "x"), F, NULL);
}

/* Deterministic pseudo-random bytes drawn from the language's alphabet:
 * every input must parse or fail with a message, never crash or leak. */
Test(expr, random_input)
{
	static const char alphabet[] = "()[],.=!<>'\"\\ udbhm019-_aznotric"
				       "\xc3\xa9\xff\n";
	static const char *const words[] = {
		" and ", " or ", "not ", " in ", " contains ", " matches ",
		"exists(", "now()", "days_since(", "true", "null", "5bd", "-1.5",
	};
	uint32_t seed = 12345;
	char src[256];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0, want;
		seed = seed * 1103515245u + 12345u;
		want = (seed >> 16) % 60;
		while (len < want) {
			seed = seed * 1103515245u + 12345u;
			uint32_t r = seed >> 16;
			if (r % 4 == 0) {
				const char *w = words[(r / 4) % (sizeof words / sizeof *words)];
				size_t wl = strlen(w);
				if (len + wl >= sizeof src)
					break;
				memcpy(src + len, w, wl);
				len += wl;
			} else {
				src[len++] = alphabet[(r / 4) % (sizeof alphabet - 1)];
			}
		}
		src[len] = '\0';
		ds_expr *e = NULL;
		ds_err err;
		ds_err_clear(&err);
		int rc = ds_expr_parse(src, &e, &err);
		if (rc < 0) {
			cr_assert(rc == DS_EINVAL || rc == DS_ELIMIT,
				  "`%s`: rc %d", src, rc);
			cr_assert(err.msg[0], "`%s`: no message", src);
			cr_assert_null(e);
			continue;
		}
		cJSON *data = parse_data(ORDER);
		ds_expr_env env = { resolve, data, 0 };
		bool b;
		rc = ds_expr_eval_bool(e, &env, &b, &err);
		cr_assert(rc == 0 || rc == DS_EINVAL || rc == DS_ELIMIT,
			  "`%s`: eval rc %d", src, rc);
		/* The canonical text parses back to itself. */
		ds_buf one, two;
		ds_buf_init(&one, 1 << 20);
		ds_buf_init(&two, 1 << 20);
		ds_expr *again = NULL;
		cr_assert_eq(ds_expr_format(e, &one), 0);
		cr_assert_eq(ds_expr_parse(one.data, &again, &err), 0,
			     "`%s` -> `%s`: %s", src, one.data, err.msg);
		cr_assert_eq(ds_expr_format(again, &two), 0);
		cr_assert_str_eq(one.data, two.data);
		ds_buf_free(&one);
		ds_buf_free(&two);
		ds_expr_free(again);
		ds_expr_free(e);
		cJSON_Delete(data);
	}
}

/* ---- the tree, the paths and the canonical text ---- */

static const struct {
	const char *src, *canonical;
} canon[] = {
	{ "a = 1 and b = 2 or not c", "(((a = 1) and (b = 2)) or (not c))" },
	{ "a or b and c", "(a or (b and c))" },
	{ "a and b and c or d or e", "((a and b and c) or d or e)" },
	{ "(a or b) and c", "((a or b) and c)" },
	{ "not a = 1", "(not (a = 1))" },
	{ "not not a", "(not (not a))" },
	{ "a == 1", "(a = 1)" },
	{ "a!=1", "(a != 1)" },
	{ "a<=-1.50", "(a <= -1.50)" },
	{ "20.00 = 20", "(20.00 = 20)" },
	{ "x in [1, 'a', 5d, 48h, 30m, 2bd, true, false, null]",
	  "(x in [1, \"a\", 5d, 48h, 30m, 2bd, true, false, null])" },
	{ "x in []", "(x in [])" },
	{ "'vip' in profile.tags", "(\"vip\" in profile.tags)" },
	{ "a contains 'b' or c matches '^\\d+$'",
	  "((a contains \"b\") or (c matches \"^\\\\d+$\"))" },
	{ "exists(a.b) and days_since( c.0.d ) > 3 and now() > '2026-01-01'",
	  "(exists(a.b) and (days_since(c.0.d) > 3) and (now() > \"2026-01-01\"))" },
	{ "'a\"b\\\\c\\n\\t\\r\\u0001\xc3\xa9'",
	  "\"a\\\"b\\\\c\\n\\t\\r\\u0001\xc3\xa9\"" },
	{ "data.and.or.not = 1", "(data.and.or.not = 1)" },
	{ "(((a)))", "a" },
};

Test(expr, canonical_text)
{
	for (size_t i = 0; i < sizeof canon / sizeof *canon; i++) {
		ds_expr *e = NULL, *again = NULL;
		ds_err err;
		ds_buf b, b2;
		ds_buf_init(&b, 4096);
		ds_buf_init(&b2, 4096);
		cr_assert_eq(ds_expr_parse(canon[i].src, &e, &err), 0, "%s: %s",
			     canon[i].src, err.msg);
		cr_assert_str_eq(ds_expr_source(e), canon[i].src);
		cr_assert_eq(ds_expr_format(e, &b), 0);
		cr_expect_str_eq(b.data, canon[i].canonical, "%s", canon[i].src);
		cr_assert_eq(ds_expr_parse(b.data, &again, &err), 0, "%s: %s",
			     b.data, err.msg);
		cr_assert_eq(ds_expr_format(again, &b2), 0);
		cr_expect_str_eq(b2.data, b.data);
		ds_buf_free(&b);
		ds_buf_free(&b2);
		ds_expr_free(e);
		ds_expr_free(again);
	}
}

Test(expr, format_respects_buffer_limit)
{
	ds_expr *e = NULL;
	ds_buf b;
	ds_buf_init(&b, 8);
	cr_assert_eq(ds_expr_parse("abcdef = 'ghijkl'", &e, NULL), 0);
	cr_expect_eq(ds_expr_format(e, &b), DS_ELIMIT);
	ds_buf_free(&b);
	ds_expr_free(e);
}

Test(expr, tree)
{
	ds_expr *e = NULL;
	ds_err err;
	cr_assert_eq(ds_expr_parse("a = 1 and b.c >= 2.50 and not d in [1, 'x']"
				   " and e matches 'f'", &e, &err), 0, "%s",
		     err.msg);
	const ds_expr_node *r = ds_expr_root(e);
	cr_assert_eq(r->kind, DS_EXPR_AND);
	cr_assert_eq(r->nkids, 4);
	cr_expect_eq(r->column, 1);

	const ds_expr_node *cmp = r->kids[0];
	cr_expect_eq(cmp->kind, DS_EXPR_CMP);
	cr_expect_eq(cmp->op, DS_EXPR_EQ);
	cr_expect_eq(cmp->nkids, 2);
	cr_expect_eq(cmp->kids[0]->kind, DS_EXPR_PATH);
	cr_expect_eq(cmp->kids[0]->v.path.nsegs, 1);
	cr_expect_str_eq(cmp->kids[0]->v.path.segs[0], "a");
	cr_expect_eq(cmp->kids[1]->kind, DS_EXPR_NUMBER);
	cr_expect_eq(cmp->kids[1]->v.number.units, 1);
	cr_expect_eq(cmp->kids[1]->column, 5);

	const ds_expr_node *ge = r->kids[1];
	cr_expect_eq(ge->op, DS_EXPR_GE);
	cr_expect_eq(ge->column, 11);
	cr_expect_eq(ge->kids[0]->v.path.nsegs, 2);
	cr_expect_str_eq(ge->kids[0]->v.path.segs[1], "c");
	cr_expect_eq(ge->kids[1]->v.number.units, 250);
	cr_expect_eq(ge->kids[1]->v.number.scale, 2);
	cr_expect_str_eq(ds_expr_op_name(ge->op), ">=");

	const ds_expr_node *not = r->kids[2];
	cr_expect_eq(not->kind, DS_EXPR_NOT);
	cr_expect_eq(not->column, 27);
	const ds_expr_node *in = not->kids[0];
	cr_expect_eq(in->kind, DS_EXPR_IN);
	cr_expect_eq(in->kids[1]->kind, DS_EXPR_LIST);
	cr_expect_eq(in->kids[1]->nkids, 2);
	cr_expect_eq(in->kids[1]->kids[1]->kind, DS_EXPR_STRING);
	cr_expect_str_eq(in->kids[1]->kids[1]->v.string.s, "x");
	cr_expect_eq(in->kids[1]->kids[1]->v.string.len, 1);

	const ds_expr_node *m = r->kids[3];
	cr_expect_eq(m->kind, DS_EXPR_MATCHES);
	cr_expect_eq(m->kids[1]->kind, DS_EXPR_STRING);
	cr_expect_str_eq(ds_expr_kind_name(m->kind), "matches");
	ds_expr_free(e);

	cr_assert_eq(ds_expr_parse("x in [5bd, null, true]", &e, &err), 0);
	const ds_expr_node *l = ds_expr_root(e)->kids[1];
	cr_expect_eq(l->kids[0]->kind, DS_EXPR_DURATION);
	cr_expect_eq(l->kids[0]->v.duration.amount, 5);
	cr_expect_eq(l->kids[0]->v.duration.unit, DS_DUR_BDAY);
	cr_expect_eq(l->kids[1]->kind, DS_EXPR_NULL);
	cr_expect_eq(l->kids[2]->kind, DS_EXPR_BOOL);
	cr_expect(l->kids[2]->v.boolean);
	ds_expr_free(e);

	cr_assert_eq(ds_expr_parse("a\n and\n  b", &e, &err), 0);
	r = ds_expr_root(e);
	cr_expect_eq(r->kids[1]->line, 3);
	cr_expect_eq(r->kids[1]->column, 3);
	ds_expr_free(e);
}

struct paths {
	char text[10][64];
	size_t n;
};

static void collect(void *ud, const char *const *segs, size_t nsegs)
{
	struct paths *p = ud;
	cr_assert_lt(p->n, 10);
	char *t = p->text[p->n++];
	t[0] = '\0';
	for (size_t i = 0; i < nsegs; i++) {
		if (i)
			strcat(t, ".");
		strcat(t, segs[i]);
	}
}

Test(expr, foreach_path)
{
	ds_expr *e = NULL;
	struct paths p = { .n = 0 };
	cr_assert_eq(ds_expr_parse("exists(a.b) or c.0.d in [1] or "
				   "days_since(e) > 1 and now() < f and "
				   "'x' in g and a.b = 1", &e, NULL), 0);
	ds_expr_foreach_path(e, collect, &p);
	cr_assert_eq(p.n, 6);
	cr_expect_str_eq(p.text[0], "a.b");
	cr_expect_str_eq(p.text[1], "c.0.d");
	cr_expect_str_eq(p.text[2], "e");
	cr_expect_str_eq(p.text[3], "f");
	cr_expect_str_eq(p.text[4], "g");
	cr_expect_str_eq(p.text[5], "a.b");
	ds_expr_free(e);

	p.n = 0;
	cr_assert_eq(ds_expr_parse("true and now() > '2026-01-01'", &e, NULL), 0);
	ds_expr_foreach_path(e, collect, &p);
	cr_expect_eq(p.n, 0);
	ds_expr_free(e);
	ds_expr_free(NULL);
}

Test(expr, json_path)
{
	cJSON *j = parse_data("{'a':{'b':[10,{'c':'x'}]},'0':'zero'}");
	const char *ab1c[] = { "a", "b", "1", "c" };
	const char *ab0[] = { "a", "b", "0" };
	const char *ab2[] = { "a", "b", "2" };
	const char *abx[] = { "a", "b", "x" };
	const char *zero[] = { "0" };
	const char *ab_1[] = { "a", "b", "-1" };
	cr_expect_str_eq(ds_expr_json_path(j, ab1c, 4)->valuestring, "x");
	cr_expect_eq(ds_expr_json_path(j, ab0, 3)->valueint, 10);
	cr_expect_null(ds_expr_json_path(j, ab2, 3));
	cr_expect_null(ds_expr_json_path(j, abx, 3));
	cr_expect_null(ds_expr_json_path(j, ab_1, 3));
	cr_expect_str_eq(ds_expr_json_path(j, zero, 1)->valuestring, "zero");
	cr_expect_eq(ds_expr_json_path(j, NULL, 0), j);
	cr_expect_null(ds_expr_json_path(NULL, zero, 1));
	cJSON_Delete(j);
}

Test(expr, no_resolver)
{
	ds_expr *e = NULL;
	bool b = true;
	ds_expr_env env = { NULL, NULL, 0 };
	cr_assert_eq(ds_expr_parse("not exists(a) and a = null and "
				   "days_since(a) = null", &e, NULL), 0);
	cr_expect_eq(ds_expr_eval_bool(e, &env, &b, NULL), 0);
	cr_expect(b);
	ds_expr_free(e);
}

/* ---- allocation failures ---- */

static const char *const oom_exprs[] = {
	"a = 1 and b.c in [1, 2, 'x'] or not exists(d) and e matches '^\\w+'",
	"x matches '(a|b)+c' or y matches 'd'",
	"'\\u00e9t\\u00e9' = s",
};

Test(expr, allocation_failures)
{
	ds_mem_init();
	cJSON *data = parse_data("{'data':{'a':1,'b':{'c':'x'},'e':'hello',"
				 "'x':'ababc','s':'\xc3\xa9t\xc3\xa9'}}");
	ds_expr_env env = { resolve, data, 0 };
	for (size_t i = 0; i < sizeof oom_exprs / sizeof *oom_exprs; i++) {
		bool parsed = false;
		for (long n = 0; n < 1000 && !parsed; n++) {
			ds_expr *e = NULL;
			ds_err err;
			ds_mem_fail_after(n);
			int rc = ds_expr_parse(oom_exprs[i], &e, &err);
			ds_mem_fail_after(-1);
			if (rc == DS_ENOMEM) {
				cr_assert_null(e);
				continue;
			}
			cr_assert_eq(rc, 0, "%s: %s", oom_exprs[i], err.msg);
			parsed = true;
			bool b = false;
			for (long m = 0; m < 50; m++) {
				ds_mem_fail_after(m);
				rc = ds_expr_eval_bool(e, &env, &b, &err);
				ds_mem_fail_after(-1);
				if (rc == 0)
					break;
				cr_assert_eq(rc, DS_ENOMEM, "%s", err.msg);
			}
			cr_expect_eq(rc, 0);
			cr_expect(b, "%s", oom_exprs[i]);
			ds_expr_free(e);
		}
		cr_expect(parsed, "%s never parsed", oom_exprs[i]);
	}
	cJSON_Delete(data);
}

/* ---- threads ---- */

struct shared {
	const struct row *rows[256];
	ds_expr *exprs[256];
	cJSON *data[256];
	ds_time now[256];
	size_t n;
	int failures[2];
};

struct worker {
	struct shared *s;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;
	for (int round = 0; round < 50; round++) {
		for (size_t k = 0; k < s->n; k++) {
			/* The two threads walk the table in opposite orders. */
			size_t i = w->id ? s->n - 1 - k : k;
			ds_expr_env env = { resolve, s->data[i], s->now[i] };
			ds_err err;
			bool b;
			int rc = ds_expr_eval_bool(s->exprs[i], &env, &b, &err);
			int got = rc < 0 ? rc : b;
			if (got != s->rows[i]->want)
				s->failures[w->id]++;
		}
	}
	return NULL;
}

static void add_rows(struct shared *s, const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ds_expr *e = NULL;
		if (ds_expr_parse(rows[i].expr, &e, NULL) < 0)
			continue;
		cr_assert_lt(s->n, 256);
		s->rows[s->n] = &rows[i];
		s->exprs[s->n] = e;
		s->data[s->n] = parse_data(rows[i].data);
		s->now[s->n] = parse_now(rows[i].now);
		s->n++;
	}
}

#define ADD(s, rows) add_rows(s, rows, sizeof rows / sizeof *rows)

Test(expr, shared_between_threads)
{
	static struct shared s;
	ADD(&s, fields);
	ADD(&s, logic);
	ADD(&s, membership);
	ADD(&s, regex);
	ADD(&s, functions);
	ADD(&s, durations);
	cr_assert_gt(s.n, 100);
	pthread_t t[2];
	struct worker w[2] = { { &s, 0 }, { &s, 1 } };
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_expect_eq(s.failures[0], 0);
	cr_expect_eq(s.failures[1], 0);
	for (size_t i = 0; i < s.n; i++) {
		ds_expr_free(s.exprs[i]);
		cJSON_Delete(s.data[i]);
	}
}
