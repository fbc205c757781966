"""benchmarks/evaluate.py, the command that plays a saved model: greedy against sampled actions, the GIF it
films, and its one-line errors."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, ROOT)

import evaluate  # noqa: E402

SMALL = ["--num-envs", "4", "--num-steps", "32", "--num-minibatches", "4", "--total-timesteps", "256", "--no-cuda",
         "--threads", "1"]


def command(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def cartpole_model(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cartpole")
    r = command("ppo_gae.py", "--env", "cartpole", *SMALL, "--save-model", "--run-dir", str(run_dir))
    assert r.returncode == 0, r.stderr
    return str(run_dir / "agent.pt")


def test_greedy_ignores_the_random_stream_and_sampled_does_not(cartpole_model, monkeypatch):
    mod, args, agent, prep = evaluate.load(cartpole_model)
    monkeypatch.setattr(torch, "manual_seed", lambda seed: None)  # let the two plays draw different random numbers
    out = {}
    for greedy in (True, False):
        for k in (1, 2):
            torch.random.set_rng_state(torch.Generator().manual_seed(1000 * k).get_state())
            out[greedy, k] = evaluate.play(mod, args, agent, prep, 8, seed=3, greedy=greedy, num_envs=4)
    assert len(out[True, 1]) == 8 and out[True, 1] == out[True, 2]
    assert out[False, 1] != out[False, 2]


def test_gif_films_one_episode(cartpole_model, tmp_path):
    from PIL import Image

    gif = tmp_path / "cartpole.gif"
    r = command(os.path.join("benchmarks", "evaluate.py"), cartpole_model, "--episodes", "2", "--gif", str(gif))
    assert r.returncode == 0, r.stderr
    frames = int(r.stdout.strip().splitlines()[-1].split(": ")[1].split()[0])
    with Image.open(gif) as im:
        assert im.n_frames == frames > 1
        first = np.asarray(im.convert("RGB"))
    assert first.ndim == 3 and first.std() > 0  # a picture, not a blank frame


@pytest.mark.parametrize("args,expected", [
    (["missing.pt"], "'missing.pt' is not a file"),
    (["MODEL", "--episodes", "0"], "--episodes=0"),
    (["MODEL", "--num-envs", "0"], "--num-envs=0"),
    (["MODEL", "--episodes", "many"], "invalid int value: 'many'"),
])
def test_user_errors_are_one_line(cartpole_model, args, expected, capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.main([cartpole_model if a == "MODEL" else a for a in args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert e.value.code == 2 and len(lines) == 1 and expected in lines[0], err
