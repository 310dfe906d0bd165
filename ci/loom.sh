#!/usr/bin/env bash
# Loom model checks of the engine's concurrency primitives (the `#[cfg(all(test, loom))]`
# modules beside the code they test): concurrent appends (where one appender completes another's
# installed batch), append vs fetch, retention vs fetch, racing idempotent retries (log.rs),
# commit vs rebalance and its planted unfenced bug (group.rs), poll vs rebalance and its planted
# unfenced bug (engine.rs), waiting vs append (notify.rs).
#
# Time: measured on 2 cores on 2026-12-06: 46 s from a clean target/loom (the release build of
# the loom-instrumented crates), about 9 s after an engine change; the nine models themselves
# run in about 4 s.
#
# Why LOOM_MAX_PREEMPTIONS=2: every bug these protocols guard against (an appender stalled
# between its install and its completion, a reader between the log-start CAS and the unlink, a
# commit between its check and its write, a waiter between its check and its park, a retry
# reading the producer snapshot before the original published it) needs at most two forced
# context switches to show; bound 2 is where loom's (and tokio's, crossbeam's) experience says
# almost all real interleaving bugs appear, while bound 3 multiplies the state space by orders
# of magnitude. The planted bugs are found under this bound (`unfenced_commit_lands_a_zombie`;
# `idempotent_retries_race` finds a double append when the snapshot is published after the
# high watermark moves), which is what shows the bound is enough.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom --cfg crossbeam_loom"
export CARGO_TARGET_DIR=target/loom
export LOOM_MAX_PREEMPTIONS=2
started_s=$SECONDS
cargo test --release -p streamspec-engine --lib
echo "loom: $((SECONDS - started_s))s"

# The engine compiled as loom sees it is linted too (15 s cold, checking only): code used only
# outside loom, or only inside it, shows as dead code here and nowhere else (stop 27 found
# three such items that had failed -D warnings unseen).
started_s=$SECONDS
cargo clippy --release -p streamspec-engine --lib --tests -- -D warnings
echo "loom clippy: $((SECONDS - started_s))s"
