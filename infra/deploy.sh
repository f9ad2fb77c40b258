#!/usr/bin/env bash
# Deploy (first time) or update a stage in the AWS account of the current credentials.
#   infra/deploy.sh STAGE ARTIFACT_BUCKET [OPS_ALARM_EMAIL]
#   infra/deploy.sh --check STAGE [ARTIFACT_BUCKET]   what a deploy needs, checked; deploys nothing
# Needs the AWS CLI v2 and credentials allowed to run CloudFormation with IAM capabilities.
# The stage must exist in .chalice/config.json; its IAM policies are built from the template's
# resources (any stage name works). SES_IDENTITY (optional): the address or domain staff mail is
# sent from, checked by --check.
set -euo pipefail
cd "$(dirname "$0")/.."

check() {
  # Prints one line per prerequisite (ok / MISSING / note) and exits 1 if anything is missing.
  local stage=$1 artifacts=${2:-} missing=0
  ok() { echo "ok       $*"; }
  miss() { echo "MISSING  $*"; missing=1; }
  note() { echo "note     $*"; }
  command -v aws >/dev/null || { miss "the AWS CLI v2 (https://aws.amazon.com/cli/)"; exit 1; }
  if .venv/bin/python -c 'import json, sys; sys.exit(sys.argv[1] not in json.load(open(".chalice/config.json"))["stages"])' \
      "$stage"; then ok "stage $stage in .chalice/config.json"
  else miss "a \"$stage\" block under \"stages\" in .chalice/config.json (copy \"prod\")"; fi
  local who region
  if who=$(aws sts get-caller-identity --query Arn --output text 2>/dev/null); then ok "credentials: $who"
  else miss "AWS credentials (aws configure, or AWS_PROFILE)"; fi
  region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}
  if [ -n "$region" ]; then ok "region: $region"; else miss "a region (AWS_REGION or aws configure set region)"; fi
  if [ -z "$artifacts" ]; then miss "an artifact bucket argument (aws s3 mb s3://NAME)"
  elif aws s3api head-bucket --bucket "$artifacts" >/dev/null 2>&1; then ok "artifact bucket $artifacts"
  else miss "artifact bucket $artifacts (aws s3 mb s3://$artifacts)"; fi
  # The three scheduled functions reserve 1 each; Lambda keeps 100 unreserved, so the account needs 103.
  local concurrency
  concurrency=$(aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions --output text \
    2>/dev/null || echo 0)
  if [ "${concurrency:-0}" -ge 103 ] 2>/dev/null; then ok "Lambda concurrency quota: $concurrency"
  else miss "a Lambda concurrency quota of at least 103 (found ${concurrency:-none}; request an increase in Service Quotas)"; fi
  local sandbox spend
  sandbox=$(aws sns get-sms-sandbox-account-status --query IsInSandbox --output text 2>/dev/null || echo unknown)
  case "$sandbox" in
    False|false) ok "SMS: out of the SNS SMS sandbox" ;;
    True|true) miss "SMS: the account is in the SNS SMS sandbox; only verified numbers get texts (request production access)" ;;
    *) miss "SMS: sandbox status unknown (sns:GetSMSSandboxAccountStatus refused or failed)" ;;
  esac
  spend=$(aws sns get-sms-attributes --attributes MonthlySpendLimit --query attributes.MonthlySpendLimit \
    --output text 2>/dev/null || true)
  if [ -n "$spend" ] && [ "$spend" != "None" ] && [ "$spend" != "1" ]; then ok "SMS monthly spend limit: USD $spend"
  else miss "SMS monthly spend limit above the USD 1 default (a service quota request, then sns set-sms-attributes)"; fi
  note "SMS to mainland China numbers needs a registered sender and template (AWS End User Messaging); not checkable here"
  if [ -n "${SES_IDENTITY:-}" ]; then
    local verified production
    verified=$(aws sesv2 get-email-identity --email-identity "$SES_IDENTITY" --query VerifiedForSendingStatus \
      --output text 2>/dev/null || echo unknown)
    if [ "$verified" = "True" ] || [ "$verified" = "true" ]; then ok "SES identity $SES_IDENTITY verified"
    else miss "SES identity $SES_IDENTITY verified for sending (status: $verified)"; fi
    production=$(aws sesv2 get-account --query ProductionAccessEnabled --output text 2>/dev/null || echo unknown)
    if [ "$production" = "True" ] || [ "$production" = "true" ]; then ok "SES: production access"
    else miss "SES: production access (the SES sandbox only sends to verified addresses)"; fi
  else
    miss "SES_IDENTITY=<the verified sender of escalation e-mails> (also the stack's SenderEmail)"
  fi
  [ "$missing" = 0 ] && echo "ready to deploy $stage" || echo "not ready: fix the MISSING lines above"
  return "$missing"
}

if [ "${1:-}" = "--check" ]; then
  shift
  check "${1:?stage, e.g. prod}" "${2:-}"
  exit $?
fi

stage=${1:?stage, e.g. prod}
artifacts=${2:?an S3 bucket for the deployment package}
ops_email=${3:-}
stack="complaint-desk-$stage"
out="out/$stage"

command -v aws >/dev/null || { echo "the AWS CLI v2 is required (https://aws.amazon.com/cli/)" >&2; exit 1; }
rm -rf "$out"
# The Lambda runtime is the template's, not this interpreter's (infra/package.py).
.venv/bin/python infra/package.py "$stage" "$out"
.venv/bin/cfn-lint "$out/sam.yaml"
aws cloudformation package --template-file "$out/sam.yaml" --s3-bucket "$artifacts" \
  --s3-prefix "$stack" --output-template-file "$out/packaged.yaml"
output() {
  aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" \
    --output text 2>/dev/null || true
}
deploy() {
  # The template is larger than the 51,200 bytes CloudFormation accepts inline: it goes by S3.
  aws cloudformation deploy --template-file "$out/packaged.yaml" --stack-name "$stack" \
    --s3-bucket "$artifacts" --s3-prefix "$stack" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
    --parameter-overrides "Stage=$stage" "OpsAlarmEmail=$ops_email" "ConsoleUrl=$1" \
      ${SES_IDENTITY:+"SenderEmail=$SES_IDENTITY"} ${CONSOLE_LINK_BASE:+"ConsoleLinkBase=$CONSOLE_LINK_BASE"} \
      ${SMS_MONTHLY_SPEND_LIMIT:+"SmsMonthlySpendLimit=$SMS_MONTHLY_SPEND_LIMIT"} \
      ${SMS_SENDER_IDS:+"SmsSenderIds=$SMS_SENDER_IDS"}
}
# The console's address (Cognito sends staff back there after sign-in) is known once the API
# exists: an existing stage keeps it; a new one is deployed, then told its own address.
console=$(output EndpointURL)
deploy "${console:+${console%/}/console}${console:-https://localhost/console}"
console="$(output EndpointURL)"
console="${console%/}/console"
[ "$(output ConsoleUrl)" = "$console" ] || deploy "$console"
# SMS settings are the account's, not a stack's: transactional by default, and the monthly spend
# limit the stack's spend alarm is set against (AWS stops sending SMS past it).
if [ -n "${SMS_MONTHLY_SPEND_LIMIT:-}" ]; then
  aws sns set-sms-attributes --attributes "DefaultSMSType=Transactional,MonthlySpendLimit=$SMS_MONTHLY_SPEND_LIMIT"
else
  aws sns set-sms-attributes --attributes "DefaultSMSType=Transactional"
fi
aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs" --output table
