"""benchmarks/ without training: the runner (resumability, summaries, engines), the reporter's scores, the
suites' declarations and the docs parser, the study's and the sensitivity study's reports, seeds.py."""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import jobs  # noqa: E402
import report  # noqa: E402
import runner  # noqa: E402
import sensitivity  # noqa: E402
import study  # noqa: E402
import suites  # noqa: E402

SUITE_PLAN = ("bandit", "squared", "delay", "chain", "cartpole", "breakout", "pong")


def write_metrics(run_dir, scores, batch=100):
    """A metrics.jsonl with one row per score (None = no episode finished yet), `batch` steps each."""
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "metrics.jsonl"), "w") as f:
        for i, score in enumerate(scores, 1):
            f.write(json.dumps({"iteration": i, "global_step": i * batch, "time": 0.1 * i, "sps": 1000.0,
                                "episode_score": score, "episode_return": score}) + "\n")


def test_normalize():
    assert report.normalize(0.91, 0.91, 864.0) == 0.0
    assert report.normalize(864.0, 0.91, 864.0) == 1.0
    assert report.normalize(1.25, -18.5, 21.0) == pytest.approx(0.5)
    np.testing.assert_allclose(report.normalize([22.0, 261.0, 500.0], 22.0, 500.0), [0.0, 0.5, 1.0])


def test_final_score_and_auc_on_synthetic_metrics(tmp_path):
    # random 10, max 110: normalized = (score - 10) / 100; 10 iterations of 100 steps
    scores = [None, None, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 90.0, 110.0]
    write_metrics(tmp_path / "run", scores)
    s = report.score_run(runner.read_metrics(tmp_path / "run"), 10.0, 110.0)
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
    assert report.score_run(rows, 0.0, 1.0).auc == pytest.approx(0.75)


def test_read_metrics_drops_a_torn_last_line(tmp_path):
    write_metrics(tmp_path, [1.0, 2.0])
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"iteration": 3, "glob')
    assert len(runner.read_metrics(tmp_path)) == 2
    assert runner.read_metrics(tmp_path / "nothing") == []


def test_envs_md_parser_returns_every_env_with_both_numbers():
    scores = suites.parse_env_scores()
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
    assert suites.parse_env_scores(str(page)) == {"alpha": (-1.5, 1000.0), "gamma": (-2.0, 4.0)}


def test_suite_selection_errors_are_clear():
    scores = suites.parse_env_scores()
    suite = [n for n in suites.fastenvs.names() if n in scores and n not in suites.NOT_IN_SUITE]
    assert suites.select_envs(None, "quick", scores) == [n for n in suite if n in suites.BUDGETS["quick"]]
    assert "target" in scores and "target" not in suites.select_envs(None, "full", scores)
    with pytest.raises(runner.UserError, match="'target' is not part of the suite"):
        suites.select_envs("target", "quick", scores)
    with pytest.raises(runner.UserError, match="unknown env 'nope'"):
        suites.select_envs("nope", "quick", scores)
    with pytest.raises(runner.UserError, match="'noop' has no random-policy score and maximum score"):
        suites.select_envs("noop", "quick", scores)
    assert suites.select_variants("avg_reward,gae,ppo_gae.py") == ["ppo_gae", "ppo_avg_reward"]
    with pytest.raises(runner.UserError, match="unknown variant 'sarsa'"):
        suites.select_variants("sarsa")


@pytest.mark.parametrize("argv,bad", [(["--profile", "huge"], "'huge'"), (["--seeds", "0"], "--seeds=0"),
                                      (["--envs", "nope"], "'nope'"), (["--variants", "sarsa"], "'sarsa'")])
def test_bad_input_is_one_line_and_exit_2(argv, bad):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "study.py"), *argv, "--dry-run"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and bad in lines[0], r.stderr


def fake_run(tmp_path, name, budget=1000, **kw):
    return runner.Run("ppo_gae", "cartpole", 1, budget, str(tmp_path / name), **kw)


def test_a_finished_run_is_not_repeated(tmp_path, monkeypatch):
    finished = fake_run(tmp_path, "finished")
    write_metrics(finished.run_dir, [1.0] * 10)  # 10 x 100 = the budget of 1000
    odd_budget = fake_run(tmp_path, "odd", budget=1050)  # --total-timesteps 1050 runs 10 iterations of 100
    write_metrics(odd_budget.run_dir, [1.0] * 10)
    partial = fake_run(tmp_path, "partial")
    write_metrics(partial.run_dir, [1.0] * 6)
    marked = fake_run(tmp_path, "marked")
    write_metrics(marked.run_dir, [1.0] * 10)
    with open(os.path.join(marked.run_dir, jobs.MARKER), "w") as f:
        json.dump({"args": marked.args()}, f)
    stale = fake_run(tmp_path, "stale")  # full metrics, but its marker is from a run with other arguments
    write_metrics(stale.run_dir, [1.0] * 10)
    with open(os.path.join(stale.run_dir, jobs.MARKER), "w") as f:
        json.dump({"args": fake_run(tmp_path, "stale", budget=2000).args()}, f)
    empty = fake_run(tmp_path, "empty")  # a marker but no metrics: nothing to report
    os.makedirs(empty.run_dir)
    with open(os.path.join(empty.run_dir, jobs.MARKER), "w") as f:
        json.dump({"args": empty.args()}, f)
    missing = fake_run(tmp_path, "missing")
    runs = [finished, odd_budget, partial, marked, stale, empty, missing]
    assert [runner.is_complete(r) for r in runs] == [True, True, False, True, False, False, False]

    # the runner runs exactly the others, one thread each, and marks them done
    fake = ("import json, os, sys; d = sys.argv[sys.argv.index('--run-dir') + 1]; os.makedirs(d, exist_ok=True); "
            "n = int(sys.argv[sys.argv.index('--total-timesteps') + 1]) // 100; "
            "f = open(os.path.join(d, 'metrics.jsonl'), 'w'); "
            "[f.write(json.dumps({'iteration': i, 'global_step': 100 * i, 'time': i, 'sps': 1.0, "
            "'episode_score': float(os.environ['OMP_NUM_THREADS'])}) + '\\n') for i in range(1, n + 1)]")
    monkeypatch.setattr(runner.Run, "command", lambda self: [sys.executable, "-c", fake, *self.args()])
    todo = runner.print_plan(runs, parallel=2)
    assert todo == [partial, stale, empty, missing]
    assert runner.run_all(todo, parallel=2) == []
    assert all(runner.is_complete(r) for r in runs)
    for r in todo:
        assert os.path.exists(os.path.join(r.run_dir, jobs.MARKER))
        assert runner.read_metrics(r.run_dir)[-1]["episode_score"] == 1.0  # OMP_NUM_THREADS=1
    for r in (finished, odd_budget, marked):
        assert not os.path.exists(os.path.join(r.run_dir, "stdout.log"))


def test_a_failed_run_is_reported_and_not_marked(tmp_path, monkeypatch):
    run = fake_run(tmp_path, "bad")
    write_metrics(run.run_dir, [1.0] * 10)  # it logged its whole budget, then failed (saving, say)
    monkeypatch.setattr(runner.Run, "command", lambda self: [sys.executable, "-c", "import sys; sys.exit(3)"])
    assert runner.run_all([run], parallel=1) == [run]
    assert not runner.is_complete(run)


def test_a_killed_sitting_stops_its_runs_and_records_what_it_finished(tmp_path):
    # a sitting of two runs, one that finishes and one that hangs, in its own process; `kill` (SIGTERM) must
    # stop it as Ctrl-C does: exit 130, the hanging run terminated, the sitting recorded with the one run it
    # finished, in out/study.json and in the summary
    fake = tmp_path / "fake.py"  # a run: logs its pid, then hangs or writes its whole budget's metrics
    fake.write_text("""import json, os, sys, time
d = sys.argv[sys.argv.index("--run-dir") + 1]
os.makedirs(d, exist_ok=True)
open(os.path.join(d, "pid"), "w").write(str(os.getpid()))
if d.endswith("hangs"):
    time.sleep(120)
with open(os.path.join(d, "metrics.jsonl"), "w") as f:
    for i in range(1, 11):
        row = {"iteration": i, "global_step": 100 * i, "time": i, "sps": 1.0, "episode_score": 1.0}
        f.write(json.dumps(row) + "\\n")
""")
    child = f"""import argparse, sys
sys.path.insert(0, {os.path.join(ROOT, "benchmarks")!r})
import runner
runner.Run.command = lambda self: [sys.executable, {str(fake)!r}, *self.args()]
runs = [runner.Run("ppo_gae", "cartpole", seed, 1000, {str(tmp_path)!r} + name)
        for seed, name in ((1, "/finishes"), (2, "/hangs"))]
args = argparse.Namespace(summary={str(tmp_path / "summary.json")!r}, dry_run=False, report_only=False, parallel=2,
                          engine="local")
runner.execute(runs, args, {str(tmp_path / "out")!r}, "python benchmarks/x.py")
"""
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hangs_pid = tmp_path / "hangs" / "pid"
    for _ in range(600):  # until the hanging run has started and the other one is in the summary
        if hangs_pid.exists() and (tmp_path / "summary.json").exists():
            break
        time.sleep(0.1)
    proc.terminate()  # SIGTERM, what `kill <pid>` sends
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with pytest.raises(ProcessLookupError):
        os.kill(int(hangs_pid.read_text()), 0)
    sitting, = runner.read_invocations(str(tmp_path / "out"))
    assert sitting["interrupted"] and sitting["runs_executed"] == 1 and sitting["command"] == "python benchmarks/x.py"
    with open(tmp_path / "summary.json") as f:
        summary = json.load(f)
    assert summary["invocations"] == [sitting] and len(summary["runs"]) == 1


def test_budgets_and_profiles():
    for profile, budgets in suites.BUDGETS.items():
        assert set(SUITE_PLAN) <= set(budgets), profile
        assert all(b % runner.BATCH == 0 and b >= runner.BATCH for b in budgets.values())
    assert suites.SEEDS["quick"] >= 3 and suites.SEEDS["full"] >= 5
    # the quick profile over the whole planned suite, four variants, fits in an hour on 2 cores
    runs = [runner.Run(v.script, env, seed, suites.BUDGETS["quick"][env], "x", v.flags)
            for v in map(suites.VARIANTS.get, suites.DEFAULT_VARIANTS)
            for env in SUITE_PLAN for seed in range(1, suites.SEEDS["quick"] + 1)]
    steps, seconds = runner.estimate(runs, parallel=2)
    assert len(runs) == 84 and 85e6 <= steps <= 100e6 and seconds < 3600


def test_gym_suites_budgets_and_costs():
    """Every env of the MinAtar and MuJoCo suites has a budget in both profiles (MinAtar's in whole iterations), a
    measured steps/s and a reference row; on 2 cores, 2 runs at a time, MinAtar's quick profile fits in 3 hours
    and its full in 13; MuJoCo, whose base set takes about 160 times as many (smaller) gradient steps per env step,
    in 12 and 60."""
    assert suites.SUITE_BUDGETS["fastenvs"] is suites.BUDGETS
    for suite, limits in (("minatar", (3, 13)), ("mujoco", (12, 60))):
        envs = suites.GYM_ENVS[suite]
        assert len(envs) == 5
        batch = runner.BATCH if suite == "minatar" else 8 * 256  # MuJoCo: the base set's 8 envs x 256 steps
        for profile, limit_h in zip(("quick", "full"), limits):
            budgets = suites.SUITE_BUDGETS[suite][profile]
            assert set(budgets) == set(envs)
            assert all(b >= batch and (suite == "mujoco" or b % batch == 0) for b in budgets.values())
            plan = suites.plan_suite(suite, list(envs), list(suites.DEFAULT_VARIANTS), suites.SEEDS[profile], profile,
                                    "/x")
            assert len(plan.runs) == 4 * 5 * suites.SEEDS[profile]
            _, seconds = runner.estimate(plan.runs, parallel=2)
            assert seconds < limit_h * 3600, (suite, profile, seconds / 3600)
        for env in envs:
            assert env in jobs.MEASURED_SPS and env in suites.REFERENCES
            assert suites.suite_of(env) == suite
    # Freeway's 512 envs end their first episodes together after 2,501 steps each: the quick budget sees two rounds
    assert suites.SUITE_BUDGETS["minatar"]["quick"]["MinAtar/Freeway-v1"] > 2 * 2501 * 512
    # MuJoCo's quick budget is the 1M steps of the CleanRL references (488 iterations of 2048)
    assert suites.SUITE_BUDGETS["mujoco"]["quick"]["Hopper-v5"] == 1_000_000


def test_mujoco_suite_runs_the_base_set_and_seeds_grids_run_the_same_commands():
    """Every MuJoCo run of the study carries the base set (the same for the three scripts; GAE's rewards scaled by
    its return), other suites carry none, and seeds.py's base-* grids are the very same commands, so a run made
    by either counts for both."""
    import seeds
    plan = suites.plan_suite("mujoco", ["Hopper-v5"], list(suites.VARIANTS), 2, "quick", "/x")
    base = list(suites.MUJOCO_BASE)
    for run in plan.runs:
        assert run.extra[:len(base)] == tuple(base), run.name()
        assert ("--reward-scale" in run.extra) == (run.script == "ppo_gae")
        own = suites.suite_flags("mujoco", run.script)[len(base):]
        assert run.extra[len(base):] == own + suites.VARIANTS[run.key].flags
    other = suites.plan_suite("minatar", ["MinAtar/Breakout-v1"], list(suites.VARIANTS), 1, "quick", "/x")
    assert all(r.extra == suites.VARIANTS[r.key].flags for r in other.runs)
    grid = [r for r in seeds.grid_runs("base-hopper", 2, "/x") if not r.variant.endswith("return scaling")]
    assert {(r.script, r.seed, r.budget, r.extra) for r in grid} == {(r.script, r.seed, r.budget, r.extra)
                                                                      for r in plan.runs}


def test_procgen_suite_plans_budgets_and_references():
    """The 16 games x the default variants x seeds in both profiles, at 25M steps (full: Cobbe et al. 2020's easy
    mode) and 2M (quick), whole iterations; each game with the paper's R_min < R_max, which normalize to 0 and 1,
    and the shared PROCGEN_SPS for the cost."""
    envs = suites.GYM_ENVS["procgen"]
    assert len(envs) == 16 and all(e.startswith("procgen/") and e[8:].islower() for e in envs)
    assert "procgen" in suites.SUITES and suites.EXTRAS["procgen"] == "procgen"
    for profile, steps in (("quick", 2_000_000), ("full", 25_000_000)):
        budgets = suites.SUITE_BUDGETS["procgen"][profile]
        assert set(budgets) == set(envs) and len(set(budgets.values())) == 1
        assert all(b % runner.BATCH == 0 and abs(b - steps) < runner.BATCH for b in budgets.values())
        plan = suites.plan_suite("procgen", list(envs), list(suites.DEFAULT_VARIANTS), suites.SEEDS[profile],
                                 profile, "/x")
        assert len(plan.runs) == 16 * len(suites.DEFAULT_VARIANTS) * suites.SEEDS[profile]
        assert {(r.env, r.key, r.seed) for r in plan.runs} == {
            (e, k, s) for e in envs for k in suites.DEFAULT_VARIANTS for s in range(1, suites.SEEDS[profile] + 1)}
        assert runner.estimate(plan.runs, parallel=2)[1] > 0
    scores = suites.all_env_scores()
    for env in envs:
        r = suites.REFERENCES[env]
        assert r.reference > r.random and scores[env] == (r.random, r.reference)
        assert "Cobbe et al. 2020" in r.reference_source and "R_min" in r.random_source
        assert "R_max" in r.reference_what and suites.suite_of(env) == "procgen"
        rows = [{"iteration": 1, "global_step": 100, "episode_score": r.random},
                {"iteration": 2, "global_step": 200, "episode_score": r.reference}]
        assert report.normalize(r.random, *scores[env]) == 0.0 and report.normalize(r.reference, *scores[env]) == 1.0
        assert report.score_run(rows, *scores[env]).final_norm == pytest.approx(1.0)
        assert jobs.MEASURED_SPS[env] == jobs.PROCGEN_SPS
    assert scores["procgen/starpilot"] == (2.5, 64) and scores["procgen/fruitbot"] == (-1.5, 32.4)


def test_procgen_dry_run_needs_no_extra_and_a_run_names_it(tmp_path):
    """Without the procgen module, --dry-run plans and prices the suite; a real run stops at once with the one line
    every suite's missing extra gives (exit code 2)."""
    def study_without_procgen(*argv):
        code = ("import runpy, sys; sys.modules['procgen'] = None; sys.argv = ['study.py', *sys.argv[1:]]; "
                "runpy.run_path('benchmarks/study.py', run_name='__main__')")
        return subprocess.run([sys.executable, "-c", code, "--suite", "procgen", "--parallel", "2", *argv],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    for profile, runs in (("quick", 192), ("full", 320)):
        r = study_without_procgen("--profile", profile, "--dry-run", "--out", str(tmp_path / profile))
        assert r.returncode == 0, r.stderr
        assert f"  procgen: {runs} runs, " in r.stdout and " h with 2 at a time" in r.stdout
        assert r.stdout.count("python ppo_") == runs and "--env procgen/starpilot" in r.stdout
    r = study_without_procgen("--envs", "procgen/starpilot", "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and r.stdout == "" and not (tmp_path / "run").exists()
    assert r.stderr.strip() == "error: --suite procgen needs the 'procgen' extra: pip install -e '.[procgen]'"


def test_reference_table():
    scores = suites.all_env_scores()
    for env, r in suites.REFERENCES.items():
        assert r.random_source and r.reference_what and r.reference_source, env
        assert scores[env] == (r.random, r.reference)
        if r.reference is not None:
            assert r.reference > r.random, env
    # the numbers of docs/families.md: random (1000 MinAtar episodes, 100 MuJoCo), and the published references
    assert scores["MinAtar/Breakout-v1"] == (0.38, 28.0) and scores["MinAtar/SpaceInvaders-v1"] == (3.97, 131.0)
    assert scores["Hopper-v5"] == (16.67, 2382.86) and scores["HalfCheetah-v5"] == (-282.49, 1442.64)
    assert scores["Walker2d-v5"] == (1.77, 2287.95)
    assert suites.REFERENCES["MinAtar/Seaquest-v1"].reference is None  # none published: out of IQM, in P(X > Y)
    with open(os.path.join(ROOT, "docs", "families.md")) as f:
        families = f.read()
    for number in ("2382.86", "1442.64", "2287.95", "| 15 / 28 / 58 / 131 |", "16.67", "-282.49", "-48.05",
                   "0.80 ± 9.30", "0.48 ± 0.80", "0.11 ± 0.39", "3.97 ± 3.07"):
        assert number in families, number


def test_variants_and_markers_resume(tmp_path):
    plan = suites.plan_suite("fastenvs", ["cartpole"], list(suites.DEFAULT_VARIANTS), 1, "quick", str(tmp_path))
    by_key = {r.key: r for r in plan.runs}
    assert list(by_key) == ["ppo_gae", "ppo_gae_lambda1", "ppo_reward_horizon", "ppo_avg_reward"]
    lam1 = by_key["ppo_gae_lambda1"]
    assert lam1.script == "ppo_gae" and lam1.args()[-2:] == ["--gae-lambda", "1.0"]
    assert lam1.run_dir == str(tmp_path / "ppo_gae_lambda1" / "cartpole" / "seed1")
    gae = by_key["ppo_gae"]
    # the default variants' runs are the ones the study always ran: same directory, same arguments
    assert gae.run_dir == str(tmp_path / "ppo_gae" / "cartpole" / "seed1") and gae.extra == ()
    assert gae.args() == ["--env", "cartpole", "--seed", "1", "--total-timesteps", str(32 * runner.BATCH),
                          "--threads", "1", "--run-dir", gae.run_dir]
    # a marker written before the fourth variant existed (args only) still marks the run finished, also when the
    # results directory has moved; a marker with other arguments does not
    for run, marker_args in ((gae, gae.args()), (by_key["ppo_avg_reward"],
                                                 [a if a != by_key["ppo_avg_reward"].run_dir else "/elsewhere/x"
                                                  for a in by_key["ppo_avg_reward"].args()])):
        write_metrics(run.run_dir, [1.0] * 32, batch=runner.BATCH)
        with open(os.path.join(run.run_dir, jobs.MARKER), "w") as f:
            json.dump({"args": marker_args}, f)
        assert runner.is_complete(run)
    write_metrics(lam1.run_dir, [1.0] * 32, batch=runner.BATCH)
    with open(os.path.join(lam1.run_dir, jobs.MARKER), "w") as f:
        json.dump({"args": gae.args()}, f)  # the λ = 0.95 run's arguments: not this run
    assert not runner.is_complete(lam1)
    assert suites.select_variants("gae_lambda1,gae", tuple(suites.VARIANTS)) == ["ppo_gae", "ppo_gae_lambda1"]
    assert suites.select_variants(None) == list(suites.SCRIPTS)  # what sensitivity.py gets: the three scripts
    # the candidate default of the reward-horizon script runs only when named, with its flags
    bins = suites.plan_suite("fastenvs", ["cartpole"], suites.select_variants("reward_horizon_bins",
                            tuple(suites.VARIANTS)), 1, "quick", str(tmp_path)).runs
    assert [r.key for r in bins] == ["ppo_reward_horizon_bins"] and bins[0].script == "ppo_reward_horizon"
    assert bins[0].args()[-8:] == ["--bins", "geometric", "--horizon", "1024", "--head-weighting", "adaptive",
                                   "--cut-fraction", "2"]
    assert "ppo_reward_horizon_bins" in suites.VARIANTS and "ppo_reward_horizon_bins" not in suites.DEFAULT_VARIANTS
    with pytest.raises(runner.UserError, match="unknown variant 'ppo_gae_lambda1'"):
        suites.select_variants("ppo_gae_lambda1")


def test_suite_selection():
    scores = suites.all_env_scores()
    assert list(suites.suite_envs(["minatar"], None, "quick", scores)) == ["minatar"]
    assert suites.suite_envs(["mujoco"], "Ant-v5,Hopper-v5", "quick", scores) == {"mujoco": ["Hopper-v5", "Ant-v5"]}
    assert suites.suite_envs(list(suites.SUITES), "bandit,Swimmer-v5", "quick", scores) == {
        "fastenvs": ["bandit"], "mujoco": ["Swimmer-v5"]}
    with pytest.raises(runner.UserError, match="in suite 'minatar', not in --suite fastenvs"):
        suites.suite_envs(["fastenvs"], "MinAtar/Breakout-v1", "quick", scores)
    with pytest.raises(runner.UserError, match="unknown env 'Pong-v5'"):
        suites.suite_envs(["mujoco"], "Pong-v5", "quick", scores)
    with pytest.raises(runner.UserError, match="unknown suite 'atari'"):
        suites.select_suites("atari")
    assert suites.select_suites("all") == ["fastenvs", "minatar", "mujoco", "procgen"]
    assert suites.suite_envs(list(suites.SUITES), "procgen/coinrun", "quick", scores) == {"procgen": ["procgen/coinrun"]}
    with pytest.raises(runner.UserError, match="in suite 'procgen', not in --suite mujoco"):
        suites.suite_envs(["mujoco"], "procgen/coinrun", "quick", scores)


def test_constants_match_the_scripts():
    import ppo_avg_reward
    import ppo_gae
    import ppo_reward_horizon

    modules = {"ppo_gae": ppo_gae, "ppo_reward_horizon": ppo_reward_horizon, "ppo_avg_reward": ppo_avg_reward}
    for script, module in modules.items():
        args = module.Args()
        assert args.num_envs * args.num_steps == runner.BATCH
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
    scores = suites.all_env_scores()
    out = tmp_path / "out"
    rng = np.random.default_rng(0)
    plans = []
    for suite, envs in (("fastenvs", ["cartpole", "pong"]), ("minatar", ["MinAtar/Breakout-v1", "MinAtar/Seaquest-v1"]),
                        ("mujoco", ["Hopper-v5"])):
        plan = suites.plan_suite(suite, envs, list(suites.DEFAULT_VARIANTS), 3, "quick", str(out))
        for run in plan.runs:
            if suite == "mujoco":
                continue  # a suite with no finished run
            lo, hi = scores[run.env]
            hi = 10.0 if hi is None else hi
            write_metrics(run.run_dir, list(lo + (hi - lo) * np.linspace(0, rng.uniform(0.3, 0.9), 20)),
                          batch=run.budget // 20)
        plans.append(plan)
    # one more seed that is not finished: left out of the tables and the aggregate
    plans[0].runs.append(runner.Run("ppo_gae", "pong", 4, 2000, str(out / "ppo_gae" / "pong" / "seed4")))
    path = study.report(plans, scores, "quick", str(out), str(tmp_path / "docs"), "python benchmarks/study.py",
                        reps=200, poi_reps=50)
    text = open(path).read()
    assert "24 of 25 runs finished" in text
    assert "| GAE (`ppo_gae.py`) | **" in text and "| 3 × 2 |" in text
    assert "| GAE, λ = 1 (`ppo_gae.py --gae-lambda 1.0`) | **" in text
    assert "### cartpole" in text and "### pong" in text and "cores" in text
    # one section per suite, each with IQM and optimality gap, and P(X > Y) for each of the 6 pairs
    assert text.count("### Aggregate over envs and seeds") == 2 and text.count("### Probability of improvement") == 2
    assert "| GAE, λ = 1 | GAE | **" in text and "| average reward | reward horizon | **" in text
    assert "| 3 × 1 |" in text  # MinAtar: Seaquest has no reference, so the aggregate is over Breakout only
    assert "MinAtar/Seaquest-v1 has no reference score" in text
    # a suite with no finished runs says so instead of failing
    assert "No finished runs yet (12 planned" in text and "--suite mujoco --profile quick" in text
    # the reference table with its sources, and the variants table
    assert "| minatar | MinAtar/Breakout-v1 | 0.38 | 28 |" in text and "gymnax" in text
    assert "| mujoco | Hopper-v5 | 16.67 | 2382.86 |" in text and "CleanRL" in text
    assert "| GAE, λ = 1 | `ppo_gae.py --gae-lambda 1.0` | 0.99 | 1 |" in text
    # a variant asked for but never run in a suite is named once, not shown as empty rows
    plans[1].variants.append("ppo_reward_horizon_bins")
    plans[1].runs.append(runner.Run("ppo_reward_horizon", "MinAtar/Breakout-v1", 1, 2000,
                                   str(out / "ppo_reward_horizon_bins" / "x" / "seed1"),
                                   variant="ppo_reward_horizon_bins"))
    text = open(study.report(plans, scores, "quick", str(out), str(tmp_path / "docs"), "python benchmarks/study.py",
                             reps=50, poi_reps=20)).read()
    minatar = text.split("## MinAtar")[1].split("## MuJoCo")[0]
    assert "Not run in this suite yet: reward horizon, bins + cut." in minatar
    assert "| reward horizon, bins + cut" not in minatar and "Incomplete" not in minatar
    for png in ("curves.png", "aggregate.png", "minatar_curves.png", "minatar_aggregate.png"):
        size = os.path.getsize(tmp_path / "docs" / "results" / png)
        assert 0 < size <= 150_000, (png, size)
    assert not os.path.exists(tmp_path / "docs" / "results" / "mujoco_curves.png")


def test_report_names_an_env_not_run_and_the_suites_base_set(tmp_path):
    """A MuJoCo env with no finished run under the plan (Ant here) is named once and left out, so the aggregate
    covers the envs that ran; the section gives the base set every run of the suite adds."""
    scores = suites.all_env_scores()
    out = tmp_path / "out"
    plan = suites.plan_suite("mujoco", ["Hopper-v5", "Ant-v5"], ["ppo_gae", "ppo_reward_horizon"], 3, "quick", str(out))
    for i, run in enumerate(r for r in plan.runs if r.env == "Hopper-v5"):
        write_metrics(run.run_dir, list(np.linspace(20, 500 + 100 * i, 20)), batch=run.budget // 20)
    text = open(study.report([plan], scores, "quick", str(out), str(tmp_path / "docs"), "x", reps=50,
                             poi_reps=20)).read()
    section = text.split("## MuJoCo")[1].split("## Reference scores")[0]
    assert "Not run under this plan yet: Ant-v5." in section and "#### Ant-v5" not in section
    assert "Incomplete" not in section and section.count("| 3 × 1 |") == 2
    assert f"adds the mujoco base set to its variant's flags: `{' '.join(suites.MUJOCO_BASE)}`" in section
    assert "ppo_gae.py also `--reward-scale return`" in section


def test_report_with_no_finished_run_at_all(tmp_path):
    scores = suites.all_env_scores()
    plans = [suites.plan_suite(s, list(envs), list(suites.DEFAULT_VARIANTS), 1, "quick", str(tmp_path / "out"))
             for s, envs in suites.GYM_ENVS.items()]
    text = open(study.report(plans, scores, "quick", str(tmp_path / "out"), str(tmp_path / "docs"), "x",
                             reps=10, poi_reps=10)).read()
    assert text.count("No finished runs yet") == 3 and "Runs: 0 finished of 104" in text
    assert "| procgen | procgen/starpilot | 2.5 | 64 |" in text and "Cobbe et al. 2020" in text


def test_sensitivity_grid_selection():
    settings = sensitivity.select_settings("H32,gamma0.95_lambda0.8", ["ppo_gae", "ppo_reward_horizon"])
    assert [st.label for st in settings["ppo_gae"]] == ["gamma0.95_lambda0.8"]
    assert [st.label for st in settings["ppo_reward_horizon"]] == ["H32"]
    with pytest.raises(runner.UserError, match="unknown setting 'H7'"):
        sensitivity.select_settings("H7", ["ppo_reward_horizon"])
    assert len(sensitivity.grid("ppo_gae")) == 9 and len(sensitivity.grid("ppo_reward_horizon")) == 7
    assert len(sensitivity.grid("ppo_avg_reward")) == 6


def test_long_grid_runs(tmp_path):
    """--grid long: blind points (H < L on delay) and GAE on squared are not run; every command parses."""
    import tyro

    import ppo_gae
    import ppo_reward_horizon

    runs, where = sensitivity.long_runs(["ppo_gae", "ppo_reward_horizon"], list(sensitivity.LONG_DEFAULT_ENVS), 3,
                                        str(tmp_path))
    points = {(where[r][0], r.script, where[r][1].label) for r in runs}
    rh = "ppo_reward_horizon"
    assert ("delay50", rh, "H32") not in points and ("delay50", rh, "H64") in points
    assert ("delay200", rh, "geo_H64") not in points and ("delay200", rh, "geo_H256") in points
    assert ("squared", rh, "H8") in points and not any(e == "squared" and s == "ppo_gae" for e, s, _ in points)
    assert len(runs) == 3 * len(points) == 3 * (11 + 11 + 9 + 6 + 3 * 3)
    modules = {"ppo_gae": ppo_gae, rh: ppo_reward_horizon}
    for run in runs:
        if run.seed == 1:
            args = tyro.cli(modules[run.script].Args, args=run.args())
            modules[run.script].check_args(args)
            assert args.env == "delay" and args.env_kwargs == (f"delay={sensitivity.LONG_ENVS[where[run][0]][1]}",) \
                if where[run][0].startswith("delay") else args.env_kwargs == ()
    only, _ = sensitivity.long_runs([rh], ["delay200"], 2, str(tmp_path), labels={"geo_H1024", "H32"})
    assert [r.tag for r in only] == ["delay200 geo_H1024"] * 2


def test_long_report_keeps_the_page_around_it(tmp_path):
    runs, where = sensitivity.long_runs(["ppo_gae", "ppo_reward_horizon"], ["delay50"], 2, str(tmp_path / "out"),
                                        labels={"geo_H1024", "adaptive_c1", "gamma0.99_lambda0.95"})
    for k, run in enumerate(runs):
        write_metrics(run.run_dir, [0.5, 0.6 + 0.1 * k, 1.0])  # 3 rows of 100 steps: a budget of 300
    runs = [runner.Run(r.script, r.env, r.seed, 300, r.run_dir, r.extra, r.tag) for r in runs]
    where = dict(zip(runs, where.values()))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "sensitivity.md").write_text("# Hyperparameter sensitivity\n\nthe default grid's page\n")
    args = type("A", (), {"seeds": 2, "report_dir": str(docs)})()
    path = sensitivity.long_report(runs, where, ["delay50"], {"delay": (0.5, 1.0)}, args, str(tmp_path / "out"), "cmd")
    text = open(path).read()
    assert text.startswith("# Hyperparameter sensitivity\n\nthe default grid's page\n")
    assert text.count(sensitivity.LONG_BEGIN) == 1 and "| geometric bins, H 1024 | 1.00 ± 0.00 |" in text
    assert "| GAE γ 0.99, λ 0.95 |" in text and "| adaptive cut c 1 (geometric, H 1024) |" in text
    again = sensitivity.long_report(runs, where, ["delay50"], {"delay": (0.5, 1.0)}, args, str(tmp_path / "out"), "cmd")
    assert open(again).read() == text  # rewriting replaces the section, nothing piles up


def quiet_submitit(monkeypatch):
    """Import submitit without its logging setup: logging.config.dictConfig at its import closes the handlers
    pytest's capture has installed, and the test session then fails on a closed file."""
    monkeypatch.setenv("SUBMITIT_LOG_LEVEL", "NOCONFIG")
    pytest.importorskip("submitit")


def test_submitit_local_engine_runs_marks_and_skips(tmp_path, capsys, monkeypatch):
    """Two tiny real runs (bandit, 4 iterations of 8 envs x 16 steps) through submitit's local executor: each a
    job calling the script's CLI, marked done.json with its arguments; a second invocation runs nothing."""
    quiet_submitit(monkeypatch)
    out, docs = tmp_path / "out", tmp_path / "docs"
    argv = ["--envs", "bandit", "--variants", "gae,gae_lambda1", "--seeds", "1", "--engine", "submitit",
            "--submitit-cluster", "local", "--parallel", "2", "--out", str(out), "--report-dir", str(docs),
            "--budget-scale", str(512 / suites.BUDGETS["quick"]["bandit"]),
            "--script-args", "--num-envs 8 --num-steps 16 --num-minibatches 2", "--bootstrap-reps", "20"]
    study.main(argv)
    first = capsys.readouterr().out
    assert "submitit: 2 jobs on local, 2 at a time" in first and "2 runs finished, 0 failed" in first
    runs = {key: out / key / "bandit" / "seed1" for key in ("ppo_gae", "ppo_gae_lambda1")}
    markers = {}
    for key, run_dir in runs.items():
        with open(run_dir / jobs.MARKER) as f:
            markers[key] = json.load(f)
        assert markers[key]["engine"] == "submitit" and markers[key]["variant"] == key
        assert markers[key]["args"][:8] == ["--env", "bandit", "--seed", "1", "--total-timesteps", "512", "--threads",
                                            "1"]
        rows = runner.read_metrics(run_dir)
        assert len(rows) == 4 and rows[-1]["global_step"] == 512 and rows[-1]["episode_score"] is not None
        assert (run_dir / "stdout.log").exists() and (run_dir / jobs.JOB).exists()
    assert markers["ppo_gae_lambda1"]["args"][-8:-6] == ["--gae-lambda", "1.0"]
    assert "--gae-lambda" not in markers["ppo_gae"]["args"]
    text = (docs / "results.md").read_text()
    assert "| GAE, λ = 1 (`ppo_gae.py --gae-lambda 1.0`) | **" in text
    assert text.count("No finished runs yet") == 3  # minatar, mujoco and procgen

    # a second invocation: both are finished, nothing is submitted, the markers stay as they were
    jobs_before = sorted(os.listdir(out / "submitit"))
    study.main(argv)
    second = capsys.readouterr().out
    assert "2 runs, " in second and "2 finished already" in second and "submitit:" not in second
    assert sorted(os.listdir(out / "submitit")) == jobs_before
    for key, run_dir in runs.items():
        with open(run_dir / jobs.MARKER) as f:
            assert json.load(f) == markers[key]
    # and a job that starts after its run was finished elsewhere skips it
    tiny = ("--num-envs", "8", "--num-steps", "16", "--num-minibatches", "2")
    run = suites.plan_suite("fastenvs", ["bandit"], ["ppo_gae"], 1, "quick", str(out), tiny,
                           512 / suites.BUDGETS["quick"]["bandit"]).runs[0]
    assert run.run_dir == str(runs["ppo_gae"])
    assert jobs.run_job(run.spec(), "submitit")["status"] == "skipped"


def test_slurm_flags_become_the_sbatch_file(tmp_path, monkeypatch):
    """Without a cluster: a stand-in srun on the PATH lets submitit build the Slurm executor, whose sbatch file
    carries the flags; without srun, --submitit-cluster slurm is a one-line error."""
    quiet_submitit(monkeypatch)
    p = runner.Parser()
    runner.add_engine_flags(p)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(["--engine", "submitit", "--submitit-cluster", "slurm", "--slurm-partition", "cpu",
                         "--slurm-time", "90", "--slurm-setup", "source .venv/bin/activate", "--slurm-extra",
                         "constraint=avx2", "--slurm-array-parallelism", "50", "--slurm-account", "rl"])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(runner.UserError, match="no srun here"):
        runner.check_engine(args)
    (tmp_path / "srun").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "srun").chmod(0o755)
    runner.check_engine(args)
    runs = suites.plan_suite("mujoco", ["Ant-v5"], ["ppo_gae"], 1, "full", str(tmp_path / "out")).runs
    executor = jobs.make_executor(args, str(tmp_path / "jobs"), runs)
    assert executor.cluster == "slurm"
    text = executor._executor._make_submission_file_text("CMD", "uid")
    for line in ("#SBATCH --partition=cpu", "#SBATCH --time=90", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=4GB",
                 "#SBATCH --account=rl", "#SBATCH --constraint=avx2", "source .venv/bin/activate"):
        assert line in text, line
    assert executor._executor.parameters["array_parallelism"] == 50
    # the default time limit: 3x the longest run's estimate at one thread (Ant, 3M steps), at least 30 minutes
    args.slurm_time = None
    assert jobs.make_executor(args, str(tmp_path / "jobs"), runs)._executor.parameters["time"] == \
        jobs.job_minutes(runs) > 30


def test_summary_round_trip_rebuilds_finished_runs(tmp_path):
    """A committed summary is enough to rebuild the run directories the report reads: save the finished runs,
    delete the directories, restore, and every run is complete again with the same per-iteration numbers."""
    out = tmp_path / "out"
    plan = suites.plan_suite("fastenvs", ["cartpole"], ["ppo_gae", "ppo_gae_lambda1"], 2, "quick", str(out))
    done, unfinished = plan.runs[:3], plan.runs[3]
    for i, run in enumerate(done):
        write_metrics(run.run_dir, [None] + [10.0 * i + k for k in range(31)], batch=runner.BATCH)
        with open(os.path.join(run.run_dir, jobs.MARKER), "w") as f:
            json.dump({"args": run.args(), "wall_s": 12.5 + i, "host": "h"}, f)
    write_metrics(unfinished.run_dir, [1.0] * 5, batch=runner.BATCH)  # stopped early: not summarised
    runner.record_invocation(str(out), {"command": "c", "started": "2026-01-01T00:00:00", "runs_executed": 3})
    path = str(tmp_path / "summary.json")
    assert runner.save_summary(path, plan.runs, str(out)) == 3
    before = {r.run_dir: runner.read_metrics(r.run_dir) for r in done}
    shutil.rmtree(out)
    assert runner.restore_from_summary(path, plan.runs, str(out)) == 3
    assert [runner.is_complete(r) for r in plan.runs] == [True, True, True, False]
    for run in done:
        rows = runner.read_metrics(run.run_dir)
        assert [(r["iteration"], r["global_step"], r["episode_score"], r["sps"]) for r in rows] == \
            [(r["iteration"], r["global_step"], r["episode_score"], r["sps"]) for r in before[run.run_dir]]
    assert json.load(open(os.path.join(done[1].run_dir, jobs.MARKER)))["wall_s"] == 13.5
    assert [i["command"] for i in runner.read_invocations(str(out))] == ["c"]
    assert runner.restore_from_summary(path, plan.runs, str(out)) == 0  # nothing is missing any more
    # an entry made with other arguments (a changed budget) is not restored into this plan's run
    other = suites.plan_suite("fastenvs", ["cartpole"], ["ppo_gae"], 1, "quick", str(tmp_path / "o2"), scale=0.5)
    assert runner.restore_from_summary(path, other.runs, str(tmp_path / "o2")) == 0
    # the older layout ({key: rows of [step, score, length]}) restores too, without steps/s
    old = tmp_path / "old.json"
    old.write_text(json.dumps({done[0].summary_key: [[runner.BATCH * k, 1.0, 5.0] for k in range(1, 33)]}))
    shutil.rmtree(out)
    assert runner.restore_from_summary(str(old), plan.runs, str(out)) == 1 and runner.is_complete(done[0])
    assert runner.read_metrics(done[0].run_dir)[-1]["sps"] is None


def test_summaries_of_two_machines_merge_through_report_only(tmp_path):
    """docs/families.md's recipe: games split over two machines, one summary each; `--report-only --summary` with
    the first then the second restores both into one results directory and leaves every run in the second file."""
    plan = suites.plan_suite("procgen", ["procgen/coinrun", "procgen/maze"], ["ppo_gae"], 1, "quick",
                             str(tmp_path / "home"))
    for run, machine in zip(plan.runs, ("m1", "m2")):
        remote = runner.Run(run.script, run.env, run.seed, run.budget, str(tmp_path / machine / "run"))
        write_metrics(remote.run_dir, [1.0] * (run.budget // runner.BATCH), batch=runner.BATCH)
        with open(os.path.join(remote.run_dir, jobs.MARKER), "w") as f:
            json.dump({"args": remote.args()}, f)
        assert runner.save_summary(str(tmp_path / f"{machine}.json"), [remote], str(tmp_path / machine)) == 1
    home = str(tmp_path / "home")
    for machine in ("m1", "m2"):  # what execute() does with --report-only --summary <machine>.json
        runner.restore_from_summary(str(tmp_path / f"{machine}.json"), plan.runs, home)
        runner.save_summary(str(tmp_path / f"{machine}.json"), plan.runs, home)
    assert all(runner.is_complete(r) for r in plan.runs)
    assert sorted(runner.read_summary(str(tmp_path / "m2.json"))["runs"]) == sorted(r.summary_key for r in plan.runs)


def test_seeds_summary_restores_a_grid(tmp_path):
    import seeds

    summary = tmp_path / "s.json"
    rows = [[seeds.BATCH * k, float(k), 9.0] for k in range(1, 153)]
    summary.write_text(json.dumps({"value-clip/gae__clip/seed1": rows}))
    out = tmp_path / "runs"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "seeds.py"), "--grid", "value-clip",
                        "--seeds", "1", "--report-only", "--out", str(out), "--summary", str(summary)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "restored 1 finished runs" in r.stdout
    assert "| gae, clip | 4.98M | 152.0 |" in r.stdout  # the score at the last checkpoint, from the summary
    saved = json.loads(summary.read_text())["runs"]
    assert list(saved) == ["value-clip/gae__clip/seed1"] and saved["value-clip/gae__clip/seed1"]["rows"][-1][:2] == \
        [152 * seeds.BATCH, 152.0]


@pytest.mark.parametrize("argv, bad", [(["--variant", "gae, gamma 0.5"], "'gae, gamma 0.5'"),
                                       (["--parallel", "0"], "0")])
def test_seeds_bad_input_is_one_line(argv, bad):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "seeds.py"), "--grid", "breakout-20m",
                        "--report-only", *argv], capture_output=True, text=True)
    assert r.returncode == 2 and bad in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_report_has_the_seeds_section_from_the_summary_alone(tmp_path):
    """The report's Breakout-over-seeds section is built from seeds.py's committed summary, with no run
    directory: per-seed scores at each checkpoint, their mean, "-" for a seed not run, and only variants run."""
    import seeds

    grid, n, summary, _ = study.SEEDS_SECTIONS[0]
    env, budget, checkpoints, variants, *_ = seeds.GRIDS[grid]
    steps = range(seeds.BATCH, budget + 1, seeds.BATCH)

    def rows(final):  # a run whose score climbs linearly to `final` at the budget
        return [[s, final * s / budget, 100.0] for s in steps]

    runs = {f"{grid}/gae/seed1": rows(800.0), f"{grid}/gae/seed2": rows(840.0), f"{grid}/avg_reward/seed1": rows(300.0)}
    os.makedirs(tmp_path / "results")
    (tmp_path / summary).write_text(json.dumps({"invocations": [], "runs": {k: {"rows": v} for k, v in runs.items()}}))
    text = "\n".join(study.seeds_section(str(tmp_path)))
    last = checkpoints[-1]
    assert f"## {env.capitalize()} over seeds" in text
    assert f"| gae | {last / 1e6:.2f}M | 800.0, 840.0, {', '.join(['-'] * (n - 2))} | 820.0 [" in text
    assert f"| avg reward | {last / 1e6:.2f}M | 300.0, {', '.join(['-'] * (n - 1))} | 300.0 [300.0, 300.0] |" in text
    assert "| gae, lambda 1 |" not in text and "* gae, lambda 1:" not in text  # a variant never run is not listed
    assert "* avg reward: `ppo_avg_reward.py --env breakout`" in text
    assert study.seeds_section(str(tmp_path / "elsewhere")) == []  # no summary, no section


def test_report_names_every_run_scored_other_than_by_its_window():
    """The report says which runs were scored by playing the final policy (or by a rolling mean), by env and
    variant, however many there are: every run of an env, or each variant's seeds."""
    def run(script, env, seed):
        return runner.Run(script, env, seed, 1000, f"/x/{script}/{env}/seed{seed}")
    finished = [run(s, e, k) for s in ("ppo_gae", "ppo_reward_horizon") for e in ("HalfCheetah-v5", "Hopper-v5")
                for k in (1, 2, 3)]
    named = [r for r in finished if r.env == "HalfCheetah-v5"] + [run("ppo_gae", "Hopper-v5", 2)]
    text = study.which_runs(named, finished)
    assert text == "HalfCheetah-v5: every run; Hopper-v5: GAE seed 2"
    assert study.which_runs(named[:2], finished) == "HalfCheetah-v5: GAE seeds 1 2"
