#!/usr/bin/env bash
# Makes one database of the local PostgreSQL TLS-only with password authentication, as Neon and most
# hosted PostgreSQL are: a throw-away CA and server certificate, ssl = on, and pg_hba rules that
# reject that database's plaintext connections and want SCRAM over TLS. Every other database keeps
# the trust access it had. Idempotent (the CA is made once and kept), reload only (never a restart),
# under a lock shared with anyone else changing the server's configuration.
#
# Run as root. Prints the variables the tests need (eval "$(.ci/tls-postgres.sh)"):
#   TLS_DATABASE_URL  postgresql://tasks_tls:…@127.0.0.1:5432/tasks_tls?sslmode=verify-full
#   TLS_DATABASE_CA   the CA certificate that signed the server's (for NODE_EXTRA_CA_CERTS or sslrootcert)
set -Eeuo pipefail

PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER
db=tasks_tls role=tasks_tls password=tasks-tls-password
dir=/var/tmp/tasks-api-tls
psql() { command psql -qAtX -v ON_ERROR_STOP=1 -d postgres "$@"; }

exec 9>/tmp/tasks-pg-config.lock
flock 9

data_dir=$(psql -c 'show data_directory')
hba_file=$(psql -c 'show hba_file')

if [ ! -s "$dir/server.crt" ]; then
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=Tasks API test CA' \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 644 ca.crt
  )
fi
# The server reads its certificate and key from its data directory: owned by postgres, key mode 600.
install -o postgres -g postgres -m 600 "$dir/server.crt" "$data_dir/tasks-tls-server.crt"
install -o postgres -g postgres -m 600 "$dir/server.key" "$data_dir/tasks-tls-server.key"

if [ "$(psql -c 'show ssl')" != on ]; then
  psql -c "alter system set ssl_cert_file = 'tasks-tls-server.crt'" \
    -c "alter system set ssl_key_file = 'tasks-tls-server.key'" \
    -c "alter system set ssl = on"
fi

# Our rules first (pg_hba is first match wins), between markers so a rerun replaces them.
begin='# tasks-api TLS-only test database (begin)' end='# tasks-api TLS-only test database (end)'
rules=$(printf '%s\nhostnossl %s all 127.0.0.1/32 reject\nhostssl %s %s 127.0.0.1/32 scram-sha-256\n%s' \
  "$begin" "$db" "$db" "$role" "$end")
rest=$(sed "/^$begin\$/,/^$end\$/d" "$hba_file")
printf '%s\n%s\n' "$rules" "$rest" >"$hba_file.new"
chown --reference="$hba_file" "$hba_file.new"
chmod --reference="$hba_file" "$hba_file.new"
mv "$hba_file.new" "$hba_file"

psql -c "select pg_reload_conf()" >/dev/null
# The reload is asynchronous: wait until the server answers over TLS.
for _ in $(seq 1 50); do
  [ "$(psql -c 'show ssl')" = on ] && break
  sleep 0.1
done

psql <<SQL
select format('create role %I login createdb', '$role') where not exists (select 1 from pg_roles where rolname = '$role')
\gexec
set password_encryption = 'scram-sha-256';
alter role $role with login createdb password '$password';
select format('create database %I owner %I', '$db', '$role') where not exists (select 1 from pg_database where datname = '$db')
\gexec
SQL

echo "TLS_DATABASE_URL='postgresql://$role:$password@127.0.0.1:$PGPORT/$db?sslmode=verify-full'"
echo "TLS_DATABASE_CA='$dir/ca.crt'"
