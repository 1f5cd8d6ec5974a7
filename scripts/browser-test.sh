#!/usr/bin/env bash
# Real-browser test of the dashboard: headless Chromium (Debian's, driven by playwright-core, which
# downloads no browser) against the debug binary serving the demo data. See docs/testing.md,
# "The dashboard in a real browser".
#
#   scripts/browser-test.sh                     # what CI runs
#   CHROMIUM=/path/to/chrome scripts/browser-test.sh
#
# What it does: builds the debug binary; checks for Chromium (with CI=true it installs Debian's
# `chromium` if missing, otherwise it stops and says how to install it); installs the pinned npm
# packages of tests/browser (`npm ci`, node_modules is git-ignored); fills a fresh SQLite database
# in a temporary folder with the demo data (`seed-demo`); serves it on a free loopback port with a
# random JWT secret; mints a ministry and an applicant token; runs tests/browser/dashboard.mjs.
# The server is stopped on exit. The exit status is the test's.
#
# Environment:
#   CHROMIUM          the browser executable (default /usr/bin/chromium)
#   SCREENSHOT_DIR    where the screenshots, the PDF and the server log go (default target/browser)
#   APPLICANT_AGS     the applicant token's municipality (default 16063097)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SCREENSHOT_DIR=${SCREENSHOT_DIR:-$ROOT/target/browser}
APPLICANT_AGS=${APPLICANT_AGS:-16063097}

log() { printf 'browser-test.sh: %s\n' "$*" >&2; }

# --- the browser and the test's packages ----------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  if [ "${CI:-}" = true ] && [ "$CHROMIUM" = /usr/bin/chromium ]; then
    log "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    log "no Chromium at $CHROMIUM. Install Debian's: apt-get update && apt-get install -y chromium"
    log "(or point CHROMIUM at a Chromium or Chrome executable)"
    exit 2
  fi
fi
log "browser: $("$CHROMIUM" --version 2>/dev/null | head -n1)"
command -v node >/dev/null 2>&1 || { log "node (20 or later) is required"; exit 2; }
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >&2

# --- the service ----------------------------------------------------------------------------------
# scripts/lib/server.sh: the demo data in a fresh SQLite database, served on a free loopback port;
# stopped on exit.
. scripts/lib/server.sh
server_build
server_start browser "$SCREENSHOT_DIR/server.log" --seed-demo

MINISTRY_TOKEN=$(server_token ministry browser-ministry)
APPLICANT_TOKEN=$(server_token applicant browser-applicant "$APPLICANT_AGS")

set +e
BASE_URL=$BASE MINISTRY_TOKEN=$MINISTRY_TOKEN APPLICANT_TOKEN=$APPLICANT_TOKEN \
  SCREENSHOT_DIR=$SCREENSHOT_DIR CHROMIUM=$CHROMIUM \
  node tests/browser/dashboard.mjs
rc=$?
set -e
if grep -q 'internal error\|panicked' "$SCREENSHOT_DIR/server.log"; then
  log "the server log has errors: $SCREENSHOT_DIR/server.log"
fi
exit "$rc"
