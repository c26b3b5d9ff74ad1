#!/usr/bin/env bash
# Benchmark (not a test): the menu-bar app's refresh — what it does every 15 s and whenever a watched folder
# changes — must cost ≤ 20 ms whatever the size of the archives (it reads metadata only). Times it on the
# demo (archives of a few KB), then on the same demo whose backup pair was replaced by ~1.2 GB of archives
# (the data of bench/verify_copy.sh, generated once into $BENCH_DIR), and prints medians, the slowest
# round, and the ratio between the two sizes.
#
#   bash bench/refresh.sh          Optional: BENCH_DIR=/tmp/secours-bench ROUNDS=200
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/secours-bench}
ROUNDS=${ROUNDS:-200}
DATA="$BENCH_DIR/data-5000-1000-200"

cargo build --release --quiet --bin secours --example bench_gen --example bench_refresh
TARGET=${CARGO_TARGET_DIR:-target}/release
if [ ! -f "$DATA/done" ]; then
    echo "generating data into $DATA (once)…" >&2
    mkdir -p "$DATA"
    "$TARGET/examples/bench_gen" "$DATA" 5000 1000 200
    touch "$DATA/done"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/secours-refresh-XXXXXX")
trap 'rm -rf "$work"' EXIT
SECOURS_DATA_DIR="$work/data" SECOURS_CONFIG="$work/site/config.toml" \
    "$TARGET/secours" demo --no-ui --dir "$work/site" >/dev/null 2>&1
config="$work/site/config.toml"
backup=$(dirname "$(ls "$work"/site/prod/runtime/backup/*.gz)")
dbfile=$(ls "$backup"/*.gz)

refresh() {
    "$TARGET/examples/bench_refresh" "$config" "$work/data" "$ROUNDS"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }

small=$(refresh)
size_small=$(du -cb "$dbfile" "$backup/media.taz" | tail -1 | cut -f1)
# The same names, now ~1.2 GB: linked where the file system allows it, else copied.
ln -f "$DATA/app.gz" "$dbfile" 2>/dev/null || cp "$DATA/app.gz" "$dbfile"
ln -f "$DATA/media.taz" "$backup/media.taz" 2>/dev/null || cp "$DATA/media.taz" "$backup/media.taz"
touch "$dbfile" "$backup/media.taz"
large=$(refresh)
size_large=$(du -cb "$dbfile" "$backup/media.taz" | tail -1 | cut -f1)

printf '%-34s %8s ms median %8s ms slowest  (%s rounds) — menu: %s\n' \
    "demo pair ($size_small bytes)" "$(field "$small" median_ms)" "$(field "$small" slowest_ms)" \
    "$(field "$small" rounds)" "$(field "$small" first_line)"
printf '%-34s %8s ms median %8s ms slowest  (%s rounds) — menu: %s\n' \
    "large pair ($size_large bytes)" "$(field "$large" median_ms)" "$(field "$large" slowest_ms)" \
    "$(field "$large" rounds)" "$(field "$large" first_line)"
python3 -c "
import sys
s, l = float(sys.argv[1]), float(sys.argv[2])
print(f'large / demo = {l / s:.2f}; budget 20 ms: {\"met\" if l <= 20 else \"NOT met\"}')
" "$(field "$small" median_ms)" "$(field "$large" median_ms)"
