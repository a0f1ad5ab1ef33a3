#!/bin/sh
# Benchmark Plexus (and llama.cpp's llama-bench when LLAMA_BENCH=/path/to/llama-bench
# is set) on the same GGUF files with the same threads, and print per test:
# Plexus t/s, llama.cpp t/s, their ratio, and for tg the fraction of the
# decode bound (read bandwidth / model bytes per token).
#
# Usage: bench/run.sh [-t THREADS[,THREADS..]] [-p 128] [-n 64] [-r 3] [-k 1] FILE.gguf...
#   -t  thread counts; each gets its own table, in the order given
#   -r  repetitions inside one bench call (both tools' -r)
#   -k  rounds: per file, Plexus and llama-bench are called one after the
#       other k times in turn (Plexus first in odd rounds, second in even
#       ones); the table shows each tool's median over the
#       rounds, the ratio of the medians, and the lowest and highest ratio of
#       one round's pair (a shared machine's bandwidth drifts over minutes,
#       so pairs taken in turn compare like with like).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PX=${PLEXUS:-$here/../build/bin/plexus}
T=2; P=128; N=64; R=3; K=1
while [ $# -gt 0 ]; do
  case $1 in
    -t) T=$2; shift 2 ;; -p) P=$2; shift 2 ;; -n) N=$2; shift 2 ;; -r) R=$2; shift 2 ;; -k) K=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: bench/run.sh [-t T[,T..]] [-p P] [-n N] [-r R] [-k ROUNDS] FILE.gguf..." >&2; exit 2; }
case $K in ''|*[!0-9]*|0) echo "bench/run.sh: -k wants a count >= 1, not '$K'" >&2; exit 2 ;; esac
for f in "$@"; do [ -r "$f" ] || { echo "bench/run.sh: cannot read $f" >&2; exit 2; }; done
px_run() { "$PX" bench -m "$1" -p "$P" -n "$N" -r "$R" -t "$2" -o json > "$3"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -o "$out/membw" "$here/membw.c" -lpthread
echo "plexus: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'); llama-bench: ${LLAMA_BENCH:-(not given)}"
echo "rounds: $K; each: -p $P -n $N -r $R; started $(date -u '+%Y-%m-%d %H:%M UTC')"
for t in $(echo "$T" | tr ',' ' '); do
  bw=$("$out/membw" "$t" 1024 2>/dev/null)
  i=0
  for f in "$@"; do
    i=$((i + 1))
    for k in $(seq "$K"); do
      # odd rounds Plexus first, even rounds llama-bench first: a drift of the
      # machine's bandwidth during a round favours neither
      if [ $((k % 2)) -eq 1 ]; then px_run "$f" "$t" "$out/px-$i-$k.json"; fi
      if [ -n "${LLAMA_BENCH:-}" ]; then
        "$LLAMA_BENCH" -m "$f" -p "$P" -n "$N" -r "$R" -t "$t" -o json > "$out/ll-$i-$k.json" 2>/dev/null ||
          echo '[]' > "$out/ll-$i-$k.json"
      else
        echo '[]' > "$out/ll-$i-$k.json"
      fi
      if [ $((k % 2)) -eq 0 ]; then px_run "$f" "$t" "$out/px-$i-$k.json"; fi
    done
  done
  bw2=$("$out/membw" "$t" 1024 2>/dev/null)
  echo
  echo "$t thread(s); read bandwidth before / after: $bw / $bw2 GB/s (the bound uses the first)"
  python3 "$here/table.py" "$out" "$bw" "$K" "$@"
done
