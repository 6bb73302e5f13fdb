#!/usr/bin/env bash
# Native redis-server for machines without a Docker engine.
#   scripts/redis.sh install              apt-get install redis-server when missing (root only)
#   scripts/redis.sh start DATA_DIR PORT  start with AOF (appendfsync always, or REDIS_APPENDFSYNC), wait for PONG
#   scripts/redis.sh stop DATA_DIR
# appendfsync always answers a write once it is on disk, so a crash of Redis (or of the machine) never
# forgets a write a service was told was done (a notice marked sent, an outcome recorded).
# REDIS_APPENDFSYNC=everysec trades that for speed (README, "Delivery guarantees"): a killed redis-server still keeps
# what it acknowledged unless its disk stalled, a crash of the machine loses up to the last second or two.
set -euo pipefail

install() {
  command -v redis-server >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "redis.sh: installing redis-server with apt-get..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    # Debian's package starts a system instance on 6379; this project runs its own.
    (command -v service >/dev/null && service redis-server stop >/dev/null 2>&1) || true
  else
    echo "redis.sh: redis-server is missing. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run again." >&2
    exit 1
  fi
}

start() {
  local dir="$1" port="$2" fsync="${REDIS_APPENDFSYNC:-always}"
  case "$fsync" in always|everysec) ;; *) echo "redis.sh: REDIS_APPENDFSYNC is always or everysec, not '$fsync'" >&2; exit 2 ;; esac
  install
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
    echo "redis.sh: already running (pid $(cat "$dir/redis.pid"))" >&2; return 0
  fi
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --appendonly yes --appendfsync "$fsync" --save ""
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "redis.sh: redis-server did not answer on port $port; see $dir/redis.log" >&2
  exit 1
}

stop() {
  local dir="$1"
  [ -f "$dir/redis.pid" ] || return 0
  local pid; pid="$(cat "$dir/redis.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir/redis.pid"
}

case "${1:-}" in
  install) install ;;
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 install | start DATA_DIR PORT | stop DATA_DIR" >&2; exit 2 ;;
esac
