#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every crate's tests.
# Needs only the Rust toolchain (rustfmt and clippy components); installs
# nothing else yet, because nothing else is needed yet.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        step "installing rustup component $component"
        rustup component add "$component"
    fi
done

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
