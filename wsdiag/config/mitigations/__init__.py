"""The mitigation tables by name: every [mitigation.<name>] the config reads, one module each
(its `Params`, their check, what it requires), named as the mitigation in wsdiag.mitigations.

Earlier versions' names and defaults are listed here too, so that their run configs still load.
"""

from __future__ import annotations

from wsdiag.config.mitigations import (
    adaptive_bc,
    bc_penalty,
    ccl_bc,
    ccl_pqd,
    critic_bc,
    critic_weighted,
    grad_clip,
    gradient_penalty,
    jsrl,
    jsrl_random,
    lr_scale,
    pqd,
    td3bc_pp,
)
from wsdiag.config.mitigations.base import Table
from wsdiag.config.schema import OwnParams

NONE = Table("none", OwnParams)  # plain fine-tuning: no table
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        NONE,
        bc_penalty.TABLE,
        pqd.TABLE,
        ccl_pqd.TABLE,
        ccl_bc.TABLE,
        grad_clip.TABLE,
        lr_scale.TABLE,
        critic_bc.TABLE,
        gradient_penalty.TABLE,
        critic_weighted.TABLE,
        td3bc_pp.TABLE,
        adaptive_bc.TABLE,
        jsrl.TABLE,
        jsrl_random.TABLE,
    )
}
# Names that moved: a config that still uses one gets told where it went.
MOVED = {"bcq": "online BCQ is an agent now: set finetune.algo = 'bcq' (and mitigation 'none')"}
# What configs saved by earlier versions hold that means nothing now: every table was written
# with its defaults, so (table, key, value) entries and whole moved tables of a mitigation that
# did not run are dropped when such a config is read again (a resume, a report).
LEGACY_DEFAULTS = {("bc_penalty", "controller", "fixed")}
CCL_BC_MOVED = "CCL-BC is its own mitigation now: mitigation.name = 'ccl_bc', [mitigation.ccl_bc]"
