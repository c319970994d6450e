#!/usr/bin/env bash
# Measures what one Janus instance carries here: one teacher publishes camera video, N pupils subscribe (real accounts,
# hub connections and peer connections in headless Chromium), inside the same private network namespace as the
# browser call tests. Prints a table (subscribers, Janus CPU, video out of Janus). Steps: CHAT_CAPACITY_STEPS (default
# 10,25,50,100). Needs root; the numbers depend on what else runs on the machine (the load average is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
CHAT_CAPACITY=1 run_in_call_namespace 900 dotnet test tests/Chat.Hub.Tests -c Release --no-build \
  --filter "FullyQualifiedName~CallCapacityMeasurement" --logger "console;verbosity=detailed"
