/*
 * hash.c - SHA-256 fingerprints; see hash.h.
 */
#include "hash.h"

#include <openssl/evp.h>
#include <pthread.h>

void ds_hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 fetched from OpenSSL's default provider once: EVP_sha256()
 * is fetched again on every digest (a lookup under a lock), which costs
 * about as much as hashing a small input. NULL when it cannot be fetched
 * (EVP_sha256() is used then). */
static EVP_MD *sha256_md;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, fetch_sha256);
	return sha256_md ? sha256_md : EVP_sha256();
}

void ds_sha256_hex(const void *p, size_t n, char out[static 65])
{
	unsigned char d[32];
	EVP_Digest(p ? p : "", n, d, NULL, sha256(), NULL);
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
	if (EVP_DigestInit_ex(ctx, sha256(), NULL) != 1) {
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

int ds_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long ds_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t pad = 0;
	while (n && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	/* Padding, when present, completes the last group of four. */
	if (pad && (n + pad) % 4)
		return -1;
	if (n % 4 == 1)
		return -1;
	size_t len = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = ds_base64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (len == cap)
				return -1;
			out[len++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)len;
}
