#!/usr/bin/env bash
# Package stage benchmark, side by side in one run against the local engine: BuildKit (what
# the package stage uses) against the classic builder (SHIPDECK_BUILDER=classic), cold and warm,
# for hello-py (its fixture Dockerfile, the zipapp prebuilt and committed) and hello-rs (a
# Dockerfile variant whose `RUN --mount=type=cache` runs `cargo build` in the build; the classic
# builder gets the same Dockerfile without the `--mount` flags, which it cannot parse).
# Each figure is the package stage's own duration (`stage_finished.duration_ms`) of a
# package-only pipeline.
#  cold: an app name this engine never built (shipdeck's build label is part of every step's
#        cache key, the cache mount id carries the name): nothing reused.
#  warm: then RUNS more commits, each changing the app's source, median reported.
# Usage: bench/package.sh [RUNS]   (needs: python:3.11-slim, rust:1-slim-bookworm,
#        debian:bookworm-slim; SHIPDECK_BIN, default target/release/shipdeck, else debug)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BIN=${SHIPDECK_BIN:-$PWD/target/release/shipdeck}
[ -x "$BIN" ] || BIN=$PWD/target/debug/shipdeck
[ -x "$BIN" ] || cargo build --quiet
for image in python:3.11-slim rust:1-slim-bookworm debian:bookworm-slim; do
  docker image inspect "$image" >/dev/null 2>&1 || { echo "missing $image: bash fixtures/images/build.sh" >&2; exit 2; }
done
source bench/stats.sh

work=$(mktemp -d)
tag=$$-$(date +%s)
apps=()
cleanup() {
  for app in "${apps[@]}"; do
    ids=$(docker images -q --filter "label=dev.shipdeck.app=$app")
    [ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
    # shipdeck keeps a record of each release it built in a labelled volume.
    vols=$(docker volume ls -q --filter "label=dev.shipdeck.app=$app")
    [ -z "$vols" ] || docker volume rm -f $vols >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit() { git -C "$1" add -A && { [ ! -d "$1/dist" ] || git -C "$1" add -f dist; } && git -C "$1" -c user.name=bench -c user.email=bench@localhost commit -qm "$2"; }

# $1 fixture, $2 builder (buildkit|classic): a package-only copy of the fixture, committed.
make_app() {
  local fixture=$1 builder=$2 name="bench-$1-$2-$tag" dir="$work/$1-$2"
  apps+=("$name")
  cp -r "fixtures/apps/$fixture" "$dir"
  printf '[app]\nname = "%s"\n[stages.package]\ndockerfile = "Dockerfile"\n' "$name" > "$dir/release.toml"
  if [ "$fixture" = hello-py ]; then
    mkdir -p "$dir/dist"
    docker run --rm -v "$dir:/w" -w /w --network none python:3.11-slim \
      sh -c 'python -m zipapp app -o dist/hello.pyz && chown -R '"$(id -u):$(id -g)"' dist'
  else
    # The fixture's .dockerignore keeps only dist/: this variant builds from the sources.
    rm -f "$dir/.dockerignore"
    cat > "$dir/Dockerfile" <<EOF
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
RUN --mount=type=cache,target=/src/target,id=$name-target \\
    cargo build --release --offline && cp target/release/hello-rs /hello-rs
FROM debian:bookworm-slim
COPY --from=build /hello-rs /usr/local/bin/hello-rs
CMD ["/usr/local/bin/hello-rs"]
EOF
    [ "$builder" = classic ] && sed -i 's/--mount=[^ ]* //' "$dir/Dockerfile"
  fi
  git -C "$dir" init -q
  commit "$dir" initial
  echo "$dir"
}

# $1 dir, $2 builder: the package stage's duration in ms.
package_ms() {
  local env=()
  [ "$2" = classic ] && env=(SHIPDECK_BUILDER=classic)
  local out
  out=$(env "${env[@]}" "$BIN" -C "$1" run --json 2>/dev/null || true)
  echo "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "stage_finished" and e.get("stage") == "package":
        if e.get("status") != "success": sys.exit("package " + e.get("status", "?") + ": " + str(e.get("message")))
        print(e["duration_ms"]); break
else: sys.exit("no package stage")'
}

# $1 dir, $2 fixture, $3 n: a commit changing the app's source (what a push does).
touch_source() {
  if [ "$2" = hello-py ]; then
    echo "# edit $3" >> "$1/app/hello.py"
    docker run --rm -v "$1:/w" -w /w --network none python:3.11-slim \
      sh -c 'python -m zipapp app -o dist/hello.pyz && chown -R '"$(id -u):$(id -g)"' dist'
  else
    echo "// edit $3" >> "$1/src/main.rs"
  fi
  commit "$1" "edit $3"
}

printf '%-9s %-9s %10s  %s\n' app builder "cold ms" "warm ms"
for fixture in hello-py hello-rs; do
  for builder in classic buildkit; do
    dir=$(make_app "$fixture" "$builder" | tail -1)
    cold=$(package_ms "$dir" "$builder")
    : > "$work/warm.ms"
    for n in $(seq "$RUNS"); do
      touch_source "$dir" "$fixture" "$n"
      package_ms "$dir" "$builder" >> "$work/warm.ms"
    done
    printf '%-9s %-9s %10s  %s\n' "$fixture" "$builder" "$cold" "$(spread ms < "$work/warm.ms")"
  done
done
echo "target: warm hello-py package <= 1000 ms with BuildKit; hello-rs warm reuses its cache mount (only the crate recompiles)"
