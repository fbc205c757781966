"""User mistakes on the command line: one clear line, exit code 2, no traceback. And a seed reproduces a run."""

import json
import os
import subprocess
import sys

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
]
BAD_VARIANT = {
    "ppo_gae.py": [(["--gamma", "1.5"], "--gamma=1.5", "[0, 1]"), (["--gae-lambda", "-0.1"], "--gae-lambda=-0.1", "[0, 1]")],
    "ppo_reward_horizon.py": [(["--horizon", "0"], "--horizon=0", ">= 1")],
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


def test_bad_choice_is_rejected_by_the_parser():
    r = run("ppo_reward_horizon.py", "--head-weighting", "cosine")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cosine" in r.stderr


def test_same_seed_same_metrics(tmp_path):
    """Two CPU runs with the same seed log identical metrics (wall-clock fields aside)."""
    logs = []
    for name in ["a", "b"]:
        r = run("ppo_gae.py", "--env", "breakout", "--num-envs", "16", "--num-steps", "32", "--total-timesteps",
                "2048", "--num-minibatches", "4", "--no-cuda", "--run-dir", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        with open(tmp_path / name / "metrics.jsonl") as f:
            rows = [json.loads(line) for line in f]
        logs.append([{k: v for k, v in row.items() if k not in ("time", "sps")} for row in rows])
    assert len(logs[0]) == 4
    assert logs[0] == logs[1]
