"""Tests of the five small envs (bandit, squared, delay, chain, target): shapes, options, scores,
rules fuzzed over a million random steps each, and scripted optimal policies."""

import numpy as np
import pytest
from gymnasium import spaces

import fastenvs
from fastenvs.bandit import Bandit
from fastenvs.chain import Chain
from fastenvs.delay import Delay
from fastenvs.squared import Squared
from fastenvs.target import Target

# name -> (class, obs size, single action space) with default options
SPECS = {"bandit": (Bandit, 4, spaces.Discrete(4)), "squared": (Squared, 5, spaces.Discrete(5)),
         "delay": (Delay, 5, spaces.Discrete(2)), "chain": (Chain, 9, spaces.Discrete(2)),
         "target": (Target, 1, spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32))}
FUZZ_ENVS, FUZZ_STEPS = 1024, 1000  # >= 1M random steps per env


def random_actions(rng, env):
    """Uniform actions of the env's space: integers, or float32 rows (num_envs, dim) for a Box."""
    space = env.single_action_space
    if isinstance(space, spaces.Box):
        return rng.uniform(space.low, space.high, size=(env.num_envs, *space.shape)).astype(np.float32)
    return rng.integers(0, space.n, size=env.num_envs)


# --- API (the generic contract is in test_fastenvs_api.py) -----------------------------------------
@pytest.mark.parametrize("name", sorted(SPECS))
def test_default_shapes(name):
    cls, d, space = SPECS[name]
    env = fastenvs.make(name, 8, seed=3)
    assert isinstance(env, cls)
    assert env.single_observation_space.shape == (d,) and env.single_action_space == space


@pytest.mark.parametrize("cls, kwargs, match", [
    (Bandit, {"arms": 0}, "arms=0 is not allowed: use an integer >= 2"),
    (Bandit, {"arms": 2.0}, "arms=2.0"),
    (Bandit, {"noise": -0.1}, "noise=-0.1 is not allowed"),
    (Bandit, {"noise": float("nan")}, "noise=nan"),
    (Squared, {"size": 1}, "size=1 is not allowed: use an integer >= 2"),
    (Squared, {"time_limit": 9}, "time_limit=9 is not allowed: use an integer >= 10"),
    (Squared, {"size": 4, "time_limit": 3}, "time_limit=3 is not allowed: use an integer >= 4"),
    (Delay, {"delay": 0}, "delay=0 is not allowed: use an integer >= 1"),
    (Chain, {"length": 2}, "length=2 is not allowed: use an integer >= 3"),
    (Chain, {"small_reward": 1.0}, r"small_reward=1.0 is not allowed: use a number in \[0, 1\)"),
    (Chain, {"max_steps": -1}, "max_steps=-1 is not allowed"),
    (Delay, {"seed": 1.5}, "seed=1.5"),
    (Target, {"dim": 0}, "dim=0 is not allowed: use an integer >= 1"),
    (Target, {"dim": 1.0}, "dim=1.0"),
    (Target, {"max_steps": -2}, "max_steps=-2 is not allowed"),
])
def test_bad_options_raise_one_clear_line(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as err:
        cls(4, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name, kwargs", [("bandit", {}), ("bandit", {"noise": 0.5}), ("squared", {}),
                                          ("delay", {"delay": 9}), ("chain", {"length": 6}), ("target", {}),
                                          ("target", {"dim": 3})])
def test_episode_score(name, kwargs):
    """The score is the return, except under bandit noise where it is the noiseless hit (0 or 1)."""
    env = SPECS[name][0](64, seed=2, **kwargs)
    rng = np.random.default_rng(2)
    env.reset()
    ended = 0
    for _ in range(300):
        *_, infos = env.step(random_actions(rng, env))
        if infos:
            done, ep = infos["_env_episode"], infos["env_episode"]
            if name == "bandit" and kwargs:
                assert set(np.unique(ep["score"][done])) <= {0.0, 1.0}
            else:
                np.testing.assert_array_equal(ep["score"][done], ep["r"][done])
            ended += done.sum()
    assert ended > 64


# --- bandit --------------------------------------------------------------------------------------
def test_bandit_fuzz():
    env = Bandit(FUZZ_ENVS, seed=0, arms=5, copy=False)
    rng = np.random.default_rng(0)
    obs, _ = env.reset()
    counts, hits = np.zeros(5), 0
    for _ in range(FUZZ_STEPS):
        assert (obs.sum(1) == 1).all() and ((obs == 0) | (obs == 1)).all()
        shown = obs.argmax(1)
        counts += np.bincount(shown, minlength=5)
        a = random_actions(rng, env)
        obs, rew, term, trunc, infos = env.step(a)
        np.testing.assert_array_equal(rew, (a == shown).astype(np.float32))
        assert term.all() and not trunc.any()
        np.testing.assert_array_equal(infos["final_obs"].argmax(1), shown)
        np.testing.assert_array_equal(infos["env_episode"]["l"], 1)
        hits += rew.sum()
    total = FUZZ_ENVS * FUZZ_STEPS
    assert np.abs(counts / total - 0.2).max() < 0.003 and abs(hits / total - 0.2) < 0.003


def test_bandit_noise_and_optimal_policy():
    env = Bandit(1024, seed=4, noise=0.5)
    obs, _ = env.reset()
    extra = []
    for _ in range(200):
        obs, rew, term, trunc, infos = env.step(obs.argmax(1))
        np.testing.assert_array_equal(infos["env_episode"]["score"], 1.0)
        extra.append(rew - 1.0)
    extra = np.concatenate(extra)
    assert abs(extra.mean()) < 0.01 and abs(extra.std() - 0.5) < 0.01
    env = Bandit(256, seed=4)
    obs, _ = env.reset()
    for _ in range(100):
        obs, rew, *_ = env.step(obs.argmax(1))
        np.testing.assert_array_equal(rew, 1.0)


# --- target --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 3])
def test_target_fuzz(dim):
    """Targets uniform on [-1, 1) per entry, reward -mean((clip(a) - x)^2), every episode one step; the
    random policy averages -2/3. Actions are drawn from [-1.5, 1.5] so that a share is clipped."""
    env = Target(FUZZ_ENVS, seed=5, dim=dim, copy=False)
    rng = np.random.default_rng(5)
    obs, _ = env.reset()
    xs, random_rewards = [], 0.0
    for _ in range(FUZZ_STEPS // dim):
        x = obs.copy()
        assert ((x >= -1.0) & (x < 1.0)).all()
        xs.append(x[::5].ravel())
        a = rng.uniform(-1.5, 1.5, size=(FUZZ_ENVS, dim)).astype(np.float32)
        obs, rew, term, trunc, infos = env.step(a)
        want = -((np.clip(a, -1.0, 1.0).astype(np.float64) - x) ** 2).mean(1)
        np.testing.assert_allclose(rew, want, rtol=1e-6, atol=1e-6)
        assert term.all() and not trunc.any()
        np.testing.assert_array_equal(infos["final_obs"], x)
        np.testing.assert_array_equal(infos["env_episode"]["l"], 1)
        np.testing.assert_array_equal(infos["env_episode"]["score"], rew)
        u = rng.uniform(-1.0, 1.0, size=(FUZZ_ENVS, dim)).astype(np.float32)  # the random policy's score
        random_rewards += -((u - obs) ** 2).mean()
    xs = np.concatenate(xs)
    hist = np.histogram(xs, bins=8, range=(-1.0, 1.0))[0] / len(xs)
    assert np.abs(hist - 1 / 8).max() < 0.005 and abs(xs.mean()) < 0.01
    assert abs(random_rewards / (FUZZ_STEPS // dim) + 2 / 3) < 0.01


def test_target_optimal_policy_scores_zero():
    env = Target(256, seed=6, dim=2)
    obs, _ = env.reset()
    for _ in range(100):
        obs, rew, term, trunc, infos = env.step(obs.copy())  # a copy: step overwrites obs in place
        np.testing.assert_array_equal(rew, 0.0)
        np.testing.assert_array_equal(infos["env_episode"]["score"], 0.0)
    obs, rew, *_ = env.step(np.where(obs > 0, -1.0, 1.0).astype(np.float32))  # the far bound: worst case
    assert ((rew <= -1.0) & (rew >= -4.0)).all()  # |a - x| = 1 + |x| in every dimension


# --- squared -------------------------------------------------------------------------------------
def cells(o, size):
    """Decode the (x, y) columns of obs back into integer cells."""
    return np.rint((o + 1.0) * (size - 1) / 2).astype(np.int64)


def is_start(o, size, time_limit):
    c = size // 2
    xy, txy = cells(o[:, 0:2], size), cells(o[:, 2:4], size)
    return ((xy == c).all(1) & ~(txy == c).all(1) & (txy >= 0).all(1) & (txy < size).all(1)
            & (o[:, 4] == 1.0))


@pytest.mark.parametrize("size, time_limit", [(11, None), (4, 5)])
def test_squared_fuzz(size, time_limit):
    env = Squared(FUZZ_ENVS, seed=1, size=size, time_limit=time_limit, copy=False)
    tl = env.time_limit
    dx, dy = np.array([0, 0, 0, -1, 1]), np.array([0, -1, 1, 0, 0])
    rng = np.random.default_rng(1)
    obs, _ = env.reset()
    assert is_start(obs, size, tl).all()
    steps = np.zeros(FUZZ_ENVS, dtype=np.int64)
    seen_targets, lengths = set(), []
    outcomes = {-1.0: 0, 1.0: 0}
    for _ in range(FUZZ_STEPS):
        xy, txy = cells(obs[:, 0:2], size), cells(obs[:, 2:4], size)
        assert ((xy >= 0) & (xy < size)).all()
        seen_targets.update(map(tuple, txy[::37]))
        a = random_actions(rng, env)
        new = xy + np.stack([dx[a], dy[a]], 1)
        steps += 1
        off = ((new < 0) | (new >= size)).any(1)
        on = ~off & (new == txy).all(1)
        late = ~off & ~on & (steps >= tl)
        want = np.where(on, 1.0, np.where(off | late, -1.0, 0.0))
        obs, rew, term, trunc, infos = env.step(a)
        np.testing.assert_array_equal(rew, want)
        np.testing.assert_array_equal(term, want != 0)
        assert not trunc.any() and (steps <= tl).all()
        cont = ~term
        np.testing.assert_array_equal(cells(obs[cont, 0:2], size), new[cont])
        np.testing.assert_array_equal(cells(obs[cont, 2:4], size), txy[cont])
        np.testing.assert_allclose(obs[cont, 4], (tl - steps[cont]) / tl, rtol=1e-6)
        if term.any():
            fin = infos["final_obs"][term]
            np.testing.assert_array_equal(cells(fin[:, 0:2], size), new[term])
            np.testing.assert_array_equal(cells(fin[:, 2:4], size), txy[term])
            assert all(env.single_observation_space.contains(f) for f in fin[:50])
            assert is_start(obs[term], size, tl).all()
            np.testing.assert_array_equal(infos["env_episode"]["l"][term], steps[term])
            lengths.append(steps[term])
            for v in (-1.0, 1.0):
                outcomes[v] += int((rew[term] == v).sum())
            steps[term] = 0
    assert len(seen_targets) == size * size - 1  # every cell but the centre is drawn as a target
    assert outcomes[1.0] > 1000 and outcomes[-1.0] > 1000
    assert np.concatenate(lengths).max() == tl


def test_squared_optimal_policy_always_wins():
    size = 11
    env = Squared(512, seed=3)
    obs, _ = env.reset()
    wins = 0
    for _ in range(400):
        xy, txy = cells(obs[:, 0:2], size), cells(obs[:, 2:4], size)
        a = np.where(xy[:, 0] < txy[:, 0], 4, np.where(xy[:, 0] > txy[:, 0], 3,
                                                      np.where(xy[:, 1] < txy[:, 1], 2, 1)))
        dist = np.abs(xy - txy).sum(1)
        obs, rew, term, trunc, infos = env.step(a)
        assert (rew >= 0).all()
        np.testing.assert_array_equal(term, rew == 1.0)
        if term.any():
            np.testing.assert_array_equal(infos["env_episode"]["score"][term], 1.0)
            assert (infos["env_episode"]["l"][term] <= 10).all()
        wins += int(term.sum())
        assert (dist[term] == 1).all()
    assert wins > 512 * 400 / 10


def test_squared_render():
    env = Squared(2, seed=0, size=5)
    env.reset()
    img = env.render()
    c = img.shape[0] // 5
    assert img.dtype == np.uint8 and img.shape == (5 * c, 5 * c, 3) and img.shape[0] >= 64
    mid = 2 * c + c // 2
    assert tuple(img[mid, mid]) == (60, 120, 240)  # the agent at the centre
    ty, tx = int(env.ty[0]), int(env.tx[0])
    assert tuple(img[ty * c + c // 2, tx * c + c // 2]) == (40, 200, 80)


# --- delay ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [1, 7, 50])
def test_delay_fuzz(delay):
    env = Delay(FUZZ_ENVS, seed=2, delay=delay, copy=False)
    rng = np.random.default_rng(2)
    obs, _ = env.reset()
    steps = np.zeros(FUZZ_ENVS, dtype=np.int64)
    first = np.full(FUZZ_ENVS, -1)
    pays, episodes, targets = 0, 0, 0
    for _ in range(FUZZ_STEPS):
        target = (obs[:, 0] > 0).astype(np.int64)
        assert set(np.unique(obs[:, 0])) <= {-1.0, 1.0}
        np.testing.assert_array_equal(obs[:, 3], steps == 0)
        np.testing.assert_array_equal(obs[:, 1], first == 0)
        np.testing.assert_array_equal(obs[:, 2], first == 1)
        np.testing.assert_allclose(obs[:, 4], (delay - steps) / delay, rtol=1e-6)
        a = random_actions(rng, env)
        first = np.where(steps == 0, a, first)
        steps += 1
        obs, rew, term, trunc, infos = env.step(a)
        np.testing.assert_array_equal(term, steps == delay)
        np.testing.assert_array_equal(rew, (term & (first == target)).astype(np.float32))
        assert not trunc.any()
        if term.any():
            fin = infos["final_obs"][term]
            np.testing.assert_array_equal(fin[:, 0], 2.0 * target[term] - 1)
            np.testing.assert_array_equal(fin[np.arange(len(fin)), 1 + first[term]], 1.0)
            np.testing.assert_array_equal(fin[:, 4], 0.0)
            np.testing.assert_array_equal(infos["env_episode"]["l"][term], delay)
            pays += int(rew.sum())
            episodes += int(term.sum())
            targets += int(target[term].sum())
            steps[term], first[term] = 0, -1
    assert abs(pays / episodes - 0.5) < 0.02 and abs(targets / episodes - 0.5) < 0.02


def test_delay_optimal_policy_always_paid():
    env = Delay(256, seed=7, delay=12)
    obs, _ = env.reset()
    for t in range(120):
        # the first action follows the target bit; later ones are the opposite, to show they are ignored
        a = np.where(obs[:, 3] == 1.0, obs[:, 0] > 0, obs[:, 0] < 0).astype(np.int64)
        obs, rew, term, trunc, infos = env.step(a)
        assert term.all() == ((t + 1) % 12 == 0)
        np.testing.assert_array_equal(rew, term.astype(np.float32))


# --- chain ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [8, 64])
def test_chain_fuzz(length):
    env = Chain(FUZZ_ENVS, seed=0, length=length, copy=False)
    limit = length + 9
    assert env.max_steps == limit
    rng = np.random.default_rng(3)
    obs, _ = env.reset()
    pos = np.ones(FUZZ_ENVS, dtype=np.int64)
    steps = np.zeros(FUZZ_ENVS, dtype=np.int64)
    ends = {"left": 0, "right": 0, "trunc": 0}
    bins = np.arange(8)
    for _ in range(FUZZ_STEPS):
        assert ((pos >= 1) & (pos <= length - 2)).all()
        np.testing.assert_allclose(obs[:, 0], pos / (length - 1), rtol=1e-6)
        np.testing.assert_array_equal(obs[:, 1:], (pos[:, None] * 8 // length == bins).astype(np.float32))
        a = random_actions(rng, env)
        pos += np.where(a == 1, 1, -1)
        steps += 1
        obs, rew, term, trunc, infos = env.step(a)
        left, right = pos == 0, pos == length - 1
        np.testing.assert_array_equal(term, left | right)
        np.testing.assert_array_equal(trunc, ~term & (steps == limit))
        np.testing.assert_array_equal(rew, np.where(right, 1.0, np.where(left, np.float32(0.01), 0.0)))
        done = term | trunc
        if done.any():
            np.testing.assert_allclose(infos["final_obs"][done, 0], pos[done] / (length - 1), rtol=1e-6)
            np.testing.assert_array_equal(infos["env_episode"]["l"][done], steps[done])
            assert (steps[done] <= limit).all()
            ends["left"] += int(left.sum())
            ends["right"] += int(right.sum())
            ends["trunc"] += int(trunc.sum())
            pos[done], steps[done] = 1, 0
    assert ends["left"] > 0 and ends["trunc"] > 0
    if length == 8:
        assert ends["right"] > 0


@pytest.mark.parametrize("length", [3, 64, 500])
def test_chain_always_right_reaches_the_far_end(length):
    env = Chain(32, length=length, small_reward=0.25)
    env.reset()
    for k in range(3 * (length - 2)):
        obs, rew, term, trunc, infos = env.step(np.ones(32, dtype=np.int64))
        at_end = (k + 1) % (length - 2) == 0
        assert term.all() == at_end and not trunc.any()
        np.testing.assert_array_equal(rew, 1.0 if at_end else 0.0)
        if at_end:
            np.testing.assert_array_equal(infos["env_episode"]["score"], 1.0)
            np.testing.assert_array_equal(infos["final_obs"][:, 0], 1.0)
    obs, rew, term, *_ = env.step(np.zeros(32, dtype=np.int64))  # one step left from the start
    assert term.all()
    np.testing.assert_array_equal(rew, 0.25)


def test_chain_max_steps_option():
    env = Chain(4, length=10, max_steps=0)
    env.reset()
    for _ in range(100):  # right, left, right, ... never ends without a limit
        _, _, term, trunc, _ = env.step(np.full(4, 1))
        _, _, term2, trunc2, _ = env.step(np.full(4, 0))
        assert not (term | trunc | term2 | trunc2).any()


def test_chain_render():
    env = Chain(1, length=16)
    env.reset()
    img = env.render()
    w = img.shape[1] // 16
    assert img.dtype == np.uint8 and img.shape == (64, 16 * w, 3) and img.shape[1] >= 64
    assert tuple(img[32, w + w // 2]) == (60, 120, 240)  # the agent in state 1
    assert tuple(img[32, 15 * w + w // 2]) == (240, 200, 40)
