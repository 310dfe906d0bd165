#!/usr/bin/env bash
# Loom model checks of the engine's concurrency primitives (the `#[cfg(all(test, loom))]`
# modules beside the code they test): concurrent appends, append vs fetch, retention vs fetch
# (log.rs), commit vs rebalance and its planted unfenced bug (group.rs), waiting vs append
# (notify.rs).
#
# Time: measured on 2 shared cores (load average ~9 from other builds): 2 min 20 s from a clean
# target/loom (the release build of the loom-instrumented crates), 37 s after an engine change;
# the six models themselves run in about 8 s.
#
# Why LOOM_MAX_PREEMPTIONS=2: every bug these protocols guard against (a publish overtaking an
# earlier writer, a reader between the log-start CAS and the unlink, a commit between its check
# and its write, a waiter between its check and its park) needs at most two forced context
# switches to show; bound 2 is where loom's (and tokio's, crossbeam's) experience says almost
# all real interleaving bugs appear, while bound 3 multiplies the state space by orders of
# magnitude. The planted bug in group.rs (`unfenced_commit_lands_a_zombie`) is found under
# this bound, which is what shows the bound is enough for the fence.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom --cfg crossbeam_loom"
export CARGO_TARGET_DIR=target/loom
export LOOM_MAX_PREEMPTIONS=2
started_s=$SECONDS
cargo test --release -p streamspec-engine --lib
echo "loom: $((SECONDS - started_s))s"
