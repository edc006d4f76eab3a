#!/usr/bin/env bash
# Shows a stage's logs: npm run logs -- --stage NAME [--region R] [lambda|receiver|processor] [--tail]
#   lambda (default)     sls logs for the processOrder function
#   receiver, processor  the ECS containers' log streams (aws logs tail on /ecs/ordersync-NAME)
# --tail keeps following; without it, the last 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage-args.sh


parse_stage_args "$@"
component=lambda
tail=false
for word in ${OWN_ARGS[@]+"${OWN_ARGS[@]}"}; do
  case "$word" in
    lambda|receiver|processor) component="$word" ;;
    *) fail "unknown argument \"$word\" (lambda, receiver or processor)" ;;
  esac
done
sls_args=()
for word in ${SLS_ARGS[@]+"${SLS_ARGS[@]}"}; do
  case "$word" in
    --tail|-t|--follow) tail=true ;;
    *) sls_args+=("$word") ;;
  esac
done

log_group="/ecs/$SERVICE-$STAGE"
hint() {
  echo "ECS containers: aws logs tail $log_group --region $REGION --log-stream-name-prefix receiver/ --follow" >&2
  echo "                aws logs tail $log_group --region $REGION --log-stream-name-prefix processor/ --follow" >&2
  echo "           or:  npm run logs -- --stage $STAGE receiver|processor [--tail]" >&2
}

if [ "$component" = lambda ]; then
  require_tools sls
  hint
  if $tail; then
    exec sls logs --function processOrder --stage "$STAGE" --region "$REGION" --tail ${sls_args[@]+"${sls_args[@]}"}
  fi
  exec sls logs --function processOrder --stage "$STAGE" --region "$REGION" --startTime 10m ${sls_args[@]+"${sls_args[@]}"}
fi

require_tools aws
require_aws_cli 2.0.0 "aws logs tail exists only in AWS CLI v2"
if $tail; then
  exec aws logs tail "$log_group" --region "$REGION" --log-stream-name-prefix "$component/" --follow
fi
exec aws logs tail "$log_group" --region "$REGION" --log-stream-name-prefix "$component/" --since 10m
