"""The fields of the BC distance D(a_beta, a) = c ||a - a_beta||^2 that the BC family of
mitigations share: c = 1 ("sum") or 1/dim(A) ("mean", the authors' code), and a_beta the
pretrained policy's action or the batch's ("pretrained" | "batch")."""

from wsdiag.config.algorithms.bc import BC_REDUCTIONS

TARGETS = ("pretrained", "batch")
__all__ = ["BC_REDUCTIONS", "TARGETS"]
