"""The keys of online BCQ (`algo = "bcq"`, Wexler et al. eq. 4): the perturbation
pi(s) = clip(pi_beta(s) + phi tanh(xi(x)), -1, 1), its bound phi, xi's widths, input x and first
weights. The maths: wsdiag.agents.bcq."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.rules import choice, key, positive, widths
from wsdiag.config.schema import OwnParams

BCQ_INPUTS = ("state", "state_action")
BCQ_INITS = ("random", "zero")


@dataclass(frozen=True)
class Params(OwnParams):
    """The perturbation network xi and its bound."""

    bcq_phi: float = 0.1  # bcq: |xi| <= phi, action half-range units (authors: 0.01 .. 1)
    bcq_hidden: tuple[int, ...] = (256, 256)  # bcq: widths of xi (authors: 256-256; BCQ 400-300)
    bcq_input: str = "state"  # bcq: xi(s) (authors' code) | state_action: xi(s, a_beta) (BCQ)
    bcq_init: str = "random"  # bcq: xi's last layer random (authors' code) | zero (pi = pi_beta)

    def networks(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> list[list[int]]:
        """The perturbation network xi, of s or of (s, a_beta)."""
        inputs = obs_dim + (act_dim if self.bcq_input == "state_action" else 0)
        return [[inputs, *self.bcq_hidden, act_dim]]


def check(p: Params, where: str) -> None:
    choice(p.bcq_input, BCQ_INPUTS, key(where, "bcq_input"))
    choice(p.bcq_init, BCQ_INITS, key(where, "bcq_init"))
    positive(p, where, "bcq_phi")
    widths(p, where, "bcq_hidden")
