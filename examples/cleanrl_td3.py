"""TD3 fine-tuned from a warm start, in one file in the style of CleanRL, recorded by wsdiag.

The script pretrains TD3 online for `--pretrain-steps` steps, keeps a copy of the pretrained
actor and critics as the reference, then fine-tunes from that warm start with a new replay
buffer: the pretrained actor (and, with `--load-critic`, the critics; else new ones) acts while
the critics learn for `--learning-starts` steps, then TD3's delayed policy updates begin. With
the default fresh critics this is the setting in which the return dips once the policy updates
start (docs/diagnosis.md).

wsdiag is the 13 lines with a `wsdiag` comment (at most 15; deleted, the script trains the same):
they record the fine-tuning into `--out`, a run directory that `wsdiag report` and
`wsdiag diagnose` read. The networks given to wsdiag work in the environment's units.

    python -m examples.cleanrl_td3 --out runs/cleanrl_td3
    wsdiag diagnose runs/cleanrl_td3

The defaults (6,000 pretraining steps, enough for a policy well above random on Pendulum-v1,
then 4,000 fine-tuning steps) take about 1.5 minutes on two CPU cores; fewer pretraining steps
leave a policy no better than random, which `wsdiag diagnose` does not judge.
"""

from __future__ import annotations

import argparse
import copy
import random
import time
from dataclasses import dataclass, fields
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from wsdiag.api import Phases, probe_set_from_arrays, record  # wsdiag


@dataclass
class Args:
    out: str = "runs/cleanrl_td3"  # the run directory wsdiag records into (a new folder)
    env_id: str = "Pendulum-v1"  # a gymnasium environment with a Box action space
    seed: int = 1  # seeds Python, numpy, torch and the environment
    threads: int = 1  # torch CPU threads (small networks gain nothing from more)
    hidden: int = 256  # units of both hidden layers of every network
    pretrain_steps: int = 6_000  # environment steps of the pretraining run
    pretrain_random_steps: int = 1_000  # of which uniformly random actions, no updates
    total_steps: int = 4_000  # environment steps of the fine-tuning (the online stage)
    learning_starts: int = 1_000  # fine-tuning steps before policy updates (critics learn)
    load_critic: bool = False  # fine-tune the pretrained critics too (else new ones)
    buffer_size: int = 100_000  # replay buffer capacity (each stage has its own buffer)
    batch_size: int = 256  # transitions per update
    learning_rate: float = 1e-3  # Adam's step size for the actor and the critics
    gamma: float = 0.99  # discount
    tau: float = 0.005  # target networks' soft-update rate
    exploration_noise: float = 0.1  # Gaussian action noise, in half-ranges of the action box
    policy_noise: float = 0.2  # target policy smoothing noise, in half-ranges
    noise_clip: float = 0.5  # its clip, in half-ranges
    policy_frequency: int = 2  # critic updates per actor (and target) update
    eval_every: int = 500  # fine-tuning steps between wsdiag's evaluations
    eval_episodes: int = 5  # episodes per evaluation
    probe_every: int = 500  # fine-tuning steps between wsdiag's probe runs


def parse_args(argv: list[str] | None = None) -> Args:
    """Args from the command line: one option per field, `--load-critic` a switch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for f in fields(Args):
        flag, default = "--" + f.name.replace("_", "-"), f.default
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=f"({default})")
    return Args(**vars(parser.parse_args(argv)))


class QNetwork(nn.Module):
    """Q(s, a) [N, 1], a in the environment's units."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(obs_dim + act_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, act], dim=-1))


class QEnsemble(nn.ModuleList):
    """Q_e(s, a) of each of its critics [E, N] (TD3's two), a in the environment's units."""

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return torch.cat([q(obs, act).T for q in self])


class Actor(nn.Module):
    """pi(s) [N, da] within the action box [low, high]."""

    def __init__(self, obs_dim: int, low: np.ndarray, high: np.ndarray, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, len(low)),
        )
        self.register_buffer("scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor((high + low) / 2, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs)) * self.scale + self.bias


class ReplayBuffer:
    """A ring of transitions in numpy arrays; terminations kept apart from time limits."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int) -> None:
        self.capacity, self.size, self.pos = capacity, 0, 0
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.pos, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> list[torch.Tensor]:
        """n transitions drawn uniformly: obs, actions, rewards, next_obs, terminated."""
        i = rng.integers(0, self.size, n)
        arrays = (self.obs, self.actions, self.rewards, self.next_obs, self.terminated)
        return [torch.as_tensor(a[i]) for a in arrays]

    def latest(self, n: int) -> tuple[np.ndarray, ...]:
        """The newest n transitions, oldest first: obs, actions, rewards, next_obs, terminated."""
        i = (self.pos - np.arange(min(n, self.size), 0, -1)) % self.capacity
        return self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.terminated[i]


class TD3:
    """The networks and optimisers of one TD3 agent, its targets copies of them."""

    def __init__(self, actor: Actor, critic: QEnsemble, lr: float) -> None:
        self.actor, self.critic = actor, critic
        self.actor_target, self.critic_target = copy.deepcopy(actor), copy.deepcopy(critic)
        self.actor_optimizer = torch.optim.Adam(actor.parameters(), lr=lr)
        self.critic_optimizer = torch.optim.Adam(critic.parameters(), lr=lr)


def update(agent: TD3, batch: list[torch.Tensor], args: Args, delayed: bool, actor: bool) -> dict:
    """One TD3 update: every critic towards the clipped double-Q target; on a `delayed` step
    (one in args.policy_frequency), with `actor` the actor up Q_1, and the target networks a
    soft step towards theirs."""
    obs, actions, rewards, next_obs, terminated = batch
    scale, bias = agent.actor.scale, agent.actor.bias
    with torch.no_grad():
        clip = args.noise_clip
        noise = (torch.randn_like(actions) * args.policy_noise).clamp(-clip, clip) * scale
        next_actions = (agent.actor_target(next_obs) + noise).clamp(bias - scale, bias + scale)
        next_q = agent.critic_target(next_obs, next_actions).min(dim=0).values
        target = rewards + args.gamma * (1 - terminated) * next_q
    q = agent.critic(obs, actions)  # [2, N]
    critic_loss = ((q - target) ** 2).mean(dim=1).sum()
    agent.critic_optimizer.zero_grad()
    critic_loss.backward()
    agent.critic_optimizer.step()
    metrics = {"losses/critic_loss": critic_loss.item(), "losses/q_values": q.mean().item()}
    if delayed and actor:
        actor_loss = -agent.critic[0](obs, agent.actor(obs)).mean()
        agent.actor_optimizer.zero_grad()
        actor_loss.backward()
        agent.actor_optimizer.step()
        metrics["losses/actor_loss"] = actor_loss.item()
    if delayed:
        pairs = [(agent.actor, agent.actor_target), (agent.critic, agent.critic_target)]
        with torch.no_grad():
            for net, target_net in pairs:
                for p, tp in zip(net.parameters(), target_net.parameters(), strict=True):
                    tp.lerp_(p, args.tau)
    return metrics


def act(actor: Actor, obs: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """pi(s) plus Gaussian noise of `noise` half-ranges, clipped to the action box."""
    with torch.no_grad():
        a = actor(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))[0]
    scale, bias = actor.scale.numpy(), actor.bias.numpy()
    a = a.numpy() + rng.normal(0.0, noise, a.shape) * scale
    return np.clip(a, bias - scale, bias + scale).astype(np.float32)


def new_critic(obs_dim: int, act_dim: int, hidden: int) -> QEnsemble:
    return QEnsemble([QNetwork(obs_dim, act_dim, hidden) for _ in range(2)])


def pretrain(args: Args, env: gym.Env, rng: np.random.Generator) -> TD3:
    """TD3 from scratch for args.pretrain_steps steps: the agent to warm-start from."""
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    actor = Actor(obs_dim, low, high, args.hidden)
    agent = TD3(actor, new_critic(obs_dim, act_dim, args.hidden), args.learning_rate)
    rb = ReplayBuffer(args.buffer_size, obs_dim, act_dim)
    obs, _ = env.reset(seed=args.seed)
    episode_return = 0.0
    for global_step in range(args.pretrain_steps):
        if global_step < args.pretrain_random_steps:
            action = env.action_space.sample()
        else:
            action = act(agent.actor, obs, args.exploration_noise, rng)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rb.add(obs, action, reward, next_obs, terminated)
        obs, episode_return = next_obs, episode_return + float(reward)
        if terminated or truncated:
            print(f"pretrain step={global_step + 1} episodic_return={episode_return:.1f}")
            (obs, _), episode_return = env.reset(), 0.0
        if global_step >= args.pretrain_random_steps and rb.size >= args.batch_size:
            delayed = global_step % args.policy_frequency == 0
            update(agent, rb.sample(args.batch_size, rng), args, delayed, actor=True)
    return agent


def main(argv: list[str] | None = None) -> Path | None:
    """Pretrain, warm-start, fine-tune; returns the run directory wsdiag recorded."""
    args = parse_args(argv)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    env = gym.make(args.env_id)
    env.action_space.seed(args.seed)
    assert isinstance(env.action_space, gym.spaces.Box), "TD3 needs a continuous action space"
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]

    reference = pretrain(args, env, rng)  # the pretrained agent, never trained again
    critic = reference.critic if args.load_critic else new_critic(obs_dim, act_dim, args.hidden)
    agent = TD3(copy.deepcopy(reference.actor), copy.deepcopy(critic), args.learning_rate)
    rb = ReplayBuffer(args.buffer_size, obs_dim, act_dim)  # the online stage's own buffer

    run = record(  # wsdiag: record the fine-tuning into args.out (docs/api.md)
        args.out, env=args.env_id, trainer="cleanrl", seed=args.seed, gamma=args.gamma,  # wsdiag
        actor=agent.actor, critic=agent.critic, critic_target=agent.critic_target,  # wsdiag
        reference_actor=reference.actor, reference_critic=reference.critic,  # wsdiag
        critic_loaded=args.load_critic, eval_every=args.eval_every,  # wsdiag
        eval_episodes=args.eval_episodes, probe_every=args.probe_every,  # wsdiag
        online=lambda n: probe_set_from_arrays(args.env_id, *rb.latest(n)),  # wsdiag
        phases=Phases(total_steps=args.total_steps, policy_start=args.learning_starts,  # wsdiag
                      update_start=args.learning_starts))  # wsdiag  # fmt: skip

    start = time.perf_counter()
    obs, _ = env.reset(seed=args.seed + 1)
    episode_return = 0.0
    for global_step in range(args.total_steps):
        action = act(agent.actor, obs, args.exploration_noise, rng)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rb.add(obs, action, reward, next_obs, terminated)
        obs, episode_return = next_obs, episode_return + float(reward)
        if terminated or truncated:
            print(f"finetune step={global_step + 1} episodic_return={episode_return:.1f}")
            run.log(global_step + 1, {"episode_return": episode_return})  # wsdiag
            (obs, _), episode_return = env.reset(), 0.0
        if rb.size >= args.batch_size:
            delayed = global_step % args.policy_frequency == 0
            policy = global_step >= args.learning_starts
            update(agent, rb.sample(args.batch_size, rng), args, delayed, actor=policy)
        run.step(global_step + 1)  # wsdiag: after this step's updates
    print(f"fine-tuned {args.total_steps} steps in {time.perf_counter() - start:.1f} s")
    return run.close()  # wsdiag


if __name__ == "__main__":
    main()
