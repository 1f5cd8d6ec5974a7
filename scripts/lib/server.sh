# shellcheck shell=bash
# The service on a throw-away database, for the scripts that test it from outside
# (scripts/schemathesis.sh, scripts/browser-test.sh, scripts/client-roundtrip.sh). Sourced, not
# run; the script has `set -euo pipefail` and stands in the repository's root.
#
#   . scripts/lib/server.sh
#   server_build                      # cargo build of the debug binary; sets BIN
#   server_start TAG LOG [--seed-demo] [--postgres]
#   server_token ROLE SUB [AGS]       # prints a token valid for 2 h (AGS: an applicant's)
#
# server_start makes a temporary folder (WORK, /tmp/foerderakte-TAG.XXXXXX); a database in it, a
# SQLite file, or with --postgres and a DATABASE_URL of postgres:// (as scripts/with-pg.sh sets
# it) a fresh database `foerderakte_TAG_<pid>` on that server; with --seed-demo fills it with the
# demo data set (`seed-demo`); serves it on a free loopback port with a random JWT secret (HS256)
# and a random audit key, the server's output in LOG; and waits until /health/ready answers (at
# most ~30 s). Without --seed-demo the server itself applies the migrations and loads the
# register and the programmes on its first start. It exports DATABASE_URL, BIND_ADDR,
# JWT_ALGORITHM, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, AUDIT_KEY and RUST_LOG (default warn) and
# sets BASE (http://127.0.0.1:PORT) and SERVER_PID. On exit the server is stopped, the
# PostgreSQL database dropped and WORK removed. Needs python3 (the free port, the secrets and the
# readiness probe use its standard library only).

SERVER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVER_NAME=$(basename "$0")
WORK=
SERVER_PID=
PG_ADMIN_URL=
PG_DB=
PSQL=

server_log() { printf '%s: %s\n' "$SERVER_NAME" "$*" >&2; }

server_cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$PG_DB" ]; then
    "$PSQL" -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ -n "$WORK" ]; then
    rm -rf "$WORK"
  fi
}
trap server_cleanup EXIT
trap 'exit 130' INT TERM

server_build() {
  cargo build --locked --quiet --bin foerderakte
  BIN=${CARGO_TARGET_DIR:-$SERVER_ROOT/target}/debug/foerderakte
  case "$BIN" in /*) ;; *) BIN=$SERVER_ROOT/$BIN ;; esac
}

server_start() { # TAG LOG [--seed-demo] [--postgres]
  local tag=$1 log_file=$2 seed=false postgres=false start db_url port
  shift 2
  for option in "$@"; do
    case "$option" in
      --seed-demo) seed=true ;;
      --postgres) postgres=true ;;
      *) server_log "server_start: unknown option $option"; return 2 ;;
    esac
  done
  command -v python3 >/dev/null 2>&1 || { server_log "python3 is required"; return 2; }
  WORK=$(mktemp -d "/tmp/foerderakte-$tag.XXXXXX")

  db_url=$WORK/$tag.sqlite3
  if $postgres; then
    case "${DATABASE_URL:-}" in
      postgres://* | postgresql://*)
        PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n1 || true)
        [ -x "$PSQL" ] || { server_log "psql not found (needed for a fresh PostgreSQL database)"; return 2; }
        # The same server, database `postgres` for the administration, a fresh one for the run.
        PG_ADMIN_URL="${DATABASE_URL%/*}/postgres"
        PG_DB="foerderakte_${tag}_$$"
        "$PSQL" -q "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
        db_url="${DATABASE_URL%/*}/$PG_DB"
        ;;
    esac
  fi

  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export DATABASE_URL=$db_url
  export BIND_ADDR=127.0.0.1:$port
  export JWT_ALGORITHM=HS256
  export JWT_SECRET
  JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  # The audit key of this throw-away database (required on PostgreSQL).
  export AUDIT_KEY
  AUDIT_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  export JWT_ISSUER=foerderakte JWT_AUDIENCE=foerderakte-api
  export RUST_LOG=${RUST_LOG:-warn}
  BASE=http://127.0.0.1:$port

  if $seed; then
    server_log "seeding the demo data set into ${DATABASE_URL%%\?*}"
    start=$SECONDS
    "$BIN" seed-demo >"$WORK/seed.txt" 2>"$WORK/seed.log" || { cat "$WORK/seed.log" >&2; return 1; }
    server_log "seeded in $((SECONDS - start)) s: $(head -n1 "$WORK/seed.txt")"
  fi

  mkdir -p "$(dirname "$log_file")"
  "$BIN" serve >"$log_file" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    server_ready && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log_file" >&2; return 1; }
    sleep 0.2
  done
  server_ready || { server_log "the server did not get ready"; return 1; }
  server_log "serving on $BASE"
}

server_ready() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$BASE/health/ready" 2>/dev/null
}

server_token() { # ROLE SUB [AGS]
  if [ -n "${3:-}" ]; then
    "$BIN" token --role "$1" --sub "$2" --ags "$3" --ttl 2h
  else
    "$BIN" token --role "$1" --sub "$2" --ttl 2h
  fi
}
