#!/usr/bin/env bash
# Runs a load scenario against the floor and the server and writes its report (docs/performance.md):
#   scripts/load.sh school-day                     one scenario, full size
#   scripts/load.sh assembly --rates 100,200       harness options after the name (see: dotnet ... Chat.LoadTests.dll help)
#   scripts/load.sh all                            every scenario in turn
#   scripts/load.sh school-day --smoke             the seconds-long version
# Builds Release, starts a private PostgreSQL (and Redis) under .data/load pinned to core 0, creates a fresh database
# for the run, and runs the harness pinned to core 1; the harness starts the server nodes and the floor on core 0.
# Reports go to results/<time>-<scenario>/report.md (and .html). Everything started here is stopped at the end.
# Experiments: CHAT_LOAD_PG_SET="synchronous_commit=off" (PostgreSQL settings for this run),
# CHAT_LOAD_DB_OPTIONS="Max Auto Prepare=20" (appended to the server's connection string),
# CHAT_LOAD_DB_CORE=1 (PostgreSQL and Redis on the load generator's core instead of the server's, as a deployment with
# the database on its own machine would have it; the report shows whether the load generator's core kept up).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SCENARIO=${1:-}
if [ -z "$SCENARIO" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
shift

DATA=${CHAT_LOAD_DIR:-$PWD/.data/load}
PG_PORT=${CHAT_LOAD_PG_PORT:-5449}
REDIS_PORT=${CHAT_LOAD_REDIS_PORT:-6399}
RESULTS=${CHAT_LOAD_RESULTS:-$PWD/results}
CORES=$(nproc --all)
SERVER_CORE=0
LOAD_CORE=$(( CORES > 1 ? 1 : 0 ))
DB_CORE=${CHAT_LOAD_DB_CORE:-$SERVER_CORE}
mkdir -p "$DATA" "$RESULTS"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" redis-server:redis-server
# 20 000 connections need as many file descriptors on each side (root may raise the hard limit).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

log "building Release"
dotnet build src/Chat.Hub -c Release -nologo -v quiet -clp:NoSummary >/dev/null
dotnet build src/Chat.LoadTests -c Release -nologo -v quiet -clp:NoSummary >/dev/null
HUB=$PWD/src/Chat.Hub/bin/Release/net10.0/Chat.Hub.dll
HARNESS=$PWD/src/Chat.LoadTests/bin/Release/net10.0/Chat.LoadTests.dll

# PostgreSQL with production durability (fsync and synchronous_commit on), enough connections for two nodes' pools.
BIN=$(pg_bin)
PG_DIR=$DATA/pg
mkdir -p "$PG_DIR"; chown postgres:postgres "$PG_DIR" 2>/dev/null || true
PG_STARTED_HERE=""
if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
  run_as_postgres "$BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! run_as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
  run_as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c max_connections=300 -c shared_buffers=256MB -c shared_preload_libraries=pg_stat_statements" start >/dev/null
  PG_STARTED_HERE=1
  log "PostgreSQL started on 127.0.0.1:$PG_PORT"
fi
# Per-run settings (e.g. CHAT_LOAD_PG_SET="synchronous_commit=off") are applied with ALTER SYSTEM and reset at the end.
if [ -n "${CHAT_LOAD_PG_SET:-}" ]; then
  for setting in $CHAT_LOAD_PG_SET; do
    "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "ALTER SYSTEM SET ${setting%%=*} = '${setting#*=}'" postgres
  done
  "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAtc "SELECT pg_reload_conf()" postgres >/dev/null
fi
PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
REDIS_STARTED_HERE=""
start_redis "$DATA/redis" "$REDIS_PORT"
REDIS_PID=$(cat "$DATA/redis/redis.pid" 2>/dev/null || pgrep -f "redis-server 127.0.0.1:$REDIS_PORT" | head -n 1)

cleanup() {
  if [ -n "${CHAT_LOAD_PG_SET:-}" ]; then
    "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "ALTER SYSTEM RESET ALL" postgres >/dev/null 2>&1 || true
    "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAtc "SELECT pg_reload_conf()" postgres >/dev/null 2>&1 || true
  fi
  [ -n "$PG_STARTED_HERE" ] && run_as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 && log "PostgreSQL stopped"
  [ -n "$REDIS_STARTED_HERE" ] && stop_redis "$REDIS_PORT"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The database side belongs to the server's core (or CHAT_LOAD_DB_CORE); backends forked later inherit the postmaster's affinity.
if [ "$CORES" -gt 1 ]; then
  for pid in $PG_PID $(pgrep -P "$PG_PID") $REDIS_PID; do taskset -a -p -c "$DB_CORE" "$pid" >/dev/null 2>&1 || true; done
fi

run_scenario() {
  local scenario=$1; shift
  local db="load_${scenario//-/_}_$(date +%Y%m%d%H%M%S)"
  "$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  log "scenario $scenario on database $db (server on core $SERVER_CORE, load generator on core $LOAD_CORE)"
  local status=0
  taskset -c "$LOAD_CORE" dotnet "$HARNESS" run --scenario "$scenario" --pin --server-core "$SERVER_CORE" --db-core "$DB_CORE" \
    --hub-dll "$HUB" --db "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$db${CHAT_LOAD_DB_OPTIONS:+;$CHAT_LOAD_DB_OPTIONS}" \
    --redis "127.0.0.1:$REDIS_PORT" --pg-pid "$PG_PID" --redis-pid "$REDIS_PID" --results "$RESULTS" "$@" || status=$?
  "$BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db" || true
  return $status
}

if [ "$SCENARIO" = all ]; then
  status=0
  for s in school-day assembly channel reconnect-storm idle two-nodes; do run_scenario "$s" "$@" || status=$?; done
  exit $status
fi
run_scenario "$SCENARIO" "$@"
