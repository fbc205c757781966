"""The experiments' declarations: the variants, the suites, their budgets and reference scores.

Suites: fastenvs (every fastenvs env whose section in docs/envs.md gives both a random-policy score
and a maximum score, less NOT_IN_SUITE), minatar (the five MinAtar v1 games), mujoco (Hopper,
HalfCheetah, Walker2d, Ant, Swimmer, v5) and procgen (the 16 Procgen games, easy mode). Variants:
the three scripts with their defaults, and `ppo_gae.py --gae-lambda 1.0` ("GAE, λ = 1"), which keeps
γ but drops λ's bias, so a report tells "no γ" (reward horizon, average reward) from "no λ bias";
`reward_horizon_bins` is an opt-in candidate default of the reward-horizon script (geometric bins up
to H = 1024 and the adaptive cut). Every run is a script's own command line with the kit's one
default set: only --env, --seed, --total-timesteps, --threads 1 and --run-dir change (and the
variant's own flags), and an env's budget is the same for every variant. MuJoCo is the one
exception, the same for every variant too: its runs take the MuJoCo base set (SUITE_FLAGS), since
the default batch learns no MuJoCo task in 1M steps. Scores are normalized per env with REFERENCES
(fastenvs: docs/envs.md's random-policy and maximum scores; procgen: the paper's R_min and R_max).
benchmarks/study.py runs and reports them; benchmarks/sensitivity.py takes the fastenvs budgets and
env checks from here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import LABELS  # noqa: E402
from runner import BATCH, ROOT, Run, UserError, env_dirname, parse_list, scaled_budget  # noqa: E402

import fastenvs  # noqa: E402

SCRIPTS = ("ppo_gae", "ppo_reward_horizon", "ppo_avg_reward")
ALIASES = {"gae": "ppo_gae", "reward_horizon": "ppo_reward_horizon", "avg_reward": "ppo_avg_reward"}

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


SUITES = ("fastenvs", "minatar", "mujoco", "procgen")
# Cobbe et al. 2020's easy-mode normalization constants (R_min, R_max) per Procgen game: see REFERENCES
PROCGEN_RANGES = {"bigfish": (1, 40), "bossfight": (0.5, 13), "caveflyer": (3.5, 12), "chaser": (0.5, 13),
                  "climber": (2, 12.6), "coinrun": (5, 10), "dodgeball": (1.5, 19), "fruitbot": (-1.5, 32.4),
                  "heist": (3.5, 10), "jumper": (3, 10), "leaper": (3, 10), "maze": (5, 10), "miner": (1.5, 13),
                  "ninja": (3.5, 10), "plunder": (4.5, 30), "starpilot": (2.5, 64)}
GYM_ENVS = {
    "minatar": ("MinAtar/Asterix-v1", "MinAtar/Breakout-v1", "MinAtar/Freeway-v1", "MinAtar/Seaquest-v1",
                "MinAtar/SpaceInvaders-v1"),
    "mujoco": ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Swimmer-v5"),
    "procgen": tuple(f"procgen/{game}" for game in PROCGEN_RANGES),
}
# suite -> the module its extra installs (= the extra's name)
EXTRAS = {"minatar": "minatar", "mujoco": "mujoco", "procgen": "procgen"}
# Env steps per run, per suite, profile and env, as whole iterations of the default batch. The costs
# are for this 2-core machine, 2 runs at a time, at the steps/s of jobs.MEASURED_SPS (the plan prints them):
# fastenvs  quick: 240 iterations per variant and seed (7.9M steps), 84 runs, 94M steps: ~1 h.
#           full: 1924 iterations per variant and seed (63M steps), 140 runs, 1.26G steps: ~12 h.
# minatar   quick: 32 iterations (1.05M steps), Freeway 80 (2.6M: its 512 envs all end their episodes
#           together every 2,501 steps, 1.28M env steps, so 32 iterations would score no episode),
#           60 runs, 82M steps: ~2.6 h.
#           full: 122 iterations (4.0M steps; Freeway: 3 rounds of episodes), 100 runs, 400M steps: ~12 h.
# mujoco    the base set below (8 envs x 256 steps: 2048 a batch). quick: 1M steps (488 iterations, the 1M of the
#           CleanRL references), 60 runs: ~7.4 h (at jobs.MEASURED_SPS: 9 to 21 min a run). full: 3M steps, 100
#           runs: ~37 h.
# procgen   full: 763 iterations (25.0M steps), the easy-mode budget of Cobbe et al. 2020 and CleanRL's
#           ppo_procgen.py, 320 runs, 8.0G steps: ~2,740 h (114 days) at jobs.PROCGEN_SPS: a cluster's job.
#           quick: 61 iterations (2.0M steps, 8% of that), 192 runs, 384M steps: ~132 h. What a small machine
#           affords (about 1.4 h a run at PROCGEN_SPS): it measures early learning, not the paper's scores.
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
    "mujoco": {"quick": {e: 1_000_000 for e in GYM_ENVS["mujoco"]},
               "full": {e: 3_000_000 for e in GYM_ENVS["mujoco"]}},
    "procgen": {"quick": {e: 61 * BATCH for e in GYM_ENVS["procgen"]},
                "full": {e: 763 * BATCH for e in GYM_ENVS["procgen"]}},
}
SEEDS = {"quick": 3, "full": 5}  # seeds 1..k, every suite
# The MuJoCo base set: at the kit's default batch (512 envs x 64 steps, 31 updates in 1M steps) no estimator learns
# MuJoCo, so that suite would rank nothing. Every MuJoCo run takes CleanRL's batch as a vector layout (8 envs x 256
# steps, 32 minibatches, 10 epochs), lr 3e-4, 64 hidden units and no entropy bonus, the same for the three scripts;
# each estimator's own flags stay at their defaults. Reward scaling, per script: GAE divides by the std of its own
# γ-discounted return (CleanRL's; with it GAE reaches CleanRL's scores, with the per-step std it does not: Hopper
# 2521 against 1124, docs/benchmarks.md); the γ-free scripts keep the per-step std, since they have no γ.
MUJOCO_BASE = ("--num-envs", "8", "--num-steps", "256", "--num-minibatches", "32", "--update-epochs", "10",
               "--learning-rate", "3e-4", "--hidden-size", "64", "--ent-coef", "0.0")
# suite -> {script: the flags every run of that script gets in that suite, before its variant's}
SUITE_FLAGS = {"mujoco": {"ppo_gae": MUJOCO_BASE + ("--reward-scale", "return"),
                          "ppo_reward_horizon": MUJOCO_BASE, "ppo_avg_reward": MUJOCO_BASE}}
# Envs with both reference scores in docs/envs.md that the study leaves out on purpose, with the reason.
# `target` checks that the scripts' continuous-action path learns at all (tests/test_learning.py);
# it tests no reward delay, and the suite compares the variants on discrete-action envs only.
NOT_IN_SUITE = {"target": "a check of the continuous-action path, not a reward-delay test"}


# Reference scores: the one table of the Gymnasium suites' random and reference scores
@dataclass(frozen=True)
class Reference:
    env: str
    random: float
    random_source: str
    reference: float | None  # None: no published number; the env is left out of IQM and optimality gap
    reference_what: str
    reference_source: str


_RANDOM_MINATAR = ("docs/families.md, 'Random-policy scores, measured': 1000 episodes, seed 0, MinAtar 1.0.15 "
                   "(benchmarks/random_scores.py)")
_RANDOM_MUJOCO = ("docs/families.md, 'Random-policy scores, measured': 100 episodes, seed 0, mujoco 4.0.0 "
                  "(benchmarks/random_scores.py)")
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
_PROCGEN = ("Cobbe et al. 2020, 'Leveraging Procedural Generation to Benchmark Reinforcement Learning' (ICML; "
            "arXiv:1912.01588), appendix C 'Normalization Constants', easy mode, as printed in openai/train-procgen "
            "train_procgen/constants.py EASY_GAME_RANGES (commit 3bdf2da)")
_PROCGEN_JL = ("Cobbe et al. 2020, appendix C, easy mode, as printed in RyanNavillus/Syllabus syllabus/examples/"
               "task_wrappers/procgen_task_wrapper.py PROCGEN_RETURN_BOUNDS (commit 059ca53) and other public code; "
               "openai/train-procgen's EASY_GAME_RANGES has R_min 1 (Jumper) and 1.5 (Leaper), its hard-mode values")
_PROCGEN_MIN = ("R_min: the score of a policy trained with its observations masked out (what is trivially "
                "achievable), not a random policy's measurement; ")
_PROCGEN_MAX = {**dict.fromkeys(("caveflyer", "chaser", "climber"), "the mean maximum over many generated levels"),
                **dict.fromkeys(("fruitbot", "starpilot"), "PPO's score after 8B steps at 8x the batch, near optimal")}

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
    *(Reference(f"procgen/{g}", lo, _PROCGEN_MIN + src, hi, f"R_max of Cobbe et al. 2020, easy mode: "
                f"{_PROCGEN_MAX.get(g, 'the maximum possible score')}; the paper's maximum, not a trained agent's "
                "score at this budget nor a random policy's measurement", src)
      for g, (lo, hi) in PROCGEN_RANGES.items() for src in [_PROCGEN_JL if g in ("jumper", "leaper") else _PROCGEN]),
)}
# fastenvs rows of the rendered table: their numbers come from docs/envs.md
ENVS_MD_SOURCE = "docs/envs.md (the env's section: random-policy score, measured; maximum score)"


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
            print(f"note: {', '.join(left_out)} not in the suite on purpose (NOT_IN_SUITE in benchmarks/suites.py)")
        missing = [n for n in suite if n not in budgets]
        if missing:
            print(f"note: {', '.join(missing)} not run: no budget in BUDGETS[{profile!r}] of benchmarks/suites.py")
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
                            "benchmarks/suites.py")
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
                                "benchmarks/suites.py")
        out[suite] = envs
    return out


@dataclass
class SuitePlan:
    """The runs of one suite that a report covers."""
    suite: str
    envs: list[str]
    variants: list[str]  # VARIANTS keys
    runs: list[Run]
    seeds: int


def suite_flags(suite: str, script: str) -> tuple:
    """The flags a suite gives every run of `script` (the MuJoCo base set), before the variant's own."""
    return SUITE_FLAGS.get(suite, {}).get(script, ())


def plan_suite(suite: str, envs: list[str], variants: list[str], seeds: int, profile: str, out: str,
               extra: tuple = (), scale: float = 1.0) -> SuitePlan:
    runs = []
    for env in envs:
        budget = scaled_budget(SUITE_BUDGETS[suite][profile][env], scale)
        for key in variants:
            v = VARIANTS[key]
            for seed in range(1, seeds + 1):
                runs.append(Run(v.script, env, seed, budget, os.path.join(out, key, env_dirname(env), f"seed{seed}"),
                                suite_flags(suite, v.script) + v.flags + extra, variant="" if key == v.script else key))
    return SuitePlan(suite, envs, variants, runs, seeds)


def check_extras(suites):
    """Each Gymnasium suite's extra installed, or one line saying which to install (before hours of runs)."""
    for suite in suites:
        module = EXTRAS.get(suite)
        if module and importlib.util.find_spec(module) is None:
            raise UserError(f"--suite {suite} needs the {module!r} extra: pip install -e '.[{module}]'")

