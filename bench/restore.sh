#!/usr/bin/env bash
# Benchmark: a whole `secours restore` against the manual procedure's commands run one after the other
# (procedure-de-secours.md: `rm -rf documents pictures`, `tar xzf media.taz`, `chown -R`, drop every
# table, `gunzip | mariadb`), on the same deterministic backup pair and the same "before" state of the
# standby, in one throwaway MariaDB server. Prints times, ratios, Secours's seconds per step, CPU and
# peak memory, and checks after every run that the standby equals the source (so a broken run cannot
# look fast). Goal: Secours ≤ 0.6× the manual time.
#
# Not a test: run by hand.   bench/restore.sh            (~200 MB dump + ~1 GB / ~5,000 files; ~15 min)
#                            SCALE=0.05 bench/restore.sh (a quick smoke run)
# Environment: SCALE (1 = the sizes above), ROUNDS (default 1; the median run is reported), SECOURS_BIN (default: builds the release binary), KEEP=1 keeps
# the temporary folder.
# Needs: mariadbd, mariadb-install-db, mariadb, mariadb-dump, gzip, tar, python3 (and cargo for
# examples/bench_gen.rs); /usr/bin/time for CPU and peak memory, if present (else bash's `time`).
#
# Three timed runs, each after the standby was reset (untimed) to the same older state: an older copy
# of the database (10 % fewer rows, plus an old table, view and procedure) and older media (10 % of the
# files missing, 50 old ones extra), owned by daemon:daemon, page cache synced, InnoDB's dirty pages
# flushed.
#   manual      the procedure's commands, as a person would type them (the DROP statements generated
#               from information_schema with the mariadb client);
#   cold        `secours restore --yes --json --from <folder>` with a fresh data dir: it verifies both
#               files, snapshots the standby's database, extracts + imports in parallel, swaps, checks;
#   verified    the same after `secours verify <folder>` (untimed), as in the app, whose watcher
#               verifies each new backup when it arrives.
# Secours's steps overlap (snapshot → database ∥ media), so they do not add up to its time; "plan" is
# what runs before the journaled steps (verification of the pair and the preflight).
#
# A run on the quiet 2-core build machine (2026-11-25, MariaDB 10.11, release build, SCALE=1, ROUNDS=3:
# 187 MB gz / 631 MB of SQL in 24 tables, 9.8 M rows; media.taz 0.9 GB, 5,000 files), medians:
#   manual 53.1 s (50.0–53.4); secours cold 30.5 s (28.8–31.7) → 0.57×, verified 29.5 s (26.7–30.0) → 0.56×.
#   Secours's steps: snapshot 0.05 s (tables set aside by RENAME), database 28 s ∥ media 4–6 s, check 1 s.
#   (Earlier the same day, with a dumped snapshot: 44–46 s, 0.74–0.77×.)
set -euo pipefail

SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/restore_setup.sh
. "$here/bench/restore_setup.sh"

# One timed run, after a reset of the standby to its older state, then the check.
run() { # ROUND NAME
    reset_standby
    case $2 in
    manual) measure "$1" manual bash "$work/manual.sh" || return 0 ;;
    cold)
        rm -rf "$work/data-cold"
        measure "$1" cold "${secours[@]}" --data-dir "$work/data-cold" restore --yes --json --from "$backup" ||
            return 0
        ;;
    verified)
        rm -rf "$work/data-verified"
        "${secours[@]}" --data-dir "$work/data-verified" verify "$backup" >/dev/null || die "secours verify failed"
        measure "$1" verified "${secours[@]}" --data-dir "$work/data-verified" restore --yes --json --from "$backup" ||
            return 0
        ;;
    esac
    check_standby "$2"
}

# ROUNDS rounds of the three runs, the order rotating from one round to the next, so that neither a busy
# moment of the shared machine nor a position in the round (what the previous run left to delete)
# favours one contender.
order=(manual cold verified)
for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS (each run after a reset of the standby to its older state)"
    for i in 0 1 2; do run "$round" "${order[$(((round - 1 + i) % 3))]}"; done
done

python3 - "$work/results.jsonl" <<'PY'
import json, sys
everything = [json.loads(l) for l in open(sys.argv[1])]
recs = [r for r in everything if not r["failed"]]
failures = [r for r in everything if r["failed"]]
names = {"manual": "manual procedure", "cold": "secours restore, cold", "verified": "secours restore, pre-verified"}
best = {}
print("\n== results (the median run of each; every successful run in brackets, seconds)")
for name, label in names.items():
    runs = sorted((r for r in recs if r["name"] == name), key=lambda r: r["wall"])
    if not runs:
        print(f"{label:<30}  no successful run")
        continue
    best[name] = r = runs[(len(runs) - 1) // 2]  # the lower median
    ratio = f"   ratio {r['wall'] / best['manual']['wall']:.2f}" if name != "manual" and "manual" in best else ""
    print(f"{label:<30} {r['wall']:7.2f} s{ratio}   (" + ", ".join(f"{x['wall']:.1f}" for x in runs) + ")")
if "manual" in best and ("cold" in best or "verified" in best):
    print("goal ≤ 0.60×: " + ", ".join(f"{k} {'met' if best[k]['wall'] / best['manual']['wall'] <= 0.6 else 'NOT met'}"
                                       for k in ("cold", "verified") if k in best))
if "manual" in best:
    print("\nmanual, seconds per command: " + "  ".join(f"{k} {v:.2f}" for k, v in best["manual"]["steps"].items()))
order = ["plan", "verify", "preflight", "snapshot", "database", "media", "set-aside", "swap", "check"]
print("secours, seconds per step (snapshot → database runs alongside media; plan = verification of the")
print("pair + preflight, before the journaled steps):")
print(" " * 15 + "".join(f"{s:>10}" for s in order))
for name in ("cold", "verified"):
    if name in best:
        print(f"   {name:<12}" + "".join(f"{best[name]['steps'].get(s, 0):10.2f}" for s in order))
print("\nclient CPU (user+sys) / server CPU (mariadbd) / peak RSS, of the same runs:")
for name, r in best.items():
    note = " (largest process of the sequence)" if name == "manual" else ""
    print(f"   {name:<12} {r['cpu']:6.2f} s / {r['server']:6.2f} s / {r['rss'] or '?'} KiB{note}")
for r in failures:
    print(f"\nFAILED: round {r['round']}, {names[r['name']]}, after {r['wall']:.1f} s:\n   {r['error']}")
sys.exit(1 if failures else 0)
PY
