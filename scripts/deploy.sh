#!/usr/bin/env bash
# Deploys ordersync to a stage: npm run deploy -- --stage NAME [--region R] [--param NAME=VALUE ...]
#
# The first deploy of a stage has an order to keep: the ECR repositories are in the stack, the
# images must be in the repositories, and the services need the images to become stable. So:
#   1. no stack yet: sls deploy with no tasks (receiverMinTasks=0, processorMinTasks=0); this
#      creates the repositories and everything else, and is stable at once
#   2. build both images and push them, tagged with the commit (skipped when that tag is there)
#   3. sls deploy with imageTag=<tag>: new task definitions, ECS rolls the services; CloudFormation
#      waits until they are stable, and the deployment circuit breaker rolls back a bad image
# Later deploys do 2 and 3. IMAGE_TAG overrides the tag (default: the commit, plus -dirty-<time>
# when the work tree has changes). Needs aws (v2), docker, git. See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage-args.sh


parse_stage_args "$@"
require_tools aws docker git sls

image_tag() {
  local tag
  tag="$(git rev-parse --short=12 HEAD)"
  if [ -n "$(git status --porcelain)" ]; then
    tag="$tag-dirty-$(date +%Y%m%d%H%M%S)"
    echo "warning: the work tree has uncommitted changes; images are tagged $tag" >&2
  fi
  echo "$tag"
}
TAG="${IMAGE_TAG:-$(image_tag)}"

status="$(stack_status)"
case "$status" in
  ROLLBACK_COMPLETE|ROLLBACK_FAILED|DELETE_FAILED)
    fail "stack $STACK is $status (a failed first deploy): npm run remove -- --stage $STAGE, then deploy again" ;;
  "")
    step "first deploy of stage $STAGE: creating stack $STACK without tasks (repositories, network, messaging)"
    sls deploy --stage "$STAGE" --region "$REGION" "${SLS_ARGS[@]}" \
      --param "imageTag=$TAG" --param receiverMinTasks=0 --param processorMinTasks=0 ;;
  *) step "stack $STACK exists ($status)" ;;
esac

registry=""
for component in receiver processor; do
  uri="$(stack_output "${component^}RepositoryUri")"
  [ -n "$uri" ] && [ "$uri" != "None" ] || fail "stack $STACK has no repository URI for the $component"
  repository="${uri#*/}"
  if aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$TAG" --region "$REGION" >/dev/null 2>&1; then
    step "$component image $TAG is already in $repository"
    continue
  fi
  if [ -z "$registry" ]; then
    registry="${uri%%/*}"
    step "logging in to $registry"
    aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$registry"
  fi
  step "building and pushing $uri:$TAG"
  docker build --platform linux/amd64 -f "containers/$component/Dockerfile" -t "$uri:$TAG" .
  docker push "$uri:$TAG"
done

step "deploying stage $STAGE with images $TAG (waits until the services are stable)"
sls deploy --stage "$STAGE" --region "$REGION" "${SLS_ARGS[@]}" --param "imageTag=$TAG"

step "deployed: $(stack_output LoadBalancerUrl)"
