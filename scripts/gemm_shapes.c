// Single-precision gemm rates of OpenBLAS on the shapes that dominate SmolLM2-135M's passes
// (issue #19): C = A B^T, row-major, about 20 GFLOP of calls per shape after 3 warm-up calls.
// Run through scripts/gemm_shapes_vs_torch.sh, which sets the thread count.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  int sh[4][3]={{2048,3072,576},{2048,576,1536},{1024,1024,1024},{768,256,64}};
  for(int s=0;s<4;s++){int m=sh[s][0],n=sh[s][1],k=sh[s][2];
    float*a=malloc(4L*m*k),*b=malloc(4L*n*k),*c=malloc(4L*m*n);
    for(long i=0;i<(long)m*k;i++)a[i]=rand()/(float)RAND_MAX; for(long i=0;i<(long)n*k;i++)b[i]=rand()/(float)RAND_MAX;
    for(int r=0;r<3;r++)cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,a,k,b,k,0,c,n);
    int reps=(int)(2e10/(2.0*m*n*k)); if(reps<3)reps=3;
    double t=now(); for(int r=0;r<reps;r++)cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,a,k,b,k,0,c,n);
    double dt=now()-t; printf("openblas %dx%dx%d: %.1f GFLOP/s\n",m,n,k,2.0*m*n*k*reps/dt/1e9); free(a);free(b);free(c);}
}
