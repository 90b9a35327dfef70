#!/usr/bin/env bash
# One pipeline of two checkouts side by side on one machine: each runs `kedro run --pipelines
# PIPELINE` on its own copy of the same data folder, in interleaved rounds, and prints its wall
# seconds (pretrain also its samples/s per worker from metrics.json). It tells a slower
# `make demo` caused by the code from one caused by the machine: the machine's speed drifts by
# the hour here (docs/benchmarks.md), so only runs interleaved in one sitting compare.
#
#   bash benchmarks/stage_between_commits.sh OLD_CHECKOUT NEW_CHECKOUT DATA PIPELINE [ROUNDS] [PARAMS]
#   e.g. ... /tmp/demo18 /tmp/demo20 /tmp/demo20/data pretrain 2 pretrain.steps=200
#        ... /tmp/demo18 /tmp/demo20 /tmp/demo20/data evaluation 1
#
# Each checkout needs its own .venv (`make setup`); DATA is the data/ folder of a finished run
# (its registry is not copied), copied, never written. PARAMS go to --params after data_root.
set -u
old=${1:?old checkout} new=${2:?new checkout} data=${3:?data folder of a finished run}
pipeline=${4:?pipeline name} rounds=${5:-1} params=${6:-}
export KEDRO_DISABLE_TELEMETRY=1 DVC_NO_ANALYTICS=1 HF_HUB_OFFLINE=1 RAY_AUTH_MODE=disabled \
  AWS_EC2_METADATA_DISABLED=true TQDM_MININTERVAL=5
work=$(mktemp -d)
for arm in old new; do
  mkdir -p "$work/$arm/data"
  for part in "$data"/*; do
    [ "$(basename "$part")" = 09_registry ] || cp -r "$part" "$work/$arm/data/"
  done
done
for round in $(seq "$rounds"); do
  for arm in old new; do
    repo=$old; [ "$arm" = new ] && repo=$new
    rm -rf "$work/$arm/data/08_reporting/$pipeline"
    start=$(date +%s)
    (cd "$repo" && .venv/bin/kedro run --pipelines "$pipeline" \
       --params "data_root=$work/$arm/data${params:+,$params}" > "$work/$arm-$round.log" 2>&1)
    code=$?
    figures=""
    if [ "$pipeline" = pretrain ]; then
      figures=$(python3 -c "import json; m = json.load(open('$work/$arm/data/08_reporting/pretrain/metrics.json')); print('; samples/s/worker %.2f, %.1f s in training steps' % (m['samples_per_s_per_worker'], m['train_seconds']))" 2>/dev/null)
    fi
    echo "round $round $arm ($(git -C "$repo" log --oneline -1 | cut -c1-7)) $pipeline: exit $code," \
         "wall $(( $(date +%s) - start )) s$figures"
    [ "$code" = 0 ] || tail -5 "$work/$arm-$round.log"
  done
done
rm -rf "$work"
