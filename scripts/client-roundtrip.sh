#!/usr/bin/env bash
# A generated client works: openapi-python-client turns openapi/openapi.json into a Python client
# without a warning, and tests/client/roundtrip.py creates, submits and reads a case with it
# against the running server. See docs/testing.md, "A generated client".
#
#   scripts/client-roundtrip.sh                       # what CI runs (SQLite)
#   scripts/with-pg.sh scripts/client-roundtrip.sh    # against PostgreSQL
#
# What it does: installs the pinned generator (tests/client/requirements.txt: openapi-python-client
# and every package it pulls in) into a virtualenv, target/client-venv, when that is missing or
# its pins changed; generates the package `foerderakte_client` into target/client/ with
# tests/client/generator.yaml and `--fail-on-warning`, and fails if the generator exits non-zero
# or says "warning" or "error" anywhere in its output (it reports a part of the document it cannot
# read as a warning and leaves that part out of the client); builds the debug binary and serves a
# fresh database (scripts/lib/server.sh: a SQLite file in a temporary folder, or under
# scripts/with-pg.sh a new database on that server, dropped again at the end; the server itself
# applies the migrations and loads the register and the programmes) on a free loopback port;
# mints an applicant token of Eisenach (16063105) and a caseworker token; runs
# tests/client/roundtrip.py with the generated package on PYTHONPATH. The server is stopped on
# exit. The exit status is the round trip's (1 if any check failed).
#
# Environment:
#   CLIENT_DIR   where the generated client, the generator's output and the server log go
#                (default target/client)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REQUIREMENTS=$ROOT/tests/client/requirements.txt
GENERATOR_CONFIG=$ROOT/tests/client/generator.yaml
CLIENT_DIR=${CLIENT_DIR:-$ROOT/target/client}
VENV=$ROOT/target/client-venv

log() { printf 'client-roundtrip.sh: %s\n' "$*" >&2; }

# --- the generator, pinned ------------------------------------------------------------------------
pins=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$pins" ]; then
  log "installing tests/client/requirements.txt into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || {
    log "python3 -m venv failed; on Debian install python3-venv"
    exit 2
  }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$pins" >"$VENV/.requirements.sha256"
fi
# The generator runs its post-processing hooks (ruff) by name: the venv's bin first on PATH, or it
# warns "ruff is not in PATH".
export PATH=$VENV/bin:$PATH
log "generator: $(openapi-python-client --version)"

# --- the client -----------------------------------------------------------------------------------
mkdir -p "$CLIENT_DIR"
rm -rf "$CLIENT_DIR/foerderakte_client"
set +e
(cd "$CLIENT_DIR" && openapi-python-client generate \
  --path "$ROOT/openapi/openapi.json" \
  --config "$GENERATOR_CONFIG" \
  --meta none \
  --output-path foerderakte_client \
  --fail-on-warning) >"$CLIENT_DIR/generate.txt" 2>&1
rc=$?
set -e
if [ "$rc" != 0 ] || grep -qiE 'warning|error' "$CLIENT_DIR/generate.txt"; then
  cat "$CLIENT_DIR/generate.txt" >&2
  log "FAILED: the generator exited $rc or warned (output above, also in $CLIENT_DIR/generate.txt)"
  exit 1
fi
[ -f "$CLIENT_DIR/foerderakte_client/__init__.py" ] || { log "FAILED: no package generated"; exit 1; }
log "generated $CLIENT_DIR/foerderakte_client without warnings: $(find "$CLIENT_DIR/foerderakte_client/api" -name '*.py' ! -name '__init__.py' | wc -l) operations, $(find "$CLIENT_DIR/foerderakte_client/models" -name '*.py' ! -name '__init__.py' | wc -l) models"

# --- the service ----------------------------------------------------------------------------------
# scripts/lib/server.sh: a fresh database (SQLite, or PostgreSQL under scripts/with-pg.sh), served
# on a free loopback port; stopped and dropped on exit.
. scripts/lib/server.sh
server_build
server_start client "$CLIENT_DIR/server.log" --postgres

APPLICANT_TOKEN=$(server_token applicant client-applicant 16063105)
CASEWORKER_TOKEN=$(server_token caseworker client-caseworker)

# --- the round trip -------------------------------------------------------------------------------
set +e
BASE_URL=$BASE APPLICANT_TOKEN=$APPLICANT_TOKEN CASEWORKER_TOKEN=$CASEWORKER_TOKEN \
  PYTHONPATH=$CLIENT_DIR "$VENV/bin/python" tests/client/roundtrip.py
rc=$?
set -e
if grep -q 'internal error\|panicked' "$CLIENT_DIR/server.log"; then
  log "the server log has errors: $CLIENT_DIR/server.log"
fi
exit "$rc"
