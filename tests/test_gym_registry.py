"""fastenvs in Gymnasium's conventions: the registered ids (`gym.make_vec`, `gym.make`, the scripts'
--env), next-step autoreset next to the kit's same-step default, and Gymnasium's standard vector
wrappers around every env, their statistics equal to the env's own."""

import os
import re
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import vector as vw

import fastenvs
from test_fastenvs_api import SHORT, random_actions, rollout

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = fastenvs.names()


def make(name, n, seed=0, **kwargs):
    return fastenvs.make(name, n, seed=seed, **{**SHORT.get(name, {}), **kwargs})


def policy(env, obs):
    """Actions that depend on the obs alone (not on the step count): a hash of each row's bits for a
    Discrete space, a squashed copy of the obs for a Box. The two autoreset modes reach an episode's
    steps at different global steps, so only such a policy plays the same episodes in both."""
    space = env.single_action_space
    if isinstance(space, spaces.Box):
        return (np.tanh(3.0 * obs[:, : space.shape[0]]) - 0.3).astype(np.float32)
    bits = obs.view(np.uint32).astype(np.int64)
    weights = 2 * np.arange(1, obs.shape[1] + 1, dtype=np.int64) + 1
    return ((bits * weights).sum(axis=1) >> 3) % space.n


def episodes(env, steps, seed):
    """Per env, the episodes played under `policy`: each a dict of its obs, actions and rewards, the
    last obs, how it ended and the env's own statistics. In next-step mode the step after an episode's
    end must show the next episode's first obs, with reward 0 and no flags, whatever the action."""
    n, key = env.num_envs, env.stats_key
    next_step = env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, _ = env.reset(seed=seed)
    obs = obs.copy()
    current = [{"obs": [], "act": [], "rew": []} for _ in range(n)]
    done_eps = [[] for _ in range(n)]
    waiting = np.zeros(n, dtype=bool)  # next-step: this step is the ignored one after an episode's end
    for _ in range(steps):
        act = policy(env, obs)
        nxt, rew, term, trunc, infos = env.step(act)
        nxt = nxt.copy()
        if next_step:
            assert "final_obs" not in infos
            assert not rew[waiting].any() and not term[waiting].any() and not trunc[waiting].any()
        for i in np.flatnonzero(~waiting):
            ep = current[i]
            ep["obs"].append(obs[i].copy())
            ep["act"].append(np.copy(act[i]))
            ep["rew"].append(float(rew[i]))
            if term[i] or trunc[i]:
                assert infos["_" + key][i]
                stats = {k: float(v[i]) for k, v in infos[key].items()}
                last = nxt[i] if next_step else infos["final_obs"][i]
                done_eps[i].append({**{k: np.array(v) for k, v in ep.items()}, "last": last.copy(),
                                    "term": bool(term[i]), "stats": stats})
                current[i] = {"obs": [], "act": [], "rew": []}
        if next_step:
            waiting = term | trunc
        obs = nxt
    return done_eps


def assert_same_episodes(a, b, at_least):
    """The first episodes of every env are equal between two runs (as many as both finished)."""
    compared = 0
    for eps_a, eps_b in zip(a, b):
        for x, y in zip(eps_a, eps_b):
            for k in ("obs", "act", "rew", "last"):
                np.testing.assert_array_equal(x[k], y[k], err_msg=k)
            assert (x["term"], x["stats"]) == (y["term"], y["stats"])
            compared += 1
    assert compared >= at_least, compared


# --- ids -----------------------------------------------------------------------------------------
def test_every_env_is_registered_under_the_fastenvs_namespace():
    assert len(fastenvs.ids()) == len(NAMES)
    for name in NAMES:
        env_id = fastenvs.id_of(name)
        assert re.fullmatch(r"fastenvs/[A-Za-z]+-v0", env_id) and env_id in gym.registry
        assert fastenvs.id_of(env_id) == env_id
        spec = gym.spec(env_id)
        assert spec.vector_entry_point is not None and spec.entry_point is not None
    assert fastenvs.id_of("breakout") == "fastenvs/Breakout-v0" and fastenvs.id_of("cartpole") == "fastenvs/CartPole-v0"


@pytest.mark.parametrize("name", NAMES)
def test_make_vec_builds_the_same_env_as_make(name):
    """gym.make_vec(id, vector_entry_point) is fastenvs.make(name): same class, spaces, options and
    trajectories for the same seed (given to reset, or to make_vec as an option)."""
    env_id = fastenvs.id_of(name)
    ours = make(name, 12, seed=3)
    theirs = gym.make_vec(env_id, num_envs=12, vectorization_mode="vector_entry_point", **SHORT.get(name, {}))
    default_mode = gym.make_vec(env_id, num_envs=12, seed=3, **SHORT.get(name, {}))  # the vector entry point too
    assert type(theirs) is type(ours) is type(default_mode)
    assert theirs.spec.id == env_id and theirs.num_envs == 12 and theirs.max_steps == ours.max_steps
    assert theirs.single_observation_space == ours.single_observation_space
    assert theirs.single_action_space == ours.single_action_space
    assert theirs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    acts = random_actions(np.random.default_rng(3), ours, 200)
    a, b = rollout(ours, acts, seed=3), rollout(theirs, acts, seed=3)
    c = rollout(default_mode, acts, seed=3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        np.testing.assert_array_equal(a[k], c[k], err_msg=k)


def test_make_takes_ids_and_bad_names_and_options_say_what_is_allowed():
    assert type(fastenvs.make("fastenvs/Chain-v0", 2)) is type(fastenvs.make("chain", 2))
    with pytest.raises(ValueError, match=r"unknown fastenvs env 'fastenvs/Nope-v0': known names are .*breakout"
                                         r".*fastenvs/Breakout-v0") as err:
        fastenvs.make("fastenvs/Nope-v0", 2)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="bad option 'colour' for fastenvs env 'cartpole': allowed are max_steps"):
        gym.make_vec("fastenvs/CartPole-v0", num_envs=2, colour=3)
    with pytest.raises(ValueError, match="unknown fastenvs env 'CartPole-v1'"):
        fastenvs.id_of("CartPole-v1")


def test_the_module_prefix_registers_the_ids_without_an_import():
    """gym.make_vec("fastenvs:fastenvs/<Class>-v0") imports fastenvs itself, in a fresh interpreter."""
    code = ("import gymnasium as gym; assert 'fastenvs/Delay-v0' not in gym.registry; "
            "e = gym.make_vec('fastenvs:fastenvs/Delay-v0', num_envs=3); print(type(e).__name__, e.num_envs)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["Delay", "3"]


# --- single env ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_gym_make_gives_one_env_that_passes_check_env(name):
    env = gym.make(fastenvs.id_of(name), **SHORT.get(name, {}))
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.id == fastenvs.id_of(name)


@pytest.mark.parametrize("name", NAMES)
def test_single_env_plays_the_episodes_of_vector_env_0(name):
    """gym.make(id) seeded s plays the episodes of env 0 of fastenvs.make(name, 1, s); a reset() after an
    episode's end hands out the next episode's first obs (drawn when the last one ended)."""
    single = gym.make(fastenvs.id_of(name), **SHORT.get(name, {})).unwrapped
    vec = make(name, 1)
    rng = np.random.default_rng(5)
    obs, info = single.reset(seed=5)
    v_obs, _ = vec.reset(seed=5)
    np.testing.assert_array_equal(obs, v_obs[0])
    ended = 0
    for a in random_actions(rng, vec, 300):
        obs, reward, term, trunc, info = single.step(a[0])
        v_obs, v_rew, v_term, v_trunc, v_infos = vec.step(a)
        assert isinstance(reward, float) and (reward, term, trunc) == (v_rew[0], v_term[0], v_trunc[0])
        if term or trunc:
            ended += 1
            np.testing.assert_array_equal(obs, v_infos["final_obs"][0])
            assert info["env_episode"] == {k: v[0].item() for k, v in v_infos["env_episode"].items()}
            obs, info = single.reset()
            assert info == {}
        else:
            assert info == {}
        np.testing.assert_array_equal(obs, v_obs[0])
    assert ended >= 2


def test_single_env_options_render_and_bad_input():
    env = gym.make("fastenvs/Breakout-v0", render_mode="rgb_array", max_steps=40)
    env.reset(seed=0)
    assert env.render().shape == (330, 576, 3)
    assert env.unwrapped._envs.max_steps == 40
    with pytest.raises(ValueError, match=r"action 3 is not allowed: use 0\.\.2"):
        env.unwrapped.step(3)
    with pytest.raises(ValueError, match=r"action 1\.0 is not allowed: use an integer"):
        env.unwrapped.step(1.0)
    with pytest.raises(ValueError, match=r"render_mode='rgb_array' is not allowed for 'bandit'"):
        gym.make("fastenvs/Bandit-v0", render_mode="rgb_array")
    with pytest.raises(ValueError, match=r"autoreset_mode='next_step' is not allowed for one env"):
        gym.make("fastenvs/Bandit-v0", autoreset_mode="next_step")
    target = gym.make("fastenvs/Target-v0", dim=2).unwrapped
    target.reset(seed=0)
    with pytest.raises(ValueError, match=r"use floats of shape \(2,\)"):
        target.step(np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_gymnasiums_own_vectorization_of_single_envs_runs(mode):
    """make_vec's "sync" and "async" modes (Gymnasium's next-step vector envs around the single envs)
    run, and their unseeded copies differ (each single env draws its own seed). Async workers are
    spawned: forked from a process where Numba's OpenMP threads have run, they die at once."""
    kwargs = {"vector_kwargs": {"context": "spawn"}} if mode == "async" else {}
    envs = gym.make_vec("fastenvs/Squared-v0", num_envs=4, vectorization_mode=mode, **kwargs)
    try:
        obs, _ = envs.reset()
        assert len({row.tobytes() for row in obs}) > 1
        ended = 0
        for _ in range(100):
            obs, _, term, trunc, _ = envs.step(envs.action_space.sample())
            ended += int((term | trunc).sum())
        assert obs.shape == (4, 5) and ended > 4
    finally:
        envs.close()


# --- autoreset modes -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_next_step_mode_plays_the_same_episodes_as_same_step(name):
    same = make(name, 6, seed=7)
    nxt = make(name, 6, seed=7, autoreset_mode="next_step")
    assert same.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP == type(same).metadata["autoreset_mode"]
    assert nxt.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    a, b = episodes(same, 300, seed=7), episodes(nxt, 600, seed=7)
    assert_same_episodes(a, b, at_least=12)


@pytest.mark.parametrize("mode", ["next_step", "NextStep", AutoresetMode.NEXT_STEP, "NEXT_STEP"])
def test_autoreset_mode_spellings(mode):
    assert make("delay", 2, autoreset_mode=mode).metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP


@pytest.mark.parametrize("bad", ["disabled", AutoresetMode.DISABLED, "nextstep", 1, None])
def test_bad_autoreset_mode_and_stats_key_are_one_line_errors(bad):
    with pytest.raises(ValueError, match=r"autoreset_mode=.* is not allowed: use 'same_step' .* or 'next_step'") as e:
        make("delay", 2, autoreset_mode=bad)
    assert "\n" not in str(e.value)
    for key in ["", "_x", "final_obs", 3]:
        with pytest.raises(ValueError, match=rf"stats_key={key!r} is not allowed"):
            make("delay", 2, stats_key=key)


def test_stats_key_names_the_infos_entry():
    env = make("bandit", 3, stats_key="episode")
    env.reset()
    *_, infos = env.step(np.zeros(3, dtype=np.int64))
    assert set(infos) == {"episode", "_episode", "final_obs", "_final_obs"}
    env = make("bandit", 3)
    env.reset()
    *_, infos = env.step(np.zeros(3, dtype=np.int64))
    assert set(infos) == {"env_episode", "_env_episode", "final_obs", "_final_obs"}


def test_a_seeded_reset_clears_a_waiting_next_step_reset():
    env = make("bandit", 4, autoreset_mode="next_step")
    env.reset(seed=1)
    env.step(np.zeros(4, dtype=np.int64))  # every bandit episode ends: all four wait
    obs, _ = env.reset(seed=1)
    first = obs.copy()
    obs, rew, term, *_ = env.step(np.zeros(4, dtype=np.int64))
    assert term.all()  # a real step, not the ignored one
    np.testing.assert_array_equal(obs, first)  # next-step shows the last obs, here the only one


@pytest.mark.parametrize("name", ["bandit", "pong", "target"])
def test_next_step_with_copy_true_matches_the_default_in_fresh_arrays(name):
    fast = make(name, 8, seed=4, autoreset_mode="next_step")
    safe = make(name, 8, seed=4, autoreset_mode="next_step", copy=True)
    fast.reset(), safe.reset()
    own = {id(v) for v in vars(safe).values() if isinstance(v, np.ndarray)}
    ended = 0
    for a in random_actions(np.random.default_rng(4), fast, 200):
        f, s = fast.step(a), safe.step(a)
        for x, y in zip(f[:4], s[:4]):
            np.testing.assert_array_equal(x, y)
            assert id(y) not in own
        assert f[4].keys() == s[4].keys() and "final_obs" not in s[4]
        if s[4]:
            ended += 1
            assert id(s[4]["_env_episode"]) not in own and all(id(v) not in own for v in s[4]["env_episode"].values())
            for k in ("r", "l", "score"):
                np.testing.assert_array_equal(f[4]["env_episode"][k], s[4]["env_episode"][k])
    assert ended > 10


def test_breakout_renders_the_live_state_in_both_modes():
    """After an episode ends, render() shows the next episode's start in either mode (the bricks of a
    fresh wall, although next-step's obs still shows the old one)."""
    frames = {}
    for mode in ["same_step", "next_step"]:
        env = make("breakout", 1, autoreset_mode=mode, max_steps=3)
        env.reset(seed=0)
        env._obs[0, 10] = 0.0  # knock out brick 0 by hand: the episode's wall differs from a fresh one
        for _ in range(3):
            obs, _, _, trunc, _ = env.step(np.zeros(1, dtype=np.int64))
        assert trunc[0] and (obs[0, 10] == (0.0 if mode == "next_step" else 1.0))
        frames[mode] = env.render()
    np.testing.assert_array_equal(frames["same_step"], frames["next_step"])


# --- Gymnasium's wrappers ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["same_step", "next_step"])
@pytest.mark.parametrize("name", NAMES)
def test_record_episode_statistics_equals_the_envs_own(name, mode):
    """RecordEpisodeStatistics around the env, 1,000 steps: no error, and at every step where episodes
    ended the same envs, returns (to float32) and lengths as the env's own statistics."""
    env = vw.RecordEpisodeStatistics(make(name, 16, seed=2, autoreset_mode=mode))
    rng = np.random.default_rng(2)
    env.reset(seed=2)
    ended = 0
    for a in random_actions(rng, env, 1000):
        *_, infos = env.step(a)
        assert ("episode" in infos) == ("env_episode" in infos)
        if "episode" in infos:
            np.testing.assert_array_equal(infos["_episode"], infos["_env_episode"])
            np.testing.assert_array_equal(infos["episode"]["r"].astype(np.float32), infos["env_episode"]["r"])
            np.testing.assert_array_equal(infos["episode"]["l"], infos["env_episode"]["l"])
            ended += int(infos["_episode"].sum())
    assert ended >= 16 and len(env.return_queue) == min(ended, 100)


def clip(lo, hi):
    return lambda r: np.clip(r, lo, hi)


# (wrapper, expected obs and reward from the unwrapped twin's, or None where only finiteness is checked)
WRAPPERS = {
    "NormalizeObservation": (lambda e: vw.NormalizeObservation(e), None),
    "TransformObservation": (lambda e: vw.TransformObservation(e, lambda o: 2.0 * o - 1.0),
                             lambda o, r: (2.0 * o - 1.0, r)),
    "NormalizeReward": (lambda e: vw.NormalizeReward(e, gamma=0.99), None),
    "ClipReward": (lambda e: vw.ClipReward(e, -0.5, 0.5), lambda o, r: (o, np.clip(r, -0.5, 0.5))),
}


@pytest.mark.parametrize("wrapper", list(WRAPPERS))
@pytest.mark.parametrize("name", NAMES)
def test_standard_wrappers_run_a_thousand_steps(name, wrapper):
    """Each wrapper around each env (the observation wrappers need next-step autoreset; the reward
    wrappers run in both modes, shown here in the default one), 1,000 steps; where the wrapper is a fixed
    function its outputs are that function of an unwrapped twin's."""
    wrap, expect = WRAPPERS[wrapper]
    mode = "next_step" if "Observation" in wrapper else "same_step"
    env, twin = wrap(make(name, 8, seed=4, autoreset_mode=mode)), make(name, 8, seed=4, autoreset_mode=mode)
    env.reset(seed=4), twin.reset(seed=4)
    for a in random_actions(np.random.default_rng(4), twin, 1000):
        obs, rew, term, trunc, _ = env.step(a)
        t_obs, t_rew, t_term, t_trunc, _ = twin.step(a)
        assert np.isfinite(obs).all() and np.isfinite(rew).all()
        np.testing.assert_array_equal(term, t_term)
        np.testing.assert_array_equal(trunc, t_trunc)
        if expect is not None:
            e_obs, e_rew = expect(t_obs, t_rew)
            np.testing.assert_array_equal(obs, e_obs)
            np.testing.assert_array_equal(rew, e_rew)


@pytest.mark.parametrize("wrapper", ["NormalizeObservation", "TransformObservation"])
def test_observation_wrappers_refuse_the_same_step_default(wrapper):
    """Gymnasium's own rule, kept here so a change of the default does not go unnoticed."""
    with pytest.raises(ValueError, match="autoreset_mode"):
        WRAPPERS[wrapper][0](make("cartpole", 2))


# --- the scripts ---------------------------------------------------------------------------------
def test_scripts_make_env_takes_an_id_and_reads_the_stats_under_episode():
    import ppo_gae

    by_id, by_name = ppo_gae.make_env("fastenvs/Squared-v0", 8, 1), ppo_gae.make_env("squared", 8, 1)
    assert type(by_id) is type(by_name) and by_id.stats_key == "episode"
    assert by_id.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    acts = random_actions(np.random.default_rng(1), by_id, 80)
    a, b = rollout(by_id, acts, seed=1), rollout(by_name, acts, seed=1)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    by_id.reset(seed=1)
    for _ in range(6):  # 3 = left: every episode ends within 6 steps from the centre (edge or target)
        *_, infos = by_id.step(np.full(8, 3))
        if infos:
            break
    assert {"episode", "_episode", "final_obs", "_final_obs"} == set(infos) and "score" in infos["episode"]


@pytest.mark.parametrize("kwargs, bad", [("autoreset_mode=next_step", "autoreset_mode"), ("stats_key=x", "stats_key")])
def test_scripts_refuse_the_options_they_fix(kwargs, bad):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "ppo_gae.py"), "--env", "fastenvs/Delay-v0", "--env-kwargs",
                        kwargs], capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"'{bad}'" in lines[0] and "may not set autoreset_mode or stats_key" in lines[0]


def test_a_script_trains_on_an_id_as_on_the_name(tmp_path):
    """ppo_gae.py --env fastenvs/Squared-v0 logs exactly what --env squared logs (episodes and scores
    included) for the same seed."""
    logs = []
    for env in ["squared", "fastenvs/Squared-v0"]:
        run_dir = tmp_path / env.replace("/", "_")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "ppo_gae.py"), "--env", env, "--num-envs", "16",
                            "--num-steps", "32", "--total-timesteps", "1024", "--num-minibatches", "4", "--no-cuda",
                            "--threads", "1", "--seed", "3", "--run-dir", str(run_dir)],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        with open(run_dir / "metrics.jsonl") as f:
            logs.append([{k: v for k, v in __import__("json").loads(line).items() if k not in ("time", "sps")}
                         for line in f])
    assert logs[0] == logs[1] and logs[0][-1]["episodes"] > 10
    assert np.isfinite(logs[0][-1]["episode_score"])


# --- the example in docs/envs.md -----------------------------------------------------------------
def doc_examples():
    with open(os.path.join(ROOT, "docs", "envs.md")) as f:
        text = f.read()
    section = text.split("## In your own training loop", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_docs_example_runs_and_its_statistics_are_the_envs_own(capsys):
    blocks = doc_examples()
    assert len(blocks) == 2
    first = {}
    exec(compile(blocks[0], "docs/envs.md", "exec"), first)
    assert len(first["returns"]) > 50 and np.mean(first["returns"]) > 100  # the heuristic balances a while
    # the wrapper's returns are the env's own statistics (CartPole's score is its return), episode for episode
    np.testing.assert_array_equal(np.float32(first["returns"]), first["scores"])
    env = first["envs"].unwrapped
    assert env.spec.id == "fastenvs/CartPole-v0" and env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    second = dict(first)  # the second block goes on from the first one's imports
    exec(compile(blocks[1], "docs/envs.md", "exec"), second)
    assert second["envs"].unwrapped.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{len(first['returns'])} episodes, mean return {np.mean(first['returns']):.1f}"
    assert len(out) == 2 and second["envs"].episode_count > 500 and out[1].startswith(f"{second['envs'].episode_count} episodes")
    # what the page says the first block prints
    assert f"It prints `{out[0]}`" in open(os.path.join(ROOT, "docs", "envs.md")).read()
