#!/usr/bin/env bash
# Reproduces the evidence in docs/demo.md: TD3 on Pendulum-v1, pretrained to -250, warm-started
# with the actor only, for several seeds and warm-up lengths. One pretraining per seed is shared
# by the fine-tuning variants. About 25 minutes on two cores (runs go two at a time).
#   bash examples/pendulum_degradation.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/pendulum-degradation}
wsdiag=.venv/bin/wsdiag
config=wsdiag/configs/demo.toml
for seed in 0 1 2; do
  $wsdiag train $config --out "$out" --seed $seed --until pretrain -q --set threads=1 \
    --set name=pretrained &
done
wait
for seed in 0 1 2; do
  for warmup in 1000 5000; do
    $wsdiag train $config --out "$out" --seed $seed -q --set threads=1 \
      --set name=warmup$warmup --set warmstart.warmup_steps=$warmup --set finetune.steps=12000 \
      --set 'pretrain.source="checkpoint"' --set "pretrain.path=\"$out/pretrained-seed$seed\"" &
  done
  wait
done
.venv/bin/python -m examples.summarise_dips "$out"
