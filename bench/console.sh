#!/usr/bin/env bash
# Console benchmarks: time from start to the first frame drawn (N starts in tmux, read from
# the "first frame drawn" line shipdeck logs, and the wall time until the frame is on the
# screen as tmux sees it), then the log pane's own bench (1M lines ingested, 200x60 frames,
# memory).
# Usage: bench/console.sh [STARTS]   (needs: tmux, a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
STARTS=${1:-15}
BIN=$PWD/target/release/shipdeck
[ -x "$BIN" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'tmux kill-session -t shipdeck-bench 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r fixtures/apps/hello-py/. "$work/app"
rm -rf "$work/app/.shipdeck"
git -C "$work/app" init -q && git -C "$work/app" add -A && git -C "$work/app" -c user.name=b -c user.email=b@b commit -qm bench

now_ms() { date +%s%3N; }
source bench/stats.sh
: > "$work/screen.ms"
for _ in $(seq "$STARTS"); do
  t=$(now_ms)
  tmux new-session -d -s shipdeck-bench -x 120 -y 40 -c "$work/app" "$BIN"
  until tmux capture-pane -p -t shipdeck-bench 2>/dev/null | grep -q 'Runs'; do sleep 0.002; done
  echo $(( $(now_ms) - t )) >> "$work/screen.ms"
  tmux send-keys -t shipdeck-bench q
  while tmux has-session -t shipdeck-bench 2>/dev/null; do sleep 0.01; done
done
grep -o 'ms=[0-9.]*' "$work/app/.shipdeck/shipdeck.log" | cut -d= -f2 > "$work/frame.ms"
echo "== start to first frame ($STARTS starts)"
echo "first frame drawn, measured in-process: $(spread ' ms' < "$work/frame.ms") (target: median under 150 ms)"
echo "until tmux shows it, incl. tmux start:  $(spread ' ms' < "$work/screen.ms")"
echo
echo "== log pane"
cargo bench --quiet --bench log_pane 2>/dev/null
echo
cargo bench --quiet --bench console_frame 2>/dev/null
