/* Comparison benchmark for `xtf bench allreduce` (not a test): a plain C program doing
 * MPI_Allreduce (in place, float, sum) on the same buffers with the same method: a warm-up,
 * then per repetition a barrier, the timed all-reduce, the slowest rank's time; median.
 * Built and run by scripts/bench_allreduce.sh. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int repetitions = argc > 1 ? atoi(argv[1]) : 20;
    int sizes[] = {1, 4, 16, 64};
    double *times = malloc(sizeof(double) * repetitions);
    if (rank == 0) printf("  MiB  ranks   median ms   bus GB/s   alg GB/s\n");
    for (int s = 0; s < 4; s++) {
        size_t count = (size_t)sizes[s] * 1024 * 1024 / sizeof(float);
        float *buffer = calloc(count, sizeof(float));
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        for (int r = 0; r < repetitions; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, buffer, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double elapsed = MPI_Wtime() - start;
            MPI_Allreduce(&elapsed, &times[r], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        }
        qsort(times, repetitions, sizeof(double), compare);
        double t = repetitions % 2 ? times[repetitions / 2]
                                   : (times[repetitions / 2 - 1] + times[repetitions / 2]) / 2;
        double bytes = (double)count * sizeof(float), n = size;
        if (rank == 0)
            printf("%5d  %5d  %10.3f  %9.2f  %9.2f\n", sizes[s], size, t * 1e3,
                   bytes * 2 * (n - 1) / n / t / 1e9, bytes / t / 1e9);
        free(buffer);
    }
    free(times);
    MPI_Finalize();
    return 0;
}
