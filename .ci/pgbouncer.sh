#!/usr/bin/env bash
# Starts a throw-away PgBouncer (Debian's package) in transaction mode in front of the local
# PostgreSQL, as Neon's pooled endpoint is, on a free port. Every database is passed through; clients
# are trusted as the server trusts them. Run as root (PgBouncer itself refuses root: it runs as
# postgres). Prints the variables CI needs (eval "$(.ci/pgbouncer.sh)"):
#   PGBOUNCER_PORT  where it listens, on 127.0.0.1
#   PGBOUNCER_PID   its process, for `kill` when done
#   PGBOUNCER_DIR   its configuration and log, to remove when done
set -Eeuo pipefail

PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432}
pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ ! -x "$pgbouncer" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  pgbouncer=/usr/sbin/pgbouncer
fi

dir=$(mktemp -d /tmp/tasks-pgbouncer.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
; pg sends these at connect; PgBouncer refuses clients sending parameters it does not track.
ignore_startup_parameters = extra_float_digits,options,application_name
max_client_conn = 500
; A client waiting for a server connection gives up after 3 s (PgBouncer's default is 120 s), so a
; database that went away answers 503 within seconds here too, as it does on the direct pass.
query_wait_timeout = 3
; After a failed login PgBouncer refuses every client at once ("server login has been failing") and
; tries the server again only this many seconds later (default 15): a database that is back would
; stay unreachable through the pooler for up to 15 s (measured: 11.9 s).
server_login_retry = 1
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
# With trust, a user only has to be listed.
printf '"postgres" ""\n"tasks_tls" ""\n' >"$dir/userlist.txt"
chown -R postgres:postgres "$dir"

runuser -u postgres -- "$pgbouncer" -d "$dir/pgbouncer.ini" >&2
for _ in $(seq 1 50); do
  [ -s "$dir/pgbouncer.pid" ] && pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$port" || {
  cat "$dir/pgbouncer.log" >&2
  exit 1
}

echo "PGBOUNCER_PORT=$port"
echo "PGBOUNCER_PID=$(cat "$dir/pgbouncer.pid")"
echo "PGBOUNCER_DIR=$dir"
