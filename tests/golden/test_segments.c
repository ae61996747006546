/*
 * test_segments.c - the reference segments of schemas/segments/ on the
 * stories of fixtures/segments/: each folder holds inputs, and
 * fixtures/expected/segments/FOLDER.json the story:
 *
 *   {"description": "...", "now": "2026-11-24T09:00:00Z",
 *    "steps": [{"now": "...", "ingest": "01-offer.json"},
 *              {"now": "...", "event": "DEV-2026-0801", "name": "reject",
 *               "role": "sales"}],
 *    "segments": {"offer-rejected-recently": {"matched": 3, "exported": 1,
 *                  "emails": ["alice.martin@example.fr"],
 *                  "csv": "FOLDER.SEGMENT.csv"}}}
 *
 * After the steps, at "now", `segment count` must give the numbers (and
 * excluded_consent their difference), the NDJSON export exactly the
 * profiles listed (by their email column), and `segment export --out`
 * the bytes of the expected CSV when one is named. A new story is a new
 * folder and no new code. The commands' answers (help, exit codes) and
 * the plans of the reference segments are checked too.
 */
#include "helpers.h"

#include <sqlite3.h>

#define CASES "fixtures/segments"
#define EXPECTED "fixtures/expected/segments"

static bool listed(const cJSON *list, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (!strcmp(it->valuestring, s))
			return true;
	return false;
}

static void expect_segment(th_home *h, const char *story, const char *now, const cJSON *want)
{
	const char *seg = want->string;
	cJSON *count = th_json(h, 0, "--now %s segment count %s", now, seg);
	double matched = th_num(want, "matched"), exported = th_num(want, "exported");
	cr_expect_eq(th_num(count, "matched"), matched, "%s: %s matched %g, expected %g", story,
		     seg, th_num(count, "matched"), matched);
	cr_expect_eq(th_num(count, "exported"), exported, "%s: %s exported %g, expected %g",
		     story, seg, th_num(count, "exported"), exported);
	cr_expect_eq(th_num(count, "excluded_consent"), matched - exported, "%s: %s", story, seg);
	cJSON_Delete(count);

	char *out = NULL, *err = NULL;
	int rc = th_run(h, &out, &err, "--now %s segment export %s --format ndjson", now, seg);
	cr_assert_eq(rc, 0, "%s: export %s: exit %d: %s", story, seg, rc, err);
	cJSON *got = th_ndjson_column(out, "email"), *emails = cJSON_GetObjectItemCaseSensitive(want, "emails");
	char *g = cJSON_PrintUnformatted(got);
	cr_expect_eq(cJSON_GetArraySize(got), cJSON_GetArraySize(emails), "%s: %s exported %s",
		     story, seg, g);
	const cJSON *e;
	cJSON_ArrayForEach(e, emails)
		cr_expect(listed(got, e->valuestring), "%s: %s did not export %s: %s", story, seg,
			  e->valuestring, g);
	cr_expect_eq(cJSON_GetArraySize(got), exported, "%s: %s", story, seg);
	cJSON_free(g);
	cJSON_Delete(got);
	free(out);
	free(err);

	const cJSON *csv = cJSON_GetObjectItemCaseSensitive(want, "csv");
	if (!csv)
		return;
	char path[PATH_MAX + 32], expected[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.csv", h->dir, seg);
	snprintf(expected, sizeof expected, "%s/%s", EXPECTED, csv->valuestring);
	cJSON *sum = th_json(h, 0, "--now %s segment export %s --out '%s'", now, seg, path);
	cr_expect_eq(th_num(sum, "exported"), exported);
	cr_expect_str_eq(th_str(sum, "path"), path);
	cJSON_Delete(sum);
	size_t ng, nw;
	char *gb = th_slurp(path, &ng), *wb = th_slurp(expected, &nw);
	cr_expect(ng == nw && !memcmp(gb, wb, ng), "%s: %s: the CSV differs from %s:\n%s", story,
		  seg, expected, gb);
	free(gb);
	free(wb);
}

static void run_story(const char *dir, const char *name)
{
	th_home h;
	th_home_init(&h);
	cJSON *c = th_story_play(&h, EXPECTED, dir, name);
	const cJSON *seg;
	size_t n = 0;
	cJSON_ArrayForEach(seg, cJSON_GetObjectItemCaseSensitive(c, "segments")) {
		expect_segment(&h, name, th_str(c, "now"), seg);
		n++;
	}
	cr_expect_gt(n, 0, "%s: no segment to check", name);
	/* what the segments read was kept as things happened */
	cJSON *rb = th_json(&h, 0, "profile rebuild --check");
	cr_expect_eq(th_num(rb, "changed"), 0, "%s: a rebuild differs", name);
	cJSON_Delete(rb);
	th_home_fini(&h);
	cJSON_Delete(c);
}

Test(segments, reference_segments_on_the_stories)
{
	th_each_story(CASES, run_story);
}

/* Each reference segment's count starts from an index and reads no table
 * row it need not: no full scan of the profiles. */
Test(segments, the_reference_segments_are_searched_by_index)
{
	th_home h;
	th_home_init(&h);
	cJSON *list = th_json(&h, 0, "segment list");
	cr_assert_eq(cJSON_GetArraySize(list), 4);
	const cJSON *s;
	cJSON_ArrayForEach(s, list) {
		for (int export = 0; export < 2; export++) {
			cJSON *x = th_json(&h, 0, "segment explain %s%s", th_str(s, "name"),
					   export ? " --export" : "");
			const cJSON *step;
			bool searched = false;
			cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(x, "plan")) {
				const char *t = step->valuestring;
				cr_expect(!strstr(t, "SCAN p") && !strstr(t, "SCAN profiles"),
					  "%s: %s", th_str(s, "name"), t);
				searched = searched || strstr(t, "SEARCH");
			}
			cr_expect(searched, "%s: no index search", th_str(s, "name"));
			cJSON_Delete(x);
		}
	}
	cJSON_Delete(list);
	th_home_fini(&h);
}

/* A segment requiring two tags (serviced-with-need) reads the holders of
 * the first, in the order of their ids, and looks the second up among its
 * own holders (tags_profile), not in the primary key, where one tag's
 * entries are spread over the whole table. */
Test(segments, a_second_tag_is_looked_up_among_its_holders)
{
	th_home h;
	th_home_init(&h);
	for (int export = 0; export < 2; export++) {
		cJSON *x = th_json(&h, 0, "segment explain serviced-with-need%s",
				   export ? " --export" : "");
		const cJSON *step;
		int x0 = 0, x1 = 0;
		cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(x, "plan")) {
			const char *t = step->valuestring;
			x0 += strstr(t, "SEARCH x0 USING COVERING INDEX tags_profile (tag=? AND "
					"present=?)") != NULL;
			x1 += strstr(t, "SEARCH x1 USING COVERING INDEX tags_profile (tag=? AND "
					"present=? AND profile_id=?)") != NULL;
		}
		char *plan = cJSON_Print(cJSON_GetObjectItemCaseSensitive(x, "plan"));
		cr_expect(x0 == 1 && x1 == 1, "%s", plan);
		free(plan);
		cJSON_Delete(x);
	}
	th_home_fini(&h);
}

Test(segments, commands_answer_as_the_specification_says)
{
	th_home h;
	th_home_init(&h);
	char *out = NULL, *err = NULL;
	static const char *const subs[] = { "list", "count", "export", "explain" };
	th_expect_help(&h, "segment", "export NAME", subs, sizeof subs / sizeof *subs);
	cr_expect_eq(th_run(&h, NULL, NULL, "segment count"), 2);
	cr_expect_eq(th_run(&h, NULL, &err, "segment count nobody"), 5);
	cr_expect(strstr(err, "no segment \"nobody\""), "%s", err);
	free(err);
	cr_expect_eq(th_run(&h, NULL, &err, "segment export no-order-12-months --format xml"), 2);
	cr_expect(strstr(err, "csv or ndjson"), "%s", err);
	free(err);
	/* An empty store: a header row, no profile; the keys SPEC names. */
	cr_expect_eq(th_run(&h, &out, NULL, "segment export no-order-12-months"), 0);
	cr_expect_str_eq(out, "email,name,company,last_order_at,orders,total_spent\r\n");
	free(out);
	cJSON *c = th_json(&h, 0, "segment count b2b-ile-de-france");
	static const char *const keys[] = { "matched", "exported", "excluded_consent" };
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(th_num(c, keys[i]), 0, "%s", keys[i]);
	cJSON_Delete(c);
	/* A file that cannot be written: nothing left behind, exit 1. */
	cr_expect_eq(th_run(&h, NULL, &err, "segment export b2b-ile-de-france --out "
			    "/nonexistent/dir/x.csv"), 1);
	cr_expect(strstr(err, "cannot write"), "%s", err);
	free(err);
	th_home_fini(&h);
}

static int64_t sql_int(sqlite3 *db, const char *q)
{
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK, "%s: %s", q,
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", q);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A store made before the indexed attributes were columns of their own
 * (version 9: generated columns, and an index of the current consent by
 * purpose and channel) is brought up to date when opened: the columns
 * hold the attributes' current values, the segments count as before. */
Test(segments, a_store_of_version_9_is_brought_up_to_date)
{
	th_home h;
	th_home_init(&h);
	/* some of the fixtures are refused (exit 3): the others make profiles */
	cJSON_Delete(th_json(&h, 3, "--now 2026-11-24T09:00:00Z ingest fixtures/forms fixtures/xml"
			     " fixtures/orders"));
	cJSON *before = th_json(&h, 0, "--now 2026-11-24T09:00:00Z segment count b2b-ile-de-france");
	cr_assert_gt(th_num(before, "matched"), 0);
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/var/dossier.db", h.dir);
	sqlite3 *c = NULL;
	cr_assert_eq(sqlite3_open(db, &c), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(c, "DROP INDEX profiles_postcode;"
		     "ALTER TABLE profiles DROP COLUMN attr_company;"
		     "ALTER TABLE profiles DROP COLUMN attr_postcode;"
		     "ALTER TABLE profiles ADD COLUMN attr_postcode TEXT GENERATED ALWAYS AS"
		     " (json_extract(attributes, '$.postcode[0].value')) VIRTUAL;"
		     "ALTER TABLE profiles ADD COLUMN attr_company TEXT GENERATED ALWAYS AS"
		     " (json_extract(attributes, '$.company[0].value')) VIRTUAL;"
		     "CREATE INDEX profiles_postcode ON profiles(attr_postcode, attr_company,"
		     " consent_mask, merged_into);"
		     "CREATE INDEX consent_granted ON consent(purpose, channel, granted);"
		     "PRAGMA user_version = 9;", NULL, NULL, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(c));
	sqlite3_close(c);
	cJSON *after = th_json(&h, 0, "--now 2026-11-24T09:00:00Z segment count b2b-ile-de-france");
	cr_expect_eq(th_num(after, "matched"), th_num(before, "matched"));
	cr_expect_eq(th_num(after, "exported"), th_num(before, "exported"));
	cr_assert_eq(sqlite3_open(db, &c), SQLITE_OK);
	cr_expect_eq(sql_int(c, "PRAGMA user_version"), 10);
	cr_expect_eq(sql_int(c, "SELECT count(*) FROM pragma_table_xinfo('profiles')"
			     " WHERE name IN ('attr_postcode', 'attr_company') AND hidden = 0"), 2,
		     "the indexed attributes are plain columns");
	cr_expect_eq(sql_int(c, "SELECT count(*) FROM sqlite_schema"
			     " WHERE name = 'consent_granted'"), 0);
	cr_expect_gt(sql_int(c, "SELECT count(*) FROM profiles WHERE attr_postcode IS NOT NULL"), 10);
	cr_expect_eq(sql_int(c, "SELECT count(*) FROM profiles WHERE"
			     " attr_postcode IS NOT json_extract(attributes, '$.postcode[0].value')"
			     " OR attr_company IS NOT json_extract(attributes, '$.company[0].value')"), 0);
	sqlite3_close(c);
	cJSON_Delete(before);
	cJSON_Delete(after);
	th_home_fini(&h);
}
