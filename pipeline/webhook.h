/*
 * webhook.h - Standard Webhooks signatures (HMAC-SHA256 from libcrypto).
 *
 * A signed request carries three headers: webhook-id (the message id),
 * webhook-timestamp (seconds since the epoch, digits only) and
 * webhook-signature, a space-separated list of "v1,<base64 HMAC>" entries
 * (several during a secret rotation; entries of other versions are
 * skipped). The HMAC is taken with the secret's bytes (the base64 after
 * "whsec_", padding optional) over "id.timestamp.body". A request is
 * accepted when its timestamp is within the tolerance of now and one v1
 * entry matches, compared in constant time.
 */
#ifndef DS_WEBHOOK_H
#define DS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define DS_WEBHOOK_KEY_MAX 256       /* bytes of a decoded secret */
#define DS_WEBHOOK_TOLERANCE 300     /* seconds either side of now */
/* The longest signature header, id and timestamp read. */
#define DS_WEBHOOK_HEADER_MAX 4096

/* Decodes a secret ("whsec_" and base64, or the base64 alone) into key
 * (DS_WEBHOOK_KEY_MAX bytes). DS_EINVAL for an empty or malformed one. */
int ds_webhook_key(const char *secret, unsigned char *key, size_t *keylen, ds_err *err);

/* Checks a request's headers (each may be NULL when absent) against the
 * body. tolerance < 0 skips the timestamp window (the timestamp is still
 * signed). Returns 0, or DS_EREFUSED with the reason in err; the reason
 * never shows the secret or the signature. */
int ds_webhook_verify(const unsigned char *key, size_t keylen, const char *id,
		      const char *timestamp, const char *signatures, const void *body,
		      size_t len, int64_t now, int64_t tolerance, ds_err *err);

/* The "v1,<base64>" signature of body (for senders and tests); out holds
 * at least 64 bytes. DS_EINVAL when the timestamp is not digits. */
int ds_webhook_sign(const unsigned char *key, size_t keylen, const char *id,
		    const char *timestamp, const void *body, size_t len, char *out, size_t cap,
		    ds_err *err);

/* HMAC-SHA256 of the concatenation of n parts. */
int ds_hmac_sha256(const unsigned char *key, size_t keylen, const void *const *parts,
		   const size_t *lens, size_t n, unsigned char out[32]);

/* Whether a and b (n bytes each) are equal, in time independent of where
 * they differ. */
bool ds_equal_ct(const void *a, const void *b, size_t n);

#endif
