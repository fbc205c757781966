"""benchmarks/study.py and sensitivity.py without training: scores, the docs parser, resumability, the report."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import sensitivity  # noqa: E402
import study  # noqa: E402

SUITE_PLAN = ("bandit", "squared", "delay", "chain", "cartpole", "breakout", "pong")


def write_metrics(run_dir, scores, batch=100):
    """A metrics.jsonl with one row per score (None = no episode finished yet), `batch` steps each."""
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "metrics.jsonl"), "w") as f:
        for i, score in enumerate(scores, 1):
            f.write(json.dumps({"iteration": i, "global_step": i * batch, "time": 0.1 * i, "sps": 1000.0,
                                "episode_score": score, "episode_return": score}) + "\n")


def test_normalize():
    assert study.normalize(0.91, 0.91, 864.0) == 0.0
    assert study.normalize(864.0, 0.91, 864.0) == 1.0
    assert study.normalize(1.25, -18.5, 21.0) == pytest.approx(0.5)
    np.testing.assert_allclose(study.normalize([22.0, 261.0, 500.0], 22.0, 500.0), [0.0, 0.5, 1.0])


def test_final_score_and_auc_on_synthetic_metrics(tmp_path):
    # random 10, max 110: normalized = (score - 10) / 100; 10 iterations of 100 steps
    scores = [None, None, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 90.0, 110.0]
    write_metrics(tmp_path / "run", scores)
    s = study.score_run(study.read_metrics(tmp_path / "run"), 10.0, 110.0)
    # the last 10% of 1000 steps: the iterations at 900 and 1000
    assert s.final == pytest.approx(100.0)
    assert s.final_norm == pytest.approx(0.9)
    # before the first finished episode: the random score (normalized 0)
    expected_curve = [0, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
    np.testing.assert_allclose(s.curve, expected_curve)
    assert s.auc == pytest.approx(np.mean(expected_curve))
    np.testing.assert_array_equal(s.steps, np.arange(1, 11) * 100)


def test_auc_weights_iterations_by_their_steps():
    rows = [{"iteration": 1, "global_step": 100, "episode_score": 0.0},
            {"iteration": 2, "global_step": 400, "episode_score": 1.0}]  # the second covers 300 steps
    assert study.score_run(rows, 0.0, 1.0).auc == pytest.approx(0.75)


def test_read_metrics_drops_a_torn_last_line(tmp_path):
    write_metrics(tmp_path, [1.0, 2.0])
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"iteration": 3, "glob')
    assert len(study.read_metrics(tmp_path)) == 2
    assert study.read_metrics(tmp_path / "nothing") == []


def test_envs_md_parser_returns_every_env_with_both_numbers():
    scores = study.parse_env_scores()
    with open(os.path.join(ROOT, "docs", "envs.md")) as f:
        text = f.read()
    sections = [s.split("\n", 1) for s in text.split("\n## ")[1:]]
    for head, body in sections:
        name = head.strip()
        has_both = "| random-policy score | **" in body and "| maximum score | **" in body
        assert (name in scores) == has_both, name
        if has_both:
            number = lambda row: float(body.split(f"| {row} | **")[1].split("**")[0].replace(",", ""))  # noqa: E731
            assert scores[name][0] == pytest.approx(number("random-policy score"))
            assert scores[name][1] == pytest.approx(number("maximum score"))
            assert scores[name][1] > scores[name][0]
    assert scores["breakout"] == (0.91, 864.0)
    assert scores["cartpole"] == (22.06, 500.0)
    assert scores["pong"] == (-18.51, 21.0)
    assert "noop" not in scores


def test_envs_md_parser_on_a_synthetic_page(tmp_path):
    page = tmp_path / "envs.md"
    page.write_text("# envs\n\n## alpha\n\n| random-policy score | **-1.5** (± 0.1) |\n| maximum score | **1,000** |\n"
                    "\n### detail\n\ntext\n\n## beta\n\n| random-policy score | **3** |\n\n"
                    "## gamma\n\n| maximum score | **4** |\n| random-policy score | **\u22122** |\n")
    assert study.parse_env_scores(str(page)) == {"alpha": (-1.5, 1000.0), "gamma": (-2.0, 4.0)}


def test_suite_selection_errors_are_clear():
    scores = study.parse_env_scores()
    suite = [n for n in study.fastenvs.names() if n in scores and n not in study.NOT_IN_SUITE]
    assert study.select_envs(None, "quick", scores) == [n for n in suite if n in study.BUDGETS["quick"]]
    assert "target" in scores and "target" not in study.select_envs(None, "full", scores)
    with pytest.raises(study.UserError, match="'target' is not part of the suite"):
        study.select_envs("target", "quick", scores)
    with pytest.raises(study.UserError, match="unknown env 'nope'"):
        study.select_envs("nope", "quick", scores)
    with pytest.raises(study.UserError, match="'noop' has no random-policy score and maximum score"):
        study.select_envs("noop", "quick", scores)
    assert study.select_variants("avg_reward,gae,ppo_gae.py") == ["ppo_gae", "ppo_avg_reward"]
    with pytest.raises(study.UserError, match="unknown variant 'sarsa'"):
        study.select_variants("sarsa")


@pytest.mark.parametrize("argv,bad", [(["--profile", "huge"], "'huge'"), (["--seeds", "0"], "--seeds=0"),
                                      (["--envs", "nope"], "'nope'"), (["--variants", "sarsa"], "'sarsa'")])
def test_bad_input_is_one_line_and_exit_2(argv, bad):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "study.py"), *argv, "--dry-run"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and bad in lines[0], r.stderr


def fake_run(tmp_path, name, budget=1000, **kw):
    return study.Run("ppo_gae", "cartpole", 1, budget, str(tmp_path / name), **kw)


def test_a_finished_run_is_not_repeated(tmp_path, monkeypatch):
    finished = fake_run(tmp_path, "finished")
    write_metrics(finished.run_dir, [1.0] * 10)  # 10 x 100 = the budget of 1000
    odd_budget = fake_run(tmp_path, "odd", budget=1050)  # --total-timesteps 1050 runs 10 iterations of 100
    write_metrics(odd_budget.run_dir, [1.0] * 10)
    partial = fake_run(tmp_path, "partial")
    write_metrics(partial.run_dir, [1.0] * 6)
    marked = fake_run(tmp_path, "marked")
    write_metrics(marked.run_dir, [1.0] * 10)
    with open(os.path.join(marked.run_dir, study.MARKER), "w") as f:
        json.dump({"args": marked.args()}, f)
    stale = fake_run(tmp_path, "stale")  # full metrics, but its marker is from a run with other arguments
    write_metrics(stale.run_dir, [1.0] * 10)
    with open(os.path.join(stale.run_dir, study.MARKER), "w") as f:
        json.dump({"args": fake_run(tmp_path, "stale", budget=2000).args()}, f)
    empty = fake_run(tmp_path, "empty")  # a marker but no metrics: nothing to report
    os.makedirs(empty.run_dir)
    with open(os.path.join(empty.run_dir, study.MARKER), "w") as f:
        json.dump({"args": empty.args()}, f)
    missing = fake_run(tmp_path, "missing")
    runs = [finished, odd_budget, partial, marked, stale, empty, missing]
    assert [study.is_complete(r) for r in runs] == [True, True, False, True, False, False, False]

    # the runner runs exactly the others, one thread each, and marks them done
    fake = ("import json, os, sys; d = sys.argv[sys.argv.index('--run-dir') + 1]; os.makedirs(d, exist_ok=True); "
            "n = int(sys.argv[sys.argv.index('--total-timesteps') + 1]) // 100; "
            "f = open(os.path.join(d, 'metrics.jsonl'), 'w'); "
            "[f.write(json.dumps({'iteration': i, 'global_step': 100 * i, 'time': i, 'sps': 1.0, "
            "'episode_score': float(os.environ['OMP_NUM_THREADS'])}) + '\\n') for i in range(1, n + 1)]")
    monkeypatch.setattr(study.Run, "command", lambda self: [sys.executable, "-c", fake, *self.args()])
    todo = study.print_plan(runs, parallel=2)
    assert todo == [partial, stale, empty, missing]
    assert study.run_all(todo, parallel=2) == []
    assert all(study.is_complete(r) for r in runs)
    for r in todo:
        assert os.path.exists(os.path.join(r.run_dir, study.MARKER))
        assert study.read_metrics(r.run_dir)[-1]["episode_score"] == 1.0  # OMP_NUM_THREADS=1
    for r in (finished, odd_budget, marked):
        assert not os.path.exists(os.path.join(r.run_dir, "stdout.log"))


def test_a_failed_run_is_reported_and_not_marked(tmp_path, monkeypatch):
    run = fake_run(tmp_path, "bad")
    write_metrics(run.run_dir, [1.0] * 10)  # it logged its whole budget, then failed (saving, say)
    monkeypatch.setattr(study.Run, "command", lambda self: [sys.executable, "-c", "import sys; sys.exit(3)"])
    assert study.run_all([run], parallel=1) == [run]
    assert not study.is_complete(run)


def test_budgets_and_profiles():
    for profile, budgets in study.BUDGETS.items():
        assert set(SUITE_PLAN) <= set(budgets), profile
        assert all(b % study.BATCH == 0 and b >= study.BATCH for b in budgets.values())
    assert study.SEEDS["quick"] >= 3 and study.SEEDS["full"] >= 5
    # the quick profile over the whole planned suite fits in an hour on 2 cores
    runs = [study.Run(s, env, seed, study.BUDGETS["quick"][env], "x") for s in study.SCRIPTS for env in SUITE_PLAN
            for seed in range(1, study.SEEDS["quick"] + 1)]
    steps, seconds = study.estimate(runs, parallel=2)
    assert 55e6 <= steps <= 75e6 and seconds < 3600


def test_constants_match_the_scripts():
    import ppo_avg_reward
    import ppo_gae
    import ppo_reward_horizon

    modules = {"ppo_gae": ppo_gae, "ppo_reward_horizon": ppo_reward_horizon, "ppo_avg_reward": ppo_avg_reward}
    for script, module in modules.items():
        args = module.Args()
        assert args.num_envs * args.num_steps == study.BATCH
        for name, value in sensitivity.DEFAULTS[script].items():
            assert getattr(args, name) == value, (script, name)
        settings = sensitivity.grid(script)
        assert sum(st.is_default(script) for st in settings) == 1
        assert len({st.label for st in settings}) == len(settings)
        for st in settings:  # every grid point is a valid command line of its script
            parsed = __import__("tyro").cli(module.Args, args=list(st.flags()))
            for name, value in st.values:
                assert getattr(parsed, name) == value


def test_report_on_fake_runs(tmp_path):  # needs the dev extra's rliable and matplotlib
    scores = study.parse_env_scores()
    envs = ["cartpole", "pong"]
    runs = []
    rng = np.random.default_rng(0)
    for script in study.SCRIPTS:
        for env in envs:
            lo, hi = scores[env]
            for seed in (1, 2, 3):
                run = study.Run(script, env, seed, 2000, str(tmp_path / "out" / script / env / f"seed{seed}"))
                write_metrics(run.run_dir, list(lo + (hi - lo) * np.linspace(0, rng.uniform(0.3, 0.9), 20)))
                runs.append(run)
    # one more seed that is not finished: left out of the tables and the aggregate
    runs.append(study.Run("ppo_gae", "pong", 4, 2000, str(tmp_path / "out" / "ppo_gae" / "pong" / "seed4")))
    path = study.report(runs, envs, list(study.SCRIPTS), scores, "quick", 3, str(tmp_path / "out"),
                        str(tmp_path / "docs"), "python benchmarks/study.py", reps=200)
    text = open(path).read()
    assert "18 of 19 runs finished" in text
    assert "| GAE (`ppo_gae.py`) | **" in text and "| 3 × 2 |" in text
    assert "### cartpole" in text and "### pong" in text and "cores" in text
    for png in ("curves.png", "aggregate.png"):
        size = os.path.getsize(tmp_path / "docs" / "results" / png)
        assert 0 < size <= 150_000, (png, size)


def test_sensitivity_grid_selection():
    settings = sensitivity.select_settings("H32,gamma0.9_lambda0.5", ["ppo_gae", "ppo_reward_horizon"])
    assert [st.label for st in settings["ppo_gae"]] == ["gamma0.9_lambda0.5"]
    assert [st.label for st in settings["ppo_reward_horizon"]] == ["H32"]
    with pytest.raises(study.UserError, match="unknown setting 'H7'"):
        sensitivity.select_settings("H7", ["ppo_reward_horizon"])
    assert len(sensitivity.grid("ppo_gae")) == 20 and len(sensitivity.grid("ppo_reward_horizon")) == 6
    assert len(sensitivity.grid("ppo_avg_reward")) == 8


def test_throughput_rewrites_only_its_section(tmp_path):
    import throughput

    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Measured numbers\n\nbefore\n\n{throughput.BEGIN}\nold table\n{throughput.END}\n\nafter\n")
    throughput.write_section("## Throughput\n\nnew table\n", str(doc))
    assert doc.read_text() == (f"# Measured numbers\n\nbefore\n\n{throughput.BEGIN}\n## Throughput\n\nnew table\n"
                               f"{throughput.END}\n\nafter\n")
    fresh = tmp_path / "new.md"
    throughput.write_section("x", str(fresh))
    assert fresh.read_text() == f"# Measured numbers\n\n{throughput.BEGIN}\nx\n{throughput.END}\n"
