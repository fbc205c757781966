"""Throughput in one table set: env steps/s, training steps/s, and what the advantage kernels cost.

    python benchmarks/throughput.py                 # measure, print, rewrite docs/benchmarks.md's section
    python benchmarks/throughput.py --no-write      # measure and print only
    python benchmarks/throughput.py --quick --no-write   # a smoke test: tiny sizes, numbers meaningless

Three measurements, in one run so that they share the machine's state:
  env steps/s      every fastenvs env under uniformly random actions, through benchmarks/env_sps.py
                   (1024 envs, copy=False, median of 5 passes of 2000 steps; 1 core and all cores)
  training steps/s each script with its default hyperparameters on Breakout, and on `noop` (an env of
                   Breakout's shapes that does nothing: the network-only bound); `--iterations` timed
                   after `--warmup` iterations, from the run's own metrics.jsonl; with one thread
                   (OMP/MKL/Numba = 1, as the study runs) and with all cores
  kernels          kernels.gae, kernels.reward_horizon and kernels.avg_reward_gae at T=64, N=512 (the
                   default batch) and T=128, N=1024, H=32, and kernels.reward_bins at the same T and N
                   with H=1024 in 11 geometric bins, against the plain-Python references of
                   tests/reference.py (timed on as many envs as fit in a fraction of a second, then
                   scaled to N: they loop over envs one at a time), and as a share of one training
                   iteration on Breakout with all cores
The section of docs/benchmarks.md between `<!-- throughput:begin -->` and `<!-- throughput:end -->`
is replaced; the rest of the file is left as it is (the file is created if it does not exist).
A full measurement takes about 5 minutes on 2 idle cores. Run it on an idle machine: with other
jobs on the cores, the all-cores figures collapse (Numba's and torch's threads wait for each other).
"""

from __future__ import annotations

import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import study  # noqa: E402
from study import ROOT, SCRIPTS, fail  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
import env_sps  # noqa: E402
import fastenvs  # noqa: E402

BEGIN, END = "<!-- throughput:begin -->", "<!-- throughput:end -->"
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
KERNEL_SHAPES = ((64, 512, 32), (128, 1024, 32))  # (T, N, H)
BINS_HORIZON = 1024  # reward_bins' H, in geometric bins (widths 1, 1, 2, 4, ...: 11 heads), at every (T, N)
TRAIN_ENVS = ("breakout", "noop")


# --------------------------------------------------------------------------------------------------
# Training steps/s
# --------------------------------------------------------------------------------------------------
def train_sps(script: str, env: str, iterations: int, warmup: int, one_thread: bool, script_args: list[str],
              batch: int) -> float:
    """Steps/s of `iterations` training iterations after `warmup` ones, from the run's metrics.jsonl."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, os.path.join(ROOT, f"{script}.py"), "--env", env, "--seed", "1",
               "--total-timesteps", str((iterations + warmup) * batch), "--run-dir", tmp, *script_args]
        env_vars = dict(os.environ, **study.THREAD_VARS) if one_thread else dict(os.environ)
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env_vars)
        if r.returncode != 0:
            tail = (r.stderr.strip().splitlines() or [""])[-1]
            raise RuntimeError(f"{script} --env {env} failed (exit {r.returncode}): {tail}")
        rows = study.read_metrics(tmp)
    start, end = rows[warmup - 1], rows[-1]
    return (end["global_step"] - start["global_step"]) / (end["time"] - start["time"])


# --------------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------------
def kernel_inputs(T: int, N: int, H: int, seed: int = 0) -> dict:
    """Random rollouts with about 1% terminations and 0.2% truncations; H heads, and bin heads for reward_bins."""
    import kernels

    rng = np.random.default_rng(seed)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    terminated = rng.random((T, N)) < 0.01
    truncated = (rng.random((T, N)) < 0.002) & ~terminated
    x = {"rewards": f32(T, N), "values": f32(T, N), "terminated": terminated, "truncated": truncated,
         "bootstrap": f32(N), "final_values": f32(T, N), "preds": f32(T, N, H), "bootstrap_preds": f32(N, H),
         "final_preds": f32(T, N, H)}
    edges = kernels.geometric_edges(BINS_HORIZON)
    m = len(edges) - 1
    x.update(bin_edges=edges, bin_preds=f32(T, N, m), bin_bootstrap_preds=f32(N, m), bin_final_preds=f32(T, N, m))
    return x


def kernel_calls(x: dict, n: int | None = None):
    """{name: (kernel call, reference call)}; with `n`, the reference sees only the first n envs."""
    import kernels
    import reference

    s = slice(None) if n is None else slice(0, n)
    r, v, te, tr = x["rewards"][:, s], x["values"][:, s], x["terminated"][:, s], x["truncated"][:, s]
    b, fv = x["bootstrap"][s], x["final_values"][:, s]
    p, bp, fp = x["preds"][:, s], x["bootstrap_preds"][s], x["final_preds"][:, s]
    e, up, ubp, ufp = x["bin_edges"], x["bin_preds"][:, s], x["bin_bootstrap_preds"][s], x["bin_final_preds"][:, s]
    return {
        "gae": (lambda: kernels.gae(r, v, te, tr, b, fv, 0.99, 0.95),
                lambda: reference.gae_ref(r, v, te, tr, b, fv, 0.99, 0.95)),
        "reward_horizon": (lambda: kernels.reward_horizon(r, te, tr, p, bp, fp),
                           lambda: reference.reward_horizon_ref(r, te, tr, p, bp, fp)),
        "reward_bins": (lambda: kernels.reward_bins(r, te, tr, up, ubp, ufp, e),
                        lambda: reference.reward_bins_ref(r, te, tr, up, ubp, ufp, e)),
        "avg_reward_gae": (lambda: kernels.avg_reward_gae(r, v, te, tr, b, fv, 0.1, 0.95, "absorb", 0.0),
                           lambda: reference.avg_reward_gae_ref(r, v, te, tr, b, fv, 0.1, 0.95, "absorb", 0.0)),
    }


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_kernels(T: int, N: int, H: int, repeats: int, ref_seconds: float) -> dict:
    """{kernel: (seconds 1 thread, seconds all cores, reference seconds scaled to N, reference envs timed)}."""
    import numba

    x = kernel_inputs(T, N, H)
    calls = kernel_calls(x)
    cores = numba.config.NUMBA_NUM_THREADS
    out = {}
    for name, (kernel, _) in calls.items():
        kernel()  # compile (or load the cache) and warm up
        timing = []
        for threads in (1, cores):
            numba.set_num_threads(threads)
            kernel()
            timing.append(median_time(kernel, repeats))
        numba.set_num_threads(cores)
        n = 1  # the reference loops over envs: time it on n envs, n doubling until it takes ref_seconds
        while True:
            ref = kernel_calls(x, n)[name][1]
            elapsed = median_time(ref, 1)
            if elapsed >= ref_seconds or n >= N:
                break
            n = min(N, 2 * n)
        out[name] = (timing[0], timing[1], elapsed * N / n, n)
    return out


# --------------------------------------------------------------------------------------------------
# The section
# --------------------------------------------------------------------------------------------------
def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.1f} M"
    return f"{x / 1e3:.1f} k" if x >= 1e3 else f"{x:.0f}"


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def section(args, command: str) -> str:
    import kernels
    import numba

    cores = numba.config.NUMBA_NUM_THREADS
    try:
        import torch
        device = "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        device = "?"
    script_args = shlex.split(args.script_args)
    batch = args.train_num_envs * args.train_num_steps
    if args.quick:
        script_args += ["--num-envs", str(args.train_num_envs), "--num-steps", str(args.train_num_steps),
                        "--num-minibatches", "4"]
    lines = ["## Throughput", "",
             f"Measured with `{command}` on {datetime.date.today().isoformat()}: {study.machine()}; "
             f"{study.versions()}; training on {device}."
             + (" **Smoke-test sizes (--quick): the numbers mean nothing.**" if args.quick else ""), ""]

    # env steps/s
    names = study.parse_list(args.envs) if args.envs else fastenvs.names()
    lines += [f"Env steps/s: uniformly random actions, {args.num_envs} envs, copy=False, median of {args.repeats} "
              f"passes of {args.steps} steps (`benchmarks/env_sps.py`). `noop` does nothing: it is the cost of "
              "the vector-env shell alone.", "",
              f"| env | 1 core | all cores ({cores}) |", "|---|---:|---:|"]
    for name in names:
        print(f"env {name} ...", file=sys.stderr, flush=True)
        one, many = env_sps.measure(env_sps.fastenv_row(name), args.num_envs, args.steps, args.repeats)
        lines.append(f"| {name} | {fmt_rate(one)} | {fmt_rate(many) if many else '-'} |")
    lines.append("")

    # training steps/s
    sps = {}
    for script in SCRIPTS:
        for env in TRAIN_ENVS:
            for one_thread in (True, False):
                print(f"train {script} {env} {'1 thread' if one_thread else 'all cores'} ...", file=sys.stderr,
                      flush=True)
                sps[script, env, one_thread] = train_sps(script, env, args.iterations, args.warmup, one_thread,
                                                         script_args, batch)
    lines += [f"Training steps/s: each script with its default hyperparameters ({args.train_num_envs} envs × "
              f"{args.train_num_steps} steps a batch), {args.iterations} iterations timed after {args.warmup} "
              "warm-up, from the run's metrics.jsonl. `noop` has Breakout's shapes (118 floats, 3 actions) and "
              "does nothing: the network-only bound. One thread: OMP/MKL/Numba threads = 1, as in the study.", "",
              "| script | breakout, 1 thread | breakout, all cores | noop, 1 thread | noop, all cores | "
              "iteration on breakout, all cores |", "|---|---:|---:|---:|---:|---:|"]
    for script in SCRIPTS:
        cells = [fmt_rate(sps[script, env, one]) for env in TRAIN_ENVS for one in (True, False)]
        iteration = batch / sps[script, "breakout", False]
        lines.append(f"| `{script}.py` | " + " | ".join(cells) + f" | {fmt_s(iteration)} |")
    lines.append("")

    # kernels
    kernel_script = {"gae": "ppo_gae", "reward_horizon": "ppo_reward_horizon", "avg_reward_gae": "ppo_avg_reward"}
    lines += ["Advantage kernels (`kernels.py`) on random rollouts (1% terminations, 0.2% truncations), median of "
              f"{args.kernel_repeats} calls, against the plain-Python references of `tests/reference.py`. A "
              "reference loops over envs one at a time, so it is timed on the first n envs (as many as take "
              f"{args.ref_seconds:g} s, at most N) and scaled by N / n. `reward_bins` is `reward_horizon`'s "
              f"estimator with H = {BINS_HORIZON} in geometric bins (widths 1, 1, 2, 4, ...; one head a bin), "
              "what `ppo_reward_horizon.py --bins geometric --horizon 1024` runs (its default, unit bins of "
              "H = 32, runs the same kernel). Share: the kernel's time (all cores) over "
              "one training iteration of its script on Breakout (all cores); given only where the shape is the "
              "batch that was trained.", "",
              f"| kernel | T × N (× H) | 1 thread | all cores ({cores}) | reference (timed on n envs) | "
              "speed-up, 1 thread | share of an iteration |", "|---|---|---:|---:|---:|---:|---:|"]
    shapes = KERNEL_SHAPES if not args.quick else ((16, 64, 8),)
    for T, N, H in shapes:
        print(f"kernels T={T} N={N} H={H} ...", file=sys.stderr, flush=True)
        for name, (one, many, ref, n) in time_kernels(T, N, H, args.kernel_repeats, args.ref_seconds).items():
            shape = f"{T} × {N}" + (f" × {H}" if name == "reward_horizon" else "")
            if name == "reward_bins":
                shape += f" × {BINS_HORIZON} ({len(kernels.geometric_edges(BINS_HORIZON)) - 1} bins)"
            share = "-"
            if T * N == batch and name in kernel_script:
                share = f"{100 * many / (batch / sps[kernel_script[name], 'breakout', False]):.2f}%"
            lines.append(f"| `{name}` | {shape} | {fmt_s(one)} | {fmt_s(many)} | {fmt_s(ref)} (n = {n}) | "
                         f"{ref / one:,.0f}× | {share} |")
    lines.append("")
    return "\n".join(lines)


def write_section(text: str, path: str = DOC):
    """Replace what lies between the markers of `path` (create the file with a title and markers if absent)."""
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(f"# Measured numbers\n\n{BEGIN}\n{END}\n")
    with open(path) as f:
        doc = f.read()
    i, j = doc.find(BEGIN), doc.find(END)
    if i < 0 or j < i:
        fail(f"{study.rel(path)} has no {BEGIN} ... {END} block: add the two lines where the section goes")
    with open(path, "w") as f:
        f.write(doc[: i + len(BEGIN)] + "\n" + text.rstrip("\n") + "\n" + doc[j:])


def main(argv=None):
    p = study.Parser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke test: tiny sizes everywhere (numbers mean nothing)")
    p.add_argument("--no-write", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    p.add_argument("--envs", default="", help="comma-separated envs for the env table (default: all)")
    p.add_argument("--num-envs", type=int, default=1024, help="envs for the env table")
    p.add_argument("--steps", type=int, default=2000, help="steps per timed pass of the env table")
    p.add_argument("--repeats", type=int, default=5, help="passes per env")
    p.add_argument("--iterations", type=int, default=5, help="training iterations timed")
    p.add_argument("--warmup", type=int, default=1, help="training iterations before the timed ones")
    p.add_argument("--kernel-repeats", type=int, default=20, help="calls per kernel timing")
    p.add_argument("--ref-seconds", type=float, default=0.5, help="time the references on this many seconds' envs")
    p.add_argument("--script-args", default="", help="extra flags for every training run, e.g. --no-cuda")
    args = p.parse_args(argv)
    args.train_num_envs, args.train_num_steps = 512, 64  # the scripts' defaults
    if args.quick:
        args.num_envs, args.steps, args.repeats = 256, 50, 1
        args.iterations, args.warmup, args.kernel_repeats, args.ref_seconds = 2, 1, 3, 0.01
        args.train_num_envs, args.train_num_steps = 32, 32
    for name in ("num_envs", "steps", "repeats", "iterations", "warmup", "kernel_repeats"):
        if getattr(args, name) < 1:
            fail(f"--{name.replace('_', '-')}={getattr(args, name)} is not allowed: use an integer >= 1")
    if not args.ref_seconds > 0:
        fail(f"--ref-seconds={args.ref_seconds} is not allowed: use a number > 0")
    unknown = [n for n in study.parse_list(args.envs) if n not in fastenvs.names()]
    if unknown:
        fail(f"unknown env {unknown[0]!r}: use names from {', '.join(fastenvs.names())}")
    command = "python benchmarks/throughput.py" + "".join(f" {shlex.quote(a)}" for a in
                                                          (sys.argv[1:] if argv is None else argv))
    try:
        text = section(args, command)
    except RuntimeError as e:
        fail(str(e))
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"wrote the throughput section of {study.rel(DOC)}", file=sys.stderr)


if __name__ == "__main__":
    main()
