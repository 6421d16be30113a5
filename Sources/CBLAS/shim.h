// OpenBLAS's CBLAS interface plus its openblas_* queries (threads, core, build config).
#include <cblas.h>
