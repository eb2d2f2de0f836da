#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every crate's tests.
# Needs the Rust toolchain (rustfmt and clippy components), Debian's
# PostgreSQL server binaries (the store's PostgreSQL test starts its own
# throwaway server from them) and ssh-keygen (the CLI's threshold tests check
# SSH signatures with it); installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        step "installing rustup component $component"
        rustup component add "$component"
    fi
done

# crates/store/tests/postgres.rs runs /usr/lib/postgresql/*/bin/{initdb,pg_ctl}
# itself in a temp dir on a free port; it never uses the package's default
# cluster, so whether that one got created or started does not matter.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)." >&2
        echo "Install them as root, e.g.:" >&2
        echo "  apt-get install --no-install-recommends postgresql" >&2
        exit 1
    fi
    step "installing PostgreSQL server binaries (Debian package postgresql)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi

# crates/cli/tests/threshold.rs checks `symbolon sign --format ssh` with
# `ssh-keygen -Y verify` and `ssh-keygen -l`.
if ! command -v ssh-keygen >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: ssh-keygen not found." >&2
        echo "Install it as root, e.g.:" >&2
        echo "  apt-get install --no-install-recommends openssh-client" >&2
        exit 1
    fi
    step "installing ssh-keygen (Debian package openssh-client)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-client
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
