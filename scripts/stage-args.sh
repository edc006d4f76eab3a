# Sourced by deploy.sh, remove.sh and logs.sh: the stage and region from the command line, the
# rest of it kept for sls, and small helpers. Not a command of its own.

SERVICE=ordersync
STAGE=dev
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
# Arguments for sls other than --stage and --region (e.g. --param processorMode=both).
SLS_ARGS=()
# Words the calling script handles itself (logs.sh: which component, --tail).
OWN_ARGS=()

parse_stage_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --stage|-s) [ $# -ge 2 ] || fail "--stage needs a name"; STAGE="$2"; shift 2 ;;
      --stage=*) STAGE="${1#--stage=}"; shift ;;
      --region|-r) [ $# -ge 2 ] || fail "--region needs a name"; REGION="$2"; shift 2 ;;
      --region=*) REGION="${1#--region=}"; shift ;;
      --param) [ $# -ge 2 ] || fail "--param needs NAME=VALUE"; SLS_ARGS+=("$1" "$2"); shift 2 ;;
      --help|-h) usage; exit 0 ;;
      --*) SLS_ARGS+=("$1"); shift ;;
      *) OWN_ARGS+=("$1"); shift ;;
    esac
  done
  # ECR repository names must be lower case; the stage is part of every resource name.
  [[ "$STAGE" =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] ||
    fail "stage must be 1 to 20 lower-case letters, digits or hyphens (got \"$STAGE\")"
  STACK="$SERVICE-$STAGE"
}

# --help: the comment block at the top of the calling script.
usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
}

fail() {
  echo "error: $*" >&2
  exit 1
}

step() {
  echo "==> $*"
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed and was not found on PATH"
  done
}

# The framework from this project's node_modules unless one is already on PATH (npm run puts it there).
PATH="$PATH:$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/node_modules/.bin"

# Prints the stack's status, or nothing when there is no such stack.
stack_status() {
  aws cloudformation describe-stacks --stack-name "$STACK" --region "$REGION" \
    --query 'Stacks[0].StackStatus' --output text 2>/dev/null || true
}

# Prints the value of one of the stack's outputs.
stack_output() {
  aws cloudformation describe-stacks --stack-name "$STACK" --region "$REGION" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
