#!/usr/bin/env python3
"""Environments benchmark on the real engine with the hello-py fixture; prints figures.

  1. promote → the new release answering its smoke check in production (median of N);
  2. requests failed during a staging redeploy under a steady loopback load, and the gap;
  3. rollback time (command start → previous release answering).

Usage: bash fixtures/images/build.sh && cargo build --release && python3 bench/environments.py [N]
"""

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats import spread  # noqa: E402  (beside this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SHIPDECK", os.path.join(ROOT, "target", "release", "shipdeck"))
APP = "bench-env-%d" % os.getpid()
STAGING, PRODUCTION = 18380, 18381
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def sh(*args, cwd=None, check=True):
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(args), out.stdout, out.stderr))
    return out


def health(port, timeout=2.0):
    """(status, body) of GET /health, or (0, error)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/health")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        return resp.status, body
    except Exception as e:  # noqa: BLE001 - any failure is a failed request here
        return 0, str(e)


def wait_for_commit(port, commit, started, limit=60):
    while time.monotonic() - started < limit:
        status, body = health(port, timeout=0.5)
        if status == 200 and commit in body:
            return time.monotonic() - started
        time.sleep(0.005)
    sys.exit("release %s never answered on %d" % (commit, port))


def main():
    repo = tempfile.mkdtemp(prefix="shipdeck-bench-env-")
    try:
        shutil.copytree(os.path.join(ROOT, "fixtures/apps/hello-py"), repo, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".shipdeck", "dist", "__pycache__"))
        toml = open(os.path.join(repo, "release.toml")).read()
        toml = (toml.replace('name = "hello-py"', 'name = "%s"' % APP)
                .replace("127.0.0.1:18080:8080", "127.0.0.1:%d:8080" % STAGING)
                .replace("127.0.0.1:18081:8080", "127.0.0.1:%d:8080" % PRODUCTION))
        open(os.path.join(repo, "release.toml"), "w").write(toml)
        git = lambda *a: sh("git", "-c", "user.name=Bench", "-c", "user.email=b@x", *a, cwd=repo)
        git("init", "-q", "-b", "main")
        git("add", "-A")
        git("commit", "-qm", "release A")
        commits = [git("rev-parse", "HEAD").stdout.strip()]
        open(os.path.join(repo, "NOTES"), "w").write("B\n")
        git("add", "-A")
        git("commit", "-qm", "release B")
        commits.append(git("rev-parse", "HEAD").stdout.strip())
        for c in commits:
            sh(BIN, "run", "--commit", c, cwd=repo)
        shipdeck = lambda *a: sh(BIN, *a, cwd=repo)

        # 1. promote → answering its smoke check in production.
        promote = []
        shipdeck("deploy", "staging", "--release", commits[0])
        shipdeck("promote", "production", "--yes")
        for i in range(N):
            c = commits[(i + 1) % 2]
            shipdeck("deploy", "staging", "--release", c)
            started = time.monotonic()
            proc = subprocess.Popen([BIN, "promote", "production", "--yes"], cwd=repo,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            answered = wait_for_commit(PRODUCTION, c, started)
            proc.wait()
            promote.append((answered, time.monotonic() - started))

        # 2. requests failed during a staging redeploy under a steady load.
        runs = []
        for i in range(N):
            c = commits[i % 2]
            stop = threading.Event()
            results = []

            def load():
                while not stop.is_set():
                    t = time.monotonic()
                    status, _ = health(STAGING, timeout=1.0)
                    results.append((t, status == 200))
                    time.sleep(0.01)

            worker = threading.Thread(target=load)
            worker.start()
            time.sleep(0.3)
            shipdeck("deploy", "staging", "--release", c)
            time.sleep(0.3)
            stop.set()
            worker.join()
            failed = [t for t, ok in results if not ok]
            gap = (max(failed) - min(failed)) if failed else 0.0
            runs.append((len(results), len(failed), gap))

        # 3. rollback: command start → previous release answering.
        rollback = []
        for i in range(N):
            current = json.loads(shipdeck("status", "--json").stdout)[0]["deployed"]["release"]["commit"]
            target = commits[1] if current == commits[0] else commits[0]
            started = time.monotonic()
            proc = subprocess.Popen([BIN, "rollback", "staging", "--to", target], cwd=repo,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            answered = wait_for_commit(STAGING, target, started)
            proc.wait()
            rollback.append((answered, time.monotonic() - started))

        ms = spread
        print("promote → new release answering in production: %s (command done incl. smoke: %s)"
              % (ms([a for a, _ in promote]), ms([d for _, d in promote])))
        total = sum(r[0] for r in runs)
        failed = sum(r[1] for r in runs)
        print("staging redeploy under load (1 client, ~100 req/s): %d of %d requests failed over %d deploys; "
              "gap %s" % (failed, total, N, ms([r[2] for r in runs])))
        print("rollback → previous release answering: %s (command done incl. smoke: %s)"
              % (ms([a for a, _ in rollback]), ms([d for _, d in rollback])))
    finally:
        ids = sh("docker", "ps", "-aq", "--filter", "label=dev.shipdeck.app=" + APP, check=False).stdout.split()
        if ids:
            sh("docker", "rm", "-fv", *ids, check=False)
        vols = sh("docker", "volume", "ls", "-q", "--filter", "label=dev.shipdeck.app=" + APP, check=False).stdout.split()
        if vols:
            sh("docker", "volume", "rm", "-f", *vols, check=False)
        imgs = sh("docker", "images", "-q", "--filter", "label=dev.shipdeck.app=" + APP, check=False).stdout.split()
        if imgs:
            sh("docker", "rmi", "-f", *set(imgs), check=False)
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
