#!/usr/bin/env bash
# Starts 3 cluster servers on ephemeral ports sharing one Redis under a fresh key prefix
# (t-<random>), runs scenarios.js against them (with --pids, so the silent/killed-node
# scenarios run too), then stops them.
#
#   ./run-node-cluster.sh [--adapter classic|sharded|streams]
#                         [--mode static|dynamic|dynamic-private]
#                         [--emitter] [--only SUBSTRING] [--impls node,node,node]
#                         [--redis URL] [--matrix] [--recovery-across]
#
#   --adapter  classic (default) | sharded | streams  --mode  sharded subscription mode (dynamic)
#   --recovery-across  (streams) servers with connection state recovery; instead of the
#              scenarios, recovery-across.js: a client cut on server i recovers on server i+1
#   --msgpack  (with --recovery-across) servers and clients on the msgpack parser
#   --emitter  adds the Redis emitter scenarios (classic only)
#   --impls    what runs in each of the 3 slots: "node" (node-server.js) or "rust" (the binary
#              named by $RUST_CLUSTER_SERVER, which must take the same flags as node-server.js
#              and print `listening <port>`); default node,node,node
#   --matrix   runs classic+emitter, sharded dynamic, sharded static, sharded dynamic-private
#              (each with fresh servers); exit 1 if any run failed
#   --redis    default $REDIS_URL or redis://127.0.0.1:6379
#
# Server stdout/stderr go to a temporary directory, printed (tail) when a run fails.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ADAPTER=classic
MODE=dynamic
EMITTER=0
ONLY=""
IMPLS=node,node,node
REDIS=${REDIS_URL:-redis://127.0.0.1:6379}
MATRIX=0
RECOVERY=0
MSGPACK=0

while [ $# -gt 0 ]; do
  case "$1" in
    --adapter) ADAPTER=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --emitter) EMITTER=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --impls) IMPLS=$2; shift 2 ;;
    --redis) REDIS=$2; shift 2 ;;
    --matrix) MATRIX=1; shift ;;
    --recovery-across) RECOVERY=1; shift ;;
    --msgpack) MSGPACK=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

IFS=, read -r -a IMPL <<<"$IMPLS"
if [ "${#IMPL[@]}" -ne 3 ]; then echo "--impls needs 3 entries" >&2; exit 2; fi

PIDS=()
stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  PIDS=()
}
trap 'stop_servers' EXIT
trap 'exit 130' INT TERM

# run_one ADAPTER MODE EMITTER -> exit code of scenarios.js
run_one() {
  local adapter=$1 mode=$2 emitter=$3
  local key tmp i port urls="" pids="" cmd
  key="t-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/sio-cluster.XXXXXX")
  local desc="adapter=$adapter"
  [ "$adapter" = sharded ] && desc="$desc mode=$mode"
  echo "=== $desc emitter=$emitter impls=$IMPLS key=$key logs=$tmp"
  for i in 0 1 2; do
    case "${IMPL[$i]}" in
      node) cmd=(node "$HERE/node-server.js") ;;
      rust)
        if [ -z "${RUST_CLUSTER_SERVER:-}" ]; then echo "RUST_CLUSTER_SERVER is not set" >&2; return 2; fi
        cmd=("$RUST_CLUSTER_SERVER") ;;
      *) echo "unknown impl ${IMPL[$i]}" >&2; return 2 ;;
    esac
    local extra=()
    [ "$RECOVERY" = 1 ] && extra=(--recovery 5000)
    [ "$MSGPACK" = 1 ] && extra+=(--msgpack)
    "${cmd[@]}" --port 0 --redis "$REDIS" --key "$key" --adapter "$adapter" \
      --subscription-mode "$mode" --requests-timeout 1000 --name "${IMPL[$i]}-$i" "${extra[@]}" \
      >"$tmp/server$i.out" 2>"$tmp/server$i.err" &
    PIDS+=($!)
    disown $! # no "Killed" job notice when the killed-node scenario SIGKILLs it
  done
  for i in 0 1 2; do
    port=""
    for _ in $(seq 100); do
      port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$tmp/server$i.out" | head -n1)
      [ -n "$port" ] && break
      kill -0 "${PIDS[$i]}" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$port" ]; then
      echo "server $i did not start; stderr:" >&2
      tail -n 20 "$tmp/server$i.err" >&2
      stop_servers
      return 2
    fi
    urls="$urls${urls:+,}http://127.0.0.1:$port"
    pids="$pids${pids:+,}${PIDS[$i]}"
  done
  local args=(--servers "$urls" --pids "$pids" --adapter "$adapter" --key "$key" --redis "$REDIS")
  [ "$emitter" = 1 ] && args+=(--emitter)
  [ -n "$ONLY" ] && args+=(--only "$ONLY")
  if [ "$RECOVERY" = 1 ]; then
    local flags=()
    [ "$MSGPACK" = 1 ] && flags=(--msgpack)
    node "$HERE/recovery-across.js" --servers "$urls" --impls "$IMPLS" "${flags[@]}"
  else
    node "$HERE/scenarios.js" "${args[@]}"
  fi
  local rc=$?
  stop_servers
  if [ "$adapter" = streams ]; then
    # The stream outlives its servers: removed with the run's other keys.
    (cd "$HERE" && node -e '
      const { createClient } = require("redis");
      const [url, key] = process.argv.slice(1);
      (async () => {
        const c = createClient({ url }); await c.connect();
        const keys = await c.keys(key + "*");
        if (keys.length) await c.del(keys);
        await c.close();
      })().catch((e) => { console.error("cleanup:", e.message); });
    ' "$REDIS" "$key")
  fi
  if [ $rc -ne 0 ]; then
    for i in 0 1 2; do
      echo "--- server $i stderr (tail) ---"
      tail -n 20 "$tmp/server$i.err"
    done
  else
    rm -rf "$tmp"
  fi
  return $rc
}

if [ $MATRIX = 1 ]; then
  status=0
  summary=""
  for conf in "classic dynamic 1" "sharded dynamic 0" "sharded static 0" "sharded dynamic-private 0"; do
    # shellcheck disable=SC2086
    set -- $conf
    run_one "$1" "$2" "$3"
    rc=$?
    [ $rc -ne 0 ] && status=1
    summary="$summary\n  $1 $2 emitter=$3: $([ $rc = 0 ] && echo PASS || echo "FAIL ($rc)")"
  done
  printf "\n=== matrix:%b\n" "$summary"
  exit $status
fi

run_one "$ADAPTER" "$MODE" "$EMITTER"
