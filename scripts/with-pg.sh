#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster on a free loopback port:
#   scripts/with-pg.sh cargo test
# The command sees TEST_DATABASE_URL (the cluster's `postgres` database; the test harness creates
# and drops one database per test) and DATABASE_URL (a database `foerderakte` for the service).
# Installs PostgreSQL from Debian if its server binaries are missing. The cluster is removed when
# the command ends, whatever its outcome. PG_EXTRA_OPTS adds server options (e.g.
# "-c shared_preload_libraries=pg_stat_statements" for a profile).
set -euo pipefail

find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir)
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  return 1
}

if ! B=$(find_bindir); then
  echo "with-pg: PostgreSQL server binaries not found; installing from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  apt-get install -y -qq postgresql >/dev/null
  B=$(find_bindir)
fi

# initdb and postgres refuse to run as root: run them as the `postgres` user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

DIR=$(mktemp -d /tmp/foerderakte-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
cleanup() {
  as_pg "$B/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$B/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
as_pg "$B/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start -o \
  "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_EXTRA_OPTS:-}" >/dev/null
"$B/createdb" -h 127.0.0.1 -p "$PORT" -U postgres foerderakte
echo "with-pg: PostgreSQL $("$B/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/foerderakte"
"$@"
