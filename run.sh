#!/usr/bin/env bash
# Runs the server on an embedded default: installs what is missing, starts a private PostgreSQL (and Redis with
# CHAT_REDIS=1) under .data/, applies migrations and starts the server. Ctrl-C stops everything it started.
#   ./run.sh                                  start the server
#   ./run.sh operator grant --phone +7...     make someone a platform operator (and exit)
#   ./run.sh migrate                          apply migrations only
set -euo pipefail
cd "$(dirname "$0")"
. scripts/lib.sh

DATA=${CHAT_DATA_DIR:-$PWD/.data}
PORT=${CHAT_PORT:-5080}
PG_PORT=${CHAT_PG_PORT:-5439}
REDIS_PORT=${CHAT_REDIS_PORT:-6390}
OPERATOR_PHONE=${CHAT_OPERATOR_PHONE:-+79000000000}
mkdir -p "$DATA"

ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql"
[ "${CHAT_REDIS:-0}" = 1 ] && ensure_packages redis-server:redis-server

start_postgres "$DATA/pg" "$PG_PORT"
REDIS_STARTED_HERE=""
if [ "${CHAT_REDIS:-0}" = 1 ]; then
  start_redis "$DATA/redis" "$REDIS_PORT"
  export ConnectionStrings__Redis="127.0.0.1:$REDIS_PORT"
fi

cleanup() {
  [ -n "${PG_STARTED_HERE:-}" ] && stop_postgres "$DATA/pg"
  [ -n "${REDIS_STARTED_HERE:-}" ] && stop_redis "$REDIS_PORT"
  return 0
}
trap cleanup EXIT

export ConnectionStrings__Chat="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=chat"
export Auth__SigningKey; Auth__SigningKey=$(signing_key "$DATA")
export Codes__DevFile="$DATA/dev-codes.log"
export Files__Root=${Files__Root:-$DATA/files}
export Site__PublicUrl=${Site__PublicUrl:-http://localhost:$PORT}
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Development}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# A 128 MiB gen0 budget: under load a GC every few seconds instead of 10-15 a second (docs/performance.md, "Runtime").
export DOTNET_GCgen0size=${DOTNET_GCgen0size:-0x8000000}

log "building the server"
dotnet build src/Chat.Hub -c Release -nologo -v quiet -clp:NoSummary -o "$DATA/bin" >/dev/null
HUB="$DATA/bin/Chat.Hub.dll"

if [ $# -gt 0 ]; then
  dotnet "$HUB" "$@"
  exit $?
fi

dotnet "$HUB" migrate >/dev/null
dotnet "$HUB" operator grant --phone "$OPERATOR_PHONE" --name "Оператор платформы" >/dev/null

cat <<BANNER

  School messenger server: http://localhost:$PORT
    API reference      http://localhost:$PORT/api-docs      (OpenAPI: /openapi/v1.json)
    Health             http://localhost:$PORT/health/ready
    SignalR hub        ws://localhost:$PORT/hubs/chat
  Sign in as the platform operator with phone $OPERATOR_PHONE:
    POST /api/auth/code {"phone":"$OPERATOR_PHONE"}, then read the code from
    $DATA/dev-codes.log and POST /api/auth/verify {"phone":"$OPERATOR_PHONE","code":"......"}.
  Stop with Ctrl-C.

BANNER
dotnet "$HUB" --urls "http://127.0.0.1:$PORT" --contentRoot "$PWD/src/Chat.Hub" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; cleanup' EXIT
trap 'exit 130' INT TERM
wait $SERVER
