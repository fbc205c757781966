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
ONE_EPISODE = ["--episodes", "1", "--num-envs", "1"]


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


def train(tmp_path_factory, env):
    run_dir = tmp_path_factory.mktemp(env.replace("/", "_"))
    r = command("ppo_gae.py", "--env", env, *SMALL, "--save-model", "--run-dir", str(run_dir))
    assert r.returncode == 0, r.stderr
    return str(run_dir / "agent.pt")


def render_size(env):
    """(width, height) of the env's rgb_array render: MinAtar draws one pixel a cell, MuJoCo's camera 480 x 480."""
    if env.startswith("MinAtar/"):
        import minatar

        h, w = minatar.Environment(env.split("/")[1].split("-")[0].lower()).state_shape()[:2]
        return w, h
    from gymnasium.envs.mujoco.mujoco_env import DEFAULT_SIZE

    return DEFAULT_SIZE, DEFAULT_SIZE


@pytest.mark.parametrize("env,family", [("MinAtar/Breakout-v1", "minatar"), ("Hopper-v5", "mujoco")])
def test_gif_films_gymnasium_envs_from_their_rgb_array_render(env, family, tmp_path_factory, tmp_path):
    from PIL import Image

    pytest.importorskip(family)
    model = train(tmp_path_factory, env)
    gif = tmp_path / "episode.gif"
    r = command(os.path.join("benchmarks", "evaluate.py"), model, *ONE_EPISODE, "--gif", str(gif))
    assert r.returncode == 0, r.stderr
    frames = int(r.stdout.strip().splitlines()[-1].split(": ")[1].split()[0])
    with Image.open(gif) as im:
        assert im.format == "GIF" and 1 < im.n_frames <= frames  # Pillow merges identical consecutive frames
        assert im.size == render_size(env)
        first = np.asarray(im.convert("RGB"))
    assert first.std() > 0


class Rendering:
    """A stand-in vector env whose render() returns `out` (or raises it)."""

    def __init__(self, out):
        self.out = out

    def render(self):
        if isinstance(self.out, Exception):
            raise self.out
        return self.out


def test_frame_takes_env_0_of_any_vector_envs_render():
    one = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    for out in (one, (one, one + 1), [one, one + 1], np.stack([one, one + 1])):  # fastenvs, Gymnasium, procgen
        assert np.array_equal(evaluate.frame(Rendering(out), "x"), one)
    assert np.array_equal(evaluate.frame(Rendering((np.ones((2, 3, 3)) * 0.5,)), "x"), np.full((2, 3, 3), 128))


@pytest.mark.parametrize("out,expected", [
    (None, "its render() returns no frame"), ((None,), "its render() returns no frame"),
    (NotImplementedError("no render()"), "its render() failed: NotImplementedError: no render()"),
])
def test_frame_of_an_env_that_cannot_render_is_a_one_line_error(out, expected, capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.frame(Rendering(out), "SomeEnv-v0")
    lines = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and lines == [f"error: --gif cannot film --env SomeEnv-v0: {expected}"]


def test_gif_of_an_env_without_render_is_a_one_line_error(tmp_path_factory, tmp_path):
    model = train(tmp_path_factory, "bandit")  # a fastenvs env with no render()
    gif = tmp_path / "bandit.gif"
    r = command(os.path.join("benchmarks", "evaluate.py"), model, *ONE_EPISODE, "--gif", str(gif))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0] == ("error: --gif cannot film --env bandit: its render() failed: "
                        "NotImplementedError: Bandit has no render()")
    assert not gif.exists()


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
