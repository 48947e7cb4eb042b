#!/usr/bin/env bash
# The diagnosis suite's offline part: an online TD3 expert on Pendulum-v1 (the demo's), its
# datasets (expert, uniformly random labelled non-expert, and expert-random-50), then the
# scenarios of examples/sweeps/diagnosis_suite_offline.toml confirmed run by run.
#   bash examples/diagnosis_suite_offline.sh [OUT [SUITE OPTIONS]]   (datasets under MINARI_DATASETS_PATH)
# e.g. bash examples/diagnosis_suite_offline.sh runs --seeds 3 --until-confirmed --record FILE
set -euo pipefail
OUT=${1:-runs}
W=".venv/bin/wsdiag" PY=".venv/bin/python"
[ -x "$W" ] || { W="wsdiag"; PY="python"; }
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
$PY -m examples.diagnosis_suite --suite examples/sweeps/diagnosis_suite_offline.toml \
  --out "$OUT" --jobs 2 "${@:2}"
