"""What the scripts log of each iteration's episodes, and three input cases they once got wrong: flat integer
observations under --norm-obs auto, the channel axis of images, and the reward clip of unscaled continuous
rewards. Each script's own main() runs in this process (tests/script_probe.py)."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from script_probe import SCRIPTS, probe

T, N = 16, 8
TINY = ["--num-envs", str(N), "--num-steps", str(T), "--num-minibatches", "2", "--update-epochs", "1"]


class ByteObs(gym.Env):
    """Flat uint8 observations (a byte counter per slot) and a 2-D Box action; 10-step episodes."""
    observation_space = gym.spaces.Box(0, 255, (6,), np.uint8)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, 6, dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        return self.np_random.integers(0, 256, 6, dtype=np.uint8), float(action[0]), False, self.t >= 10, {}


gym.register("ByteObsTest-v0", entry_point=ByteObs)


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_iteration_logs_the_episodes_that_ended_in_it(script, monkeypatch, tmp_path):
    rec = probe(script, monkeypatch, tmp_path, "--env", "cartpole", *TINY, "--total-timesteps", str(4 * T * N))
    running, ended = np.zeros(N), []
    for step in rec.steps:  # CartPole's score is its return: one point a step, the last one included
        running += step.reward
        done = step.term | step.trunc
        ended.append(running[done].tolist())
        running[done] = 0.0
    previous = 0
    for k, row in enumerate(rec.metrics):
        mine = [x for step in ended[k * T:(k + 1) * T] for x in step]
        assert row["ended_episodes"] == len(mine) == row["episodes"] - previous
        assert row["num_envs"] == N
        if mine:
            assert row["ended_score"] == pytest.approx(np.mean(mine)) and row["ended_return"] == pytest.approx(np.mean(mine))
        else:
            assert row["ended_score"] is None
        previous = row["episodes"]
    assert sum(r["ended_episodes"] for r in rec.metrics) > 0


@pytest.mark.parametrize("script", SCRIPTS)
def test_norm_obs_auto_leaves_integer_observations_alone(script, monkeypatch, tmp_path):
    mod = __import__(script)
    shapes = []

    class RunningMeanStd(mod.RunningMeanStd):
        def __init__(self, shape=()):
            super().__init__(shape)
            shapes.append(tuple(shape))

    monkeypatch.setattr(mod, "RunningMeanStd", RunningMeanStd)
    rec = probe(script, monkeypatch, tmp_path, "--env", "ByteObsTest-v0", *TINY, "--total-timesteps", str(T * N))
    assert shapes == [()]  # the rewards' (continuous actions: --reward-scale auto), none for the observations
    stored = rec.rollout_obs(0, T)
    assert stored.max() > 200 and (stored == stored.astype(np.uint8)).all()  # the bytes as the env gave them


@pytest.mark.parametrize("script", SCRIPTS)
def test_unscaled_continuous_rewards_are_not_clipped_unless_asked(script, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    injected = rng.normal(0.0, 30.0, size=(T, N))  # Pendulum's rewards reach -16, MountainCar's +100
    for flags, clip in ((["--reward-scale", "none"], None), (["--reward-scale", "none", "--reward-clip", "10"], 10.0)):
        rec = probe(script, monkeypatch, tmp_path, "--env", "Pendulum-v1", *TINY, "--total-timesteps", str(T * N),
                    *flags, rewards=lambda t, r: injected[t].astype(r.dtype))
        want = injected if clip is None else np.clip(injected, -clip, clip)
        np.testing.assert_allclose(rec.kernel(0)["rewards"], want.astype(np.float32), rtol=1e-6)
        assert (np.abs(injected) > 10).any()


LAYOUTS = [((10, 10, 4), True, 4), ((84, 84, 3), True, 3), ((4, 84, 84), False, 4), ((3, 3, 4), True, 4),
           ((7, 7, 20), True, 20), ((12, 8, 8), False, 12), ((210, 160, 3), True, 3), ((3, 210, 160), False, 3)]


@pytest.mark.parametrize("shape,channels_last,channels", LAYOUTS)
@pytest.mark.parametrize("script", SCRIPTS)
def test_image_layout_is_read_right(script, shape, channels_last, channels):
    mod = __import__(script)
    agent = mod.Agent(gym.spaces.Box(0, 255, shape, np.uint8), gym.spaces.Discrete(3), mod.Args())
    first_conv = next(m for m in agent.trunk.modules() if isinstance(m, torch.nn.Conv2d))
    assert agent.channels_last == channels_last and first_conv.in_channels == channels
    assert agent.get_value(torch.zeros((2, *shape), dtype=torch.uint8)).shape[0] == 2


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_ambiguous_image_layout_is_one_line_naming_the_flag(script, capsys):
    mod = __import__(script)
    space = gym.spaces.Box(0, 255, (3, 3, 3), np.uint8)
    with pytest.raises(SystemExit) as e:
        mod.Agent(space, gym.spaces.Discrete(3), mod.Args())
    lines = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(lines) == 1 and "(3, 3, 3)" in lines[0] and "--image-layout" in lines[0]
    for layout, last in (("hwc", True), ("chw", False)):  # stated, it is taken as stated, even against the guess
        assert mod.Agent(space, gym.spaces.Discrete(3), mod.Args(image_layout=layout)).channels_last == last
    assert mod.Agent(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), gym.spaces.Discrete(3),
                     mod.Args(image_layout="hwc")).channels_last
