/*
 * test_processes.c - the reference processes walked end to end with
 * --now: an accepted offer starts its order, which is confirmed (its
 * confirmation printed), shipped, invoiced (its invoice printed) and
 * closed, each step under the rights of its state.
 */
#include "helpers.h"

static const char *state_of(th_home *h, const char *ref)
{
	static char st[64];
	cJSON *c = th_json(h, 0, "case show %s", ref);
	snprintf(st, sizeof st, "%s", th_str(c, "state"));
	cJSON_Delete(c);
	return st;
}

static int ndocs(th_home *h, const char *ref)
{
	cJSON *l = th_json(h, 0, "document list --case %s", ref);
	int n = cJSON_GetArraySize(l);
	cJSON_Delete(l);
	return n;
}

Test(processes, accepted_offer_starts_its_order)
{
	th_home h;
	th_home_init(&h);
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-24T09:00:00Z ingest fixtures/offers/DEV-2026-0001.json"));
	cr_assert_str_eq(state_of(&h, "DEV-2026-0001"), "validated");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-24T10:00:00Z case event offer:DEV-2026-0001 send --role sales"), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "case show order:DEV-2026-0001"), 5, "no order before acceptance");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-26T15:00:00Z case event offer:DEV-2026-0001 accept --role sales"), 0);

	/* the order, from the offer's fields, with the cause that started it */
	cJSON *o = th_json(&h, 0, "case show order:DEV-2026-0001");
	cr_expect_str_eq(th_str(o, "process"), "order");
	cr_expect_str_eq(th_str(o, "state"), "received");
	const cJSON *d = cJSON_GetObjectItem(o, "data");
	cr_expect_str_eq(th_str(d, "offer_ref"), "DEV-2026-0001");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(d, "customer"), "name"), "François Lefèvre");
	cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItem(d, "lines")), 0);
	const cJSON *cause = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "history"), 0), "cause");
	char *cs = cJSON_PrintUnformatted(cause);
	cr_expect(strstr(cs, "\"type\":\"start\"") && strstr(cs, "\"state\":\"accepted\""), "%s", cs);
	free(cs);
	cJSON_Delete(o);

	/* the order's way, each step by its role */
	cr_expect_eq(ndocs(&h, "order:DEV-2026-0001"), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T09:00:00Z case event order:DEV-2026-0001 confirm --role technical"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T09:00:00Z case event order:DEV-2026-0001 confirm --role sales"), 0);
	cr_expect_str_eq(state_of(&h, "order:DEV-2026-0001"), "confirmed");
	cr_expect_eq(ndocs(&h, "order:DEV-2026-0001"), 1, "the confirmation is printed");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-02T09:00:00Z case event order:DEV-2026-0001 ship --role technical"), 0);
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-12-03T09:00:00Z case event order:DEV-2026-0001 invoice --role sales"), 4);
	cr_expect(strstr(err, "sales") && strstr(err, "shipped"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-03T09:00:00Z case event order:DEV-2026-0001 invoice --role accounting"), 0);
	cr_expect_eq(ndocs(&h, "order:DEV-2026-0001"), 2, "the invoice is printed");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-31T09:00:00Z case event order:DEV-2026-0001 close --role accounting"), 0);
	cr_expect_str_eq(state_of(&h, "order:DEV-2026-0001"), "closed");
	cJSON *l = th_json(&h, 0, "document list --case order:DEV-2026-0001");
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(l, 0), "template"), "order_confirmation");
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(l, 1), "template"), "invoice");
	cJSON_Delete(l);
	th_home_fini(&h);
}

/* A complaint by email: the reply reaches it through its thread; 48 hours
 * without acknowledgement escalate it; the acknowledgement letter is
 * printed; then it is resolved and closed. */
Test(processes, complaint_by_email)
{
	th_home h;
	th_home_init(&h);
	const char *key = "complaint:c4f1e2d3a5b64c7d8e9f0a1b2c3d4e5f@EX-SRV01.morel-conseil.example.fr";
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-02T10:00:00Z ingest "
			     "fixtures/email/2026-11-02-outlook-pac-bruyante.eml"));
	cr_assert_str_eq(state_of(&h, key), "received");
	/* the customer's reminder answers the first message */
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-03T08:00:00Z ingest "
			     "fixtures/email/2026-11-18-outlook-re-relance-pac.eml"));
	cJSON *l = th_json(&h, 0, "case list --process complaint");
	cr_expect_eq(cJSON_GetArraySize(l), 1, "the reply did not open a second complaint");
	cJSON_Delete(l);
	cJSON *c = th_json(&h, 0, "case show '%s'", key);
	char *hist = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "history"));
	cr_expect(strstr(hist, "\"thread\":\"c4f1e2d3a5b64c7d8e9f0a1b2c3d4e5f@EX-SRV01"), "%s", hist);
	free(hist);
	cJSON_Delete(c);
	/* 48 hours later, nobody acknowledged it */
	cJSON *t = th_json(&h, 0, "--now 2026-11-04T10:00:00Z tick");
	cr_expect_eq(th_num(t, "fired"), 1);
	cJSON_Delete(t);
	cr_expect_str_eq(state_of(&h, key), "escalated");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-04T11:00:00Z case event '%s' acknowledge --role sales", key), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-04T11:00:00Z case event '%s' acknowledge --role manager", key), 0);
	cr_expect_str_eq(state_of(&h, key), "acknowledged");
	l = th_json(&h, 0, "document list --case '%s'", key);
	cr_assert_eq(cJSON_GetArraySize(l), 1);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(l, 0), "template"), "complaint_acknowledgement");
	cJSON_Delete(l);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-10T09:00:00Z case event '%s' resolve --role technical", key), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-12T09:00:00Z case event '%s' close --role after-sales", key), 0);
	cr_expect_str_eq(state_of(&h, key), "closed");
	th_home_fini(&h);
}

/* A technician's report: its case, and the opportunity and complaint it
 * mentions; sales has 5 business days to call before it is overdue. */
Test(processes, intervention_report_gives_opportunity_and_complaint)
{
	th_home h;
	th_home_init(&h);
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-24T09:00:00Z ingest "
			     "fixtures/forms/intervention-0101-need-and-problem.form"));
	cr_expect_str_eq(state_of(&h, "intervention_report:INT-2026-0101"), "received");
	cr_expect_str_eq(state_of(&h, "opportunity:INT-2026-0101"), "open");
	cr_expect_str_eq(state_of(&h, "complaint:INT-2026-0101"), "received");
	/* Tuesday 24 November + 5 business days = Tuesday 1 December */
	cJSON *t = th_json(&h, 0, "--now 2026-11-30T23:00:00Z tick");
	cJSON_Delete(t);
	cr_expect_str_eq(state_of(&h, "opportunity:INT-2026-0101"), "open");
	t = th_json(&h, 0, "--now 2026-12-01T10:00:00Z tick");
	cJSON_Delete(t);
	cr_expect_str_eq(state_of(&h, "opportunity:INT-2026-0101"), "overdue");
	cr_expect_eq(th_run(&h, NULL, NULL, "case event opportunity:INT-2026-0101 contact --role manager"), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "case event opportunity:INT-2026-0101 win --role sales"), 0);
	cr_expect_str_eq(state_of(&h, "opportunity:INT-2026-0101"), "won");
	cr_expect_eq(th_run(&h, NULL, NULL, "case event intervention_report:INT-2026-0101 review --role technical"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "case event intervention_report:INT-2026-0101 review --role manager"), 0);
	th_home_fini(&h);
}
