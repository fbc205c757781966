"""benchmarks/sensitivity.py's tuning study without training: the grids, the plan and its stated cost, and the
selection/scoring split on a fake summary (picked on seeds 1..3, reported from seeds 4..6)."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import runner  # noqa: E402
import sensitivity  # noqa: E402
import suites  # noqa: E402

GAE = "ppo_gae"
DEFAULT, A, B = "gamma0.99_lambda0.95", "gamma0.999_lambda0.95", "gamma0.95_lambda0.8"


def fake_score(label: str, env: str, seed: int) -> float:
    """Normalized final scores where the best setting on bandit depends on the seeds it is picked on: A leads on
    seeds 1..3 (0.9 against B's 0.7), B on seeds 4..6 (1.0 against A's 0.6); on delay16 the default leads."""
    if label == DEFAULT:
        return 0.5
    if env == "bandit" and label == A:
        return 0.9 if seed <= 3 else 0.6
    if env == "bandit" and label == B:
        return 0.7 if seed <= 3 else 1.0
    return 0.3


def test_grids_hold_each_scripts_default():
    sizes = {GAE: 9, "ppo_reward_horizon": 7, "ppo_avg_reward": 6}
    for script, n in sizes.items():
        grid = sensitivity.grid(script)
        assert len(grid) == n and sum(st.is_default(script) for st in grid) == 1
        assert len({(st.row, st.col) for st in grid}) == n  # one heatmap cell each
    rh = {sensitivity.describe(st) for st in sensitivity.grid("ppo_reward_horizon")}
    assert rh == {"H 8", "H 32", "H 128", "geometric, H 256", "geometric, H 1024", "geometric + cut, H 256",
                  "geometric + cut, H 1024"}
    flags = {st.label: st.flags() for st in sensitivity.grid("ppo_reward_horizon")}
    assert flags["geo_H1024_adaptive"] == ("--horizon", "1024", "--bins", "geometric", "--head-weighting", "adaptive")
    assert {sensitivity.describe(st) for st in sensitivity.grid("ppo_avg_reward")} >= {"λ 0.95, absorb",
                                                                                      "λ 0.8, reset, cost 1"}


def test_dry_run_plans_every_setting_env_and_seed(tmp_path, capsys):
    sensitivity.main(["--dry-run", "--out", str(tmp_path), "--parallel", "2"])
    out = capsys.readouterr().out
    envs = sensitivity.tuning_envs("quick", suites.parse_env_scores())
    assert envs == ["bandit", "breakout", "cartpole", "chain", "delay16", "delay50", "delay200", "pong", "squared"]
    n = (9 + 7 + 6) * len(envs) * 6
    assert f"{n} runs, " in out and "Estimated cost of the other" in out and " h " in out
    assert "--env delay --seed 4 --total-timesteps 1048576" in out and "--env-kwargs delay=200" in out
    runs = sensitivity.plan([GAE], {GAE: sensitivity.grid(GAE)}, ["delay50"], 3, "quick", str(tmp_path))
    assert len(runs) == 9 * 6 and {r.seed for r in runs} == set(range(1, 7))
    assert all(r.env == "delay" and r.budget == suites.BUDGETS["quick"]["delay"] for r in runs)
    assert len({r.summary_key for r in runs}) == len(runs)


def fake_summary(path, runs):
    """A summary with 4 iterations per run, every episode of the final one scoring fake_score (normalized)."""
    data = {"runs": {}, "invocations": []}
    scores = suites.parse_env_scores()
    for run in runs:
        name, label = run.tag.split(" ")
        lo, hi = scores[run.env]
        raw = lo + fake_score(label, name, run.seed) * (hi - lo)
        step = run.budget // 4
        data["runs"][run.summary_key] = {"rows": [[step * i, raw, 10.0, 1000.0, 1000, raw, 512] for i in (1, 2, 3, 4)]}
    runner.write_summary(path, data)


def test_picks_on_the_selection_seeds_and_reports_the_scoring_seeds(tmp_path):
    envs = ["bandit", "delay16"]
    settings = sensitivity.grid(GAE)
    cells = {(GAE, st.label, e, k): fake_score(st.label, e, k) for st in settings for e in envs for k in range(1, 7)}
    r = sensitivity.tuning(cells, GAE, settings, envs, 3, reps=200)
    assert r["single"].label == A and r["per_env"] == {"bandit": r["single"], "delay16": r["default"]}
    # picked on the scoring seeds, B would have been both the best single setting and bandit's own best
    scoring = {st.label: np.mean([[cells[(GAE, st.label, e, k)] for k in (4, 5, 6)] for e in envs]) for st in settings}
    assert max(scoring, key=scoring.get) == B
    # hand-checked IQMs over 2 envs x seeds 4..6: default 0.5 everywhere; A 0.6 on bandit, 0.3 on delay16 ->
    # IQM (0.3, 0.3, 0.6, 0.6) = 0.45; per-env best: A on bandit (0.6), the default on delay16 (0.5) -> 0.55
    expected = {"default": 0.5, "best single setting": 0.45, "per-env best": 0.55, "tuning gain": 0.05,
                "one-set cost": 0.10}
    for kind in ("IQM", "mean"):  # with 6 values per setting the IQM and the mean agree here
        for name, value in expected.items():
            point, lo, hi = r["numbers"][kind][name]
            assert point == pytest.approx(value), (kind, name)
            assert lo <= point + 1e-12 and point <= hi + 1e-12, (kind, name)
    # an env with a missing run is left out
    del cells[(GAE, B, "delay16", 5)]
    assert sensitivity.tuning(cells, GAE, settings, envs, 3, reps=50)["envs"] == ["bandit"]

    # the same through the command: a fake summary, --report-only, the page's results section
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "sensitivity.md"
    page.write_text(f"# Title\n\nthe design\n\n{sensitivity.TUNING_BEGIN}\nold\n{sensitivity.TUNING_END}\n\n"
                    f"{sensitivity.LONG_BEGIN}\nthe long grid\n{sensitivity.LONG_END}\n")
    argv = ["--report-only", "--variants", "gae", "--envs", ",".join(envs), "--out", str(tmp_path / "out"),
            "--report-dir", str(docs), "--bootstrap-reps", "200", "--parallel", "2"]
    sensitivity.main(argv)
    text = page.read_text()
    assert "**Not run yet: no numbers.** 0 of 108 runs" in text and "old" not in text
    runs = sensitivity.plan([GAE], {GAE: settings}, envs, 3, "quick", str(tmp_path / "out"))
    fake_summary(str(tmp_path / "runs.json"), runs)
    sensitivity.main(argv + ["--summary", str(tmp_path / "runs.json")])
    text = page.read_text()
    assert text.startswith("# Title\n\nthe design\n") and text.count(sensitivity.TUNING_BEGIN) == 1
    assert text.rstrip().endswith(f"{sensitivity.LONG_BEGIN}\nthe long grid\n{sensitivity.LONG_END}")
    assert "Not run yet" not in text and "108 runs (9 settings x 2 envs x 6 seeds)" in text
    row = next(line for line in text.splitlines() if line.startswith("| GAE | **"))
    assert row.startswith("| GAE | **0.500** [") and "**0.450** [" in row and "**0.550** [" in row
    assert "**0.050** [" in row and "**0.100** [" in row and row.endswith("| γ 0.999, λ 0.95 | 2 |")
    assert "| GAE | bandit | 0.500 | 0.600 | 0.600 (γ 0.999, λ 0.95) | +0.100 [" in text
    assert "| GAE | delay16 | 0.500 | 0.300 | 0.500 (γ 0.99, λ 0.95) | +0.000 [" in text
    for png in ("tuning_ppo_gae.png", "tuning_gain.png"):
        assert 0 < os.path.getsize(docs / "sensitivity" / png) <= 150_000, png
    # a run missing on delay16: the report names the env it leaves out and counts the other
    fake_summary(str(tmp_path / "part.json"), [r for r in runs if r.summary_key != f"{GAE}/delay16/{B}/seed5"])
    fresh = [str(tmp_path / "out2") if a == str(tmp_path / "out") else a for a in argv]  # no run dirs restored yet
    sensitivity.main(fresh + ["--summary", str(tmp_path / "part.json")])
    text = page.read_text()
    assert "107 of 108 runs finished" in text and "left out until then: delay16." in text
    row = next(line for line in text.splitlines() if line.startswith("| GAE | **"))
    assert "| GAE | delay16 |" not in text and row.endswith("| γ 0.999, λ 0.95 | 1 |")
    assert row.startswith("| GAE | **0.500** [") and "**0.600** [" in row and "**0.100** [" in row  # bandit alone


def test_the_estimators_are_compared_on_the_envs_all_of_them_have_finished():
    """GAE has finished bandit and delay16, average reward only bandit: every estimator's numbers use bandit alone, so
    an estimator that has run an extra env (here a hard one) is not compared on a different suite."""
    envs = ["bandit", "delay16"]
    settings = {s: sensitivity.grid(s) for s in (GAE, "ppo_avg_reward")}
    cells = {(s, st.label, e, k): (0.2 if e == "delay16" else 0.9) for s in settings for st in settings[s]
             for e in envs for k in range(1, 7)}
    del cells[("ppo_avg_reward", settings["ppo_avg_reward"][0].label, "delay16", 6)]
    assert sensitivity.compared_envs(cells, settings, envs, 3) == ["bandit"]
    assert sensitivity.compared_envs(cells, {GAE: settings[GAE]}, envs, 3) == envs
    assert sensitivity.complete_envs(cells, GAE, settings[GAE], envs, 3) == envs


def test_the_best_single_setting_counts_the_one_hard_env():
    """Four envs every setting solves and one only A learns: an IQM over the 15 values of envs x seeds 1..3 trims the
    hard env's three and would pick the default (1.0 against A's 0.99); the mean picks A, and the mean's tuning gain
    sees the hard env where the IQM's does not."""
    envs = ["bandit", "delay16", "delay50", "squared", "delay200"]
    settings = sensitivity.grid(GAE)

    def score(label, env):
        if env == "delay200":
            return 0.6 if label == A else 0.0
        return 1.0 if label == DEFAULT else 0.99
    cells = {(GAE, st.label, e, k): score(st.label, e) for st in settings for e in envs for k in range(1, 7)}
    r = sensitivity.tuning(cells, GAE, settings, envs, 3, reps=50)
    assert r["single"].label == A
    assert r["per_env"]["delay200"].label == A and r["per_env"]["bandit"].is_default(GAE)
    assert r["numbers"]["mean"]["tuning gain"][0] == pytest.approx(0.6 / 5)
    assert r["numbers"]["mean"]["one-set cost"][0] == pytest.approx(0.01 * 4 / 5)
    assert r["numbers"]["IQM"]["tuning gain"][0] == pytest.approx(0.0)


def test_numbers_that_round_to_zero_print_without_a_sign():
    assert [sensitivity.num(x) for x in (-1e-5, 0.0, 0.12349, -0.5)] == ["0.000", "0.000", "0.123", "-0.500"]
    assert [sensitivity.num(x, "+") for x in (-1e-5, 0.0004, 0.1, -0.1)] == ["+0.000", "+0.000", "+0.100", "-0.100"]
