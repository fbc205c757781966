"""The study: the PPO variants on every env of a suite over several seeds, one set of hyperparameters.

    pip install -e ".[bench]"                                   # rliable, matplotlib and submitit
    python benchmarks/study.py --profile quick                  # fastenvs, 3 seeds: 26 min on 2 cores (84 runs)
    python benchmarks/study.py --suite minatar --profile quick  # the five MinAtar games: about 2.6 h (.[minatar])
    python benchmarks/study.py --suite mujoco --profile quick   # five MuJoCo tasks, 1M steps: about 1.5 h (.[mujoco])
    python benchmarks/study.py --suite all --profile full --dry-run      # the commands, what is done, the cost
    python benchmarks/study.py --profile quick --report-only    # aggregate the finished runs only
    python benchmarks/study.py --suite mujoco --engine submitit --slurm-partition cpu    # a Slurm job per run

Suites (`--suite`, default fastenvs): fastenvs (every fastenvs env whose section in docs/envs.md
gives both a random-policy score and a maximum score, less NOT_IN_SUITE), minatar (the five
MinAtar v1 games) and mujoco (Hopper, HalfCheetah, Walker2d, Ant, Swimmer, v5), or all three.
Variants (DEFAULT_VARIANTS): the three scripts with their defaults, and `ppo_gae.py --gae-lambda 1.0`
("GAE, λ = 1"), which keeps γ but drops λ's bias, so the report tells "no γ" (reward horizon,
average reward) from "no λ bias". `--variants reward_horizon_bins` adds a candidate default of the
reward-horizon script (geometric bins up to H = 1024 and the adaptive cut). Every run is one of
the scripts launched through its own command line with the kit's one default set: only --env,
--seed, --total-timesteps, --threads 1 and --run-dir change (and the variant's own flag), and the
budget of an env is the same for every variant. Runs go into `<out>/<variant>/<env>/seed<k>/` (env
ids with `/` written with `-`; default out: runs/study/<profile>, shared by the suites).

Engines (`--engine`): `local` (default) runs `--parallel` at a time (default: one per core), each
with one thread (OMP, MKL, Numba and so torch); `submitit` hands each run to submitit as one job
(Slurm, or `--submitit-cluster local` on one machine), which runs the same command. Either way the
study is resumable: a run whose metrics.jsonl reached its budget is not repeated, unless its
`done.json` marker records other arguments or its last attempt failed (`failed.json`); a partial
run starts over. Interrupt it and run the same command again, with either engine, to go on.
Run directories are not committed; `--summary docs/results/study_quick_runs.json` keeps what the
report needs of every finished run in one committed file and restores it in a fresh checkout, so
the report can be rebuilt, and new runs added to it, anywhere.

Scores are normalized per env as (score - random) / (reference - random), the two numbers in
REFERENCES below (fastenvs: docs/envs.md's random-policy and maximum scores). Per run:
  final score  mean of `episode_score` over the iterations logged in the last 10% of the run's steps
  AUC          mean normalized score over all iterations, weighted by the steps each one covers
An iteration logged before the first episode ended counts as the random-policy score (normalized
0): the policy is still the untrained, near-uniform one. Per suite, across envs x seeds: the
interquartile mean (IQM) and the optimality gap with 95% stratified-bootstrap confidence intervals
(rliable; runs resampled within each env), and the probability of improvement of each variant
over each other. The report, one section per suite and one on Breakout over seeds (built from
benchmarks/seeds.py's committed summary, SEEDS_SECTIONS), goes to docs/results.md, the plots to
docs/results/.

Budgets per suite and profile live in SUITE_BUDGETS below (BUDGETS: the fastenvs ones);
`benchmarks/sensitivity.py` reuses them, the engines, the resumability and the scoring of this file.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import importlib.util
import io
import json
import math
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import fastenvs  # noqa: E402

SCRIPTS = ("ppo_gae", "ppo_reward_horizon", "ppo_avg_reward")
ALIASES = {"gae": "ppo_gae", "reward_horizon": "ppo_reward_horizon", "avg_reward": "ppo_avg_reward"}
LABELS = {"ppo_gae": "GAE", "ppo_gae_lambda1": "GAE, λ = 1", "ppo_reward_horizon": "reward horizon",
          "ppo_avg_reward": "average reward", "ppo_reward_horizon_bins": "reward horizon, bins + cut"}
COLORS = {"ppo_gae": "#1f77b4", "ppo_gae_lambda1": "#9467bd", "ppo_reward_horizon": "#d62728",
          "ppo_avg_reward": "#2ca02c", "ppo_reward_horizon_bins": "#ff7f0e"}


@dataclass(frozen=True)
class Variant:
    """One arm of the study: a script and the flags it gets besides the run's own."""
    key: str  # results directory and --variants name
    script: str
    flags: tuple
    gamma: str  # what the estimator discounts by
    lam: str  # its λ
    drops: str  # what it drops from GAE(γ 0.99, λ 0.95)

    @property
    def label(self) -> str:
        return LABELS[self.key]

    def command(self) -> str:
        return " ".join((f"{self.script}.py",) + self.flags)


VARIANTS = {v.key: v for v in (
    Variant("ppo_gae", "ppo_gae", (), "0.99", "0.95", "nothing: the baseline"),
    Variant("ppo_gae_lambda1", "ppo_gae", ("--gae-lambda", "1.0"), "0.99", "1", "λ's bias (no λ bias; γ stays)"),
    Variant("ppo_reward_horizon", "ppo_reward_horizon", (), "none", "none (a window of H = 32 rewards)",
            "γ and λ (no γ)"),
    Variant("ppo_avg_reward", "ppo_avg_reward", (), "none (average reward)", "0.95", "γ (no γ; λ stays)"),
    # a candidate default of the reward-horizon script (docs/reward_horizon.md): opt-in, `--variants` names it
    Variant("ppo_reward_horizon_bins", "ppo_reward_horizon",
            ("--bins", "geometric", "--horizon", "1024", "--head-weighting", "adaptive", "--cut-fraction", "2"),
            "none", "none (11 geometric bins up to H = 1024, cut where prediction is noise)", "γ and λ (no γ)"),
)}
# what a study runs and reports unless --variants says otherwise
DEFAULT_VARIANTS = ("ppo_gae", "ppo_gae_lambda1", "ppo_reward_horizon", "ppo_avg_reward")
VARIANT_ALIASES = {**ALIASES, "gae_lambda1": "ppo_gae_lambda1", "lambda1": "ppo_gae_lambda1",
                   "reward_horizon_bins": "ppo_reward_horizon_bins"}
# what comparing two variants isolates, for the probability-of-improvement tables
PAIR_NOTES = {
    ("ppo_gae", "ppo_gae_lambda1"): "λ's bias: λ 0.95 → 1, γ 0.99 in both",
    ("ppo_gae", "ppo_reward_horizon"): "γ and λ → an undiscounted window of H rewards",
    ("ppo_gae", "ppo_avg_reward"): "γ: discounted → average reward, λ 0.95 in both",
    ("ppo_gae_lambda1", "ppo_reward_horizon"): "no λ bias (γ 0.99) vs no γ (window H)",
    ("ppo_gae_lambda1", "ppo_avg_reward"): "no λ bias (γ 0.99) vs no γ (λ 0.95)",
    ("ppo_reward_horizon", "ppo_avg_reward"): "the two γ-free estimators",
    ("ppo_gae", "ppo_reward_horizon_bins"): "γ and λ → an undiscounted window cut where prediction is noise",
    ("ppo_gae_lambda1", "ppo_reward_horizon_bins"): "no λ bias (γ 0.99) vs no γ (binned window)",
    ("ppo_reward_horizon", "ppo_reward_horizon_bins"): "32 unit heads → 11 geometric bins to 1024 and the cut",
    ("ppo_avg_reward", "ppo_reward_horizon_bins"): "the two γ-free estimators (binned window)",
}

BATCH = 512 * 64  # the scripts' default num_envs x num_steps: env steps per iteration
SUITES = ("fastenvs", "minatar", "mujoco")
GYM_ENVS = {
    "minatar": ("MinAtar/Asterix-v1", "MinAtar/Breakout-v1", "MinAtar/Freeway-v1", "MinAtar/Seaquest-v1",
                "MinAtar/SpaceInvaders-v1"),
    "mujoco": ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Swimmer-v5"),
}
EXTRAS = {"minatar": "minatar", "mujoco": "mujoco"}  # suite -> the module its extra installs (= the extra's name)
# Env steps per run, per suite, profile and env, as whole iterations of the default batch. The costs
# are for this 2-core machine, 2 runs at a time, at the steps/s of MEASURED_SPS (print_plan prints them):
# fastenvs  quick: 240 iterations per variant and seed (7.9M steps), 84 runs, 94M steps: ~1 h.
#           full: 1924 iterations per variant and seed (63M steps), 140 runs, 1.26G steps: ~12 h.
# minatar   quick: 32 iterations (1.05M steps), Freeway 80 (2.6M: its 512 envs all end their episodes
#           together every 2,501 steps, 1.28M env steps, so 32 iterations would score no episode),
#           60 runs, 82M steps: ~2.6 h.
#           full: 122 iterations (4.0M steps; Freeway: 3 rounds of episodes), 100 runs, 400M steps: ~12 h.
# mujoco    quick: 31 iterations (1.02M steps, the 1M of the CleanRL references), 60 runs, 61M steps: ~1.5 h
#           (measured 2026-12-01, 2 at a time: 1.6 min a run on HalfCheetah, 2.1 Swimmer, 2.7 Hopper,
#           3.0 Walker2d, 5.2 Ant, so 14.6 min for a variant and seed over the five tasks).
#           full: 92 iterations (3.0M steps), 100 runs, 301M steps: ~7.5 h at those rates.
BUDGETS = {
    "quick": {"bandit": 16 * BATCH, "squared": 32 * BATCH, "delay": 32 * BATCH, "chain": 32 * BATCH,
              "cartpole": 32 * BATCH, "breakout": 48 * BATCH, "pong": 48 * BATCH},
    "full": {"bandit": 64 * BATCH, "squared": 160 * BATCH, "delay": 160 * BATCH, "chain": 160 * BATCH,
             "cartpole": 160 * BATCH, "breakout": 610 * BATCH, "pong": 610 * BATCH},
}
SUITE_BUDGETS = {
    "fastenvs": BUDGETS,
    "minatar": {"quick": {**{e: 32 * BATCH for e in GYM_ENVS["minatar"]}, "MinAtar/Freeway-v1": 80 * BATCH},
                "full": {e: 122 * BATCH for e in GYM_ENVS["minatar"]}},
    "mujoco": {"quick": {e: 31 * BATCH for e in GYM_ENVS["mujoco"]},
               "full": {e: 92 * BATCH for e in GYM_ENVS["mujoco"]}},
}
SEEDS = {"quick": 3, "full": 5}  # seeds 1..k, every suite
# Envs with both reference scores in docs/envs.md that the study leaves out on purpose, with the reason.
# `target` checks that the scripts' continuous-action path learns at all (tests/test_learning.py);
# it tests no reward delay, and the suite compares the variants on discrete-action envs only.
NOT_IN_SUITE = {"target": "a check of the continuous-action path, not a reward-delay test"}
# For the cost estimate before anything ran: training steps/s of one run on one thread, and the
# seconds each run spends starting (imports, Numba's cache) before its first step. fastenvs: the
# study's standing figure, on the safe side of the 34-39k steps/s that docs/benchmarks.md measures at
# one thread on breakout on a quiet machine. Gymnasium envs: measured 2026-11-25 with
# `OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python ppo_gae.py --env ENV --seed 1
# --threads 1 --total-timesteps T` (T: 3 iterations for MuJoCo, 4 for MinAtar, 5 for
# MinAtar/Breakout-v1), the last logged sps, on this project's 2-core machine while other work held it
# at a load average of ~4.2, so about what each of 2 runs side by side gets; first iterations only
# (near-random policies, short episodes), so a rough figure: print_plan uses the finished runs' own
# steps/s once there are some. The other scripts are as fast:
# Hopper-v5 reward horizon 3,585 and average reward 3,700 (GAE 3,767); MinAtar/Breakout-v1 reward
# horizon 5,842, average reward 5,834 (GAE 6,054).
ASSUMED_SPS_PER_RUN = 15_000
MEASURED_SPS = {
    "MinAtar/Asterix-v1": 4_885, "MinAtar/Breakout-v1": 6_054, "MinAtar/Freeway-v1": 4_057,
    "MinAtar/Seaquest-v1": 4_923, "MinAtar/SpaceInvaders-v1": 3_962,
    "Hopper-v5": 3_767, "HalfCheetah-v5": 6_611, "Walker2d-v5": 3_464, "Ant-v5": 1_946, "Swimmer-v5": 5_311,
}
STARTUP_S = 10.0
FINAL_FRACTION = 0.1  # the final score averages the iterations in the last 10% of the steps
THREAD_VARS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
MARKER = "done.json"
FAILED = "failed.json"  # written when a run exits non-zero, removed when it starts again
JOB = "job.json"  # the submitit job a run went to (engine submitit only)
BOOTSTRAP_REPS = 20_000
POI_REPS = 2_000  # probability of improvement: a Mann-Whitney U per env and resample, so fewer resamples
DPI = 80


# --------------------------------------------------------------------------------------------------
# Reference scores: the one table of the Gymnasium suites' random and reference scores
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    env: str
    random: float
    random_source: str
    reference: float | None  # None: no published number; the env is left out of IQM and optimality gap
    reference_what: str
    reference_source: str


_RANDOM_MINATAR = ("docs/families.md, 'Random-policy scores, measured': 1000 episodes, seed 0, MinAtar 1.0.15 "
                   "(benchmarks/random_score_gym.py)")
_RANDOM_MUJOCO = ("docs/families.md, 'Random-policy scores, measured': 100 episodes, seed 0, mujoco 4.0.0 "
                  "(benchmarks/random_score_gym.py)")
_GYMNAX = ("gymnax README (RobertTLange/gymnax, commit 086ad95), via docs/families.md 'Reference scores'; "
           "configs agents/<Game>-MinAtar/ppo.yaml in RobertTLange/gymnax-blines")
_GYMNAX_WHAT = ("gymnax-blines PPO checkpoint, 10M steps, one number; gymnax's port has no sticky actions and "
                "caps episodes at 1000 steps (Freeway 2500)")
_CLEANRL = ("CleanRL docs/benchmark/ppo_continuous_action.md (tag pr-424), via docs/families.md 'Reference scores'")
_CLEANRL_WHAT = ("CleanRL ppo_continuous_action.py, {v}, 1M steps, mean over 3 seeds of the last 100 training "
                 "episodes{note}")
_RLZOO = ("DLR-RM/rl-baselines3-zoo benchmark.md (commit 0088472), 'ppo' row; docs/families.md has no PPO number "
          "for this task")
_RLZOO_WHAT = ("RL Baselines3 Zoo PPO, {v}, 1M steps, tuned hyperparameters{note}, one trained agent, "
               "deterministic evaluation")

REFERENCES = {r.env: r for r in (
    Reference("MinAtar/Asterix-v1", 0.48, _RANDOM_MINATAR, 15.0, _GYMNAX_WHAT, _GYMNAX),
    Reference("MinAtar/Breakout-v1", 0.38, _RANDOM_MINATAR, 28.0, _GYMNAX_WHAT, _GYMNAX),
    Reference("MinAtar/Freeway-v1", 0.39, _RANDOM_MINATAR, 58.0, _GYMNAX_WHAT, _GYMNAX),
    Reference("MinAtar/Seaquest-v1", 0.11, _RANDOM_MINATAR, None,
              "none published: gymnax lists no Seaquest checkpoint and the MinAtar paper and README give curves "
              "only. Rather than invent a number, Seaquest stays out of the IQM and the optimality gap; it is in "
              "the probability of improvement (ranks within an env need no scale) and the per-env table (raw "
              "scores)", "docs/families.md, 'Reference scores'"),
    Reference("MinAtar/SpaceInvaders-v1", 3.97, _RANDOM_MINATAR, 131.0, _GYMNAX_WHAT, _GYMNAX),
    Reference("Hopper-v5", 16.67, _RANDOM_MUJOCO, 2382.86,
              _CLEANRL_WHAT.format(v="Hopper-v4", note="; v5 no longer pays the healthy reward on the step "
                                                        "that ends an episode: close"), _CLEANRL),
    Reference("HalfCheetah-v5", -282.49, _RANDOM_MUJOCO, 1442.64,
              _CLEANRL_WHAT.format(v="HalfCheetah-v4", note="; v5 is the same task"), _CLEANRL),
    Reference("Walker2d-v5", 1.77, _RANDOM_MUJOCO, 2287.95,
              _CLEANRL_WHAT.format(v="Walker2d-v4", note="; v5 changed a foot's friction: indicative only"),
              _CLEANRL),
    Reference("Ant-v5", -48.05, _RANDOM_MUJOCO, 1327.16,
              _RLZOO_WHAT.format(v="Ant-v3", note="") + "; CleanRL publishes no PPO Ant number, and this is the "
              "PPO-at-1M number with a citable table, the budget of the other references; v5 changed Ant's "
              "reward, observation and termination: indicative only", _RLZOO),
    Reference("Swimmer-v5", 0.80, _RANDOM_MUJOCO, 281.56,
              _RLZOO_WHAT.format(v="Swimmer-v3", note=" (γ 0.9999)") + "; chosen as for Ant; v5 is the same "
              "task; the tuned γ is far from the kit's 0.99, so a γ-free variant may come closer", _RLZOO),
)}
# fastenvs rows of the rendered table: their numbers come from docs/envs.md
ENVS_MD_SOURCE = "docs/envs.md (the env's section: random-policy score, measured; maximum score)"


class UserError(Exception):
    """A mistake on the command line: reported as one line, exit code 2."""


def fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit code 2."""

    def error(self, message):
        fail(message)


# --------------------------------------------------------------------------------------------------
# The suites: envs, their reference scores, variants, budgets
# --------------------------------------------------------------------------------------------------
def parse_env_scores(path: str = os.path.join(ROOT, "docs", "envs.md")) -> dict[str, tuple[float, float]]:
    """{env: (random-policy score, maximum score)} for each `## env` section of docs/envs.md with both rows."""
    with open(path) as f:
        text = f.read()
    number = r"\*\*\s*([-+\u2212]?\d[\d,]*(?:\.\d+)?)\s*\*\*"
    scores = {}
    parts = re.split(r"^## +(\S+)[ \t]*$", text, flags=re.MULTILINE)
    for name, body in zip(parts[1::2], parts[2::2]):
        found = []
        for row in ("random-policy score", "maximum score"):
            m = re.search(rf"^\|\s*{row}\s*\|\s*{number}", body, flags=re.MULTILINE)
            found.append(float(m.group(1).replace("\u2212", "-").replace(",", "")) if m else None)
        if None not in found:
            if not found[1] > found[0]:
                raise ValueError(f"docs/envs.md: env {name!r} has maximum score {found[1]} <= random score {found[0]}")
            scores[name] = (found[0], found[1])
    return scores


def all_env_scores() -> dict[str, tuple[float, float | None]]:
    """{env: (random-policy score, reference score or None)} of every suite: docs/envs.md and REFERENCES."""
    return {**parse_env_scores(), **{r.env: (r.random, r.reference) for r in REFERENCES.values()}}


def normalize(score, random_score: float, max_score: float):
    """(score - random) / (max - random): 0 is the random policy, 1 the maximum (or reference) score."""
    return (np.asarray(score, dtype=np.float64) - random_score) / (max_score - random_score)


def parse_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def select_variants(text: str | None, allowed: tuple = SCRIPTS) -> list[str]:
    """The named variants in `allowed`'s order (default: the three scripts, what sensitivity.py runs)."""
    if not text:
        return list(allowed)
    out = []
    for name in parse_list(text):
        key = VARIANT_ALIASES.get(name, name.removesuffix(".py"))
        if key not in allowed:
            raise UserError(f"unknown variant {name!r}: use {', '.join(allowed)} "
                            f"(or {', '.join(k for k, v in VARIANT_ALIASES.items() if v in allowed)})")
        if key not in out:
            out.append(key)
    if not out:
        raise UserError(f"--variants={text!r} names no variant: use {', '.join(allowed)}")
    return [s for s in allowed if s in out]


def select_envs(text: str | None, profile: str, env_scores: dict) -> list[str]:
    """The requested fastenvs envs (default: the whole suite), each checked to be a suite env with a budget."""
    registered = fastenvs.names()
    suite = [n for n in registered if n in env_scores and n not in NOT_IN_SUITE]
    budgets = BUDGETS[profile]
    if not text:
        outside = [n for n in registered if n not in env_scores]
        if outside:
            print(f"note: {', '.join(outside)} not in the suite: no random-policy and maximum score in docs/envs.md")
        left_out = [n for n in registered if n in env_scores and n in NOT_IN_SUITE]
        if left_out:
            print(f"note: {', '.join(left_out)} not in the suite on purpose (NOT_IN_SUITE in benchmarks/study.py)")
        missing = [n for n in suite if n not in budgets]
        if missing:
            print(f"note: {', '.join(missing)} not run: no budget in BUDGETS[{profile!r}] of benchmarks/study.py")
        envs = [n for n in suite if n in budgets]
        if not envs:
            raise UserError("no suite env: no fastenvs env has both scores in docs/envs.md and a budget")
        return envs
    envs = []
    for name in parse_list(text):
        if name not in registered:
            raise UserError(f"unknown env {name!r}: the suite is {', '.join(suite)}")
        if name in NOT_IN_SUITE:
            raise UserError(f"env {name!r} is not part of the suite ({NOT_IN_SUITE[name]}): use {', '.join(suite)}")
        if name not in env_scores:
            raise UserError(f"env {name!r} has no random-policy score and maximum score in docs/envs.md, so it is "
                            f"not part of the suite: use {', '.join(suite)}")
        if name not in budgets:
            raise UserError(f"env {name!r} has no budget in profile {profile!r}: add one to BUDGETS in "
                            "benchmarks/study.py")
        if name not in envs:
            envs.append(name)
    if not envs:
        raise UserError(f"--envs={text!r} names no env: use {', '.join(suite)}")
    return envs


def select_suites(text: str) -> list[str]:
    if text == "all":
        return list(SUITES)
    if text not in SUITES:
        raise UserError(f"unknown suite {text!r}: use {', '.join(SUITES)} or all")
    return [text]


def suite_of(env: str) -> str | None:
    for suite, envs in GYM_ENVS.items():
        if env in envs:
            return suite
    return "fastenvs" if env in fastenvs.names() else None


def suite_envs(suites: list[str], text: str | None, profile: str, env_scores: dict,
               quiet: bool = False) -> dict[str, list[str]]:
    """{suite: its envs to run}: every env of each suite, or those --envs names (then a suite none of them is
    in is dropped). A name outside the suites is an error; fastenvs names are checked by select_envs."""
    named = parse_list(text) if text else []
    for name in named:
        where = suite_of(name)
        if where is not None and where not in suites:
            raise UserError(f"env {name!r} is in suite {where!r}, not in --suite {' and '.join(suites)}: "
                            f"add --suite {where} (or --suite all)")
        if where is None and "fastenvs" not in suites:
            raise UserError(f"unknown env {name!r}: --suite {' and '.join(suites)} has "
                            f"{', '.join(e for s in suites for e in GYM_ENVS[s])}")
    out = {}
    for suite in suites:
        if suite == "fastenvs":
            mine = [n for n in named if suite_of(n) in ("fastenvs", None)]
            if named and not mine:
                continue
            with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
                out[suite] = select_envs(",".join(mine) if mine else None, profile, env_scores)
            continue
        mine = [n for n in named if n in GYM_ENVS[suite]]
        if named and not mine:
            continue
        envs = [e for e in GYM_ENVS[suite] if not mine or e in mine]
        for e in envs:
            if e not in SUITE_BUDGETS[suite][profile]:
                raise UserError(f"env {e!r} has no budget in profile {profile!r}: add one to SUITE_BUDGETS in "
                                "benchmarks/study.py")
        out[suite] = envs
    return out


def scaled_budget(steps: int, scale: float) -> int:
    """A budget times `scale` (smoke tests only), at least 1 step."""
    return steps if scale == 1.0 else max(1, int(steps * scale))


def env_dirname(env: str) -> str:
    """An env id as one directory name: MinAtar/Breakout-v1 -> MinAtar-Breakout-v1."""
    return env.replace("/", "-")


# --------------------------------------------------------------------------------------------------
# Runs: commands, completion, execution
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    script: str  # "ppo_gae", ...
    env: str
    seed: int
    budget: int  # --total-timesteps
    run_dir: str
    extra: tuple = ()  # flags after the five that every run has (a variant's or a grid point's)
    tag: str = ""  # what the progress lines call it besides script, env and seed
    variant: str = ""  # the study's variant key (VARIANTS), when it is not the script's name

    @property
    def key(self) -> str:
        """The variant this run belongs to: its VARIANTS key, or its script."""
        return self.variant or self.script

    def args(self) -> list[str]:
        return ["--env", self.env, "--seed", str(self.seed), "--total-timesteps", str(self.budget), "--threads", "1",
                "--run-dir", self.run_dir, *self.extra]

    def command(self) -> list[str]:
        return [sys.executable, os.path.join(ROOT, f"{self.script}.py"), *self.args()]

    def shell(self) -> str:
        """The command as one shell line, paths relative to the repository root where they can be."""
        env = " ".join(f"{k}={v}" for k, v in THREAD_VARS.items())
        args = [rel(a) if a == self.run_dir else a for a in self.args()]
        return f"{env} python {self.script}.py {shlex.join(args)}"

    def name(self) -> str:
        return " ".join(x for x in (self.key, self.env, self.tag, f"seed{self.seed}") if x)

    def spec(self) -> dict:
        """What run_job needs, as plain data: the engines hand this to the process that runs it."""
        return {"command": self.command(), "args": self.args(), "run_dir": self.run_dir, "budget": self.budget,
                "shell": self.shell(), "variant": self.key, "name": self.name(), "cwd": ROOT}


def rel(path: str) -> str:
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def read_metrics(run_dir: str) -> list[dict]:
    """The rows of run_dir/metrics.jsonl ([] if absent); a torn last line (a run being written) is dropped."""
    rows = []
    try:
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    break
    except FileNotFoundError:
        pass
    return rows


def reached_budget(rows: list[dict], budget: int) -> bool:
    """Whether the logged iterations are all that `--total-timesteps budget` runs (budget // batch of them)."""
    if not rows:
        return False
    batch = rows[0]["global_step"] / rows[0]["iteration"]
    return rows[-1]["global_step"] + batch > budget >= rows[-1]["global_step"]


def same_args(recorded, args: list[str]) -> bool:
    """Whether a marker's recorded arguments are `args`, the value of --run-dir aside: the marker lies in the run
    directory, so a results directory mounted at another path (another machine, a cluster) still matches."""
    def strip(a):
        a = list(a)
        if "--run-dir" in a and a.index("--run-dir") + 1 < len(a):
            i = a.index("--run-dir")
            del a[i:i + 2]
        return a
    return isinstance(recorded, list) and strip(recorded) == strip(args)


def complete(run_dir: str, args: list[str], budget: int) -> bool:
    """is_complete on plain data (what a submitit job has)."""
    if os.path.exists(os.path.join(run_dir, FAILED)):
        return False
    try:
        with open(os.path.join(run_dir, MARKER)) as f:
            if not same_args(json.load(f).get("args"), args):
                return False
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    return reached_budget(read_metrics(run_dir), budget)


def is_complete(run: Run) -> bool:
    """A finished run: its metrics reached the budget, and its marker (when there is one) records these
    arguments. A run whose last attempt failed is never complete."""
    return complete(run.run_dir, run.args(), run.budget)


def run_job(spec: dict, engine: str = "local", on_start=None, stopping=None, skip_complete: bool = True) -> dict:
    """Run one study run, unless it is complete already: the one function both engines call, so that a run
    leaves the same files whoever ran it. The script runs as `spec["command"]` (one thread: THREAD_VARS) with
    its output in run_dir/stdout.log; on exit 0, run_dir/done.json records its arguments, command, wall time
    and host; otherwise run_dir/failed.json its arguments and exit code. Returns {"status": "done" | "failed" |
    "skipped" | "stopped", ...}. A submitit job may start long after it was submitted, so it checks completion
    again (another job or machine may have finished the run meanwhile); the local pool has just checked and
    passes skip_complete=False. `on_start(proc)` and `stopping` (a threading.Event) are the local pool's: it
    stops runs on Ctrl-C and wants no marker written for them. In a submitit job this runs in the job's process
    (cloudpickle carries it there by value), so it uses nothing but the standard library and this module's
    plain functions."""
    run_dir = spec["run_dir"]
    if skip_complete and complete(run_dir, spec["args"], spec["budget"]):
        return {"status": "skipped", "name": spec["name"]}
    os.makedirs(run_dir, exist_ok=True)
    marker, failed_marker = os.path.join(run_dir, MARKER), os.path.join(run_dir, FAILED)
    for path in (marker, failed_marker):
        if os.path.exists(path):
            os.remove(path)
    t0 = time.time()
    with open(os.path.join(run_dir, "stdout.log"), "w") as log:
        proc = subprocess.Popen(spec["command"], stdout=log, stderr=subprocess.STDOUT, cwd=spec["cwd"],
                                env=dict(os.environ, **THREAD_VARS))
        if on_start is not None:
            on_start(proc)
        try:
            rc = proc.wait()
        except BaseException:  # a cancelled job (SIGINT) or a timeout: take the run down with it, mark nothing
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    wall = time.time() - t0
    if stopping is not None and stopping.is_set():
        return {"status": "stopped", "name": spec["name"]}
    if rc == 0:
        rows = read_metrics(run_dir)
        with open(marker, "w") as f:
            json.dump({"args": spec["args"], "command": spec["shell"], "variant": spec["variant"],
                       "wall_s": round(wall, 1), "finished": datetime.datetime.now().isoformat(timespec="seconds"),
                       "global_step": rows[-1]["global_step"] if rows else None, "engine": engine,
                       "host": socket.gethostname()}, f)
        score = rows[-1].get("episode_score") if rows else None
        return {"status": "done", "name": spec["name"], "wall_s": wall, "score": score}
    with open(failed_marker, "w") as f:
        json.dump({"args": spec["args"], "exit_code": rc, "engine": engine, "host": socket.gethostname()}, f)
    try:
        with open(os.path.join(run_dir, "stdout.log")) as f:
            tail = f.read().strip().splitlines()[-1:]
    except OSError:
        tail = []
    return {"status": "failed", "name": spec["name"], "wall_s": wall, "exit_code": rc,
            "tail": tail[0] if tail else ""}


def report_line(k: int, n: int, run: Run, result: dict) -> str:
    """One progress line for a finished job."""
    wall = fmt_duration(result.get("wall_s", 0.0))
    if result["status"] == "done":
        score = result.get("score")
        return f"[{k}/{n}] {run.name()}: done in {wall}, score {'-' if score is None else f'{score:.2f}'}"
    if result["status"] == "skipped":
        return f"[{k}/{n}] {run.name()}: finished already (by another job?), skipped"
    log = rel(os.path.join(run.run_dir, "stdout.log"))
    return (f"[{k}/{n}] {run.name()}: FAILED (exit {result.get('exit_code')}) after {wall}: "
            f"{result.get('tail', '')} (log: {log})")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def assumed_sps(env: str) -> float:
    """Steps/s of one run on one thread before any run finished: MEASURED_SPS, or the fastenvs figure."""
    return MEASURED_SPS.get(env, ASSUMED_SPS_PER_RUN)


def measured_sps(runs: list[Run]) -> dict[str, float]:
    """{env: median steps/s of its finished runs among `runs`} (their last logged `sps`)."""
    rates = {}
    for run in runs:
        rows = read_metrics(run.run_dir)
        if rows and reached_budget(rows, run.budget) and rows[-1].get("sps"):
            rates.setdefault(run.env, []).append(rows[-1]["sps"])
    return {env: float(np.median(r)) for env, r in rates.items()}


def estimate(runs: list[Run], parallel: int, sps_per_run: float | dict | None = None) -> tuple[float, float]:
    """(env steps, seconds) to do `runs` `parallel` at a time, each at `sps_per_run` (a number, or {env: steps/s}
    with assumed_sps for the envs it lacks; default: assumed_sps)."""
    if not runs:
        return 0.0, 0.0
    workers = max(1, min(parallel, len(runs)))
    share = min(workers, cpu_count()) / workers  # more runs than cores: each gets a share of one

    def sps(env):
        if isinstance(sps_per_run, dict):
            return sps_per_run.get(env) or assumed_sps(env)
        return sps_per_run or assumed_sps(env)

    steps = float(sum(r.budget for r in runs))
    seconds = sum(r.budget / (sps(r.env) * share) + STARTUP_S for r in runs)
    return steps, seconds / workers


def fmt_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def print_plan(runs: list[Run], parallel: int):
    """Print what the runs cost and what is done; return the runs left to do."""
    done = [r for r in runs if is_complete(r)]
    todo = [r for r in runs if r not in done]
    measured = measured_sps(done)
    suites = {}
    for r in runs:
        suites.setdefault(suite_of(r.env) or "other", []).append(r)
    if len(suites) > 1 or next(iter(suites), "fastenvs") != "fastenvs":
        for suite, mine in suites.items():
            steps, seconds = estimate(mine, parallel)
            rates = sorted({round(assumed_sps(r.env)) for r in mine})
            print(f"  {suite}: {len(mine)} runs, {steps / 1e6:.0f}M env steps, about {fmt_duration(seconds)} "
                  f"with {parallel} at a time ({rates[0]:,}{f' to {rates[-1]:,}' if len(rates) > 1 else ''} steps/s "
                  f"per run assumed), {sum(is_complete(r) for r in mine)} finished")
    steps, _ = estimate(runs, parallel)
    todo_steps, todo_s = estimate(todo, parallel, measured)
    rate = (f"steps/s per run measured on the finished runs of {len(measured)} envs, assumed for the others"
            if measured else f"steps/s per run assumed (one thread each, MEASURED_SPS or {ASSUMED_SPS_PER_RUN:,}) "
            f"and {STARTUP_S:.0f} s start-up per run")
    print(f"{len(runs)} runs, {steps / 1e6:.1f}M env steps in all; {len(done)} finished already. "
          f"Estimated cost of the other {len(todo)} ({todo_steps / 1e6:.1f}M steps), {parallel} at a time: "
          f"{fmt_duration(todo_s)} ({rate}).", flush=True)
    return todo


def run_all(runs: list[Run], parallel: int) -> list[Run]:
    """The local engine: execute the runs `parallel` at a time (one thread each), in the given order, each
    through run_job; return the failed ones. Ctrl-C stops every run under way (their partial metrics are
    rerun later)."""
    live: dict[Run, subprocess.Popen] = {}
    lock = threading.Lock()
    stopping = threading.Event()
    counter = iter(range(1, len(runs) + 1))
    failed = []

    def one(run: Run):
        if stopping.is_set():
            return

        def started(proc):
            with lock:
                live[run] = proc

        result = run_job(run.spec(), "local", started, stopping, skip_complete=False)
        with lock:
            live.pop(run, None)
            k = next(counter)
        if result["status"] == "stopped":
            return
        if result["status"] == "failed":
            with lock:
                failed.append(run)
        print(report_line(k, len(runs), run, result), flush=True)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = [pool.submit(one, run) for run in runs]
    try:
        for fut in concurrent.futures.as_completed(futures):
            fut.result()
    except KeyboardInterrupt:
        stopping.set()
        with lock:
            for proc in live.values():
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return failed


# --------------------------------------------------------------------------------------------------
# The submitit engine: one job per run, on Slurm or on this machine
# --------------------------------------------------------------------------------------------------
def add_engine_flags(p: argparse.ArgumentParser):
    """--engine and the submitit/Slurm flags; execute() reads them (sensitivity.py can add them too)."""
    g = p.add_argument_group("engine", "where the runs go: a local process pool, or submitit jobs (Slurm, or local)")
    g.add_argument("--engine", choices=("local", "submitit"), default="local",
                   help="local: --parallel processes here (default); submitit: one submitit job per run")
    g.add_argument("--submitit-cluster", choices=("auto", "slurm", "local"), default="auto",
                   help="submitit's executor: slurm, local (jobs as processes on this machine, --parallel at a "
                        "time), or auto (slurm where srun is found, else local)")
    g.add_argument("--submitit-folder", default=None, help="submitit's job files and logs (default: <out>/submitit)")
    g.add_argument("--slurm-partition", default=None, help="Slurm partition (sbatch --partition)")
    g.add_argument("--slurm-time", type=int, default=None,
                   help="minutes per job (default: 3x the longest run's estimate, at least 30)")
    g.add_argument("--slurm-mem-gb", type=float, default=4.0, help="memory per job in GB (default 4)")
    g.add_argument("--slurm-cpus-per-task", type=int, default=1, help="cores per job (default 1: runs use one thread)")
    g.add_argument("--slurm-array-parallelism", type=int, default=None,
                   help="most jobs of the array running at once (default: submitit's, 256)")
    g.add_argument("--slurm-account", default=None, help="sbatch --account")
    g.add_argument("--slurm-qos", default=None, help="sbatch --qos")
    g.add_argument("--slurm-setup", action="append", default=[], metavar="LINE",
                   help="a shell line the job runs first, e.g. 'module load ...' (repeatable)")
    g.add_argument("--slurm-extra", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, e.g. constraint=avx2 (repeatable)")


def check_engine(args):
    engine = getattr(args, "engine", "local")
    if engine == "local":
        return
    for name in ("slurm_time", "slurm_cpus_per_task", "slurm_array_parallelism"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise UserError(f"--{name.replace('_', '-')}={v} is not allowed: use an integer >= 1")
    if not args.slurm_mem_gb > 0:
        raise UserError(f"--slurm-mem-gb={args.slurm_mem_gb} is not allowed: use a number > 0")
    for item in args.slurm_extra:
        if "=" not in item:
            raise UserError(f"--slurm-extra={item!r} is not KEY=VALUE")
    if importlib.util.find_spec("submitit") is None:
        raise UserError("--engine submitit needs submitit: pip install submitit (or pip install -e '.[bench]')")
    import cloudpickle  # submitit's own dependency

    if not hasattr(cloudpickle, "register_pickle_by_value"):
        raise UserError(f"--engine submitit needs cloudpickle >= 2.0 (found {cloudpickle.__version__}): "
                        "pip install -U cloudpickle")
    if args.submitit_cluster == "slurm" and not (args.dry_run or args.report_only) and shutil.which("srun") is None:
        raise UserError("--submitit-cluster slurm: no srun here; run the study from a Slurm login node, or use "
                        "--submitit-cluster local")


def job_minutes(runs: list[Run]) -> int:
    """The default time limit of a job: 3x the longest run's estimate at one thread, at least 30 minutes."""
    longest = max(r.budget / assumed_sps(r.env) + STARTUP_S for r in runs)
    return max(30, math.ceil(3 * longest / 60))


def make_executor(args, folder: str, runs: list[Run]):
    """A submitit executor for the engine flags (the caller imports submitit)."""
    import submitit

    cluster = None if args.submitit_cluster == "auto" else args.submitit_cluster
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = {"timeout_min": args.slurm_time or job_minutes(runs), "name": "fastppo-study",
              "cpus_per_task": args.slurm_cpus_per_task, "mem_gb": args.slurm_mem_gb}
    if executor.cluster == "slurm":
        params.update(slurm_partition=args.slurm_partition, slurm_array_parallelism=args.slurm_array_parallelism,
                      slurm_account=args.slurm_account, slurm_qos=args.slurm_qos,
                      slurm_setup=list(args.slurm_setup) or None,
                      slurm_additional_parameters=dict(x.split("=", 1) for x in args.slurm_extra) or None)
    elif args.slurm_setup:
        params["local_setup"] = list(args.slurm_setup)
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return executor


def run_submitit(runs: list[Run], args, out: str) -> list[Run]:
    """The submitit engine: each run is one job calling run_job (the same command, markers and skip as the local
    engine) in the shared results directory; return the failed ones. On Slurm every run is submitted at once, as
    one job array; with the local executor `--parallel` jobs run at a time. Ctrl-C cancels the jobs not done."""
    import cloudpickle

    module = sys.modules[run_job.__module__]
    if module.__name__ != "__main__":  # imported (sensitivity.py, the tests): carry the function by value, so
        cloudpickle.register_pickle_by_value(module)  # the job needs no import path to benchmarks/
    folder = os.path.abspath(args.submitit_folder or os.path.join(out, "submitit"))
    executor = make_executor(args, folder, runs)
    local = executor.cluster != "slurm"
    print(f"submitit: {len(runs)} jobs on {executor.cluster}"
          + (f", {args.parallel} at a time" if local else "") + f", job files in {rel(folder)}", flush=True)
    pending = list(runs)
    in_flight: dict = {}  # job -> run
    failed, k = [], 0

    def submit(batch):
        if local:
            jobs = [executor.submit(run_job, run.spec(), "submitit") for run in batch]
        else:
            with executor.batch():
                jobs = [executor.submit(run_job, run.spec(), "submitit") for run in batch]
        for job, run in zip(jobs, batch):
            in_flight[job] = run
            os.makedirs(run.run_dir, exist_ok=True)
            with open(os.path.join(run.run_dir, JOB), "w") as f:
                json.dump({"job_id": job.job_id, "cluster": executor.cluster, "folder": folder,
                           "submitted": datetime.datetime.now().isoformat(timespec="seconds")}, f)

    try:
        if not local:
            submit(pending)
            pending = []
            print(f"submitted job array {next(iter(in_flight)).job_id.split('_')[0]}", flush=True)
        while pending or in_flight:
            if local:
                room = max(1, args.parallel) - len(in_flight)
                if room > 0 and pending:
                    submit(pending[:room])
                    pending = pending[room:]
            for job in [j for j in in_flight if j.done()]:
                run = in_flight.pop(job)
                k += 1
                try:
                    result = job.result()
                except Exception as e:  # noqa: BLE001 -- the job itself failed (killed, timed out, raised)
                    lines = str(e).strip().splitlines()
                    result = {"status": "failed", "exit_code": f"job {job.job_id} {job.state}",
                              "tail": lines[-1] if lines else type(e).__name__}
                    with open(os.path.join(run.run_dir, FAILED), "w") as f:
                        json.dump({"args": run.args(), "job_id": job.job_id, "error": result["tail"]}, f)
                if result["status"] == "failed":
                    failed.append(run)
                print(report_line(k, len(runs), run, result), flush=True)
            time.sleep(0.5 if local else 15.0)
    except KeyboardInterrupt:
        for job in in_flight:
            job.cancel(check=False)
        raise
    return failed


def record_invocation(out: str, entry: dict):
    """Append this invocation (command, start, wall time, runs done) to out/study.json."""
    path = os.path.join(out, "study.json")
    try:
        with open(path) as f:
            log = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        log = {"invocations": []}
    log["invocations"].append(entry)
    os.makedirs(out, exist_ok=True)
    with open(path, "w") as f:
        json.dump(log, f, indent=1)


def read_invocations(out: str) -> list[dict]:
    try:
        with open(os.path.join(out, "study.json")) as f:
            return json.load(f)["invocations"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return []


# --------------------------------------------------------------------------------------------------
# Summaries: what the report needs of each finished run, small enough to commit
# --------------------------------------------------------------------------------------------------
# A summary file holds {"runs": {"<variant>/<env dir>/seed<k>": {"args", "wall_s", "host", "rows"}},
# "invocations": [...]}, each row [global_step, episode_score, episode_length, sps] of one iteration. Run
# directories are not committed; the summary is, so a fresh checkout can rebuild the report, and add runs
# to it, from the summary alone. An older layout, {key: rows} with rows of [step, score, length], loads too.
def read_summary(path: str) -> dict:
    """The summary at `path` in the current layout ({"runs": {}, "invocations": []} when there is none)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {"runs": {}, "invocations": []}
    except json.JSONDecodeError as e:
        raise UserError(f"--summary {path}: not a JSON file ({e})")
    if "runs" not in data:  # the older layout: {key: [[step, score, length], ...]}
        data = {"runs": {k: {"rows": v} for k, v in data.items()}, "invocations": []}
    data.setdefault("invocations", [])
    return data


def summary_rows(rows: list[dict]) -> list[list]:
    """metrics.jsonl rows -> the summary's rows: [global_step, episode_score, episode_length, sps]."""
    return [[r["global_step"], r.get("episode_score"), r.get("episode_length"), r.get("sps")] for r in rows]


def metrics_rows(rows: list[list]) -> list[dict]:
    """The summary's rows -> metrics.jsonl rows (what the reports read); iteration i logged i x batch steps."""
    batch = rows[0][0]
    return [{"iteration": round(step / batch), "global_step": step, "episode_score": score, "episode_length": length,
             "sps": sps} for step, score, length, sps in ((list(row) + [None])[:4] for row in rows)]


def write_metrics(run_dir: str, rows: list[dict]):
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "metrics.jsonl"), "w") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)


def write_summary(path: str, data: dict):
    """The summary file, one line per run, so that a diff shows which runs changed."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write('{"invocations": ' + json.dumps(data["invocations"]) + ',\n "runs": {\n')
        f.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(data["runs"].items())))
        f.write("\n }\n}\n")


def summary_key(run: Run) -> str:
    return f"{run.key}/{env_dirname(run.env)}/seed{run.seed}"


def restore_from_summary(path: str, runs: list[Run], out: str) -> int:
    """Write the run directory of each run that `path` summarises and that is not complete here, and merge
    the summary's invocations into out/study.json; return how many runs were restored. An entry whose recorded
    arguments differ from the run's is left alone (the plan changed since)."""
    data = read_summary(path)
    restored = 0
    for run in runs:
        entry = data["runs"].get(summary_key(run))
        if entry is None or is_complete(run) or ("args" in entry and not same_args(entry["args"], run.args())):
            continue
        write_metrics(run.run_dir, metrics_rows(entry["rows"]))
        with open(os.path.join(run.run_dir, MARKER), "w") as f:
            json.dump({"args": run.args(), "command": run.shell(), "variant": run.key,
                       "restored_from": rel(path), **{k: entry[k] for k in ("wall_s", "host") if k in entry}}, f)
        for stale in (FAILED, JOB):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(run.run_dir, stale))
        restored += 1
    known = {i.get("started") for i in read_invocations(out)}
    for inv in data["invocations"]:
        if inv.get("started") not in known:
            record_invocation(out, inv)
    if restored:
        print(f"restored {restored} finished runs from {rel(path)}")
    return restored


def save_summary(path: str, runs: list[Run], out: str) -> int:
    """Merge every complete run of `runs` (and out/study.json's invocations) into the summary at `path`;
    return how many runs it holds then."""
    data = read_summary(path)
    for run in runs:
        if not is_complete(run):
            continue
        try:
            with open(os.path.join(run.run_dir, MARKER)) as f:
                marker = json.load(f)
        except (OSError, json.JSONDecodeError):
            marker = {}
        key = summary_key(run)
        if "restored_from" in marker and key in data["runs"]:
            continue  # a run restored from this summary adds nothing to it
        args = run.args()
        i = args.index("--run-dir")  # where the run lay is this machine's business
        data["runs"][key] = {"args": args[:i] + args[i + 2:], "rows": summary_rows(read_metrics(run.run_dir)),
                             **{k: marker[k] for k in ("wall_s", "host") if k in marker}}
    known = {i.get("started") for i in data["invocations"]}
    data["invocations"] += [i for i in read_invocations(out) if i.get("started") not in known]
    write_summary(path, data)
    return len(data["runs"])


# --------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------
@dataclass
class RunScore:
    final: float  # raw final score
    final_norm: float  # nan where the env has no reference score
    auc: float  # normalized, step-weighted (nan without a reference)
    steps: np.ndarray = field(repr=False)  # global_step of each iteration
    curve: np.ndarray = field(repr=False)  # normalized score of each iteration (raw without a reference)
    sps: float | None = None


def score_run(rows: list[dict], random_score: float, max_score: float | None) -> RunScore:
    """Final score, normalized final score and AUC of one run's metrics rows (see the module docstring).
    Without a reference score (max_score None) the normalized numbers are nan and the curve is raw."""
    if not rows:
        raise ValueError("no metrics rows")
    steps = np.array([r["global_step"] for r in rows], dtype=np.float64)
    raw = np.array([random_score if r.get("episode_score") is None else r["episode_score"] for r in rows],
                   dtype=np.float64)
    last = steps >= (1.0 - FINAL_FRACTION) * steps[-1]
    final = float(raw[last].mean())
    if max_score is None:
        return RunScore(final, math.nan, math.nan, steps, raw, rows[-1].get("sps"))
    curve = normalize(raw, random_score, max_score)
    weights = np.diff(np.concatenate([[0.0], steps]))
    auc = float((curve * weights).sum() / weights.sum())
    return RunScore(final, float(normalize(final, random_score, max_score)), auc, steps, curve, rows[-1].get("sps"))


def collect(runs: list[Run], env_scores: dict) -> dict[Run, RunScore]:
    """Scores of the finished runs among `runs`."""
    out = {}
    for run in runs:
        if is_complete(run):
            rows = read_metrics(run.run_dir)
            if rows:
                out[run] = score_run(rows, *env_scores[run.env])
    return out


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (nan with fewer than 2 values)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan


def fmt_ms(mean: float, std: float, digits: int = 2) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def require_report_packages():
    """rliable and matplotlib, or one line saying how to install them (exit code 2)."""
    try:
        import matplotlib  # noqa: F401
        import rliable.library  # noqa: F401
        import rliable.metrics  # noqa: F401
    except ImportError as e:
        fail(f"the report needs rliable and matplotlib ({e}): pip install -e '.[bench]'")
    except Exception as e:  # noqa: BLE001 -- e.g. rliable's arch 7 under pandas 3
        fail(f"rliable does not import ({type(e).__name__}: {e}): pip install -e '.[bench]' (it pins pandas<3)")


def iqm_with_ci(score_dict: dict[str, np.ndarray], reps: int = BOOTSTRAP_REPS) -> dict[str, tuple[float, float, float]]:
    """{key: (IQM, CI low, CI high)} of (runs x envs) score matrices: 95% stratified-bootstrap CIs (rliable)."""
    return {key: aggregate_with_ci(scores, reps)["IQM"] for key, scores in score_dict.items()}


def aggregate_with_ci(scores: np.ndarray, reps: int = BOOTSTRAP_REPS,
                      gap: bool = False) -> dict[str, tuple[float, float, float]]:
    """{"IQM": (point, CI low, CI high)} and, with `gap`, {"optimality gap": ...} of a (runs x envs) matrix of
    normalized scores: 95% stratified-bootstrap CIs (rliable; runs resampled within each env), one set of
    resamples for both. The optimality gap is the mean shortfall below 1 (the maximum or reference score)."""
    from rliable import library as rly
    from rliable import metrics

    def func(x):
        return np.array([metrics.aggregate_iqm(x)] + ([metrics.aggregate_optimality_gap(x, 1.0)] if gap else []))

    np.random.seed(0)  # rliable draws its resamples from numpy's global generator
    point, interval = rly.get_interval_estimates({"x": scores}, func, reps=reps)
    names = ["IQM"] + (["optimality gap"] if gap else [])
    return {n: (float(point["x"][i]), float(interval["x"][0, i]), float(interval["x"][1, i]))
            for i, n in enumerate(names)}


def improvement_with_ci(x: np.ndarray, y: np.ndarray, reps: int = POI_REPS) -> tuple[float, float, float]:
    """P(X > Y): the probability that a run of X beats a run of Y on an env, averaged over envs, with a 95%
    stratified-bootstrap CI (rliable; the runs of X and of Y resampled independently within each env)."""
    from rliable import library as rly
    from rliable import metrics

    np.random.seed(0)
    point, interval = rly.get_interval_estimates({"x,y": (x, y)}, metrics.probability_of_improvement, reps=reps)
    lo, hi = np.ravel(interval["x,y"])
    return float(point["x,y"]), float(lo), float(hi)


def score_matrix(scores: dict[Run, RunScore], key: str, envs: list[str], attr: str,
                 runs: list[Run]) -> tuple[np.ndarray, list[int]]:
    """(seeds x envs) matrix of `attr` for the seeds of variant `key` finished in every env, and those seeds."""
    by_key = {(r.env, r.seed): s for r, s in scores.items() if r.key == key}
    seeds = sorted({r.seed for r in runs if r.key == key})
    common = [s for s in seeds if all((env, s) in by_key for env in envs)]
    matrix = np.array([[getattr(by_key[(env, s)], attr) for env in envs] for s in common], dtype=np.float64)
    return matrix.reshape(len(common), len(envs)), common


def machine() -> str:
    """CPU model and cores, from /proc/cpuinfo where there is one."""
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import platform
    return f"{model or platform.processor() or platform.machine()}, {cpu_count()} cores"


def versions(packages=("torch", "numba", "numpy", "rliable", "gymnasium", "MinAtar", "mujoco")) -> str:
    """Python's version and those of the given packages that are installed."""
    from importlib import metadata

    parts = [f"Python {sys.version.split()[0]}"]
    for pkg in packages:
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def run_dates(invocations: list[dict]) -> str:
    """"runs 2025-01-01 to 2025-01-02; " from the recorded invocations ("" if none)."""
    days = sorted({i["started"][:10] for i in invocations if i.get("started")})
    if not days:
        return ""
    return f"runs {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else "") + "; "


def steps_label(steps: float) -> str:
    return f"{steps / 1e6:.2f}M" if steps < 1e7 else f"{steps / 1e6:.0f}M"


# --------------------------------------------------------------------------------------------------
# Plots and the report
# --------------------------------------------------------------------------------------------------
def plot_curves(scores: dict[Run, RunScore], envs: list[str], variants: list[str], path: str,
                raw_envs: frozenset = frozenset()):
    """One panel per env: mean normalized score (raw for `raw_envs`) over seeds vs env steps, a band of ± one
    std, per variant."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = min(4, len(envs))
    nrows = math.ceil(len(envs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.6 * nrows), squeeze=False)
    for ax, env in zip(axes.flat, envs):
        for key in variants:
            runs = [s for r, s in scores.items() if r.key == key and r.env == env]
            if not runs:
                continue
            n = min(len(s.curve) for s in runs)
            curves = np.stack([s.curve[:n] for s in runs])
            x = runs[0].steps[:n] / 1e6
            mean = curves.mean(0)
            ax.plot(x, mean, color=COLORS.get(key), lw=1.4, label=f"{LABELS.get(key, key)} ({len(runs)})")
            if len(runs) > 1:
                std = curves.std(0, ddof=1)
                ax.fill_between(x, mean - std, mean + std, color=COLORS.get(key), alpha=0.2, lw=0)
        if env not in raw_envs:
            ax.axhline(0, color="grey", lw=0.6, ls=":")
        ax.set_title(env + (" (raw score)" if env in raw_envs else ""), fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("env steps (M)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("normalized score", fontsize=8)
    for ax in list(axes.flat)[len(envs):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:  # the legend of the panel with the most variants
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    if handles:
        fig.legend(handles, [lab.split(" (")[0] for lab in labels], loc="lower center", ncol=len(handles),
                   fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if nrows == 1 else 0.04, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_aggregate(agg: dict[str, dict[str, tuple]], variants: list[str], path: str):
    """Point estimate with 95% CI bars per variant, one panel per metric (the keys of `agg`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metrics = [m for m in agg if agg[m]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 0.55 * len(variants) + 1.0), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, key in enumerate(variants):
            if key not in agg[metric]:
                continue
            point, lo, hi = agg[metric][key]
            ax.errorbar([point], [i], xerr=[[point - lo], [hi - point]], fmt="o", color=COLORS.get(key), capsize=4,
                        lw=2)
        ax.set_yticks(range(len(variants)), [LABELS.get(k, k) for k in variants], fontsize=9)
        ax.set_ylim(-0.6, len(variants) - 0.4)
        ax.invert_yaxis()
        ax.set_title(metric, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[0][1:]:
        ax.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


@dataclass
class SuitePlan:
    """The runs of one suite that a report covers."""
    suite: str
    envs: list[str]
    variants: list[str]  # VARIANTS keys
    runs: list[Run]
    seeds: int


SUITE_TITLES = {
    "fastenvs": "fastenvs: the kit's Numba envs (reward delays, chains, classic control, Breakout, Pong)",
    "minatar": "MinAtar: the five v1 games (10 × 10 images, minimal action sets, sticky actions 0.1)",
    "mujoco": "MuJoCo: five v5 locomotion tasks (continuous actions)",
}


def variant_cell(key: str) -> str:
    v = VARIANTS.get(key)
    command = v.command() if v else f"{key}.py"
    return f"{LABELS.get(key, key)} (`{command}`)"


def suite_section(plan: SuitePlan, env_scores: dict, profile: str, plots_dir: str, reps: int, poi_reps: int,
                  report_cmd: str) -> list[str]:
    """The report's section of one suite: aggregates, probabilities of improvement, per-env tables, plots."""
    suite, envs, variants, runs = plan.suite, plan.envs, plan.variants, plan.runs
    lines = [f"## {SUITE_TITLES.get(suite, suite)}", ""]
    scores = collect(runs, env_scores)
    n_done, n_all = len(scores), len(runs)
    if not scores:
        return lines + [f"No finished runs yet ({n_all} planned: {len(variants)} variants × {len(envs)} "
                        f"env{'s' * (len(envs) != 1)} × {plan.seeds} seeds). Run `{report_cmd}`.", ""]
    # a variant with no finished run in this suite is named once, not shown as empty rows in every table
    unrun = [k for k in variants if not any(r.key == k for r in scores)]
    if unrun:
        variants = [k for k in variants if k not in unrun]
        runs = [r for r in runs if r.key not in unrun]
        lines += [f"Not run in this suite yet: {', '.join(LABELS.get(k, k) for k in unrun)}.", ""]
        n_all = len(runs)
    if n_done < n_all:
        lines += [f"**Incomplete:** {n_done} of {n_all} runs finished; the tables use those only.", ""]
    prefix = "" if suite == "fastenvs" else f"{suite}_"
    ref_envs = [e for e in envs if env_scores[e][1] is not None]
    raw_envs = frozenset(e for e in envs if env_scores[e][1] is None)

    agg = {"IQM normalized final score": {}, "optimality gap": {}, "IQM normalized AUC": {}}
    agg_seeds = {}
    for key in variants:
        if not ref_envs:
            break
        final, common = score_matrix(scores, key, ref_envs, "final_norm", runs)
        agg_seeds[key] = common
        if len(common):
            a = aggregate_with_ci(final, reps, gap=True)
            agg["IQM normalized final score"][key] = a["IQM"]
            agg["optimality gap"][key] = a["optimality gap"]
            auc, _ = score_matrix(scores, key, ref_envs, "auc", runs)
            agg["IQM normalized AUC"][key] = aggregate_with_ci(auc, reps)["IQM"]
    lines += ["### Aggregate over envs and seeds", "",
              "| variant | IQM normalized final score (95% CI) | optimality gap (95% CI) | IQM normalized AUC (95% CI) "
              "| seeds × envs |", "|---|---|---|---|---|"]
    for key in variants:
        cells = []
        for metric in agg:
            if key in agg[metric]:
                point, lo, hi = agg[metric][key]
                cells.append(f"**{point:.3f}** [{lo:.3f}, {hi:.3f}]")
            else:
                cells.append("-")
        n_seeds = len(agg_seeds.get(key, []))
        lines.append(f"| {variant_cell(key)} | {' | '.join(cells)} | {n_seeds} × {len(ref_envs)} |")
    lines += ["", "Only seeds finished in every env enter the aggregate. The optimality gap is the mean amount by "
              "which the normalized final score falls short of 1 (scores above 1 count as 1): lower is better."
              + (f" {', '.join(sorted(raw_envs))} {'has' if len(raw_envs) == 1 else 'have'} no reference score, so "
                 "it is left out of the IQM and the optimality gap (see the reference scores below)."
                 if raw_envs else ""), ""]
    if any(agg[m] for m in agg):
        plot_aggregate(agg, variants, os.path.join(plots_dir, f"{prefix}aggregate.png"))
        lines += [f"![IQM and optimality gap with 95% CIs, {suite}](results/{prefix}aggregate.png)", ""]

    # probability of improvement on the raw final scores: ranks within an env need no normalization
    finals = {key: score_matrix(scores, key, envs, "final", runs)[0] for key in variants}
    pairs = [(a, b) for i, a in enumerate(variants) for b in variants[i + 1:]]
    lines += ["### Probability of improvement", ""]
    if not pairs:
        lines += ["One variant only: no pair to compare.", ""]
    else:
        lines += ["P(X > Y): the probability that a run of X ends with a higher final score than a run of Y on the "
                  "same env, averaged over the envs (ties count one half), with a 95% stratified-bootstrap CI "
                  f"({poi_reps:,} resamples; rliable's `probability_of_improvement`). Above 0.5 favours X; a CI "
                  "that excludes 0.5 is a difference these seeds resolve. Every env of the suite enters (ranks need "
                  "no reference score); only seeds finished in every env.", "",
                  "| X | Y | P(X > Y) (95% CI) | runs X, Y per env | what the pair isolates |", "|---|---|---|---|---|"]
        for a, b in pairs:
            x, y = finals[b], finals[a]  # the later variant against the earlier one: GAE is the Y of its pairs
            if len(x) and len(y):
                p, lo, hi = improvement_with_ci(x, y, poi_reps)
                cell = f"**{p:.2f}** [{lo:.2f}, {hi:.2f}]"
            else:
                cell = "-"
            lines.append(f"| {LABELS.get(b, b)} | {LABELS.get(a, a)} | {cell} | {len(x)}, {len(y)} | "
                         f"{PAIR_NOTES.get((a, b), '')} |")
        lines.append("")

    lines += ["### Per env", ""]
    for env in envs:
        lo, hi = env_scores[env]
        budget = next(r.budget for r in runs if r.env == env)
        if hi is None:
            ref = "no reference score"
        else:
            ref = f"{'maximum' if suite == 'fastenvs' else 'reference'} {hi:g}"
        lines += [f"#### {env}", "",
                  f"Random-policy score {lo:g}, {ref}; {steps_label(budget)} env steps per run.", "",
                  "| variant | seeds | final score | normalized final score | normalized AUC | steps/s per run |",
                  "|---|---:|---:|---:|---:|---:|"]
        digits = 2 if hi is None or hi - lo >= 10 else 3
        for key in variants:
            s = [v for r, v in scores.items() if r.key == key and r.env == env]
            rates = [rows[-1]["sps"] for r in scores if r.key == key and r.env == env
                     for rows in [read_metrics(r.run_dir)] if rows and rows[-1].get("sps")]
            rate = f"{np.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})" if rates else "-"
            lines.append(f"| {LABELS.get(key, key)} | {len(s)} | {fmt_ms(*mean_std([x.final for x in s]), digits)} | "
                         f"{fmt_ms(*mean_std([x.final_norm for x in s]), 3)} | "
                         f"{fmt_ms(*mean_std([x.auc for x in s]), 3)} | {rate} |")
        lines.append("")
    plot_curves(scores, envs, variants, os.path.join(plots_dir, f"{prefix}curves.png"), raw_envs)
    lines += ["Learning curves: mean normalized score over seeds (the band: ± one standard deviation)"
              + ("; raw score where the env has no reference score" if raw_envs else "") + ".", "",
              f"![learning curves per env, {suite}](results/{prefix}curves.png)", ""]
    return lines


def reference_table(plans: list[SuitePlan], env_scores: dict) -> list[str]:
    """The random and reference scores of every env the report covers, with their sources."""
    lines = ["## Reference scores", "",
             "Normalized score = (score − random) / (reference − random). fastenvs: the random-policy and the "
             "maximum score of [envs.md](envs.md). MinAtar and MuJoCo: REFERENCES in `benchmarks/study.py`, random "
             "scores measured for these exact ids ([families.md](families.md)), references published for nearby "
             "settings (what each is, below): a normalized score of 1 means \"as good as that reference\", not "
             "\"solved\", and can exceed 1.", "",
             "| suite | env | random-policy score | reference score | what the reference is | sources |",
             "|---|---|---:|---:|---|---|"]
    for plan in plans:
        for env in plan.envs:
            lo, hi = env_scores[env]
            r = REFERENCES.get(env)
            if r is None:
                lines.append(f"| {plan.suite} | {env} | {lo:g} | {hi:g} | the env's maximum score | {ENVS_MD_SOURCE} |")
            else:
                ref = "—" if r.reference is None else f"{r.reference:g}"
                lines.append(f"| {plan.suite} | {env} | {r.random:g} | {ref} | {r.reference_what} | "
                             f"random: {r.random_source}; reference: {r.reference_source} |")
    return lines + [""]


# benchmarks/seeds.py grids with a section of their own in the report, when their committed summary (relative to
# the report's directory) exists: (grid, seeds, summary, plot)
SEEDS_SECTIONS = (("breakout-20m", 5, "results/seeds_breakout-20m.json", "results/breakout_20m.png"),)


def seeds_section(report_dir: str) -> list[str]:
    """The report's section on Breakout over seeds, from seeds.py's committed summary alone; [] without it."""
    import seeds  # benchmarks/seeds.py, which imports this module for the summary format

    lines = []
    for grid, n, summary, png in SEEDS_SECTIONS:
        path = os.path.join(report_dir, summary)
        if not os.path.exists(path):
            continue
        env, budget, *_ = seeds.GRIDS[grid]
        rows, commands = seeds.summary_table(path, grid, n)
        report_cmd = (f"python benchmarks/seeds.py --grid {grid} --seeds {n} --report-only --plot docs/{png} "
                      f"--summary docs/{summary}")
        lines += [f"## {env.capitalize()} over seeds, {budget / 1e6:.0f}M steps", "",
                  f"The kit's `{env}` env at {budget:,} steps a run, each script with its defaults and the other "
                  f"variants of `benchmarks/seeds.py --grid {grid}`, seeds 1..{n} where run (\"-\": a seed not "
                  "run). Score: the mean raw score of the last 100 episodes at the first iteration at or past the "
                  "step; mean and IQM over seeds with 95% percentile-bootstrap CIs; the last column, the fraction of "
                  "runs past 400 points (one wall). Which machine ran which runs, the commands that ran them, and "
                  "what the numbers say: "
                  "[benchmarks.md](benchmarks.md#breakout-over-seeds-20m-steps-todays-defaults).", "",
                  f"Report command: `{report_cmd}` (from the summary alone; it needs no run directory).", "",
                  *rows, "", "Variants (each with `--seed k --threads 1 --total-timesteps "
                  f"{budget}` added):", "", *(f"* {c}" for c in commands), ""]
        if os.path.exists(os.path.join(report_dir, png)):
            lines += [f"![{env} score over {budget / 1e6:.0f}M steps: mean over seeds, band from the lowest to the "
                      f"highest run]({png})", ""]
    return lines


def report(plans: list[SuitePlan], env_scores: dict, profile: str, out: str, report_dir: str, command: str,
           reps: int = BOOTSTRAP_REPS, poi_reps: int = POI_REPS) -> str:
    """Write report_dir/results.md (one section per suite) and report_dir/results/*.png from the finished runs;
    return the .md path. A suite with no finished run gets a line saying so."""
    require_report_packages()
    plots_dir = os.path.join(report_dir, "results")
    os.makedirs(plots_dir, exist_ok=True)
    all_runs = [r for p in plans for r in p.runs]
    variants = [k for k in VARIANTS if any(k in p.variants for p in plans)]

    lines = [f"# Study results ({profile} profile)", ""]
    lines += [
        "Each variant trains with its script's default hyperparameters, the same for every env; only `--env`, "
        "`--seed`, `--total-timesteps`, `--threads` and `--run-dir` change (and the variant's own flag). Scores are "
        "normalized per env as (score - random-policy score) / (reference score - random-policy score), with the "
        "numbers of [Reference scores](#reference-scores) (fastenvs: the maximum score of [envs.md](envs.md)): 0 is "
        "the random policy. The final score of a run is the mean of `episode_score` (the mean score of the last "
        f"100 episodes) over the iterations logged in the last {FINAL_FRACTION:.0%} of its steps; its AUC is the "
        "mean normalized score over all iterations, weighted by steps (iterations before the first finished "
        "episode count as the random policy). Per suite, across envs and seeds: interquartile mean (IQM) and "
        "optimality gap with 95% stratified-bootstrap confidence intervals "
        f"({reps:,} resamples of the runs within each env, [rliable](https://github.com/google-research/rliable)), "
        "and the probability of improvement between each pair of variants. Per env: mean ± standard deviation "
        "over seeds.",
        "",
        "## Variants", "",
        "| variant | command | discount γ | λ | drops from GAE(γ 0.99, λ 0.95) |", "|---|---|---|---|---|"]
    for key in variants:
        v = VARIANTS[key]
        lines.append(f"| {v.label} | `{v.command()}` | {v.gamma} | {v.lam} | {v.drops} |")
    lines += ["", "So *GAE, λ = 1* against *GAE* measures what λ's bias costs or buys with γ held; *reward horizon* "
              "and *average reward* against both measure dropping γ itself.", ""]

    for plan in plans:
        cmd = (f"python benchmarks/study.py --suite {plan.suite} --profile {profile}")
        lines += suite_section(plan, env_scores, profile, plots_dir, reps, poi_reps, cmd)

    lines += seeds_section(report_dir)
    lines += reference_table(plans, env_scores)

    invocations = [i for i in read_invocations(out) if i.get("runs_executed")]
    wall = sum(i.get("wall_s", 0.0) for i in invocations)
    scores = {r: None for r in all_runs if is_complete(r)}
    compute, sps = 0.0, []
    for run in scores:
        try:
            with open(os.path.join(run.run_dir, MARKER)) as f:
                compute += json.load(f).get("wall_s", 0.0)
        except (OSError, json.JSONDecodeError):
            pass
        rows = read_metrics(run.run_dir)
        if rows and rows[-1].get("sps"):
            sps.append(rows[-1]["sps"])
    seed_list = sorted({r.seed for r in all_runs})
    engines = sorted({i.get("engine", "local") for i in invocations})
    lines += ["## How this was made", ""]
    lines += [f"* Study command: `{invocations[-1]['command'] if invocations else command}`"
              + (f" (run in {len(invocations)} sittings)" if len(invocations) > 1 else ""),
              *([f"* Report command: `{command}`"] if invocations and invocations[-1]["command"] != command else []),
              f"* Seeds: {', '.join(map(str, seed_list))}; variants: "
              f"{', '.join(f'`{VARIANTS[k].command()}`' for k in variants)}",
              f"* Runs: {len(scores)} finished of {len(all_runs)}; "
              f"{sum(r.budget for r in all_runs) / 1e6:.1f}M env steps in all"
              + (f"; engine {', '.join(engines)}" if engines else ""),
              f"* Wall time: {fmt_duration(wall) if wall else 'not recorded'}"
              f"{f'; {fmt_duration(compute)} of run time summed over runs' if compute else ''}"
              f"{f'; median {np.median(sps):,.0f} env steps/s per run' if sps else ''}",
              f"* Machine: {machine()}; each run with one thread ({', '.join(f'{k}=1' for k in THREAD_VARS)}); "
              f"{versions()}",
              f"* Date: {run_dates(invocations)}report written {datetime.date.today().isoformat()}",
              f"* Run directories: `{rel(out)}/<variant>/<env>/seed<k>/` (metrics.jsonl, stdout.log, {MARKER})", ""]
    lines += ["Budgets (env steps per run, the same for every variant)"
              + (f", e.g. `{all_runs[0].shell()}`" if all_runs else "") + ":", "",
              "| suite | env | env steps per run | seeds |", "|---|---|---:|---:|"]
    for plan in plans:
        for env in plan.envs:
            budget = next((r.budget for r in plan.runs if r.env == env), 0)
            lines.append(f"| {plan.suite} | {env} | {budget:,} | {plan.seeds} |")
    path = os.path.join(report_dir, "results.md")
    os.makedirs(report_dir, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def add_common_flags(p: argparse.ArgumentParser, seeds_help: str, envs_help: str, out_help: str,
                     variants_help: str = f"comma-separated scripts (default: {','.join(SCRIPTS)})"):
    """Flags the study and the sensitivity study share (the engine's: add_engine_flags)."""
    p.add_argument("--profile", default="quick", help=f"budget profile: {', '.join(BUDGETS)} (default quick)")
    p.add_argument("--envs", default=None, help=envs_help)
    p.add_argument("--variants", default=None, help=variants_help)
    p.add_argument("--seeds", type=int, default=None, help=seeds_help)
    p.add_argument("--parallel", type=int, default=cpu_count(), help="runs at a time, one thread each (default: cores)")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--report-dir", default=os.path.join(ROOT, "docs"), help="where the .md report and plots go")
    p.add_argument("--dry-run", action="store_true", help="print the runs' commands (and what is done) only")
    p.add_argument("--report-only", action="store_true", help="run nothing: report the finished runs")
    # smoke tests only: shrink every budget, pass extra flags to every script, fewer bootstrap resamples
    p.add_argument("--budget-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--script-args", default="", help=argparse.SUPPRESS)
    p.add_argument("--bootstrap-reps", type=int, default=BOOTSTRAP_REPS, help=argparse.SUPPRESS)


def check_common(args, default_seeds: int):
    if args.profile not in BUDGETS:
        raise UserError(f"unknown profile {args.profile!r}: use {', '.join(BUDGETS)}")
    if args.seeds is None:
        args.seeds = default_seeds
    if args.seeds < 1:
        raise UserError(f"--seeds={args.seeds} is not allowed: use an integer >= 1 (the seeds are 1..N)")
    if args.parallel < 1:
        raise UserError(f"--parallel={args.parallel} is not allowed: use an integer >= 1")
    if not args.budget_scale > 0:
        raise UserError(f"--budget-scale={args.budget_scale} is not allowed: use a number > 0")
    if args.dry_run and args.report_only:
        raise UserError("--dry-run and --report-only exclude each other: use one")
    check_engine(args)


def execute(runs: list[Run], args, out: str, command: str) -> int:
    """Dry run, or run what is not finished with the engine of `args.engine` (local when `args` has none);
    return the number of failed runs."""
    todo = print_plan(runs, args.parallel)
    if args.dry_run:
        for run in runs:
            print(("# done: " if run not in todo else "") + run.shell())
        return 0
    if args.report_only or not todo:
        return 0
    engine = getattr(args, "engine", "local")
    # longest first, so that the last runs to start are short ones and the workers finish together
    todo = sorted(todo, key=lambda r: -r.budget)
    started = time.time()
    failed = []

    def record(**extra):
        record_invocation(out, {"command": command, "started": datetime.datetime.fromtimestamp(started).isoformat(
            timespec="seconds"), "wall_s": round(time.time() - started, 1), "runs_executed": len(todo),
            "engine": engine, **extra})

    try:
        failed = run_submitit(todo, args, out) if engine == "submitit" else run_all(todo, args.parallel)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to go on (finished runs are kept)", file=sys.stderr)
        record(interrupted=True)
        sys.exit(130)
    record(failed=len(failed))
    print(f"{len(todo) - len(failed)} runs finished, {len(failed)} failed, in {fmt_duration(time.time() - started)}")
    return len(failed)


def plan_suite(suite: str, envs: list[str], variants: list[str], seeds: int, profile: str, out: str,
               extra: tuple = (), scale: float = 1.0) -> SuitePlan:
    runs = []
    for env in envs:
        budget = scaled_budget(SUITE_BUDGETS[suite][profile][env], scale)
        for key in variants:
            v = VARIANTS[key]
            for seed in range(1, seeds + 1):
                runs.append(Run(v.script, env, seed, budget, os.path.join(out, key, env_dirname(env), f"seed{seed}"),
                                v.flags + extra, variant="" if key == v.script else key))
    return SuitePlan(suite, envs, variants, runs, seeds)


def check_extras(suites):
    """Each Gymnasium suite's extra installed, or one line saying which to install (before hours of runs)."""
    for suite in suites:
        module = EXTRAS.get(suite)
        if module and importlib.util.find_spec(module) is None:
            raise UserError(f"--suite {suite} needs the {module!r} extra: pip install -e '.[{module}]'")


def main(argv=None):
    p = Parser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
               epilog="\n".join(__doc__.splitlines()[2:10]))
    p.add_argument("--suite", default="fastenvs", help=f"{', '.join(SUITES)} or all (default fastenvs)")
    add_common_flags(p, "seeds per variant and env: 1..N (default: 3 quick, 5 full)",
                     "comma-separated envs of the suite(s) (default: all)",
                     "results directory, shared by the suites (default: runs/study/<profile>)",
                     f"comma-separated variants (default: {','.join(DEFAULT_VARIANTS)}; also "
                     f"{','.join(k for k in VARIANTS if k not in DEFAULT_VARIANTS)}; aliases such as gae_lambda1)")
    p.add_argument("--summary", default=None, metavar="JSON",
                   help="a summary of finished runs (committed, e.g. docs/results/study_quick_runs.json): runs it "
                        "holds that are missing here are restored from it before anything runs, and every finished "
                        "run is written back to it after (not with --dry-run)")
    add_engine_flags(p)
    args = p.parse_args(argv)
    command = "python benchmarks/study.py" + "".join(f" {shlex.quote(a)}"
                                                     for a in (sys.argv[1:] if argv is None else argv))
    try:
        check_common(args, SEEDS.get(args.profile, 1))
        suites = select_suites(args.suite)
        env_scores = all_env_scores()
        chosen = suite_envs(suites, args.envs, args.profile, env_scores)
        variants = (select_variants(args.variants, tuple(VARIANTS)) if args.variants
                    else list(DEFAULT_VARIANTS))
        extra = tuple(shlex.split(args.script_args))
        if not args.dry_run and not args.report_only:
            check_extras(chosen)
    except UserError as e:
        fail(str(e))
    if not args.dry_run:
        require_report_packages()  # before hours of runs, not after
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "study", args.profile))
    plans = [plan_suite(s, envs, variants, args.seeds, args.profile, out, extra, args.budget_scale)
             for s, envs in chosen.items()]
    runs = [r for plan in plans for r in plan.runs]
    # the report covers every suite: those not run now with their default plan (a line if none finished)
    others = [plan_suite(s, envs, list(DEFAULT_VARIANTS), SEEDS.get(args.profile, 1), args.profile, out)
              for s, envs in suite_envs([s for s in SUITES if s not in chosen], None, args.profile, env_scores,
                                        quiet=True).items()]
    reported = runs + [r for plan in others for r in plan.runs]
    if args.summary and not args.dry_run:
        try:
            restore_from_summary(args.summary, reported, out)
        except UserError as e:
            fail(str(e))
    for plan in plans:
        print(f"study, {args.profile} profile, suite {plan.suite}: {len(variants)} variants x {len(plan.envs)} envs "
              f"({', '.join(plan.envs)}) x {args.seeds} seeds, results in {rel(out)}")
    failed = execute(runs, args, out, command)
    if args.dry_run:
        return
    if args.summary:
        print(f"summary: {save_summary(args.summary, reported, out)} finished runs in {rel(args.summary)}")
    ordered = sorted(plans + others, key=lambda pl: SUITES.index(pl.suite))
    path = report(ordered, env_scores, args.profile, out, args.report_dir, command, args.bootstrap_reps,
                  min(POI_REPS, args.bootstrap_reps))
    print(f"report: {rel(path)}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
