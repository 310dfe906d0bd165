#!/usr/bin/env bash
# streamspec against a real Kafka-protocol broker: tansu (a Kafka-compatible broker in Rust,
# from crates.io), started here on 127.0.0.1 with in-memory storage.
#
# 1. Find tansu $TANSU_VERSION: $TANSU_BIN, /work/tools/tansu/bin, ~/.cargo/bin, PATH. Build it
#    only when none is found (`cargo install`, about 20-60 minutes on 2 shared cores: its
#    dependencies include datafusion), unless TANSU_BUILD=0, in which case the broker steps are
#    skipped with a message.
# 2. Start it on a free port (`tansu broker --listener-url tcp://127.0.0.1:PORT
#    --advertised-listener-url tcp://127.0.0.1:PORT --storage-engine memory://tansu/`), wait
#    until it accepts connections, and always stop it by its pid (trap), whatever fails.
# 3. Run the conformance replay against it and `streamspec kafka` (a short workload), and
#    keep their reports under $OUT_DIR.
#
# Exit code: 0 when every step ran, whatever the broker's divergences (they are findings,
# written to $OUT_DIR and documented in docs/brokers/tansu.md); non-zero when a step could not
# run (no broker, build failure, the broker did not start). Set STRICT=1 to fail on
# divergences as well.
set -euo pipefail

cd "$(dirname "$0")/.."

TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
TANSU_FEATURES="${TANSU_FEATURES:-dynostore}"
OUT_DIR="${OUT_DIR:-target/tansu-check}"
SECONDS_WORKLOAD="${SECONDS_WORKLOAD:-10}"
# Which traces to replay against the broker (a folder or files).
TRACES="${TRACES:-traces/conformance}"
STARTUP_WAIT_S="${STARTUP_WAIT_S:-30}"

# The first tansu of the pinned version found, or nothing.
find_tansu() {
    local candidate
    for candidate in "${TANSU_BIN:-}" /work/tools/tansu/bin/tansu "$HOME/.cargo/bin/tansu" \
        "$(command -v tansu 2>/dev/null || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] &&
            "$candidate" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! TANSU="$(find_tansu)"; then
    if [ "${TANSU_BUILD:-1}" = "0" ]; then
        echo "SKIP: no tansu $TANSU_VERSION found (TANSU_BIN, /work/tools/tansu/bin, ~/.cargo/bin, PATH) and TANSU_BUILD=0"
        exit 0
    fi
    echo "==> building tansu $TANSU_VERSION (features: $TANSU_FEATURES) into target/tools/tansu"
    cargo install tansu --version "$TANSU_VERSION" --locked --features "$TANSU_FEATURES" \
        --root target/tools/tansu
    TANSU=target/tools/tansu/bin/tansu
fi
echo "==> tansu: $TANSU ($("$TANSU" --version))"

# PROFILE=dev reuses a debug build (quicker to build on busy cores; the broker is the slow part).
PROFILE="${PROFILE:-release}"
echo "==> building streamspec with the kafka feature (profile $PROFILE)"
cargo build --profile "$PROFILE" -p streamspec --features kafka
if [ "$PROFILE" = "dev" ]; then
    STREAMSPEC=target/debug/streamspec
else
    STREAMSPEC="target/$PROFILE/streamspec"
fi

# Whether something accepts connections on 127.0.0.1:$1 (bash's /dev/tcp, no other tool).
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free port: a random one in the dynamic range that nothing listens on (bounded tries).
PORT=""
for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! listening "$candidate"; then
        PORT=$candidate
        break
    fi
done
if [ -z "$PORT" ]; then
    echo "no free port found"
    exit 1
fi
mkdir -p "$OUT_DIR"
BROKER_LOG="$OUT_DIR/tansu.log"

"$TANSU" broker \
    --listener-url "tcp://127.0.0.1:$PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine memory://tansu/ >"$BROKER_LOG" 2>&1 &
TANSU_PID=$!
stop_broker() {
    if kill -0 "$TANSU_PID" 2>/dev/null; then
        kill "$TANSU_PID" 2>/dev/null || true
        wait "$TANSU_PID" 2>/dev/null || true
    fi
}
trap stop_broker EXIT

echo "==> waiting for tansu (pid $TANSU_PID) on 127.0.0.1:$PORT"
for _ in $(seq 1 "$STARTUP_WAIT_S"); do
    if listening "$PORT"; then
        break
    fi
    if ! kill -0 "$TANSU_PID" 2>/dev/null; then
        echo "tansu exited; its log:"
        cat "$BROKER_LOG"
        exit 1
    fi
    sleep 1
done
if ! listening "$PORT"; then
    echo "tansu did not listen on 127.0.0.1:$PORT within ${STARTUP_WAIT_S}s; its log:"
    cat "$BROKER_LOG"
    exit 1
fi

status=0
echo "==> conformance replay against kafka://127.0.0.1:$PORT"
"$STREAMSPEC" replay --target "kafka://127.0.0.1:$PORT" $TRACES \
    | tee "$OUT_DIR/replay.txt" || status=$?
echo "<== replay exit $status"

kafka_status=0
echo "==> streamspec kafka --bootstrap 127.0.0.1:$PORT --seconds $SECONDS_WORKLOAD"
"$STREAMSPEC" kafka --bootstrap "127.0.0.1:$PORT" --seconds "$SECONDS_WORKLOAD" \
    --out "$OUT_DIR/kafka" || kafka_status=$?
echo "<== kafka exit $kafka_status"

# Exit 2 from either means a step could not run; 1 means divergences (findings).
if [ "$status" -ge 2 ] || [ "$kafka_status" -ge 2 ]; then
    exit 2
fi
if [ "${STRICT:-0}" = "1" ] && { [ "$status" -ne 0 ] || [ "$kafka_status" -ne 0 ]; }; then
    exit 1
fi
exit 0
