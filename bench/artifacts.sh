#!/usr/bin/env bash
# Artifact copy-out benchmark against the local Docker engine: a stage writes one file of
# SIZE MiB (default 1024) as its artifact; shipdeck copies it to .shipdeck/runs/<n>/artifacts.
# Prints the wall time of the run, the time of `docker cp` of the same file for comparison,
# and shipdeck's peak memory (max RSS), which must not grow with the artifact: archives are
# streamed to disk, never collected in memory.
# Each figure is the median and spread of RUNS (default 3) runs.
# Usage: RUNS=3 bench/artifacts.sh [SIZE_MIB]   (needs: a release build, debian:bookworm-slim, GNU time;
# BIN=target/debug/shipdeck measures another build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
RUNS=${RUNS:-3}
IMAGE=debian:bookworm-slim
BIN=${BIN:-$PWD/target/release/shipdeck}
[ -x "$BIN" ] || cargo build --release --quiet
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash fixtures/images/build.sh

work=$(mktemp -d)
cid=""
trap 'rm -rf "$work"; [ -n "$cid" ] && docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT

mkdir -p "$work/app"
cat > "$work/app/release.toml" <<TOML
[app]
name = "bench-artifacts"
max_artifacts = "$((SIZE + 1))MiB"
[stages.big]
image = "$IMAGE"
network = "none"
run = ["mkdir -p out && head -c ${SIZE}M /dev/zero > out/blob"]
artifacts = ["out"]
TOML
git -C "$work/app" init -q
git -C "$work/app" add -A
git -C "$work/app" -c user.name=bench -c user.email=bench@localhost commit -qm bench

now_ms() { date +%s%3N; }

source bench/stats.sh
echo "== one ${SIZE} MiB artifact, $RUNS runs"
: > "$work/run.ms"; : > "$work/gen.ms"; : > "$work/cp.ms"; : > "$work/rss.mb"
for _ in $(seq "$RUNS"); do
  rm -rf "$work/app/.shipdeck" "$work/cp"
  t=$(now_ms)
  /usr/bin/time -f '%M' -o "$work/rss" "$BIN" -C "$work/app" run > "$work/run.out"
  echo $(( $(now_ms) - t )) >> "$work/run.ms"
  echo $(( $(cat "$work/rss") / 1024 )) >> "$work/rss.mb"
  copied=$(stat -c %s "$work/app/.shipdeck/runs/1/artifacts/out/blob")

  cid=$(docker create --network none "$IMAGE" sh -c "mkdir -p /out && head -c ${SIZE}M /dev/zero > /out/blob")
  t=$(now_ms); docker start -a "$cid" >/dev/null; echo $(( $(now_ms) - t )) >> "$work/gen.ms"
  t=$(now_ms); docker cp "$cid:/out" "$work/cp" ; echo $(( $(now_ms) - t )) >> "$work/cp.ms"
  docker rm -f "$cid" >/dev/null; cid=""
done

echo "shipdeck run (stage + copy-out): $(spread ' ms' < "$work/run.ms"), ${copied} bytes copied"
echo "docker start (the stage alone):  $(spread ' ms' < "$work/gen.ms")"
echo "docker cp of the same artifact:  $(spread ' ms' < "$work/cp.ms")"
echo "shipdeck peak memory:            $(spread ' MB' < "$work/rss.mb") (before streaming: about the artifact's size)"
