"""What a config's sizes ask of the machine's memory (`wsdiag.limits.check_allocation`): the
replay buffers, networks and update batches of both agents, the probes' perturbed actions."""

from __future__ import annotations

from wsdiag.config.algorithms import ALGORITHMS, own_params
from wsdiag.config.schema import BUFFER_ROW_BYTES, NETWORK_COPIES, AgentConfig, Config
from wsdiag.limits import check_allocation, mlp_parameters


def network_parameters(agent: AgentConfig, obs_dim: int, act_dim: int) -> int:
    """About the parameters of an agent's networks: its actor (mean and log-std heads), its
    critic ensemble and the networks its algorithm adds (IQL's value, BCQ's perturbation)."""
    ensemble = agent.ensemble or ALGORITHMS[agent.algo].ensemble
    sizes = [[obs_dim, *agent.hidden, 2 * act_dim]]
    sizes += [[obs_dim + act_dim, *agent.hidden, 1]] * ensemble
    sizes += own_params(agent).networks(obs_dim, act_dim, agent.hidden)
    return sum(mlp_parameters(s) for s in sizes)


def _agent_memory(agent: AgentConfig, where: str, obs_dim: int, act_dim: int, buffer: bool) -> None:
    """The replay buffer (when the agent collects one), the networks and one update's
    activations of an agent must each fit in the machine's memory."""
    if buffer:
        row = 4 * (2 * obs_dim + act_dim) + BUFFER_ROW_BYTES
        check_allocation(
            f"{where}.buffer_size = {agent.buffer_size}: the replay buffer",
            agent.buffer_size * row,
        )
    params = network_parameters(agent, obs_dim, act_dim)
    check_allocation(
        f"{where}.hidden = {list(agent.hidden)}: the agent's networks (with their targets and "
        "Adam's moments)",
        NETWORK_COPIES * 4 * params,
    )
    ensemble = agent.ensemble or ALGORITHMS[agent.algo].ensemble
    rows = agent.batch_size * own_params(agent).rows_per_sample()
    check_allocation(
        f"{where}.batch_size = {agent.batch_size}: one update's activations (and gradients)",
        2 * 4 * rows * ensemble * sum(agent.hidden),
    )


def check_memory(config: Config, obs_dim: int = 1, act_dim: int = 1) -> None:
    """Refuse sizes the machine's memory cannot hold. With the default dimensions (1, the
    fewest an environment has) it is a lower bound that needs no environment; with the
    environment's own it is the estimate of the run."""
    pre, probes = config.pretrain, config.probes
    if pre.source in ("online", "offline"):  # trained here; an online run collects a buffer
        _agent_memory(pre, "pretrain", obs_dim, act_dim, buffer=pre.source == "online")
    _agent_memory(config.finetune, "finetune", obs_dim, act_dim, buffer=True)
    per_action = 4 * (act_dim + 1)  # a float32 action and its value
    check_allocation(
        "probes.states: the behavioural probe set", probes.states * 4 * (obs_dim + act_dim)
    )
    for count, name in (("n_perturb", "Q-percentile"), ("drift_actions", "Q-softmax KL")):
        check_allocation(
            f"probes.states x probes.{count}: the {name}'s actions",
            probes.states * getattr(probes, count) * per_action,
        )
    check_allocation(
        "probes.landscape_states x probes.landscape_perturb: the landscape's actions",
        probes.landscape_states * probes.landscape_perturb * per_action,
    )
