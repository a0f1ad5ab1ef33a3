/* Sampler: each stage of the chain on hand-computed cases, seeded
 * reproducibility, and the distribution of draws against the softmax. */
#include <math.h>
#include <string.h>

#include "plexus/plexus.h"
#include "plexus/sampling.h"
#include "test.h"

static px_sampler_params off(void) {
    px_sampler_params p = px_sampler_params_default();
    p.temp = 1;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    p.typical_p = 1;
    p.repeat_penalty = 1;
    p.repeat_last_n = 64;
    return p;
}

/* Which tokens can come out: draw many times and mark. */
static void support(const px_sampler_params *p, const float *lg, int32_t n, int *seen, int draws) {
    px_sampler *s = NULL;
    CHECK_OK(px_sampler_create(p, n, &s));
    memset(seen, 0, sizeof(int) * (size_t)n);
    for (int i = 0; i < draws && s; i++) {
        int32_t t = px_sampler_sample(s, lg);
        CHECK(t >= 0 && t < n);
        if (t >= 0 && t < n) seen[t]++;
    }
    px_sampler_destroy(s);
}

static int count_seen(const int *seen, int32_t n) {
    int k = 0;
    for (int32_t i = 0; i < n; i++) k += seen[i] > 0;
    return k;
}

int main(void) {
    /* logits of 6 tokens; softmax probabilities: */
    const float lg[6] = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f, 0.0f};
    double pr[6], z = 0;
    for (int i = 0; i < 6; i++) z += exp(lg[i]);
    for (int i = 0; i < 6; i++) pr[i] = exp(lg[i]) / z; /* 3:.605 0:.222 1:.082 2:.050 5:.030 4:.011 */
    int seen[6];

    /* greedy */
    px_sampler_params p = off();
    p.temp = 0;
    px_sampler *s = NULL;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    CHECK(px_sampler_sample(s, lg) == 3);
    px_sampler_destroy(s);

    /* top-k 2: only {3, 0} */
    p = off();
    p.top_k = 2;
    support(&p, lg, 6, seen, 2000);
    CHECK(count_seen(seen, 6) == 2 && seen[3] && seen[0]);

    /* top-p 0.85: cumulative .605, .827, .909 -> {3, 0, 1} */
    p = off();
    p.top_p = 0.85f;
    support(&p, lg, 6, seen, 4000);
    CHECK_MSG(count_seen(seen, 6) == 3 && seen[3] && seen[0] && seen[1], "top-p kept %d", count_seen(seen, 6));

    /* min-p 0.1: p >= .0605 -> {3, 0, 1} */
    p = off();
    p.min_p = 0.1f;
    support(&p, lg, 6, seen, 4000);
    CHECK(count_seen(seen, 6) == 3 && seen[3] && seen[0] && seen[1]);

    /* typical-p: H = 1.148 nats; |-log p - H| = 0:.355 3:.645 1:1.355 2:1.855 ...
     * -> order 0, 3, 1, ...; mass .222, .827 -> typical 0.5 keeps {0, 3} */
    p = off();
    p.typical_p = 0.5f;
    support(&p, lg, 6, seen, 4000);
    CHECK_MSG(count_seen(seen, 6) == 2 && seen[0] && seen[3], "typical kept %d", count_seen(seen, 6));

    /* repeat penalty 3 on token 3 (logit 3 -> 1) and token 4 (-1 -> -3):
     * greedy then picks 0 */
    p = off();
    p.temp = 0;
    p.repeat_penalty = 3;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    px_sampler_accept(s, 3);
    px_sampler_accept(s, 3);
    px_sampler_accept(s, 4);
    CHECK(px_sampler_sample(s, lg) == 0);
    px_sampler_destroy(s);

    /* frequency 0.6 per occurrence, presence 0.5: token 3 seen twice ->
     * 3 - 1.2 - 0.5 = 1.3 < 2 -> greedy 0; seen once -> 3 - .6 - .5 = 1.9 -> 0 too;
     * frequency 0.2: 3 - .4 - .5 = 2.1 -> still 3 */
    p = off();
    p.temp = 0;
    p.frequency_penalty = 0.6f;
    p.presence_penalty = 0.5f;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    px_sampler_accept(s, 3);
    px_sampler_accept(s, 3);
    CHECK(px_sampler_sample(s, lg) == 0);
    px_sampler_destroy(s);
    p.frequency_penalty = 0.2f;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    px_sampler_accept(s, 3);
    px_sampler_accept(s, 3);
    CHECK(px_sampler_sample(s, lg) == 3);
    px_sampler_destroy(s);

    /* the window: with repeat_last_n 2, a token 3 tokens back is not penalised */
    p = off();
    p.temp = 0;
    p.repeat_penalty = 3;
    p.repeat_last_n = 2;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    px_sampler_accept(s, 3);
    px_sampler_accept(s, 1);
    px_sampler_accept(s, 2);
    CHECK(px_sampler_sample(s, lg) == 3);
    px_sampler_destroy(s);

    /* seeds: same seed, same sequence; another seed, another sequence */
    int32_t a[64], b[64], c[64];
    for (int run = 0; run < 3; run++) {
        p = off();
        p.seed = run == 2 ? 43 : 42;
        CHECK_OK(px_sampler_create(&p, 6, &s));
        int32_t *o = run == 0 ? a : run == 1 ? b : c;
        for (int i = 0; i < 64; i++) o[i] = px_sampler_sample(s, lg);
        px_sampler_destroy(s);
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* reset reseeds */
    p = off();
    CHECK_OK(px_sampler_create(&p, 6, &s));
    for (int i = 0; i < 64; i++) a[i] = px_sampler_sample(s, lg);
    px_sampler_reset(s);
    for (int i = 0; i < 64; i++) b[i] = px_sampler_sample(s, lg);
    CHECK(memcmp(a, b, sizeof a) == 0);
    px_sampler_destroy(s);

    /* distribution: 200k draws at temp 1 against the softmax (chi-square,
     * 5 degrees of freedom; 30 is far beyond any honest run's value and far
     * below what a wrong temperature or an off-by-one gives) */
    p = off();
    p.seed = 1234;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    int hist[6] = {0};
    const int N = 200000;
    for (int i = 0; i < N; i++) hist[px_sampler_sample(s, lg)]++;
    double chi = 0;
    for (int i = 0; i < 6; i++) chi += (hist[i] - N * pr[i]) * (hist[i] - N * pr[i]) / (N * pr[i]);
    CHECK_MSG(chi < 30, "chi-square %.1f", chi);
    printf("chi-square at temp 1: %.2f (5 dof)\n", chi);
    px_sampler_destroy(s);
    /* temperature 0.5 squares the odds: compare with softmax(l / 0.5) */
    p.temp = 0.5f;
    CHECK_OK(px_sampler_create(&p, 6, &s));
    memset(hist, 0, sizeof hist);
    for (int i = 0; i < N; i++) hist[px_sampler_sample(s, lg)]++;
    double z2 = 0, p2[6];
    for (int i = 0; i < 6; i++) z2 += exp(lg[i] / 0.5);
    for (int i = 0; i < 6; i++) p2[i] = exp(lg[i] / 0.5) / z2;
    chi = 0;
    for (int i = 0; i < 6; i++) chi += (hist[i] - N * p2[i]) * (hist[i] - N * p2[i]) / (N * p2[i]);
    CHECK_MSG(chi < 30, "chi-square at temp 0.5: %.1f", chi);
    px_sampler_destroy(s);

    /* NaN and -inf logits never come out; all -inf gives token 0 */
    const float bad[4] = {NAN, -INFINITY, 1.0f, NAN};
    p = off();
    support(&p, bad, 4, seen, 500);
    CHECK(seen[2] == 500);
    const float none[3] = {-INFINITY, -INFINITY, NAN};
    CHECK_OK(px_sampler_create(&p, 3, &s));
    CHECK(px_sampler_sample(s, none) == 0);
    px_sampler_destroy(s);

    /* bad parameters */
    p = off();
    p.repeat_penalty = 0;
    CHECK(px_sampler_create(&p, 6, &s) == PX_ERR_INVALID_ARG);
    CHECK(px_sampler_create(NULL, 0, &s) == PX_ERR_INVALID_ARG);
    return px_test_finish("test_sampling");
}
