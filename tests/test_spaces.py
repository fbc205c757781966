"""The spaces papers use: Box actions, image observations, the optional families, saved models.

Small runs of all three scripts on a continuous-action env (Pendulum-v1, no extra needed) and on
image observations (MinAtar's 10 x 10 grids, ALE's 84 x 84 frames; both are in the dev extra), each
asserting that metrics are written and finite; a saved model evaluated from disk plays exactly as
the live agent did; unsupported spaces and missing extras fail with one line.
"""

import importlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
SCRIPTS = ["ppo_gae.py", "ppo_reward_horizon.py", "ppo_avg_reward.py"]
SMALL = ["--num-envs", "4", "--num-steps", "32", "--num-minibatches", "4", "--total-timesteps", "256", "--no-cuda",
         "--threads", "1"]


def run(script, *args, env=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)


def finite_metrics(run_dir, iterations):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == iterations
    for row in rows:
        for k in ("value_loss", "policy_loss", "entropy", "approx_kl", "clipfrac"):
            assert math.isfinite(row[k]), (k, row)
    return rows


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("env", ["Pendulum-v1", "MinAtar/Breakout-v1"])
def test_small_run_writes_finite_metrics(script, env, tmp_path):
    r = run(script, "--env", env, *SMALL, "--run-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    finite_metrics(tmp_path, 2)


def test_atari_frames_through_the_conv_encoder(tmp_path):
    r = run("ppo_gae.py", "--env", "ALE/Breakout-v5", *SMALL, "--run-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    finite_metrics(tmp_path, 2)


def test_async_vector_mode(tmp_path):
    r = run("ppo_gae.py", "--env", "CartPole-v1", "--vector-mode", "async", *SMALL, "--run-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    finite_metrics(tmp_path, 2)


def test_agent_shapes_and_gaussian_policy():
    import gymnasium as gym
    import torch

    import ppo_gae

    args = ppo_gae.Args()
    for shape, dtype, trunk_convs in [((10, 10, 4), np.bool_, 1), ((4, 84, 84), np.uint8, 3), ((84, 84, 3), np.uint8, 3)]:
        agent = ppo_gae.Agent(gym.spaces.Box(0, 1, shape, dtype), gym.spaces.Discrete(5), args)
        convs = [m for m in agent.modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == trunk_convs and convs[0].in_channels == min(shape[0], shape[-1])
        x = torch.zeros((7, *shape), dtype=torch.uint8)
        action, logprob, entropy, value = agent.get_action_and_value(x)
        assert action.shape == logprob.shape == entropy.shape == (7,) and value.shape == (7, 1)
    box = gym.spaces.Box(-2.0, 2.0, (3,), np.float32)
    agent = ppo_gae.Agent(gym.spaces.Box(-np.inf, np.inf, (5,), np.float32), box, args)
    x = torch.randn(1000, 5)
    action, logprob, entropy, _ = agent.get_action_and_value(x)
    assert action.shape == (1000, 3) and logprob.shape == (1000,)
    # std 1 at the start (log-std 0): the log-prob of the unclipped sample is the sum over dimensions
    mean = agent.get_action_and_value(x, greedy=True)[0]
    expected = (-0.5 * (action - mean) ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    torch.testing.assert_close(logprob, expected)
    torch.testing.assert_close(entropy, torch.full((1000,), 3 * (0.5 + 0.5 * math.log(2 * math.pi))))


def test_running_mean_std_matches_numpy():
    import ppo_gae

    rng = np.random.default_rng(0)
    rms, seen = ppo_gae.RunningMeanStd((3,)), []
    for _ in range(20):
        x = rng.normal(5.0, 3.0, size=(rng.integers(1, 50), 3))
        rms.update(x)
        seen.append(x)
    allx = np.concatenate(seen)
    np.testing.assert_allclose(rms.mean, allx.mean(0), rtol=1e-6)
    np.testing.assert_allclose(rms.var, allx.var(0), rtol=1e-4)


def test_saved_model_plays_as_the_live_agent(monkeypatch, tmp_path):
    """Train briefly on Pendulum-v1 (observation normalisation on by default there), save; the model
    loaded from disk with its saved statistics scores exactly what the live agent scores."""
    import evaluate

    mod = importlib.import_module("ppo_gae")
    live = {}

    class Agent(mod.Agent):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            live["agent"] = self

    class RunningMeanStd(mod.RunningMeanStd):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            live.setdefault("rms", self)  # the first one made is the observations'

    monkeypatch.setattr(mod, "Agent", Agent)
    monkeypatch.setattr(mod, "RunningMeanStd", RunningMeanStd)
    monkeypatch.setattr(sys, "argv", ["ppo_gae.py", "--env", "Pendulum-v1", *SMALL, "--total-timesteps", "512",
                                      "--save-model", "--run-dir", str(tmp_path)])
    mod.main()
    assert live["rms"].count > 100  # updated during the rollouts
    live_args = mod.Args(env="Pendulum-v1")
    loaded_mod, args, agent, prep = evaluate.load(str(tmp_path / "agent.pt"))
    assert args.env == "Pendulum-v1" and loaded_mod is mod
    for greedy in (False, True):
        want = evaluate.play(mod, live_args, live["agent"], live["rms"].normalize, 4, seed=7, greedy=greedy, num_envs=2)
        got = evaluate.play(mod, args, agent, prep, 4, seed=7, greedy=greedy, num_envs=2)
        assert len(got) == 4 and got == want


def test_evaluate_command_prints_both_scores(tmp_path):
    r = run("ppo_gae.py", "--env", "cartpole", *SMALL, "--save-model", "--run-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "evaluate.py"), str(tmp_path / "agent.pt"),
                        "--episodes", "6"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "sampled: score" in r.stdout and "greedy : score" in r.stdout


@pytest.mark.parametrize("env", ["Blackjack-v1", "FrozenLake-v1"])
def test_unsupported_space_is_one_line(env):
    r = run("ppo_gae.py", "--env", env, *SMALL)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "supported are Box observations" in lines[0] and env in lines[0]


@pytest.mark.parametrize("env, module, extra", [("MinAtar/Breakout-v1", "minatar", "minatar"),
                                                ("ALE/Breakout-v5", "ale_py", "atari"),
                                                ("Hopper-v5", "mujoco", "mujoco")])
def test_missing_extra_names_the_pip_command(env, module, extra, tmp_path):
    """A package that cannot be imported (a stub that raises ImportError comes first on the path)."""
    (tmp_path / module).mkdir()
    (tmp_path / module / "__init__.py").write_text("raise ImportError('not installed')\n")
    r = run("ppo_gae.py", "--env", env, *SMALL, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and f"pip install -e '.[{extra}]'" in lines[0], r.stderr


def test_norm_obs_on_images_is_one_line():
    r = run("ppo_avg_reward.py", "--env", "MinAtar/Breakout-v1", "--norm-obs", "on", *SMALL)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "--norm-obs on" in lines[0] and "bool observations (10, 10, 4)" in lines[0], r.stderr
