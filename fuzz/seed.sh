#!/usr/bin/env bash
# Seeds each parser target's corpus from the repository's example files, so libFuzzer starts
# from valid inputs and mutates toward the edges instead of discovering JSON from nothing.
# The corpus directories are git-ignored: the examples are the committed source of truth.
#
#   fuzz/seed.sh    (from anywhere; idempotent)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# seed TARGET DIR PATTERN...: copies the matching files under DIR into the target's corpus.
seed() {
    local target="$1" dir="$2"
    shift 2
    [ -d "$dir" ] || return 0
    local count=0 name
    for pattern in "$@"; do
        while IFS= read -r -d '' file; do
            name="seed-$(echo "$file" | tr '/' '_')"
            mkdir -p "fuzz/corpus/$target"
            cp "$file" "fuzz/corpus/$target/$name"
            count=$((count + 1))
        done < <(find "$dir" -type f -name "$pattern" -print0)
    done
    if [ "$count" -gt 0 ]; then
        echo "seeded $target with $count files from $dir/"
    fi
}

seed trace_parser traces '*.jsonl' '*.json'
seed history_parser histories '*.jsonl' '*.json'
# Histories are made from the traces by a small program (sequential and overlapping shapes).
if [ -d traces ]; then
    cargo run --quiet --manifest-path fuzz/Cargo.toml --example seed_histories
fi
seed workload_parser workloads '*.toml'

# The differential target decodes the same steps as model_invariants: start it from what the
# model target has already found (when it has run here before).
if [ -d fuzz/corpus/model_invariants ]; then
    mkdir -p fuzz/corpus/differential
    cp -n fuzz/corpus/model_invariants/* fuzz/corpus/differential/ 2>/dev/null || true
    echo "seeded differential from the model_invariants corpus"
fi
