/* stardust: the optional instructions the processor offers, decided once
 * per process for every module that has a faster copy of its code
 * (filterbits.c: AVX2, lpm.c: POPCNT).
 *
 * STARDUST_SIMD=baseline turns them all off, as OPENSSL_ia32cap does for
 * OpenSSL, so that the tests run the portable code on any machine. The CPU
 * model is filled in by a constructor of the compiler's runtime before any
 * library call, so this only reads it (no __builtin_cpu_init(), which would
 * write it from concurrent callers). */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static atomic_int features = -1;

static int detect(void)
{
    int f = 0;
    const char *e = getenv("STARDUST_SIMD");
    if (e == NULL || strcmp(e, "baseline") != 0) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        if (__builtin_cpu_supports("avx2"))
            f |= SD__CPU_AVX2;
        if (__builtin_cpu_supports("popcnt"))
            f |= SD__CPU_POPCNT;
#endif
    }
    atomic_store_explicit(&features, f, memory_order_relaxed);
    return f;
}

int sd__cpu_features(void)
{
    int f = atomic_load_explicit(&features, memory_order_relaxed);
    return f >= 0 ? f : detect();
}
