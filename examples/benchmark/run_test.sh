#!/usr/bin/env bash
# The diagnosis benchmark's test split, run once with the frozen rules
# (docs/results/diagnosis-benchmark.md): the datasets, then each test part swept, one run a
# scenario confirmed on 5 seeds (up to 10 while a sign test is undecided) with every
# intervention that applies and the no-op control, two jobs at a time, one torch thread each.
# Resumable: run it again to continue. The records go to OUT/<part>.test.jsonl.
#   bash examples/benchmark/run_test.sh [OUT]
set -euo pipefail
OUT=${1:-runs/benchmark}
W=".venv/bin/wsdiag"
[ -x "$W" ] || W="wsdiag"
HERE=examples/benchmark
bash $HERE/pendulum_datasets.sh "$OUT"
for part in idp bc_td3 cql_sac ip_sac; do
  $W suite run $HERE/$part.toml --split test --split-file $HERE/split.toml --control \
    --seeds 5 --jobs 2 --out "$OUT"
done
$W suite table "$OUT"/bench_*.test.jsonl --split test --split-file $HERE/split.toml
