#!/usr/bin/env bash
# The diagnosis benchmark's second test split, run once with the rules frozen for it
# (docs/results/diagnosis-benchmark.md, "The second test split"): the Pendulum datasets, then
# each test part swept, one run a scenario confirmed on 5 seeds (up to 20 while a sign test is
# undecided) with every intervention that applies at every strength and the no-op control, two
# jobs at a time, one torch thread each. Resumable: run it again to continue. The records go to
# OUT/<part>.test.jsonl.
#   bash examples/benchmark/run_test2.sh [OUT]
set -euo pipefail
OUT=${1:-runs/benchmark2}
W=".venv/bin/wsdiag"
[ -x "$W" ] || W="wsdiag"
HERE=examples/benchmark
SPLIT=$HERE/split2.toml
bash $HERE/pendulum_datasets.sh "$OUT"
for part in reacher_td3 calql_sac reacher_sac; do
  $W suite run $HERE/test2/$part.toml --split test --split-file $SPLIT --control \
    --seeds 5 --max-seeds 20 --strengths all --jobs 2 --out "$OUT"
done
$W suite table "$OUT"/bench2_*.test.jsonl --split test --split-file $SPLIT
