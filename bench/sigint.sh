#!/usr/bin/env bash
# `kill -INT` of the console during a run, N times (default 10), in tmux against the real
# engine: counts the attempts that left a container or volume of the run on the engine 5 s
# after the signal, or the terminal in raw mode / the alternate screen.
# Usage: bench/sigint.sh [N]   (needs: tmux, docker, the fixture image debian:bookworm-slim)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
BIN=${SHIPDECK_BIN:-$PWD/target/debug/shipdeck}
[ -x "$BIN" ] || cargo build --quiet
work=$(mktemp -d)
app="bench-sigint-$$"
session="shipdeck-sigint-$$"
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  ids=$(docker ps -aq --filter "label=dev.shipdeck.app=$app")
  [ -z "$ids" ] || docker rm -fv $ids >/dev/null
  vols=$(docker volume ls -q --filter "label=dev.shipdeck.app=$app")
  [ -z "$vols" ] || docker volume rm -f $vols >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/app"
cat > "$work/app/release.toml" <<TOML
[app]
name = "$app"
[stages.sleepy]
image = "debian:bookworm-slim"
run = ["echo sleeping", "sleep 300"]
TOML
git -C "$work/app" init -q && git -C "$work/app" add -A && git -C "$work/app" -c user.name=b -c user.email=b@b commit -qm bench

screen() { tmux capture-pane -p -t "$session"; }
wait_for() { # PATTERN SECONDS
  local end=$((SECONDS + $2))
  until screen | grep -q -- "$1"; do
    [ $SECONDS -lt $end ] || { echo "timed out waiting for $1" >&2; screen >&2; return 1; }
    sleep 0.1
  done
}
left=0 raw=0
for i in $(seq "$N"); do
  tmux new-session -d -s "$session" -x 100 -y 30 -c "$work/app" \
    env PS1='$ ' TERM=xterm-256color bash --norc --noprofile
  tmux send-keys -t "$session" "$BIN -C $work/app; echo EXIT_\$?_END; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'" Enter
  wait_for 'docker ●' 20
  tmux send-keys -t "$session" Enter
  wait_for sleeping 60
  pid=$(pgrep -f "$BIN -C $work/app")
  kill -INT "$pid"
  sleep 5
  containers=$(docker ps -aq --filter "label=dev.shipdeck.app=$app" | wc -l)
  volumes=$(docker volume ls -q --filter "label=dev.shipdeck.app=$app" | wc -l)
  if [ "$containers" -gt 0 ] || [ "$volumes" -gt 0 ]; then left=$((left + 1)); fi
  if ! screen | grep -qx 'icanon'; then raw=$((raw + 1)); fi
  echo "attempt $i: $containers container(s), $volumes volume(s) left; $(screen | grep -o 'EXIT_[0-9]*_END' | tail -1)"
  tmux kill-session -t "$session"
  cleanup_ids=$(docker ps -aq --filter "label=dev.shipdeck.app=$app")
  [ -z "$cleanup_ids" ] || docker rm -fv $cleanup_ids >/dev/null
done
echo "$left of $N kill -INT left a container or volume; $raw of $N left the terminal in raw mode"
