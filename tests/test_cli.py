"""User mistakes on the command line: one clear line, exit code 2, no traceback. And a seed reproduces a run."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["ppo_gae.py", "ppo_reward_horizon.py", "ppo_avg_reward.py"]


def run(script, *args, timeout=300):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


BAD_SHARED = [
    (["--env", "nosuchenv"], "nosuchenv", "breakout"),
    (["--num-envs", "6", "--num-steps", "5", "--num-minibatches", "4"], "--num-minibatches=4", "divisor of 30"),
    (["--num-envs", "0"], "--num-envs=0", ">= 1"),
    (["--num-steps", "-3"], "--num-steps=-3", ">= 1"),
    (["--total-timesteps", "0"], "--total-timesteps=0", ">= 1"),
    (["--learning-rate", "0"], "--learning-rate=0.0", "> 0"),
    (["--num-envs", "4", "--num-steps", "8", "--total-timesteps", "10"], "--total-timesteps=10", "at least 32"),
    # one sample per minibatch: the std that normalises advantages is undefined
    (["--env", "bandit", "--num-envs", "2", "--num-steps", "2", "--num-minibatches", "4", "--total-timesteps", "64"],
     "--num-minibatches=4", "at most 2 minibatches"),
    (["--threads", "-1"], "--threads=-1", ">= 0"),
    (["--env", "cartpole", "--env-kwargs", "delay=3"], "'delay'", "max_steps"),
    (["--env", "cartpole", "--env-kwargs", "max_steps"], "'max_steps'", "key=value"),
    (["--env", "CartPole-v1", "--env-kwargs", "colour=2"], "colour", "CartPole-v1"),
]
BAD_VARIANT = {
    "ppo_gae.py": [(["--gamma", "1.5"], "--gamma=1.5", "[0, 1]"), (["--gae-lambda", "-0.1"], "--gae-lambda=-0.1", "[0, 1]")],
    "ppo_reward_horizon.py": [(["--horizon", "0"], "--horizon=0", ">= 1"),
                              (["--horizon", "0", "--bins", "geometric"], "--horizon=0", ">= 1"),
                              (["--cut-fraction", "0"], "--cut-fraction=0.0", "> 0"),
                              (["--head-weighting", "adaptive", "--cut-fraction", "-1"], "--cut-fraction=-1.0", "> 0")],
    "ppo_avg_reward.py": [(["--gae-lambda", "1.2"], "--gae-lambda=1.2", "[0, 1]"),
                          (["--rho-step-size", "0"], "--rho-step-size=0.0", "(0, 1]")],
}
CASES = [(s, *case) for s in SCRIPTS for case in BAD_SHARED + BAD_VARIANT[s]]


@pytest.mark.parametrize("script,args,bad,allowed", CASES)
def test_bad_input_is_one_clear_line(script, args, bad, allowed):
    r = run(script, *args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and bad in lines[0] and allowed in lines[0], r.stderr


@pytest.mark.parametrize("flag", ["--head-weighting", "--bins"])
def test_bad_choice_is_rejected_by_the_parser(flag):
    r = run("ppo_reward_horizon.py", flag, "cosine")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cosine" in r.stderr


@pytest.mark.parametrize("weighting", ["uniform", "adaptive", "adaptive-precision"])
def test_geometric_bins_run(weighting, tmp_path):
    """--bins geometric end to end on delay L = 20 with H = 100 (8 bins): finite metrics, both explained
    variances, the effective window in steps (H when nothing is cut, >= the minimum of 8 when cut)."""
    r = run("ppo_reward_horizon.py", "--env", "delay", "--env-kwargs", "delay=20", "--bins", "geometric", "--horizon",
            "100", "--head-weighting", weighting, "--num-envs", "16", "--num-steps", "32", "--total-timesteps", "2048",
            "--num-minibatches", "4", "--no-cuda", "--threads", "1", "--run-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = metrics_of(tmp_path)
    assert len(rows) == 4 and all(len(row["head_residual_std"]) == 8 for row in rows)
    for row in rows:
        assert all(np.isfinite(row[k]) for k in ("value_loss", "policy_loss", "entropy", "reward_std"))
        assert row["explained_variance"] is not None and row["explained_variance_last_head"] is not None
        assert row["effective_window"] in (8, 16, 32, 64, 100)
    if weighting == "uniform":
        assert all(row["effective_window"] == 100 and row["min_head_weight"] == 1 for row in rows)


def metrics_of(run_dir):
    with open(run_dir / "metrics.jsonl") as f:
        return [{k: v for k, v in json.loads(line).items() if k not in ("time", "sps")} for line in f]


@pytest.mark.parametrize("script", SCRIPTS)
def test_same_seed_same_metrics(script, tmp_path):
    """Two CPU runs with the same seed log identical metrics (wall-clock fields aside); another seed does not."""
    logs = []
    for name, seed in [("a", "1"), ("b", "1"), ("c", "2")]:
        r = run(script, "--env", "breakout", "--num-envs", "16", "--num-steps", "32", "--total-timesteps", "2048",
                "--num-minibatches", "4", "--no-cuda", "--threads", "1", "--seed", seed, "--run-dir", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        logs.append(metrics_of(tmp_path / name))
    assert len(logs[0]) == 4
    assert logs[0] == logs[1]
    assert logs[0] != logs[2]


@pytest.mark.parametrize("script", SCRIPTS)
def test_gymnasium_id_runs(script, tmp_path):
    """The Gymnasium path end to end: CartPole-v1 for a few iterations, finite metrics, episodes counted."""
    r = run(script, "--env", "CartPole-v1", "--num-envs", "4", "--num-steps", "64", "--total-timesteps", "1024",
            "--num-minibatches", "4", "--no-cuda", "--threads", "1", "--run-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = metrics_of(tmp_path)
    assert len(rows) == 4 and rows[-1]["episodes"] > 10
    assert all(np.isfinite(row[k]) for row in rows for k in ("value_loss", "policy_loss", "entropy"))


def test_gymnasium_episode_statistics_count_every_step():
    """Same-step autoreset: each reported episode length equals the steps counted here, every episode
    (Gymnasium before 1.4 reported every episode after the first one step short)."""
    import ppo_gae

    envs = ppo_gae.make_env("CartPole-v1", 3, 0, {"max_episode_steps": 7})
    rng = np.random.default_rng(0)
    counted, returns, checked = np.zeros(3, int), np.zeros(3), 0
    for _ in range(60):
        _, reward, term, trunc, infos = envs.step(rng.integers(0, 2, 3))
        counted += 1
        returns += reward
        for n in np.flatnonzero(term | trunc):
            assert infos["_episode"][n]
            assert infos["episode"]["l"][n] == counted[n] <= 7
            assert infos["episode"]["r"][n] == returns[n]
            counted[n], returns[n], checked = 0, 0.0, checked + 1
    assert checked > 20
