/*
 * webhook.c - Standard Webhooks signatures; see webhook.h.
 *
 * Nothing here allocates beyond libcrypto's MAC context, and every input
 * is bounded: the secret by DS_WEBHOOK_KEY_MAX, each header by
 * DS_WEBHOOK_HEADER_MAX, each signature entry by its decoded size.
 */
#include "webhook.h"

#include "hash.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

bool ds_equal_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int ds_webhook_key(const char *secret, unsigned char *key, size_t *keylen, ds_err *err)
{
	*keylen = 0;
	if (!secret)
		return ds_err_set(err, DS_EINVAL, "no webhook secret");
	if (!strncmp(secret, "whsec_", 6))
		secret += 6;
	size_t n = strnlen(secret, DS_WEBHOOK_KEY_MAX * 2);
	if (!n)
		return ds_err_set(err, DS_EINVAL, "the webhook secret is empty");
	long k = ds_base64_decode(secret, n, key, DS_WEBHOOK_KEY_MAX);
	if (k <= 0 || secret[n])
		return ds_err_set(err, DS_EINVAL,
				  "the webhook secret is not base64 (whsec_ and at most %d bytes)",
				  DS_WEBHOOK_KEY_MAX);
	*keylen = (size_t)k;
	return DS_OK;
}

int ds_hmac_sha256(const unsigned char *key, size_t keylen, const void *const *parts,
		   const size_t *lens, size_t n, unsigned char out[32])
{
	int rc = DS_EINTERNAL;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	/* A zero-length key is a valid HMAC key; libcrypto wants a pointer. */
	static const unsigned char none[1];
	if (!ctx || !EVP_MAC_init(ctx, keylen ? key : none, keylen, params))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (lens[i] && !EVP_MAC_update(ctx, parts[i], lens[i]))
			goto done;
	size_t outl = 0;
	if (EVP_MAC_final(ctx, out, &outl, 32) && outl == 32)
		rc = DS_OK;
done:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/* The timestamp as seconds: digits only, at most 15 of them. */
static int parse_timestamp(const char *t, int64_t *out)
{
	size_t n = strlen(t);
	if (!n || n > 15 || strspn(t, "0123456789") != n)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (t[i] - '0');
	*out = v;
	return 0;
}

static int mac_of(const unsigned char *key, size_t keylen, const char *id, const char *ts,
		  const void *body, size_t len, unsigned char out[32])
{
	const void *parts[] = { id, ".", ts, ".", body };
	size_t lens[] = { strlen(id), 1, strlen(ts), 1, len };
	return ds_hmac_sha256(key, keylen, parts, lens, 5, out);
}

int ds_webhook_sign(const unsigned char *key, size_t keylen, const char *id,
		    const char *timestamp, const void *body, size_t len, char *out, size_t cap,
		    ds_err *err)
{
	int64_t t;
	unsigned char mac[32];
	char b64[48];
	if (parse_timestamp(timestamp, &t))
		return ds_err_set(err, DS_EINVAL, "the timestamp is not a number of seconds");
	if (mac_of(key, keylen, id, timestamp, body, len, mac))
		return ds_err_set(err, DS_EINTERNAL, "HMAC-SHA256 failed");
	EVP_EncodeBlock((unsigned char *)b64, mac, 32);
	if (snprintf(out, cap, "v1,%s", b64) >= (int)cap)
		return ds_err_set(err, DS_ELIMIT, "signature buffer too small");
	return DS_OK;
}

int ds_webhook_verify(const unsigned char *key, size_t keylen, const char *id,
		      const char *timestamp, const char *signatures, const void *body,
		      size_t len, int64_t now, int64_t tolerance, ds_err *err)
{
	if (!id || !*id)
		return ds_err_set(err, DS_EREFUSED, "missing webhook-id header");
	if (!timestamp || !*timestamp)
		return ds_err_set(err, DS_EREFUSED, "missing webhook-timestamp header");
	if (!signatures || !*signatures)
		return ds_err_set(err, DS_EREFUSED, "missing webhook-signature header");
	if (strnlen(id, DS_WEBHOOK_HEADER_MAX + 1) > DS_WEBHOOK_HEADER_MAX ||
	    strnlen(signatures, DS_WEBHOOK_HEADER_MAX + 1) > DS_WEBHOOK_HEADER_MAX)
		return ds_err_set(err, DS_EREFUSED, "webhook header longer than %d bytes",
				  DS_WEBHOOK_HEADER_MAX);
	int64_t t;
	if (parse_timestamp(timestamp, &t))
		return ds_err_set(err, DS_EREFUSED,
				  "webhook-timestamp is not a number of seconds");
	if (tolerance >= 0 && (t < now - tolerance || t > now + tolerance))
		return ds_err_set(err, DS_EREFUSED,
				  "webhook-timestamp is %lld seconds from now, outside the tolerance "
				  "of %lld seconds", (long long)(t - now), (long long)tolerance);
	unsigned char want[32];
	if (mac_of(key, keylen, id, timestamp, body, len, want))
		return ds_err_set(err, DS_EINTERNAL, "HMAC-SHA256 failed");
	bool ok = false;
	size_t v1 = 0;
	const char *p = signatures;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (!n)
			break;
		if (n > 3 && !strncmp(p, "v1,", 3)) {
			unsigned char got[34];
			long k = ds_base64_decode(p + 3, n - 3, got, sizeof got);
			v1++;
			/* Every entry is compared, so the time does not tell which
			 * one matched. */
			if (k == 32 && ds_equal_ct(got, want, 32))
				ok = true;
		}
		p += n;
	}
	if (ok)
		return DS_OK;
	return ds_err_set(err, DS_EREFUSED, v1 ? "no webhook signature matches the body"
					       : "no v1 webhook signature");
}
