#!/usr/bin/env bash
# Pipeline benchmarks, measured side by side in one run against the local Docker engine:
#  1. overhead: `shipdeck run` of a one-stage pipeline running `true`, against
#     `docker run --rm IMAGE sh -c true` (median of N runs each, wall time of the whole command:
#     shipdeck's includes its per-run work, connecting, the history, the workspace volume);
#     and the cost of one more stage: a chain of 6 stages against 1, (T6 - T1) / 5;
#  2. a stage printing 1,000,000 lines (about 50 MB): `shipdeck run > file` against
#     `docker run --rm IMAGE sh -c CMD > file`, with shipdeck's peak memory (max RSS).
# Usage: bench/pipeline.sh [RUNS]   (needs: a release build, debian:bookworm-slim, GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
IMAGE=debian:bookworm-slim
BIN=$PWD/target/release/shipdeck
[ -x "$BIN" ] || cargo build --release --quiet
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash fixtures/images/build.sh

work=$(mktemp -d)
trap 'rm -rf "$work"; docker rmi -f $(docker images -q --filter label=dev.shipdeck.app=bench-pipeline) >/dev/null 2>&1 || true' EXIT

# A line of 50 bytes with its newline; 1,000,000 of them.
LINES_CMD='i=0; yes "0123456789 the quick brown fox jumps over it" | head -n 1000000'

make_repo() { # $1 dir, $2 stage command
  mkdir -p "$1"
  cat > "$1/release.toml" <<TOML
[app]
name = "bench-pipeline"
[stages.bench]
image = "$IMAGE"
run = ['$2']
network = "none"
TOML
  git -C "$1" init -q
  git -C "$1" add -A
  git -C "$1" -c user.name=bench -c user.email=bench@localhost commit -qm bench
}

now_ms() { date +%s%3N; }
source bench/stats.sh

make_repo "$work/overhead" "true"
make_repo "$work/chain" "true"
for i in 2 3 4 5 6; do
  printf '[stages.s%s]\nneeds = ["%s"]\nimage = "%s"\nrun = ["true"]\nnetwork = "none"\n' \
    "$i" "$([ "$i" = 2 ] && echo bench || echo "s$((i - 1))")" "$IMAGE" >> "$work/chain/release.toml"
done
git -C "$work/chain" -c user.name=bench -c user.email=bench@localhost commit -qam chain
make_repo "$work/lines" "$LINES_CMD"

# Warm both paths once (image cache, page cache).
docker run --rm --network none "$IMAGE" sh -c true
"$BIN" -C "$work/overhead" run >/dev/null

echo "== per-stage overhead ($RUNS runs each, alternating)"
: > "$work/docker.ms"; : > "$work/shipdeck.ms"; : > "$work/chain.ms"
for _ in $(seq "$RUNS"); do
  t=$(now_ms); docker run --rm --network none "$IMAGE" sh -c true; echo $(( $(now_ms) - t )) >> "$work/docker.ms"
  t=$(now_ms); "$BIN" -C "$work/overhead" run >/dev/null; echo $(( $(now_ms) - t )) >> "$work/shipdeck.ms"
  t=$(now_ms); "$BIN" -C "$work/chain" run >/dev/null; echo $(( $(now_ms) - t )) >> "$work/chain.ms"
done
d=$(median < "$work/docker.ms"); s=$(median < "$work/shipdeck.ms"); c=$(median < "$work/chain.ms")
per_stage=$(( (c - s) / 5 ))
echo "docker run --rm:                   $(spread ' ms' < "$work/docker.ms")"
echo "shipdeck run, 1 stage:             $(spread ' ms' < "$work/shipdeck.ms")  (+$((s - d)) ms at the median: per-run work + the stage)"
echo "shipdeck run, 6 stages in a chain: $(spread ' ms' < "$work/chain.ms")"
echo "one more stage, (6 - 1) / 5:              ${per_stage} ms  (+$((per_stage - d)) ms against docker run; target: within 60 ms)"

echo
echo "== 1,000,000 lines to a file"
t=$(now_ms); docker run --rm --network none "$IMAGE" sh -c "$LINES_CMD" > "$work/docker.out"; dl=$(( $(now_ms) - t ))
/usr/bin/time -f '%M' -o "$work/rss" "$BIN" -C "$work/lines" run > "$work/shipdeck.out"
t=$(now_ms); /usr/bin/time -f '%M' -o "$work/rss" "$BIN" -C "$work/lines" run > "$work/shipdeck.out"; sl=$(( $(now_ms) - t ))
echo "docker run > file:    ${dl} ms, $(wc -c < "$work/docker.out") bytes, $(wc -l < "$work/docker.out") lines"
echo "shipdeck run > file:  ${sl} ms, $(wc -c < "$work/shipdeck.out") bytes, $(grep -c ' bench | ' "$work/shipdeck.out") stage lines"
awk -v s="$sl" -v d="$dl" 'BEGIN { printf "ratio:                %.2fx (target: within 1.1x)\n", s / d }'
echo "shipdeck peak memory: $(( $(cat "$work/rss") / 1024 )) MB (target: under 64 MB)"
