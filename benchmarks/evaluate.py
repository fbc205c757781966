"""Evaluate a saved model: whole episodes with the policy sampled and greedy, raw scores.

    python ppo_gae.py --env cartpole --total-timesteps 500000 --save-model --run-dir runs/cartpole
    python benchmarks/evaluate.py runs/cartpole/agent.pt --episodes 100
    python benchmarks/evaluate.py runs/cartpole/agent.pt --gif cartpole.gif   # also film one episode

`--save-model` stores the script's name, its Args, the weights and the observation-normalisation
statistics; this rebuilds the env and the agent through that script's own `make_env` and `Agent`,
so one tool serves all three scripts and an evaluation sees exactly what training saw. Every env
plays the same number of episodes (the first episodes to finish would favour short ones). Greedy
is the most likely action for Discrete actions and the Gaussian's mean for Box actions. `--gif`
films one episode of a fresh env with the policy sampled, as in training: env 0's frames from
`render()`, fastenvs' own or a Gymnasium env's made with `render_mode="rgb_array"` (MuJoCo, MinAtar,
ALE, classic control, procgen; an env that cannot render stops with a one-line error). It needs
Pillow, in the dev and video extras. `--json FILE` also writes the scores; benchmarks/jobs.py
calls it so when a run's last 10% of steps ended too few episodes to score it by.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import Parser, fail  # noqa: E402  (one-line errors, exit code 2; runner puts the scripts on the path)


def load(path: str):
    """(script module, its Args, agent with the saved weights, obs preprocessing) from an agent.pt."""
    saved = torch.load(path, weights_only=False, map_location="cpu")
    mod = importlib.import_module(saved["script"])
    known = {f.name for f in dataclasses.fields(mod.Args)}
    dropped = sorted(set(saved["args"]) - known)
    if dropped:  # options of an older version of the script; none of them shapes the agent
        print(f"note: ignoring saved options this {mod.__name__} no longer has: {', '.join(dropped)}", file=sys.stderr)
    args = mod.Args(**{k: v for k, v in saved["args"].items() if k in known})
    envs = mod.make_env(args.env, 1, 0, mod.parse_env_kwargs(args.env_kwargs))
    agent = mod.Agent(envs.single_observation_space, envs.single_action_space, args)
    envs.close()
    agent.load_state_dict(saved["model"])
    prep = np.asarray
    if saved["obs_rms"] is not None:
        rms = mod.RunningMeanStd()
        vars(rms).update(saved["obs_rms"])
        prep = rms.normalize
    return mod, args, agent, prep


def play(mod, args, agent, prep, episodes: int, seed: int, greedy: bool, num_envs: int = 8) -> list[float]:
    """Raw scores of `episodes` whole episodes, ceil(episodes / num_envs) from each env, in env order."""
    num_envs = min(num_envs, episodes)
    quota = -(-episodes // num_envs)
    envs = mod.make_env(args.env, num_envs, seed, mod.parse_env_kwargs(args.env_kwargs))
    space = envs.single_action_space
    obs, _ = envs.reset(seed=seed)
    scores = [[] for _ in range(num_envs)]
    torch.manual_seed(seed)
    while min(len(s) for s in scores) < quota:
        with torch.no_grad():
            action = agent.get_action_and_value(torch.as_tensor(prep(obs)), greedy=greedy)[0].numpy()
        if agent.continuous:
            action = np.clip(action, space.low, space.high)
        obs, _, _, _, infos = envs.step(action)
        if "_episode" in infos:
            ep = infos["episode"]
            for n in np.flatnonzero(infos["_episode"]):
                if len(scores[n]) < quota:
                    scores[n].append(float(ep.get("score", ep["r"])[n]))
    envs.close()
    return [x for s in scores for x in s][:episodes]


def frame(envs, env_id: str) -> np.ndarray:
    """Env 0's frame as uint8 from a vector env's render(): fastenvs return it alone, Gymnasium's vector
    envs one frame a sub-env (a tuple, or an array (num_envs, H, W, 3))."""
    try:
        image = envs.render()
    except Exception as e:  # no render(), a missing renderer such as pygame, no OpenGL: one line, no traceback
        fail(f"--gif cannot film --env {env_id}: its render() failed: {type(e).__name__}: {' '.join(str(e).split())}")
    if isinstance(image, (tuple, list)) or (isinstance(image, np.ndarray) and image.ndim == 4):
        image = image[0] if len(image) else None
    if image is None:
        fail(f"--gif cannot film --env {env_id}: its render() returns no frame")
    image = np.asarray(image)
    if image.dtype.kind == "f":  # MinAtar's colours are floats in [0, 1]
        image = np.round(np.clip(image, 0, 1) * 255)
    return image.astype(np.uint8)


def film(mod, args, agent, prep, seed: int, path: str, max_frames: int = 2000):
    """One episode of env 0 of a fresh 1-env vector env, sampled, saved as a GIF; returns the frame count."""
    from PIL import Image

    kwargs = mod.parse_env_kwargs(args.env_kwargs)
    if not (args.env in mod.fastenvs.names() or args.env.startswith("fastenvs/")):  # fastenvs always render
        kwargs["render_mode"] = "rgb_array"
    envs = mod.make_env(args.env, 1, seed, kwargs)
    obs, _ = envs.reset(seed=seed)
    frames = [frame(envs, args.env)]
    torch.manual_seed(seed)
    while len(frames) < max_frames:
        with torch.no_grad():
            action = agent.get_action_and_value(torch.as_tensor(prep(obs)))[0].numpy()
        obs, _, term, trunc, _ = envs.step(np.clip(action, envs.single_action_space.low, envs.single_action_space.high)
                                           if agent.continuous else action)
        if term[0] or trunc[0]:  # the env has already reset: the next frame belongs to a new episode
            break
        frames.append(frame(envs, args.env))
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0)
    envs.close()
    return len(frames)


def parser() -> Parser:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="an agent.pt written by a script's --save-model")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=12345, help="seed of the evaluation envs (not a training seed)")
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--gif", help="also save one sampled episode as a GIF here (env 0's render(); any env that renders)")
    p.add_argument("--json", help="also write the scores here: {episodes, seed, sampled: {mean, std}, greedy: {...}}")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    if not os.path.isfile(a.model):
        fail(f"{a.model!r} is not a file: give the agent.pt of a run made with --save-model")
    if a.episodes < 1 or a.num_envs < 1:
        fail(f"--episodes={a.episodes} and --num-envs={a.num_envs} must both be >= 1")
    if a.gif:
        try:
            import PIL  # noqa: F401
        except ImportError:
            fail("--gif needs Pillow: pip install pillow (or the video extra: pip install -e '.[video]')")
        if sys.platform.startswith("linux"):  # MuJoCo's default renderer (GLFW) needs a display; EGL needs none
            os.environ.setdefault("MUJOCO_GL", "egl")
    mod, args, agent, prep = load(a.model)
    print(f"{a.model}: {mod.__name__} on {args.env}, {a.episodes} episodes, eval seed {a.seed}")
    frames = film(mod, args, agent, prep, a.seed, a.gif) if a.gif else 0  # first: a failing render stops at once
    record = {"episodes": a.episodes, "seed": a.seed}
    for greedy in (False, True):
        s = play(mod, args, agent, prep, a.episodes, a.seed, greedy, a.num_envs)
        print(f"  {'greedy ' if greedy else 'sampled'}: score {np.mean(s):.2f} +- {np.std(s):.2f} (std over episodes)")
        record["greedy" if greedy else "sampled"] = {"mean": float(np.mean(s)), "std": float(np.std(s))}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(record, f)
    if a.gif:
        print(f"  {a.gif}: {frames} frames")


if __name__ == "__main__":
    main()
