#!/usr/bin/env python3
"""Issue 9 benchmark: how long after the last Deployment of stage 4 is
ready (as an independent watch, kubectl's, sees it) thebot reports the
stage ready. Runs N installs against the kubesim binary and prints the
median and max latency.

Usage: bench/stage_latency.py [RUNS]   (after cargo build --release -p thebot -p kubesim)
"""
import json, os, subprocess, sys, tempfile, threading, time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
COMPONENTS = ["backend", "frontend", "celery", "celery-beat"]


def ready(d):
    s, spec, meta = d.get("status", {}), d.get("spec", {}), d.get("metadata", {})
    want = spec.get("replicas", 1)
    return (s.get("observedGeneration", 0) >= meta.get("generation", 0)
            and s.get("updatedReplicas", 0) >= want and s.get("availableReplicas", 0) >= want
            and s.get("replicas", 0) == s.get("updatedReplicas", 0))


def run_once(kubeconfig, ns):
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    subprocess.run(["kubectl", "create", "namespace", ns], env=env, check=True, capture_output=True)
    ready_at = {}
    deployments = {f"{ns}-{c}" for c in COMPONENTS}
    watcher = subprocess.Popen(["kubectl", "get", "deploy", "-n", ns, "-w", "-o", "json"], env=env,
                               stdout=subprocess.PIPE, text=True)

    def follow():
        buf = ""
        for line in watcher.stdout:
            buf += line
            if line.startswith("}"):
                d = json.loads(buf)
                buf = ""
                name = d["metadata"]["name"]
                if name in deployments and ready(d) and name not in ready_at:
                    ready_at[name] = time.monotonic()

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(0.3)
    p = subprocess.Popen([os.path.join(BIN, "thebot"), "install", "dev", "-n", ns, "--name", ns, "--timeout", "2m"],
                         env=dict(env, NO_COLOR="1"), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    stage_ready = None
    for line in p.stderr:
        if "4-app ready" in line:
            stage_ready = time.monotonic()
    p.wait()
    time.sleep(0.2)
    watcher.kill()
    if stage_ready is None or len(ready_at) < len(deployments):
        raise SystemExit(f"run in {ns} did not complete: {ready_at}")
    return stage_ready - max(ready_at.values())


def main():
    tmp = tempfile.mkdtemp()
    kc = os.path.join(tmp, "kubeconfig")
    sim = subprocess.Popen([os.path.join(BIN, "kubesim"), "--port", "0", "--kubeconfig-out", kc, "--speed", "20"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sim.stdout.readline()
    try:
        lat = sorted(run_once(kc, f"lat{i}") for i in range(RUNS))
    finally:
        sim.kill()
    ms = [round(x * 1000, 1) for x in lat]
    print(f"{RUNS} runs: stage 4 reported ready after the last Deployment was ready: "
          f"median {ms[len(ms) // 2]} ms, max {ms[-1]} ms (all: {ms})")


main()
