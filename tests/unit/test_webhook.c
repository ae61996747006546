/*
 * test_webhook.c - Standard Webhooks signatures and HMAC-SHA256 against the
 * shared corpus: the Standard Webhooks vectors (sign, sign errors, secret
 * errors, verify with their fixed "now" and 300 s tolerance) and
 * Wycheproof's HMAC-SHA256 vectors (tags truncated to tagSize bits); then
 * base64 edge cases. The corpus files are read in place from the
 * repository root, where the tests run.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "webhook.h"

#define SW "../shared/corpus/webhooks/standard-webhooks-vectors.visible.json"
#define WYCHE "../shared/corpus/webhooks/wycheproof/hmac_sha256_test.json"

static cJSON *load(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	cJSON *doc = cJSON_Parse(buf);
	cr_assert(doc, "%s is not JSON", path);
	return doc;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(webhook, standard_webhooks_verify_vectors)
{
	cJSON *doc = load(SW);
	const cJSON *v;
	int n = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "verify")) {
		unsigned char key[DS_WEBHOOK_KEY_MAX];
		size_t keylen;
		ds_err err = {0};
		cr_assert_eq(ds_webhook_key(str(v, "secret"), key, &keylen, &err), 0, "%s: %s",
			     str(v, "id"), err.msg);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "headers");
		const char *payload = str(v, "payload");
		bool enforce = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "enforce_timestamp"));
		int64_t now = (int64_t)cJSON_GetObjectItemCaseSensitive(v, "now")->valuedouble;
		int rc = ds_webhook_verify(key, keylen, str(h, "webhook-id"),
					   str(h, "webhook-timestamp"), str(h, "webhook-signature"),
					   payload, strlen(payload), now,
					   enforce ? DS_WEBHOOK_TOLERANCE : -1, &err);
		bool valid = !strcmp(str(v, "expected"), "valid");
		if (valid)
			cr_expect_eq(rc, 0, "%s: expected valid, got: %s", str(v, "id"), err.msg);
		else
			cr_expect_eq(rc, DS_EREFUSED, "%s: expected invalid, got %d", str(v, "id"),
				     rc);
		n++;
	}
	cr_assert_eq(n, 19, "the corpus has 19 verify vectors, read %d", n);
	cJSON_Delete(doc);
}

Test(webhook, standard_webhooks_sign_vectors)
{
	cJSON *doc = load(SW);
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "sign")) {
		unsigned char key[DS_WEBHOOK_KEY_MAX];
		size_t keylen;
		ds_err err = {0};
		cr_assert_eq(ds_webhook_key(str(v, "secret"), key, &keylen, &err), 0);
		char ts[32], sig[80];
		snprintf(ts, sizeof ts, "%.0f",
			 cJSON_GetObjectItemCaseSensitive(v, "timestamp")->valuedouble);
		const char *payload = str(v, "payload");
		cr_assert_eq(ds_webhook_sign(key, keylen, str(v, "msg_id"), ts, payload,
					     strlen(payload), sig, sizeof sig, &err), 0, "%s", err.msg);
		cr_expect_str_eq(sig, str(v, "expected_signature"));
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "sign_errors")) {
		unsigned char key[DS_WEBHOOK_KEY_MAX];
		size_t keylen;
		cr_assert_eq(ds_webhook_key(str(v, "secret"), key, &keylen, NULL), 0);
		char sig[80];
		const char *payload = str(v, "payload");
		cr_expect_eq(ds_webhook_sign(key, keylen, str(v, "msg_id"), str(v, "timestamp"),
					     payload, strlen(payload), sig, sizeof sig, NULL),
			     DS_EINVAL, "%s: a bad timestamp must be refused", str(v, "id"));
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "secret_errors")) {
		unsigned char key[DS_WEBHOOK_KEY_MAX];
		size_t keylen;
		cr_expect_eq(ds_webhook_key(str(v, "secret"), key, &keylen, NULL), DS_EINVAL,
			     "secret \"%s\" must be refused", str(v, "secret"));
	}
	cJSON_Delete(doc);
}

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
	size_t n = strlen(h) / 2;
	cr_assert_leq(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	return n;
}

Test(webhook, wycheproof_hmac_sha256)
{
	cJSON *doc = load(WYCHE);
	const cJSON *g, *t;
	int n = 0, valid = 0;
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "testGroups")) {
		size_t tag_bytes =
			(size_t)cJSON_GetObjectItemCaseSensitive(g, "tagSize")->valuedouble / 8;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g, "tests")) {
			static unsigned char key[4096], msg[65536], tag[64];
			size_t kl = unhex(str(t, "key"), key, sizeof key);
			size_t ml = unhex(str(t, "msg"), msg, sizeof msg);
			size_t tl = unhex(str(t, "tag"), tag, sizeof tag);
			unsigned char mac[32];
			const void *parts[] = { msg };
			cr_assert_eq(ds_hmac_sha256(key, kl, parts, &ml, 1, mac), 0);
			bool match = tl == tag_bytes && ds_equal_ct(mac, tag, tag_bytes);
			bool want = !strcmp(str(t, "result"), "valid");
			cr_expect_eq(match, want, "tcId %d (%s): expected %s",
				     (int)cJSON_GetObjectItemCaseSensitive(t, "tcId")->valuedouble,
				     str(t, "comment"), str(t, "result"));
			n++;
			valid += want;
		}
	}
	cr_assert_eq(n, 174, "the corpus has 174 vectors, read %d", n);
	cr_assert_gt(valid, 0);
	cJSON_Delete(doc);
}

Test(webhook, base64_edges)
{
	unsigned char out[8];
	cr_expect_eq(ds_base64_decode("", 0, out, sizeof out), 0);
	cr_expect_eq(ds_base64_decode("TWE=", 4, out, sizeof out), 2);
	cr_expect_eq(ds_base64_decode("TWE", 3, out, sizeof out), 2);
	cr_expect_eq(memcmp(out, "Ma", 2), 0);
	cr_expect_eq(ds_base64_decode("T", 1, out, sizeof out), -1);
	cr_expect_eq(ds_base64_decode("TW=E", 4, out, sizeof out), -1);
	cr_expect_eq(ds_base64_decode("TWE*", 4, out, sizeof out), -1);
	cr_expect_eq(ds_base64_decode("TWFuTWFuTWFu", 12, out, sizeof out), -1, "over cap");
}

Test(webhook, refusals_name_the_header)
{
	unsigned char key[DS_WEBHOOK_KEY_MAX];
	size_t keylen;
	ds_err err = {0};
	cr_assert_eq(ds_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &keylen, &err), 0);
	char sig[80];
	cr_assert_eq(ds_webhook_sign(key, keylen, "msg_1", "1000", "{}", 2, sig, sizeof sig, &err),
		     0);
	cr_expect_eq(ds_webhook_verify(key, keylen, "msg_1", "1000", sig, "{}", 2, 1000, 300, &err),
		     0);
	cr_expect_eq(ds_webhook_verify(key, keylen, "msg_1", "1000", sig, "{ }", 3, 1000, 300,
				       &err), DS_EREFUSED, "a tampered body");
	cr_expect(strstr(err.msg, "no webhook signature matches"), "%s", err.msg);
	cr_expect_eq(ds_webhook_verify(key, keylen, "msg_2", "1000", sig, "{}", 2, 1000, 300, &err),
		     DS_EREFUSED, "another message id");
	cr_expect_eq(ds_webhook_verify(key, keylen, "msg_1", "1000", sig, "{}", 2, 1301, 300, &err),
		     DS_EREFUSED, "stale");
	cr_expect(strstr(err.msg, "tolerance"), "%s", err.msg);
	cr_expect_eq(ds_webhook_verify(key, keylen, "msg_1", "1000", "v2,abc", "{}", 2, 1000, 300,
				       &err), DS_EREFUSED);
	cr_expect(strstr(err.msg, "no v1"), "%s", err.msg);
}
