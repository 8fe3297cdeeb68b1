#!/usr/bin/env python3
"""Watch-mode benchmarks against the real engine, printing figures (not a test):

- commit -> first stage container started: `git commit` returns, then the time until the
  first line the stage's container prints; split into shipdeck's own part (until the run is
  queued: the watcher sees the ref, reads the commit, records the run) and the rest (Docker:
  workspace volume, container create and start);
- save -> on_save stage started, less the debounce;
- idle CPU of `shipdeck watch` over 10 s on a tree of 100,000 files (and an ignored target/).

Usage: bench/watch.py [COMMITS]   (needs a release build and debian:bookworm-slim)
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats import spread  # noqa: E402  (beside this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "shipdeck")
COMMITS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
DEBOUNCE_MS = 100
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def sh(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def make_repo(path, files=0):
    os.makedirs(path)
    with open(os.path.join(path, "release.toml"), "w") as f:
        f.write(f"""[app]
name = "bench-watch"
[watch]
on = "both"
debounce_ms = {DEBOUNCE_MS}
[stages.test]
image = "debian:bookworm-slim"
run = ["true"]
network = "none"
on_save = true
""")
    with open(os.path.join(path, ".gitignore"), "w") as f:
        f.write("target/\n")
    for d in range(files // 50):
        os.makedirs(os.path.join(path, "src", f"d{d}"))
        for i in range(50):
            with open(os.path.join(path, "src", f"d{d}", f"f{i}.txt"), "w") as f:
                f.write("x\n")
    if files:
        for d in range(1000):
            os.makedirs(os.path.join(path, "target", f"d{d}"))
            for i in range(50):
                open(os.path.join(path, "target", f"d{d}", f"o{i}"), "w").close()
    sh(["git", "init", "-q"], path)
    sh(GIT + ["add", "-A"], path)
    sh(GIT + ["commit", "-qm", "init"], path)


class Watch:
    def __init__(self, path):
        self.proc = subprocess.Popen([BIN, "-C", path, "watch", "--json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.events = []
        self.cond = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["_seen"] = time.time()
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()

    def wait(self, pred, timeout=60):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                left = deadline - time.time()
                if left <= 0:
                    raise SystemExit("timed out waiting for an event; last events: " + str([(e["event"], e.get("trigger"), e.get("message")) for e in self.events[-6:]]))
                self.cond.wait(left)

    def stop(self):
        self.proc.send_signal(2)
        self.proc.wait(timeout=20)


def ts(event):
    from datetime import datetime
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()


def main():
    work = tempfile.mkdtemp()
    try:
        repo = os.path.join(work, "small")
        make_repo(repo)
        w = Watch(repo)
        w.wait(lambda e: e["event"] == "watch_status" and e.get("watching"))
        totals, own, docker = [], [], []
        for n in range(COMMITS):
            with open(os.path.join(repo, "f.txt"), "w") as f:
                f.write(str(n))
            sh(GIT + ["add", "-A"], repo)
            sh(GIT + ["commit", "-qm", f"c{n}"], repo)
            committed = time.time()
            sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
            q = w.wait(lambda e: e["event"] == "run_queued" and e["commit"] == sha and e["trigger"].startswith("commit"))
            line = w.wait(lambda e: e["event"] == "stage_log" and e["run"] == q["run"])
            w.wait(lambda e: e["event"] == "run_finished" and e["run"] == q["run"])
            totals.append((line["_seen"] - committed) * 1000)
            own.append((ts(q) - committed) * 1000)
            docker.append((line["_seen"] - ts(q)) * 1000)
        saves = []
        for n in range(max(5, COMMITS // 3)):
            with open(os.path.join(repo, "f.txt"), "w") as f:
                f.write(f"save {n}")
            saved = time.time()
            q = w.wait(lambda e: e["event"] == "run_queued" and e["trigger"].startswith("save") and e["_seen"] > saved)
            line = w.wait(lambda e: e["event"] == "stage_log" and e["run"] == q["run"])
            w.wait(lambda e: e["event"] == "run_finished" and e["run"] == q["run"])
            saves.append((line["_seen"] - saved) * 1000 - DEBOUNCE_MS)
        w.stop()
        ms = lambda xs: spread([x / 1000 for x in xs])
        print(f"== commit -> first stage container started ({COMMITS} commits)")
        print(f"total:                                   {ms(totals)}")
        print(f"  shipdeck's own part, commit -> queued: {ms(own)} (target for a new commit: median within 200 ms)")
        print(f"  Docker's part, queued -> first output: {ms(docker)}")
        print(f"== save -> on_save stage started, less the {DEBOUNCE_MS} ms debounce ({len(saves)} saves)")
        print(f"                                         {ms(saves)}")

        big = os.path.join(work, "big")
        t = time.time()
        make_repo(big, files=100_000)
        print(f"== idle CPU watching 100,000 files (+50,000 ignored in target/; made in {time.time() - t:.0f} s)")
        w = Watch(big)
        started = time.time()
        status = w.wait(lambda e: e["event"] == "watch_status" and e.get("watching"), timeout=120)
        print(f"watching after:                          {(time.time() - started) * 1000:.0f} ms, {status['dirs']} directories (target: under 2 s)")
        time.sleep(1)
        def cpu():
            with open(f"/proc/{w.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        c0, t0 = cpu(), time.time()
        time.sleep(10)
        c1, t1 = cpu(), time.time()
        print(f"idle CPU:                                {100 * (c1 - c0) / (t1 - t0):.2f} % of a core (target: under 1 %)")
        w.stop()
    finally:
        subprocess.run(["docker", "volume", "prune", "-f", "--filter", "label=dev.shipdeck.app=bench-watch"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


main()
