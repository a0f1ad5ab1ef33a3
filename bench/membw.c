/* membw: read bandwidth of this machine, the bound on decode speed (every
 * weight byte is read once per generated token). Reads a 1 GiB buffer (much
 * larger than any cache) with T threads, several times, and prints the best
 * GB/s. Usage: membw [THREADS] [MiB] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} job;

static void *reader(void *arg) {
    job *j = arg;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= j->n; i += 4) {
        s0 += j->p[i];
        s1 += j->p[i + 1];
        s2 += j->p[i + 2];
        s3 += j->p[i + 3];
    }
    j->sum = s0 + s1 + s2 + s3;
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (threads < 1 || threads > 256 || mib < 64) {
        fprintf(stderr, "usage: membw [THREADS] [MiB >= 64]\n");
        return 2;
    }
    size_t bytes = mib << 20, n = bytes / 8;
    uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf) {
        fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double best = 0;
    uint64_t check = 0;
    for (int rep = 0; rep < 5; rep++) {
        pthread_t th[256];
        job jobs[256];
        double t0 = now();
        for (int t = 0; t < threads; t++) {
            jobs[t].p = buf + n / threads * t;
            jobs[t].n = n / threads;
            pthread_create(&th[t], NULL, reader, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            check += jobs[t].sum;
        }
        double gbs = (double)bytes / (now() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("%.2f\n", best);
    fprintf(stderr, "membw: %d threads, %zu MiB, best of 5: %.2f GB/s (checksum %llu)\n", threads, mib, best,
            (unsigned long long)(check & 0xff));
    free(buf);
    return 0;
}
