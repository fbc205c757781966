"""The vector-env contract, checked on every registered env through `fastenvs.make`: spaces and
dtypes, same-step autoreset with `final_obs`, episode statistics, seeding, independence from N, and
what a step hands out: the env's own buffers, allocating nothing, by default; fresh arrays with
copy=True."""

import tracemalloc

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

import fastenvs

# Options that make episodes end within a few hundred random steps, so autoreset is exercised.
SHORT = {"breakout": {"max_steps": 60}, "pong": {"win_score": 1, "max_steps": 80}, "noop": {"max_steps": 7},
         "delay": {"delay": 9}, "chain": {"length": 6}}
NAMES = fastenvs.names()


def make(name, n, seed, **kwargs):
    return fastenvs.make(name, n, seed=seed, **{**SHORT.get(name, {}), **kwargs})


def rollout(env, actions_list, seed):
    """Stack obs, rewards, flags and final obs (zeros where no episode ended) over the steps.

    The arrays a step returns are the env's buffers, overwritten by the next step, so the ones kept
    past it are copied."""
    obs, _ = env.reset(seed=seed)
    out = {"obs": [obs.copy()], "rew": [], "term": [], "trunc": [], "final": []}
    for a in actions_list:
        obs, rew, term, trunc, infos = env.step(a)
        for k, v in zip(["obs", "rew", "term", "trunc"], [obs, rew, term, trunc]):
            out[k].append(v.copy())
        out["final"].append(np.where(infos["_final_obs"][:, None], infos["final_obs"], 0) if infos else 0 * obs)
    return {k: np.stack(v) for k, v in out.items()}


def random_actions(rng, env, steps):
    """Uniform actions: integers for a Discrete space, float32 rows of shape (num_envs, dim) for a Box."""
    space = env.single_action_space
    if isinstance(space, spaces.Box):
        return [rng.uniform(space.low, space.high, size=(env.num_envs, *space.shape)).astype(np.float32)
                for _ in range(steps)]
    return [rng.integers(0, space.n, size=env.num_envs) for _ in range(steps)]


def box_names():
    return [n for n in NAMES if isinstance(make(n, 1, seed=0).single_action_space, spaces.Box)]


def test_registry_lists_every_suite_env():
    assert set(NAMES) >= {"bandit", "squared", "delay", "chain", "cartpole", "pong", "breakout"}


@pytest.mark.parametrize("name", NAMES)
def test_spaces_dtypes_and_bad_actions(name):
    env = make(name, 8, seed=3)
    assert isinstance(env, VectorEnv) and env.num_envs == 8
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    d = env.single_observation_space.shape[0]
    assert isinstance(env.single_observation_space, spaces.Box) and env.single_observation_space.dtype == np.float32
    space = env.single_action_space
    box = isinstance(space, spaces.Box)
    assert isinstance(space, spaces.Discrete) or (box and len(space.shape) == 1 and space.dtype == np.float32)
    assert env.observation_space.shape == (8, d) and env.action_space.shape == (8, *space.shape)
    obs, infos = env.reset(seed=1, options=None)
    assert obs.dtype == np.float32 and obs.shape == (8, d) and infos == {}
    assert all(env.single_observation_space.contains(o) for o in obs)
    obs, rew, term, trunc, infos = env.step(np.zeros((8, *space.shape), dtype=np.float32 if box else np.int64))
    assert obs.dtype == np.float32 and obs.shape == (8, d)
    assert rew.dtype == np.float32 and rew.shape == (8,)
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_ and term.shape == trunc.shape == (8,)
    if box:  # the Box checks are in test_box_actions_*
        return
    with pytest.raises(ValueError, match="not allowed"):
        env.step(np.full(8, env.single_action_space.n))
    with pytest.raises(ValueError, match="not allowed"):
        env.step(np.zeros(7, dtype=np.int64))


@pytest.mark.parametrize("name", NAMES)
def test_autoreset_final_obs_and_episode_stats(name):
    n = 32
    env = make(name, n, seed=2)
    rng = np.random.default_rng(2)
    obs, _ = env.reset()
    ret, length, ended = np.zeros(n), np.zeros(n, dtype=np.int64), 0
    for a in random_actions(rng, env, 400):
        obs, rew, term, trunc, infos = env.step(a)
        assert not (term & trunc).any()  # a termination wins over a time limit
        ret += rew
        length += 1
        done = term | trunc
        if not done.any():
            assert infos == {}
            continue
        np.testing.assert_array_equal(infos["_final_obs"], done)
        np.testing.assert_array_equal(infos["_env_episode"], done)
        assert infos["final_obs"].shape == obs.shape and infos["final_obs"].dtype == np.float32
        ep = infos["env_episode"]
        assert (ep["r"].dtype, ep["l"].dtype, ep["score"].dtype) == (np.float32, np.int64, np.float32)
        assert not ep["r"][~done].any() and not ep["l"][~done].any() and not ep["score"][~done].any()
        np.testing.assert_allclose(ep["r"][done], ret[done], rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(ep["l"][done], length[done])
        assert np.isfinite(ep["score"][done]).all()
        ended += done.sum()
        ret[done], length[done] = 0.0, 0
    assert ended >= n  # every env ended at least about once: the autoreset path really ran


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_trajectory(name):
    env = make(name, 16, seed=5)
    acts = random_actions(np.random.default_rng(0), env, 300)
    a = rollout(env, acts, seed=11)
    b = rollout(env, acts, seed=11)  # the same object, re-seeded
    c = rollout(make(name, 16, seed=11), acts, seed=11)  # a fresh object
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k])


@pytest.mark.parametrize("name", NAMES)
def test_env_i_does_not_depend_on_num_envs(name):
    rng = np.random.default_rng(1)
    one, many = make(name, 1, seed=9), make(name, 48, seed=9)
    acts = random_actions(rng, many, 300)
    a = rollout(one, [x[:1] for x in acts], seed=9)
    b = rollout(many, acts, seed=9)
    for k in a:
        np.testing.assert_array_equal(a[k][:, 0], b[k][:, 0])


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("chain", "noop")])  # these draw no random numbers
def test_different_seeds_differ(name):
    env = make(name, 16, seed=0)
    acts = random_actions(np.random.default_rng(0), env, 200)
    assert not np.array_equal(rollout(env, acts, seed=1)["obs"], rollout(env, acts, seed=2)["obs"])


def outputs(step_result):
    """The arrays of one step's (obs, rew, term, trunc, infos), by name."""
    obs, rew, term, trunc, infos = step_result
    out = {"obs": obs, "rew": rew, "term": term, "trunc": trunc}
    if infos:
        out.update(final_obs=infos["final_obs"], _final_obs=infos["_final_obs"], _env_episode=infos["_env_episode"],
                   **{f"episode_{k}": v for k, v in infos["env_episode"].items()})
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kwargs", [{}, {"copy": False}])
def test_default_path_hands_out_the_same_buffers(name, kwargs):
    """The default (copy=False) returns the env's own buffers: the same objects from reset and from
    every step, infos' arrays included, each overwritten in place by the next step."""
    env = make(name, 4, seed=0, **kwargs)
    assert env.copy is False
    rng = np.random.default_rng(0)
    first, _ = env.reset()
    seen = {}
    for a in random_actions(rng, env, 100):
        out = outputs(env.step(a))
        assert out["obs"] is first
        for k, v in out.items():
            assert seen.setdefault(k, v) is v, k
    assert "final_obs" in seen  # some episode ended, so the infos arrays were checked too
    assert seen["_final_obs"] is seen["_env_episode"]


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
@pytest.mark.parametrize("name", NAMES)
def test_default_step_allocates_no_arrays(name, mode):
    """Steps of the default path, episode ends included, allocate less than one array over the envs, in either
    autoreset mode."""
    n = 4096
    env = make(name, n, seed=1, autoreset_mode=mode)
    rng = np.random.default_rng(1)
    acts = random_actions(rng, env, 60)
    env.reset()
    for a in acts[:2]:  # compile for this action dtype, and (next-step) the step that only waits
        env.step(a)
    ended = 0
    tracemalloc.start()
    try:
        for a in acts:
            *_, infos = env.step(a)
            ended += bool(infos)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n // 2, f"{peak} bytes allocated"  # a bool per env would already be n bytes
    assert ended > 0  # the infos path ran too


@pytest.mark.parametrize("name", NAMES)
def test_copy_true_matches_the_default_and_keeps_its_arrays(name):
    """copy=True gives the same values as the default path, in fresh arrays that later steps leave
    alone (so they may be kept unchanged across steps; the default path's are copied here)."""
    fast, safe = make(name, 8, seed=4), make(name, 8, seed=4, copy=True)
    o_fast, _ = fast.reset()
    o_safe, _ = safe.reset()
    assert o_safe is not safe._obs
    np.testing.assert_array_equal(o_fast, o_safe)
    own = {id(v) for v in vars(safe).values() if isinstance(v, np.ndarray)}  # the env's buffers
    kept, expected = [], []
    for a in random_actions(np.random.default_rng(4), fast, 150):
        f, s = outputs(fast.step(a)), outputs(safe.step(a))
        assert f.keys() == s.keys()
        for k in f:
            assert id(s[k]) not in own, k
            if k == "final_obs":  # only the rows of envs that ended are defined
                np.testing.assert_array_equal(f[k][f["_final_obs"]], s[k][s["_final_obs"]])
            else:
                np.testing.assert_array_equal(f[k], s[k], err_msg=k)
        kept.append(s)
        expected.append({k: v.copy() for k, v in f.items()})
    for s, e in zip(kept, expected):  # copy=True arrays still hold their own step's values
        for k in e:
            if k != "final_obs":
                np.testing.assert_array_equal(s[k], e[k], err_msg=k)


# bandit and target end every episode at once, so no time limit is ever reached
@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("bandit", "target")])
def test_final_obs_is_the_obs_the_time_limit_cut_off(name):
    """final_obs of a truncated env is the obs it would have shown without the time limit: the same env
    and actions with no limit (identical up to the first truncation) show it as their next obs."""
    n, limit = 64, 5
    cut, free = make(name, n, seed=6, max_steps=limit), make(name, n, seed=6, max_steps=0)
    cut.reset(), free.reset()
    for a in random_actions(np.random.default_rng(6), cut, limit):
        obs_c, rew_c, term_c, trunc_c, infos = cut.step(a)
        obs_f, rew_f, term_f, trunc_f, _ = free.step(a)
        np.testing.assert_array_equal(rew_c, rew_f)
        np.testing.assert_array_equal(term_c, term_f)
    assert trunc_c.any() and not trunc_f.any()
    np.testing.assert_array_equal(infos["_final_obs"], term_c | trunc_c)
    np.testing.assert_array_equal(infos["final_obs"][trunc_c], obs_f[trunc_c])
    assert (infos["env_episode"]["l"][trunc_c] == limit).all()


# --- Box actions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", box_names())
@pytest.mark.parametrize("bad, match", [
    (lambda n, d: np.zeros(n, dtype=np.float32),
     r"actions of shape \(5,\) and dtype float32 are not allowed: use floats of shape \(5, \d+\)"),
    (lambda n, d: np.zeros((n - 1, d), dtype=np.float32), r"shape \(4, \d+\) .* not allowed"),
    (lambda n, d: np.zeros((n, d + 1), dtype=np.float32), r"shape \(5, \d+\) .* not allowed"),
    (lambda n, d: np.zeros((n, d), dtype=np.int64), "dtype int64 are not allowed: use floats"),
    (lambda n, d: np.zeros((n, d), dtype=np.bool_), "dtype bool are not allowed"),
    (lambda n, d: np.array([[0.0] * d] * (n - 1) + [[np.nan] * d]),
     r"action nan \(env 4, dimension 0\) is not allowed: use finite"),
    (lambda n, d: np.full((n, d), -np.inf, dtype=np.float32), r"action -inf \(env 0, dimension 0\) is not allowed"),
    (lambda n, d: [[0.0] * d] * (n - 1) + [[np.inf] * d], r"action inf \(env 4"),
])
def test_box_actions_bad_shapes_dtypes_and_non_finite_values_raise_one_line(name, bad, match):
    env = make(name, 5, seed=0)
    env.reset()
    with pytest.raises(ValueError, match=match) as err:
        env.step(bad(5, env.single_action_space.shape[0]))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", box_names())
def test_box_actions_out_of_bounds_are_clipped(name):
    """Finite actions beyond the bounds act exactly as the nearest bound, in any float dtype and for
    values too large for float32."""
    n = 64
    far, clipped = make(name, n, seed=8), make(name, n, seed=8)
    space = far.single_action_space
    far.reset(), clipped.reset()
    rng = np.random.default_rng(8)
    width = space.high - space.low
    for dtype in (np.float32, np.float64, np.float16):
        a = rng.uniform(space.low - width, space.high + width, size=(n, *space.shape))
        if dtype is np.float64:
            a[::7] *= 1e300  # finite, but infinite as a float32: still clipped to a bound
        a = a.astype(dtype)
        assert ((a < space.low) | (a > space.high)).any() and np.isfinite(a).all()
        out_far = outputs(far.step(a))
        out_far = {k: v.copy() for k, v in out_far.items()}
        out_clipped = outputs(clipped.step(np.clip(a.astype(np.float64), space.low, space.high)))
        for k in out_far:
            np.testing.assert_array_equal(out_far[k], out_clipped[k], err_msg=k)
    np.testing.assert_array_equal(far._actions, clipped._actions)
    assert far._actions.dtype == np.float32


def test_box_actions_of_several_dimensions_and_unsupported_spaces():
    env = make("target", 3, seed=0, dim=4)
    assert env.single_action_space.shape == (4,) and env.action_space.shape == (3, 4)
    env.reset()
    env.step(np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"action nan \(env 1, dimension 2\)"):
        env.step(np.where(np.arange(12).reshape(3, 4) == 6, np.nan, 0.0))
    from fastenvs._core import FastVectorEnv
    obs = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    for space in (spaces.Box(-1.0, 1.0, shape=(2, 2)), spaces.Box(-1.0, 1.0, shape=(0,)), spaces.MultiBinary(3)):
        with pytest.raises(TypeError, match="is not supported: use Discrete or a 1-D Box"):
            FastVectorEnv(2, 0, obs, space, 0)
