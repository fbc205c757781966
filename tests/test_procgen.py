"""Procgen behind Gymnasium's vector API (fastenvs/procgen.py): its ids, how episodes end (a level's end
terminates, the time-out truncates), same seed same trajectory, and each script training on a game.
Needs the procgen extra; without it only the scripts' missing-extra error is checked."""

import json
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["ppo_gae.py", "ppo_reward_horizon.py", "ppo_avg_reward.py"]
THREADS = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def pg():
    pytest.importorskip("procgen", reason="the procgen extra is not installed: pip install -e '.[procgen]'")
    import fastenvs.procgen

    return fastenvs.procgen


def make(game, n, **kwargs):
    return gym.make_vec(f"procgen/{game}", num_envs=n, num_threads=1, **kwargs)


def play(env, steps, seed, actions=None):
    """(obs, rewards, terminations, truncations, infos) of every step under seeded random actions."""
    rng = np.random.default_rng(seed)
    out = [env.reset(seed=seed)[0]]
    for _ in range(steps):
        a = rng.integers(0, 15, env.num_envs) if actions is None else actions
        out.append(env.step(a))
    return out


def test_every_game_is_registered_with_the_spaces_of_procgen(pg):
    assert len(pg.GAMES) == 16
    for game in pg.GAMES:
        spec = gym.spec(f"procgen/{game}")
        assert spec.entry_point is None and spec.vector_entry_point is not None  # vectorised in C++ only
    env = make("bigfish", 3)
    obs, infos = env.reset(seed=0)
    assert env.single_observation_space == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert env.single_action_space == gym.spaces.Discrete(15)
    assert obs.shape == (3, 64, 64, 3) and obs.dtype == np.uint8 and infos == {}
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    env.close()


def test_same_seed_same_trajectory_and_another_seed_another(pg):
    env = make("starpilot", 4)
    a, b, c = play(env, 60, 1), play(env, 60, 1), play(env, 60, 2)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    for x, y in zip(a[1:], b[1:]):
        assert all(np.array_equal(p, q) for p, q in zip(x[:4], y[:4]))
    assert np.array_equal(np.stack([s[0] for s in a[1:]]), np.stack([s[0] for s in b[1:]]))
    env.close()
    assert np.array_equal(env.reset(seed=1)[0], a[0])  # a closed env makes a new backend when reset
    env.close()


def test_the_time_out_is_a_truncation_bootstrapped_from_the_last_seen_obs(pg):
    # maze ends an episode after 500 steps; with the no-op action (4) the agent never reaches the cheese
    env = gym.wrappers.vector.RecordEpisodeStatistics(make("maze", 3))
    assert env.unwrapped.timeout == 500
    steps = play(env, 501, 0, actions=np.full(3, 4))
    for t, (obs, reward, term, trunc, infos) in enumerate(steps[1:], start=1):
        assert not term.any()
        assert trunc.all() == (t == 500) and trunc.any() == (t == 500)
        if t == 500:
            assert np.array_equal(infos["final_obs"], steps[t - 1][0]) and infos["_final_obs"].all()
            assert list(infos["episode"]["l"]) == [500] * 3 and not infos["level_complete"].any()
    env.close()


def test_a_completed_level_or_a_death_is_a_termination(pg):
    env = make("coinrun", 16)  # a random agent finishes some easy CoinRun levels and dies in others
    completed = died = 0
    for obs, reward, term, trunc, infos in play(env, 400, 0)[1:]:
        assert not (term & trunc).any()
        ended = term | trunc
        assert ("final_obs" in infos) == ended.any()
        if ended.any():
            done = infos["level_complete"] & infos["_level_complete"]
            assert (term[done]).all() and (reward[done] == 10).all()  # CoinRun's coin: 10, the level's end
            completed, died = completed + done.sum(), died + (term & ~done).sum()
        else:
            assert (reward == 0).all()
    assert completed > 0 and died > 0
    env.close()


def test_bad_options_are_refused_before_the_backend_sees_them(pg):
    # the C++ backend aborts the whole process on a mode a game lacks or an option it does not know
    with pytest.raises(ValueError, match="distribution_mode='extreme' for coinrun: one of easy, hard"):
        make("coinrun", 2, distribution_mode="extreme")
    with pytest.raises(ValueError, match="unknown Procgen option"):
        make("coinrun", 2, no_such_option=1)
    with pytest.raises(ValueError, match="num_levels=-1"):
        make("coinrun", 2, num_levels=-1)
    make("starpilot", 2, distribution_mode="extreme").close()


def test_render_gives_every_envs_frame(pg):
    env = make("coinrun", 2, render_mode="rgb_array")
    env.reset(seed=0)
    frames = env.render()
    assert frames.shape == (2, 512, 512, 3) and frames.dtype == np.uint8 and frames.std() > 0
    env.close()
    env = make("coinrun", 2)
    env.reset(seed=0)
    assert env.render() is None
    env.close()


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_trains_two_iterations_on_a_game(pg, script, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, script), "--env", "procgen/starpilot", "--num-envs", "8",
                        "--num-steps", "32", "--num-minibatches", "2", "--update-epochs", "1",
                        "--total-timesteps", "512", "--threads", "1", "--env-kwargs", "num_threads=1",
                        "--run-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=THREADS, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [row["global_step"] for row in rows] == [256, 512]
    assert rows[-1]["episodes"] > 0  # starpilot's random deaths end episodes within 64 steps


def test_a_script_without_the_extra_names_it():
    code = ("import runpy, sys; sys.modules['procgen'] = None; sys.argv = ['ppo_gae.py', '--env', 'procgen/starpilot']; "
            "runpy.run_path('ppo_gae.py', run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=THREADS, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: --env procgen/starpilot needs the procgen extra: pip install -e '.[procgen]'"


def test_evaluate_films_a_procgen_policy(pg, tmp_path):
    run = [sys.executable, os.path.join(ROOT, "ppo_gae.py"), "--env", "procgen/starpilot", "--num-envs", "8", "--num-steps",
           "16", "--num-minibatches", "2", "--update-epochs", "1", "--total-timesteps", "128", "--threads", "1",
           "--save-model", "--run-dir", str(tmp_path)]
    assert subprocess.run(run, capture_output=True, cwd=ROOT, env=THREADS, timeout=300).returncode == 0
    gif = tmp_path / "starpilot.gif"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "evaluate.py"), str(tmp_path / "agent.pt"),
                        "--episodes", "2", "--num-envs", "2", "--gif", str(gif)],
                       capture_output=True, text=True, cwd=ROOT, env=THREADS, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    from PIL import Image

    with Image.open(gif) as im:
        assert im.size == (512, 512) and im.n_frames > 1  # the backend's 512 x 512 render of env 0


def test_the_benchmarks_measure_and_score_procgen_ids(pg):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import env_speed
    import random_scores

    rates = env_speed.gym_rates("procgen/starpilot", 8, ["backend", "native"], steps=5, repeats=1, warmup=2)
    assert set(rates) == {"backend", "native"} and all(r[0] > 0 for r in rates.values())
    returns, lengths = random_scores.procgen_random_returns("procgen/starpilot", 16, seed=0, num_envs=8)
    assert len(returns) == 16 and (lengths > 0).all() and np.isfinite(returns).all()
