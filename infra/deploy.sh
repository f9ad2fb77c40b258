#!/usr/bin/env bash
# Deploy (first time) or update a stage in the AWS account of the current credentials.
#   infra/deploy.sh STAGE ARTIFACT_BUCKET [OPS_ALARM_EMAIL]
# Needs the AWS CLI v2 and credentials allowed to run CloudFormation with IAM capabilities.
# The stage must exist in .chalice/config.json (its IAM policy files name its resources).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?stage, e.g. prod}
artifacts=${2:?an S3 bucket for the deployment package}
ops_email=${3:-}
stack="complaint-desk-$stage"
out="out/$stage"

command -v aws >/dev/null || { echo "the AWS CLI v2 is required (https://aws.amazon.com/cli/)" >&2; exit 1; }
rm -rf "$out"
.venv/bin/chalice package --stage "$stage" --merge-template infra/resources.yaml "$out"
.venv/bin/cfn-lint "$out/sam.yaml"
aws cloudformation package --template-file "$out/sam.yaml" --s3-bucket "$artifacts" \
  --output-template-file "$out/packaged.yaml"
output() {
  aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" \
    --output text 2>/dev/null || true
}
deploy() {
  aws cloudformation deploy --template-file "$out/packaged.yaml" --stack-name "$stack" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
    --parameter-overrides "Stage=$stage" "OpsAlarmEmail=$ops_email" "ConsoleUrl=$1"
}
# The console's address (Cognito sends staff back there after sign-in) is known once the API
# exists: an existing stage keeps it; a new one is deployed, then told its own address.
console=$(output EndpointURL)
deploy "${console:+${console%/}/console}${console:-https://localhost/console}"
console="$(output EndpointURL)"
console="${console%/}/console"
[ "$(output ConsoleUrl)" = "$console" ] || deploy "$console"
aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs" --output table
