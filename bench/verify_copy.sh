#!/usr/bin/env bash
# Benchmark (not a test): Secours verify vs `gzip -t`, and Secours copy vs `cp && sync && sha256sum`, on the
# same deterministic data (~1 GB media.taz of ~5,000 files, ~200 MB app.gz), in one run. Prints the time
# ratios and peak memory. Data is generated once into $BENCH_DIR and reused.
#
#   BENCH_DIR=/tmp/secours-bench bash bench/verify_copy.sh
#   Optional: MEDIA_FILES=5000 MEDIA_MB=1000 DUMP_MB=200 ROUNDS=3 (copy rounds, order alternating)
#   BENCH_PROFILE=dev reuses the dev build (dependencies are built at opt-level 2 there, Secours' own code is
#   raised to opt-level 3) instead of a full release build.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/secours-bench}
MEDIA_FILES=${MEDIA_FILES:-5000}
MEDIA_MB=${MEDIA_MB:-1000}
DUMP_MB=${DUMP_MB:-200}
ROUNDS=${ROUNDS:-3}
DATA="$BENCH_DIR/data-$MEDIA_FILES-$MEDIA_MB-$DUMP_MB"

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time for peak-memory measurement" >&2
    apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

if [ "${BENCH_PROFILE:-release}" = dev ]; then
    CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo build --quiet --example bench_gen --example bench_verify
    BIN=${CARGO_TARGET_DIR:-target}/debug/examples
else
    cargo build --release --quiet --example bench_gen --example bench_verify
    BIN=${CARGO_TARGET_DIR:-target}/release/examples
fi

if [ ! -f "$DATA/done" ]; then
    echo "generating data into $DATA (once)…" >&2
    mkdir -p "$DATA"
    "$BIN/bench_gen" "$DATA" "$MEDIA_FILES" "$MEDIA_MB" "$DUMP_MB"
    touch "$DATA/done"
fi
DB="$DATA/app.gz"
MEDIA="$DATA/media.taz"
ls -l "$DB" "$MEDIA" >&2

# measure LABEL CMD… → sets SECS and PEAK_KB; the command's output goes to $BENCH_DIR/last.out.
measure() {
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.txt" "$@" >"$BENCH_DIR/last.out" 2>&1 || {
        echo "FAILED: $label" >&2
        cat "$BENCH_DIR/last.out" >&2
        exit 1
    }
    read -r SECS PEAK_KB <"$BENCH_DIR/time.txt"
    printf '%-34s %8.2f s %9d KiB peak\n' "$label" "$SECS" "$PEAK_KB"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# Warm the page cache so both sides read from memory, as they would right after the backup job ran.
cat "$DB" "$MEDIA" >/dev/null

echo "== verify (both files)"
measure "gzip -t (both, one after the other)" sh -c "gzip -t '$DB' && gzip -t '$MEDIA'"
GZ=$SECS
measure "secours verify (pair)" "$BIN/bench_verify" verify "$DB" "$MEDIA"
SV=$SECS
SV_MEM=$PEAK_KB
grep -q '"verdict":"ok"' "$BENCH_DIR/last.out" || { echo "verify did not say ok" >&2; cat "$BENCH_DIR/last.out" >&2; exit 1; }

echo "== copy (both files, with SHA-256), $ROUNDS rounds, the order alternating; medians"
run_cp() {
    rm -rf "$BENCH_DIR/cp"; mkdir -p "$BENCH_DIR/cp"; sync
    measure "cp && sync && sha256sum" sh -c "cp '$DB' '$MEDIA' '$BENCH_DIR/cp/' && sync && cd '$BENCH_DIR/cp' && sha256sum app.gz media.taz > SHA256SUMS"
    CPS+=("$SECS")
    rm -rf "$BENCH_DIR/cp"; sync
}
run_sc() {
    rm -rf "$BENCH_DIR/secours-copies"; sync
    measure "secours copy (with read-back)" "$BIN/bench_verify" copy "$DB" "$MEDIA" "$BENCH_DIR/secours-copies"
    SCS+=("$SECS"); SC_MEM=$PEAK_KB
    rm -rf "$BENCH_DIR/secours-copies"; sync
}
CPS=(); SCS=()
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then run_cp; run_sc; else run_sc; run_cp; fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
CP=$(median "${CPS[@]}")
SC=$(median "${SCS[@]}")
echo "medians: cp && sync && sha256sum $CP s, secours copy $SC s"

echo "== ratios (Secours / standard tool; goal for verify ≤ 0.35)"
echo "verify: $(ratio "$SV" "$GZ")  (peak memory ${SV_MEM} KiB)"
echo "copy:   $(ratio "$SC" "$CP")  (peak memory ${SC_MEM} KiB)"
