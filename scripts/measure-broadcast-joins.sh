#!/usr/bin/env bash
# Measures joining a broadcast as its audience grows (tests/Chat.Hub.Tests/Calls/BroadcastJoinMeasurement.cs): the
# time per join one after another, 1000 joins at once, and GetCall, with CHAT_BROADCAST_VIEWERS viewers (default
# 3000). Needs a Release build (dotnet build Chat.sln -c Release) and PostgreSQL installed (./test.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
CHAT_MEASURE_BROADCAST=1 dotnet test tests/Chat.Hub.Tests -c Release --no-build \
  --filter "FullyQualifiedName~BroadcastJoinMeasurement" --logger "console;verbosity=detailed" \
  | grep -E "viewers|joining|GetCall with|Passed:|Failed:|Error Message" || true
