"""The probe-key registry: every quantity a probe records, its meaning and unit, and the one
place its metric name (`probe/<key>`) is made.

A `ProbeKey` is one key (`q_percentile`) or one family (`divergence/<label>`). Code that writes
or reads a key names the constant here and reads it when it runs (`keys.Q_PERCENTILE.name`,
`keys.metric(keys.Q_PERCENTILE)`), never a copy taken at import, so renaming a key here renames
it in the probes, the metrics table, the diagnosis and the figures at once. Names are made by
one function each: `metric` (the metrics-table name), `stat` (`<key>/<stat>` summaries),
`pretrained` and `frozen` (the same quantity of another agent), `ProbeKey.of` (a family's
member); `migrate` reads older runs' names. The table in docs/probes.md lists every key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROBE = "probe/"  # the metrics-table prefix of every probe scalar
PRETRAINED = "pretrained/"  # the same probe on the pretrained agent (its critic)
FROZEN = "frozen/"  # the critic frozen when policy updates begin
FROZEN_PROTOCOL = "frozen_protocol/"  # the protocol's copy (probes.frozen_protocol_steps)
MEAN, MEDIAN, P90, MAX = "mean", "median", "p90", "max"
STATS = (MEAN, MEDIAN, P90, MAX)  # the summaries of a per-state array (`stat`)
RANDOM = "random"  # the member of `q_by_label/<label>` holding uniformly random actions
EARLY_WARNING = "early warning"  # the `rules` entry of keys the prognosis reads

FIGURE_PROBES, FIGURE_PERCENTILE = "probes.png", "percentile.png"
FIGURE_LANDSCAPE, FIGURE_FROZEN = "q_landscape.png", "frozen_critic.png"
FIGURE_Q_BY_LABEL, FIGURE_EMBEDDING = "q_by_label.png", "embedding.png"


@dataclass(frozen=True)
class ProbeKey:
    """One recorded quantity, or a family of them (`<...>` in the name stands for a member)."""

    name: str  # the key (without `probe/`), or a family's pattern: `grad_norm/label/<label>`
    meaning: str
    unit: str
    figures: tuple[str, ...] = ()  # report figures (file names) that draw it
    rules: tuple[str, ...] = ()  # diagnosis rules (`analysis.rules`) or EARLY_WARNING reading it
    metric: bool = True  # a scalar under its name (the mean over states when `array` too)
    array: bool = False  # per-state values under its name in probes/step_<n>.npz
    stats: tuple[str, ...] = ()  # scalars `<name>/<stat>` (of its array)
    variants: tuple[str, ...] = ()  # also recorded for another agent: PRETRAINED, FROZEN, ...
    bare: bool = True  # recorded under its own name (False: only under its variants)
    space: str = PROBE  # what its metrics-table name starts with ("": the name is that name)

    @property
    def prefix(self) -> str:
        """A family's name up to its member (`divergence/`); a plain key's whole name."""
        return self.name.split("<", 1)[0]

    def of(self, member: str) -> str:
        """The key of one member of a family: `DIVERGENCE.of("expert")` = `divergence/expert`."""
        return self.prefix + member

    def member(self, name: str) -> str | None:
        """The member a recorded name of this family stands for, or None if not of it."""
        return name[len(self.prefix) :] if name.startswith(self.prefix) else None


Key = ProbeKey | str  # a registry entry, or a name made from one (`stat`, `of`, `pretrained`)

# --- the critic's view of a_beta
Q_PERCENTILE = ProbeKey(
    "q_percentile",
    "P(s): share of local perturbations of a_beta (probes.bounds) the critic values below it",
    "fraction (0.5: no preference)",
    (FIGURE_PROBES, FIGURE_PERCENTILE),
    ("extrapolation", EARLY_WARNING),
    array=True,
    stats=(MEDIAN,),
    variants=(PRETRAINED,),
)
Q_PERCENTILE_UNCLIPPED = ProbeKey(
    "q_percentile_unclipped",
    "P(s) with the authors' unclipped perturbations, valued off the box",
    "fraction (0.5: no preference)",
    array=True,
    stats=(MEDIAN,),
    variants=(PRETRAINED,),
)
Q_PERCENTILE_UNIFORM = ProbeKey(
    "q_percentile_uniform",
    "P(s) among uniformly random actions over the box",
    "fraction (0.5: no preference)",
    (FIGURE_PROBES,),
    array=True,
    stats=(MEDIAN,),
    variants=(PRETRAINED,),
)
GRAD_NORM_BEHAVIOUR = ProbeKey(
    "grad_norm/behaviour",
    "||dQ/da|| at the behavioural pairs (s_beta, a_beta)",
    "Q per half-range",
    (FIGURE_PROBES,),
    ("gradient",),
    metric=False,
    array=True,
    stats=STATS,
    variants=(PRETRAINED,),
)
GRAD_NORM_POLICY = ProbeKey(
    "grad_norm/policy",
    "||dQ/da|| at (s_beta, pi(s_beta))",
    "Q per half-range",
    (FIGURE_PROBES,),
    metric=False,
    array=True,
    stats=STATS,
)
GRAD_NORM_RANDOM = ProbeKey(
    "grad_norm/random",
    "||dQ/da|| at s_beta and uniformly random actions",
    "Q per half-range",
    (FIGURE_PROBES,),
    metric=False,
    array=True,
    stats=STATS,
)
GRAD_NORM_LABEL = ProbeKey(
    "grad_norm/label/<label>",
    "mean ||dQ/da|| over the behavioural pairs of one probe-set label",
    "Q per half-range",
    rules=("closeness",),
)
GRAD_COS_BEHAVIOUR = ProbeKey(
    "grad_cos/behaviour",
    "cos(dQ/da, dQ_pre/da) per behavioural pair, new vs pretrained critic (0 where either is 0)",
    "cosine",
    rules=("extrapolation",),
    array=True,
)
GRAD_COS_POOLED_BEHAVIOUR = ProbeKey(
    "grad_cos_pooled/behaviour",
    "cosine of the two critics' action gradients stacked over all behavioural pairs",
    "cosine",
    rules=("extrapolation",),
)
POLICY_GRAD_NORM = ProbeKey(
    "policy_grad_norm",
    "||d mean_s Q(s, pi(s)) / d theta|| over the actor's parameters, on s_beta",
    "L2 norm",
    rules=("update",),
)

# --- per probe set
TD_ERROR_BEHAVIOUR = ProbeKey(
    "td_error/behaviour",
    "|Q - (r + gamma (1 - terminated) Q_target(s', pi(s')))| on the behavioural set",
    "Q units",
    (FIGURE_PROBES,),
    ("spiral",),
    array=True,
)
TD_ERROR_ONLINE = ProbeKey(
    "td_error/online",
    "the TD error on recent buffer transitions",
    "Q units",
    (FIGURE_PROBES,),
    ("spiral",),
    array=True,
)
Q_BEHAVIOUR = ProbeKey(
    "q/behaviour",
    "Q(s, a) on the behavioural set",
    "Q units",
    (FIGURE_PROBES,),
    ("spiral",),
    array=True,
)
Q_ONLINE = ProbeKey(
    "q/online",
    "Q(s, a) on recent buffer transitions",
    "Q units",
    (FIGURE_PROBES,),
    ("spiral",),
    array=True,
)
KL_BEHAVIOUR = ProbeKey(
    "kl/behaviour",
    "KL(pi_pre(.|s) || pi(.|s)) on the behavioural states",
    "nats",
    (FIGURE_PROBES,),
    array=True,
)
KL_ONLINE = ProbeKey(
    "kl/online",
    "KL(pi_pre(.|s) || pi(.|s)) on recent online states",
    "nats",
    (FIGURE_PROBES,),
    ("drift",),
    array=True,
)
ACTION_MSE_BEHAVIOUR = ProbeKey(
    "action_mse/behaviour",
    "||pi_pre(s) - pi(s)||^2 on the behavioural states",
    "squared half-ranges",
    array=True,
)
ACTION_MSE_ONLINE = ProbeKey(
    "action_mse/online",
    "||pi_pre(s) - pi(s)||^2 on recent online states (runs without action_rms)",
    "squared half-ranges",
    rules=("update", "drift", EARLY_WARNING),
    array=True,
)
ACTION_RMS_BEHAVIOUR = ProbeKey(
    "action_rms/behaviour",
    "||pi_pre(s) - pi(s)||_2 / sqrt(da) on the behavioural states",
    "half-ranges per dimension",
    array=True,
)
ACTION_RMS_ONLINE = ProbeKey(
    "action_rms/online",
    "||pi_pre(s) - pi(s)||_2 / sqrt(da) on recent online states",
    "half-ranges per dimension",
    rules=("update", "drift", EARLY_WARNING),
    array=True,
)
Q_KL_BEHAVIOUR = ProbeKey(
    "q_kl/behaviour",
    "KL(softmax Q_pre(s, .) || softmax Q(s, .)) over pi_pre and pi actions, behavioural states",
    "nats",
    array=True,
)
Q_KL_ONLINE = ProbeKey(
    "q_kl/online",
    "KL(softmax Q_pre(s, .) || softmax Q(s, .)) over pi_pre and pi actions, online states",
    "nats",
    array=True,
)
DIVERGENCE = ProbeKey(
    "divergence/<label>",
    "probes.divergence_q-th percentile of ||pi(s) - a||^2 over one label's transitions",
    "squared half-ranges",
    (FIGURE_PROBES,),
    ("closeness",),
)

# --- frozen-critic views


def _frozen_view(name: str, where: str) -> ProbeKey:
    """One of the four views of the frozen critic: Q at `where` (states and policy)."""
    return ProbeKey(name, f"Q({where}) of the frozen critic", "Q units", (FIGURE_FROZEN,),
                    array=True, variants=(FROZEN, FROZEN_PROTOCOL), bare=False)  # fmt: skip


SBETA_PIBETA = _frozen_view("sbeta_pibeta", "s_beta, pi_beta(s_beta)")
SBETA_PIU = _frozen_view("sbeta_piu", "s_beta, pi_U(s_beta)")
SU_PIBETA = _frozen_view("su_pibeta", "s_U, pi_beta(s_U)")
SU_PIU = _frozen_view("su_piu", "s_U, pi_U(s_U)")

# --- arrays for figures
LANDSCAPE_STATES = ProbeKey(
    "landscape/states",
    "the first probes.landscape_states behavioural states",
    "observation",
    metric=False,
    array=True,
)
LANDSCAPE_ACTIONS = ProbeKey(
    "landscape/actions",
    "their behavioural actions a_beta",
    "half-ranges",
    (FIGURE_LANDSCAPE,),
    metric=False,
    array=True,
)
LANDSCAPE_PERTURBED = ProbeKey(
    "landscape/perturbed",
    "probes.landscape_perturb local perturbations of each a_beta",
    "half-ranges",
    (FIGURE_LANDSCAPE,),
    metric=False,
    array=True,
)
LANDSCAPE_Q = ProbeKey(
    "landscape/q",
    "Q of each perturbed action",
    "Q units",
    (FIGURE_LANDSCAPE, FIGURE_PERCENTILE),
    metric=False,
    array=True,
    variants=(PRETRAINED,),
)
LANDSCAPE_Q_REF = ProbeKey(
    "landscape/q_ref",
    "Q(s, a_beta) of each landscape state",
    "Q units",
    (FIGURE_LANDSCAPE, FIGURE_PERCENTILE),
    metric=False,
    array=True,
    variants=(PRETRAINED,),
)
LANDSCAPE_PERCENTILE = ProbeKey(
    "landscape/percentile",
    "P(s) of each landscape state",
    "fraction",
    metric=False,
    array=True,
)
Q_BY_LABEL = ProbeKey(
    "q_by_label/<label>",
    "Q(s, a) of the probe set's actions of one label (`random`: uniformly random actions)",
    "Q units",
    (FIGURE_Q_BY_LABEL,),
    metric=False,
    array=True,
)
BEHAVIOUR_STATES = ProbeKey(
    "behaviour_states",
    "the behavioural probe set's states",
    "observation",
    (FIGURE_EMBEDDING,),
    metric=False,
    array=True,
)
ONLINE_STATES = ProbeKey(
    "online_states",
    "the online probe set's states (recent buffer transitions)",
    "observation",
    (FIGURE_EMBEDDING,),
    metric=False,
    array=True,
)

# --- recorded beside the probes
WARN_ACTION_RMS = ProbeKey(
    "warn/action_rms",
    "sqrt(mean_s ||pi(s) - pi_pre(s)||^2 / da) every probes.warn_every steps after t_u",
    "half-ranges per dimension",
    rules=(EARLY_WARNING,),
    space="",
)

# Runs written before the behavioural probe set was called `behaviour` end its keys in /offline.
BEHAVIOUR_SET, LEGACY_BEHAVIOUR_SET = "behaviour", "offline"
_LEGACY_SET = re.compile(f"^({re.escape(PROBE)}.+)/{LEGACY_BEHAVIOUR_SET}$")


def registry() -> tuple[ProbeKey, ...]:
    """Every registered key, in the order above (as the module holds them now)."""
    return tuple(v for v in globals().values() if isinstance(v, ProbeKey))


def _name(key: Key) -> str:
    return key.name if isinstance(key, ProbeKey) else key


def metric(key: Key) -> str:
    """The metrics-table name of a key: `probe/<key>` (a `space=""` key's own name)."""
    return key.space + key.name if isinstance(key, ProbeKey) else PROBE + key


def is_probe(name: str) -> bool:
    """Whether a metrics-table name is a probe's (`probe/...`)."""
    return name.startswith(PROBE)


def stat(key: Key, which: str) -> str:
    """The key of one summary of a key's array: `grad_norm/behaviour/mean`."""
    return f"{_name(key)}/{which}"


def pretrained(key: Key) -> str:
    """The key of the same probe on the pretrained agent: `pretrained/<key>`."""
    return PRETRAINED + _name(key)


def frozen(key: Key, protocol: bool = False) -> str:
    """The key of a frozen-critic view: `frozen/<view>`, or `frozen_protocol/<view>`."""
    return (FROZEN_PROTOCOL if protocol else FROZEN) + _name(key)


def names(key: ProbeKey) -> tuple[str, ...]:
    """Every name a key is recorded under (a family's with its pattern), variants included."""
    out = []
    for base in ([key.name] if key.bare else []) + [v + key.name for v in key.variants]:
        if key.metric or key.array:
            out.append(base)
        out += [stat(base, s) for s in key.stats]
    return tuple(out)


def migrate(name: str) -> str:
    """A metrics-table name of an older run under its current name (`probe/<x>/offline` ->
    `probe/<x>/behaviour`); a current name is returned as it is."""
    return _LEGACY_SET.sub(r"\1/" + BEHAVIOUR_SET, name)
