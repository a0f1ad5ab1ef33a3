/* Memory planner: random lifetimes and sizes; values live at the same time
 * never overlap, offsets are aligned, and the arena is no larger than the
 * sum of sizes and no smaller than the largest set of simultaneously live
 * values. */
#include <stdlib.h>
#include <string.h>

#include "plexus/plexus.h"
#include "program.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void) {
    const char *seed = getenv("PLEXUS_TEST_SEED");
    if (seed) rng = strtoull(seed, NULL, 10) | 1;
    for (int trial = 0; trial < 300; trial++) {
        int32_t n = 1 + (int32_t)(next() % 200);
        uint64_t align = 1ull << (next() % 8);
        int32_t horizon = 1 + (int32_t)(next() % 400);
        px_plan_item *it = calloc((size_t)n, sizeof *it);
        uint64_t sum = 0;
        for (int32_t i = 0; i < n; i++) {
            it[i].v = i;
            it[i].start = (int32_t)(next() % (uint64_t)horizon);
            it[i].end = it[i].start + (int32_t)(next() % 50);
            uint64_t sz = 1 + next() % (next() % 4 == 0 ? 1000000 : 5000);
            it[i].size = (sz + align - 1) / align * align;
            sum += it[i].size;
        }
        uint64_t total = 0;
        CHECK_OK(px_plan_pack(it, n, align, &total));
        CHECK_MSG(total <= sum, "arena %llu > sum %llu", (unsigned long long)total, (unsigned long long)sum);
        int bad = 0;
        for (int32_t i = 0; i < n && !bad; i++) {
            if (it[i].offset % align || it[i].offset + it[i].size > total) bad = 1;
            for (int32_t j = i + 1; j < n && !bad; j++) {
                int live = it[i].start <= it[j].end && it[j].start <= it[i].end;
                int mem = it[i].offset < it[j].offset + it[j].size && it[j].offset < it[i].offset + it[i].size;
                if (live && mem) bad = 1;
            }
        }
        CHECK_MSG(!bad, "trial %d: overlapping live values or misaligned offset", trial);
        /* Lower bound: the peak of live bytes at any step. */
        uint64_t peak = 0;
        for (int32_t s = 0; s < horizon + 50; s++) {
            uint64_t live = 0;
            for (int32_t i = 0; i < n; i++)
                if (it[i].start <= s && s <= it[i].end) live += it[i].size;
            if (live > peak) peak = live;
        }
        CHECK_MSG(total >= peak, "arena %llu below live peak %llu", (unsigned long long)total, (unsigned long long)peak);
        free(it);
    }
    return px_test_finish("test_planner");
}
