#!/usr/bin/env bash
# Tears a stage down: npm run remove -- --stage NAME [--region R]
# Empties the stage's ECR repositories first (a repository with images cannot be deleted), then
# removes the CloudFormation stack with everything in it. A stack in the middle of a change is not
# touched. Needs aws (CLI v2, or v1 from 1.17.10). See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage-args.sh


parse_stage_args "$@"
require_tools aws sls
require_aws_cli 1.17.10 "the ECR and CloudFormation commands this script uses"

status="$(stack_status)"
case "$status" in
  *_IN_PROGRESS)
    fail "stack $STACK is $status: a deploy, update or removal of this stage is under way. Let it end, then run this again" ;;
esac

for component in receiver processor; do
  repository="$SERVICE-$STAGE/$component"
  found="$(aws_unless_missing RepositoryNotFoundException ecr describe-repositories \
    --repository-names "$repository" --region "$REGION" --query 'repositories[0].repositoryName' --output text)"
  if is_none "$found"; then
    step "there is no repository $repository: nothing to empty"
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

if [ -z "$status" ]; then
  step "there is no stack $STACK: nothing to remove"
  exit 0
fi
step "removing stack $STACK ($status)"
sls remove --stage "$STAGE" --region "$REGION" ${SLS_ARGS[@]+"${SLS_ARGS[@]}"}
