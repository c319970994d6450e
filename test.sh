#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need (PostgreSQL, Redis), builds, and runs every test project.
# The test fixtures start their own private PostgreSQL and Redis and stop them at the end.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/lib.sh

ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" redis-server:redis-server janus:janus turnserver:coturn chromium:chromium
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

results="TestResults/run-$(date +%Y%m%d-%H%M%S)"
status=0
dotnet test Chat.sln -c Release --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" || status=$?

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
