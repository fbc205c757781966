"""Each script, run briefly on Breakout with its defaults, must clearly beat the uniformly random policy."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastenvs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def random_policy_score(env, episodes, seed=0):
    envs = fastenvs.make(env, num_envs=256, seed=seed)
    envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    scores = []
    while len(scores) < episodes:
        _, _, _, _, infos = envs.step(rng.integers(0, envs.single_action_space.n, envs.num_envs))
        if "_episode" in infos:
            scores.extend(infos["episode"]["score"][infos["_episode"]].tolist())
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def breakout_random_score():
    return random_policy_score("breakout", 1000)


@pytest.mark.parametrize("script", ["ppo_gae.py", "ppo_reward_horizon.py", "ppo_avg_reward.py"])
def test_short_run_beats_random_on_breakout(script, tmp_path, breakout_random_score):
    r = subprocess.run([sys.executable, os.path.join(ROOT, script), "--env", "breakout", "--total-timesteps",
                        "327680", "--no-cuda", "--run-dir", str(tmp_path)], capture_output=True, text=True,
                       timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(tmp_path / "metrics.jsonl") as f:
        last = [json.loads(line) for line in f][-1]
    assert last["global_step"] == 327680
    # the mean of the last 100 episodes, against the random policy's ~0.9 points per episode
    assert last["episode_score"] > max(2.5, 3 * breakout_random_score), (last, breakout_random_score)
