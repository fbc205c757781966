"""Scores come from episodes that ended inside the window they claim. On a task that ends only at its time
limit, N envs that start together all end their episodes in the same step, once per N x limit steps: a rolling
"last 100 episodes" then repeats one old wave, played by early policies."""

import json
import math
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import jobs  # noqa: E402
import report  # noqa: E402
import runner  # noqa: E402

NUM_ENVS, NUM_STEPS, LIMIT = 512, 64, 1000  # HalfCheetah's layout at the kit's default batch


def synchronized_rows(iterations: int, policy_score) -> list[dict]:
    """The metrics rows of a run whose NUM_ENVS envs end together every LIMIT steps (per env): at each wave every
    env ends an episode scored policy_score(iteration); the rolling mean of the last 100 keeps the last wave's."""
    rows, rolling, episodes, t = [], None, 0, 0
    for it in range(1, iterations + 1):
        before, t = t, t + NUM_STEPS
        waves = t // LIMIT - before // LIMIT
        ended = NUM_ENVS * waves
        score = policy_score(it) if ended else None
        if ended:
            rolling, episodes = score, episodes + ended
        rows.append({"iteration": it, "global_step": it * NUM_ENVS * NUM_STEPS, "episode_score": rolling,
                     "episodes": episodes, "ended_episodes": ended, "ended_score": score, "num_envs": NUM_ENVS})
    return rows


def legacy(rows):
    """The same rows as logged before the per-iteration counts: the rolling mean only."""
    return [{k: v for k, v in r.items() if k not in ("ended_episodes", "ended_score", "num_envs")} for r in rows]


def improving(it):  # the policy gets better every iteration
    return 10.0 * it


def test_final_score_comes_from_the_final_waves_not_the_first():
    # 160 iterations: a wave every 1000 / 64 = 15.6 iterations (16, 32, 47, ..., 141, 157); the last 10% of the
    # steps (iterations 144 to 160) hold one, at iteration 157
    rows = synchronized_rows(160, improving)
    window = jobs.final_window(rows)
    waves = [r["iteration"] for r in window if r["ended_episodes"]]
    assert waves and not jobs.needs_evaluation(rows)
    s = report.score_run(rows, 0.0, 1600.0)
    assert s.source == "episodes"
    assert s.final == pytest.approx(np.mean([improving(i) for i in waves]))
    # the rolling mean, read over the window's iterations, repeats the wave before the window at its first rows
    stale = report.score_run(legacy(rows), 0.0, 1600.0)
    assert stale.source == "rolling" and stale.final < s.final - 5


def test_a_window_without_an_ended_episode_is_played_instead():
    # 31 iterations of the default batch (1M steps, HalfCheetah): one wave, at iteration 16, before the window
    rows = synchronized_rows(31, improving)
    assert sum(r["ended_episodes"] for r in jobs.final_window(rows)) == 0 and jobs.needs_evaluation(rows)
    unscored = report.score_run(rows, 0.0, 310.0)
    assert unscored.source == "none" and math.isnan(unscored.final)
    played = report.score_run(rows, 0.0, 310.0, {"episodes": 100, "sampled": {"mean": 305.0, "std": 3.0},
                                                 "greedy": {"mean": 307.0, "std": 1.0}})
    assert played.source == "evaluation" and played.final == 305.0 and played.final_norm == pytest.approx(305 / 310)
    # what today's rolling mean would publish: the first wave's score, played by the policy of iteration 16
    assert report.score_run(legacy(rows), 0.0, 310.0).final == pytest.approx(improving(16))


def test_too_few_episodes_or_fewer_than_one_per_env_is_too_few():
    rows = synchronized_rows(160, improving)
    for r in rows:  # 99 episodes in the window in all: fewer than 100
        r["ended_episodes"] = min(r["ended_episodes"], 99)
    assert jobs.needs_evaluation(rows)
    rows = synchronized_rows(160, improving)
    for r in rows:
        r["num_envs"] = 4096  # 512 episodes from 4096 envs: most envs ended none
    assert jobs.needs_evaluation(rows)


def test_auc_never_repeats_an_old_score():
    rows = synchronized_rows(64, improving)  # waves at iterations 16, 32, 47, 63
    curve = report.ended_curve(rows, random_score=0.0)
    waves = {r["iteration"]: r["ended_score"] for r in rows if r["ended_episodes"]}
    steps = [r["global_step"] for r in rows]
    for i, r in enumerate(rows):
        if r["iteration"] in waves:
            assert curve[i] == waves[r["iteration"]]
    # between two waves the curve is the straight line, not the earlier wave held flat
    a, b = 16, 32
    mid = 24
    want = waves[a] + (waves[b] - waves[a]) * (steps[mid - 1] - steps[a - 1]) / (steps[b - 1] - steps[a - 1])
    assert curve[mid - 1] == pytest.approx(want) and curve[mid - 1] != waves[a]
    # before the first wave: from the random policy's score at step 0
    assert curve[7] == pytest.approx(waves[16] * steps[7] / steps[15])


def test_checkpoint_scores_use_their_own_window():
    rows = synchronized_rows(160, improving)
    # at 5 iterations' worth past the wave of iteration 32, the window (the last 10% of the steps up to there)
    # holds no wave: no score, rather than the wave of iteration 32
    step = rows[36]["global_step"]
    assert report.score_at(rows, step) is None
    assert report.score_at(legacy(rows), step) == improving(32)
    assert report.score_at(rows, rows[-1]["global_step"]) == report.score_run(rows, 0.0, 1.0).final


def test_summary_round_trip_keeps_counts_and_the_evaluation(tmp_path):
    rows = synchronized_rows(31, improving)
    run = runner.Run("ppo_gae", "noop", 1, 31 * NUM_ENVS * NUM_STEPS, str(tmp_path / "run"))
    runner.write_metrics(run.run_dir, rows)
    with open(os.path.join(run.run_dir, jobs.MARKER), "w") as f:
        json.dump({"args": run.args()}, f)
    evaluation = {"episodes": 100, "seed": 12345, "sampled": {"mean": 305.0, "std": 3.0},
                  "greedy": {"mean": 307.0, "std": 1.0}}
    with open(os.path.join(run.run_dir, jobs.EVAL), "w") as f:
        json.dump(evaluation, f)
    summary = str(tmp_path / "summary.json")
    runner.save_summary(summary, [run], str(tmp_path / "out"))
    fresh = runner.Run("ppo_gae", "noop", 1, run.budget, str(tmp_path / "restored"))
    assert runner.restore_from_summary(summary, [fresh], str(tmp_path / "out")) == 1
    back = runner.read_metrics(fresh.run_dir)
    for key in ("global_step", "episode_score", "ended_episodes", "ended_score", "num_envs"):
        assert [r[key] for r in back] == [r[key] for r in rows], key
    score = report.collect([fresh], {"noop": (0.0, 310.0)})[fresh]
    assert score.source == "evaluation" and score.final == 305.0


def test_a_run_that_ends_no_episode_in_its_window_is_played_when_it_ends(tmp_path):
    """Through the runner with a real script: noop, reward 0.5 a step, episodes cut at 100 steps; 16 envs x 16
    steps for 8 iterations end one wave, in iteration 7, before the window (iteration 8). The runner has
    evaluate.py play the saved final policy, and the report scores the run by it: 100 episodes of 50."""
    flags = ("--env-kwargs", "max_steps=100", "reward=0.5", "--num-envs", "16", "--num-steps", "16",
             "--num-minibatches", "2", "--update-epochs", "1", "--no-cuda")
    run = runner.Run("ppo_gae", "noop", 1, 8 * 16 * 16, str(tmp_path / "run"), flags)
    assert runner.run_all([run], 1) == []
    rows = runner.read_metrics(run.run_dir)
    assert [r["iteration"] for r in rows if r["ended_episodes"]] == [7] and jobs.needs_evaluation(rows)
    with open(os.path.join(run.run_dir, jobs.EVAL)) as f:
        evaluation = json.load(f)
    assert evaluation["episodes"] == jobs.EVAL_EPISODES and evaluation["sampled"] == {"mean": 50.0, "std": 0.0}
    score = report.collect([run], {"noop": (0.0, 100.0)})[run]
    assert score.source == "evaluation" and score.final == 50.0 and score.final_norm == 0.5
