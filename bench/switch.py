#!/usr/bin/env python3
"""Requests failed, and p99 latency, while a release replaces another, under an open-loop load.

One run, side by side on the same machine and engine, with the hello-py fixture:
  - shipdeck, strategy = "proxy" (the default): deploy staging, promote production, rollback
    production, deploy staging of a release that fails on production only, promote it (its
    smoke checks fail before the switch);
  - shipdeck, strategy = "recreate": the same five operations;
  - `docker compose up -d` (or docker-compose v1 when that is what is installed) redeploying
    the same images: A → B, B → A, A → C (C's /health fails: compose has no smoke checks).

The load is open-loop: requests are sent at a fixed rate (RATE per second, default 200) whatever
the answers do; half open a new connection, half reuse kept-alive ones. Latency is measured from
the moment each request was due, so a stall counts in full. A request failed when it got no
answer, a broken one, or a status other than 200. Each phase's window is the operation's
command, from start to end, plus 0.5 s on each side.

Usage: bash fixtures/images/build.sh && cargo build && python3 bench/switch.py [RATE]
  SHIPDECK=path/to/shipdeck (default target/release/shipdeck, else target/debug/shipdeck)
"""

import concurrent.futures
import http.client
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE_BIN = os.path.join(ROOT, "target", "release", "shipdeck")
BIN = os.environ.get("SHIPDECK") or (RELEASE_BIN if os.path.exists(RELEASE_BIN)
                                     else os.path.join(ROOT, "target", "debug", "shipdeck"))
RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 200
PID = os.getpid()

BAD_ON_PRODUCTION = '''

_respond_before_c = respond


def respond(method, path, environ):
    if path.split("?")[0] == "/health" and os.environ.get("SHIPDECK_ENV") == "production":
        return 503, "application/json", b'{"status": "broken"}\\n'
    return _respond_before_c(method, path, environ)
'''


def sh(*args, cwd=None, check=True):
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(args), out.stdout, out.stderr))
    return out


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class OpenLoop:
    """RATE requests per second to GET /health on `self.port`, due at fixed times."""

    def __init__(self, rate):
        self.rate = rate
        self.port = None
        self.results = []  # (due, ok, latency_s)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=96)
        self.kept = queue.SimpleQueue()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def run(self):
        i = 0
        t0 = time.monotonic()
        while not self.stop.is_set():
            due = t0 + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if self.port is not None:
                self.pool.submit(self.one, self.port, due, i % 2 == 1)
            i += 1

    def one(self, port, due, keep_alive):
        conn = None
        if keep_alive:
            try:
                conn = self.kept.get_nowait()
                if conn.port != port:
                    conn.close()
                    conn = None
            except queue.Empty:
                conn = None
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok = False
        try:
            conn.request("GET", "/health", headers={} if keep_alive else {"Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
            reusable = keep_alive and not resp.will_close
        except Exception:  # noqa: BLE001 - any failure is a failed request here
            reusable = False
        latency = time.monotonic() - due
        if reusable:
            self.kept.put(conn)
        else:
            conn.close()
        with self.lock:
            self.results.append((due, ok, latency))

    def window(self, start, end):
        with self.lock:
            return [(ok, lat) for due, ok, lat in self.results if start <= due <= end]

    def close(self):
        self.stop.set()
        self.thread.join()
        self.pool.shutdown(wait=True)


def p99(latencies):
    if not latencies:
        return float("nan")
    s = sorted(latencies)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def phase(load, port, name, action, rows, label):
    load.port = port
    time.sleep(1.0)
    start = time.monotonic() - 0.5
    code = action()
    end = time.monotonic() + 0.5
    time.sleep(1.0)
    seen = load.window(start, end)
    failed = sum(1 for ok, _ in seen if not ok)
    rows.append((label, name, code, len(seen), failed, p99([lat for _, lat in seen]) * 1000, end - start))


def make_repo(app, staging, production, strategy):
    repo = tempfile.mkdtemp(prefix="shipdeck-bench-switch-")
    shutil.copytree(os.path.join(ROOT, "fixtures/apps/hello-py"), repo, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".shipdeck", "dist", "__pycache__"))
    toml = open(os.path.join(repo, "release.toml")).read()
    extra = '\nstrategy = "%s"' % strategy
    toml = (toml.replace('name = "hello-py"', 'name = "%s"' % app)
            .replace('publish = "127.0.0.1:18080:8080"', 'publish = "127.0.0.1:%d:8080"%s' % (staging, extra))
            .replace('publish = "127.0.0.1:18081:8080"', 'publish = "127.0.0.1:%d:8080"%s' % (production, extra))
            .replace('within = "30s"', 'within = "5s"'))
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
    with open(os.path.join(repo, "app", "hello.py"), "a") as f:
        f.write(BAD_ON_PRODUCTION)
    git("add", "-A")
    git("commit", "-qm", "release C: /health fails on production")
    commits.append(git("rev-parse", "HEAD").stdout.strip())
    for c in commits:
        sh(BIN, "run", "--commit", c, cwd=repo)
    return repo, commits


def shipdeck_scenario(load, strategy, rows, images_out):
    app = "bench-switch-%s-%d" % (strategy, PID)
    staging, production = free_port(), free_port()
    repo, (a, b, c) = make_repo(app, staging, production, strategy)
    try:
        run = lambda *args: (lambda: subprocess.run([BIN, *args], cwd=repo, capture_output=True).returncode)
        sh(BIN, "deploy", "staging", "--release", a, cwd=repo)
        sh(BIN, "promote", "production", "--yes", cwd=repo)
        label = "shipdeck %s" % strategy
        # The anchor for p99: the same load, no operation (through the proxy, or straight to
        # the release's published port with recreate).
        phase(load, production, "idle: no operation (3 s)", lambda: (time.sleep(3), 0)[1], rows, label)
        phase(load, staging, "deploy staging A→B", run("deploy", "staging", "--release", b), rows, label)
        phase(load, production, "promote production A→B", run("promote", "production", "--yes"), rows, label)
        phase(load, production, "rollback production B→A", run("rollback", "production", "--to", a, "--yes"), rows, label)
        phase(load, staging, "deploy staging B→C", run("deploy", "staging", "--release", c), rows, label)
        phase(load, production, "promote production A→C (fails smoke)", run("promote", "production", "--yes"), rows, label)
        if strategy == "proxy":
            tags = {}
            for line in sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}",
                           "--filter", "label=dev.shipdeck.app=" + app).stdout.split("\n"):
                if line.strip():
                    tag, _ = line.split(" ", 1)
                    tags[tag.split(":")[1]] = tag
            images_out.extend(tags.get(x[:7]) for x in (a, b, c))
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    return app


def compose_command():
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"], "docker compose"
    if shutil.which("docker-compose"):
        version = sh("docker-compose", "version", "--short", check=False).stdout.strip()
        return ["docker-compose"], "docker-compose %s (the `docker compose` plugin is not installed)" % version
    return None, "neither `docker compose` nor docker-compose is installed: no compose figures"


def compose_scenario(load, images, rows):
    cmd, said = compose_command()
    print("compose: %s" % said)
    if cmd is None or None in images:
        return
    port = free_port()
    work = tempfile.mkdtemp(prefix="shipdeck-bench-compose-")
    project = "benchswitch%d" % PID
    def write(image):
        open(os.path.join(work, "docker-compose.yml"), "w").write(
            "version: '3'\nservices:\n  web:\n    image: %s\n    ports: ['127.0.0.1:%d:8080']\n"
            "    environment: {SHIPDECK_ENV: production, SHIPDECK_COMMIT: %s}\n" % (image, port, image))
    up = lambda: subprocess.run([*cmd, "-p", project, "up", "-d"], cwd=work, capture_output=True).returncode
    try:
        a, b, c = images
        write(a)
        up()
        time.sleep(2)
        for name, image in (("up -d A→B", b), ("up -d B→A", a), ("up -d A→C (fails /health)", c)):
            write(image)
            phase(load, port, name, up, rows, "compose")
    finally:
        subprocess.run([*cmd, "-p", project, "down", "-v"], cwd=work, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def cleanup(app):
    for kind, q in (("container", ["ps", "-aq"]), ("volume", ["volume", "ls", "-q"]), ("image", ["images", "-q"])):
        ids = sh("docker", *q, "--filter", "label=dev.shipdeck.app=" + app, check=False).stdout.split()
        if not ids:
            continue
        rm = {"container": ["rm", "-fv"], "volume": ["volume", "rm", "-f"], "image": ["rmi", "-f"]}[kind]
        sh("docker", *rm, *set(ids), check=False)
    nets = sh("docker", "network", "ls", "-q", "--filter", "label=dev.shipdeck.app=" + app, check=False).stdout.split()
    if nets:
        sh("docker", "network", "rm", *nets, check=False)


def main():
    print("open-loop load: %d req/s on GET /health (half new connections, half kept alive); %s" % (RATE, BIN))
    load = OpenLoop(RATE)
    load.start()
    rows, images, apps = [], [], []
    try:
        apps.append(shipdeck_scenario(load, "proxy", rows, images))
        apps.append(shipdeck_scenario(load, "recreate", rows, []))
        compose_scenario(load, images, rows)
    finally:
        load.close()
        for app in apps:
            cleanup(app)
    print("%-18s %-38s %4s %8s %7s %9s %7s" % ("who", "operation", "exit", "requests", "failed", "p99 ms", "window"))
    for label, name, code, n, failed, p, window in rows:
        print("%-18s %-38s %4s %8d %7d %9.0f %6.1fs" % (label, name, code, n, failed, p, window))
    for label in dict.fromkeys(r[0] for r in rows):
        n = sum(r[3] for r in rows if r[0] == label)
        f = sum(r[4] for r in rows if r[0] == label)
        print("%-18s total: %d of %d requests failed" % (label, f, n))


if __name__ == "__main__":
    main()
