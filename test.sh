#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need (PostgreSQL, Redis, Janus, coturn, Chromium), builds once, and
# runs every test project. The test fixtures start their own private PostgreSQL and Redis and stop them at the end.
#
# The projects run in two lanes at once (one alone leaves a 2-core machine idle part of the time: browser tests wait on
# pages, smoke load runs on their steps): the web client's browser tests in one, the server's, storage's, signaling's
# and the load runner's smoke tests one after another in the other. Then the browser call tests, alone (they decode
# video in real time). On 2 cores (2026-11-29, a busy host) the whole run took 14-16 minutes this way, 22-25 before (one
# project after another, with tiered PGO); the lanes took 10-11 minutes each (CPU-bound: 0-3 % idle), the call tests 3.5-4.
# CHAT_TEST_SERIAL=1 runs the projects one after another instead. Extra arguments (e.g. --filter X) go to every project.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/lib.sh

ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" redis-server:redis-server janus:janus turnserver:coturn chromium:chromium
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Test processes are short-lived and build many hosts (each compiles the hub's method executors and the endpoints'
# request delegates): profile-guided optimization only adds instrumented code and second compilations there. Without
# it the server tests used a third less CPU (61 s -> 41 s user time for the Foundation and Moderation tests, 2026-11-29).
# Production keeps the default (PGO on); the load runs (scripts/load.sh) do not go through here.
export DOTNET_TieredPGO=0

results="TestResults/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"
status=0
dotnet build Chat.sln -c Release -nologo -clp:NoSummary -v:q || { echo "the build failed" >&2; exit 1; }

# run_project NAME ARGS... — one test project; its console output goes to RESULTS/NAME.log (shown when it fails).
run_project() {
  local name=$1 start=$SECONDS rc=0; shift
  echo "== $name: started"
  dotnet test "tests/$name" -c Release --no-build --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@" >"$results/$name.log" 2>&1 || rc=$?
  local counts="no results"
  [ -f "$results/$name.trx" ] && counts=$(grep -o '<Counters [^>]*' "$results/$name.trx" | grep -oE '(total|passed|failed)="[0-9]*"' | tr -d '"' | tr '\n' ' ')
  echo "== $name: ${counts% } in $((SECONDS - start)) s"
  if [ "$rc" != 0 ]; then
    echo "-- the end of $results/$name.log:"
    tail -n 60 "$results/$name.log"
  fi
  return "$rc"
}

# run_lane PROJECT... -- ARGS...: the projects one after another (all of them, whatever fails).
run_lane() {
  local projects=() p rc=0
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do projects+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  for p in "${projects[@]}"; do run_project "$p" "$@" || rc=1; done
  return "$rc"
}
lane_web() { run_lane Chat.Web.Tests -- "$@"; }
lane_server() { run_lane Chat.Hub.Tests Chat.Storage.Tests Chat.Signaling.Tests Chat.LoadTests.Tests -- "$@"; }

if [ "${CHAT_TEST_SERIAL:-0}" = 1 ]; then
  lane_server "$@" || status=1
  lane_web "$@" || status=1
else
  lane_web "$@" & web=$!
  lane_server "$@" & server=$!
  wait "$web" || status=1
  wait "$server" || status=1
fi

# The browser call tests (CallBrowserTests) skip themselves above; they run here inside a private network namespace
# with Janus, coturn and headless Chromium (needs root for unshare; CHAT_SKIP_E2E=1 leaves them out).
if [ "${CHAT_SKIP_E2E:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
  scripts/e2e-calls.sh --logger "trx;LogFileName=calls-e2e.trx" --results-directory "$results" || status=$?
fi

# One closing line for humans and CI: the sum over all test projects.
sum() { grep -ho "$1=\"[0-9]*\"" "$results"/*.trx 2>/dev/null | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}'; }
if compgen -G "$results/*.trx" >/dev/null; then
  passed=$(sum passed); failed=$(sum failed); total=$(sum total); executed=$(sum executed)
  if [ "$failed" -gt 0 ]; then
    # The failed tests and the start of their messages, so the end of a long CI log says what broke.
    echo "failed tests:"
    awk '/<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); print "  FAILED " substr($0, RSTART + 10, RLENGTH - 11); grab = 1; n = 0; next }
         grab && /<Message>/ { sub(/.*<Message>/, "    "); printing = 1 }
         grab && printing { print substr($0, 1, 400); n++; if (/<\/Message>/ || n >= 8) { printing = 0; grab = 0 } }' "$results"/*.trx
  fi
  echo "$passed passed, $failed failed, $((total - executed)) skipped"
  [ "$executed" -gt 0 ] || { echo "no test ran" >&2; status=1; }
else
  echo "no test results were written" >&2
  status=1
fi
exit $status
