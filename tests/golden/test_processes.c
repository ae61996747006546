/*
 * test_processes.c - the reference processes walked end to end with
 * --now: an accepted offer starts its order, which is confirmed (its
 * confirmation printed), shipped, invoiced (its invoice printed) and
 * closed, each step under the rights of its state; a complaint by email;
 * a technician's report; contact forms as leads.
 */
#include "helpers.h"

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
	cr_assert_str_eq(th_state(&h, "DEV-2026-0001"), "validated");
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
	cJSON_free(cs);
	cJSON_Delete(o);

	/* the order's way, each step by its role */
	cr_expect_eq(ndocs(&h, "order:DEV-2026-0001"), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T09:00:00Z case event order:DEV-2026-0001 confirm --role technical"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T09:00:00Z case event order:DEV-2026-0001 confirm --role sales"), 0);
	cr_expect_str_eq(th_state(&h, "order:DEV-2026-0001"), "confirmed");
	cr_expect_eq(ndocs(&h, "order:DEV-2026-0001"), 1, "the confirmation is printed");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-02T09:00:00Z case event order:DEV-2026-0001 ship --role technical"), 0);
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-12-03T09:00:00Z case event order:DEV-2026-0001 invoice --role sales"), 4);
	cr_expect(strstr(err, "sales") && strstr(err, "shipped"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-03T09:00:00Z case event order:DEV-2026-0001 invoice --role accounting"), 0);
	cr_expect_eq(ndocs(&h, "order:DEV-2026-0001"), 2, "the invoice is printed");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-31T09:00:00Z case event order:DEV-2026-0001 close --role accounting"), 0);
	cr_expect_str_eq(th_state(&h, "order:DEV-2026-0001"), "closed");
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
	cr_assert_str_eq(th_state(&h, key), "received");
	/* the customer's reminder answers the first message */
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-03T08:00:00Z ingest "
			     "fixtures/email/2026-11-18-outlook-re-relance-pac.eml"));
	cJSON *l = th_json(&h, 0, "case list --process complaint");
	cr_expect_eq(cJSON_GetArraySize(l), 1, "the reply did not open a second complaint");
	cJSON_Delete(l);
	cJSON *c = th_json(&h, 0, "case show '%s'", key);
	char *hist = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "history"));
	cr_expect(strstr(hist, "\"thread\":\"c4f1e2d3a5b64c7d8e9f0a1b2c3d4e5f@EX-SRV01"), "%s", hist);
	cJSON_free(hist);
	cJSON_Delete(c);
	/* 48 hours later, nobody acknowledged it */
	cJSON *t = th_json(&h, 0, "--now 2026-11-04T10:00:00Z tick");
	cr_expect_eq(th_num(t, "fired"), 1);
	cJSON_Delete(t);
	cr_expect_str_eq(th_state(&h, key), "escalated");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-04T11:00:00Z case event '%s' acknowledge --role sales", key), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-04T11:00:00Z case event '%s' acknowledge --role manager", key), 0);
	cr_expect_str_eq(th_state(&h, key), "acknowledged");
	l = th_json(&h, 0, "document list --case '%s'", key);
	cr_assert_eq(cJSON_GetArraySize(l), 1);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(l, 0), "template"), "complaint_acknowledgement");
	cJSON_Delete(l);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-10T09:00:00Z case event '%s' resolve --role technical", key), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-12T09:00:00Z case event '%s' close --role after-sales", key), 0);
	cr_expect_str_eq(th_state(&h, key), "closed");
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
	cr_expect_str_eq(th_state(&h, "intervention_report:INT-2026-0101"), "received");
	cr_expect_str_eq(th_state(&h, "opportunity:INT-2026-0101"), "open");
	cr_expect_str_eq(th_state(&h, "complaint:INT-2026-0101"), "received");
	/* Tuesday 24 November + 5 business days = Tuesday 1 December */
	cJSON *t = th_json(&h, 0, "--now 2026-11-30T23:00:00Z tick");
	cJSON_Delete(t);
	cr_expect_str_eq(th_state(&h, "opportunity:INT-2026-0101"), "open");
	t = th_json(&h, 0, "--now 2026-12-01T10:00:00Z tick");
	cJSON_Delete(t);
	cr_expect_str_eq(th_state(&h, "opportunity:INT-2026-0101"), "overdue");
	cr_expect_eq(th_run(&h, NULL, NULL, "case event opportunity:INT-2026-0101 contact --role manager"), 0);
	cr_expect_eq(th_run(&h, NULL, NULL, "case event opportunity:INT-2026-0101 win --role sales"), 0);
	cr_expect_str_eq(th_state(&h, "opportunity:INT-2026-0101"), "won");
	cr_expect_eq(th_run(&h, NULL, NULL, "case event intervention_report:INT-2026-0101 review --role technical"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "case event intervention_report:INT-2026-0101 review --role manager"), 0);
	th_home_fini(&h);
}

/* The lead of a contact form is keyed by LEAD- and 16 hex digits of the
 * post's SHA-256 (the fixtures' expectations give each form's). */
#define LEAD_DUPRE "LEAD-B26EA0652BA0DADA"   /* contact-helene-dupre.form */
#define LEAD_LEGOFF "LEAD-C4BA3CCE9A634388"  /* contact-legoff-no-consent.form */
#define LEAD_MENARD "LEAD-BD47CA603C159726"  /* contact-menard-cp1252.form */
#define LEAD_SANTONI "LEAD-9E29D83F0314427A" /* contact-santoni-bastia-0033.form */

/* Contact forms through every transition of the lead process: left two
 * business days unanswered a lead is overdue for the manager; sales or the
 * manager qualify it, then convert or lose it, each event under the roles
 * of its state; what the visitor wrote and the consent they gave stay as
 * they sent them. */
Test(processes, leads_from_contact_forms)
{
	th_home h;
	th_home_init(&h);
	/* Friday afternoon */
	cJSON *s = th_json(&h, 0, "--now 2026-11-27T16:00:00Z ingest "
			   "fixtures/forms/contact-helene-dupre.form fixtures/forms/contact-legoff-no-consent.form "
			   "fixtures/forms/contact-menard-cp1252.form fixtures/forms/contact-santoni-bastia-0033.form");
	cr_expect_eq(th_num(s, "new"), 4);
	cJSON_Delete(s);
	cJSON *l = th_json(&h, 0, "case list --process lead --state new");
	cr_expect_eq(cJSON_GetArraySize(l), 4);
	cJSON_Delete(l);
	cJSON *c = th_json(&h, 0, "case show " LEAD_DUPRE);
	const cJSON *d = cJSON_GetObjectItem(c, "data");
	cr_expect_str_eq(th_str(d, "reference"), LEAD_DUPRE);
	cr_expect_str_eq(th_str(d, "email"), "helene.dupre@example.fr");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(d, "consent_marketing")));
	cJSON_Delete(c);

	/* the same day: one lost at once, one qualified by sales and lost by
	 * the manager */
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T17:00:00Z case event " LEAD_LEGOFF " lose --role technical"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T17:00:00Z case event " LEAD_LEGOFF " lose --role sales"), 0);
	cr_expect_str_eq(th_state(&h, LEAD_LEGOFF), "lost");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T17:00:00Z case event " LEAD_MENARD " qualify --role marketing"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T17:00:00Z case event " LEAD_MENARD " qualify --role sales"), 0);
	cr_expect_str_eq(th_state(&h, LEAD_MENARD), "qualified");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-27T17:30:00Z case event " LEAD_MENARD " lose --role manager"), 0);
	cr_expect_str_eq(th_state(&h, LEAD_MENARD), "lost");

	/* the weekend does not count: due Tuesday 1 December at 16:00 */
	cJSON *t = th_json(&h, 0, "--now 2026-11-30T23:00:00Z tick");
	cr_expect_eq(th_num(t, "fired"), 0);
	cJSON_Delete(t);
	cr_expect_str_eq(th_state(&h, LEAD_DUPRE), "new");
	t = th_json(&h, 0, "--now 2026-12-01T17:00:00Z tick");
	cr_expect_eq(th_num(t, "fired"), 2, "the timers of the leads already lost do not fire");
	cr_expect_eq(th_num(t, "transitions"), 2);
	cJSON_Delete(t);
	cr_expect_str_eq(th_state(&h, LEAD_DUPRE), "overdue");
	cr_expect_str_eq(th_state(&h, LEAD_SANTONI), "overdue");
	cr_expect_str_eq(th_state(&h, LEAD_LEGOFF), "lost");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-01T18:00:00Z case event " LEAD_SANTONI " lose --role manager"), 0);
	cr_expect_str_eq(th_state(&h, LEAD_SANTONI), "lost");

	/* overdue: the manager qualifies it; sales note what they learned,
	 * but neither changes the visitor's message or consent */
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-12-01T18:00:00Z case event " LEAD_DUPRE " qualify --role technical"), 4);
	cr_expect(strstr(err, "technical") && strstr(err, "overdue"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-01T18:00:00Z case event " LEAD_DUPRE " qualify --role manager --actor 'Claire Martin'"), 0);
	cr_expect_str_eq(th_state(&h, LEAD_DUPRE), "qualified");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-02T09:00:00Z case set " LEAD_DUPRE " 'notes=Chaudière fioul 25 kW, budget 8 000 €' --role sales"), 0);
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-12-02T09:00:00Z case set " LEAD_DUPRE " message=Autre --role sales"), 4);
	cr_expect(strstr(err, "message") && strstr(err, "qualified"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-02T09:00:00Z case set " LEAD_DUPRE " consent_marketing=false --role manager"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-03T10:00:00Z case event " LEAD_DUPRE " convert --role marketing"), 4);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-03T10:00:00Z case event " LEAD_DUPRE " convert --role sales"), 0);
	cr_expect_str_eq(th_state(&h, LEAD_DUPRE), "converted");
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-12-04T10:00:00Z case event " LEAD_DUPRE " lose --role sales"), 4,
		     "a converted lead stays converted");

	/* the audit trail: the form, the timer, the events and the edit */
	c = th_json(&h, 0, "case show " LEAD_DUPRE);
	const cJSON *hist = cJSON_GetObjectItem(c, "history");
	static const char *const to[] = { "new", "overdue", "qualified", "qualified", "converted" };
	static const char *const cause[] = { "\"type\":\"record\"", "\"type\":\"timer\"",
					     "\"actor\":\"Claire Martin\"", "\"notes\"",
					     "\"event\":\"convert\"" };
	cr_assert_eq(cJSON_GetArraySize(hist), 5);
	for (int i = 0; i < 5; i++) {
		const cJSON *e = cJSON_GetArrayItem(hist, i);
		char *txt = cJSON_PrintUnformatted(e);
		cr_expect_str_eq(th_str(e, "to"), to[i]);
		cr_expect(strstr(txt, cause[i]), "history %d: %s", i, txt);
		cJSON_free(txt);
	}
	d = cJSON_GetObjectItem(c, "data");
	cr_expect_str_eq(th_str(d, "notes"), "Chaudière fioul 25 kW, budget 8 000 €");
	cr_expect_str_eq(th_str(d, "message"),
			 "Bonjour, notre chaudière a 20 ans. Pouvez-vous nous faire une offre ?");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(d, "consent_marketing")));
	cJSON_Delete(c);
	/* and as a person reads it, the data included */
	char *out = NULL;
	cr_expect_eq(th_run(&h, &out, NULL, "case show " LEAD_DUPRE), 0);
	cr_expect(strstr(out, "\"notes\":\t\"Chaudière fioul 25 kW") &&
		  strstr(out, "-> converted"), "%s", out);
	free(out);
	th_home_fini(&h);
}

/* A contact form has no reference of its own: the same post ingested
 * again, under another file name too, reaches the same lead, and another
 * post is another lead. */
Test(processes, the_same_contact_form_twice_is_one_lead)
{
	th_home h;
	th_home_init(&h);
	cJSON *i = th_json(&h, 0, "inspect --source web-contact fixtures/forms/contact-helene-dupre.form");
	cr_expect_str_eq(th_str(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(i, "records"), 0),
						    "data"), "reference"), LEAD_DUPRE);
	cJSON_Delete(i);
	cJSON *s = th_json(&h, 0, "--now 2026-11-24T09:00:00Z ingest fixtures/forms/contact-helene-dupre.form");
	cr_expect_eq(th_num(s, "new"), 1);
	cJSON_Delete(s);
	char again[PATH_MAX + 16], cmd[PATH_MAX * 2];
	snprintf(again, sizeof again, "%s/again.form", h.dir);
	snprintf(cmd, sizeof cmd, "cp fixtures/forms/contact-helene-dupre.form '%s'", again);
	cr_assert_eq(system(cmd), 0);
	for (int k = 0; k < 2; k++) {
		s = th_json(&h, 0, "--now 2026-11-24T10:00:00Z ingest '%s'",
			    k ? again : "fixtures/forms/contact-helene-dupre.form");
		char got[96];
		snprintf(got, sizeof got, "new %g, duplicates %g, records %g", th_num(s, "new"),
			 th_num(s, "duplicates"), th_num(s, "records"));
		cr_expect_str_eq(got, "new 0, duplicates 1, records 0", "ingest %d", k + 2);
		cJSON_Delete(s);
	}
	cJSON *l = th_json(&h, 0, "case list --process lead");
	cr_expect_eq(cJSON_GetArraySize(l), 1);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(l, 0), "key"), LEAD_DUPRE);
	cJSON_Delete(l);
	s = th_json(&h, 0, "--now 2026-11-24T11:00:00Z ingest fixtures/forms/contact-legoff-no-consent.form");
	cr_expect_eq(th_num(s, "new"), 1);
	cJSON_Delete(s);
	l = th_json(&h, 0, "case list --process lead");
	cr_expect_eq(cJSON_GetArraySize(l), 2, "another post, another lead");
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(l, 1), "key"), LEAD_LEGOFF);
	cJSON_Delete(l);
	th_home_fini(&h);
}
