#!/usr/bin/env bash
# Captures real Chromium SDP into tests/Chat.Signaling.Tests/TestData/Sdp, inside a private network namespace
# (127.0.0.1 also on an ifb link so the browser gathers a non-loopback host candidate). Needs chromium and node.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${CAPTURE_NODE_DIR:-/tmp/chat-capture-sdp}"
mkdir -p "$work"
[ -d "$work/node_modules/playwright-core" ] || (cd "$work" && npm init -y >/dev/null && npm install playwright-core >/dev/null)
cp scripts/capture-sdp.mjs "$work/"
out="$(pwd)/tests/Chat.Signaling.Tests/TestData/Sdp"
unshare --net bash -c "
  ip link set lo up
  ip link add jifb0 type ifb && ip addr add 127.0.0.1/32 dev jifb0 && ip link set jifb0 up
  node '$work/capture-sdp.mjs' '$out'"
