#!/usr/bin/env bash
# The browser end-to-end tests of calls (test.sh runs them after the main run, as root): builds, then runs CallBrowserTests inside a
# private network namespace where 127.0.0.1 also sits on an ifb link (Janus refuses pure loopback for ICE).
# Needs root (unshare), janus and chromium (installed here when missing). The run takes ~3.5 minutes on a busy 2-core
# machine; the limit (7 minutes) only stops a hung run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
run_in_call_namespace 420 dotnet test tests/Chat.Hub.Tests -c Release --no-build --filter "FullyQualifiedName~CallBrowserTests" \
  --logger "console;verbosity=normal" "$@"
