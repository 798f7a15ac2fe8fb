/*
 * hash.h: the project's two hash functions, shared by name tables, ECMP and seeding.
 * sim_hash_mix is the splitmix64 finalizer (a bijection on 64 bits with full avalanche);
 * sim_hash_str is FNV-1a over the bytes of a NUL-terminated string, xor-ed with a seed and
 * then mixed. Both are pure and identical on every platform, which keeps runs reproducible.
 */
#ifndef SIM_HASH_H
#define SIM_HASH_H

#include <stdint.h>

static inline uint64_t sim_hash_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t sim_hash_str(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return sim_hash_mix(h);
}

#endif
