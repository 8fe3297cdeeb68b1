#!/usr/bin/env bash
# The console's peak memory under a log flood: in tmux against the real engine, 4 runs whose
# stage prints 20,000 lines of 33 KB each (660 MB a run), one after another; prints the
# console's peak RSS (VmHWM) and its RSS at the end. The bound to hold: under 256 MB.
# Usage: bench/console_memory.sh [RUNS] [LINES] [LINE_BYTES]
#   (needs: tmux, docker, the fixture image debian:bookworm-slim; SHIPDECK_BIN to pick a binary)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-4}
LINES=${2:-20000}
BYTES=${3:-33000}
BIN=${SHIPDECK_BIN:-$PWD/target/debug/shipdeck}
[ -x "$BIN" ] || cargo build --quiet
work=$(mktemp -d)
app="bench-mem-$$"
session="shipdeck-mem-$$"
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
[watch]
on_busy = "queue"
[stages.flood]
image = "debian:bookworm-slim"
run = ["yes \"\$(head -c $BYTES /dev/zero | tr '\\\\0' x)\" | head -n $LINES"]
TOML
git -C "$work/app" init -q && git -C "$work/app" add -A && git -C "$work/app" -c user.name=b -c user.email=b@b commit -qm bench

screen() { tmux capture-pane -p -t "$session"; }
tmux new-session -d -s "$session" -x 160 -y 45 -c "$work/app" "$BIN -C $work/app"
until screen | grep -q 'docker ●'; do sleep 0.1; done
pid=$(pgrep -f "^$BIN -C $work/app")
start=$(date +%s)
for i in $(seq "$RUNS"); do
  tmux send-keys -t "$session" Enter
  # One run after another: wait for this one to finish.
  until "$BIN" -C "$work/app" history -n 50 2>/dev/null | grep -c 'success' | grep -qx "$i"; do
    sleep 1
    [ $(( $(date +%s) - start )) -lt 1800 ] || { echo "timed out" >&2; screen >&2; exit 1; }
  done
  echo "run $i done after $(( $(date +%s) - start )) s: RSS now $(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status) MB, peak $(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status) MB"
done
# Open each finished run's log (re-read from its file) to include that in the peak.
tmux send-keys -t "$session" Down Down Down Up Up Up
sleep 3
peak=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)
now=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status)
echo "console peak RSS over $RUNS runs × $LINES lines × $BYTES bytes: $peak MB (at the end: $now MB; bound: 256 MB)"
du -sh "$work/app/.shipdeck/runs" | awk '{print "log files on disk: " $1}'
tmux send-keys -t "$session" q
