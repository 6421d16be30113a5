// A BLIS-style single-thread AVX-512 sgemm of our own against OpenBLAS's cblas_sgemm on
// xtf's gemm shapes (issue #19: is there room above OpenBLAS on this CPU?). A 14 x 32
// register tile (28 zmm accumulators: 14 broadcasts of A times two 16-float vectors of B per
// k), A and B packed into panels (gathers where a panel runs across the stored rows), k in
// blocks of 768; then the forward's NT products (C = X W^T) with W packed once beforehand and
// X read in place, so nothing is packed while timed. Not used by xtf: a measurement. Each
// shape runs both libraries alternately in one process, ROUNDS times; prints the best rate of
// each, the ratio of bests and of means, and the largest difference between the two results.
//
//   clang -O3 -o gemm_own_kernel scripts/gemm_own_kernel.c -lopenblas -lm
//   OPENBLAS_NUM_THREADS=1 ./gemm_own_kernel [ROUNDS]      (scripts/gemm_own_vs_openblas.sh)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <cblas.h>
#include <stdio.h>
#include <math.h>
#include <time.h>

#define MR 14
#define NR 32
// k per packed block (C is read and written once per block: few blocks for k <= 768), rows of
// A per packed block (MC x KC floats stay in L2), columns of B per packed block.
#define KC 768
#define MC 336
#define NC 3072
#define PFB 16  // prefetch distance in k steps, B panel
#define PFA 32  // and A panel

#define T __attribute__((target("avx512f,fma")))

static __thread float *apack, *bpack;
static __thread size_t acap, bcap;

static float *grow(float **p, size_t *cap, size_t n) {
  if (*cap < n) { free(*p); *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64); *cap = n; }
  return *p;
}

// op(A) block [mc x kc] at (i0, p0) -> panels of MR rows, each kc x MR.
__attribute__((noinline)) T static void pack_a(int ta, const float *A, int lda, int i0, int p0, int mc, int kc, float *out) {
  for (int ir = 0; ir < mc; ir += MR) {
    int mr = mc - ir < MR ? mc - ir : MR;
    float *o = out + (size_t)ir * kc;
    if (!ta) {
      // One gather per k: the panel's rows at column p (lanes past mr read nothing, write 0).
      __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15), _mm512_set1_epi32(lda));
      __mmask16 valid = (__mmask16)((1u << mr) - 1), store = (__mmask16)((1u << MR) - 1);
      const float *a = A + (size_t)(i0 + ir) * lda + p0;
      for (int p = 0; p < kc; p++)
        _mm512_mask_storeu_ps(o + p * MR, store, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, rows, a + p, 4));
    } else {
      for (int p = 0; p < kc; p++) {
        const float *a = A + (size_t)(p0 + p) * lda + i0 + ir;
        int i = 0;
        for (; i < mr; i++) o[p * MR + i] = a[i];
        for (; i < MR; i++) o[p * MR + i] = 0;
      }
    }
  }
}

// op(B) block [kc x nc] at (p0, j0) -> panels of NR columns, each kc x NR.
__attribute__((noinline)) T static void pack_b(int tb, const float *B, int ldb, int p0, int j0, int kc, int nc, float *out) {
  for (int jr = 0; jr < nc; jr += NR) {
    int nr = nc - jr < NR ? nc - jr : NR;
    float *o = out + (size_t)jr * kc;
    if (!tb) {
      __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
      __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
      for (int p = 0; p < kc; p++) {
        const float *b = B + (size_t)(p0 + p) * ldb + j0 + jr;
        _mm512_store_ps(o + p * NR, _mm512_maskz_loadu_ps(m0, b));
        _mm512_store_ps(o + p * NR + 16, _mm512_maskz_loadu_ps(m1, b + 16));
      }
    } else {
      __m512i cols = _mm512_mullo_epi32(_mm512_setr_epi32(0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15), _mm512_set1_epi32(ldb));
      __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
      __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
      const float *b0 = B + (size_t)(j0 + jr) * ldb + p0, *b1 = b0 + (size_t)16 * ldb;
      for (int p = 0; p < kc; p++) {
        _mm512_store_ps(o + p * NR, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, cols, b0 + p, 4));
        _mm512_store_ps(o + p * NR + 16, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, cols, b1 + p, 4));
      }
    }
  }
}

__attribute__((noinline)) T static void kernel(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, float alpha, float beta) {
  __m512 c0[MR], c1[MR];
  for (int i = 0; i < MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
  for (int i = 0; i < mr; i++) { _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + (size_t)i * ldc + 16), _MM_HINT_T0); }
  for (int p = 0; p < kc; p++) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch((const char *)(b + PFB * NR), _MM_HINT_T0);
    _mm_prefetch((const char *)(b + PFB * NR + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(a + PFA * MR), _MM_HINT_T0);
    #pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR; b += NR;
  }
  __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < mr; i++) {
    float *ci = c + (size_t)i * ldc;
    __m512 r0 = _mm512_mul_ps(va, c0[i]), r1 = _mm512_mul_ps(va, c1[i]);
    if (beta != 0) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

// Row-major C[m x n] = alpha op(A) op(B) + beta C.
T static void own_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc) {
  float *bp = grow(&bpack, &bcap, (size_t)KC * ((NC + NR - 1) / NR * NR));
  float *ap = grow(&apack, &acap, (size_t)KC * ((MC + MR - 1) / MR * MR));
  for (int jc = 0; jc < n; jc += NC) {
    int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      int kc = k - pc < KC ? k - pc : KC;
      float bet = pc == 0 ? beta : 1;
      pack_b(tb, B, ldb, pc, jc, kc, nc, bp);
      for (int ic = 0; ic < m; ic += MC) {
        int mc = m - ic < MC ? m - ic : MC;
        pack_a(ta, A, lda, ic, pc, mc, kc, ap);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            kernel(kc, ap + (size_t)ir * kc, bp + (size_t)jr * kc, C + (size_t)(ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, bet);
          }
        }
      }
    }
  }
}

// The same tile on the NT products of a forward (C = X W^T) with W packed once, as frozen
// weights could be at load, and X read in place: no packing at all while it runs.
static size_t prepacked_size(int n, int k) { return (size_t)((n + NR - 1) / NR) * NR * k; }

// W [n x k] -> for each block of KC k's, panels of NR rows, each kc x NR (zero padded).
static void prepack_w(int n, int k, const float *W, int ldw, float *out) {
  int np = (n + NR - 1) / NR;
  for (int pc = 0; pc < k; pc += KC) {
    int kc = k - pc < KC ? k - pc : KC;
    for (int j = 0; j < np; j++) {
      float *o = out + (size_t)pc * np * NR + (size_t)j * kc * NR;
      for (int p = 0; p < kc; p++)
        for (int r = 0; r < NR; r++) o[p * NR + r] = j * NR + r < n ? W[(size_t)(j * NR + r) * ldw + pc + p] : 0;
    }
  }
}

// Like `kernel`, but A's rows are read where they are (row stride ldx) and C is accumulated
// into when `acc` (later k blocks) or overwritten.
__attribute__((noinline)) T static void kernel_rows(int kc, const float *x, int ldx, const float *w, float *c, int ldc, int mr, int nr, int acc) {
  __m512 c0[MR], c1[MR];
  const float *xr[MR];
  for (int i = 0; i < MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); xr[i] = x + (size_t)(i < mr ? i : 0) * ldx; }
  for (int p = 0; p < kc; p++) {
    __m512 b0 = _mm512_load_ps(w), b1 = _mm512_load_ps(w + 16);
    _mm_prefetch((const char *)(w + PFB * NR), _MM_HINT_T0);
    #pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(xr[i][p]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    w += NR;
  }
  __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
  for (int i = 0; i < mr; i++) {
    float *ci = c + (size_t)i * ldc;
    __m512 r0 = c0[i], r1 = c1[i];
    if (acc) { r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci)); r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16)); }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

// Row-major C[m x n] = X[m x k] W^T, W prepacked by prepack_w.
T static void own_nt_prepacked(int m, int n, int k, const float *X, int ldx, const float *Wp, float *C, int ldc) {
  int np = (n + NR - 1) / NR;
  for (int pc = 0; pc < k; pc += KC) {
    int kc = k - pc < KC ? k - pc : KC;
    const float *block = Wp + (size_t)pc * np * NR;
    for (int ic = 0; ic < m; ic += MC) {
      int mc = m - ic < MC ? m - ic : MC;
      for (int j = 0; j < np; j++) {
        int nr = n - j * NR < NR ? n - j * NR : NR;
        for (int ir = 0; ir < mc; ir += MR) {
          int mr = mc - ir < MR ? mc - ir : MR;
          kernel_rows(kc, X + (size_t)(ic + ir) * ldx + pc, ldx, block + (size_t)j * kc * NR, C + (size_t)(ic + ir) * ldc + j * NR, ldc, mr, nr, pc > 0);
        }
      }
    }
  }
}

static double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
// One product both ways: its operands and the two results, and how each way computes it.
struct product {
  int ta, tb, m, n, k;
  const float *A, *B, *Wp;  // Wp: B prepacked (NT products only), or NULL
  float *C1, *C2;
};

static void run(const struct product *p, int own) {
  int lda = p->ta ? p->m : p->k, ldb = p->tb ? p->k : p->n;
  if (!own) cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, p->m, p->n, p->k, 1, p->A, lda, p->B, ldb, 0, p->C1, p->n);
  else if (p->Wp) own_nt_prepacked(p->m, p->n, p->k, p->A, lda, p->Wp, p->C2, p->n);
  else own_sgemm(p->ta, p->tb, p->m, p->n, p->k, 1, p->A, lda, p->B, ldb, 0, p->C2, p->n);
}

// Times both ways alternately, ROUNDS times, and prints one line.
static void compare(int ta, int tb, int m, int n, int k, int prepacked, int rounds) {
  float *A = malloc((size_t)m * k * 4), *B = malloc((size_t)k * n * 4), *C1 = malloc((size_t)m * n * 4), *C2 = malloc((size_t)m * n * 4);
  for (size_t i = 0; i < (size_t)m * k; i++) A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  for (size_t i = 0; i < (size_t)k * n; i++) B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  float *Wp = NULL;
  if (prepacked) { Wp = aligned_alloc(64, ((prepacked_size(n, k) * 4 + 63) / 64) * 64); prepack_w(n, k, B, k, Wp); }
  struct product p = {ta, tb, m, n, k, A, B, Wp, C1, C2};
  double flops = 2.0 * m * n * k, best[2] = {1e9, 1e9}, tot[2] = {0, 0};
  int reps = (int)(2e10 / flops) + 1;
  for (int r = 0; r < rounds; r++) {
    for (int w = 0; w < 2; w++) {
      double t0 = now();
      for (int i = 0; i < reps; i++) run(&p, w);
      double t = (now() - t0) / reps;
      if (t < best[w]) best[w] = t;
      tot[w] += t;
    }
  }
  double maxd = 0, maxv = 0;
  for (size_t i = 0; i < (size_t)m * n; i++) { double d = fabs(C1[i] - C2[i]); if (d > maxd) maxd = d; if (fabs(C1[i]) > maxv) maxv = fabs(C1[i]); }
  printf("%c%c%s %5d x %5d x %5d  openblas %6.1f  own %6.1f GFLOP/s (best)  own/openblas %.2fx (mean %.2fx)  maxdiff %.2e of %.2e\n",
    ta ? 'T' : 'N', tb ? 'T' : 'N', prepacked ? " prepacked" : "", m, n, k, flops / best[0] * 1e-9, flops / best[1] * 1e-9,
    best[0] / best[1], tot[0] / tot[1], maxd, maxv);
  free(A); free(B); free(C1); free(C2); free(Wp);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 3;
  int shapes[][5] = { // ta tb m n k
    {0,1,2048,3072,576}, {0,1,2048,576,1536}, {0,0,2048,576,3072}, {1,0,3072,576,2048}, {0,1,768,256,64}, {0,0,768,64,256}, {0,1,512,49152,576}, {0,1,2048,960,576}};
  for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++)
    compare(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4], 0, rounds);
  // The forward's NT products (m x n x k), W prepacked once (not timed), X in place.
  int nt[][3] = {{2048,960,576}, {2048,576,576}, {2048,3072,576}, {2048,576,1536}, {512,49152,576}, {1460,960,576}, {1460,3072,576}, {1460,576,1536}};
  for (int s = 0; s < (int)(sizeof nt / sizeof nt[0]); s++) compare(0, 1, nt[s][0], nt[s][1], nt[s][2], 1, rounds);
}
