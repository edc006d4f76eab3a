# Sourced by deploy.sh, remove.sh and logs.sh: the stage and region from the command line, the
# rest of it kept for sls, and small helpers. Not a command of its own.
#
# Runs on bash 3.2 (macOS's /bin/bash): no ${x^}, no associative arrays, no mapfile, and an array
# that may be empty is expanded as ${A[@]+"${A[@]}"} (bash before 4.4 calls "${A[@]}" of an empty
# array unbound under set -u). tests/deploy/bash32.test.ts checks every script for these.

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

# The AWS CLI at version $1 or later (major.minor.patch), with what needs it ($2).
require_aws_cli() {
  local version
  version="$(aws --version 2>&1)" || fail "aws --version failed: $version"
  version="${version#aws-cli/}"
  version="${version%% *}"
  version_at_least "$version" "$1" ||
    fail "AWS CLI $1 or later is needed ($2); this is aws-cli/$version. Install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
}

# True when version $1 is at least $2 (both major.minor.patch).
version_at_least() {
  local have="$1" need="$2" h n
  while [ -n "$need" ]; do
    h="${have%%.*}"; n="${need%%.*}"
    case "$h" in ''|*[!0-9]*) return 1 ;; esac
    [ "$h" -gt "$n" ] && return 0
    [ "$h" -lt "$n" ] && return 1
    [ "$have" = "$h" ] && have="" || have="${have#*.}"
    [ "$need" = "$n" ] && need="" || need="${need#*.}"
  done
  return 0
}

# These helpers print their answer, so callers take it with $(...). Bash runs a command
# substitution without set -e, so every one in a helper ends with `|| exit 1`: a failure inside
# stops the helper, and the caller's assignment (set -e) stops the script.

# aws with the arguments after $1, printing what it prints. When it fails with an error that
# contains $1, the one answer that means "there is no such thing", it prints nothing and succeeds;
# any other failure (no credentials, an expired token, throttling, no network) stops the script
# with the error as AWS gave it. Never take "could not ask" for "there is none".
aws_unless_missing() {
  local missing="$1" errors output status=0
  shift
  errors="$(mktemp)"
  output="$(aws "$@" 2>"$errors")" || status=$?
  if [ "$status" -eq 0 ]; then
    rm -f "$errors"
    printf '%s\n' "$output"
    return 0
  fi
  if grep -q -F -- "$missing" "$errors"; then
    rm -f "$errors"
    return 0
  fi
  echo "error: aws $1 $2 failed (exit status $status); nothing was changed by this step:" >&2
  cat "$errors" >&2
  rm -f "$errors"
  exit 1
}

# The CLI's text output for "no value".
is_none() {
  [ -z "$1" ] || [ "$1" = None ] || [ "$1" = null ]
}

# Prints the stack's status, or nothing when AWS says there is no such stack.
stack_status() {
  local status
  status="$(aws_unless_missing "Stack with id $STACK does not exist" cloudformation describe-stacks \
    --stack-name "$STACK" --region "$REGION" --query 'Stacks[0].StackStatus' --output text)" || exit 1
  is_none "$status" || echo "$status"
}

# Prints the value of one of the stack's outputs, or nothing when the stack has no such output.
stack_output() {
  local value
  value="$(aws cloudformation describe-stacks --stack-name "$STACK" --region "$REGION" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text)" || exit 1
  is_none "$value" || echo "$value"
}
