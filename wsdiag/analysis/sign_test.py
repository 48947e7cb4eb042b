"""An exact sign test, looked at once per added seed, with the whole sequence's error bounded.

Each seed k gives a share s_k of the dip removed. For a threshold c, the count of seeds with
s_k >= c is, under the null hypothesis that the median share is exactly c, Binomial(n, 1/2); its
one-sided p-value is P(Bin(n, 1/2) >= count) = sum_{j >= count} C(n, j) / 2^n. With n = 3 the
smallest p-value is 1/8, so no decision is possible at the 5% level from three seeds.

Seeds are added one at a time, from `first` to `last`, and the test is looked at after each: a
decision at any look. To keep the whole sequence's false-decision probability at or under
`alpha`, every look uses the level `look_level(first, last, alpha)`: the largest p-value level
whose chance of a decision at some look, computed exactly over every path of a fair coin with
stopping at the first decision, is <= alpha.

Once no continuation of the seeds up to `last` could reach a decision (`decidable`: say 3 of 5
seeds at or above the threshold and 2 below, where 10 seeds decide only at 9 of 10), the test is
inconclusive whatever the remaining seeds show, and they need not run.

Where one question is asked by m tests (a cause tested at m strengths, any of which may confirm
it), each runs at alpha / m for its whole sequence of looks (Bonferroni): the chance that some
test of the m decides wrongly stays <= alpha. `sign_test(..., alpha=ALPHA / m)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from math import comb

ALPHA = 0.05  # the false-decision probability of a whole sequence of looks


def binom_tail(n: int, count: int) -> float:
    """P(Bin(n, 1/2) >= count)."""
    if count <= 0:
        return 1.0
    return sum(comb(n, j) for j in range(count, n + 1)) / 2**n


def sequence_error(first: int, last: int, level: float) -> float:
    """The probability that a fair coin, tossed up to `last` times and looked at after each
    toss from `first` on, ever shows a p-value <= `level` (stopping at the first such look)."""
    alive = {0: 1.0}  # successes -> probability of the paths still running
    error = 0.0
    for n in range(1, last + 1):
        grown: dict[int, float] = {}
        for k, p in alive.items():
            for j in (k, k + 1):
                grown[j] = grown.get(j, 0.0) + p / 2
        alive = grown
        if n >= first:
            hit = [k for k in alive if binom_tail(n, k) <= level]
            error += sum(alive.pop(k) for k in hit)
    return error


@cache
def look_level(first: int, last: int, alpha: float = ALPHA) -> float:
    """The largest per-look level (one of the attainable p-values) whose sequence error is
    <= alpha; 0 when none is (too few seeds for any decision)."""
    levels = sorted({binom_tail(n, k) for n in range(first, last + 1) for k in range(n + 2)})
    fitting = [x for x in levels if sequence_error(first, last, x) <= alpha]
    return max(fitting, default=0.0)


@dataclass(frozen=True)
class SignTest:
    """The counts of seeds at or above the threshold and below it, and their p-values."""

    threshold: float
    n: int
    above: int
    below: int
    p_above: float  # evidence that the median share is >= the threshold
    p_below: float  # evidence that it is < the threshold
    level: float  # the per-look level the p-values are compared with

    @property
    def decided_above(self) -> bool:
        return self.n > 0 and self.p_above <= self.level

    @property
    def decided_below(self) -> bool:
        return self.n > 0 and self.p_below <= self.level

    def __str__(self) -> str:
        """'5 of 5 seeds removed >= 50% (sign test p = 0.031, level 0.031)'."""
        share = f"{100 * self.threshold:.0f}%"
        if self.decided_below:
            counted = f"{self.below} of {self.n} seeds removed < {share}"
            p = self.p_below
        else:
            counted, p = f"{self.above} of {self.n} seeds removed >= {share}", self.p_above
        return f"{counted} (sign test p = {p:.2g}, level {self.level:.2g})"


def sign_test(
    shares: list[float], threshold: float, first: int, last: int, alpha: float = ALPHA
) -> SignTest:
    """The sign test of `shares` against `threshold`, at the look level of seeds `first` to
    `last` for a sequence error of `alpha` (module docstring); with more seeds than `last`,
    the level of `first`..n."""
    n = len(shares)
    above = sum(s >= threshold for s in shares)
    level = look_level(first, max(last, n), alpha) if n >= first else 0.0
    p_above, p_below = binom_tail(n, above), binom_tail(n, n - above)
    return SignTest(threshold, n, above, n - above, p_above, p_below, level)


def decidable(
    above: int, below: int, more: int, first: int, last: int, alpha: float = ALPHA
) -> bool:
    """Whether up to `more` further seeds could still decide a test that stands at `above` and
    `below` seeds, at some look up to `last` (its level as in `sign_test`). Checking the seeds
    all on one side suffices: a p-value only falls as its count grows."""
    n = above + below
    level = look_level(first, max(last, n), alpha)
    for m in range(max(n + 1, first), n + more + 1):
        k = m - n
        if binom_tail(m, above + k) <= level or binom_tail(m, below + k) <= level:
            return True
    return False
