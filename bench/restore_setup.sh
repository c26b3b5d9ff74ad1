# Shared by bench/restore.sh and bench/standby.sh (sourced, not run): the deterministic backup pair of the
# restore benchmark in "$work/prod/runtime/backup" (SCALE 1: 187 MB gz / 631 MB of SQL in 24 tables, 9.8 M
# rows; media.taz 0.9 GB, 5,000 files), the standby's older state and `reset_standby`, `check_standby`
# (the standby equals the source), `measure` (wall, CPU, peak memory, the server's CPU) and the manual
# procedure's script "$work/manual.sh". Needs `here` (the repository) and `SCALE` set.
# shellcheck shell=bash
target_dir=${CARGO_TARGET_DIR:-$here/target}

for tool in mariadbd mariadb-install-db mariadb mariadb-dump gzip tar python3; do
    command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin:/usr/local/sbin"
    command -v "$tool" >/dev/null || { echo "bench: '$tool' is not installed" >&2; exit 3; }
done

(cd "$here" && cargo build --release --quiet --example bench_gen)
if [ -z "${SECOURS_BIN:-}" ]; then
    (cd "$here" && cargo build --release --quiet --bin secours)
    SECOURS_BIN="$target_dir/release/secours"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/secours-bench-XXXXXX")
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
die() { echo "bench: $*" >&2; exit 1; }

# The media's owner: daemon:daemon as in the procedure when we are root, else ourselves (an ordinary
# user cannot give files away; the chown still walks every file).
if [ "$(id -u)" = 0 ]; then owner=daemon:daemon; else owner="$(id -un):$(id -gn)"; fi

start_mariadb

# ----- the backup pair in $work/prod/runtime/backup, as production's hourly job makes it -----

files=$(python3 -c "print(max(10, int(5000 * $SCALE)))")
media_mb=$(python3 -c "print(max(1, int(1000 * $SCALE)))")
dump_mb=$(python3 -c "print(max(1, int(200 * $SCALE)))")
echo "== generating (deterministic): $files media files (~$media_mb MB gzip'd), a ~$dump_mb MB gzip'd dump"
"$target_dir/release/examples/bench_gen" "$work/gen" "$files" "$media_mb" "$dump_mb" 2>&1 | sed 's/^/   /'

prod=$work/prod
backup=$prod/runtime/backup
mkdir -p "$prod/web" "$prod/config" "$backup" "$work/secours/web" "$work/secours/config" "$work/secours/runtime"

# prod's database: bench_gen's SQL loaded (--force: it ends with mysqldump's `SET SQL_MODE=@OLD_SQL_MODE`
# without the matching save), then dumped with mariadb-dump as a real backup job would.
sql -e "CREATE DATABASE app CHARACTER SET utf8mb4"
gzip -dc "$work/gen/app.gz" | sql --force app 2>"$work/load.err" || true
if grep ERROR "$work/load.err" | grep -v 'ERROR 1231'; then die "loading bench_gen's SQL failed"; fi
MYSQL_PWD=$pw mariadb-dump --no-defaults --socket="$sock" --user=bench --single-transaction \
    --routines --triggers --events app | gzip -6 >"$backup/app.gz"
# prod's media: bench_gen's files (60 % incompressible "photos", 40 % text "documents"), archived by tar.
tar xzf "$work/gen/media.taz" -C "$prod/web"
(cd "$prod/web" && tar czf "$backup/media.taz" documents pictures)
rm -rf "$work/gen"
# A pair modified seconds ago reads as "being written": date it five minutes back.
touch -d '-5 minutes' "$backup/app.gz" "$backup/media.taz"
raw=$(gzip -dc "$backup/app.gz" | wc -c)
media_bytes=$(find "$prod/web/documents" "$prod/web/pictures" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
echo "   backup: app.gz $(du -h "$backup/app.gz" | cut -f1) gzip'd, $((raw / 1000000)) MB of SQL;" \
    "media.taz $(du -h "$backup/media.taz" | cut -f1), $media_bytes bytes of files"

# What a right restore gives: the source database's fingerprint and the media's file count and bytes.
fingerprint() { # DB → "tables views+routines rows checksum-of-t0"
    local tables sum others
    tables=$(sql -N -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='$1' AND TABLE_TYPE='BASE TABLE' ORDER BY 1" "$1")
    sum=$(for t in $tables; do printf '(SELECT COUNT(*) FROM `%s`)+' "$t"; done)
    others=$(sql -N -e "SELECT (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='$1')
        + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='$1')")
    echo "$(echo "$tables" | wc -w) $others $(sql -N -e "SELECT ${sum}0" "$1") $(sql -N -e 'CHECKSUM TABLE `t0`' "$1" | cut -f2)"
}
media_of() { # WEB → "files bytes"
    find "$1/documents" "$1/pictures" -type f -printf '%s\n' | awk '{ n++; s += $1 } END { print n, s }'
}
want_db=$(fingerprint app)
want_media=$(media_of "$prod/web")
echo "   source: $want_db (tables, views+routines, rows, checksum of t0); media $want_media (files, bytes)"

# ----- the standby's older state, and how to put it back -----

echo "== preparing the standby's older state"
# Database: the same data 10 % older (every tenth row of each table missing), plus objects prod no
# longer has, kept as a dump that each reset imports.
tables=$(sql -N -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='app' AND TABLE_TYPE='BASE TABLE'")
for t in $tables; do sql app -e "DELETE FROM \`$t\` WHERE id % 10 = 3"; done
sql app <<'SQL'
CREATE TABLE old_stuff (id INT PRIMARY KEY, label VARCHAR(20));
INSERT INTO old_stuff VALUES (1, 'ancien'), (2, 'état');
CREATE VIEW old_view AS SELECT label FROM old_stuff;
CREATE PROCEDURE old_proc() SELECT COUNT(*) FROM old_stuff;
SQL
MYSQL_PWD=$pw mariadb-dump --no-defaults --socket="$sock" --user=bench --single-transaction \
    --routines --triggers --events app | gzip -6 >"$work/previous.gz"
sql -e "DROP DATABASE app"
# Media: 10 % of the files missing, 50 old files that prod no longer has.
mkdir -p "$work/previous-media"
cp -a "$prod/web/documents" "$prod/web/pictures" "$work/previous-media/"
find "$work/previous-media" -type f | sort | awk 'NR % 10 == 0' | xargs rm -f
python3 - "$work/previous-media/documents/ancien" <<'PY'
import os, random, sys
os.makedirs(sys.argv[1], exist_ok=True)
r = random.Random(7)
for i in range(50):
    with open(os.path.join(sys.argv[1], f"ancien_{i:02}.pdf"), "wb") as f:
        f.write(r.randbytes(20000 + 997 * i))
PY
chown -R "$owner" "$work/previous-media"

cat >"$prod/config/db.php" <<PHP
<?php
return [
    'class' => 'yii\\db\\Connection',
    'dsn' => 'mysql:host=127.0.0.1;port=$port;dbname=app',
    'username' => 'bench',
    'password' => '$pw',
    'charset' => 'utf8mb4',
];
PHP
sed 's/dbname=app/dbname=app_secours/' "$prod/config/db.php" >"$work/secours/config/db.php"
cat >"$work/config.toml" <<TOML
language = "en"

[environments.prod]
root = "$prod"

[environments.secours]
root = "$work/secours"

[watch]
environments = ["prod"]

[restore]
target = "secours"
owner = "$owner"

[time-machine]
enabled = false
TOML
secours=(env SECOURS_LANG=en LANG=C "$SECOURS_BIN" --config "$work/config.toml")

# Puts the standby back to its older state, then lets the disks and InnoDB settle.
reset_standby() {
    rm -rf "$work/secours/web/documents" "$work/secours/web/pictures" "$work/secours/.secours-previous"
    cp -a "$work/previous-media/documents" "$work/previous-media/pictures" "$work/secours/web/"
    sql -e "DROP DATABASE IF EXISTS app_secours; CREATE DATABASE app_secours CHARACTER SET utf8mb4"
    "${secours[@]}" --data-dir "$work/reset-data" db import "$work/previous.gz" --env secours --json >/dev/null ||
        die "the reset's import failed"
    sync
    sql -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
    for _ in $(seq 240); do
        [ "$(sql -N -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | cut -f2)" -lt 50 ] && break
        sleep 0.5
    done
    sql -e "SET GLOBAL innodb_max_dirty_pages_pct = 90"
}

# The standby must equal the source after every timed run.
check_standby() { # LABEL
    local db media own
    db=$(fingerprint app_secours)
    media=$(media_of "$work/secours/web")
    own=$(find "$work/secours/web/documents" "$work/secours/web/pictures" ! -user "${owner%%:*}" | wc -l)
    [ "$db" = "$want_db" ] || die "$1: the database is '$db', the source's is '$want_db'"
    [ "$media" = "$want_media" ] || die "$1: the media are '$media', the source's are '$want_media'"
    [ "$own" = 0 ] || die "$1: $own media entries are not owned by '$owner'"
    echo "   checked: database $db, media $media, all owned by $owner"
}

# ----- timing -----

TIME_BIN=${TIME_BIN:-/usr/bin/time}
tck=$(getconf CLK_TCK)
server_cpu() { awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$(cat "$work/pid")/stat"; }

# measure ROUND NAME CMD… → appends {round, name, wall, cpu (user+sys of the command and its children),
# rss (peak KiB of its largest process, null without GNU time), server (mariadbd's CPU seconds
# meanwhile), failed} to $work/results.jsonl; the command's stdout goes to $work/NAME.out. Returns 1
# when the command failed: the run is reported as failed and left out of the results.
measure() {
    local round=$1 name=$2 s0 wall user sys rss=null srv failed=false
    shift 2
    s0=$(server_cpu)
    if [ -x "$TIME_BIN" ]; then
        "$TIME_BIN" -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
            failed=true
        # After a failure GNU time writes "Command exited with non-zero status N" first.
        read -r wall user sys rss < <(tail -n 1 "$work/$name.time")
    else
        local TIMEFORMAT='%R %U %S'
        { time "$@" >"$work/$name.out" 2>"$work/$name.err"; } 2>"$work/$name.time" || failed=true
        read -r wall user sys <"$work/$name.time"
    fi
    srv=$(python3 -c "print(round($(server_cpu) - $s0, 2))")
    python3 - "$work" "$round" "$name" "$wall" "$user" "$sys" "$rss" "$srv" "$failed" <<'PY'
import json, sys
work, rnd, name, wall, user, sys_, rss, srv, failed = sys.argv[1:]
rec = {"round": int(rnd), "name": name, "wall": float(wall), "cpu": float(user) + float(sys_),
       "rss": json.loads(rss), "server": float(srv), "failed": failed == "true"}
if rec["failed"]:
    err = open(f"{work}/{name}.err").read() + open(f"{work}/{name}.out").read()
    try:
        err = json.loads(open(f"{work}/{name}.out").read())["error"]
    except (ValueError, KeyError):
        pass
    rec["error"] = err.strip()
    print(f"   {name:<9} FAILED after {rec['wall']:.2f} s:\n" + "\n".join("      " + l for l in err.strip().splitlines()))
elif name == "manual":
    marks = [l.split() for l in open(f"{work}/manual.marks")]
    rec["steps"] = {b[0]: float(b[1]) - float(a[1]) for a, b in zip(marks, marks[1:])}
elif name == "prestage":
    r = json.load(open(f"{work}/{name}.out"))
    if r.get("result") != "proven":
        raise SystemExit(f"the pre-staging did not prove the pair: {r}")
    s = r["staged"]
    rec["steps"] = {"media": s["media_seconds"], "database": s["import_seconds"]}
else:
    r = json.load(open(f"{work}/{name}.out"))["restore"]
    rec["steps"] = {"plan": float(wall) - r["seconds"], **dict(r["steps"])}
if not rec["failed"]:
    print(f"   {name:<9} {rec['wall']:8.2f} s   client CPU {rec['cpu']:7.2f} s   server CPU {rec['server']:7.2f} s"
      f"   peak RSS {rec['rss'] or '?'} KiB")
open(f"{work}/results.jsonl", "a").write(json.dumps(rec) + "\n")
PY
    sync
    [ "$failed" = false ]
}

# The procedure, by hand: files first, then the database, one command after the other. `mark` only
# notes the time between commands (for the per-command seconds).
cat >"$work/manual.sh" <<SH
set -euo pipefail
export MYSQL_PWD='$pw'
mark() { echo "\$1 \$(date +%s.%N)" >>'$work/manual.marks'; }
: >'$work/manual.marks'; mark start
cd '$work/secours/web'
rm -rf documents pictures;                        mark rm
tar xzf '$backup/media.taz';                      mark tar
chown -R '$owner' documents pictures;             mark chown
db() { mariadb --no-defaults --host=127.0.0.1 --port=$port --user=bench "\$@" app_secours; }
{
    echo 'SET FOREIGN_KEY_CHECKS=0;'
    db -N <<'SQL'
SELECT CONCAT('DROP VIEW IF EXISTS \`', TABLE_NAME, '\`;') FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE();
SELECT CONCAT('DROP TABLE IF EXISTS \`', TABLE_NAME, '\`;') FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW';
SELECT CONCAT('DROP ', ROUTINE_TYPE, ' IF EXISTS \`', ROUTINE_NAME, '\`;') FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE();
SELECT CONCAT('DROP EVENT IF EXISTS \`', EVENT_NAME, '\`;') FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE();
SQL
} | db;                                             mark drop
gunzip -c '$backup/app.gz' | db;                  mark import
SH

