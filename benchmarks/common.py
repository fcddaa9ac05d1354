"""Shared benchmark plumbing: run one measurement per fresh subprocess, write tables."""

import json
import os
import resource
import subprocess
import sys

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def peak_rss_gb():
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_worker(script, args, timeout_s):
    """Runs `python script --worker args...` in a fresh process; returns its JSON
    result, or `{"error": ...}` when it failed, ran out of memory or time."""
    command = [sys.executable, script, "--worker", *args]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout > {timeout_s}s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    killed = done.returncode < 0 or done.returncode == 137
    return {"error": "killed (out of memory?)" if killed else (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
