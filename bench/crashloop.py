#!/usr/bin/env python3
"""Issue 11 benchmark: how long after kubesim first reports a new pod in
CrashLoopBackOff does `thebot upgrade` exit (with 4, rollout failed)?

Per run: a fresh kubesim binary at --speed 1, `thebot install dev
--create-namespace`, then `thebot upgrade -n thebot-dev --set
images.frontend.tag=crashloop --timeout 10m`. An independent
`kubectl get pods -w -o json` stamps, on the client side, the first pod
status whose container is waiting with reason CrashLoopBackOff; thebot's
exit is stamped when its process ends. Prints every run, then the median
and max of (exit - first CrashLoopBackOff).

Usage: bench/crashloop.py [RUNS]   (default 10; after
  cargo build --release -p thebot -p kubesim; the binaries are taken from
  $CARGO_TARGET_DIR/release, else target/release)
"""
import json, os, statistics, subprocess, sys, tempfile, threading, time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
NS = "thebot-dev"


def crashlooping(pod):
    """(container, restartCount) of the first container waiting in CrashLoopBackOff."""
    for c in pod.get("status", {}).get("containerStatuses", []) or []:
        if c.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff":
            return c["name"], c.get("restartCount", 0)
    return None


def states(pod):
    out = []
    for c in pod.get("status", {}).get("containerStatuses", []) or []:
        st = c.get("state", {})
        kind = next(iter(st), "?")
        reason = st.get(kind, {}).get("reason", "")
        finished = c.get("lastState", {}).get("terminated", {}).get("finishedAt")
        out.append(f"{kind}{'/' + reason if reason else ''} restarts={c.get('restartCount', 0)}"
                   + (f" (last exit {finished})" if finished else ""))
    return ", ".join(out)


class PodWatch:
    """`kubectl get pods -w -o json`, each object stamped when it arrives."""

    def __init__(self, env):
        self.proc = subprocess.Popen(["kubectl", "get", "pods", "-n", NS, "-w", "-o", "json"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.seen = []  # (monotonic, name, image tag, states, crashloop)
        threading.Thread(target=self.follow, daemon=True).start()

    def follow(self):
        buf = ""
        for line in self.proc.stdout:
            buf += line
            if line.startswith("}"):
                now = time.monotonic()
                pod = json.loads(buf)
                buf = ""
                images = [c.get("image", "") for c in pod.get("spec", {}).get("containers", [])]
                self.seen.append((now, pod["metadata"]["name"], images, states(pod), crashlooping(pod)))

    def first_crashloop(self):
        return next((s for s in self.seen if s[4] and any("crashloop" in i for i in s[2])), None)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def run_once(i, verbose):
    tmp = tempfile.mkdtemp(prefix="crashloop-bench-")
    kc = os.path.join(tmp, "kubeconfig")
    sim = subprocess.Popen([os.path.join(BIN, "kubesim"), "--port", "0", "--kubeconfig-out", kc, "--speed", "1"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        sim.stdout.readline()
        env = dict(os.environ, KUBECONFIG=kc, NO_COLOR="1")
        thebot = os.path.join(BIN, "thebot")
        subprocess.run([thebot, "install", "dev", "--create-namespace", "-q"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        watch = PodWatch(env)
        time.sleep(0.5)  # the watch's initial list is in
        start = time.monotonic()
        p = subprocess.Popen([thebot, "upgrade", "-n", NS, "--set", "images.frontend.tag=crashloop",
                              "--timeout", "10m"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        lines = []
        for line in p.stderr:
            lines.append((time.monotonic(), line.rstrip()))
        code = p.wait()
        exited = time.monotonic()
        time.sleep(0.2)
        watch.stop()
    finally:
        sim.kill()
        sim.wait()
    first = watch.first_crashloop()
    if first is None:
        raise SystemExit(f"run {i}: no CrashLoopBackOff seen (thebot exit {code}):\n" +
                         "\n".join(l for _, l in lines))
    t0, pod, _, _, (container, restarts) = first
    failed_at = next((t for t, l in lines if "failed" in l.lower()), None)
    result = {
        "latency": exited - t0,
        "code": code,
        "upgrade": exited - start,
        "first_restarts": restarts,
        "reported": None if failed_at is None else failed_at - t0,
    }
    if verbose:
        t = time.time() - (time.monotonic() - start)
        print(f"  run {i} timeline (s after the upgrade started at "
              f"{time.strftime('%H:%M:%S', time.gmtime(t))}{f'{t % 1:.3f}'[1:]}Z):")
        for t, name, images, st, _ in watch.seen:
            if any("crashloop" in im for im in images):
                print(f"    {t - start:7.3f} pod {name}: {st}")
        for t, l in lines:
            print(f"    {t - start:7.3f} thebot: {l}")
        print(f"    {exited - start:7.3f} thebot exit {code}")
    return result


def main():
    verbose = os.environ.get("VERBOSE") == "1"
    results = []
    for i in range(1, RUNS + 1):
        r = run_once(i, verbose)
        results.append(r)
        print(f"run {i:2}: first CrashLoopBackOff (restartCount {r['first_restarts']}) -> thebot exit "
              f"{r['latency']:6.2f} s (failure line after {r['reported']:.2f} s), exit code {r['code']}, "
              f"whole upgrade {r['upgrade']:.2f} s", flush=True)
    lat = sorted(r["latency"] for r in results)
    bad = [r["code"] for r in results if r["code"] != 4]
    print(f"{RUNS} runs, kubesim --speed 1: first CrashLoopBackOff -> thebot exit: "
          f"median {statistics.median(lat):.2f} s, max {lat[-1]:.2f} s, min {lat[0]:.2f} s; "
          f"whole upgrade median {statistics.median(r['upgrade'] for r in results):.2f} s; "
          f"exit codes {'all 4' if not bad else bad}")
    if bad:
        sys.exit(1)


main()
