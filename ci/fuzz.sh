#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS_PER_TARGET seconds (default 30), one at a time,
# and fails on any crash, printing each target's execution count.
#
#   ci/fuzz.sh [SECONDS_PER_TARGET]          (FUZZ_TOOLCHAIN=stable: use stable + RUSTC_BOOTSTRAP)
#
# Why these choices:
# - cargo-fuzz needs nightly flags (-Zsanitizer); with no nightly toolchain the stable one is
#   used with RUSTC_BOOTSTRAP=1. If neither can build, the script says "skipped: <why>" and
#   exits 0, so a machine without the tools does not fail CI for the wrong reason.
# - Builds use --debug-assertions so integer overflow panics (a silent wrap is a bug here) and
#   AddressSanitizer (cargo-fuzz's default) because the engine has unsafe code.
# - One target at a time with -jobs unset: CI boxes are small, and a crash is reported under
#   its own target name.
# - Seed corpora are generated, not committed: fuzz/seed.sh copies traces/, histories/ and
#   workloads/ files (whichever exist) into fuzz/corpus/<target>/ (git-ignored).
# - -max_len caps input size (see input_bytes_max); -rss_limit_mb turns a runaway allocation
#   into a reported crash instead of an OOM kill.
# - An hour per target is the issue's bar for closing it; CI runs this for seconds.
set -euo pipefail

seconds="${1:-30}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: ci/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
# Largest input libFuzzer builds, in bytes. The shipped traces reach 260 KiB, and replaying
# inputs that size runs ~250 execs/s instead of thousands; 16 KiB still holds hundreds of
# ops or trace lines, and larger seeds are used cut to this length.
input_bytes_max=16384
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

skip() {
    echo "skipped: $*"
    exit 0
}

# Toolchain: nightly if installed, else stable with RUSTC_BOOTSTRAP=1. FUZZ_TOOLCHAIN=stable
# forces the stable path (to check it works on a machine that has nightly).
toolchain=()
if [ "${FUZZ_TOOLCHAIN:-}" != stable ] && command -v rustup >/dev/null 2>&1 && rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
    echo "toolchain: $(rustup run nightly rustc --version)"
elif rustc --version >/dev/null 2>&1; then
    export RUSTC_BOOTSTRAP=1
    echo "toolchain: $(rustc --version) with RUSTC_BOOTSTRAP=1 (nightly not installed, or FUZZ_TOOLCHAIN=stable)"
else
    skip "no Rust toolchain found"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked || skip "cargo-fuzz is missing and could not be installed"
fi

if ! cargo ${toolchain[@]+"${toolchain[@]}"} fuzz build -O --debug-assertions --fuzz-dir fuzz; then
    # A build failure of our own code is a failure; a toolchain that cannot build sanitizer
    # code at all is a missing tool. Tell them apart with the smallest possible probe.
    probe="$(mktemp -d)"
    echo 'fn main() {}' >"$probe/probe.rs"
    if ! rustc ${toolchain[@]+"${toolchain[@]}"} -Zsanitizer=address -o "$probe/probe" "$probe/probe.rs" \
        >/dev/null 2>&1; then
        rm -rf "$probe"
        skip "this toolchain cannot build AddressSanitizer code"
    fi
    rm -rf "$probe"
    echo "FAIL: the fuzz targets do not build" >&2
    exit 1
fi

fuzz/seed.sh

failed=()
summary=()
for target in $(cargo ${toolchain[@]+"${toolchain[@]}"} fuzz list --fuzz-dir fuzz); do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    log="$(mktemp)"
    echo "== $target: ${seconds}s"
    status=0
    cargo ${toolchain[@]+"${toolchain[@]}"} fuzz run -O --debug-assertions --fuzz-dir fuzz "$target" \
        "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -max_len="$input_bytes_max" \
        >"$log" 2>&1 || status=$?
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    corpus="$(find "fuzz/corpus/$target" -type f | wc -l)"
    if [ "$status" -ne 0 ]; then
        tail -60 "$log"
        failed+=("$target")
        summary+=("$target: CRASH after ${execs:-?} executions; artifacts in fuzz/artifacts/$target/")
    else
        summary+=("$target: ok, ${execs:-?} executions in ${seconds}s, corpus $corpus inputs")
    fi
    rm -f "$log"
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "FAIL: ${failed[*]}" >&2
    exit 1
fi
