/*
 * hash.c - SHA-256 fingerprints; see hash.h.
 */
#include "hash.h"

#include <openssl/evp.h>

void ds_hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void ds_sha256_hex(const void *p, size_t n, char out[static 65])
{
	unsigned char d[32];
	EVP_Digest(p ? p : "", n, d, NULL, EVP_sha256(), NULL);
	ds_hex(d, 32, out);
}

struct ds_sha256 {
	EVP_MD_CTX *ctx;
};

ds_sha256 *ds_sha256_begin(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return NULL;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return (ds_sha256 *)ctx;
}

void ds_sha256_update(ds_sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)h, p, n);
}

void ds_sha256_end(ds_sha256 *h, char out[static 65])
{
	unsigned char d[32];
	unsigned len = 0;
	EVP_DigestFinal_ex((EVP_MD_CTX *)h, d, &len);
	EVP_MD_CTX_free((EVP_MD_CTX *)h);
	ds_hex(d, 32, out);
}
