# Shared by the benchmarks (sourced, not run): a throwaway MariaDB server in "$work", with a password user
# `bench` (all privileges) for TCP and the socket. Needs `work` set; defines `sock`, `port`, `user`, `pw`,
# `sql` (the mariadb client as `bench`) and an EXIT trap that stops the server and removes "$work"
# (unless KEEP=1).

sock="$work/sock"
user=$(id -un)
pw=bench-pw
cleanup() {
    if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; sleep 1; fi
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

start_mariadb() {
    echo "== starting a throwaway MariaDB in $work"
    mariadb-install-db --no-defaults --user="$user" --datadir="$work/data" \
        --auth-root-authentication-method=socket --skip-test-db >"$work/install.log" 2>&1
    cat >"$work/init.sql" <<SQL
CREATE USER 'bench'@'%' IDENTIFIED BY '$pw';
CREATE USER 'bench'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'bench'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'bench'@'localhost' WITH GRANT OPTION;
SQL
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mariadbd --no-defaults --user="$user" --datadir="$work/data" --socket="$sock" --port="$port" \
        --bind-address=127.0.0.1 --pid-file="$work/pid" --init-file="$work/init.sql" \
        --innodb-buffer-pool-size=512M --innodb-log-file-size=256M --max-allowed-packet=256M \
        --log-error="$work/error.log" &
    for _ in $(seq 60); do [ -S "$sock" ] && break; sleep 0.5; done
    sleep 1
    [ -f "$work/pid" ] || { echo "bench: MariaDB did not start; see $work/error.log" >&2; exit 1; }
}

sql() { MYSQL_PWD=$pw mariadb --no-defaults --socket="$sock" --user=bench "$@"; }
