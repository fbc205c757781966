"""benchmarks/speed.py and random_scores.py end to end at smoke-test sizes: each subcommand prints a table
with a row per thing asked for and positive rates; the random policy's scores of fastenvs envs match
docs/envs.md and count the episodes they say; bad input is one line and exit code 2."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import random_scores  # noqa: E402
import runner  # noqa: E402
import env_speed  # noqa: E402
import speed  # noqa: E402

ONE_THREAD = {**os.environ, **runner.THREAD_VARS}


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def tables(text: str) -> list[list[list[str]]]:
    """The markdown tables of `text`: each a list of body rows (header and rule dropped), cells stripped."""
    out, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            out.append(rows[2:])
            rows = []
    return out


def rate(cell: str) -> float:
    """A rate as the tables print it: 1,234 / 7.0 k / 14.2 M."""
    number, _, unit = cell.replace(",", "").partition(" ")
    return float(number) * {"": 1, "k": 1e3, "M": 1e6}[unit]


def test_env_has_a_row_per_env_and_path(capsys):
    speed.main(["env", "--envs", "cartpole,bandit", "--paths", "default,kernel", "--num-envs", "16", "--steps", "20",
                "--repeats", "2", "--no-reference"])
    (rows,) = tables(capsys.readouterr().out)
    assert [r[0] for r in rows] == [env_speed.fastenv_row(n, p).label for n in ("cartpole", "bandit")
                                    for p in ("default", "kernel")]
    assert all(rate(one) > 0 and rate(many) > 0 for _, one, many in rows)


def test_env_reference_row_has_no_all_cores_figure(capsys):
    speed.main(["env", "--envs", "cartpole", "--paths", "default", "--num-envs", "8", "--steps", "10",
                "--repeats", "1"])
    out = capsys.readouterr().out
    (rows,) = tables(out)
    assert [r[0] for r in rows] == [env_speed.fastenv_row("cartpole").label, "gymnasium CartPole-v1 (numpy vector env)"]
    assert rate(rows[1][1]) > 0 and rows[1][2] == "-"


def test_gym_has_a_row_per_env_mode_and_count(capsys):
    envs = ["CartPole-v1"] + (["MinAtar/Breakout-v1"] if has("minatar") else [])
    speed.main(["gym", "--envs", ",".join(envs), "--num-envs", "2", "--modes", "sync,async,native", "--steps", "10",
                "--repeats", "2", "--warmup", "3"])
    out = capsys.readouterr().out
    assert out.startswith("Machine: ") and "gymnasium " in out
    (rows,) = tables(out)
    # native is for ALE ids only: left out for these
    assert [(r[0], r[2], r[3]) for r in rows] == [(e, m, "2") for e in envs for m in ("sync", "async")]
    for env, family, _, _, steps, span, frames in rows:
        lo, hi = (rate(x) for x in span.split("-"))
        assert family == env_speed.family(env) and 0 < lo <= rate(steps) <= hi and rate(frames) == rate(steps)


@pytest.mark.skipif(not has("mujoco"), reason="MuJoCo is not installed")
def test_gym_mujoco(capsys):
    speed.main(["gym", "--envs", "Hopper-v5", "--num-envs", "1", "--modes", "sync", "--steps", "10", "--repeats", "1"])
    (rows,) = tables(capsys.readouterr().out)
    assert [r[:4] for r in rows] == [["Hopper-v5", "mujoco", "sync", "1"]] and rate(rows[0][4]) > 0


def test_train_rates_of_a_run():
    """The one test that trains (a script's start costs seconds): a tiny run, its rate from its metrics."""
    flags = ["--no-cuda", "--threads", "1", "--num-envs", "8", "--num-steps", "16", "--num-minibatches", "2"]
    rates = speed.train_rates("ppo_gae", "noop", 1, 3 * 128, 1, flags, one_thread=True)
    assert len(rates) == 1 and rates[0] > 0


def fake_train_rates(calls):
    """A stand-in for train_rates that records its calls and returns 1000, 2000, ... steps/s per run."""
    def train_rates(script, env, runs, timesteps, warmup, flags=(), one_thread=False):
        calls.append((script, env, runs, timesteps, warmup, list(flags), one_thread))
        return [1000.0 * len(calls)] * runs
    return train_rates


def test_training_quick_prints_the_three_tables(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(speed, "train_rates", fake_train_rates(calls))
    argv = ["training", "--quick", "--no-write", "--scripts", "ppo_gae,ppo_avg_reward.py", "--envs", "noop,bandit"]
    speed.main(argv)
    out = capsys.readouterr().out
    assert f"Measured with `python benchmarks/speed.py {' '.join(argv)}` on " in out
    quick = ["--num-envs", "32", "--num-steps", "32", "--num-minibatches", "4"]
    assert calls == [(s, e, 1, 3 * 1024, 1, quick, one) for s in ("ppo_gae", "ppo_avg_reward")
                     for e in ("breakout", "noop") for one in (True, False)]
    envs, training, kernels = tables(out)
    assert [row[0] for row in envs] == ["noop", "bandit"] and all(rate(row[1]) > 0 for row in envs)
    assert training == [["`ppo_gae.py`", "1.0 k", "2.0 k", "3.0 k", "4.0 k", "512 ms"],
                        ["`ppo_avg_reward.py`", "5.0 k", "6.0 k", "7.0 k", "8.0 k", "171 ms"]]
    assert [row[0] for row in kernels] == ["`gae`", "`reward_horizon`", "`reward_bins`", "`avg_reward_gae`"]
    assert all(row[2].endswith(" ms") and "(n = " in row[4] for row in kernels)
    # the quick batch (32 x 32) is the quick kernel shape (16 x 64): a share for the scripts that trained
    assert [row[-1] != "-" for row in kernels] == [True, False, False, True]


def test_training_rewrites_only_its_section(tmp_path):
    begin, end = speed.BEGIN, speed.END
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Measured numbers\n\nbefore\n\n{begin}\nold table\n{end}\n\nafter\n")
    speed.write_section("## Throughput\n\nnew table\n", str(doc))
    assert doc.read_text() == f"# Measured numbers\n\nbefore\n\n{begin}\n## Throughput\n\nnew table\n{end}\n\nafter\n"
    fresh = tmp_path / "new.md"
    speed.write_section("x", str(fresh))
    assert fresh.read_text() == f"# Measured numbers\n\n{begin}\nx\n{end}\n"


def test_concurrency_rows(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(speed, "train_rates", fake_train_rates(calls))
    speed.main(["concurrency", "--env", "noop", "--num-envs", "16", "--num-steps", "16", "--iterations", "3",
                "--warmup", "1", "--repeats", "2", "--runs", "3"])
    out = capsys.readouterr().out
    assert out.startswith("ppo_gae.py on noop, 3 iterations of 256 steps (1 not timed)")
    flags = ["--no-cuda", "--num-envs", "16", "--num-steps", "16"]
    assert calls == [("ppo_gae", "noop", runs, 768, 1, flags + threads, False)
                     for runs, threads in [(1, []), (1, []), (1, ["--threads", "1"]), (1, ["--threads", "1"]),
                                           (3, ["--threads", "1"]), (3, ["--threads", "1"])]]
    (rows,) = tables(out)  # medians over the repeats: 1500, 3500, 5500
    assert rows == [["default (all cores), alone", "1,500", "1.00"], ["`--threads 1`, alone", "3,500", "2.33"],
                    ["`--threads 1`, 3 side by side", "5,500", "3.67"]]


def test_speed_from_the_command_line():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "speed.py"), "env", "--envs", "bandit",
                        "--paths", "nocopy", "--num-envs", "4", "--steps", "5", "--repeats", "1"], capture_output=True,
                       text=True, cwd=ROOT, env=ONE_THREAD, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (rows,) = tables(r.stdout)
    assert [row[0] for row in rows] == ["fastenvs `bandit`: copy=False"] and rate(rows[0][1]) > 0


def test_trunk_rows(capsys):
    pytest.importorskip("torch")
    speed.main(["trunk", "--repeats", "1", "--num-envs", "4", "--minibatch", "8"])
    (rows,) = tables(capsys.readouterr().out)
    assert [r[:3] for r in rows] == [[i, t, "8"] for i in ("MinAtar 10x10x4", "Atari 4x84x84")
                                     for t in ("shared (the scripts')", "separate")] + [
        ["Procgen 64x64x3", t, "8"] for t in ("shared (the scripts')", "IMPALA ResNet")]
    assert all(float(r[3]) > 0 and float(r[4]) > 0 for r in rows)


def documented_random_score(env: str) -> float:
    """The random-policy score of `env` in docs/envs.md's table of envs."""
    with open(os.path.join(ROOT, "docs", "envs.md")) as f:
        m = re.search(rf"^\| \[{env}\]\(#{env}\) \|.*\| ([-0-9.]+) \| [-0-9.]+ \|$", f.read(), re.M)
    return float(m.group(1))


def test_random_scores_of_fastenvs_envs_match_the_docs(capsys):
    random_scores.main(["cartpole", "squared", "--episodes", "1000", "--num-envs", "256", "--seed", "0"])
    out = capsys.readouterr().out
    for env in ("cartpole", "squared"):
        m = re.search(rf"^{env}: (\d+) episodes .*\n  mean score  ([-0-9.]+) \+- ([0-9.]+) ", out, re.M)
        episodes, score, se = int(m.group(1)), float(m.group(2)), float(m.group(3))
        assert episodes == 1024  # each of the 256 envs' first ceil(1000 / 256) = 4 episodes
        documented = documented_random_score(env)
        assert abs(score - documented) < 5 * se + 0.01 * abs(documented), (env, score, se, documented)


def test_random_scores_of_gymnasium_ids_and_fastenvs_envs_at_once(capsys):
    ids = ["CartPole-v1"] + (["MinAtar/Breakout-v1"] if has("minatar") else [])
    random_scores.main([*ids, "bandit", "--episodes", "6", "--num-envs", "4"])
    out = capsys.readouterr().out
    assert re.search(r"^bandit: 8 episodes ", out, re.M)  # 4 envs x ceil(6 / 4)
    (rows,) = tables(out)
    assert [row[:2] for row in rows] == [[i, "6"] for i in ids]
    mean, std = (float(x) for x in rows[0][2].split(" ± "))
    assert abs(mean - float(rows[0][6])) < 0.06 and 8 < mean < 100 and std > 0  # CartPole: +1 a step, ~22 steps


@pytest.mark.parametrize("main, argv, says", [
    (speed.main, [], "required"),
    (speed.main, ["fast"], "'fast'"),
    (speed.main, ["env", "--envs", "breakout,nope"], "unknown env 'nope': use names from bandit"),
    (speed.main, ["env", "--paths", "default,slow"], "unknown path 'slow': use names from default, copy"),
    (speed.main, ["env", "--steps", "0"], "argument --steps: '0' is not allowed: use an integer >= 1"),
    (speed.main, ["gym", "--envs", "Nope-v9"], "unknown Gymnasium id 'Nope-v9'"),
    (speed.main, ["gym", "--modes", "sync,turbo"], "unknown mode 'turbo': use names from sync, async, native"),
    (speed.main, ["gym", "--num-envs", "8,x"], "argument --num-envs: 'x' is not allowed"),
    (speed.main, ["training", "--scripts", "ppo_x"], "unknown script 'ppo_x': use ppo_gae.py"),
    (speed.main, ["training", "--ref-seconds", "0"], "--ref-seconds=0.0 is not allowed: use a number > 0"),
    (speed.main, ["concurrency", "--script", "ppo.py"], "unknown script 'ppo.py'"),
    (speed.main, ["concurrency", "--iterations", "4"], "--warmup 4 is not allowed: use fewer than --iterations (4)"),
    (speed.main, ["trunk", "--device", "gpu0"], "--device 'gpu0' is not usable here"),
    (random_scores.main, ["breakout", "nope"], "unknown env 'nope': use a fastenvs name (bandit"),
    (random_scores.main, ["Nope-v3"], "unknown Gymnasium id 'Nope-v3'"),
    (random_scores.main, ["bandit", "--episodes", "-1"], "argument --episodes: '-1' is not allowed"),
])
def test_bad_input_is_one_line(main, argv, says, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and err.startswith("error: ") and says in err, err


def test_parsers():
    args = speed.parser().parse_args(["gym", "--envs", "Hopper-v5", "--num-envs", "1,8", "--modes", "sync,async"])
    assert args.num_envs == [1, 8] and args.run is env_speed.gym_command
    assert speed.parser().parse_args(["training", "--quick"]).run is speed.training_command
    args = random_scores.parser().parse_args(["Hopper-v5", "breakout", "--episodes", "100"])
    assert args.envs == ["Hopper-v5", "breakout"] and args.episodes == 100 and args.num_envs == 1024


def test_impala_trunk_has_the_published_shape():
    torch = pytest.importorskip("torch")
    trunk, features = speed.impala_trunk(3, 64, 64)
    convs = [m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16] * 5 + [32] * 10  # per stage: one conv, two blocks of two
    assert features == 256 and trunk(torch.zeros(2, 3, 64, 64)).shape == (2, 256)
    assert trunk[-2].in_features == 32 * 8 * 8  # 64 -> 32 -> 16 -> 8 after the three pools
