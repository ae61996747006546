/*
 * prng.h - the benchmark generators' random numbers: splitmix64 and a
 * keyed permutation, so that what a generator writes depends only on its
 * arguments (no rand(), no clock) and a run can be repeated exactly.
 */
#ifndef DS_BENCH_PRNG_H
#define DS_BENCH_PRNG_H

#include <stdint.h>

/* splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator
 * whose output function also serves as a keyed hash. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t next64(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return mix64(*state);
}

/* Uniform enough below n (n is small here, the bias is below 2^-50). */
static inline uint64_t below(uint64_t *state, uint64_t n)
{
	return next64(state) % n;
}

/* A bijection on 0..n-1: a 4-round Feistel network on the smallest even
 * number of bits covering n, walked until the value falls inside. */
struct perm {
	uint64_t n;
	unsigned half;
	uint64_t mask;
	uint64_t key;
};

static inline void perm_init(struct perm *p, uint64_t n, uint64_t key)
{
	unsigned bits = 2;
	while (bits < 64 && (1ULL << bits) < n)
		bits += 2;
	p->n = n;
	p->half = bits / 2;
	p->mask = (1ULL << p->half) - 1;
	p->key = key;
}

static inline uint64_t perm_apply(const struct perm *p, uint64_t x)
{
	do {
		uint64_t l = x >> p->half, r = x & p->mask;
		for (uint64_t round = 0; round < 4; round++) {
			uint64_t f = mix64(p->key ^ (round << 56) ^ r) & p->mask;
			uint64_t t = l ^ f;
			l = r;
			r = t;
		}
		x = (l << p->half) | r;
	} while (x >= p->n);
	return x;
}

#endif
