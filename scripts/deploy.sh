#!/usr/bin/env bash
# Deploys ordersync to a stage: npm run deploy -- --stage NAME [--region R] [--param NAME=VALUE ...]
#
# The first deploy of a stage has an order to keep: the ECR repositories are in the stack, the
# images must be in the repositories, and the services need the images to become stable. So:
#   1. when the stack has no image repositories yet (no stack, or a first deploy that did not
#      finish): make sure ECS's service-linked roles exist, then sls deploy with imageTag=none,
#      which runs no task; this creates the repositories and everything else, stable at once
#   2. build both images and push them, tagged with the commit (skipped when that tag is there)
#   3. sls deploy with imageTag=<tag>: new task definitions, a real ECS deployment; CloudFormation
#      waits until the services are stable, and the deployment circuit breaker rolls back a bad
#      image within minutes
# Later deploys do 2 and 3. IMAGE_TAG overrides the tag (default: the commit, plus -dirty-<time>
# when the work tree has changes). A stack in the middle of a change or stuck in a failed state
# is not touched: the script says what to do. Needs aws (CLI v2, or v1 from 1.17.10), docker
# with BuildKit, git, node. AWS_ENDPOINT_URL, honoured by the AWS CLI and the framework, points
# both at another AWS endpoint. See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage-args.sh

# After a rolled-back stack deleted its queues, SQS refuses their names for this long.
QUEUE_NAME_COOLDOWN_SECONDS=60
NO_IMAGE=none

parse_stage_args "$@"
require_tools aws docker git node sls
require_aws_cli 1.17.10 "aws ecr get-login-password"
docker buildx version >/dev/null 2>&1 ||
  fail "docker with BuildKit is needed (docker buildx version failed): Docker Desktop has it; on Linux install the docker-buildx-plugin package"

image_tag() {
  local tag
  tag="$(git rev-parse --short=12 HEAD)" || exit 1
  if [ -n "$(git status --porcelain)" ]; then
    tag="$tag-dirty-$(date +%Y%m%d%H%M%S)"
    echo "warning: the work tree has uncommitted changes; images are tagged $tag" >&2
  fi
  echo "$tag"
}
TAG="${IMAGE_TAG:-$(image_tag)}"
[ "$TAG" != "$NO_IMAGE" ] || fail "IMAGE_TAG must not be \"$NO_IMAGE\": that tag means a stage without images"

# The name of the service-linked role of an AWS service (by its principal), or None. Listed by
# its path: the path is fixed by the service, the name's spelling is not everywhere the same.
service_linked_role() {
  aws iam list-roles --path-prefix "/aws-service-role/$1/" --query 'Roles[0].RoleName' --output text
}

# Makes sure the service-linked roles of these AWS services exist ("principal:purpose" each).
# CloudFormation does not wait for one that a resource creates on the fly: on an account that
# never had an ECS cluster, creating a cluster with capacity providers fails with "Unable to
# assume the service linked role".
ensure_service_linked_roles() {
  local entry service role errors status created="" attempt
  for entry in "$@"; do
    service="${entry%%:*}"
    role="$(service_linked_role "$service")" || exit 1
    if ! is_none "$role"; then
      step "service-linked role $role exists (${entry#*:})"
      continue
    fi
    step "creating the service-linked role for $service (${entry#*:})"
    errors="$(mktemp)"
    status=0
    aws iam create-service-linked-role --aws-service-name "$service" >/dev/null 2>"$errors" || status=$?
    # Created meanwhile by someone else: AWS says "has been taken" or "already exists".
    if [ "$status" -ne 0 ] && ! grep -q -e 'has been taken' -e 'already exists' "$errors"; then
      cat "$errors" >&2
      rm -f "$errors"
      fail "could not create the service-linked role for $service (it needs iam:CreateServiceLinkedRole)"
    fi
    rm -f "$errors"
    created="$created $service"
  done
  [ -n "$created" ] || return 0
  # IAM is eventually consistent: wait until each new role can be read, then a little longer.
  for service in $created; do
    for attempt in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      role="$(service_linked_role "$service")" || exit 1
      is_none "$role" || break
      sleep 3
    done
    is_none "$role" && fail "the service-linked role for $service was created but cannot be read after a minute"
  done
  step "waiting 10 s for the new service-linked roles to be usable everywhere"
  sleep 10
}

# SQS refuses the name of a deleted queue for 60 s. When the stack deleted queues (a rolled-back
# first deploy), waits until 60 s after the last such deletion.
wait_for_queue_names() {
  local deleted wait
  deleted="$(aws cloudformation describe-stack-events --stack-name "$STACK" --region "$REGION" \
    --query "StackEvents[?ResourceType=='AWS::SQS::Queue' && ResourceStatus=='DELETE_COMPLETE'] | [0].Timestamp" \
    --output text)" || exit 1
  is_none "$deleted" && return 0
  wait="$(node -e 'const at = Date.parse(process.argv[1]); console.log(Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at + Number(process.argv[2]) * 1000 - Date.now()) / 1000)))' \
    "$deleted" "$QUEUE_NAME_COOLDOWN_SECONDS")" || exit 1
  if [ "$wait" -gt 0 ]; then
    step "waiting ${wait} s: the stack deleted its queues, and SQS takes a deleted queue's name again only ${QUEUE_NAME_COOLDOWN_SECONDS} s later"
    sleep "$wait"
  fi
}

status="$(stack_status)"
case "$status" in
  "") ;;
  *_IN_PROGRESS)
    fail "stack $STACK is $status: a deploy, update or removal of this stage is under way. Let it end (aws cloudformation describe-stacks --stack-name $STACK --region $REGION --query 'Stacks[0].StackStatus'), then run this again" ;;
  ROLLBACK_COMPLETE)
    fail "stack $STACK is ROLLBACK_COMPLETE: its creation failed and was rolled back, and CloudFormation can only delete such a stack. Run npm run remove -- --stage $STAGE --region $REGION, then deploy again (after a minute if it had created queues: SQS refuses a deleted queue's name for 60 s). Why it failed: aws cloudformation describe-stack-events --stack-name $STACK --region $REGION" ;;
  ROLLBACK_FAILED)
    fail "stack $STACK is ROLLBACK_FAILED: its creation failed and so did the rollback; it can only be deleted. Run npm run remove -- --stage $STAGE --region $REGION (if that fails, docs/deploy.md says how to finish it), then deploy again" ;;
  UPDATE_ROLLBACK_FAILED)
    fail "stack $STACK is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback. Finish the rollback with aws cloudformation continue-update-rollback --stack-name $STACK --region $REGION (docs/deploy.md: when a resource cannot roll back), then deploy again" ;;
  DELETE_FAILED)
    fail "stack $STACK is DELETE_FAILED: a removal did not finish. Run npm run remove -- --stage $STAGE --region $REGION again; the stack's events name what could not be deleted" ;;
  IMPORT_ROLLBACK_FAILED)
    fail "stack $STACK is IMPORT_ROLLBACK_FAILED: a resource import failed and so did its rollback. Finish it with aws cloudformation continue-update-rollback --stack-name $STACK --region $REGION, then deploy again" ;;
  CREATE_COMPLETE|UPDATE_COMPLETE|UPDATE_ROLLBACK_COMPLETE|CREATE_FAILED|UPDATE_FAILED|IMPORT_COMPLETE|IMPORT_ROLLBACK_COMPLETE)
    step "stack $STACK is $status" ;;
  *)
    fail "stack $STACK is $status, a state this script does not know; nothing was changed" ;;
esac

# The first deploy: decided by what the stack lacks, not by whether it exists. osls creates a
# stack holding only its deployment bucket and then updates it to the full template, so a first
# deploy that failed leaves a stack without repositories (UPDATE_ROLLBACK_COMPLETE).
receiver_uri=""
processor_uri=""
if [ -n "$status" ]; then
  receiver_uri="$(stack_output ReceiverRepositoryUri)"
  processor_uri="$(stack_output ProcessorRepositoryUri)"
fi
if [ -z "$receiver_uri" ] || [ -z "$processor_uri" ]; then
  if [ -n "$status" ]; then
    step "stack $STACK has no image repositories: its first deploy did not finish; starting it again"
    wait_for_queue_names
  fi
  ensure_service_linked_roles "ecs.amazonaws.com:ECS clusters with Fargate capacity providers" \
    "ecs.application-autoscaling.amazonaws.com:autoscaling of the ECS services"
  step "first deploy of stage $STAGE: stack $STACK with no task running (imageTag=$NO_IMAGE): repositories, network, messaging"
  sls deploy --stage "$STAGE" --region "$REGION" ${SLS_ARGS[@]+"${SLS_ARGS[@]}"} --param "imageTag=$NO_IMAGE"
  receiver_uri="$(stack_output ReceiverRepositoryUri)"
  processor_uri="$(stack_output ProcessorRepositoryUri)"
fi

registry=""
for component in receiver processor; do
  case "$component" in
    receiver) uri="$receiver_uri" ;;
    processor) uri="$processor_uri" ;;
  esac
  [ -n "$uri" ] || fail "stack $STACK has no output with the $component repository URI after its deploy; see its events: aws cloudformation describe-stack-events --stack-name $STACK --region $REGION"
  repository="${uri#*/}"
  found="$(aws_unless_missing ImageNotFoundException ecr describe-images --repository-name "$repository" \
    --image-ids "imageTag=$TAG" --region "$REGION" --query 'imageDetails[0].imageDigest' --output text)"
  if ! is_none "$found"; then
    step "$component image $TAG is already in $repository"
    continue
  fi
  if [ -z "$registry" ]; then
    registry="${uri%%/*}"
    step "logging in to $registry"
    aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$registry"
  fi
  step "building and pushing $uri:$TAG"
  # The build stage runs on the builder's own platform (the bundle does not depend on it), the
  # image is for linux/amd64: BuildKit does both, also on Apple Silicon.
  DOCKER_BUILDKIT=1 docker build --platform linux/amd64 -f "containers/$component/Dockerfile" -t "$uri:$TAG" .
  docker push "$uri:$TAG"
done

step "deploying stage $STAGE with images $TAG (waits until the services are stable)"
sls deploy --stage "$STAGE" --region "$REGION" ${SLS_ARGS[@]+"${SLS_ARGS[@]}"} --param "imageTag=$TAG"

url="$(stack_output LoadBalancerUrl)"
[ -n "$url" ] || fail "stack $STACK has no LoadBalancerUrl output after its deploy"
step "deployed: $url"
