#!/bin/sh
# Benchmark Plexus (and llama.cpp's llama-bench when LLAMA_BENCH=/path/to/llama-bench
# is set) on the same GGUF files with the same threads, and print per test:
# Plexus t/s, llama.cpp t/s, their ratio, and for tg the fraction of the
# decode bound (read bandwidth / model bytes per token).
# Usage: bench/run.sh [-t THREADS] [-p 128] [-n 64] [-r 3] FILE.gguf...
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PX=${PLEXUS:-$here/../build/bin/plexus}
T=2; P=128; N=64; R=3
while [ $# -gt 0 ]; do
  case $1 in
    -t) T=$2; shift 2 ;; -p) P=$2; shift 2 ;; -n) N=$2; shift 2 ;; -r) R=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: bench/run.sh [-t T] [-p P] [-n N] [-r R] FILE.gguf..." >&2; exit 2; }
bw=$(cc -O2 -o /tmp/plexus-membw "$here/membw.c" -lpthread && /tmp/plexus-membw "$T" 1024 2>/dev/null)
echo "read bandwidth with $T threads: $bw GB/s"
printf '| model | test | plexus t/s | llama.cpp t/s | ratio | tg: fraction of the bandwidth bound |\n'
printf '|---|---|---:|---:|---:|---:|\n'
for f in "$@"; do
  "$PX" bench -m "$f" -p "$P" -n "$N" -r "$R" -t "$T" -o json > /tmp/plexus-bench.json
  if [ -n "${LLAMA_BENCH:-}" ]; then
    "$LLAMA_BENCH" -m "$f" -p "$P" -n "$N" -r "$R" -t "$T" -o json > /tmp/llama-bench.json 2>/dev/null || echo '[]' > /tmp/llama-bench.json
  else
    echo '[]' > /tmp/llama-bench.json
  fi
  python3 - "$f" "$bw" <<'PY'
import json, os, sys
f, bw = sys.argv[1], float(sys.argv[2])
px = json.load(open("/tmp/plexus-bench.json"))
ll = json.load(open("/tmp/llama-bench.json"))
for r in px:
    test = ("pp%d" % r["n_prompt"]) if r["n_prompt"] else ("tg%d" % r["n_gen"])
    other = [x for x in ll if x.get("n_prompt") == r["n_prompt"] and x.get("n_gen") == r["n_gen"]]
    lt = other[0]["avg_ts"] if other else None
    ratio = "%.2f" % (r["avg_ts"] / lt) if lt else "-"
    frac = "%.0f %%" % (100 * r["avg_ts"] * r["model_size"] / (bw * 1e9)) if r["n_gen"] else ""
    print("| %s | %s | %.2f ± %.2f | %s | %s | %s |" % (os.path.basename(f), test, r["avg_ts"], r["stddev_ts"],
          "%.2f" % lt if lt else "-", ratio, frac))
PY
done
