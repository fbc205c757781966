"""CPU envs, GPU learner: each script runs two iterations with its learner on CUDA (skipped without CUDA)."""

import json
import os
import subprocess
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["ppo_gae.py", "ppo_reward_horizon.py", "ppo_avg_reward.py"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("script", SCRIPTS)
def test_two_iterations_on_cuda(script, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, script), "--env", "cartpole", "--env-kwargs", "max_steps=20",
                        "--num-envs", "64", "--num-steps", "32", "--total-timesteps", "4096", "--cuda",
                        "--run-dir", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(tmp_path / "metrics.jsonl") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 2 and rows[-1]["episodes"] > 0
    assert all(isinstance(rows[-1][k], float) for k in ("value_loss", "policy_loss", "clipfrac"))
