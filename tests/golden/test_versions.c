/*
 * test_versions.c - process definitions are versioned: a case runs by the
 * version it started with while new cases take the newest; a definition
 * changed without a new version, or a version going back, is refused; a
 * version that drops a state where cases are is refused unless it
 * migrates them, which happens once, each case with its audit entry. The
 * versions are files under tests/golden/versions/ (see the README there),
 * laid over the reference schemas/ between commands.
 */
#include "helpers.h"

#define VERSIONS "tests/golden/versions/"

static void expect_case(th_home *h, const char *ref, const char *state, int process_version)
{
	cJSON *c = th_json(h, 0, "case show %s", ref);
	cr_expect_str_eq(th_str(c, "state"), state, "%s", ref);
	cr_expect_eq(th_num(c, "process_version"), process_version, "%s", ref);
	cJSON_Delete(c);
}

static void ingest(th_home *h, const char *now, const char *files)
{
	cJSON_Delete(th_json(h, 0, "--now %s ingest %s", now, files));
}

static void act(th_home *h, const char *now, const char *ref, const char *event)
{
	char *err = NULL;
	int rc = th_run(h, NULL, &err, "--now %s case event %s %s --role sales", now, ref, event);
	cr_assert_eq(rc, 0, "%s %s: exit %d: %s", ref, event, rc, err);
	free(err);
}

/* Runs `tick` at now: fired timers fired, and obsolete ones no longer
 * applying (-1: not counted). */
static void tick(th_home *h, const char *now, int fired, int obsolete)
{
	cJSON *t = th_json(h, 0, "--now %s tick", now);
	cr_expect_eq(th_num(t, "fired"), fired, "tick at %s", now);
	if (obsolete >= 0)
		cr_expect_eq(th_num(t, "obsolete"), obsolete, "tick at %s", now);
	cJSON_Delete(t);
}

/* Runs `check` and returns its problems of one kind ("errors",
 * "warnings") as text, asserting the exit code. */
static char *check(th_home *h, int want_rc, const char *kind)
{
	cJSON *r = th_json(h, want_rc, "check");
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(r, kind));
	cJSON_Delete(r);
	return s;
}

/* The audit entries of a case whose cause is a migration. */
static int migrations(th_home *h, const char *ref, cJSON **last)
{
	cJSON *c = th_json(h, 0, "case show %s", ref);
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "history")) {
		const cJSON *cause = cJSON_GetObjectItem(e, "cause");
		if (strcmp(th_str(cause, "type"), "migration"))
			continue;
		n++;
		if (last) {
			cJSON_Delete(*last);
			*last = cJSON_Duplicate(e, true);
		}
	}
	cJSON_Delete(c);
	return n;
}

/* Version 2 approves from 10 % within 2 days; the offers that started
 * under version 1 keep its 20 % and 5 days, outputs included. */
Test(versions, a_running_case_keeps_its_version)
{
	th_home h;
	th_home_init(&h);
	ingest(&h, "2026-11-24T09:00:00Z",
	       "fixtures/offers/DEV-2026-0042.json fixtures/offers/DEV-2026-0005.json");
	expect_case(&h, "DEV-2026-0042", "pending_approval", 1);
	th_home_overlay(&h, VERSIONS "offer-v2-guard");
	free(check(&h, 0, "errors"));

	/* 12.5 %: validated under version 1, waits for a manager under 2 */
	ingest(&h, "2026-11-24T10:00:00Z", "fixtures/offers/DEV-2026-0001.json");
	expect_case(&h, "DEV-2026-0001", "pending_approval", 2);
	expect_case(&h, "DEV-2026-0005", "pending_approval", 1);

	/* 2 days: only the version 2 timer is due */
	tick(&h, "2026-11-26T10:00:00Z", 1, -1);
	expect_case(&h, "DEV-2026-0001", "validated", 2);
	expect_case(&h, "DEV-2026-0005", "pending_approval", 1);

	/* 15 %: version 1's guard validates it (version 2's would not), and
	 * its output point prints the offer */
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-26T11:00:00Z case set DEV-2026-0042 "
			    "discount_pct=15 --role manager"), 0);
	expect_case(&h, "DEV-2026-0042", "validated", 1);
	cJSON *l = th_json(&h, 0, "document list --case DEV-2026-0042");
	cr_expect_eq(cJSON_GetArraySize(l), 1);
	cJSON_Delete(l);

	/* 5 days: version 1's timer */
	tick(&h, "2026-11-29T10:00:00Z", 1, -1);
	expect_case(&h, "DEV-2026-0005", "validated", 1);
	th_home_fini(&h);
}

Test(versions, a_changed_definition_needs_a_new_version)
{
	th_home h;
	th_home_init(&h);
	ingest(&h, "2026-11-24T09:00:00Z", "fixtures/offers/DEV-2026-0001.json");
	th_home_overlay(&h, VERSIONS "offer-v1-edited");
	char *errs = check(&h, 2, "errors");
	cr_expect(strstr(errs, "offer.json\",\"path\":\"/version\"") &&
		  strstr(errs, "process \\\"offer\\\" differs from the version 1 the store has run "
			 "since 2026-11-24T09:00:00Z") &&
		  strstr(errs, "raise it to 2"), "%s", errs);
	free(errs);
	/* nothing runs on it */
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-11-24T10:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0002.json"), 2);
	cr_expect(strstr(err, "offer.json at /version"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "case show DEV-2026-0002"), 2);
	th_home_fini(&h);

	/* A store that never ran version 1 has nothing to compare with. */
	th_home_init(&h);
	th_home_overlay(&h, VERSIONS "offer-v1-edited");
	free(check(&h, 0, "errors"));
	ingest(&h, "2026-11-24T09:00:00Z", "fixtures/offers/DEV-2026-0001.json");
	expect_case(&h, "DEV-2026-0001", "pending_approval", 1);
	th_home_fini(&h);
}

Test(versions, a_version_never_goes_back)
{
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, VERSIONS "offer-v2-guard");
	ingest(&h, "2026-11-24T09:00:00Z", "fixtures/offers/DEV-2026-0001.json");
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/schemas' && ln -s '%s/schemas' '%s/schemas'", h.dir,
		 h.repo, h.dir);
	cr_assert_eq(system(cmd), 0);
	char *errs = check(&h, 2, "errors");
	cr_expect(strstr(errs, "process \\\"offer\\\" is at version 1, but the store has run "
			 "version 2 already"), "%s", errs);
	free(errs);
	th_home_fini(&h);
}

/* DEV-2026-0001 and 0002 are sent, 0001 is then unreachable: the state
 * version 2 drops. */
static void two_sent_one_unreachable(th_home *h)
{
	ingest(h, "2026-11-24T09:00:00Z",
	       "fixtures/offers/DEV-2026-0001.json fixtures/offers/DEV-2026-0002.json");
	act(h, "2026-11-24T10:00:00Z", "DEV-2026-0001", "send");
	act(h, "2026-11-24T10:00:00Z", "DEV-2026-0002", "send");
	act(h, "2026-11-24T11:00:00Z", "DEV-2026-0001", "unreachable");
}

Test(versions, dropping_an_occupied_state_is_refused)
{
	th_home h;
	th_home_init(&h);
	two_sent_one_unreachable(&h);
	th_home_overlay(&h, VERSIONS "offer-v2-drops-unreachable");
	char *errs = check(&h, 2, "errors");
	cr_expect(strstr(errs, "offer.json\",\"path\":\"/states\"") &&
		  strstr(errs, "process \\\"offer\\\" version 2 removes state \\\"unreachable\\\", "
			 "where 1 case of version 1 still is") &&
		  strstr(errs, "\\\"migrate\\\": {\\\"from\\\": 1"), "%s", errs);
	free(errs);
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "case list"), 2);
	cr_expect(strstr(err, "removes state \"unreachable\""), "%s", err);
	free(err);
	th_home_fini(&h);
}

/* A dropped state nobody is in does not hold version 2 back; a version 1
 * case keeps version 1's events, so it may still go there afterwards:
 * only a warning then. */
Test(versions, earlier_cases_keep_their_rights_after_a_state_is_dropped)
{
	th_home h;
	th_home_init(&h);
	ingest(&h, "2026-11-24T09:00:00Z", "fixtures/offers/DEV-2026-0001.json");
	act(&h, "2026-11-24T10:00:00Z", "DEV-2026-0001", "send");
	th_home_overlay(&h, VERSIONS "offer-v2-drops-unreachable");
	free(check(&h, 0, "errors"));
	ingest(&h, "2026-11-25T09:00:00Z", "fixtures/offers/DEV-2026-0002.json");
	act(&h, "2026-11-25T10:00:00Z", "DEV-2026-0002", "send");
	char *err = NULL;
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-11-25T11:00:00Z case event DEV-2026-0002 "
			    "unreachable --role sales"), 4);
	cr_expect(strstr(err, "\"unreachable\" is not allowed in state \"sent\""), "%s", err);
	free(err);
	act(&h, "2026-11-25T11:00:00Z", "DEV-2026-0001", "unreachable");
	expect_case(&h, "DEV-2026-0001", "unreachable", 1);
	expect_case(&h, "DEV-2026-0002", "sent", 2);
	char *warns = check(&h, 0, "warnings");
	cr_expect(strstr(warns, "process \\\"offer\\\": 1 case of version 1 is in state "
			  "\\\"unreachable\\\", which version 2 does not have"), "%s", warns);
	free(warns);
	/* its version 1 timer still fires: 3 days, back to to_resend */
	tick(&h, "2026-11-28T12:00:00Z", 1, -1);
	expect_case(&h, "DEV-2026-0001", "to_resend", 1);
	th_home_fini(&h);
}

Test(versions, a_migration_moves_the_cases_once)
{
	th_home h;
	th_home_init(&h);
	two_sent_one_unreachable(&h);
	ingest(&h, "2026-11-24T12:00:00Z", "fixtures/offers/DEV-2026-0042.json");
	th_home_overlay(&h, VERSIONS "offer-v2-migrates-unreachable");
	char *errs = check(&h, 0, "errors");
	cr_expect_str_eq(errs, "[]");
	free(errs);

	/* check moved nothing: the first command that opens the store does */
	char *out = NULL, *err = NULL;
	cr_assert_eq(th_run(&h, &out, &err, "--now 2026-11-25T09:00:00Z case list"), 0, "%s", err);
	cr_expect(strstr(err, "offer: 3 cases of version 1 moved to version 2"), "%s", err);
	free(out);
	free(err);
	expect_case(&h, "DEV-2026-0001", "to_resend", 2);
	expect_case(&h, "DEV-2026-0002", "sent", 2);
	expect_case(&h, "DEV-2026-0042", "pending_approval", 2);
	cJSON *m = NULL;
	cr_expect_eq(migrations(&h, "DEV-2026-0001", &m), 1);
	cr_assert(m);
	cr_expect_str_eq(th_str(m, "from"), "unreachable");
	cr_expect_str_eq(th_str(m, "to"), "to_resend");
	cr_expect_str_eq(th_str(m, "at"), "2026-11-25T09:00:00Z");
	const cJSON *cause = cJSON_GetObjectItem(m, "cause");
	cr_expect_eq(th_num(cause, "from_version"), 1);
	cr_expect_eq(th_num(cause, "to_version"), 2);
	cJSON_Delete(m);
	m = NULL;
	cr_expect_eq(migrations(&h, "DEV-2026-0002", &m), 1);
	cr_expect_str_eq(th_str(m, "from"), "sent");
	cr_expect_str_eq(th_str(m, "to"), "sent");
	cJSON_Delete(m);

	/* once: later commands find nothing left to move */
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-25T10:00:00Z case list"), 0);
	cr_expect(!strstr(err, "moved"), "%s", err);
	free(err);
	cr_expect_eq(migrations(&h, "DEV-2026-0001", NULL), 1);
	/* the customers' traits count each case once, by its version */
	cr_assert_eq(th_run(&h, &out, NULL, "profile rebuild --check"), 0);
	cr_expect(strstr(out, " 0 differed"), "%s", out);
	free(out);

	/* version 1's timers lapse: unreachable's 3 days, and the approval's 5
	 * days, which version 2 counts again from the same entry */
	tick(&h, "2026-11-28T09:00:00Z", 0, 1);
	expect_case(&h, "DEV-2026-0001", "to_resend", 2);
	tick(&h, "2026-11-29T13:00:00Z", 1, 1);
	expect_case(&h, "DEV-2026-0042", "validated", 2);
	th_home_fini(&h);
}

/* A customer's traits count each case by the version it runs: a rebuild
 * agrees with what the changes added, after version 2 counts less. */
Test(versions, traits_count_each_case_by_its_version)
{
	th_home h;
	th_home_init(&h);
	two_sent_one_unreachable(&h);
	th_home_overlay(&h, VERSIONS "offer-v2-counts-less");
	ingest(&h, "2026-11-24T12:00:00Z", "fixtures/offers/DEV-2026-0042.json");
	char *out = NULL;
	cr_assert_eq(th_run(&h, &out, NULL, "profile rebuild --check"), 0);
	cr_expect(strstr(out, " 0 differed"), "%s", out);
	free(out);
	th_home_fini(&h);
}

Test(versions, a_migration_naming_unknown_states_is_refused)
{
	th_home h;
	th_home_init(&h);
	two_sent_one_unreachable(&h);
	th_home_overlay(&h, VERSIONS "offer-v2-bad-migration");
	char *errs = check(&h, 2, "errors");
	cr_expect(strstr(errs, "\"path\":\"/migrate/states/nowhere\",\"message\":\"version 1 of "
			 "process \\\"offer\\\" has no state \\\"nowhere\\\"\""), "%s", errs);
	free(errs);
	cr_expect_eq(th_run(&h, NULL, NULL, "--now 2026-11-25T09:00:00Z case list"), 2);
	/* nothing moved: with the definition fixed, the migration happens */
	th_home_overlay(&h, VERSIONS "offer-v2-migrates-unreachable");
	expect_case(&h, "DEV-2026-0001", "to_resend", 2);
	th_home_fini(&h);
}
