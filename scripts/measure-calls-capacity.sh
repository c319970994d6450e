#!/usr/bin/env bash
# Measures what one Janus instance carries here: one teacher publishes camera video, N pupils subscribe (real accounts,
# hub connections and peer connections in headless Chromium), inside the same private network namespace as the
# browser call tests. Prints a table (subscribers, Janus CPU, video out of Janus). Steps: CHAT_CAPACITY_STEPS (default
# 10,25,50,100). Needs root; the numbers depend on what else runs on the machine (the load average is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" janus:janus turnserver:coturn chromium:chromium
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/Chat.Hub.Tests -c Release >/dev/null
exec timeout 900 unshare --net bash -c '
  set -e
  ip link set lo up
  ip link add jifb0 type ifb && ip addr add 127.0.0.1/32 dev jifb0 && ip link set jifb0 up
  CHAT_E2E_NAMESPACE=1 CHAT_CAPACITY=1 dotnet test tests/Chat.Hub.Tests -c Release --no-build \
    --filter "FullyQualifiedName~CallCapacityMeasurement" --logger "console;verbosity=detailed"
'
