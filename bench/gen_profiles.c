/*
 * gen_profiles.c - a profile store of N customers for the segment
 * benchmarks, written fast and through the code the ingest runs.
 *
 *   gen_profiles HOME N SEED
 *
 * HOME holds schemas/ (a link to the repository's); the store is the
 * default one under it. Two phases, each timed:
 *
 * 1. Upserts. N contact requests of N distinct people, then N / 5 more
 *    from people already known (a changed postcode, a new consent
 *    statement), each a `lead` record handed to ds_profile_record, the
 *    profile stage's own function, as the chain hands it after the
 *    advance stage: identities found or created (email, and a phone for
 *    half of them), attributes (name, company for 30 %, postcode) with
 *    their provenance, consent to marketing by email (stated by 70 %,
 *    granted by 85 % of those), interests (10 %), the timeline entry.
 *    Records go in transactions of the home's batch_size (dossier.json),
 *    as ingest commits its batches, in the store its dossier.json names
 *    (a page cache of its size: "sqlite:var/dossier.db?cache_mib=256").
 *    No raw input is parsed or stored and no case is moved: this measures
 *    the profile store, which ingest's figures include.
 * 2. What cases would have left, through the store's API: traits for the
 *    45 % who ordered (a last order within twelve months for 70 % of them,
 *    within three years for the others), offers sent and rejected, and the
 *    tags transitions set (offer_rejected for 8 %, at a time within two
 *    years; equipment_serviced for 10 %; need_spotted, open for weeks
 *    until sales win or lose it, for 8 % of those and 0.2 % of the others;
 *    customer for those who ordered).
 *
 * The data depend only on N and SEED (own PRNG). On success one line goes
 * to stdout:
 *
 *   records=R new=P upsert_s=S upserts_per_s=U traits_s=T profiles=P
 *
 * Exit codes: 0 done, 1 failure (the message on stderr), 2 usage.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "mem.h"
#include "procver.h"
#include "profile.h"
#include "store.h"

#define NOW 1795510800 /* 2026-11-24T09:00:00Z */
#define DAY 86400

static uint64_t state;

static uint32_t rnd(uint32_t n)
{
	state = state * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)((state >> 33) % n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const ds_err *err)
{
	fprintf(stderr, "gen_profiles: %s: %s\n", what, err->msg);
	return 1;
}

static const char *const first[] = { "Hélène", "Jean", "Chloé", "Loïc", "Agnès", "Théo",
				     "Inès", "Raphaël", "Zoë", "François", "Maëlle", "Noël" };
static const char *const last[] = { "Dupré", "Martin", "Lefèvre", "Kerjean", "Béguin",
				    "Garçon", "Müller", "Lemaître", "Château", "Prévôt" };
static const char *const trades[] = { "Boulangerie", "Menuiserie", "Cabinet", "Atelier",
				      "Garage", "Pharmacie", "Hôtel", "Syndic" };
static const char *const wants[] = { "climatisation", "pompe à chaleur", "chaudière",
				     "radiateurs", "entretien" };

/* A postcode: Île-de-France for about a fifth of the people, as its share
 * of the population, the other départements evenly. */
static void postcode(char out[8])
{
	static const int idf[] = { 75, 77, 78, 91, 92, 93, 94, 95 };
	int dep;
	if (rnd(100) < 19)
		dep = idf[rnd(8)];
	else
		do
			dep = 1 + (int)rnd(95);
		while (dep == 20 || dep == 75 || dep == 77 || dep == 78 || dep >= 91);
	snprintf(out, 8, "%02d%03u", dep, rnd(1000));
}

/* Person i's contact request; again: a known person writing once more. */
static cJSON *lead(uint64_t i, bool again)
{
	char buf[128], pc[8];
	cJSON *r = cJSON_CreateObject();
	snprintf(buf, sizeof buf, "LEAD-%016" PRIX64, i * 2654435761u + (again ? 1 : 0));
	cJSON_AddStringToObject(r, "reference", buf);
	snprintf(buf, sizeof buf, "%s %s", first[i % 12], last[(i / 12) % 10]);
	cJSON_AddStringToObject(r, "name", buf);
	snprintf(buf, sizeof buf, "client%" PRIu64 "@example.fr", i);
	cJSON_AddStringToObject(r, "email", buf);
	if (i % 2) {
		snprintf(buf, sizeof buf, "+336%08" PRIu64, i % 100000000);
		cJSON_AddStringToObject(r, "phone", buf);
	}
	if (i % 10 < 3) {
		snprintf(buf, sizeof buf, "%s %s", trades[i % 8], last[(i / 8) % 10]);
		cJSON_AddStringToObject(r, "company", buf);
	}
	postcode(pc);
	cJSON_AddStringToObject(r, "postcode", pc);
	cJSON_AddStringToObject(r, "message", "Bonjour, merci de me recontacter.");
	uint32_t c = rnd(100);
	if (c < 70)
		cJSON_AddBoolToObject(r, "consent_marketing", c < 60);
	if (rnd(10) == 0) {
		cJSON *list = cJSON_AddArrayToObject(r, "interests");
		cJSON_AddItemToArray(list, cJSON_CreateString(wants[rnd(5)]));
	}
	return r;
}

/* Phase 1: n people, then n / 5 of them again; returns the records. */
static int upserts(ds_runtime *rt, uint64_t n, uint64_t *records, ds_err *err)
{
	const uint64_t batch = rt->cfg->batch_size;
	ds_arena *a = ds_arena_new(64 * 1024);
	uint64_t total = n + n / 5, done = 0;
	int rc = a ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
	while (!rc && done < total) {
		if ((rc = ds_store_begin(rt->store, err)))
			break;
		for (uint64_t k = 0; k < batch && done < total && !rc; k++, done++) {
			bool again = done >= n;
			uint64_t person = again ? (uint64_t)rnd((uint32_t)n) : done;
			cJSON *r = lead(person, again);
			ds_profile_input in = {
				.record_type = "lead",
				.record = r,
				.record_id = (int64_t)done + 1,
				.interaction_id = (int64_t)done + 1,
				.source = "web-contact",
				.at = NOW - 800 * DAY + (ds_time)done,
			};
			int64_t pid;
			rt->now = in.at;
			rc = ds_profile_record(rt, a, &in, &pid, err);
			cJSON_Delete(r);
			ds_arena_reset(a);
		}
		if (rc)
			ds_store_rollback(rt->store);
		else
			rc = ds_store_commit(rt->store, err);
	}
	ds_arena_free(a);
	*records = done;
	return rc;
}

/* Phase 2: what the cases of profile pid would have left. */
static int history(ds_store *s, int64_t pid, ds_err *err)
{
	ds_traits t;
	memset(&t, 0, sizeof t);
	t.v[DS_TRAIT_LAST_INTERACTION_AT] = NOW - (ds_time)rnd(800) * DAY;
	bool ordered = rnd(100) < 45;
	if (ordered) {
		int64_t back = rnd(10) < 7 ? rnd(365) : 366 + rnd(730);
		int y, m, d;
		ds_civil_from_days(NOW / DAY - back, &y, &m, &d);
		t.v[DS_TRAIT_ORDERS_COUNT] = 1 + rnd(5);
		t.v[DS_TRAIT_TOTAL_SPENT] = 10000 + (int64_t)rnd(2000000);
		t.v[DS_TRAIT_LAST_ORDER_AT] = (int64_t)y * 10000 + m * 100 + d;
	}
	bool rejected = rnd(100) < 8;
	t.v[DS_TRAIT_OFFERS_SENT] = rnd(3) + rejected;
	t.v[DS_TRAIT_OFFERS_REJECTED] = rejected;
	int rc = ds_store_profile_update(s, pid, NULL, NULL, NULL, &t, false, NOW, err);
	/* Needs stay open a few weeks (sales win or lose them): a few of the
	 * customers serviced, fewer of the others. */
	bool serviced = rnd(100) < 10;
	bool need = serviced ? rnd(100) < 8 : rnd(1000) < 2;
	const struct {
		bool on;
		const char *tag;
		ds_time at;
	} tags[] = {
		{ rejected, "offer_rejected", NOW - (ds_time)rnd(730 * DAY) },
		{ serviced, "equipment_serviced", NOW - (ds_time)rnd(400 * DAY) },
		{ need, "need_spotted", NOW - (ds_time)rnd(60 * DAY) },
		{ ordered, "customer", NOW - (ds_time)rnd(900 * DAY) },
	};
	for (size_t k = 0; k < sizeof tags / sizeof *tags && !rc; k++) {
		if (!tags[k].on)
			continue;
		ds_tag_row r = { .profile_id = pid, .tag = tags[k].tag, .present = true,
				 .at = tags[k].at, .case_id = pid, .audit_id = pid * 8 + (int64_t)k };
		rc = ds_store_tag_put(s, &r, err);
	}
	return rc;
}

static int histories(ds_store *s, int64_t count, size_t batch, ds_err *err)
{
	int rc = DS_OK;
	for (int64_t pid = 1; pid <= count && !rc;) {
		if ((rc = ds_store_begin(s, err)))
			break;
		for (size_t k = 0; k < batch && pid <= count && !rc; k++, pid++)
			rc = history(s, pid, err);
		if (rc)
			ds_store_rollback(s);
		else
			rc = ds_store_commit(s, err);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 4 || atoll(argv[2]) <= 0) {
		fprintf(stderr, "usage: gen_profiles HOME N SEED\n");
		return 2;
	}
	const char *home = argv[1];
	uint64_t n = (uint64_t)atoll(argv[2]);
	state = (uint64_t)atoll(argv[3]) * 2862933555777941757u + 3037000493u;
	ds_mem_init();
	ds_err err = {0};
	ds_diag diag;
	ds_diag_init(&diag);
	ds_config *cfg = NULL;
	ds_store *store = NULL;
	ds_runtime rt;
	if (ds_config_load(home, &diag, &cfg, &err))
		return die("configuration", &err);
	if (ds_store_open(cfg->store_url, home, &store, &err) ||
	    ds_procver_sync(cfg, store, NOW, NULL, NULL, &diag, &err) ||
	    ds_runtime_init(&rt, cfg, store, NOW, &err))
		return die("store", &err);
	uint64_t records = 0;
	double t0 = now_s();
	if (upserts(&rt, n, &records, &err))
		return die("upserts", &err);
	double t1 = now_s();
	if (histories(store, (int64_t)n, cfg->batch_size, &err))
		return die("traits and tags", &err);
	double t2 = now_s();
	printf("records=%" PRIu64 " new=%" PRIu64 " upsert_s=%.3f upserts_per_s=%.0f traits_s=%.3f "
	       "profiles=%" PRIu64 "\n", records, n, t1 - t0, (double)records / (t1 - t0), t2 - t1,
	       n);
	ds_runtime_fini(&rt);
	ds_store_close(store);
	ds_config_free(cfg);
	ds_diag_free(&diag);
	return 0;
}
