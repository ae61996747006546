/*
 * test_profiles.c - the profile store on the cases of fixtures/profiles/:
 * each folder holds inputs, and fixtures/expected/profiles/FOLDER.json the
 * case:
 *
 *   {"description": "...",
 *    "steps": [{"now": "2026-11-02T09:00:00Z", "ingest": "01-offer.json"},
 *              {"now": "...", "event": "DEV-2026-0571", "name": "send",
 *               "role": "sales"},
 *              {"now": "...", "unmerge": "claire.vidal@example.fr"}],
 *    "profiles": [{"emails": [...], "phones": [...],
 *                  "identities": {"siret": [...], "erp_id": ["SOURCE:ID"]},
 *                  "attributes": {"name": "..."},
 *                  "attribute_sources": {"name": "api-offers"},
 *                  "consent": {"marketing": {"email": "granted"}},
 *                  "consent_at": {"marketing": {"email": "2026-..."}},
 *                  "consent_history": 3,
 *                  "interests": [...], "traits": {"orders_count": 1},
 *                  "tags": [...], "tagged": {"offer_rejected": "2026-..."}}],
 *    "merges": {"active": 1, "undone": 0}}
 *
 * The steps run in order in a fresh home (an unmerge undoes the latest
 * merge into the profile the reference finds); then the profiles must be
 * exactly those listed, each found by its emails (or phones), with what it
 * lists (a list given empty must be empty); and `profile rebuild --check`
 * must find the incremental traits equal to those computed again from the
 * cases and records. A new case is a new folder and no new code.
 */
#include "helpers.h"

#include <sqlite3.h>

#define CASES "fixtures/profiles"
#define EXPECTED "fixtures/expected/profiles"

static bool in_list(const cJSON *list, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

static bool same_set(const cJSON *a, const cJSON *b)
{
	if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
		return false;
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
		if (!cJSON_IsString(it) || !in_list(b, it->valuestring))
			return false;
	return true;
}

static char *text(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : strdup("(nothing)");
}

/* The profile of list whose emails (or, without emails, phones) are
 * those of want. */
static const cJSON *match(const cJSON *list, const cJSON *want)
{
	const cJSON *emails = cJSON_GetObjectItemCaseSensitive(want, "emails");
	const char *key = cJSON_GetArraySize(emails) ? "emails" : "phones";
	const cJSON *p;
	cJSON_ArrayForEach(p, list) {
		if (!same_set(cJSON_GetObjectItemCaseSensitive(p, key),
			      cJSON_GetObjectItemCaseSensitive(want, key)))
			continue;
		if (!strcmp(key, "phones") &&
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "emails")))
			continue;
		return p;
	}
	return NULL;
}

/* The identities of kind in got, as VALUE or SOURCE:VALUE. */
static cJSON *identities_of(const cJSON *got, const char *kind)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(got, "identities")) {
		if (strcmp(th_str(it, "kind"), kind))
			continue;
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(it, "source");
		char buf[600];
		snprintf(buf, sizeof buf, "%s%s%s", cJSON_IsString(src) ? src->valuestring : "",
			 cJSON_IsString(src) ? ":" : "", th_str(it, "value"));
		cJSON_AddItemToArray(out, cJSON_CreateString(buf));
	}
	return out;
}

/* want.{purpose}.{channel} against got's consent, read by field. */
static void expect_consent(const char *name, const cJSON *want, const cJSON *consent,
			   const char *field, bool exact)
{
	const cJSON *pu, *ch;
	size_t nwant = 0, ngot = 0;
	cJSON_ArrayForEach(pu, want) {
		cJSON_ArrayForEach(ch, pu) {
			nwant++;
			const cJSON *g = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(consent, pu->string), ch->string);
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, field);
			char *got = text(v);
			const char *w = ch->valuestring;
			bool ok = !strcmp(field, "granted")
				  ? cJSON_IsBool(v) && cJSON_IsTrue(v) == !strcmp(w, "granted")
				  : cJSON_IsString(v) && !strcmp(v->valuestring, w);
			cr_expect(ok, "%s: consent %s by %s: %s is %s, expected %s", name, pu->string,
				  ch->string, field, got, w);
			free(got);
		}
	}
	cJSON_ArrayForEach(pu, consent)
		ngot += (size_t)cJSON_GetArraySize(pu);
	if (exact)
		cr_expect_eq(ngot, nwant, "%s: %zu consents stated, expected %zu", name, ngot, nwant);
}

static void expect_profile(const char *name, const cJSON *got, const cJSON *want)
{
	char *all = text(got);
	static const char *const sets[] = { "emails", "phones" };
	for (size_t i = 0; i < 2; i++) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, sets[i]);
		if (w)
			cr_expect(same_set(cJSON_GetObjectItemCaseSensitive(got, sets[i]), w),
				  "%s: %s differ: %s", name, sets[i], all);
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(want, "identities")) {
		cJSON *ids = identities_of(got, it->string);
		cr_expect(same_set(ids, it), "%s: %s identities differ: %s", name, it->string, all);
		cJSON_Delete(ids);
	}
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(got, "attributes");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(want, "attributes")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(attrs, it->string), "value");
		cr_expect(cJSON_IsString(v) && !strcmp(v->valuestring, it->valuestring),
			  "%s: attribute %s is not \"%s\": %s", name, it->string, it->valuestring, all);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(want, "attribute_sources")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(attrs, it->string), "source");
		cr_expect(cJSON_IsString(v) && !strcmp(v->valuestring, it->valuestring),
			  "%s: attribute %s does not come from %s: %s", name, it->string,
			  it->valuestring, all);
	}
	const cJSON *consent = cJSON_GetObjectItemCaseSensitive(got, "consent");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, "consent");
	if (w)
		expect_consent(name, w, consent, "granted", true);
	if ((w = cJSON_GetObjectItemCaseSensitive(want, "consent_at")))
		expect_consent(name, w, consent, "at", false);
	if ((w = cJSON_GetObjectItemCaseSensitive(want, "consent_history")))
		cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(got, "consent_history")),
			     w->valueint, "%s: consent history: %s", name, all);
	if ((w = cJSON_GetObjectItemCaseSensitive(want, "tags")))
		cr_expect(same_set(cJSON_GetObjectItemCaseSensitive(got, "tags"), w),
			  "%s: tags differ: %s", name, all);
	const cJSON *tagged = cJSON_GetObjectItemCaseSensitive(got, "tagged");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(want, "tagged")) {
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(tagged, it->string), "at");
		cr_expect(cJSON_IsString(at) && !strcmp(at->valuestring, it->valuestring),
			  "%s: tag %s was not set at %s: %s", name, it->string, it->valuestring, all);
	}
	const cJSON *traits = cJSON_GetObjectItemCaseSensitive(got, "traits");
	if ((w = cJSON_GetObjectItemCaseSensitive(want, "interests")))
		cr_expect(same_set(cJSON_GetObjectItemCaseSensitive(traits, "interests"), w),
			  "%s: interests differ: %s", name, all);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(want, "traits")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(traits, it->string);
		char *g = text(v), *e = text(it);
		cr_expect(v && cJSON_Compare(v, it, true), "%s: trait %s is %s, expected %s", name,
			  it->string, g, e);
		free(g);
		free(e);
	}
	free(all);
}

/* Every profile's attributes in the store are the text cJSON prints of
 * them, byte for byte, however they were written (a new profile's are
 * written without a tree, a known one's printed from one), and its
 * indexed attributes (the columns the segments read) are the current
 * values in them. Returns the number of profiles with attributes. */
static int expect_stored_attributes(th_home *h, const char *name)
{
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/var/dossier.db", h->dir);
	sqlite3 *c = NULL;
	sqlite3_stmt *q = NULL;
	cr_assert_eq(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	static const char sql[] = "SELECT id, attributes,"
		" attr_postcode IS json_extract(attributes, '$.postcode[0].value'),"
		" attr_company IS json_extract(attributes, '$.company[0].value'),"
		" quote(attr_postcode), quote(attr_company) FROM profiles";
	cr_assert_eq(sqlite3_prepare_v2(c, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(c));
	int with_values = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(q, 0);
		const char *stored = (const char *)sqlite3_column_text(q, 1);
		cJSON *parsed = cJSON_Parse(stored);
		char *printed = parsed ? cJSON_PrintUnformatted(parsed) : NULL;
		cr_expect(printed && !strcmp(printed, stored),
			  "%s: profile %lld: attributes %s, printed %s", name, id, stored,
			  printed ? printed : "(not JSON)");
		cr_expect(sqlite3_column_int(q, 2) && sqlite3_column_int(q, 3),
			  "%s: profile %lld: indexed postcode %s and company %s, attributes %s", name,
			  id, sqlite3_column_text(q, 4), sqlite3_column_text(q, 5), stored);
		with_values += cJSON_GetArraySize(parsed) > 0;
		cJSON_free(printed);
		cJSON_Delete(parsed);
	}
	sqlite3_finalize(q);
	sqlite3_close(c);
	return with_values;
}

static void run_case(const char *dir, const char *name)
{
	th_home h;
	th_home_init(&h);
	cJSON *c = th_story_play(&h, EXPECTED, dir, name);

	cJSON *list = th_json(&h, 0, "profile list");
	cJSON *got = cJSON_CreateArray();
	const cJSON *p;
	cJSON_ArrayForEach(p, list)
		cJSON_AddItemToArray(got, th_json(&h, 0, "profile show %.0f", th_num(p, "id")));
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "profiles");
	char *all = text(list);
	cr_expect_eq(cJSON_GetArraySize(got), cJSON_GetArraySize(want),
		     "%s: %d profiles, expected %d: %s", name, cJSON_GetArraySize(got),
		     cJSON_GetArraySize(want), all);
	const cJSON *w;
	cJSON_ArrayForEach(w, want) {
		const cJSON *g = match(got, w);
		char *wt = text(w);
		cr_expect(g, "%s: no profile like %s among %s", name, wt, all);
		free(wt);
		if (g)
			expect_profile(name, g, w);
	}
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(c, "merges");
	if (merges) {
		/* each merge is listed by both profiles: count them once */
		cJSON *seen = cJSON_CreateArray();
		int active = 0, undone = 0;
		cJSON_ArrayForEach(p, got) {
			const cJSON *m;
			cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(p, "merges")) {
				char id[32];
				snprintf(id, sizeof id, "%.0f", th_num(m, "id"));
				if (in_list(seen, id))
					continue;
				cJSON_AddItemToArray(seen, cJSON_CreateString(id));
				if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "undone_at")))
					active++;
				else
					undone++;
			}
		}
		double wa = th_num(merges, "active"), wu = th_num(merges, "undone");
		cr_expect_eq(active, wa, "%s: %d active merges, expected %g", name, active, wa);
		cr_expect_eq(undone, wu, "%s: %d undone merges, expected %g", name, undone, wu);
		cJSON_Delete(seen);
	}
	expect_stored_attributes(&h, name);
	cJSON *rb = th_json(&h, 0, "profile rebuild --check");
	char *diffs = text(cJSON_GetObjectItemCaseSensitive(rb, "differences"));
	cr_expect_eq(th_num(rb, "changed"), 0, "%s: rebuilt traits differ: %s", name, diffs);
	cr_expect_eq(th_num(rb, "profiles"), cJSON_GetArraySize(got));
	free(diffs);
	free(all);
	cJSON_Delete(rb);
	cJSON_Delete(got);
	cJSON_Delete(list);
	cJSON_Delete(c);
	th_home_fini(&h);
}

Test(profiles, fixture_cases)
{
	struct dirent **names;
	th_each_story(CASES, run_case);
	/* and no case without its folder */
	int n = scandir(EXPECTED, &names, th_not_md, alphasort);
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s/%.*s", CASES, (int)strlen(names[i]->d_name) - 5,
			 names[i]->d_name);
		cr_expect(access(dir, X_OK) == 0, "%s/%s has no folder %s", EXPECTED,
			  names[i]->d_name, dir);
		free(names[i]);
	}
	free(names);
}

/* Every fixture of every channel, offers moved on by events and timers:
 * the traits kept as things happen are those computed again from the
 * cases and records. */
Test(profiles, rebuild_agrees_on_every_fixture)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL, *err = NULL;
	int rc = th_run(&h, &out, &err, "--now 2026-11-24T09:00:00Z ingest fixtures/offers "
			"fixtures/orders fixtures/xml fixtures/forms fixtures/email");
	cr_assert_eq(rc, 3, "ingest: exit %d: %s", rc, err);
	free(out);
	free(err);
	static const char *const events[][3] = {
		{ "DEV-2026-0001", "send", "sales" }, { "DEV-2026-0001", "accept", "sales" },
		{ "DEV-2026-0011", "send", "sales" }, { "DEV-2026-0011", "reject", "sales" },
		{ "DEV-2026-0007", "send", "sales" }, { "CMD-2026-0002", "cancel", "sales" },
		{ "CMD-2026-0101", "confirm", "sales" },
	};
	for (size_t i = 0; i < sizeof events / sizeof *events; i++)
		cJSON_Delete(th_json(&h, 0, "--now 2026-11-25T10:00:00Z case event %s %s --role %s",
				     events[i][0], events[i][1], events[i][2]));
	cJSON_Delete(th_json(&h, 0, "--now 2026-12-04T09:00:00Z tick"));
	cJSON *list = th_json(&h, 0, "profile list");
	double orders = 0, sent = 0, complaints = 0, consents = 0, tags = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, list) {
		cJSON *d = th_json(&h, 0, "profile show %.0f", th_num(p, "id"));
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "traits");
		orders += th_num(t, "orders_count");
		sent += th_num(t, "offers_sent");
		complaints += th_num(t, "open_complaints");
		consents += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "consent_history"));
		tags += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "tags"));
		cJSON_Delete(d);
	}
	/* the fixtures feed every kind of trait: the comparison below means
	 * something */
	cr_expect_gt(orders, 15);
	cr_expect_eq(sent, 3);
	cr_expect_gt(complaints, 5);
	cr_expect_gt(consents, 10);
	cr_expect_gt(tags, 5);
	cJSON *rb = th_json(&h, 0, "profile rebuild --check");
	char *diffs = text(cJSON_GetObjectItemCaseSensitive(rb, "differences"));
	cr_expect_eq(th_num(rb, "changed"), 0, "rebuilt traits differ: %s", diffs);
	cr_expect_eq(th_num(rb, "profiles"), cJSON_GetArraySize(list));
	free(diffs);
	cJSON_Delete(rb);
	cJSON_Delete(list);
	cr_expect_gt(expect_stored_attributes(&h, "every fixture"), 10);
	th_home_fini(&h);
}

Test(profiles, commands_answer_as_the_specification_says)
{
	th_home h;
	th_home_init(&h);
	char *err = NULL;
	static const char *const subs[] = { "show", "list", "merge", "unmerge", "rebuild",
					    "export", "forget" };
	th_expect_help(&h, "profile", "unmerge", subs, sizeof subs / sizeof *subs);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile show"), 2);
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T09:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0011.json fixtures/offers/DEV-2026-0042.json "
			    "fixtures/forms/contact-helene-dupre.form"), 0, "%s", err);
	free(err);
	/* by id, email (as written anywhere), phone */
	cJSON *d = th_json(&h, 0, "profile show ' HELENE.Dupre@example.fr'");
	static const char *const keys[] = { "id", "emails", "phones", "attributes", "consent",
					    "traits", "tags" };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		cr_expect(cJSON_GetObjectItemCaseSensitive(d, keys[i]), "no key %s", keys[i]);
	double id = th_num(d, "id");
	cJSON *byphone = th_json(&h, 0, "profile show +33612345678");
	cr_expect_eq(th_num(byphone, "id"), id);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "consent"),
						 "marketing"), "email");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "granted")));
	cr_expect_eq(th_num(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "attributes"), "name"), "trust"), 2,
		     "the offers' name, not the form's");
	cJSON_Delete(byphone);
	cJSON_Delete(d);
	/* not found: 5; a profile merged into none cannot be unmerged: 4 */
	cr_expect_eq(th_run(&h, NULL, &err, "profile show nobody@example.fr"), 5);
	cr_expect(strstr(err, "no profile holds email nobody@example.fr"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile show 99"), 5);
	cr_expect_eq(th_run(&h, NULL, &err, "profile unmerge %.0f", id), 4);
	cr_expect(strstr(err, "is not merged into another"), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile unmerge someone"), 2);
	/* by hand: merged and undone */
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T10:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0007.json"), 0, "%s", err);
	free(err);
	cJSON *m = th_json(&h, 0, "profile merge helene.dupre@example.fr loic.kerjean@example.fr");
	cr_expect_eq(th_num(m, "survivor"), id);
	cJSON *merged = th_json(&h, 0, "profile show %.0f", th_num(m, "merged"));
	cr_expect_eq(th_num(merged, "id"), id, "a merged profile shows the one it is in");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(merged, "emails")), 2);
	cr_expect_eq(th_run(&h, NULL, NULL, "profile merge %.0f %.0f", id, th_num(m, "merged")), 4);
	cJSON *u = th_json(&h, 0, "profile unmerge %.0f", th_num(m, "merged"));
	cr_expect_eq(th_num(u, "id"), th_num(m, "id"));
	cJSON *back = th_json(&h, 0, "profile show loic.kerjean@example.fr");
	cr_expect_eq(th_num(back, "id"), th_num(m, "merged"));
	cJSON_Delete(back);
	cJSON_Delete(u);
	cJSON_Delete(merged);
	cJSON_Delete(m);
	th_home_fini(&h);
}

/* A contact form granting consent on the 10th is quarantined (the
 * configuration refused it), a withdrawal arrives on the 20th, and the
 * form is replayed on the 25th once the configuration is fixed: it counts
 * at the time it was received, so the withdrawal stands. */
Test(profiles, a_replayed_grant_counts_when_it_was_received)
{
	th_home h;
	th_home_init(&h);
	char schema[PATH_MAX + 64], cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "rm '%s/schemas' && cp -r '%s/schemas' '%s/schemas'", h.dir,
		 h.repo, h.dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(schema, sizeof schema, "%s/schemas/records/lead.schema.json", h.dir);
	/* a configuration that wants messages of at most 3 characters */
	snprintf(cmd, sizeof cmd, "sed -i 's/\"maxLength\": 5000/\"maxLength\": 3/' '%s'", schema);
	cr_assert_eq(system(cmd), 0);
	char *err = NULL;
	const char *dir = "fixtures/profiles/consent-older-grant-after-withdrawal";
	cr_expect_eq(th_run(&h, NULL, &err, "--now 2026-11-10T09:00:00Z ingest %s/01-grant.form", dir),
		     3, "%s", err);
	free(err);
	snprintf(cmd, sizeof cmd, "cp '%s/schemas/records/lead.schema.json' '%s'", h.repo, schema);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-20T09:00:00Z ingest %s/02-withdraw.form",
			    dir), 0, "%s", err);
	free(err);
	cJSON *r = th_json(&h, 0, "--now 2026-11-25T09:00:00Z quarantine replay --all");
	cr_expect_eq(th_num(r, "passed"), 1);
	cJSON *p = th_json(&h, 0, "profile show emma.leroy@example.fr");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "consent"),
						 "marketing"), "email");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "granted")));
	cr_expect_str_eq(th_str(c, "at"), "2026-11-20T09:00:00Z");
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(p, "consent_history");
	cr_assert_eq(cJSON_GetArraySize(hist), 2);
	cr_expect_str_eq(th_str(cJSON_GetArrayItem(hist, 0), "at"), "2026-11-10T09:00:00Z");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(hist, 0),
								"granted")));
	cJSON_Delete(p);
	cJSON_Delete(r);
	th_home_fini(&h);
}

/* Runs one SQL statement on the home's store, as a hand or a bug might. */
static void tamper(th_home *h, const char *sql)
{
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/var/dossier.db", h->dir);
	sqlite3 *c = NULL;
	cr_assert_eq(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(c, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(c));
	sqlite3_close(c);
}

/* `rebuild --check` fails (3, as validate does for invalid documents)
 * when stored values differ from those computed again, says which, and
 * stores nothing; `rebuild` stores them, after which the check passes. */
Test(profiles, a_check_that_finds_differences_exits_3)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL, *err = NULL;
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T09:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0011.json fixtures/offers/DEV-2026-0007.json"), 0,
		     "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, &out, NULL, "profile rebuild --check"), 0, "%s", out);
	free(out);
	cJSON *p = th_json(&h, 0, "profile show helene.dupre@example.fr");
	double id = th_num(p, "id");
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE profiles SET offers_sent = offers_sent + 5 WHERE id = %.0f",
		 id);
	tamper(&h, sql);
	/* text: the profile and its traits, stored and rebuilt */
	cr_expect_eq(th_run(&h, &out, NULL, "profile rebuild --check"), 3);
	char want[64];
	snprintf(want, sizeof want, "profile %.0f: stored {\"offers_sent\":", id);
	cr_expect(strstr(out, want), "%s", out);
	cr_expect(strstr(out, "1 differed"), "%s", out);
	free(out);
	/* --json, and one profile by its email */
	cJSON *rb = th_json(&h, 3, "profile rebuild --check helene.dupre@example.fr");
	cr_expect_eq(th_num(rb, "changed"), 1);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rb, "written")));
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rb, "differences"), 0);
	cr_expect_eq(th_num(d, "id"), id);
	cr_expect_eq(th_num(cJSON_GetObjectItemCaseSensitive(d, "stored"), "offers_sent"),
		     th_num(cJSON_GetObjectItemCaseSensitive(d, "rebuilt"), "offers_sent") + 5);
	cJSON_Delete(rb);
	/* the other customer does not differ; rebuilding stores the values
	 * computed again (0), then the check passes */
	static const struct {
		const char *args;
		double changed;
	} runs[] = {
		{ "--check loic.kerjean@example.fr", 0 }, { "", 1 }, { "--check", 0 },
	};
	for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
		rb = th_json(&h, 0, "profile rebuild %s", runs[i].args);
		cr_expect_eq(th_num(rb, "changed"), runs[i].changed, "rebuild %s", runs[i].args);
		cJSON_Delete(rb);
	}
	cJSON_Delete(p);
	th_home_fini(&h);
}

/* Exit code of `profile ARGS`, and that stderr holds want. */
static void expect_refused(th_home *h, int code, const char *want, const char *args)
{
	char *err = NULL;
	cr_expect_eq(th_run(h, NULL, &err, "%s", args), code, "%s: %s", args, err);
	cr_expect(strstr(err, want), "%s: %s", args, err);
	free(err);
}

/* Whatever names a person for show, export, forget, merge and rebuild:
 * an id (digits without a leading 0), an email as written anywhere, a
 * phone in any form a source reads (a French national number is never
 * taken for an id), KIND:VALUE; what names nobody, or several, or is no
 * reference at all, says so and exits 5. */
Test(profiles, a_person_is_named_by_id_email_phone_or_identity)
{
	th_home h;
	th_home_init(&h);
	char *err = NULL;
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T09:00:00Z ingest "
			    "fixtures/offers/DEV-2026-0011.json fixtures/offers/DEV-2026-0007.json"), 0,
		     "%s", err);
	free(err);
	cr_assert_eq(th_run(&h, NULL, &err, "--now 2026-11-24T10:00:00Z ingest "
			    "fixtures/profiles/no-merge-weak-phone/01-contact-mother.form "
			    "fixtures/profiles/no-merge-weak-phone/02-contact-son.form"), 0, "%s", err);
	free(err);
	cJSON *d = th_json(&h, 0, "profile show helene.dupre@example.fr");
	double id = th_num(d, "id");
	cJSON_Delete(d);
	static const char *const refs[] = {
		"0612345678", "'06 12 34 56 78'", "06.12.34.56.78", "'+33 6 12 34 56 78'",
		"0033612345678", "+33612345678", "'phone:06 12 34 56 78'", "' Helene.DUPRE@example.fr'",
		"email:helene.dupre@example.fr",
	};
	for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
		d = th_json(&h, 0, "profile show %s", refs[i]);
		cr_expect_eq(th_num(d, "id"), id, "%s", refs[i]);
		cJSON_Delete(d);
		d = th_json(&h, 0, "profile export %s", refs[i]);
		cr_expect_eq(th_num(cJSON_GetObjectItemCaseSensitive(d, "profile"), "id"), id, "%s",
			     refs[i]);
		cJSON_Delete(d);
		d = th_json(&h, 0, "profile rebuild --check %s", refs[i]);
		cr_expect_eq(th_num(d, "profiles"), 1, "%s", refs[i]);
		cJSON_Delete(d);
	}
	char want[64];
	snprintf(want, sizeof want, "forget would erase, for profile %.0f", id);
	expect_refused(&h, 2, want, "profile forget 0612345678");
	/* merged by phone in national form, then unmerged by id */
	cJSON *m = th_json(&h, 0, "profile merge 06.12.34.56.78 0298441020");
	cr_expect_eq(th_num(m, "survivor"), id);
	cJSON_Delete(th_json(&h, 0, "profile unmerge %.0f", th_num(m, "merged")));
	cJSON_Delete(m);
	/* names nobody */
	expect_refused(&h, 5, "no profile holds phone +33699999999", "profile show 0699999999");
	expect_refused(&h, 5, "no profile holds phone +33699999999", "profile export 06-99-99-99-99");
	expect_refused(&h, 5, "no profile holds phone +442079460000",
		       "profile forget '+44 20 7946 0000' --yes");
	expect_refused(&h, 5, "no profile 612345678 (a phone is written with its + or its 0",
		       "profile show 612345678");
	expect_refused(&h, 5, "0612 is no phone number", "profile show 0612");
	expect_refused(&h, 5, "\"Hélène\" names no profile: give a profile id",
		       "profile show Hélène");
	expect_refused(&h, 5, "erp_id is per source: write erp_id:SOURCE:C-501",
		       "profile show erp_id:C-501");
	expect_refused(&h, 5, "no profile holds siret 41876235700006",
		       "profile rebuild siret:41876235700006");
	/* several: a family landline names nobody in particular */
	expect_refused(&h, 5, "phone +33478556677 is held by 2 profiles", "profile show '04 78 55 66 77'");
	expect_refused(&h, 5, "name one by its id", "profile forget 0478556677 --yes");
	th_home_fini(&h);
}

/* A timer moves a case whose traits count its data (an order's money and
 * date; tests/golden/timers/): they count what the case held, neither
 * twice nor not at all. */
Test(profiles, a_timer_counts_what_its_case_held)
{
	th_home h;
	th_home_init(&h);
	th_home_overlay(&h, "tests/golden/timers");
	cJSON_Delete(th_json(&h, 0, "--now 2026-11-24T09:00:00Z ingest fixtures/orders/CMD-2026-0001.json"));
	cr_assert_eq(th_run(&h, NULL, NULL, "--now 2026-11-25T09:00:00Z case event CMD-2026-0001 confirm --role sales"), 0);
	cr_assert_eq(th_run(&h, NULL, NULL, "--now 2026-11-26T09:00:00Z case event CMD-2026-0001 ship --role technical"), 0);
	cJSON *t = th_json(&h, 0, "--now 2027-01-04T09:00:00Z tick");
	cr_expect_eq(th_num(t, "fired"), 1);
	cJSON_Delete(t);
	cr_expect_str_eq(th_state(&h, "CMD-2026-0001"), "closed");
	cJSON *p = th_json(&h, 0, "profile show francois.lefevre@example.fr");
	const cJSON *traits = cJSON_GetObjectItemCaseSensitive(p, "traits");
	char *all = text(traits);
	cr_expect_eq(th_num(traits, "orders_count"), 1, "%s", all);
	cr_expect_str_eq(th_str(traits, "total_spent"), "8140.00", "%s", all);
	free(all);
	cJSON_Delete(p);
	cJSON *rb = th_json(&h, 0, "profile rebuild --check");
	char *diffs = text(cJSON_GetObjectItemCaseSensitive(rb, "differences"));
	cr_expect_eq(th_num(rb, "changed"), 0, "rebuilt traits differ: %s", diffs);
	free(diffs);
	cJSON_Delete(rb);
	th_home_fini(&h);
}
