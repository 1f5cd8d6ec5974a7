#!/usr/bin/env bash
# Times `seed-demo --cases N` of two builds side by side in one run, on a fresh database each
# time, and prints the wall times and their ratio:
#   scripts/seed-compare.sh BASE_REV [N]                      # SQLite files under $TMPDIR
#   scripts/with-pg.sh scripts/seed-compare.sh BASE_REV [N]   # PostgreSQL (DATABASE_URL)
# BASE_REV is built in release mode in a temporary worktree (its own target directory, so a
# first run takes a clean release build); the current checkout is built too. BASE_BIN and
# HEAD_BIN name binaries built already instead. ROUNDS (default 1) alternates base and head.
set -euo pipefail

base_rev=${1:?usage: seed-compare.sh BASE_REV [N]}
n=${2:-1000000}
rounds=${ROUNDS:-1}
root=$(git rev-parse --show-toplevel)
export JWT_SECRET=${JWT_SECRET:-$(printf 'x%.0s' {1..32})}

if [ -z "${HEAD_BIN:-}" ]; then
  (cd "$root" && cargo build --release --bin foerderakte)
  HEAD_BIN="$root/target/release/foerderakte"
fi
if [ -z "${BASE_BIN:-}" ]; then
  wt="${TMPDIR:-/tmp}/foerderakte-base-$(git -C "$root" rev-parse --short "$base_rev")"
  [ -d "$wt" ] || git -C "$root" worktree add --detach "$wt" "$base_rev" >/dev/null
  (cd "$wt" && cargo build --release --bin foerderakte)
  BASE_BIN="$wt/target/release/foerderakte"
fi

pg_url=${DATABASE_URL:-}
reset_db() {
  if [[ "$pg_url" == postgres* ]]; then
    psql -q "$pg_url" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
    echo "$pg_url"
  else
    local f="${TMPDIR:-/tmp}/seed-compare.db"
    rm -f "$f" "$f-wal" "$f-shm"
    echo "$f"
  fi
}

run() {
  local bin=$1 url start end
  url=$(reset_db)
  start=$(date +%s.%N)
  DATABASE_URL=$url "$bin" seed-demo --cases "$n" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

for ((r = 1; r <= rounds; r++)); do
  b=$(run "$BASE_BIN"); h=$(run "$HEAD_BIN")
  printf 'round %d: base %.1f s, head %.1f s, head/base %.2f\n' "$r" "$b" "$h" "$(echo "$h / $b" | bc -l)"
done
reset_db >/dev/null
