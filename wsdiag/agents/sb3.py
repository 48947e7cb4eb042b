"""Stable-Baselines3 models as pretrained agents: a `model.save()` zip read without unpickling.

Supported: TD3 and DDPG (`TD3Policy`, SB3's `MlpPolicy`) and SAC (`SACPolicy`, without gSDE) on
flat Box observations and Box actions, with SB3's `FlattenExtractor` and ReLU activations. Three
members of the zip are read: `data` as JSON (the fields SB3 cloudpickled, base64 strings under
":serialized:", are never decoded), `policy.pth` and `pytorch_variables.pth` with
`torch.load(weights_only=True)`, which refuses any pickled object that is not plain tensors.
Each member's declared size is checked before it is read, and read no further than its cap
(MEMBER_CAPS): the JSON `data` (some KiB), `policy.pth` (a few MiB for SB3's default networks)
and the two small ones.

The layer widths come from the weight shapes in `policy.pth` (checked against the clear
`net_arch` when the zip has one); the activation from the text SB3 writes in clear beside a
pickled `policy_kwargs` ("<class 'torch.nn.modules.activation.ReLU'>"), and is SB3's default,
ReLU, when the kwargs name none. The mapping onto wsdiag's networks (weights are [out, in]):

    actor.mu.{2i}           -> actor.net.{2i}             TD3/DDPG; tanh at the end in both
    actor_target.mu.{2i}    -> actor_target.net.{2i}
    actor.latent_pi.{2i}    -> actor.trunk.{2i}           SAC
    actor.mu, actor.log_std -> actor.head                 rows stacked: mean, then log-std
    critic.qf{e}.{2i}       -> critic.linears[i], member e, transposed to [in, out]; input (s, a)
    critic_target.qf{e}     -> critic_target, likewise
    log_ent_coef            -> log_alpha                  SAC; a fixed ent_coef: log(ent_coef)

Actions: SB3's `predict` maps a policy's squashed action a in [-1, 1] to low + (a + 1) (high -
low) / 2, the map of wsdiag's rescaling (`make_env`), so the actor is used as it is once the
model's action bounds are checked equal to the environment's. SB3's critics take the same
[-1, 1] actions (its replay buffer stores them rescaled).
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor, nn

from wsdiag.agents import ActorCritic, make_agent
from wsdiag.agents.checkpoint import UNREADABLE, Checkpoint, agent_config_dict
from wsdiag.config import AgentConfig, PretrainConfig
from wsdiag.envs import action_bounds, space_dims
from wsdiag.errors import WsdiagError
from wsdiag.limits import human_bytes
from wsdiag.safe_files import check_torch_file, first_line

SUPPORTED = (
    "supported: TD3, DDPG and SAC models with MlpPolicy (TD3Policy, SACPolicy) on flat Box "
    "observations and Box actions, ReLU activations, no gSDE"
)
DATA, POLICY, VARIABLES, VERSION = (
    "data",
    "policy.pth",
    "pytorch_variables.pth",
    "_stable_baselines3_version",
)
# The most bytes each member read may hold: `data` is some KiB of JSON; policy.pth holds the
# actor, critics and their targets (SB3's default widths on a 376-dim Humanoid: about 1 M
# float32 parameters, 4 MiB), so its cap admits 32 M (2048-2048 networks there); the version
# and pytorch_variables.pth are tiny.
MEMBER_CAPS = {DATA: 16 << 20, POLICY: 128 << 20, VARIABLES: 1 << 20, VERSION: 1 << 10}
# Policy classes (module, name) -> wsdiag's actor family; MlpPolicy is an alias of each.
POLICIES = {
    ("stable_baselines3.td3.policies", "TD3Policy"): "deterministic",
    ("stable_baselines3.sac.policies", "SACPolicy"): "sac",
}
# What a refused policy class usually is, for the error.
KNOWN = {
    "ActorCriticPolicy": "an on-policy model (PPO, A2C)",
    "ActorCriticCnnPolicy": "an on-policy CNN model (PPO, A2C)",
    "MultiInputActorCriticPolicy": "an on-policy Dict-observation model (PPO, A2C)",
    "CnnPolicy": "a CnnPolicy (image observations)",
    "MultiInputPolicy": "a MultiInputPolicy (Dict observations)",
    "DQNPolicy": "a DQN model (discrete actions)",
}
RELU = "torch.nn.modules.activation.ReLU"
FLATTEN = "stable_baselines3.common.torch_layers.FlattenExtractor"
# policy_kwargs that leave the forward pass of a non-gSDE MlpPolicy as the mapping describes.
NEUTRAL_KWARGS = frozenset(
    ("net_arch", "activation_fn", "n_critics", "share_features_extractor", "optimizer_class",
     "optimizer_kwargs", "normalize_images", "features_extractor_class", "use_sde",
     "log_std_init", "use_expln", "clip_mean")
)  # fmt: skip
CLASS_REPR = re.compile(r"<class '([\w.]+)'>")
INIT_REPR = re.compile(r"<function (\w+)\.__init__ at ")
BOX = ("gymnasium.spaces.box.Box", "gym.spaces.box.Box")

Linear = tuple[Tensor, Tensor]  # an nn.Linear's (weight [out, in], bias [out])


@dataclass(frozen=True)
class SB3Model:
    """What wsdiag takes from an SB3 zip: the policy family, spaces and networks."""

    path: Path
    family: str  # "deterministic" (TD3, DDPG) | "sac"
    version: str  # the SB3 version that saved it
    obs_shape: tuple[int, ...]
    act_shape: tuple[int, ...]
    act_low: np.ndarray
    act_high: np.ndarray
    actor: list[Linear]  # TD3: actor.mu; SAC: actor.latent_pi then the mean head actor.mu
    actor_target: list[Linear]  # TD3: actor_target.mu; SAC: none
    log_std: Linear | None  # SAC: the log-std head actor.log_std
    critics: list[list[Linear]]  # critic.qf0, qf1, ...
    critic_targets: list[list[Linear]]
    log_ent_coef: float | None  # SAC's log(alpha)
    data: dict[str, Any]  # the zip's `data` JSON

    @property
    def algo(self) -> str:
        """wsdiag's algorithm: SAC, TD3, or DDPG for a single critic (as SB3's DDPG)."""
        if self.family == "sac":
            return "sac"
        return "ddpg" if len(self.critics) == 1 else "td3"

    @property
    def pi(self) -> tuple[int, ...]:
        """The actor's hidden widths."""
        return widths(self.actor)

    @property
    def qf(self) -> tuple[int, ...]:
        """Each critic's hidden widths."""
        return widths(self.critics[0])

    def parts(self) -> list[str]:
        """The wsdiag parts filled from the zip: the critic only where its widths equal the
        actor's, since one `hidden` serves both in wsdiag."""
        parts = ["actor", "log_alpha"] if self.family == "sac" else ["actor", "actor_target"]
        return parts + (["critic", "critic_target"] if self.qf == self.pi else [])

    def fail(self, message: str) -> WsdiagError:
        return WsdiagError(f"SB3 model {self.path}: {message}")


def widths(layers: list[Linear]) -> tuple[int, ...]:
    return tuple(int(w.shape[0]) for w, _ in layers[:-1])


# ----------------------------------------------------------------------------- reading the zip


def read_sb3(path: str | Path) -> SB3Model:
    """Read and check an SB3 `model.save()` zip (see the module docstring); nothing is
    unpickled."""
    path = Path(path)
    where = f"SB3 model {path}"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [n for n in (DATA, POLICY) if n not in names]
            if missing:
                raise WsdiagError(f"{where}: not an SB3 model.save() zip (no {missing[0]})")
            data = json.loads(_member(archive, DATA, where))
            weights = _tensors(_member(archive, POLICY, where), where, POLICY)
            variables = (
                _tensors(_member(archive, VARIABLES, where), where, VARIABLES)
                if VARIABLES in names
                else {}
            )
            version = (
                _member(archive, VERSION, where).decode().strip() if VERSION in names else "unknown"
            )
    except (*UNREADABLE, UnicodeDecodeError) as exc:
        raise WsdiagError(f"{where}: cannot read it: {first_line(exc)}") from exc
    if not isinstance(data, dict):
        raise WsdiagError(f"{where}: its data file is not a JSON object")
    family = _policy_family(data.get("policy_class"), where)
    kwargs = _policy_kwargs(data.get("policy_kwargs", {}), where)
    if data.get("use_sde") or kwargs.get("use_sde"):
        raise WsdiagError(f"{where}: gSDE (use_sde = True) is not supported; {SUPPORTED}")
    obs_shape, _, _ = _box(data.get("observation_space"), "observation", where)
    act_shape, low, high = _box(data.get("action_space"), "action", where)
    if len(obs_shape) != 1 or len(act_shape) != 1:
        raise WsdiagError(
            f"{where}: observations of shape {obs_shape} and actions of shape {act_shape} are "
            f"not both flat (image observations?); {SUPPORTED}"
        )
    if low is None or high is None:
        raise WsdiagError(f"{where}: its action bounds are not readable")
    model = SB3Model(
        path, family, version, obs_shape, act_shape, low, high,
        **networks_of(family, weights, where),
        log_ent_coef=_log_ent_coef(family, data, variables, where), data=data,
    )  # fmt: skip
    _check_declared(model, kwargs)
    return model


def _member(archive: zipfile.ZipFile, name: str, where: str) -> bytes:
    """A member's bytes, refused unread when it declares more than its cap (MEMBER_CAPS); the
    read stops at the cap whatever the member holds (zipfile also stops at the declared size)."""
    cap, size = MEMBER_CAPS[name], archive.getinfo(name).file_size
    if size > cap:
        raise WsdiagError(
            f"{where}: its {name} declares {human_bytes(size)}, more than the "
            f"{human_bytes(cap)} an SB3 model's {name} may hold"
        )
    with archive.open(name) as fh:
        return fh.read(cap)


def _tensors(raw: bytes, where: str, name: str) -> dict[str, Tensor]:
    """A dict of tensors saved with torch.save, read with weights_only=True (no code runs)
    once its records are checked not to inflate (`check_torch_file`)."""
    check_torch_file(raw, f"{where}: {name}")
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except UNREADABLE as exc:
        raise WsdiagError(
            f"{where}: {name} is not plain tensors, refused unread ({first_line(exc)})"
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WsdiagError(f"{where}: {name} is not a dict of tensors")
    return state


def _class_name(entry: Any) -> str | None:
    """The class path in the clear text SB3 writes for a class ("<class 'a.b.C'>")."""
    match = CLASS_REPR.fullmatch(entry) if isinstance(entry, str) else None
    return match.group(1) if match else None


def _policy_family(entry: Any, where: str) -> str:
    """deterministic | sac, from the policy class's clear `__module__` and `__init__` name."""
    if not isinstance(entry, dict):
        raise WsdiagError(f"{where}: its data has no policy_class; {SUPPORTED}")
    module, init = entry.get("__module__"), entry.get("__init__")
    match = INIT_REPR.match(init) if isinstance(init, str) else None
    name = match.group(1) if match else None
    family = POLICIES.get((module, name))
    if family is None:
        what = KNOWN.get(name or "", f"policy class {module}.{name or '?'}")
        raise WsdiagError(f"{where}: {what} is not supported; {SUPPORTED}")
    return family


def _policy_kwargs(entry: Any, where: str) -> dict[str, Any]:
    """policy_kwargs as SB3 wrote them: a JSON object or, when pickled, its keys in clear (each
    value JSON or its str()). Keys that would change the forward pass are refused."""
    if not isinstance(entry, dict):
        raise WsdiagError(f"{where}: policy_kwargs is not readable as JSON")
    kwargs = {k: v for k, v in entry.items() if not k.startswith(":")}
    unknown = sorted(set(kwargs) - NEUTRAL_KWARGS)
    if unknown:
        raise WsdiagError(f"{where}: policy_kwargs {unknown[0]!r} is not supported; {SUPPORTED}")
    activation = kwargs.get("activation_fn", f"<class '{RELU}'>")
    if _class_name(activation) != RELU:
        raise WsdiagError(
            f"{where}: activation_fn {_class_name(activation) or activation!r} is not supported: "
            "wsdiag's networks use ReLU, SB3's default"
        )
    extractor = kwargs.get("features_extractor_class", f"<class '{FLATTEN}'>")
    if _class_name(extractor) != FLATTEN:
        raise WsdiagError(
            f"{where}: features extractor {_class_name(extractor) or extractor!r} is not "
            f"supported; {SUPPORTED}"
        )
    return kwargs


def _box(entry: Any, kind: str, where: str) -> tuple[tuple[int, ...], Any, Any]:
    """(shape, low, high) of a Box space from the clear fields SB3 writes beside its pickle
    (low, high: None when not readable)."""
    space = _class_name(entry.get(":type:")) if isinstance(entry, dict) else None
    if space not in BOX:
        raise WsdiagError(
            f"{where}: its {kind} space is {space or 'unreadable'}, not a Box; {SUPPORTED}"
        )
    shape = entry.get("_shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
        raise WsdiagError(f"{where}: its {kind} space has no readable shape")
    size = math.prod(shape)
    return tuple(shape), _array(entry.get("low"), size), _array(entry.get("high"), size)


def _array(text: Any, size: int) -> np.ndarray | None:
    """A numpy array from its str() ("[-2.  0.5]"); None when it is not one of `size` numbers."""
    if not isinstance(text, str) or "..." in text:
        return None
    try:
        values = np.array(text.replace("[", " ").replace("]", " ").split(), dtype=np.float64)
    except ValueError:
        return None
    return values if values.size == size else None


# ----------------------------------------------------------------------------- the networks


def _linears(weights: dict[str, Tensor], prefix: str, where: str) -> list[Linear]:
    """The Linear layers of an SB3 `create_mlp` Sequential under `prefix`: indices 0, 2, 4, ...
    with a parameter-free activation between them, and nothing else; they must connect."""
    found: dict[int, dict[str, Tensor]] = {}
    for key, value in weights.items():
        if key.startswith(prefix + "."):
            index, _, param = key[len(prefix) + 1 :].partition(".")
            if not index.isdigit() or param not in ("weight", "bias"):
                raise WsdiagError(f"{where}: unexpected layer {key} (not an MLP); {SUPPORTED}")
            found.setdefault(int(index), {})[param] = value
    if not found or sorted(found) != list(range(0, 2 * len(found), 2)):
        raise WsdiagError(
            f"{where}: {prefix} is not an MLP of Linear layers with activations between them "
            f"(layers {sorted(found)}); {SUPPORTED}"
        )
    layers = [_linear(found[i], f"{prefix}.{i}", where) for i in sorted(found)]
    _check_chain(layers, prefix, where)
    return layers


def _linear(params: dict[str, Tensor], name: str, where: str) -> Linear:
    w, b = params.get("weight"), params.get("bias")
    if w is None or b is None or w.dim() != 2 or b.shape != w.shape[:1]:
        raise WsdiagError(f"{where}: {name} is not a Linear layer with a bias")
    return w, b


def _head(weights: dict[str, Tensor], name: str, where: str) -> Linear:
    """A single nn.Linear saved as `<name>.weight`, `<name>.bias`."""
    params = {k[len(name) + 1 :]: v for k, v in weights.items() if k.startswith(name + ".")}
    return _linear(params, name, where)


def _check_chain(layers: list[Linear], name: str, where: str) -> None:
    for (w0, _), (w1, _) in itertools.pairwise(layers):
        if w1.shape[1] != w0.shape[0]:
            raise WsdiagError(f"{where}: the layers of {name} do not connect")


def _critics(weights: dict[str, Tensor], prefix: str, where: str) -> list[list[Linear]]:
    count = next(
        e for e in itertools.count() if not any(k.startswith(f"{prefix}.qf{e}.") for k in weights)
    )
    if count == 0:
        raise WsdiagError(f"{where}: policy.pth has no {prefix}.qf0; {SUPPORTED}")
    return [_linears(weights, f"{prefix}.qf{e}", where) for e in range(count)]


def _shapes(layers: list[Linear]) -> list[torch.Size]:
    return [w.shape for w, _ in layers]


def networks_of(family: str, weights: dict[str, Tensor], where: str) -> dict[str, Any]:
    """The SB3Model fields of the networks. Every tensor of policy.pth must belong to them (a
    custom extractor or extra module is refused), and every network needs a hidden layer."""
    critics = _critics(weights, "critic", where)
    targets = _critics(weights, "critic_target", where)
    shapes = {str(_shapes(c)) for c in critics + targets}
    if len(shapes) > 1 or len(targets) != len(critics):
        raise WsdiagError(f"{where}: its critics and their targets differ in shape")
    prefixes = [f"{p}.qf{e}." for p in ("critic", "critic_target") for e in range(len(critics))]
    if family == "sac":
        actor = [*_linears(weights, "actor.latent_pi", where), _head(weights, "actor.mu", where)]
        _check_chain(actor, "actor", where)
        log_std, target = _head(weights, "actor.log_std", where), []
        if log_std[0].shape != actor[-1][0].shape:
            raise WsdiagError(f"{where}: actor.mu and actor.log_std differ in shape")
        prefixes += ["actor.latent_pi.", "actor.mu.", "actor.log_std."]
    else:
        actor, log_std = _linears(weights, "actor.mu", where), None
        target = _linears(weights, "actor_target.mu", where)
        if _shapes(target) != _shapes(actor):
            raise WsdiagError(f"{where}: actor and actor_target differ in shape")
        prefixes += ["actor.mu.", "actor_target.mu."]
    stray = sorted(k for k in weights if not k.startswith(tuple(prefixes)))
    if stray:
        raise WsdiagError(f"{where}: unexpected tensor {stray[0]} in policy.pth; {SUPPORTED}")
    if len(actor) < 2 or len(critics[0]) < 2:
        raise WsdiagError(
            f"{where}: networks without hidden layers (net_arch = []) are not supported"
        )
    return {
        "actor": actor,
        "actor_target": target,
        "log_std": log_std,
        "critics": critics,
        "critic_targets": targets,
    }


def _log_ent_coef(
    family: str, data: dict[str, Any], variables: dict[str, Tensor], where: str
) -> float | None:
    """SAC's log(alpha): the learned `log_ent_coef`, or the log of a fixed `ent_coef`."""
    if family != "sac":
        return None
    if "log_ent_coef" in variables:
        return float(variables["log_ent_coef"].detach().reshape(-1)[0])
    if "ent_coef_tensor" in variables:
        return math.log(float(variables["ent_coef_tensor"].detach().reshape(-1)[0]))
    raise WsdiagError(f"{where}: pytorch_variables.pth holds no entropy coefficient")


def _check_declared(model: SB3Model, kwargs: dict[str, Any]) -> None:
    """The weights agree with what the zip declares in clear: the spaces' sizes, `net_arch`
    (a list for both networks, or {pi, qf}) and `n_critics`."""
    obs_dim, act_dim = model.obs_shape[0], model.act_shape[0]
    first, last = model.actor[0][0], model.actor[-1][0]
    critic_in = model.critics[0][0][0].shape[1]
    if (first.shape[1], last.shape[0], critic_in) != (obs_dim, act_dim, obs_dim + act_dim):
        raise model.fail(
            f"its networks do not fit its spaces (observations ({obs_dim},), actions ({act_dim},))"
        )
    arch = kwargs.get("net_arch")
    if arch is not None:
        pi, qf = (arch.get("pi"), arch.get("qf")) if isinstance(arch, dict) else (arch, arch)
        if (pi, qf) != (list(model.pi), list(model.qf)):
            raise model.fail(
                f"policy_kwargs net_arch {arch} does not match its weights "
                f"(pi {list(model.pi)}, qf {list(model.qf)})"
            )
    if kwargs.get("n_critics", len(model.critics)) != len(model.critics):
        raise model.fail(
            f"policy_kwargs n_critics = {kwargs['n_critics']} but policy.pth holds "
            f"{len(model.critics)} critic(s)"
        )


# ----------------------------------------------------------------------------- the wsdiag agent


def check_fits(model: SB3Model, env: gym.Env) -> None:
    """The model was made for this environment's spaces: the same observation and action sizes
    and the same action bounds (so that SB3's rescaling of actions is wsdiag's)."""
    obs_dim, act_dim = space_dims(env)
    name = f"'{env.spec.id}'" if env.spec is not None else "the environment"
    if (model.obs_shape, model.act_shape) != ((obs_dim,), (act_dim,)):
        raise model.fail(
            f"made for observations of shape {model.obs_shape} and actions of shape "
            f"{model.act_shape}; {name} has observations ({obs_dim},) and actions ({act_dim},)"
        )
    low, high = action_bounds(env)
    same = np.allclose(model.act_low, low, rtol=1e-6) and np.allclose(
        model.act_high, high, rtol=1e-6
    )
    if not same:
        raise model.fail(
            f"its actions span [{_fmt(model.act_low)}, {_fmt(model.act_high)}] but those of "
            f"{name} span [{_fmt(low)}, {_fmt(high)}]"
        )


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:g}" for v in values)


def agent_config(model: SB3Model, pretrain: PretrainConfig) -> AgentConfig:
    """The pretrained agent's config: the zip's algorithm, widths and number of critics, its
    clear gamma and tau; the rest (TD3's exploration noise in the warm-up, say) from
    `[pretrain]`, but not its algorithm's keys (td3, ddpg and sac have none)."""
    cfg = AgentConfig(
        **{f.name: getattr(pretrain, f.name) for f in dataclasses.fields(AgentConfig)}
    )
    clear = {k: model.data[k] for k in ("gamma", "tau") if isinstance(model.data.get(k), float)}
    return dataclasses.replace(
        cfg, algo=model.algo, hidden=model.pi, ensemble=len(model.critics), target_subset=None,
        policy_delay=None, actor_q="auto", layer_norm=False, normalize_obs=False, params=None,
        **clear,
    )  # fmt: skip


def to_agent(model: SB3Model, cfg: AgentConfig, device: str = "cpu") -> ActorCritic:
    """A wsdiag agent holding the zip's networks (the module docstring's mapping)."""
    agent = make_agent(cfg, model.obs_shape[0], model.act_shape[0], device)
    with torch.no_grad():
        if model.family == "sac":
            assert model.log_std is not None and model.log_ent_coef is not None
            _copy_linears(agent.actor.trunk, model.actor[:-1])
            (mu_w, mu_b), (std_w, std_b) = model.actor[-1], model.log_std
            agent.actor.head.weight.copy_(torch.cat([mu_w, std_w]))
            agent.actor.head.bias.copy_(torch.cat([mu_b, std_b]))
            agent.log_alpha.copy_(torch.tensor(model.log_ent_coef))
        else:
            _copy_linears(agent.actor.net, model.actor)
            _copy_linears(agent.actor_target.net, model.actor_target)
        if "critic" in model.parts():
            _copy_critics(agent.critic, model.critics)
            _copy_critics(agent.critic_target, model.critic_targets)
    return agent


def _copy_linears(sequential: nn.Module, layers: list[Linear]) -> None:
    linears = [m for m in sequential.modules() if isinstance(m, nn.Linear)]
    for linear, (w, b) in zip(linears, layers, strict=True):
        linear.weight.copy_(w)
        linear.bias.copy_(b)


def _copy_critics(critic: nn.Module, members: list[list[Linear]]) -> None:
    """Member e's layer i, W [out, in] and b: linears[i].weight[e] = W^T, .bias[e, 0] = b."""
    for i, linear in enumerate(critic.linears):
        linear.weight.copy_(torch.stack([m[i][0].T for m in members]))
        linear.bias.copy_(torch.stack([m[i][1] for m in members]).unsqueeze(1))


def import_sb3(path: str | Path, pretrain: PretrainConfig, env: gym.Env) -> Checkpoint:
    """Read the zip at `path`, check that it fits `env` (before any step), and return it as an
    in-memory wsdiag checkpoint with fresh optimisers, which the warm start reads as it reads a
    saved one; `meta["sb3"]` records what came from the zip."""
    model = read_sb3(path)
    check_fits(model, env)
    agent = to_agent(model, agent_config(model, pretrain))
    meta = {
        "algo": agent.algo,
        "agent_config": agent_config_dict(agent.cfg),
        "obs_dim": agent.obs_dim,
        "act_dim": agent.act_dim,
        "source": "sb3",
        "sb3": {
            "version": model.version,
            "imported": model.parts(),
            "net_arch": {"pi": list(model.pi), "qf": list(model.qf)},
            "n_critics": len(model.critics),
        },
    }
    return Checkpoint(model.path, meta, agent.state_dict(), {})


def check_warm_start(ckpt: Checkpoint, finetune: AgentConfig, load: tuple[str, ...]) -> None:
    """The fine-tuning agent can take the parts `warmstart.load` names from an imported model
    (`import_sb3`'s checkpoint): clear errors before anything runs, then a trial warm start of
    a fresh `[finetune]` agent (which catches the rest, an actor of another kind say)."""
    sb3, where = ckpt.meta["sb3"], "pretrain.source = 'sb3'"
    pi, qf, n = sb3["net_arch"]["pi"], sb3["net_arch"]["qf"], sb3["n_critics"]
    if finetune.layer_norm and ("actor" in load or "critic" in load):
        raise WsdiagError(
            f"{where}: SB3 networks have no LayerNorm; set finetune.layer_norm = false"
        )
    if "actor" in load and list(finetune.hidden) != pi:
        raise WsdiagError(
            f"{where}: the model's actor has net_arch {pi}; set finetune.hidden = {pi}"
        )
    if "critic" in load and "critic" not in sb3["imported"]:
        raise WsdiagError(
            f"{where}: the model's critics (net_arch {qf}) differ from its actor ({pi}) and "
            "wsdiag's actor and critic share one `hidden`: load only the actor"
        )
    if "critic" in load and list(finetune.hidden) != qf:
        raise WsdiagError(
            f"{where}: the model's critics have net_arch {qf}; set finetune.hidden = {qf}"
        )
    if "critic" in load and finetune.ensemble != n:
        raise WsdiagError(
            f"{where}: the model has {n} critic(s); set finetune.ensemble = {n} to load them"
        )
    dims = (ckpt.meta["obs_dim"], ckpt.meta["act_dim"])
    make_agent(finetune, *dims).warm_start(ckpt.make_agent(*dims), load)
