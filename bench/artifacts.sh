#!/usr/bin/env bash
# Artifact copy-out benchmark against the local Docker engine: a stage writes one file of
# SIZE MiB (default 1024) as its artifact; shipdeck copies it to .shipdeck/runs/<n>/artifacts.
# Prints the wall time of the run, the time of `docker cp` of the same file for comparison,
# and shipdeck's peak memory (max RSS), which must not grow with the artifact: archives are
# streamed to disk, never collected in memory.
# Usage: bench/artifacts.sh [SIZE_MIB]   (needs: a release build, debian:bookworm-slim, GNU time;
# BIN=target/debug/shipdeck measures another build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
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

echo "== one ${SIZE} MiB artifact"
t=$(now_ms)
/usr/bin/time -f '%M' -o "$work/rss" "$BIN" -C "$work/app" run > "$work/run.out"
run_ms=$(( $(now_ms) - t ))
copied=$(stat -c %s "$work/app/.shipdeck/runs/1/artifacts/out/blob")

cid=$(docker create --network none "$IMAGE" sh -c "mkdir -p /out && head -c ${SIZE}M /dev/zero > /out/blob")
t=$(now_ms); docker start -a "$cid" >/dev/null; gen_ms=$(( $(now_ms) - t ))
t=$(now_ms); docker cp "$cid:/out" "$work/cp" ; cp_ms=$(( $(now_ms) - t ))

echo "shipdeck run (stage + copy-out): ${run_ms} ms, ${copied} bytes copied"
echo "docker start (the stage alone):  ${gen_ms} ms"
echo "docker cp of the same artifact:  ${cp_ms} ms"
echo "shipdeck peak memory:            $(( $(cat "$work/rss") / 1024 )) MB (before streaming: about the artifact's size)"
