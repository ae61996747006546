/*
 * test_profile.c - what a case counts for its customer's traits, from the
 * reference order and offer processes: money exact to the cent (line
 * amounts, quantity x unit price per base quantity, the discount rounded
 * once), only the states and the currency declared, the latest date.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mem.h"
#include "process.h"
#include "profile.h"

static ds_process *load(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "schemas/processes/%s.json", name);
	ds_diag d;
	ds_diag_init(&d);
	ds_err err = {0};
	ds_process *p = NULL;
	cr_assert_eq(ds_process_load(path, &d, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(d.errors, 0);
	ds_diag_free(&d);
	return p;
}

static ds_traits traits_of(const ds_process *p, const char *state, const char *json)
{
	cJSON *data = cJSON_Parse(json);
	cr_assert(data, "%s", json);
	ds_traits t;
	int s = ds_process_state(p, state);
	cr_assert_geq(s, 0, "%s", state);
	ds_profile_case_traits(p, s, data, &t);
	cJSON_Delete(data);
	return t;
}

struct money {
	const char *data;
	int64_t cents;
};

static const struct money orders[] = {
	/* a line's own amount wins over its price */
	{ "{'currency':'EUR','lines':[{'quantity':2,'unit_price':'10.00','amount':'19.00'}]}", 1900 },
	{ "{'currency':'EUR','lines':[{'quantity':3,'unit_price':'0.10'},"
	  "{'quantity':1,'unit_price':'0.20'}]}", 50 },
	/* 1.5 x 33.333 = 49.9995: rounded per line, half away from zero */
	{ "{'currency':'EUR','lines':[{'quantity':1.5,'unit_price':'33.3330'}]}", 5000 },
	/* a price per 100 pieces: 250 x 12.34 / 100 = 30.85 */
	{ "{'currency':'EUR','lines':[{'quantity':250,'unit_price':'12.34','base_quantity':100}]}",
	  3085 },
	/* 7 x 1.00 / 3 = 2.333... -> 2.33; 2 x 1.00 / 3 = 0.666... -> 0.67 */
	{ "{'currency':'EUR','lines':[{'quantity':7,'unit_price':'1.00','base_quantity':3},"
	  "{'quantity':2,'unit_price':'1.00','base_quantity':3}]}", 300 },
	/* the discount rounded once on the subtotal: 1399.56 - 69.978 */
	{ "{'currency':'EUR','discount_pct':5,'lines':[{'quantity':1,'unit_price':'1234.56'},"
	  "{'quantity':3,'unit_price':'55.00'}]}", 132958 },
	{ "{'currency':'EUR','discount_pct':12.5,'lines':[{'quantity':1,'unit_price':'0.10'}]}", 9 },
	/* only EUR is added up */
	{ "{'currency':'CHF','lines':[{'quantity':1,'unit_price':'100.00'}]}", 0 },
	/* an amount that is no decimal adds nothing */
	{ "{'currency':'EUR','lines':[{'quantity':1,'unit_price':'douze'}]}", 0 },
};

static char *quotes(const char *s)
{
	char *d = strdup(s);
	for (char *c = d; *c; c++)
		if (*c == '\'')
			*c = '"';
	return d;
}

Test(profile, an_order_counts_its_net_amount_exactly)
{
	ds_mem_init();
	ds_process *p = load("order");
	for (size_t i = 0; i < sizeof orders / sizeof *orders; i++) {
		char *json = quotes(orders[i].data);
		ds_traits t = traits_of(p, "received", json);
		cr_expect_eq(t.v[DS_TRAIT_TOTAL_SPENT], orders[i].cents, "%s: %lld cents, expected %lld",
			     json, (long long)t.v[DS_TRAIT_TOTAL_SPENT], (long long)orders[i].cents);
		cr_expect_eq(t.v[DS_TRAIT_ORDERS_COUNT], 1, "%s", json);
		free(json);
	}
	ds_process_free(p);
}

Test(profile, a_cancelled_order_counts_nothing)
{
	ds_mem_init();
	ds_process *p = load("order");
	char *json = quotes("{'currency':'EUR','date':'2026-11-20',"
			    "'lines':[{'quantity':1,'unit_price':'100.00'}]}");
	ds_traits t = traits_of(p, "invoiced", json);
	cr_expect_eq(t.v[DS_TRAIT_ORDERS_COUNT], 1);
	cr_expect_eq(t.v[DS_TRAIT_TOTAL_SPENT], 10000);
	cr_expect_eq(t.v[DS_TRAIT_LAST_ORDER_AT], 20261120);
	t = traits_of(p, "cancelled", json);
	for (int k = 0; k < DS_NTRAITS; k++)
		cr_expect_eq(t.v[k], 0, "%s", ds_trait_name(k));
	free(json);
	ds_process_free(p);
}

Test(profile, an_offer_counts_by_its_state)
{
	ds_mem_init();
	ds_process *p = load("offer");
	static const struct {
		const char *state;
		int sent, accepted, rejected;
	} states[] = {
		{ "draft", 0, 0, 0 }, { "pending_approval", 0, 0, 0 }, { "validated", 0, 0, 0 },
		{ "sent", 1, 0, 0 }, { "to_resend", 1, 0, 0 }, { "unreachable", 1, 0, 0 },
		{ "accepted", 1, 1, 0 }, { "rejected", 1, 0, 1 },
	};
	for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
		ds_traits t = traits_of(p, states[i].state, "{}");
		cr_expect_eq(t.v[DS_TRAIT_OFFERS_SENT], states[i].sent, "%s", states[i].state);
		cr_expect_eq(t.v[DS_TRAIT_OFFERS_ACCEPTED], states[i].accepted, "%s", states[i].state);
		cr_expect_eq(t.v[DS_TRAIT_OFFERS_REJECTED], states[i].rejected, "%s", states[i].state);
		cr_expect_eq(t.v[DS_TRAIT_ORDERS_COUNT], 0);
	}
	ds_process_free(p);
}
