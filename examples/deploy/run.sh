#!/usr/bin/env bash
# Redis, HUBS wsbridge hubs, the example producer (app.py) and nginx in front
# of the hubs, all on 127.0.0.1. Ctrl-C stops everything.
#
#   examples/deploy/run.sh [HUBS] [PORT]      # defaults: 2 hubs, nginx on 8080
#
# Needs redis-server, nginx and wsbridge on PATH (docs/deploy.md).
set -euo pipefail
HUBS="${1:-2}"
PORT="${2:-8080}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
chmod 755 "$work"
mkdir -p "$work/tmp"
pids=()
cleanup() {
  trap - EXIT INT TERM
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {  # until something listens on 127.0.0.1:$1
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1; logs in $work" >&2
  return 1
}

redis_port="$(free_port)"
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
  >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"
redis="redis://127.0.0.1:$redis_port/0"

wsbridge serve "$here/app.py" --port 0 --redis "$redis" >"$work/producer.log" 2>&1 &
pids+=($!)

upstreams=""
for i in $(seq 1 "$HUBS"); do
  hub_port="$(free_port)"
  wsbridge hub --redis "$redis" --port "$hub_port" >"$work/hub$i.log" 2>&1 &
  pids+=($!)
  wait_port "$hub_port"
  echo "hub $i: http://127.0.0.1:$hub_port/ (pid $!)"
  upstreams+="        server 127.0.0.1:$hub_port max_fails=1 fail_timeout=10s;"$'\n'
done

user=""
[ "$(id -u)" -eq 0 ] && user="user root;"  # workers would else run as nobody
sed -e "s|@USER@|$user|" -e "s|@WORK@|$work|g" -e "s|@PORT@|$PORT|" \
  "$here/nginx.conf.in" | awk -v up="$upstreams" '{ sub(/@UPSTREAMS@/, up); print }' \
  >"$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -g "daemon off;" &
pids+=($!)
wait_port "$PORT"
echo "open http://127.0.0.1:$PORT/d/live"
wait
