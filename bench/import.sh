#!/usr/bin/env bash
# Benchmark: `secours db import` against `gunzip | mariadb` and `myloader -t 2`, on the same
# deterministic data, into empty databases of one throwaway MariaDB server. Prints times and ratios.
#
# Not a test: run by hand.   bench/import.sh            (~200 MB of SQL, takes minutes)
#                            SCALE=0.05 bench/import.sh (a quick smoke run)
# Environment: SCALE (1 = ~100 MB BLOB-heavy + ~100 MB row-heavy), CONNECTIONS (secours, default 2),
# SECOURS_BIN (default: builds target/release/secours), KEEP=1 keeps the temporary folder.
# Needs: mariadbd, mariadb-install-db, mariadb, mariadb-dump, mydumper, myloader, gzip.
# A run on the quiet 2-core build machine (2026-11-25, MariaDB 10.11, release build, 141 MB gz / 252 MB SQL):
#   gunzip | mariadb 15.4 s, myloader -t 2 8.1 s, secours db import (2 workers) 6.7 s, 1.14 CPU s, 40 MiB
#   → secours / (gunzip | mariadb) = 0.43, secours / myloader = 0.82.
# Another machine of the same kind (2026-11-26), after the client's CPU work: gunzip | mariadb 14.0 s,
#   myloader -t 2 7.7 s, secours 5.9 s, 1.01 CPU s (0.80 s per 200 MB), 40 MiB → 0.42 and 0.77.
set -euo pipefail

SCALE=${SCALE:-1}
CONNECTIONS=${CONNECTIONS:-2}
here=$(cd "$(dirname "$0")/.." && pwd)

for tool in mariadbd mariadb-install-db mariadb mariadb-dump mydumper myloader gzip; do
    command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin:/usr/local/sbin"
    command -v "$tool" >/dev/null || { echo "bench: '$tool' is not installed" >&2; exit 3; }
done

if [ -z "${SECOURS_BIN:-}" ]; then
    (cd "$here" && cargo build --release --quiet --bin secours)
    SECOURS_BIN="$here/target/release/secours"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/secours-bench-XXXXXX")
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
start_mariadb

blob_rows=$(python3 -c "print(max(1, int(400 * $SCALE)))")
plain_rows=$(python3 -c "print(max(1, int(1000000 * $SCALE)))")
echo "== generating: $blob_rows rows of 256 KiB BLOBs, $plain_rows plain rows (deterministic)"
sql -e "CREATE DATABASE src CHARACTER SET utf8mb4"
sql src <<SQL
CREATE TABLE blobs (id INT PRIMARY KEY, name VARCHAR(64), data LONGBLOB) ENGINE=InnoDB;
CREATE TABLE plain (id INT PRIMARY KEY, a INT, b CHAR(32), c DECIMAL(12,2), d DATETIME,
  e VARCHAR(200), KEY ka (a)) ENGINE=InnoDB;
CREATE TABLE notes (id INT PRIMARY KEY, plain_id INT, note TEXT,
  FOREIGN KEY (plain_id) REFERENCES plain (id)) ENGINE=InnoDB;
-- Pseudo-random but deterministic bytes: SHA-512 of the row number, varied per 4 KiB block.
INSERT INTO blobs SELECT seq, CONCAT('blob ', seq),
  (SELECT GROUP_CONCAT(UNHEX(SHA2(CONCAT(b.seq, '-', k.seq), 512)) SEPARATOR '')
     FROM seq_1_to_4096 k)
  FROM seq_1_to_${blob_rows} b;
INSERT INTO plain SELECT seq, seq * 7919 % 100003, MD5(seq), seq / 100,
  '2020-01-01' + INTERVAL seq MINUTE, CONCAT('row ', seq, ' é🚀 ', REPEAT(CHAR(65 + seq % 26), seq % 80))
  FROM seq_1_to_${plain_rows};
INSERT INTO notes SELECT seq, seq, CONCAT('note; "', seq, '" \'x\'') FROM seq_1_to_${plain_rows} WHERE seq % 10 = 0;
CREATE VIEW v_notes AS SELECT n.id, p.b FROM notes n JOIN plain p ON p.id = n.plain_id;
SQL

echo "== dumping with mariadb-dump and mydumper"
MYSQL_PWD=$pw mariadb-dump --no-defaults --socket="$sock" --user=bench --single-transaction \
    --routines --triggers --events src | gzip -6 >"$work/src.gz"
mydumper -S "$sock" -u bench -p "$pw" -B src -o "$work/mydumper" -t 2 -G -E -R >/dev/null 2>&1
raw=$(gzip -dc "$work/src.gz" | wc -c)
echo "   dump: $(du -h "$work/src.gz" | cut -f1) gzip'd, $((raw / 1000000)) MB of SQL"

cat >"$work/config.toml" <<TOML
[watch]
environments = ['bench']

[restore]
target = 'bench'

[environments.bench]
root = '$work/env'

[environments.bench.database]
host = '127.0.0.1'
port = $port
name = 'dst_secours'
user = 'bench'
password = '$pw'
TOML
mkdir -p "$work/env"

now() { date +%s.%N; }
for db in dst_cli dst_myloader dst_secours; do sql -e "CREATE DATABASE $db CHARACTER SET utf8mb4"; done

echo "== gunzip | mariadb"
t0=$(now); gzip -dc "$work/src.gz" | sql dst_cli; t_cli=$(python3 -c "print($(now) - $t0)")
echo "== myloader -t 2"
t0=$(now); myloader -S "$sock" -u bench -p "$pw" -d "$work/mydumper" -B dst_myloader -t 2 >/dev/null 2>&1
t_my=$(python3 -c "print($(now) - $t0)")

count() { sql -N -e "SELECT (SELECT COUNT(*) FROM blobs), (SELECT COUNT(*) FROM plain), (SELECT COUNT(*) FROM notes)" "$1"; }
# secours_import NAME DUMP: times `secours db import` of DUMP into the empty dst_secours, prints its CPU and
# peak memory and the rows it imported, and sets SECS.
secours_import() {
    local timed=()
    [ -x /usr/bin/time ] && timed=(/usr/bin/time -f "%U %S %M" -o "$work/$1.time")
    local t0
    t0=$(now)
    SECOURS_DATA_DIR="$work/secours-data" "${timed[@]}" "$SECOURS_BIN" --config "$work/config.toml" \
        db import "$2" --env bench --connections "$CONNECTIONS" --json >"$work/$1.json"
    SECS=$(python3 -c "print($(now) - $t0)")
    if [ -s "$work/$1.time" ]; then
        read -r cpu_user cpu_sys peak_kb <"$work/$1.time"
        echo "   secours client: $(python3 -c "print(round($cpu_user + $cpu_sys, 2))") CPU s, peak memory $((peak_kb / 1024)) MiB"
    fi
    echo "   rows in dst_secours: $(count dst_secours | tr '\t' ' ')"
}

echo "== secours db import --connections $CONNECTIONS"
secours_import secours "$work/src.gz"
t_se=$SECS

# The same import of the same file once it was verified (by `secours verify`, as the app's watcher does
# for each new backup and a restore does first): the verification remembered what the preflight needs, so
# the import reads the dump once instead of twice.
mkdir -p "$work/pair/documents"
ln -f "$work/src.gz" "$work/pair/src.gz"
tar czf "$work/pair/media.taz" -C "$work/pair" documents
rmdir "$work/pair/documents"
t0=$(now)
SECOURS_DATA_DIR="$work/secours-data" "$SECOURS_BIN" --config "$work/config.toml" verify "$work/pair" --json >"$work/verify.json" \
    || { echo "bench: secours verify failed" >&2; cat "$work/verify.json" >&2; exit 1; }
t_verify=$(python3 -c "print($(now) - $t0)")
sql -e "DROP DATABASE dst_secours; CREATE DATABASE dst_secours CHARACTER SET utf8mb4"
echo "== secours db import --connections $CONNECTIONS, dump verified before (verification: $(python3 -c "print(round($t_verify, 2))") s)"
secours_import secours-verified "$work/pair/src.gz"
t_se2=$SECS

for db in src dst_cli dst_myloader; do echo "   rows in $db: $(count $db | tr '\t' ' ')"; done

python3 - "$t_cli" "$t_my" "$t_se" "$t_se2" <<'PY'
import sys
cli, my, se, se2 = map(float, sys.argv[1:])
print(f"gunzip | mariadb               {cli:8.2f} s")
print(f"myloader -t 2                  {my:8.2f} s")
print(f"secours db import              {se:8.2f} s")
print(f"secours db import, verified    {se2:8.2f} s")
print(f"ratio secours / (gunzip | mariadb) = {se / cli:.2f} (verified: {se2 / cli:.2f})")
print(f"ratio secours / myloader           = {se / my:.2f} (verified: {se2 / my:.2f})")
PY
