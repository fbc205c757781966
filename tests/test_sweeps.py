"""The W&B sweep configurations in sweeps/: every parameter is a flag of its script and every value parses.

No network: the argv that `wandb agent` would build for a grid point (its `${args}` macro gives
`--name=value` for each parameter, value as Python's str) is parsed with the script's own tyro
parser and checked by the script's own argument checks.
"""

import glob
import os
import sys
from dataclasses import fields

import pytest
import tyro
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
SWEEPS = sorted(glob.glob(os.path.join(ROOT, "sweeps", "*.yaml")))


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def values_of(spec):
    return spec["values"] if "values" in spec else [spec["value"]]


def wandb_argv(point: dict) -> list[str]:
    """What `${args}` expands to for one grid point."""
    return [f"--{name}={value}" for name, value in point.items()]


def script_module(config):
    module = config["program"].removesuffix(".py")
    return __import__(module)


def test_the_three_sweeps_exist():
    names = {os.path.basename(p) for p in SWEEPS}
    assert {"gae_gamma_lambda.yaml", "reward_horizon_h.yaml", "avg_reward_lambda_cost.yaml"} <= names


@pytest.mark.parametrize("path", SWEEPS, ids=os.path.basename)
def test_sweep_parses_with_its_script(path):
    config = load(path)
    assert config["method"] == "grid"
    assert os.path.exists(os.path.join(ROOT, config["program"]))
    assert config["command"][:4] == ["${env}", "${interpreter}", "${program}", "${args}"]
    assert config["command"][4:] == ["--track"]  # a flag, not a parameter: tyro rejects --track=True
    module = script_module(config)
    flags = {f.name: f for f in fields(module.Args)}
    params = config["parameters"]
    for name, spec in params.items():
        assert name in flags, f"{os.path.basename(path)}: {name!r} is not a field of {config['program']}'s Args"
        assert not isinstance(flags[name].default, bool), f"{name}: booleans do not pass as --name=value"
        assert values_of(spec), name
    assert "env" in params and "seed" in params

    import suites
    known_envs = set(suites.fastenvs.names()) | set(suites.BUDGETS["quick"])
    assert set(values_of(params["env"])) <= known_envs

    first = {name: values_of(spec)[0] for name, spec in params.items()}
    points = [first] + [{**first, name: v} for name, spec in params.items() for v in values_of(spec)[1:]]
    for point in points:  # the first grid point, then each other value of each parameter once
        argv = wandb_argv(point) + ["--track"]
        args = tyro.cli(module.Args, args=argv)
        for name, value in point.items():
            assert getattr(args, name) == value, (name, value)
        assert args.track
        module.check_args(args)  # exits with code 2 on a value the script refuses


def test_sweep_grids_match_the_tuning_grids():
    """The sweeps of each script hold together exactly the points of benchmarks/sensitivity.py's grid, on the
    fastenvs suite (delay at its default L) with seeds 1..6; reset_cost is fixed at 1 (absorb ignores it)."""
    import sensitivity

    suite = {sensitivity.env_of(e)[0] for e in sensitivity.tuning_envs("quick", suites_scores())}
    keys = ("gamma", "gae_lambda", "horizon", "bins", "head_weighting", "terminal_mode")
    swept = {}
    for path in SWEEPS:
        config = load(path)
        script = config["program"].removesuffix(".py")
        params = {name: values_of(spec) for name, spec in config["parameters"].items()}
        assert set(params["env"]) == suite, path
        assert params["seed"] == list(range(1, 2 * sensitivity.SEEDS + 1)), path
        defaults = script_module(config).Args()
        points = [{}]
        for k in (k for k in keys if k in params):
            points = [{**p, k: v} for p in points for v in params[k]]
        swept.setdefault(script, set()).update(
            frozenset((k, v) for k, v in p.items() if v != getattr(defaults, k)) for p in points)
    for script, points in swept.items():
        defaults = __import__(script).Args()
        grid = {frozenset((k, v) for k, v in st.values if k in keys and v != getattr(defaults, k))
                for st in sensitivity.grid(script)}
        assert points == grid, script
    assert set(swept) == {"ppo_gae", "ppo_reward_horizon", "ppo_avg_reward"}


def suites_scores():
    import suites

    return suites.parse_env_scores()
