#!/usr/bin/env bash
# The Pendulum-v1 datasets of the diagnosis benchmark's offline and BC scenarios: an online TD3
# expert (the demo's recipe), 20,000 of its transitions with exploration noise 0.1
# (wsdiag/pendulum/expert-v0), 20,000 uniformly random ones labelled non-expert, and their
# 50/50 mix. Each is made once (datasets under MINARI_DATASETS_PATH, or ~/.minari/datasets).
#   bash examples/benchmark/pendulum_datasets.sh [OUT]
set -euo pipefail
OUT=${1:-runs}
W=".venv/bin/wsdiag"
[ -x "$W" ] || W="wsdiag"
EXPERT="$OUT/suite-expert-seed0"
if [ ! -d "$EXPERT/checkpoints/pretrained" ]; then
  $W train wsdiag/configs/demo.toml --out "$OUT" --until pretrain --set 'name="suite-expert"' --set threads=1
fi
have() { $W data list 2>/dev/null | grep -q "$1"; }
have "wsdiag/pendulum/expert-v0" || $W data collect wsdiag/pendulum/expert-v0 \
  --policy "$EXPERT" --steps 20000 --noise 0.1 --ref-policy "$EXPERT"
have "wsdiag/pendulum/random-v0" || $W data collect wsdiag/pendulum/random-v0 \
  --policy random --env Pendulum-v1 --steps 20000 --label non-expert --ref-policy "$EXPERT"
have "wsdiag/pendulum/expert-random-50-v0" || $W data mix wsdiag/pendulum/expert-v0 \
  wsdiag/pendulum/random-v0 --percent 50 --out wsdiag/pendulum/expert-random-50-v0
