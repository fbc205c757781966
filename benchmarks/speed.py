"""Speed: env steps/s (fastenvs, Gymnasium), training steps/s, runs side by side, the image trunk.

    python benchmarks/speed.py env                        # every fastenvs env, 1024 envs
    python benchmarks/speed.py env --envs breakout --num-envs 1024 --steps 2000 --repeats 5
    python benchmarks/speed.py env --envs breakout --paths default,copy,kernel
    python benchmarks/speed.py gym                        # Hopper-v5, MinAtar/Breakout-v1, ALE/Breakout-v5
    python benchmarks/speed.py gym --envs Hopper-v5 --num-envs 1,8 --modes sync,async --steps 2000 --repeats 5
    python benchmarks/speed.py gym --envs ALE/Breakout-v5 --num-envs 8 --modes sync,async,native
    python benchmarks/speed.py training                   # measure, print, rewrite docs/benchmarks.md's section
    python benchmarks/speed.py training --no-write        # measure and print only
    python benchmarks/speed.py training --quick --no-write   # a smoke test: tiny sizes, numbers meaningless
    python benchmarks/speed.py concurrency                # ppo_gae.py on breakout, 2 runs side by side
    python benchmarks/speed.py concurrency --script ppo_reward_horizon.py --iterations 30 --repeats 3
    python benchmarks/speed.py trunk                      # MinAtar-sized and Atari-sized inputs, CPU
    python benchmarks/speed.py trunk --device cuda

Each subcommand's -h says what it measures; `env` and `gym` live in env_speed.py, the training side
here. Tables are markdown; steps/s counts agent steps summed over envs. Measure on an idle machine:
with other jobs on the cores the all-cores figures collapse (Numba's and torch's threads wait for
each other).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import unittest.mock

import gymnasium as gym
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import env_speed  # noqa: E402
import runner  # noqa: E402  (puts the repository root on sys.path)
from env_speed import GYM_ENVS, GYM_NUM_ENVS, PATHS, at_least, counts, positive  # noqa: E402
from runner import ROOT, UserError, fail  # noqa: E402

import fastenvs  # noqa: E402

SCRIPTS = ("ppo_gae", "ppo_reward_horizon", "ppo_avg_reward")
BEGIN, END = "<!-- throughput:begin -->", "<!-- throughput:end -->"
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
KERNEL_SHAPES = ((64, 512, 32), (128, 1024, 32))  # (T, N, H)
BINS_HORIZON = 1024  # reward_bins' H, in geometric bins (widths 1, 1, 2, 4, ...: 11 heads), at every (T, N)
TRAIN_ENVS = ("breakout", "noop")


# --------------------------------------------------------------------------------------------------
# Training runs
# --------------------------------------------------------------------------------------------------
def train_rates(script: str, env: str, runs: int, timesteps: int, warmup: int, flags=(),
                one_thread: bool = False) -> list[float]:
    """Steps/s of `runs` runs of `script` (seeds 1, 2, ...) side by side, each from its metrics.jsonl:
    the steps between the row of iteration `warmup` and the last row, over the time between them.
    `one_thread`: OMP/MKL/Numba threads = 1 through the environment, as the study runs."""
    env_vars = {**os.environ, **runner.THREAD_VARS} if one_thread else None
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [os.path.join(tmp, str(seed)) for seed in range(1, runs + 1)]
        procs = [subprocess.Popen([sys.executable, os.path.join(ROOT, f"{script}.py"), "--env", env, "--seed",
                                   str(seed), "--total-timesteps", str(timesteps), "--run-dir", d, *flags],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                  env=env_vars) for seed, d in enumerate(dirs, 1)]
        try:
            for p in procs:
                err = p.communicate()[1]
                if p.returncode:
                    tail = (err.strip().splitlines() or [""])[-1]
                    raise UserError(f"{script}.py --env {env} failed (exit {p.returncode}): {tail}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        rates = []
        for d in dirs:
            rows = runner.read_metrics(d)
            a, b = rows[warmup - 1], rows[-1]
            rates.append((b["global_step"] - a["global_step"]) / (b["time"] - a["time"]))
    return rates


def script_name(text: str) -> str:
    """`ppo_gae.py` or `ppo_gae` -> ppo_gae; UserError for anything but the three scripts."""
    if text.removesuffix(".py") not in SCRIPTS:
        raise UserError(f"unknown script {text!r}: use {', '.join(s + '.py' for s in SCRIPTS)}")
    return text.removesuffix(".py")


def concurrency_command(args):
    """Several training runs on one machine: each run's steps/s alone and side by side.

It runs the script alone with its default threads (all cores), alone with `--threads 1`, and
`--runs` copies at once with `--threads 1` each (seeds 1..k), each for `--iterations` iterations of
`--num-envs` x `--num-steps` (the scripts' default batch unless given), and measures each run's
training rate after its warm-up iterations (steps between the warm-up's last metrics row and the
final one, over the time between them). Reported: the median
over `--repeats` of each rate, and its fraction of the default run's rate alone. (Two default runs
side by side are not timed: their spinning thread pools can slow each by two orders of magnitude,
docs/index.md.) Run it on an otherwise idle machine."""
    script = script_name(args.script)
    if args.warmup >= args.iterations:
        raise UserError(f"--warmup {args.warmup} is not allowed: use fewer than --iterations ({args.iterations})")
    batch = args.num_envs * args.num_steps
    print(f"{script}.py on {args.env}, {args.iterations} iterations of {batch} steps ({args.warmup} not timed), "
          f"{os.cpu_count()} cores, median of {args.repeats} repeats")
    print("\n| run | steps/s (each) | / a default run alone |\n|---|---:|---:|", flush=True)

    def median_rate(runs, *threads):
        return statistics.median(x for _ in range(args.repeats) for x in train_rates(
            script, args.env, runs, args.iterations * batch, args.warmup,
            ("--no-cuda", "--num-envs", str(args.num_envs), "--num-steps", str(args.num_steps), *threads)))
    alone = median_rate(1)
    for label, x in [("default (all cores), alone", alone), ("`--threads 1`, alone", median_rate(1, "--threads", "1")),
                     (f"`--threads 1`, {args.runs} side by side", median_rate(args.runs, "--threads", "1"))]:
        print(f"| {label} | {x:,.0f} | {x / alone:.2f} |", flush=True)


# --------------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------------
def kernel_inputs(T: int, N: int, H: int, bins_horizon: int = BINS_HORIZON, seed: int = 0) -> dict:
    """Random rollouts with about 1% terminations and 0.2% truncations; H heads, and bin heads for reward_bins."""
    import kernels

    rng = np.random.default_rng(seed)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    terminated = rng.random((T, N)) < 0.01
    truncated = (rng.random((T, N)) < 0.002) & ~terminated
    x = {"rewards": f32(T, N), "values": f32(T, N), "terminated": terminated, "truncated": truncated,
         "bootstrap": f32(N), "final_values": f32(T, N), "preds": f32(T, N, H), "bootstrap_preds": f32(N, H),
         "final_preds": f32(T, N, H)}
    edges = kernels.geometric_edges(bins_horizon)
    m = len(edges) - 1
    x.update(bin_edges=edges, bin_preds=f32(T, N, m), bin_bootstrap_preds=f32(N, m), bin_final_preds=f32(T, N, m))
    return x


def kernel_calls(x: dict, n: int | None = None):
    """{name: (kernel call, reference call)}; with `n`, the reference sees only the first n envs."""
    import kernels

    if os.path.join(ROOT, "tests") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
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


def time_kernels(T: int, N: int, H: int, bins_horizon: int, repeats: int, ref_seconds: float) -> dict:
    """{kernel: (seconds 1 thread, seconds all cores, reference seconds scaled to N, reference envs timed)}."""
    import numba

    x = kernel_inputs(T, N, H, bins_horizon)
    cores = numba.config.NUMBA_NUM_THREADS
    out = {}
    for name, (kernel, _) in kernel_calls(x).items():
        kernel()  # compile (or load the cache) and warm up
        timing = []
        for threads in (1, cores):
            numba.set_num_threads(threads)
            timing.append(statistics.median(env_speed.timed(kernel, repeats, warmup=1)))
        numba.set_num_threads(cores)
        n = 1  # the reference loops over envs: time it on n envs, n doubling until it takes ref_seconds
        while True:
            elapsed = env_speed.timed(kernel_calls(x, n)[name][1])[0]
            if elapsed >= ref_seconds or n >= N:
                break
            n = min(N, 2 * n)
        out[name] = (timing[0], timing[1], elapsed * N / n, n)
    return out


# --------------------------------------------------------------------------------------------------
# training: the section of docs/benchmarks.md
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
             f"Measured with `{command}` on {datetime.date.today().isoformat()}: {runner.machine()}; "
             f"{runner.versions()}; training on {device}."
             + (" **Smoke-test sizes (--quick): the numbers mean nothing.**" if args.quick else ""), ""]

    # env steps/s
    lines += [f"Env steps/s: uniformly random actions, {args.num_envs} envs, copy=False, median of {args.repeats} "
              f"passes of {args.steps} steps (`python benchmarks/speed.py env`). `noop` does nothing: it is the cost "
              "of the vector-env shell alone.", "", f"| env | 1 core | all cores ({cores}) |", "|---|---:|---:|"]
    for name in args.env_names:
        print(f"env {name} ...", file=sys.stderr, flush=True)
        one, many = env_speed.measure_row(env_speed.fastenv_row(name), args.num_envs, args.steps, args.repeats)
        lines.append(f"| {name} | {fmt_rate(one)} | {fmt_rate(many) if many else '-'} |")
    lines.append("")

    # training steps/s
    sps = {}
    for script in args.script_names:
        for env in TRAIN_ENVS:
            for one_thread in (True, False):
                print(f"train {script} {env} {'1 thread' if one_thread else 'all cores'} ...", file=sys.stderr,
                      flush=True)
                sps[script, env, one_thread] = train_rates(script, env, 1, (args.iterations + args.warmup) * batch,
                                                           args.warmup, script_args, one_thread)[0]
    lines += [f"Training steps/s: each script with its default hyperparameters ({args.train_num_envs} envs × "
              f"{args.train_num_steps} steps a batch), {args.iterations} iterations timed after {args.warmup} "
              "warm-up, from the run's metrics.jsonl. `noop` has Breakout's shapes (118 floats, 3 actions) and "
              "does nothing: the network-only bound. One thread: OMP/MKL/Numba threads = 1, as in the study.", "",
              "| script | breakout, 1 thread | breakout, all cores | noop, 1 thread | noop, all cores | "
              "iteration on breakout, all cores |", "|---|---:|---:|---:|---:|---:|"]
    for script in args.script_names:
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
              f"estimator with H = {args.bins_horizon} in geometric bins (widths 1, 1, 2, 4, ...; one head a bin), "
              f"what `ppo_reward_horizon.py --bins geometric --horizon {args.bins_horizon}` runs (its default, unit "
              "bins of H = 32, runs the same kernel). Share: the kernel's time (all cores) over one training "
              "iteration of its script on Breakout (all cores); given only where the shape is the batch that was "
              "trained.", "",
              f"| kernel | T × N (× H) | 1 thread | all cores ({cores}) | reference (timed on n envs) | "
              "speed-up, 1 thread | share of an iteration |", "|---|---|---:|---:|---:|---:|---:|"]
    for T, N, H in KERNEL_SHAPES if not args.quick else ((16, 64, 8),):
        print(f"kernels T={T} N={N} H={H} ...", file=sys.stderr, flush=True)
        timings = time_kernels(T, N, H, args.bins_horizon, args.kernel_repeats, args.ref_seconds)
        for name, (one, many, ref, n) in timings.items():
            shape = f"{T} × {N}" + (f" × {H}" if name == "reward_horizon" else "")
            if name == "reward_bins":
                shape += f" × {args.bins_horizon} ({len(kernels.geometric_edges(args.bins_horizon)) - 1} bins)"
            trained = (kernel_script.get(name), "breakout", False)
            share = f"{100 * many / (batch / sps[trained]):.2f}%" if T * N == batch and trained in sps else "-"
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
        raise UserError(f"{runner.rel(path)} has no {BEGIN} ... {END} block: add the two lines where the section goes")
    with open(path, "w") as f:
        f.write(doc[: i + len(BEGIN)] + "\n" + text.rstrip("\n") + "\n" + doc[j:])


def training_command(args):
    """Throughput in one table set: env steps/s, training steps/s, and what the advantage kernels cost.

Three measurements, in one run so that they share the machine's state:
  env steps/s      every fastenvs env under uniformly random actions, as `speed.py env` measures it
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
jobs on the cores, the all-cores figures collapse (Numba's and torch's threads wait for each other)."""
    args.train_num_envs, args.train_num_steps, args.bins_horizon = 512, 64, BINS_HORIZON  # the scripts' defaults
    if args.quick:
        args.num_envs, args.steps, args.repeats = 256, 50, 1
        args.iterations, args.warmup, args.kernel_repeats, args.ref_seconds = 2, 1, 3, 0.01
        args.train_num_envs, args.train_num_steps, args.bins_horizon = 32, 32, 64
    if not args.ref_seconds > 0:
        raise UserError(f"--ref-seconds={args.ref_seconds} is not allowed: use a number > 0")
    args.env_names = env_speed.pick(args.envs, fastenvs.names(), "env") if args.envs else fastenvs.names()
    args.script_names = [script_name(s.strip()) for s in args.scripts.split(",") if s.strip()]
    text = section(args, "python benchmarks/speed.py " + shlex.join(args.argv))
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"wrote the throughput section of {runner.rel(DOC)}", file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# trunk: the image agent's shared conv trunk against one trunk each for actor and critic
# --------------------------------------------------------------------------------------------------
def impala_trunk(c: int, h: int, w: int):
    """The IMPALA ResNet encoder (Espeholt et al. 2018), as Procgen's baselines use it: three stages of a 3x3
    conv (16, 32, 32 channels), a 3x3 max-pool of stride 2 and two residual blocks, then 256 units."""
    import torch.nn as nn

    class Residual(nn.Module):
        def __init__(self, ch):
            super().__init__()
            self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))

        def forward(self, x):
            return x + self.body(x)

    layers, ch = [], c
    for out in (16, 32, 32):
        layers += [nn.Conv2d(ch, out, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1), Residual(out), Residual(out)]
        ch, h, w = out, (h + 1) // 2, (w + 1) // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.ReLU(), nn.Linear(ch * h * w, 256), nn.ReLU()), 256


def trunk_command(args):
    """Cost of the image agent's trunk: one conv trunk shared by actor and critic, against one each, and on
Procgen's 64x64 frames the scripts' trunk against the IMPALA ResNet (`impala_trunk`).

Times one PPO minibatch step of the scripts' `Agent` (forward of actor and critic, a loss, backward,
Adam step; a minibatch of 4096 MinAtar or 1024 Atari observations unless `--minibatch` is given) and
one rollout forward pass (`--num-envs` observations), median of `--repeats` after one warm-up call,
for the shared trunk the scripts use and for a copy with a second, separate trunk for the critic
(built here by giving the critic its own deep copy of the trunk)."""
    import torch

    import ppo_gae

    class SeparateTrunks(ppo_gae.Agent):
        """The same agent with the critic on a trunk of its own."""

        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.critic_trunk = copy.deepcopy(self.trunk)

        def get_value(self, x):
            x = x.float() * self.scale
            return self.critic_head(self.critic_trunk(x.permute(0, 3, 1, 2) if self.channels_last else x))

        def get_action_and_value(self, x, action=None, greedy=False):
            action, logprob, entropy, _ = super().get_action_and_value(x, action, greedy)
            return action, logprob, entropy, self.get_value(x)

    try:
        device = torch.device(args.device)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as e:
        raise UserError(f"--device {args.device!r} is not usable here: {str(e).splitlines()[0]}") from None
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    ms = lambda fn: f"{1e3 * statistics.median(env_speed.timed(fn, args.repeats, 1, sync)):.1f}"  # noqa: E731
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}; median of {args.repeats}")
    print(f"\n| input | trunk | minibatch | update step (ms) | rollout forward of {args.num_envs} obs (ms) |")
    print("|---|---|---:|---:|---:|")
    def impala(*a, **k):  # the scripts' Agent with the IMPALA trunk in place of theirs
        with unittest.mock.patch.object(ppo_gae, "conv_trunk", impala_trunk):
            return ppo_gae.Agent(*a, **k)

    agents = [("shared (the scripts')", ppo_gae.Agent), ("separate", SeparateTrunks)]
    for label, shape, minibatch, trunks in [("MinAtar 10x10x4", (10, 10, 4), 4096, agents),
                                            ("Atari 4x84x84", (4, 84, 84), 1024, agents),
                                            ("Procgen 64x64x3", (64, 64, 3), 4096, agents[:1] + [("IMPALA ResNet", impala)])]:
        minibatch = args.minibatch or minibatch
        obs_space = gym.spaces.Box(0, 255, shape, np.uint8)
        x = torch.randint(0, 2, (minibatch, *shape), dtype=torch.uint8, device=device)
        xr = x[: min(args.num_envs, minibatch)]
        for name, cls in trunks:
            torch.manual_seed(0)
            n_actions = 15 if shape == (64, 64, 3) else 6  # Procgen's 15, Atari's minimal sets
            agent = cls(obs_space, gym.spaces.Discrete(n_actions), ppo_gae.Args()).to(device)
            opt = torch.optim.Adam(agent.parameters(), lr=1e-4)
            actions = torch.randint(0, n_actions, (minibatch,), device=device)

            def update():
                _, logprob, entropy, value = agent.get_action_and_value(x, actions)
                loss = -logprob.mean() - 0.01 * entropy.mean() + 0.5 * (value ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

            def rollout():
                with torch.no_grad():
                    agent.get_action_and_value(xr)

            print(f"| {label} | {name} | {minibatch} | {ms(update)} | {ms(rollout)} |", flush=True)


# --------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------
def parser() -> runner.Parser:
    raw = argparse.RawDescriptionHelpFormatter
    p = runner.Parser(prog="speed.py", description=__doc__.split("\n\n")[0], formatter_class=raw)
    sub = p.add_subparsers(dest="command", required=True, metavar="{env,gym,training,concurrency,trunk}")

    def command(name, fn):
        doc = fn.__doc__
        s = sub.add_parser(name, help=doc.splitlines()[0], description=doc, formatter_class=raw)
        s.set_defaults(run=fn)
        return s

    s = command("env", env_speed.env_command)
    s.add_argument("--envs", default="", help=f"comma-separated names (default: all of {','.join(fastenvs.names())})")
    s.add_argument("--num-envs", type=positive, default=1024)
    s.add_argument("--steps", type=positive, default=2000, help="agent steps (per env) in one timed pass")
    s.add_argument("--repeats", type=positive, default=5)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--paths", default="default,kernel",
                   help=f"comma-separated ways to step each fastenvs env, of {','.join(PATHS)} (see above)")
    s.add_argument("--no-reference", action="store_true",
                   help="skip the reference rows (Gymnasium's CartPole-v1, PufferLib's Breakout)")

    s = command("gym", env_speed.gym_command)
    s.add_argument("--envs", default=",".join(GYM_ENVS), help="comma-separated Gymnasium ids")
    s.add_argument("--num-envs", type=counts, default=None,
                   help="comma-separated counts for every env (default: per family, "
                        + "; ".join(f"{k} {v}" for k, v in GYM_NUM_ENVS.items()) + ")")
    s.add_argument("--modes", default=None, help="comma-separated: sync, async, native (ALE and procgen/ ids), "
                   "backend (procgen/ ids); default: sync,async, and backend,native for procgen/ ids")
    s.add_argument("--steps", type=positive, default=1000, help="vector steps per timed pass")
    s.add_argument("--repeats", type=positive, default=5)
    s.add_argument("--warmup", type=at_least(0), default=50)
    s.add_argument("--seed", type=int, default=0)

    s = command("training", training_command)
    s.add_argument("--quick", action="store_true", help="smoke test: tiny sizes everywhere (numbers mean nothing)")
    s.add_argument("--no-write", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    s.add_argument("--envs", default="", help="comma-separated envs for the env table (default: all)")
    s.add_argument("--scripts", default=",".join(SCRIPTS), help="comma-separated scripts to train (default: all)")
    s.add_argument("--num-envs", type=positive, default=1024, help="envs for the env table")
    s.add_argument("--steps", type=positive, default=2000, help="steps per timed pass of the env table")
    s.add_argument("--repeats", type=positive, default=5, help="passes per env")
    s.add_argument("--iterations", type=positive, default=5, help="training iterations timed")
    s.add_argument("--warmup", type=positive, default=1, help="training iterations before the timed ones")
    s.add_argument("--kernel-repeats", type=positive, default=20, help="calls per kernel timing")
    s.add_argument("--ref-seconds", type=float, default=0.5, help="time the references on this many seconds' envs")
    s.add_argument("--script-args", default="", help="extra flags for every training run, e.g. --no-cuda")

    s = command("concurrency", concurrency_command)
    s.add_argument("--script", default="ppo_gae.py", help=f"one of {', '.join(x + '.py' for x in SCRIPTS)}")
    s.add_argument("--env", default="breakout")
    s.add_argument("--runs", type=positive, default=2, help="runs side by side")
    s.add_argument("--num-envs", type=positive, default=512, help="the scripts' --num-envs (their default)")
    s.add_argument("--num-steps", type=positive, default=64, help="the scripts' --num-steps (their default)")
    s.add_argument("--iterations", type=positive, default=20)
    s.add_argument("--warmup", type=positive, default=4, help="iterations not timed")
    s.add_argument("--repeats", type=positive, default=3)

    s = command("trunk", trunk_command)
    s.add_argument("--device", default="cpu")
    s.add_argument("--repeats", type=positive, default=10)
    s.add_argument("--num-envs", type=positive, default=512, help="observations in the rollout forward pass")
    s.add_argument("--minibatch", type=positive, default=None, help="observations in the update step "
                   "(default: 4096 for MinAtar and Procgen (the scripts' minibatch), 1024 for Atari)")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.argv = argv
    try:
        args.run(args)
    except UserError as e:
        fail(str(e))


if __name__ == "__main__":
    main()
