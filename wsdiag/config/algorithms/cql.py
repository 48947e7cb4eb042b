"""The keys of CQL (`algo = "cql"`, Kumar et al. 2020) and Cal-QL (`algo = "calql"`, Nakamoto
et al. 2023): the conservative term alpha (logsumexp_T over n sampled actions of each kind -
Q(s, a)), its temperature T, SAC's entropy in the target, and Cal-QL's bound on collected rows.
The maths: wsdiag.agents.cql."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.rules import at_least, positive
from wsdiag.config.schema import OwnParams


@dataclass(frozen=True)
class Params(OwnParams):
    """CQL(H)'s regulariser."""

    cql_alpha: float = 10.0  # cql/calql: weight of the conservative term (CORL, MuJoCo)
    cql_n_actions: int = 10  # cql/calql: sampled actions of each kind (uniform, pi(s), pi(s'))
    cql_temperature: float = 1.0  # cql/calql: temperature of the logsumexp
    cql_backup_entropy: bool = False  # cql/calql: add -alpha log pi(a'|s') to the TD target

    def rows_per_sample(self) -> int:
        """The transition's own action and n actions of each of the three kinds."""
        return 1 + 3 * self.cql_n_actions


@dataclass(frozen=True)
class CalQLParams(Params):
    """CQL's keys and the bound of Cal-QL: Q(s, pi(s)) >= the Monte-Carlo return."""

    calql_bound_online: bool = True  # calql: also bound agent-collected rows (authors' code)


def check(p: Params, where: str) -> None:
    at_least(p, where, 1, "cql_n_actions")
    positive(p, where, "cql_temperature")
    at_least(p, where, 0, "cql_alpha")
