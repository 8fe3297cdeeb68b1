#!/usr/bin/env bash
# shipdeck's load-test generator beside wrk (Debian's package) against the same endpoint: the
# hello-py fixture app's GET /health, served by its own code in python:3.11-slim on a free
# loopback port. Prints the achieved rate, p50 and p99 of each side by side.
#
# Rate: shipdeck's generator is open loop at RATE/s. Debian's wrk has no rate option (that is
# wrk2), so it runs CONNS connections that each wait CONNS/RATE s between requests (a Lua
# `delay`), which is RATE/s while answers are fast. wrk counts latency from the send; shipdeck
# from each request's due time (the same numbers while nothing stalls).
#
# Usage: bash bench/load.sh [RATE] [SECONDS]   (defaults 200 and 10; CONNS=10)
#   Needs: Docker with python:3.11-slim (fixtures/images/build.sh), wrk (apt-get install -y wrk).
set -euo pipefail
RATE=${1:-200}
SECS=${2:-10}
CONNS=${CONNS:-10}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

# GEN=path: a load_generator already built (else it is built here).
if [ -z "${GEN:-}" ]; then
  cargo build -q --example load_generator
  GEN=target/debug/examples/load_generator
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NAME="shipdeck-bench-load-$$"
docker run -d --name "$NAME" --label dev.shipdeck.app=bench-load -p "127.0.0.1:$PORT:8080" \
  -v "$PWD/fixtures/apps/hello-py:/src:ro" -w /src -e PYTHONDONTWRITEBYTECODE=1 \
  python:3.11-slim python -m app >/dev/null
trap 'docker rm -f "$NAME" >/dev/null' EXIT
URL="http://127.0.0.1:$PORT/health"
for _ in $(seq 100); do
  curl -fs "$URL" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$URL" >/dev/null

LUA=$(mktemp --suffix=.lua)
trap 'docker rm -f "$NAME" >/dev/null; rm -f "$LUA"' EXIT
DELAY_MS=$(python3 -c "print(round($CONNS * 1000 / $RATE))")
cat >"$LUA" <<LUA
function delay() return $DELAY_MS end
LUA

# A short warm-up for both, then the measured runs.
"$GEN" "$URL" "$RATE" 1 >/dev/null
SHIP=$("$GEN" "$URL" "$RATE" "$SECS")
WRK=$(wrk -t 2 -c "$CONNS" -d "${SECS}s" --latency -s "$LUA" "$URL")

python3 - "$RATE" "$SECS" "$SHIP" "$WRK" <<'PY'
import re, sys
rate, secs, ship, wrk = sys.argv[1:]
s = dict(kv.split("=") for kv in ship.split())
def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m[1]) * {"us": 0.001, "ms": 1, "s": 1000}[m[2]]
w_rate = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk)[1])
w_p50 = ms(re.search(r"^\s+50%\s+(\S+)", wrk, re.M)[1])
w_p99 = ms(re.search(r"^\s+99%\s+(\S+)", wrk, re.M)[1])
w_err = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", wrk)
rows = [
    ("achieved req/s", float(s["achieved"]), w_rate),
    ("p50 ms", int(s["p50_us"]) / 1000, w_p50),
    ("p99 ms", int(s["p99_us"]) / 1000, w_p99),
]
print(f"GET /health of hello-py at {rate} req/s for {secs} s")
print(f"{'':16} {'shipdeck':>10} {'wrk':>10} {'diff':>8}")
for name, a, b in rows:
    diff = (a - b) / b * 100 if b else float("nan")
    print(f"{name:16} {a:10.2f} {b:10.2f} {diff:+7.1f}%")
print(f"{'errors':16} {s['errors']:>10} {(w_err[0] if w_err else '0'):>10}")
PY
