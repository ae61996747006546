/*
 * hash.h - SHA-256 fingerprints (OpenSSL's libcrypto) as lowercase hex,
 * whole or streamed; base64 decoding.
 */
#ifndef DS_HASH_H
#define DS_HASH_H

#include <stddef.h>

/* Writes the hex SHA-256 of n bytes at p (65 bytes with the NUL). */
void ds_sha256_hex(const void *p, size_t n, char out[static 65]);
/* Writes n bytes as 2n lowercase hex digits and a NUL. */
void ds_hex(const unsigned char *d, size_t n, char *out);

/* A streamed SHA-256: begin, update any number of times, end. */
typedef struct ds_sha256 ds_sha256;
/* NULL when out of memory. */
ds_sha256 *ds_sha256_begin(void);
void ds_sha256_update(ds_sha256 *h, const void *p, size_t n);
/* Writes the hex digest and frees h. */
void ds_sha256_end(ds_sha256 *h, char out[static 65]);

/* The value of a standard base64 digit (A-Z a-z 0-9 + /), or -1. */
int ds_base64_value(unsigned char c);
/* Standard base64, '=' padding optional. Returns the decoded length, or
 * -1 for a character outside the alphabet, bad padding, or more than cap
 * bytes. */
long ds_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap);

#endif
