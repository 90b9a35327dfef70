#!/usr/bin/env bash
# Pretraining speed of two checkouts side by side on one machine: each runs the pretrain
# pipeline (Ray Train, 2 workers) for STEPS steps on its own copy of the same curated data,
# in interleaved rounds; prints samples/s per worker from each run's metrics.json. It tells a
# slower `make demo` caused by the code from one caused by the machine.
#
#   bash benchmarks/pretrain_between_commits.sh OLD_CHECKOUT NEW_CHECKOUT DATA [STEPS] [ROUNDS]
#
# Each checkout needs its own .venv (`make setup`); DATA is a data/ folder holding curated
# outputs (01_raw..04_feature of a finished run), copied, never written.
set -u
old=${1:?old checkout} new=${2:?new checkout} data=${3:?data folder with curated outputs}
steps=${4:-200} rounds=${5:-2}
export KEDRO_DISABLE_TELEMETRY=1 DVC_NO_ANALYTICS=1 HF_HUB_OFFLINE=1 RAY_AUTH_MODE=disabled \
  AWS_EC2_METADATA_DISABLED=true TQDM_MININTERVAL=5
work=$(mktemp -d)
for arm in old new; do
  mkdir -p "$work/$arm/data"
  for part in 01_raw 02_intermediate 03_primary 04_feature; do
    cp -r "$data/$part" "$work/$arm/data/"
  done
done
for round in $(seq "$rounds"); do
  for arm in old new; do
    repo=$old; [ "$arm" = new ] && repo=$new
    rm -rf "$work/$arm/data/06_models" "$work/$arm/data/08_reporting"
    start=$(date +%s)
    (cd "$repo" && .venv/bin/kedro run --pipelines pretrain \
       --params "pretrain.steps=$steps,data_root=$work/$arm/data" > "$work/$arm-$round.log" 2>&1)
    code=$?
    figures=$(python3 -c "import json; m = json.load(open('$work/$arm/data/08_reporting/pretrain/metrics.json')); print('samples/s/worker %.2f, %.1f s in training steps' % (m['samples_per_s_per_worker'], m['train_seconds']))" 2>/dev/null)
    echo "round $round $arm ($(git -C "$repo" log --oneline -1 | cut -c1-7)): exit $code," \
         "wall $(( $(date +%s) - start )) s; $figures"
  done
done
rm -rf "$work"
