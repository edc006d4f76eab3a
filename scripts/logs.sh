#!/usr/bin/env bash
# Shows a stage's logs: npm run logs -- --stage NAME [--region R] [lambda|receiver|processor] [--tail]
#   lambda (default)     sls logs for the processOrder function
#   receiver, processor  the ECS containers' log streams (aws logs tail on /ecs/ordersync-NAME)
# --tail keeps following; without it, the last 10 minutes.
#
# The Lambda's cold starts (invocations, cold starts and their share, Init Duration p50/p90/p99/max,
# Duration p50/p99, Max Memory Used) over a window, --since 30s|15m|1h|2d (default 1h):
#   npm run logs -- --stage NAME [--region R] --cold-starts [--since 1h] [--json]
#       CloudWatch Logs Insights on /aws/lambda/ordersync-NAME-processOrder (AWS CLI v1 or v2)
#   npm run logs -- --local --cold-starts [--since 1h]   the running npm start stack (STATS_PORT)
#   npm run logs -- --file run.log --cold-starts         the REPORT lines of a saved log
#                                                        (npm start | tee run.log), all of them
#   npm run logs -- --cold-starts --help                 the details (scripts/cold-starts.ts)
set -euo pipefail
# Where the command was run from: npm sets it; --file PATH is relative to it.
export INIT_CWD="${INIT_CWD:-$PWD}"
cd "$(dirname "$0")/.."
source scripts/stage-args.sh

# --cold-starts: scripts/cold-starts.ts with the arguments as given (it reads --stage, --region,
# --local, --file, --since, --json and --help itself, and defaults the region as stage-args.sh does).
for word in "$@"; do
  if [ "$word" = --cold-starts ]; then
    node=node
    if [ -x node_modules/.bin/node ]; then node=node_modules/.bin/node; fi
    exec "$node" --import tsx scripts/cold-starts.ts "$@"
  fi
done


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
