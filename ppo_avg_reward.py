# >>> variant: what this script estimates
"""Average-reward PPO: no discount; rewards are centred by the reward rate rho.

    python ppo_avg_reward.py --env breakout

The critic predicts the differential value ("bias") h(s); the advantage is undiscounted GAE(lambda)
on r - rho from `kernels.avg_reward_gae`, with episode ends absorbing (APO) or resetting (ATRPO).
Everything outside the `# >>> variant` fences is the same text in ppo_gae.py,
ppo_reward_horizon.py and ppo_avg_reward.py, so `diff` between two scripts shows only the method.
"""
# <<< variant
import ast
import importlib
import json
import os
import random
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Literal

import gymnasium as gym
import numba
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import tyro
from gymnasium.vector import AutoresetMode
from torch.distributions import Categorical, Normal

import fastenvs
import kernels


@dataclass
class Args:
    env: str = "breakout"
    """fastenvs name (see fastenvs.names()) or a Gymnasium id, e.g. fastenvs/Breakout-v0, CartPole-v1, Hopper-v5, MinAtar/Breakout-v1, procgen/starpilot"""
    env_kwargs: tuple[str, ...] = ()
    """env options as key=value, passed to fastenvs.make or gym.make, e.g. --env-kwargs max_steps=100"""
    seed: int = 1
    """seed of the envs, torch and the minibatch order"""
    total_timesteps: int = 20_000_000
    """env steps to train for (summed over all envs)"""
    num_envs: int = 512
    """parallel envs"""
    num_steps: int = 64
    """steps per env per rollout; the batch is num_envs * num_steps"""
    learning_rate: float = 1e-3
    """Adam learning rate"""
    anneal_lr: bool = True
    """anneal the learning rate linearly to 0"""
    num_minibatches: int = 8
    """minibatches per epoch"""
    update_epochs: int = 4
    """epochs over each batch"""
    norm_adv: bool = True
    """normalize advantages per minibatch"""
    clip_coef: float = 0.2
    """PPO ratio clip"""
    clip_vloss: bool = False
    """clip the value loss around the rollout's predictions (by clip_coef, in the critic's own units)"""
    ent_coef: float = 0.01
    """entropy bonus coefficient"""
    vf_coef: float = 0.5
    """value loss coefficient"""
    max_grad_norm: float = 0.5
    """global gradient-norm clip"""
    target_kl: float | None = None
    """stop the epochs of an update early once the approximate KL exceeds this"""
    vector_mode: Literal["sync", "async"] = "sync"
    """Gymnasium ids: step all envs in this process (sync) or each in a subprocess of its own (async)"""
    norm_obs: Literal["auto", "on", "off"] = "auto"
    """normalise observations by their running mean and std; auto = on for flat float obs with continuous actions"""
    reward_scale: Literal["auto", "std", "return", "none"] = "auto"
    """std: divide rewards by the running std of the per-step reward (no discount); return: by that of a 0.99-discounted return (CleanRL's MuJoCo scaling, opt-in); auto = std for continuous actions"""
    reward_clip: float | None = None
    """clip rewards to [-c, c] for learning; None = 1 for discrete actions, 10 for scaled continuous ones, off for unscaled continuous ones (--reward-scale none); 0 = off. Logged scores stay raw"""
    image_layout: Literal["auto", "hwc", "chw"] = "auto"
    """image observations: channels last (H, W, C) or first (C, H, W); auto = the square side (H = W), else the one smallest dimension at an end"""
    hidden_size: int = 128
    """width of the two hidden layers of actor and critic"""
    cuda: bool = True
    """use CUDA when it is available (the envs and the advantage kernel always run on the CPU)"""
    threads: int = 0
    """torch and Numba threads (0 = all cores); use 1 when several runs share a machine"""
    track: bool = False
    """log to Weights & Biases"""
    wandb_project_name: str = "fastppo"
    """W&B project"""
    wandb_entity: str | None = None
    """W&B entity (team or user)"""
    save_model: bool = False
    """save weights and normalisation statistics to <run dir>/agent.pt (benchmarks/evaluate.py plays it, --gif films it)"""
    run_dir: str | None = None
    """where metrics.jsonl (and the model) go; default runs/<env>__<script>__<seed>__<time>"""
    # >>> variant: hyperparameters of the advantage estimator
    gae_lambda: float = 0.95
    """GAE lambda of the undiscounted differential advantage"""
    rho_estimator: Literal["ema", "batch"] = "ema"
    """reward rate rho: ema = moving average of batch mean rewards (APO); batch = this batch's mean (ATRPO)"""
    rho_step_size: float = 0.1
    """step size of the rho moving average (and of the mean-value average of the value constraint)"""
    terminal_mode: Literal["absorb", "reset"] = "absorb"
    """absorb: an episode end is absorbing, h = 0 after a termination; reset: it flows on into the next episode"""
    reset_cost: float = 0.0
    """reset mode: subtracted from the reward at each termination (so ending an episode is not free)"""
    value_constraint: float = 1.0
    """nu, reset mode: value targets minus nu times a moving average of the mean value, so h does not drift"""
    # <<< variant


def fail(message: str):  # a user mistake: one line on stderr, exit code 2, no traceback
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def check_args(args: Args):
    for name in ["total_timesteps", "num_envs", "num_steps", "num_minibatches", "update_epochs", "hidden_size"]:
        if getattr(args, name) < 1:
            fail(f"--{name.replace('_', '-')}={getattr(args, name)} is not allowed: use an integer >= 1")
    for name in ["learning_rate", "max_grad_norm"] + (["target_kl"] if args.target_kl is not None else []):
        if not getattr(args, name) > 0:
            fail(f"--{name.replace('_', '-')}={getattr(args, name)} is not allowed: use a number > 0")
    for name in ["clip_coef", "ent_coef", "vf_coef", "threads"] + (["reward_clip"] if args.reward_clip is not None else []):
        if not getattr(args, name) >= 0:
            fail(f"--{name.replace('_', '-')}={getattr(args, name)} is not allowed: use a number >= 0")
    if not 0 <= args.seed < 2 ** 32:  # the seeds numpy takes
        fail(f"--seed={args.seed} is not allowed: use an integer in [0, 2**32 - 1]")
    batch = args.num_envs * args.num_steps
    if batch % args.num_minibatches:
        fail(f"--num-minibatches={args.num_minibatches} does not divide the batch num_envs*num_steps={batch}: "
             f"use a divisor of {batch}")
    if args.norm_adv and batch // args.num_minibatches < 2:  # the std of one advantage is undefined
        fail(f"--num-minibatches={args.num_minibatches} leaves {batch // args.num_minibatches} sample per minibatch, "
             f"too few to normalise advantages: use at most {batch // 2} minibatches, or --no-norm-adv")
    if args.total_timesteps < batch:
        fail(f"--total-timesteps={args.total_timesteps} is less than one batch (num_envs*num_steps={batch}): "
             f"use at least {batch}")
    # >>> variant: checks of the estimator's hyperparameters
    if not 0.0 <= args.gae_lambda <= 1.0:
        fail(f"--gae-lambda={args.gae_lambda} is not allowed: use a number in [0, 1]")
    if not 0.0 < args.rho_step_size <= 1.0:
        fail(f"--rho-step-size={args.rho_step_size} is not allowed: use a number in (0, 1]")
    for name in ["reset_cost", "value_constraint"]:
        if not getattr(args, name) >= 0:
            fail(f"--{name.replace('_', '-')}={getattr(args, name)} is not allowed: use a number >= 0")
    # <<< variant


def parse_env_kwargs(items: tuple[str, ...]) -> dict:
    """key=value pairs; values are Python literals (200, 0.5, True) or else plain strings."""
    kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            fail(f"--env-kwargs {item!r} is not allowed: use key=value, e.g. max_steps=100")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


def make_env(env_id: str, num_envs: int, seed: int, env_kwargs: dict | None = None, vector_mode: str = "sync"):
    """A vector env with same-step autoreset and episode statistics, from fastenvs or Gymnasium."""
    env_kwargs, wrappers = dict(env_kwargs or {}), []
    if env_id in fastenvs.names() or env_id.startswith("fastenvs/"):  # a name or a Gymnasium id: fastenvs/Breakout-v0
        try:  # the loop below needs same-step autoreset and the episode stats under "episode", as for Gymnasium's
            return fastenvs.make(env_id, num_envs, seed, **env_kwargs, autoreset_mode="same_step", stats_key="episode")
        except (ValueError, TypeError) as e:  # TypeError: --env-kwargs sets an option fixed here
            fail(str(e) if isinstance(e, ValueError) else f"--env-kwargs may not set autoreset_mode or stats_key: {e}")
    families = [("MinAtar/", "minatar.gym", "minatar"), ("ALE/", "ale_py", "atari"), ("procgen/", "fastenvs.procgen", "procgen")]
    for prefix, module, extra in families:
        try:  # an optional family's package is imported only when one of its envs is asked for
            family = importlib.import_module(module) if env_id.startswith(prefix) else None
        except ImportError:
            fail(f"--env {env_id} needs the {extra} extra: pip install -e '.[{extra}]'")
        if prefix == "MinAtar/" and family and env_id not in gym.registry:
            family.register_envs()
    if env_id.startswith("ALE/"):  # the standard preprocessing (Machado et al. 2018): whole games, raw score
        env_kwargs.setdefault("frameskip", 1)  # frames skipped by the wrapper
        wrappers = [lambda e: gym.wrappers.AtariPreprocessing(e, noop_max=30, frame_skip=4, screen_size=84),
                    lambda e: gym.wrappers.FrameStackObservation(e, 4)]
    if env_id not in gym.registry:
        fail(f"unknown env {env_id!r}: use a fastenvs name ({', '.join(fastenvs.names())}) or a Gymnasium id "
             "such as CartPole-v1")
    native = gym.spec(env_id).entry_point is None  # procgen/: vectorised by its own library, same-step autoreset built in
    if native and vector_mode != "sync":
        fail(f"--vector-mode {vector_mode} is not available for {env_id}: its own library steps all its envs")
    vector = {} if native else dict(vectorization_mode=vector_mode, wrappers=wrappers,
                                    vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
    try:  # same-step autoreset, so every kind of env flows through one code path below
        envs = gym.make_vec(env_id, num_envs=num_envs, **vector, **env_kwargs)
    except gym.error.DependencyNotInstalled as e:
        fail(f"--env {env_id} needs a missing package ({e}); MuJoCo tasks: pip install -e '.[mujoco]'")
    except (gym.error.Error, TypeError, ValueError) as e:  # an option the env does not take, or a value it refuses
        fail(f"cannot make Gymnasium env {env_id!r} with options {env_kwargs}: {e}")
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    if not (isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) in (1, 3)) or not (
            isinstance(act_space, gym.spaces.Discrete) or (isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1)):
        fail(f"env {env_id!r} has observation space {obs_space} and action space {act_space}: supported are Box "
             "observations, flat or images (H, W, C) or (C, H, W), and Discrete or 1-D Box actions")
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    envs.reset(seed=seed)
    return envs


class RunningMeanStd:
    """Mean and variance of everything seen so far, merged batch by batch (the parallel-variance formula)."""

    def __init__(self, shape=()):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x: np.ndarray):
        x = np.asarray(x, dtype=np.float64)
        delta, n = x.mean(0) - self.mean, x.shape[0]
        total = self.count + n
        self.var = (self.var * self.count + x.var(0) * n + delta ** 2 * self.count * n / total) / total
        self.mean, self.count = self.mean + delta * n / total, total

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -10, 10).astype(np.float32)


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


def conv_trunk(c: int, h: int, w: int):
    """A conv encoder sized to the input: one 3x3 layer for MinAtar-sized grids, the three-layer Atari
    encoder (Mnih et al. 2015) for frames of 36 px or more. -> (module, feature size)."""
    if min(h, w) < 36:
        convs, features = [layer_init(nn.Conv2d(c, 16, 3)), nn.ReLU()], 128
    else:
        convs, features = [layer_init(nn.Conv2d(c, 32, 8, stride=4)), nn.ReLU(), layer_init(nn.Conv2d(32, 64, 4, stride=2)),
                           nn.ReLU(), layer_init(nn.Conv2d(64, 64, 3)), nn.ReLU()], 512
    convs = nn.Sequential(*convs, nn.Flatten())
    with torch.no_grad():
        flat = convs(torch.zeros(1, c, h, w)).shape[1]
    return nn.Sequential(convs, layer_init(nn.Linear(flat, features)), nn.ReLU()), features


class Agent(nn.Module):
    """Flat obs: separate tanh MLPs for actor and critic. Images: one conv trunk that both heads share
    (the convolutions cost most; sharing them halves that). Discrete actions: categorical; Box actions:
    a diagonal Gaussian with a learned state-independent log-std."""

    def __init__(self, obs_space: gym.spaces.Box, action_space: gym.spaces.Space, args: Args):
        super().__init__()
        hidden, shape = args.hidden_size, obs_space.shape
        # >>> variant: what the critic predicts
        self.critic_outputs = 1  # the differential value h(s)
        # <<< variant
        self.continuous = isinstance(action_space, gym.spaces.Box)
        num_out = action_space.shape[0] if self.continuous else int(action_space.n)
        self.scale = 1.0 / 255 if obs_space.dtype == np.uint8 else 1.0
        if len(shape) == 3:  # (10, 10, 4) MinAtar, (84, 84, 3) RGB: H = W first; (4, 84, 84) Atari: C first
            a, b, c = shape  # at most one of the two can hold
            hwc, chw = a == b != c or c < min(a, b), b == c != a or a < min(b, c)
            if args.image_layout == "auto" and hwc == chw:
                fail(f"cannot tell the channel axis of image observations {shape}: state it with --image-layout hwc or chw")
        self.channels_last = len(shape) == 3 and (hwc if args.image_layout == "auto" else args.image_layout == "hwc")
        if len(shape) == 1:
            mlp = lambda: nn.Sequential(layer_init(nn.Linear(shape[0], hidden)), nn.Tanh(),
                                        layer_init(nn.Linear(hidden, hidden)), nn.Tanh())
            self.trunk, self.actor_body, self.critic_body, features = nn.Identity(), mlp(), mlp(), hidden
        else:
            c, h, w = (shape[2], shape[0], shape[1]) if self.channels_last else shape
            (self.trunk, features), self.actor_body, self.critic_body = conv_trunk(c, h, w), nn.Identity(), nn.Identity()
        self.critic_head = layer_init(nn.Linear(features, self.critic_outputs), std=1.0)
        self.actor_head = layer_init(nn.Linear(features, num_out), std=0.01)
        if self.continuous:
            self.actor_logstd = nn.Parameter(torch.zeros(num_out))

    def encode(self, x):
        x = x.float() * self.scale
        return self.trunk(x.permute(0, 3, 1, 2) if self.channels_last else x)

    def get_value(self, x):
        return self.critic_head(self.critic_body(self.encode(x)))

    def get_action_and_value(self, x, action=None, greedy=False):
        z = self.encode(x)
        out = self.actor_head(self.actor_body(z))
        dist = Normal(out, self.actor_logstd.exp().expand_as(out)) if self.continuous else Categorical(logits=out)
        if action is None:
            action = dist.sample() if not greedy else out if self.continuous else out.argmax(-1)
        logprob, entropy = dist.log_prob(action), dist.entropy()
        if self.continuous:  # independent dimensions: log-probs and entropies add up
            logprob, entropy = logprob.sum(-1), entropy.sum(-1)
        return action, logprob, entropy, self.critic_head(self.critic_body(z))


def explained_variance(pred: np.ndarray, target: np.ndarray) -> float | None:
    """1 - Var(target - pred) / Var(target); None where the target does not vary."""
    var = np.var(target) if target.size else 0.0
    return None if var == 0 else float(1 - np.var(target - pred) / var)


# >>> variant: helpers of the estimator
def centred_rate(rewards: np.ndarray, terminated: np.ndarray, args: Args) -> float:
    """The batch's mean of the rewards the kernel centres: in reset mode a termination also costs reset_cost."""
    if args.terminal_mode == "reset":
        return float((rewards - args.reset_cost * terminated).mean())
    return float(rewards.mean())


def value_targets(returns: np.ndarray, value_mean: float, args: Args) -> np.ndarray:
    """What h regresses onto. Reset mode: nothing fixes h's level (any constant solves the equations), so
    nu x (moving mean of h) pulls it to 0. Absorb mode: h = 0 after a termination already fixes the level,
    and a pull would bias every target away from the true differential values."""
    nu = args.value_constraint if args.terminal_mode == "reset" else 0.0
    return returns - nu * value_mean
# <<< variant


def main():
    args = tyro.cli(Args)
    check_args(args)
    script = os.path.basename(__file__).removesuffix(".py")
    run_dir = args.run_dir or os.path.join("runs", f"{args.env}__{script}__{args.seed}__{int(time.time())}")
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_iterations = args.total_timesteps // batch_size

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    envs = make_env(args.env, args.num_envs, args.seed, env_kwargs, args.vector_mode)
    os.makedirs(run_dir, exist_ok=True)
    metrics_file = open(os.path.join(run_dir, "metrics.jsonl"), "w")
    if args.track:
        import wandb

        wandb.init(project=args.wandb_project_name, entity=args.wandb_entity, config=asdict(args),
                   name=os.path.basename(run_dir), dir=run_dir)

    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    agent = Agent(obs_space, act_space, args).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    W = agent.critic_outputs
    # Flat float continuous-control obs come in arbitrary units; fastenvs' are O(1), images are scaled in the agent.
    # Rewards: by default the running std of the reward itself, so no discount reaches the gamma-free scripts.
    continuous, flat = agent.continuous, len(obs_space.shape) == 1
    obs_dtype = torch.uint8 if obs_space.dtype in (np.uint8, np.bool_) else torch.float32  # images stay uint8 until the agent
    if args.norm_obs == "on" and (not flat or obs_dtype == torch.uint8):
        fail(f"--norm-obs on is not allowed with {obs_space.dtype} observations {obs_space.shape}: use auto or off "
             "(it is for float observations; the agent scales images)")
    auto_norm = args.norm_obs == "auto" and flat and continuous and obs_dtype == torch.float32
    obs_rms = RunningMeanStd(obs_space.shape) if args.norm_obs == "on" or auto_norm else None
    reward_rms = RunningMeanStd() if args.reward_scale in ("std", "return") or (args.reward_scale == "auto" and continuous) else None
    running_return = np.zeros(args.num_envs)  # --reward-scale return only; reset where an episode ends
    reward_clip = args.reward_clip if args.reward_clip is not None else (1.0 if not continuous else 10.0 if reward_rms else 0.0)
    prep = obs_rms.normalize if obs_rms else np.asarray  # the agent casts what it gets to float
    to_env = (lambda a: np.clip(a, act_space.low, act_space.high)) if continuous else (lambda a: a)  # the log-prob is of the unclipped sample

    # Rollout storage, time-major [T, N, ...] as the kernels expect.
    obs = torch.zeros((args.num_steps, args.num_envs, *obs_space.shape), dtype=obs_dtype, device=device)
    actions = torch.zeros((args.num_steps, args.num_envs, *act_space.shape), dtype=torch.float32 if continuous else torch.long,
                          device=device)
    logprobs = torch.zeros((args.num_steps, args.num_envs), device=device)
    values = torch.zeros((args.num_steps, args.num_envs, W), device=device)
    final_values = torch.zeros((args.num_steps, args.num_envs, W), device=device)  # V(pre-reset obs)
    rewards = np.zeros((args.num_steps, args.num_envs), dtype=np.float32)
    terminated = np.zeros((args.num_steps, args.num_envs), dtype=np.bool_)
    truncated = np.zeros((args.num_steps, args.num_envs), dtype=np.bool_)
    # >>> variant: state the estimator carries across iterations
    rho = None  # reward-rate estimate; the first batch sets it
    value_mean = None  # moving average of the batch's mean value, for the value constraint
    # <<< variant

    recent_returns, recent_scores, recent_lengths = deque(maxlen=100), deque(maxlen=100), deque(maxlen=100)
    episodes = 0
    global_step = 0
    start_time = time.time()
    # CPU envs, GPU learner: each step's obs goes through one pinned staging buffer, so the copy up is
    # asynchronous; the sync that follows it anyway (the actions coming down) orders it before reuse.
    obs_host = torch.zeros((args.num_envs, *obs_space.shape), dtype=obs_dtype, pin_memory=device.type == "cuda")

    def to_device(x: np.ndarray) -> torch.Tensor:
        if obs_rms:
            obs_rms.update(x)
        obs_host.copy_(torch.from_numpy(prep(x)))
        return obs_host.to(device, non_blocking=True)

    next_obs_np, _ = envs.reset(seed=args.seed)
    next_obs = to_device(next_obs_np)

    for iteration in range(1, num_iterations + 1):
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / num_iterations) * args.learning_rate

        final_values.zero_()
        ended_scores, ended_returns = [], []  # the episodes that ended in this iteration: its fresh scores
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
            values[step] = value
            actions[step] = action
            logprobs[step] = logprob

            next_obs_np, reward, term, trunc, infos = envs.step(to_env(action.cpu().numpy()))
            if reward_rms:
                running_return = running_return * 0.99 + reward
                reward_rms.update(running_return if args.reward_scale == "return" else reward)
                reward, running_return[term | trunc] = reward / np.sqrt(reward_rms.var + 1e-8), 0.0
            rewards[step] = np.clip(reward, -reward_clip, reward_clip) if reward_clip else reward
            terminated[step], truncated[step] = term, trunc
            next_obs = to_device(next_obs_np)
            # Same-step autoreset: next_obs of an ended env is already a new episode. A truncated
            # episode would have gone on, so its bootstrap comes from the pre-reset obs in final_obs.
            cut = np.flatnonzero(trunc & ~term)
            if len(cut):
                last_obs = prep(np.stack(infos["final_obs"][cut]))
                with torch.no_grad():
                    final_values[step, cut] = agent.get_value(torch.as_tensor(last_obs, device=device))
            if "_episode" in infos:
                ended = np.flatnonzero(infos["_episode"])
                ep = infos["episode"]
                ended_returns += ep["r"][ended].tolist()
                ended_scores += ep.get("score", ep["r"])[ended].tolist()
                recent_lengths.extend(ep["l"][ended].tolist())
                episodes += len(ended)

        recent_returns.extend(ended_returns), recent_scores.extend(ended_scores)
        with torch.no_grad():
            bootstrap = agent.get_value(next_obs)
        values_np, final_np, bootstrap_np = values.cpu().numpy(), final_values.cpu().numpy(), bootstrap.cpu().numpy()
        # >>> variant: advantage estimation
        # Centre this batch with the estimate that already includes it: its rewards are the freshest
        # measure of the current policy's rate (an older estimate lags the last update), and with
        # --rho-estimator batch the centred rewards (reset costs included) then sum to exactly zero.
        reward_rate, rate, batch_value = float(rewards.mean()), centred_rate(rewards, terminated, args), float(values_np.mean())
        fresh = rho is None or args.rho_estimator == "batch"
        rho = rate if fresh else rho + args.rho_step_size * (rate - rho)
        value_mean = batch_value if value_mean is None else value_mean + args.rho_step_size * (batch_value - value_mean)
        advantages, returns = kernels.avg_reward_gae(rewards, values_np[..., 0], terminated, truncated, bootstrap_np[:, 0],
                                                     final_np[..., 0], rho, args.gae_lambda, args.terminal_mode,
                                                     args.reset_cost)
        targets = value_targets(returns, value_mean, args)[..., None]
        variant_metrics = {"explained_variance": explained_variance(values_np[..., 0], returns), "rho": rho,
                           "reward_rate": reward_rate, "centred_rate": rate, "mean_value": batch_value}
        # <<< variant

        b_obs = obs.reshape((-1, *obs_space.shape))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1, *act_space.shape))
        b_advantages = torch.as_tensor(advantages, device=device).reshape(-1)
        b_targets = torch.as_tensor(targets, device=device).reshape((-1, W))
        b_values = values.reshape((-1, W))
        # >>> variant: per-sample extras of the value loss
        # <<< variant

        clipfrac_sum, num_minibatches = torch.zeros((), device=device), 0  # summed on the device: no sync per minibatch
        for epoch in range(args.update_epochs):
            b_inds = torch.randperm(batch_size, device=device)
            for start in range(0, batch_size, minibatch_size):
                mb_inds = b_inds[start:start + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()  # low-variance KL estimate
                    clipfrac_sum += ((ratio - 1.0).abs() > args.clip_coef).float().mean()
                    num_minibatches += 1

                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss = torch.max(-mb_advantages * ratio,
                                    -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)).mean()

                # >>> variant: value loss
                v_err = (newvalue - b_targets[mb_inds]) ** 2
                if args.clip_vloss:
                    v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -args.clip_coef,
                                                                args.clip_coef)
                    v_err = torch.max(v_err, (v_clipped - b_targets[mb_inds]) ** 2)
                v_loss = 0.5 * v_err.mean()
                # <<< variant
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        elapsed = time.time() - start_time
        sps = global_step / elapsed
        mean = lambda xs: float(np.mean(xs)) if xs else None
        metrics = {
            "iteration": iteration, "global_step": global_step, "time": round(elapsed, 3), "sps": round(sps, 1), "num_envs": args.num_envs,
            "episodes": episodes, "episode_return": mean(recent_returns), "episode_score": mean(recent_scores),
            "episode_length": mean(recent_lengths), "learning_rate": optimizer.param_groups[0]["lr"],
            "ended_episodes": len(ended_scores), "ended_score": mean(ended_scores), "ended_return": mean(ended_returns),
            "value_loss": v_loss.item(), "policy_loss": pg_loss.item(), "entropy": entropy_loss.item(),
            "approx_kl": approx_kl.item(), "clipfrac": clipfrac_sum.item() / num_minibatches, **variant_metrics,
        }
        print(json.dumps(metrics), file=metrics_file, flush=True)
        if args.track:
            wandb.log(metrics, step=global_step)
        fmt = lambda x: "-" if x is None else f"{x:.2f}"
        eta = (args.total_timesteps - global_step) / sps
        print(f"step {global_step:>10,d} {100 * iteration / num_iterations:5.1f}% | {sps:7,.0f} sps | "
              f"eta {eta / 60:5.1f} min | return {fmt(metrics['episode_return'])} score "
              f"{fmt(metrics['episode_score'])} | vloss {metrics['value_loss']:.3f} pgloss "
              f"{metrics['policy_loss']:+.3f} ent {metrics['entropy']:.3f} kl {metrics['approx_kl']:.4f}", flush=True)

    if args.save_model:  # everything an evaluation needs to rebuild the agent and see what it saw
        torch.save({"script": script, "args": asdict(args), "model": agent.state_dict(),
                    "obs_rms": vars(obs_rms) if obs_rms else None}, os.path.join(run_dir, "agent.pt"))
    metrics_file.close()
    envs.close()
    if args.track:
        wandb.finish()
    print(f"done: {args.env}, {global_step:,d} steps in {time.time() - start_time:.0f} s, "
          f"score {fmt(metrics['episode_score'])} over the last {len(recent_scores)} episodes, run dir {run_dir}")


if __name__ == "__main__":
    main()
