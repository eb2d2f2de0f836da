#!/usr/bin/env bash
# End-to-end throughput of `symbolon split` / `combine` through the real
# binary: a SIZE-MiB random file (default 1024) split 3-of-5 with SSMS into
# files, then combined back from three shards. Prints MB/s (10^6 bytes/s).
# Usage: scripts/bench-cli.sh [SIZE_MIB] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
work=${2:-target/bench-cli}
cargo build --release --quiet -p symbolon-cli
sym=$PWD/target/release/symbolon
rm -rf "$work" && mkdir -p "$work"
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/secret.bin"
bytes=$((size_mib * 1024 * 1024))

now() { date +%s.%N; }
# rate BYTES START END
rate() { python3 -c "import sys; b,s=float(sys.argv[1]),float(sys.argv[3])-float(sys.argv[2]); print(f'{b/s/1e6:8.1f} MB/s  ({s:.3f} s)')" "$@"; }

# Warm the page cache for the input so the figure is the tool's, not the disk's.
cat "$work/secret.bin" > /dev/null
for run in 1 2 3; do
    rm -rf "$work/shards" "$work/out.bin"
    t0=$(now)
    "$sym" split -t 3 -n 5 --scheme ssms --in "$work/secret.bin" --out-dir "$work/shards" 2>/dev/null
    t1=$(now)
    "$sym" combine "$work/shards/share-1.sym" "$work/shards/share-3.sym" "$work/shards/share-5.sym" \
        --out "$work/out.bin" 2>/dev/null
    t2=$(now)
    cmp -s "$work/secret.bin" "$work/out.bin" || { echo "MISMATCH" >&2; exit 1; }
    printf 'run %d  split   %s\n' "$run" "$(rate "$bytes" "$t0" "$t1")"
    printf 'run %d  combine %s\n' "$run" "$(rate "$bytes" "$t1" "$t2")"
done
t0=$(now); cp "$work/secret.bin" "$work/copy.bin"; sync "$work/copy.bin"; t1=$(now)
printf 'floor   cp+sync %s\n' "$(rate "$bytes" "$t0" "$t1")"
rm -rf "$work"
