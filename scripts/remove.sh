#!/usr/bin/env bash
# Tears a stage down: npm run remove -- --stage NAME [--region R]
# Empties the stage's ECR repositories first (a repository with images cannot be deleted), then
# removes the CloudFormation stack with everything in it. Needs aws (v2). See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage-args.sh


parse_stage_args "$@"
require_tools aws sls

for component in receiver processor; do
  repository="$SERVICE-$STAGE/$component"
  if ! aws ecr describe-repositories --repository-names "$repository" --region "$REGION" >/dev/null 2>&1; then
    step "no repository $repository"
    continue
  fi
  step "emptying $repository"
  while true; do
    ids="$(aws ecr list-images --repository-name "$repository" --region "$REGION" \
      --max-items 100 --query 'imageIds' --output json)"
    [ "$(tr -d '[:space:]' <<<"$ids")" != "[]" ] || break
    aws ecr batch-delete-image --repository-name "$repository" --region "$REGION" \
      --image-ids "$ids" >/dev/null
  done
done

step "removing stack $STACK"
sls remove --stage "$STAGE" --region "$REGION" "${SLS_ARGS[@]}"
