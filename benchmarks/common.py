"""Shared benchmark plumbing: run one measurement per fresh subprocess, write tables."""

import collections
import json
import os
import resource
import subprocess
import sys

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# One model size for every benchmark: ours and keras-hub's peers alike.
SIZE = dict(vocabulary_size=8000, num_layers=4, num_query_heads=8, num_key_value_heads=8,
            hidden_dim=256, intermediate_dim=688)


def peak_rss_gb():
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def host():
    """This machine's CPU model, vector extension and core count, e.g. "AMD EPYC, AVX2, 2 cores":
    speeds differ by up to ~3x between the hosts this project runs on."""
    with open("/proc/cpuinfo") as f:
        info = f.read()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 "unknown CPU")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {vector}, {os.cpu_count()} cores"


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


def measure_points(script, name, xs, models, worker_args, timeout_s, update=False, skip=None):
    """Measures every (x, model) point in a fresh subprocess of `script`.

    `worker_args(model, x)` gives the worker's flags; `skip(model, x)` a reason
    not to run a point, or None. With `update`, the other points of
    `results/<name>.json` are kept. Returns (results, every x in them).
    """
    results = {model: {} for model in models}
    measured = xs
    if update:
        results, xs = merge_previous(name, results, xs)
    for x in measured:
        for model in models:
            reason = skip(model, x) if skip else None
            results[model][x] = {"error": reason} if reason else {
                **run_worker(script, worker_args(model, x), timeout_s), "host": host()}
            print(x, model, results[model][x], flush=True)
    return results, xs


def table_rows(results, xs, format_point):
    """One row per x: the x, then each model's formatted point (its error, or "-" where not run)."""
    def cell(points, x):
        if x not in points:
            return "-"
        return points[x]["error"] if "error" in points[x] else format_point(points[x])

    return [[f"{x:,}"] + [cell(points, x) for points in results.values()] for x in xs]


def throughput_table(results, xs):
    """Header and rows with each model's `tokens/s (peak GB)` per length."""
    header = ["tokens"] + [f"{name} tok/s (peak GB)" for name in results]
    return header, table_rows(results, xs, lambda p: f"{p['tokens_per_s']:,.0f} ({p['peak_rss_gb']:.2f})")


def merge_previous(name, results, points):
    """With `--update`: the points of `results/<name>.json`, to be partly re-measured.

    Returns (results with the previous points, all x values)."""
    with open(os.path.join(RESULTS_DIR, f"{name}.json")) as f:
        previous = {model: {int(x): p for x, p in measured.items()} for model, measured in json.load(f).items()}
    for model, measured in results.items():
        previous.setdefault(model, {}).update(measured)
    return previous, sorted({x for measured in previous.values() for x in measured} | set(points))


def write_results(name, title, note, table, results):
    """Writes `results/<name>.md` (title, note, table, and the hosts of the points
    that `measure_points` measured) and `results/<name>.json`."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    with open(os.path.join(RESULTS_DIR, f"{name}.md"), "w") as f:
        f.write(f"# {title}\n\n{note}\n\n{table}\n{hosts_line(results)}")
    with open(os.path.join(RESULTS_DIR, f"{name}.json"), "w") as f:
        json.dump(results, f, indent=1)


def hosts_line(results):
    """"Measured on: <host> (n points), ..." for `measure_points` results
    ({model: {x: point}}) whose points record their host; "" for others."""
    points = [p for measured in results.values() if isinstance(measured, dict)
              for p in measured.values() if isinstance(p, dict) and "error" not in p]
    if not any("host" in p for p in points):
        return ""
    hosts = collections.Counter(p.get("host", "an earlier, unrecorded host") for p in points)
    return "\nMeasured on: " + "; ".join(f"{h} ({n} point{'s' * (n > 1)})" for h, n in hosts.items()) + ".\n"


def plot_results(name, title, results, xs, axes):
    """Plots `results` ({model: {x: point}}) to `results/<name>.png`, one panel per
    `(metric, y label)` in `axes`; failed points are left out."""
    series = {model: [(x, points[x]) for x in xs if "error" not in points[x]] for model, points in results.items()}
    plot_lines(os.path.join(RESULTS_DIR, f"{name}.png"), title, series, axes)


def plot_lines(path, title, series, axes, xlabel="tokens"):
    """`series`: {label: [(x, {metric: y})]}; `axes`: [(metric, y label)], one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, len(axes), figsize=(5.5 * len(axes), 4), squeeze=False)
    for panel, (metric, label) in zip(panels[0], axes):
        for name, points in series.items():
            if points:
                panel.plot([x for x, _ in points], [p[metric] for _, p in points], "o-", label=name)
        panel.set_xscale("log", base=2)
        panel.set_yscale("log")
        panel.set_xlabel(xlabel)
        panel.set_ylabel(label)
        panel.grid(True, which="both", alpha=0.3)
        panel.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
