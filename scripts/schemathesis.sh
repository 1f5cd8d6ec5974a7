#!/usr/bin/env bash
# Contract fuzzing: runs schemathesis against the served OpenAPI document, once per role.
#
#   scripts/schemathesis.sh                          # CI-sized run (ST_MAX_EXAMPLES=10)
#   ST_MAX_EXAMPLES=200 scripts/schemathesis.sh      # a longer run
#   scripts/with-pg.sh scripts/schemathesis.sh       # against PostgreSQL
#
# What it does: installs a pinned schemathesis into a virtualenv (.venv, git-ignored) if it is not
# there; builds the debug binary; fills a fresh database with the demo data set (`seed-demo`: a
# SQLite file in a temporary folder, or, if DATABASE_URL is a postgres:// URL as set by
# scripts/with-pg.sh, a new database on that server, dropped again at the end); serves it on a free
# loopback port with a random JWT secret; mints a token for each role; writes a schemathesis
# configuration per role whose dictionaries hold ids of real objects visible to that role, so that
# path parameters hit existing cases, notices, payment requests and programmes (and, with the
# remaining probability, random ones); then runs `st run` with all checks and all phases
# (examples, coverage, fuzzing, stateful) once per role. The server is stopped on exit. Exits
# non-zero if any run reported a failure (any 5xx, an undocumented status code, a response that
# violates its schema, a schema-valid request refused, a schema-invalid one accepted, ...).
#
# Environment:
#   ST_MAX_EXAMPLES  test cases per operation and phase (default 10)
#   ST_SEED          the generator's seed (default 20261122); the same seed replays the same run
#   ST_ROLES         the roles to run (default: applicant caseworker approver ministry admin)
#   ST_WORKERS       concurrent schemathesis workers (default 1: with more, Python 3.11 before
#                    3.11.8 may fail in hypothesis with "AST constructor recursion depth mismatch",
#                    a CPython bug in ast.parse across threads, gh-106905)
#   ST_REPORT_DIR    where the JUnit reports and the server log are kept (default
#                    target/schemathesis)
#   ST_EXTRA_ARGS    further arguments for `st run` (e.g. `--max-failures 5`)
#   ST_STRICT_422=1  count a 422 to a schema-valid request as a failure too (see the generated
#                    configuration below): lists the rules the schema does not express
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ST_VERSION=4.32.5
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-10}
ST_SEED=${ST_SEED:-20261122}
ST_ROLES=${ST_ROLES:-applicant caseworker approver ministry admin}
ST_WORKERS=${ST_WORKERS:-1}
ST_REPORT_DIR=${ST_REPORT_DIR:-$ROOT/target/schemathesis}
VENV=$ROOT/.venv

log() { printf 'schemathesis.sh: %s\n' "$*" >&2; }

# --- schemathesis, pinned -------------------------------------------------------------------------
if [ "$("$VENV/bin/st" --version 2>/dev/null || true)" != "st, version $ST_VERSION" ]; then
  log "installing schemathesis $ST_VERSION into $VENV"
  python3 -m venv "$VENV" || {
    log "python3 -m venv failed; on Debian install python3-venv"
    exit 2
  }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
PY=$VENV/bin/python

# --- the service ----------------------------------------------------------------------------------
# scripts/lib/server.sh: the demo data in a fresh database (SQLite, or PostgreSQL under
# scripts/with-pg.sh), served on a free loopback port; stopped and dropped on exit.
. scripts/lib/server.sh
server_build
mkdir -p "$ST_REPORT_DIR"
server_start st "$ST_REPORT_DIR/server.log" --seed-demo --postgres

# --- tokens, one per role -------------------------------------------------------------------------
# The applicant acts for a municipality that has cases in the demo data (Erfurt).
APPLICANT_AGS=${ST_APPLICANT_AGS:-16051000}
token() {
  case "$1" in
    applicant) server_token applicant st-applicant "$APPLICANT_AGS" ;;
    *) server_token "$1" "st-$1" ;;
  esac
}

# --- one configuration per role: dictionaries of real ids -----------------------------------------
# The ids are read through the API with the role's own token (an applicant sees only its own
# cases); roles that may not list cases get the caseworker's ids, and their runs check the 403/404.
write_config() { # role token staff-token file
  "$PY" - "$BASE" "$2" "$3" "$ST_SEED" "${ST_STRICT_422:-0}" >"$4" <<'PY'
import json, random, sys, urllib.request, urllib.error

base, token, staff, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
strict = sys.argv[5] == "1"

def items(value):
    # A page ({"items": [...]}) or a plain array.
    return value.get("items", []) if isinstance(value, dict) else (value or [])

def get(path, tok):
    req = urllib.request.Request(base + "/api/v1" + path, headers={"Authorization": "Bearer " + tok})
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError:
        return None

apps = get("/applications?limit=200", token) or get("/applications?limit=200", staff)
cases = [a["id"] for a in items(apps)]
rng = random.Random(seed)
rng.shuffle(cases)
notices, payments = [], []
# Notices and payment requests of up to 80 of these cases, until there are 20 of each.
for case in cases[:80]:
    if len(notices) >= 20 and len(payments) >= 20:
        break
    for n in items(get(f"/applications/{case}/notices", staff)):
        notices.append(n["id"])
    for p in items(get(f"/applications/{case}/payment-requests", staff)):
        payments.append(p["id"])
cases = cases[:20]
programmes = [p["code"] for p in items(get("/programmes", staff))]

def toml_list(values):
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"

print(f"""# Generated by scripts/schemathesis.sh.

# A write without If-Match is answered 428 Precondition Required (RFC 6585), the status made for
# exactly this; schemathesis' list of expected statuses for a missing required header lacks it.
[checks.missing_required_header]
expected-statuses = [400, 401, 403, 406, 415, 422, 428]

# A write is checked against If-Match before its body, so a schema-invalid body with a stale or
# malformed If-Match is refused with 412 (RFC 9110 evaluates preconditions before the content is
# processed): a rejection like 400 and 422.
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 412, 415, 422, 428, 429, "5XX"]

# A schema-valid request may still be refused for what JSON Schema cannot say: 412 for an
# If-Match that names no current version (schemathesis cannot know the ETag), and 422 for the
# rules between fields and against stored data (cost lines, financing plan and shares adding up,
# a programme or funding object that must exist, a cursor the API did not issue, the lifecycle).
# Every rule on a single field is in the schema (patterns, ranges, lengths), and a 400 (a body or
# parameter the parser refuses) stays a failure. ST_STRICT_422=1 drops the 422 to list them all.
# 428: a budget PUT needs one of two preconditions, If-Match (change) or If-None-Match: *
# (create); OpenAPI cannot say "one of these headers", so both are optional in the schema and a
# request with neither is schema-valid but answered 428 (RFC 6585), as documented.
[checks.positive_data_acceptance]
expected-statuses = ["2XX", "3XX", 401, 403, 404, 409, 412, {'' if strict else '422, '}428, 429, "5XX"]

# Ids of real objects for the path parameters.
[dictionaries.cases]
values = {toml_list(cases)}
[dictionaries.notices]
values = {toml_list(notices[:20] or ["00000000-0000-0000-0000-000000000000"])}
[dictionaries.payment_requests]
values = {toml_list(payments[:20] or ["00000000-0000-0000-0000-000000000000"])}
[dictionaries.programmes]
values = {toml_list(programmes)}
[dictionaries.municipalities]
values = ["16051000", "16063105", "16053000", "16055000", "16063001"]
[dictionaries.years]
values = [2019, 2022, 2026, 2027]

[[operations]]
include-path-regex = "^/api/v1/applications/\\\\{{id\\\\}}"
parameters = {{ "path.id" = {{ dictionary = "cases", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/notices/\\\\{{id\\\\}}"
parameters = {{ "path.id" = {{ dictionary = "notices", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/payment-requests/\\\\{{id\\\\}}"
parameters = {{ "path.id" = {{ dictionary = "payment_requests", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/programmes/\\\\{{code\\\\}}/budgets/\\\\{{year\\\\}}"
parameters = {{ "path.code" = {{ dictionary = "programmes", probability = 0.8 }}, "path.year" = {{ dictionary = "years", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/api/v1/programmes/\\\\{{code\\\\}}(/budgets)?$"
parameters = {{ "path.code" = {{ dictionary = "programmes", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/municipalities/\\\\{{ags\\\\}}"
parameters = {{ "path.ags" = {{ dictionary = "municipalities", probability = 0.8 }} }}
""")
PY
}

# --- the runs -------------------------------------------------------------------------------------
STAFF_TOKEN=$(token caseworker)
failed=()
summary=()
for role in $ST_ROLES; do
  TOKEN=$(token "$role")
  write_config "$role" "$TOKEN" "$STAFF_TOKEN" "$WORK/st-$role.toml"
  log "role $role: st run, at most $ST_MAX_EXAMPLES examples per operation, seed $ST_SEED"
  start=$SECONDS
  set +e
  # --max-response-time: a debug build on a shared machine; GET /audit/verify rehashes the demo
  # data's whole audit log (26,000 entries), 11 s there.
  # shellcheck disable=SC2086 # ST_EXTRA_ARGS is split on purpose
  "$VENV/bin/st" --no-color --config-file "$WORK/st-$role.toml" run "$BASE/api/v1/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$ST_MAX_EXAMPLES" \
    --seed "$ST_SEED" \
    --workers "$ST_WORKERS" \
    --request-timeout 60 \
    --max-response-time 30 \
    --continue-on-failure \
    --output-truncate false \
    --report junit --report-junit-path "$ST_REPORT_DIR/junit-$role.xml" \
    ${ST_EXTRA_ARGS:-} 2>&1 | tee "$ST_REPORT_DIR/st-$role.txt"
  rc=${PIPESTATUS[0]}
  set -e
  line=$(grep -E '^ +[0-9]+ generated' "$ST_REPORT_DIR/st-$role.txt" | tail -n1 | sed 's/^ *//' || true)
  summary+=("$role: exit $rc in $((SECONDS - start)) s; ${line:-no summary}")
  [ "$rc" = 0 ] || failed+=("$role")
done

log "summary (seed $ST_SEED, at most $ST_MAX_EXAMPLES examples per operation):"
for s in "${summary[@]}"; do log "  $s"; done
if grep -q 'internal error\|panicked' "$ST_REPORT_DIR/server.log"; then
  log "the server log has errors: $ST_REPORT_DIR/server.log"
fi
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED for: ${failed[*]} (reports in $ST_REPORT_DIR)"
  exit 1
fi
log "no failures"
