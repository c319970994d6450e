#!/usr/bin/env bash
# Measures the batch statement of new messages (MessageStore.AppendBatchSql) alone in PostgreSQL, without the server
# (docs/performance.md, "The batch statement measured from outside PostgreSQL"):
#   scripts/pg-batch-bench.sh                  batches of 50 and 200, 20 s each
#   scripts/pg-batch-bench.sh 200 60           one batch size, seconds
#   CHAT_BENCH_EXPLAIN=1 scripts/pg-batch-bench.sh 360 5   also prints EXPLAIN (ANALYZE, BUFFERS) of one batch per size
#                                              (through psql, with the values inlined: a custom plan, not the generic one)
# Seeds a fresh database the way the load harness does (loadtest-seed: 100 classes x 30, 1000 messages of history per
# class chat) in the load tests' private PostgreSQL (.data/load/pg, port 5449), pins PostgreSQL to core 0 and pgbench
# to core 1, and runs BEGIN / the statement as the server sends it (prepared: PostgreSQL settles on a generic plan, as
# it does for Npgsql) / COMMIT with random class members as senders. Prints pgbench's per-statement latencies; divide
# the statement's by the batch size for the cost per message. The database is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SIZES=${1:-50 200}
SECONDS_EACH=${2:-20}
PORT=${CHAT_LOAD_PG_PORT:-5449}
DATA=${CHAT_LOAD_DIR:-$PWD/.data/load}
BIN=$(pg_bin)
ensure_packages "/usr/lib/postgresql/*/bin/initdb:postgresql" python3:python3

start_postgres "$DATA/pg" "$PORT"
STARTED=$PG_STARTED_HERE
DB="bench_batch_$(date +%Y%m%d%H%M%S)"
WORK=$(mktemp -d)
cleanup() {
  "$BIN/dropdb" -h 127.0.0.1 -p "$PORT" -U postgres --if-exists "$DB" >/dev/null 2>&1 || true
  [ -n "$STARTED" ] && stop_postgres "$DATA/pg"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(nproc --all)" -gt 1 ]; then
  PG_PID=$(head -n 1 "$DATA/pg/data/postmaster.pid")
  for pid in $PG_PID $(pgrep -P "$PG_PID"); do taskset -a -p -c 0 "$pid" >/dev/null 2>&1 || true; done
  CLIENT_CORE=1
else
  CLIENT_CORE=0
fi

log "building Release and seeding $DB"
dotnet build src/Chat.Hub -c Release -nologo -v quiet -clp:NoSummary >/dev/null
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
ConnectionStrings__Chat="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$DB" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  dotnet src/Chat.Hub/bin/Release/net10.0/Chat.Hub.dll loadtest-seed --classes 100 --size 30 --history 1000 \
  --token-minutes 5 --out "$WORK/users.json" --i-know-this-is-a-test-database | tail -n 1

# The statement's text from the source, its $n parameters as pgbench variables filled by a query of random senders.
# (pgbench reads ':name' as a variable, so the generated texts spell the load test's colons as chr(58).)
python3 - "$WORK" <<'EOF'
import re, sys
src = open('src/Chat.Storage/Messages/MessageStore.cs', encoding='utf-8').read()
sql = re.search(r'AppendBatchSql = """\n(.*?)\n\s*""";', src, re.S).group(1)
sql = '\n'.join(re.sub(r'--.*$', '', line) for line in sql.split('\n'))
for k in range(11, 0, -1):
    sql = sql.replace('$%d' % k, ':p%d' % k)
gen = ("SELECT '{'||string_agg(i::text, ',')||'}' AS p1, '{'||string_agg(chat_id::text, ',')||'}' AS p2, "
       "'{'||string_agg(account_id::text, ',')||'}' AS p3, '{'||string_agg(gen_random_uuid()::text, ',')||'}' AS p4, "
       "'{'||string_agg('text', ',')||'}' AS p5, "
       "'{'||string_agg('lt'||chr(58)||'9'||chr(58)||(random()*1e9)::bigint||chr(58)||repeat('x', 60), ',')||'}' AS p6, "
       "'{'||string_agg('NULL', ',')||'}' AS p7, '{'||string_agg('NULL', ',')||'}' AS p8, '{}' AS p9, '{}' AS p10, "
       "'{'||string_agg('false', ',')||'}' AS p11 "
       "FROM (SELECT row_number() OVER () - 1 AS i, chat_id, account_id FROM (SELECT cm.chat_id, cm.account_id "
       "FROM chat_members cm JOIN chats c ON c.id = cm.chat_id WHERE c.kind = 'class' AND cm.role = 'member' "
       "ORDER BY random() LIMIT BATCH) r) x \\gset\n")
open(sys.argv[1] + '/batch.pgb', 'w').write(gen + 'BEGIN;\n' + sql.strip() + ';\nCOMMIT;\n')
EOF

for size in $SIZES; do
  sed "s/LIMIT BATCH)/LIMIT $size)/" "$WORK/batch.pgb" > "$WORK/b$size.pgb"
  log "batches of $size, $SECONDS_EACH s"
  taskset -c "$CLIENT_CORE" "$BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared -f "$WORK/b$size.pgb" \
    -T "$SECONDS_EACH" -r "$DB" 2>&1 | grep -E '^(tps|latency average)|^ +[0-9.]+ +[0-9]+ ' | cut -c1-90
  if [ -n "${CHAT_BENCH_EXPLAIN:-}" ]; then
    sed -E "s/^WITH input AS \(/EXPLAIN (ANALYZE, BUFFERS) WITH input AS (/; s/:p([0-9]+)/:'p\1'/g" "$WORK/b$size.pgb" > "$WORK/e$size.sql"
    taskset -c "$CLIENT_CORE" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -X -f "$WORK/e$size.sql" "$DB"
  fi
done
