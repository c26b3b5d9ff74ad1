#!/usr/bin/env bash
# Benchmark of the standby made ready ahead of time (issue 17): on the restore benchmark's data (see
# bench/restore_setup.sh) and in one run, the manual procedure, today's restore (the pair verified
# beforehand, as the app does when it arrives), and the switch-over from a pre-staged pair:
#   manual    the procedure's commands, one after the other;
#   restore   `secours restore --yes --json --from <folder>` (imports and extracts);
#   prestage  `secours standby --once --json`: the hourly cost, paid ahead of time while nothing is
#             served (wall, Secours's CPU, the server's CPU);
#   swap      `secours restore --yes --json --from <folder>` right after it: the pre-staged tables renamed
#             in, the staged media renamed in.
# Every run starts from the standby's same older state, and the standby must equal the source after each
# restore (so a broken run cannot look fast). Goal: the swap ≤ 2 s whatever the size.
#
# Not a test: run by hand.   bench/standby.sh             (~200 MB dump + ~1 GB / ~5,000 files; ~15 min)
#                            SCALE=0.05 bench/standby.sh  (a quick smoke run)
# Environment: SCALE, ROUNDS (default 1; the median is reported), SECOURS_BIN, KEEP=1, as bench/restore.sh.
#
# Measured on the 2-core build machine (2026-12-05, MariaDB 10.11, release build, SCALE=1, ROUNDS=3, medians:
# 187 MB gz / 631 MB of SQL, 24 tables, 9.8 M rows; media.taz 0.9 GB, 5,000 files):
#   manual 50.4 s (49.7–51.3); secours restore (imports) 26.5 s → 0.52×; swap from the pre-staged pair 0.14 s
#   (0.13–0.14) → 0.003×, 189× faster than importing (database step 0.04 s, check 0.01 s).
#   Pre-staging, paid ahead of time: 40.1 s wall (media 5.7 s, import 33.6 s on one connection), Secours CPU
#   6.9 s, server CPU 32.4 s, peak RSS 30 MiB.
set -euo pipefail

SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/restore_setup.sh
. "$here/bench/restore_setup.sh"

cat >>"$work/config.toml" <<'TOML'

[standby]
prestage = true
TOML

# One round: the three restores each from the standby's older state; the pre-staging right before the swap.
run() { # ROUND NAME
    reset_standby
    case $2 in
    manual) measure "$1" manual bash "$work/manual.sh" || return 0 ;;
    restore)
        rm -rf "$work/data-restore"
        "${secours[@]}" --data-dir "$work/data-restore" verify "$backup" >/dev/null || die "secours verify failed"
        measure "$1" restore "${secours[@]}" --data-dir "$work/data-restore" restore --yes --json --from "$backup" ||
            return 0
        ;;
    swap)
        rm -rf "$work/data-swap"
        "${secours[@]}" --data-dir "$work/data-swap" verify "$backup" >/dev/null || die "secours verify failed"
        sync
        measure "$1" prestage "${secours[@]}" --data-dir "$work/data-swap" standby --once --json || return 0
        # The target was not touched by the pre-staging: it still has its older database.
        [ "$(sql -N -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='app_secours' AND TABLE_NAME='old_stuff'")" = 1 ] ||
            die "the pre-staging changed the target"
        sync
        measure "$1" swap "${secours[@]}" --data-dir "$work/data-swap" restore --yes --json --from "$backup" ||
            return 0
        python3 -c "import json,sys; r=json.load(open('$work/swap.out'))['restore']; sys.exit(0 if r['swapped'] else 1)" ||
            die "the restore did not swap the pre-staged pair in"
        ;;
    esac
    check_standby "$2"
}

order=(manual restore swap)
for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS (each restore after a reset of the standby to its older state)"
    for i in 0 1 2; do run "$round" "${order[$(((round - 1 + i) % 3))]}"; done
done

python3 - "$work/results.jsonl" <<'PY'
import json, sys
everything = [json.loads(l) for l in open(sys.argv[1])]
recs = [r for r in everything if not r["failed"]]
failures = [r for r in everything if r["failed"]]
names = {"manual": "manual procedure", "restore": "secours restore (imports)",
         "swap": "secours restore (pre-staged: swap)", "prestage": "pre-staging (ahead of time)"}
best = {}
print("\n== results (the median run of each; every successful run in brackets, seconds)")
for name, label in names.items():
    runs = sorted((r for r in recs if r["name"] == name), key=lambda r: r["wall"])
    if not runs:
        print(f"{label:<36}  no successful run")
        continue
    best[name] = r = runs[(len(runs) - 1) // 2]
    ratio = ""
    if name in ("restore", "swap") and "manual" in best:
        ratio = f"   ratio to manual {r['wall'] / best['manual']['wall']:.3f}"
    print(f"{label:<36} {r['wall']:8.2f} s{ratio}   (" + ", ".join(f"{x['wall']:.2f}" for x in runs) + ")")
if "swap" in best:
    print(f"goal: the swap ≤ 2 s: {'met' if best['swap']['wall'] <= 2 else 'NOT met'} ({best['swap']['wall']:.2f} s)")
    if "restore" in best:
        print(f"the swap is {best['restore']['wall'] / best['swap']['wall']:.0f}× faster than today's restore")
if "prestage" in best:
    p = best["prestage"]
    print(f"\nhourly pre-staging cost: {p['wall']:.1f} s wall, Secours CPU {p['cpu']:.1f} s, server CPU {p['server']:.1f} s"
          f" (media {p['steps'].get('media', 0):.1f} s, import {p['steps'].get('database', 0):.1f} s), peak RSS {p['rss'] or '?'} KiB")
order = ["plan", "verify", "preflight", "snapshot", "database", "media", "set-aside", "swap", "check"]
print("\nsecours restore, seconds per step:")
print(" " * 15 + "".join(f"{s:>10}" for s in order))
for name in ("restore", "swap"):
    if name in best:
        print(f"   {name:<12}" + "".join(f"{best[name]['steps'].get(s, 0):10.2f}" for s in order))
print("\nclient CPU (user+sys) / server CPU (mariadbd) / peak RSS:")
for name, r in best.items():
    print(f"   {name:<12} {r['cpu']:6.2f} s / {r['server']:6.2f} s / {r['rss'] or '?'} KiB")
for r in failures:
    print(f"\nFAILED: round {r['round']}, {names[r['name']]}, after {r['wall']:.1f} s:\n   {r['error']}")
sys.exit(1 if failures else 0)
PY
