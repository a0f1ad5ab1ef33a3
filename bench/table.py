"""The table of bench/run.sh: DIR holds px-I-K.json and ll-I-K.json, the JSON
of `plexus bench` and `llama-bench` for file I (1-based, in the order given)
and round K. Prints one markdown row per file and test.

Usage: table.py DIR BANDWIDTH_GBS ROUNDS FILE..."""
import json
import os
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def test_name(r):
    return ("pp%d" % r["n_prompt"]) if r["n_prompt"] else ("tg%d" % r["n_gen"])


def main():
    d, bw, rounds, files = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    print("| model | test | plexus t/s | llama.cpp t/s | ratio | ratio per round (min-max) | rounds ahead "
          "| tg: fraction of the bandwidth bound |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for i, f in enumerate(files, 1):
        px = [load(os.path.join(d, "px-%d-%d.json" % (i, k))) for k in range(1, rounds + 1)]
        ll = [load(os.path.join(d, "ll-%d-%d.json" % (i, k))) for k in range(1, rounds + 1)]
        for r in px[0]:
            key = (r["n_prompt"], r["n_gen"])
            ours, theirs, ratios = [], [], []
            for pr, lr in zip(px, ll):
                a = [x["avg_ts"] for x in pr if (x["n_prompt"], x["n_gen"]) == key]
                b = [x["avg_ts"] for x in lr if (x.get("n_prompt"), x.get("n_gen")) == key]
                if a:
                    ours.append(a[0])
                if b:
                    theirs.append(b[0])
                if a and b:
                    ratios.append(a[0] / b[0])
            ours_m = statistics.median(ours)
            if rounds == 1:
                ours_s = "%.2f ± %.2f" % (r["avg_ts"], r["stddev_ts"])
            else:
                ours_s = "%.2f" % ours_m
            theirs_s = "%.2f" % statistics.median(theirs) if theirs else "-"
            ratio = "%.2f" % (ours_m / statistics.median(theirs)) if theirs else "-"
            spread = "%.2f-%.2f" % (min(ratios), max(ratios)) if len(ratios) > 1 else ""
            ahead = "%d of %d" % (sum(x >= 1 for x in ratios), len(ratios)) if ratios else ""
            frac = "%.0f %%" % (100 * ours_m * r["model_size"] / (bw * 1e9)) if r["n_gen"] else ""
            print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (os.path.basename(f), test_name(r), ours_s, theirs_s,
                                                                ratio, spread, ahead, frac))


if __name__ == "__main__":
    main()
