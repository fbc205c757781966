"""The numbers the reports print, against values computed by hand here (not by the reporter's helpers):
a fake study of 2 variants x 3 envs x 5 seeds, where the IQM, the mean, the optimality gap, the AUC and
P(X > Y) all differ, and a fake seeds.py summary of 5 seeds, where the IQM and the mean differ."""

import json
import os
import re
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import runner  # noqa: E402
import seeds  # noqa: E402
import study  # noqa: E402
import suites  # noqa: E402

BATCH = 100  # env steps per fake iteration
ITERATIONS = 10
MAX = 10.0  # every fake env: random-policy score 0, maximum 10
# raw final scores, seeds 1..5, per variant and env; a run scores half its final until its last 10% of steps
FINALS = {
    "ppo_gae": {"bandit": [2, 4, 6, 8, 12], "chain": [1, 3, 5, 7, 9], "squared": [0, 5, 5, 10, 11]},
    "ppo_reward_horizon": {"bandit": [3, 5, 7, 9, 9], "chain": [2, 2, 6, 8, 10], "squared": [1, 6, 6, 9, 12]},
}


def curve(final: float) -> list:
    """Per iteration: no finished episode yet, then final / 2, then the final score in the last two (9 and 10:
    the last 10% of 1000 steps are steps 900 to 1000)."""
    return [None] + [final / 2] * (ITERATIONS - 3) + [final] * 2


def hand_iqm(values) -> float:
    """The interquartile mean: sort, drop the lowest and the highest quarter (rounded down), average the rest."""
    v = sorted(values)
    k = int(0.25 * len(v))
    middle = v[k:len(v) - k]
    return sum(middle) / len(middle)


def hand_auc(final: float) -> float:
    """Step-weighted mean normalized score: iteration 1 counts as the random policy (0)."""
    per_iteration = [0.0 if x is None else x / MAX for x in curve(final)]
    return sum(per_iteration) / len(per_iteration)


def hand_improvement(xs: dict, ys: dict) -> float:
    """P(X > Y): per env, the share of (run of X, run of Y) pairs that X wins, ties one half; mean over envs."""
    per_env = []
    for env in xs:
        wins = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in xs[env] for y in ys[env])
        per_env.append(wins / (len(xs[env]) * len(ys[env])))
    return sum(per_env) / len(per_env)


@pytest.fixture(scope="module")
def fake_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study")
    envs = list(FINALS["ppo_gae"])
    runs = []
    for key, per_env in FINALS.items():
        for env, finals in per_env.items():
            for seed, final in enumerate(finals, 1):
                run = runner.Run(key, env, seed, BATCH * ITERATIONS, str(tmp / "out" / key / env / f"seed{seed}"))
                rows = [{"iteration": i, "global_step": i * BATCH, "sps": 1000.0, "episode_score": s}
                        for i, s in enumerate(curve(final), 1)]
                runner.write_metrics(run.run_dir, rows)
                runs.append(run)
    plan = suites.SuitePlan("fastenvs", envs, list(FINALS), runs, 5)
    env_scores = {env: (0.0, MAX) for env in envs}
    path = study.report([plan], env_scores, "quick", str(tmp / "out"), str(tmp / "docs"), "cmd", reps=50, poi_reps=20)
    with open(path) as f:
        return f.read()


def bold_numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"\*\*(-?[0-9.]+)\*\*", line)]


def row(text: str, start: str) -> str:
    found = [line for line in text.splitlines() if line.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


@pytest.mark.parametrize("key,label", [("ppo_gae", "GAE (`ppo_gae.py`)"),
                                       ("ppo_reward_horizon", "reward horizon (`ppo_reward_horizon.py`)")])
def test_iqm_optimality_gap_and_auc(fake_study, key, label):
    finals = [f / MAX for env in FINALS[key] for f in FINALS[key][env]]
    aucs = [hand_auc(f) for env in FINALS[key] for f in FINALS[key][env]]
    iqm, gap, auc_iqm = bold_numbers(row(fake_study, f"| {label} |"))
    assert iqm == pytest.approx(hand_iqm(finals), abs=5e-4)
    assert iqm != pytest.approx(np.mean(finals), abs=5e-4)  # the IQM is not the mean here
    assert gap == pytest.approx(np.mean([1 - min(f, 1.0) for f in finals]), abs=5e-4)
    assert auc_iqm == pytest.approx(hand_iqm(aucs), abs=5e-4)
    assert "| 5 × 3 |" in row(fake_study, f"| {label} |")


def test_probability_of_improvement_is_x_over_y(fake_study):
    p, = bold_numbers(row(fake_study, "| reward horizon | GAE |"))
    want = hand_improvement(FINALS["ppo_reward_horizon"], FINALS["ppo_gae"])
    assert p == pytest.approx(want, abs=5e-3)
    assert abs(want - 0.5) > 0.05  # so swapping X and Y would show


def test_per_env_mean_and_normalized_scores(fake_study):
    section = fake_study.split("#### chain")[1].split("####")[0]
    cells = row(section, "| GAE |").split("|")
    final, norm, auc = cells[3], cells[4], cells[5]
    v = np.array(FINALS["ppo_gae"]["chain"], dtype=float)
    assert final.strip() == f"{v.mean():.2f} ± {v.std(ddof=1):.2f}"  # raw scores: 2 digits on a scale of 10
    assert norm.strip().startswith(f"{v.mean() / MAX:.3f} ± ")
    assert auc.strip().startswith(f"{np.mean([hand_auc(x) for x in v]):.3f} ± ")


def test_seeds_table_mean_iqm_and_wall(tmp_path):
    grid = "value-clip"
    scores = [10.0, 20.0, 30.0, 40.0, 100.0]  # mean 40, IQM (20, 30, 40) 30
    steps = [runner.BATCH * k for k in range(1, 153)]
    entries = {f"{grid}/{seeds.slug('gae, clip')}/seed{s}": {"rows": [[step, score, 50.0] for step in steps]}
               for s, score in enumerate(scores, 1)}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"invocations": [], "runs": entries}))
    lines, commands = seeds.summary_table(str(path), grid, 5, wall=35.0)
    first = next(line for line in lines if line.startswith("| gae, clip | 1.00M |"))
    cells = [c.strip() for c in first.split("|")]
    assert cells[3] == "10.0, 20.0, 30.0, 40.0, 100.0"
    assert cells[4].startswith("40.0 [") and cells[5].startswith("30.0 [")
    lo, hi = (float(x) for x in cells[4][6:-1].split(", "))
    assert 10.0 <= lo < 40.0 < hi <= 100.0
    assert cells[6] == "40%"  # 40 and 100 are above the wall of 35
    assert commands == ["gae, clip: `ppo_gae.py --env breakout --clip-vloss`"]
