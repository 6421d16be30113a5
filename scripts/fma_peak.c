// The CPU's single-precision FMA peak, measured (issue #19): THREADS threads (argument 1,
// default 1) each run 12 independent chains of vector FMAs, as wide as the CPU has (AVX-512,
// else AVX2 with FMA), about 0.7 s each at 2.6 GHz; prints the best of 3 timings of the
// whole group in GFLOP/s (2 per lane per FMA). No gemm can run faster on those cores at the
// same clock, so it is the denominator for "fraction of peak" in
// scripts/gemm_shapes_vs_torch.sh (on a host whose speed drifts, a ratio of medians of
// alternated rounds, not of single rounds).
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static const long iterations = 300000000;
static int lanes = 0;

// 12 chains hide the FMA latency (4 cycles) on two FMA ports; the sum keeps the work alive.
__attribute__((target("avx512f"))) static float chains512(void) {
  __m512 x[12], m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int j = 0; j < 12; j++) x[j] = _mm512_set1_ps((float)j);
  for (long i = 0; i < iterations; i++)
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) x[j] = _mm512_fmadd_ps(x[j], m, a);
  float s = 0; for (int j = 0; j < 12; j++) s += _mm512_reduce_add_ps(x[j]);
  return s;
}
__attribute__((target("avx2,fma"))) static float chains256(void) {
  __m256 x[12], m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int j = 0; j < 12; j++) x[j] = _mm256_set1_ps((float)j);
  for (long i = 0; i < iterations; i++)
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) x[j] = _mm256_fmadd_ps(x[j], m, a);
  float s = 0, v[8]; for (int j = 0; j < 12; j++) { _mm256_storeu_ps(v, x[j]); for (int l = 0; l < 8; l++) s += v[l]; }
  return s;
}
static void *run(void *sink) { *(float *)sink = lanes == 16 ? chains512() : chains256(); return NULL; }

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) { fprintf(stderr, "fma_peak: threads must be 1-256\n"); return 2; }
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) lanes = 16;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) lanes = 8;
  else { fprintf(stderr, "fma_peak: needs AVX2 with FMA or AVX-512\n"); return 2; }
  pthread_t tid[256]; float sink[256];
  double best = 0;
  for (int round = 0; round < 3; round++) {
    double t = now();
    for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, run, &sink[i]);
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    double rate = 2.0 * lanes * 12 * iterations * threads / (now() - t) / 1e9;
    if (rate > best) best = rate;
  }
  printf("peak %d-lane FMA: %.1f GFLOP/s\n", lanes, best);
  return 0;  // (the sums stored through the threads' pointers keep the chains alive)
}
