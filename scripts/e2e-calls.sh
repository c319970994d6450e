#!/usr/bin/env bash
# The browser end-to-end test of calls (not part of the default test run): builds, then runs CallBrowserTests inside a
# private network namespace where 127.0.0.1 also sits on an ifb link (Janus refuses pure loopback for ICE).
# Needs root (unshare), janus and chromium (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" janus:janus turnserver:coturn chromium:chromium
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/Chat.Hub.Tests -c Release >/dev/null
exec timeout 300 unshare --net bash -c '
  set -e
  ip link set lo up
  ip link add jifb0 type ifb && ip addr add 127.0.0.1/32 dev jifb0 && ip link set jifb0 up
  CHAT_E2E_NAMESPACE=1 dotnet test tests/Chat.Hub.Tests -c Release --no-build --filter "FullyQualifiedName~CallBrowserTests" --logger "console;verbosity=normal" "$@"
' bash "$@"
