# Shared helpers for run.sh and test.sh: install what is missing, start private services under a data folder.
# Everything here is idempotent: running it twice does no harm.

log() { printf '\033[1;34m[chat]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=""
# ensure_packages CMD_OR_PATH:PACKAGE ... — installs PACKAGE when CMD_OR_PATH is missing.
ensure_packages() {
  local missing=()
  for spec in "$@"; do
    local probe=${spec%%:*} pkg=${spec#*:}
    if [[ $probe == /* ]]; then compgen -G "$probe" >/dev/null || missing+=("$pkg")
    else command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  # Debian's postinst scripts try to start system services; we run our own private instances instead.
  as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  as_root rm -f /usr/sbin/policy-rc.d
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# run_as_postgres CMD... — initdb refuses to run as root.
run_as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_postgres DIR PORT — starts (or reuses) a private PostgreSQL with its data under DIR.
start_postgres() {
  local dir=$1 port=$2 bin; bin=$(pg_bin)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "creating PostgreSQL data folder $dir/data"
    run_as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if run_as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "PostgreSQL already running on port $port"
    PG_STARTED_HERE=""
  else
    run_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir" start >/dev/null
    log "PostgreSQL started on 127.0.0.1:$port (data in $dir/data, log in $dir/log)"
    PG_STARTED_HERE=1
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='chat'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres chat
  fi
}

stop_postgres() {
  local dir=$1 bin; bin=$(pg_bin)
  run_as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 && log "PostgreSQL stopped"
}

# start_redis DIR PORT — a private Redis with no persistence.
start_redis() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    log "Redis already running on port $port"; REDIS_STARTED_HERE=""; return
  fi
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null
  # A daemonized Redis answers and writes its pid file a moment after the command returns; callers read both.
  local i
  for i in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && [ -s "$dir/redis.pid" ] && break
    sleep 0.1
  done
  log "Redis started on 127.0.0.1:$port"
  REDIS_STARTED_HERE=1
}

stop_redis() { redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 && log "Redis stopped"; }

# The access-token signing key: made once per data folder, shared by every node started from it.
signing_key() {
  local file=$1/signing-key
  if [ ! -s "$file" ]; then head -c 32 /dev/urandom | base64 > "$file"; chmod 600 "$file"; fi
  cat "$file"
}

# Runs "$@" with CHAT_E2E_NAMESPACE=1 inside a private network namespace where 127.0.0.1 also sits on an ifb link
# (Janus refuses pure loopback for ICE), under `timeout $1`, after installing what the browser call tests need and
# building the hub tests. Needs root (unshare). Used by scripts/e2e-calls.sh and scripts/measure-calls-capacity.sh.
run_in_call_namespace() {
  local seconds=$1; shift
  ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" janus:janus turnserver:coturn chromium:chromium
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet build tests/Chat.Hub.Tests -c Release >/dev/null
  timeout "$seconds" unshare --net bash -c '
    set -e
    ip link set lo up
    ip link add jifb0 type ifb && ip addr add 127.0.0.1/32 dev jifb0 && ip link set jifb0 up
    CHAT_E2E_NAMESPACE=1 "$@"
  ' bash "$@"
}
