#!/usr/bin/env bash
# What the reproduction sweeps (examples/sweeps/reproduction/, docs/reproduction.md) start from,
# made once, run from the repository root:
#   - runs/repro-expert-seed0: the demo's online TD3 expert on Pendulum-v1 (stopped at -250), the
#     guide of R8 and the behaviour policy of the datasets;
#   - the local Minari datasets (under MINARI_DATASETS_PATH) of R5-R7: 20,000 expert transitions
#     (exploration noise 0.1), 20,000 uniformly random ones labelled non-expert, and the
#     expert-random mixtures with 30, 50 and 70% random episodes (the TD3BC++ paper's ER3, ER5, ER7).
#   bash examples/reproduction/prepare.sh [OUT]
set -euo pipefail
OUT=${1:-runs}
W=".venv/bin/wsdiag"
[ -x "$W" ] || W="wsdiag"
EXPERT="$OUT/repro-expert-seed0"
if [ ! -d "$EXPERT/checkpoints/pretrained" ]; then
  $W train wsdiag/configs/demo.toml --out "$OUT" --until pretrain --set 'name="repro-expert"' --set threads=1
fi
have() { [ -d "${MINARI_DATASETS_PATH:-$HOME/.minari/datasets}/$1" ]; }
have "wsdiag/pendulum/repro-expert-v0" || $W data collect wsdiag/pendulum/repro-expert-v0 \
  --policy "$EXPERT" --steps 20000 --noise 0.1 --label expert --ref-policy "$EXPERT"
have "wsdiag/pendulum/repro-random-v0" || $W data collect wsdiag/pendulum/repro-random-v0 \
  --policy random --env Pendulum-v1 --steps 20000 --label non-expert --ref-policy "$EXPERT"
for k in 30 50 70; do
  have "wsdiag/pendulum/repro-expert-random-$k-v0" || $W data mix wsdiag/pendulum/repro-expert-v0 \
    wsdiag/pendulum/repro-random-v0 --percent "$k" --out "wsdiag/pendulum/repro-expert-random-$k-v0"
done
