#!/usr/bin/env bash
# The measurements behind the faithful defaults (docs/probes.md, docs/mitigations-*.md): the demo
# experiment (TD3 on Pendulum-v1, actor-only warm start) over three seeds, one pretraining per
# seed shared by every variant; then the Q-percentile of the pretrained and of the fresh critic in
# its three forms, AdaptiveBC's alpha with the paper's and the code's PD rule, and the dip with
# gradient clipping at its default. About 15 minutes on two cores (runs go two at a time).
#   bash examples/faithfulness.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/faithfulness}
wsdiag=.venv/bin/wsdiag
config=wsdiag/configs/demo.toml
seeds=(0 1 2)
train() { $wsdiag train $config --out "$out" -q --set threads=1 "$@" > /dev/null; }
train --seed 0 --until pretrain --set name=pretrained &
train --seed 1 --until pretrain --set name=pretrained &
wait
train --seed 2 --until pretrain --set name=pretrained
for seed in "${seeds[@]}"; do
  from=(--seed "$seed" --set 'pretrain.source="checkpoint"'
        --set "pretrain.path=\"$out/pretrained-seed$seed\"")
  train "${from[@]}" --set name=plain &
  train "${from[@]}" --set name=grad-clip --set 'mitigation.name="grad_clip"' &
  wait
  train "${from[@]}" --set name=adaptive-bc --set 'mitigation.name="adaptive_bc"' &
  train "${from[@]}" --set name=adaptive-bc-paper --set 'mitigation.name="adaptive_bc"' \
    --set 'mitigation.adaptive_bc.variant="paper"' --set mitigation.adaptive_bc.kd=8e-5 \
    --set mitigation.adaptive_bc.target=1.0 &
  wait
done
.venv/bin/python -m examples.q_percentile_bounds "$out"/plain-seed*
.venv/bin/python -m examples.summarise_dips "$out"
.venv/bin/python - "$out" <<'PY'
import sys
from pathlib import Path
from wsdiag.rundir import read_metrics
for run in sorted(Path(sys.argv[1]).glob("adaptive-bc*-seed*")):
    m = read_metrics(run)
    a = m[m.key == "mitigation/alpha"].sort_values("step", kind="stable")
    picks = [a[a.step <= s].value.iloc[-1] for s in (1000, 2000, 4000, 8000) if (a.step <= s).any()]
    print(f"{run.name:<28} alpha at steps 1000/2000/4000/8000: " + " ".join(f"{x:.3f}" for x in picks))
PY
