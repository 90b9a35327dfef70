#!/usr/bin/env bash
# Retraining as a Ray job (docs/retraining.md, "On a Ray cluster"): a job has no share of the
# user's disk (Ray's --working-dir upload leaves out .git and every git-ignored file), so it
# clones the repository into a folder of its own, pulls the data from the DVC remote, runs
# `seaweed-apt retrain`, pushes the new outputs, and hands the new dvc.lock back for review on a
# branch named for the run (retrain/<UTC time>: never a push onto someone else's branch).
# When nothing changed it pushes nothing and exits 0.
#
#   ray job submit --address http://head:8265 --working-dir deploy -- \
#     bash ray_retrain_job.sh https://git.example.com/team/seaweed-apt.git [branch]
#
# Needs on the nodes: git, dvc and seaweed-apt on PATH (the image), git credentials for the
# push, S3 credentials for the DVC remote and the registry. Tested by
# tests/deployment/test_retrain_job.py against a local Ray head.
set -euo pipefail

repository=${1:?usage: ray_retrain_job.sh <git repository> [branch, default main]}
branch=${2:-main}
workspace=$(mktemp -d)
trap 'rm -rf "$workspace"' EXIT

git clone -q -b "$branch" "$repository" "$workspace/project"
cd "$workspace/project"
dvc pull -q
seaweed-apt retrain
dvc push -q
# What the run changed in git: dvc.lock, the metrics and plots files committed with it, and
# params.yaml when this cluster's parameters (KEDRO_ENV) differ from the branch's.
changed=$(git diff --name-only)
if [ -z "$changed" ]; then
  echo "ray_retrain_job: nothing changed; no branch pushed"
  exit 0
fi
target="retrain/$(date -u +%Y%m%d-%H%M%S)"
git -c user.name="${GIT_AUTHOR_NAME:-seaweed-apt retrain}" \
    -c user.email="${GIT_AUTHOR_EMAIL:-retrain@seaweed-apt.invalid}" \
    commit -qm "retrain on the Ray cluster from $branch" -- $changed
git push -q origin "HEAD:refs/heads/$target"
echo "ray_retrain_job: pushed $target"
