#!/usr/bin/env bash
# The diagnosis suite's offline part: an online TD3 expert on Pendulum-v1 (the demo's), its
# datasets (expert, uniformly random labelled non-expert, and expert-random-50), then the
# scenarios of examples/sweeps/diagnosis_suite_offline.toml confirmed run by run.
#   bash examples/diagnosis_suite_offline.sh [OUT [SUITE OPTIONS]]   (datasets under MINARI_DATASETS_PATH)
# e.g. bash examples/diagnosis_suite_offline.sh runs --seeds 3 --until-confirmed --record FILE
set -euo pipefail
OUT=${1:-runs}
PY=".venv/bin/python"
[ -x "$PY" ] || PY="python"
bash examples/benchmark/pendulum_datasets.sh "$OUT"  # the expert and its datasets, once
$PY -m examples.diagnosis_suite --suite examples/sweeps/diagnosis_suite_offline.toml \
  --out "$OUT" --jobs 2 "${@:2}"
