/*
 * test_hash.c - SHA-256 fingerprints (hash.h) against the FIPS 180-2
 * examples, whole and streamed, and from several threads at once.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "hash.h"

#define ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define TWO_BLOCKS "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define TWO_BLOCKS_IN "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

Test(hash, sha256_of_the_standard_examples)
{
	char out[65];
	ds_sha256_hex("abc", 3, out);
	cr_assert_str_eq(out, ABC);
	ds_sha256_hex(NULL, 0, out);
	cr_assert_str_eq(out, EMPTY);
	ds_sha256_hex(TWO_BLOCKS_IN, strlen(TWO_BLOCKS_IN), out);
	cr_assert_str_eq(out, TWO_BLOCKS);
}

Test(hash, sha256_streamed_equals_whole)
{
	char out[65];
	ds_sha256 *h = ds_sha256_begin();
	cr_assert_not_null(h);
	ds_sha256_update(h, TWO_BLOCKS_IN, 10);
	ds_sha256_update(h, TWO_BLOCKS_IN + 10, strlen(TWO_BLOCKS_IN) - 10);
	ds_sha256_end(h, out);
	cr_assert_str_eq(out, TWO_BLOCKS);
}

static void *hash_many(void *arg)
{
	(void)arg;
	char out[65];
	for (int i = 0; i < 2000; i++) {
		ds_sha256_hex("abc", 3, out);
		if (strcmp(out, ABC))
			return (void *)1;
	}
	return NULL;
}

Test(hash, sha256_from_threads_at_once)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hash_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *bad = NULL;
		pthread_join(t[i], &bad);
		cr_assert_null(bad, "thread %d hashed wrong", i);
	}
}
