#!/usr/bin/env bash
# The main job, end to end, on a throwaway directory: make identities for five
# custodians, split a secret file into five shards sealed one to each (any
# three rebuild it), then combine three of them and check the result.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p symbolon-cli
sym=target/release/symbolon
work=${1:-$(mktemp -d)}
mkdir -p "$work"
echo "working in $work" >&2

head -c 1000000 /dev/urandom > "$work/secret.bin"
$sym keygen --out "$work/dealer.id" > "$work/dealer.pub"
recipients=()
for who in alice bob carol dave erin; do
    pub=$($sym keygen --out "$work/$who.id")
    recipients+=(--recipient "$who=$pub")
done

$sym split --threshold 3 --shares 5 --in "$work/secret.bin" --out-dir "$work/shards" \
    "${recipients[@]}" --sign-with "$work/dealer.id" --expires-in 30d --label demo
$sym inspect "$work/shards/share-2.sym"
$sym combine "$work/shards/share-1.sym" "$work/shards/share-3.sym" "$work/shards/share-5.sym" \
    --identity "$work/alice.id" --identity "$work/carol.id" --identity "$work/erin.id" \
    --trust-signer "$(cat "$work/dealer.pub")" --out "$work/rebuilt.bin"
cmp "$work/secret.bin" "$work/rebuilt.bin"
echo "OK: 3 of 5 sealed shards rebuilt the secret ($work/rebuilt.bin)" >&2
