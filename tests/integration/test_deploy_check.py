"""`./dev deploy --check STAGE`: the prerequisites of a first deploy it can see, checked against a
stand-in `aws` command, and nothing deployed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_AWS = r"""#!/usr/bin/env bash
# Answers like the AWS CLI from the FAKE_* variables, and logs every call.
echo "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "sts get-caller-identity") [ "$FAKE_CREDENTIALS" = yes ] && echo "arn:aws:iam::123456789012:user/ops" || exit 255 ;;
  "configure get") echo "${FAKE_REGION:-}" ;;
  "s3api head-bucket") [ "$FAKE_BUCKET" = yes ] || exit 254 ;;
  "lambda get-account-settings") echo "$FAKE_CONCURRENCY" ;;
  "sns get-sms-sandbox-account-status") echo "$FAKE_SANDBOX" ;;
  "sns get-sms-attributes") echo "$FAKE_SPEND" ;;
  "sesv2 get-email-identity") echo "$FAKE_SES_VERIFIED" ;;
  "sesv2 get-account") echo "$FAKE_SES_PRODUCTION" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def _check(tmp_path: Path, stage: str = "prod", bucket: str = "my-artifacts", **fake: str) -> tuple[int, str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS)
    aws.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "FAKE_LOG": str(log), "FAKE_CREDENTIALS": "yes",
                "FAKE_REGION": "ap-east-1", "FAKE_BUCKET": "yes", "FAKE_CONCURRENCY": "1000",
                "FAKE_SANDBOX": "False", "FAKE_SPEND": "200",
                "FAKE_SES_VERIFIED": "True", "FAKE_SES_PRODUCTION": "True", "SES_IDENTITY": "desk@example.com",
                **fake})
    run = subprocess.run(["infra/deploy.sh", "--check", stage, bucket], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    return run.returncode, run.stdout + run.stderr, log.read_text() if log.exists() else ""


def test_a_ready_account_is_reported_ready(tmp_path: Path) -> None:
    code, out, calls = _check(tmp_path)
    assert code == 0, out
    assert "ready to deploy prod" in out and "MISSING" not in out
    assert "cloudformation" not in calls  # nothing deployed


def test_what_is_missing_is_printed_and_nothing_is_deployed(tmp_path: Path) -> None:
    code, out, calls = _check(tmp_path, FAKE_CREDENTIALS="no", FAKE_REGION="", FAKE_SANDBOX="True",
                              FAKE_SPEND="1", FAKE_SES_VERIFIED="Pending", FAKE_BUCKET="no", FAKE_CONCURRENCY="10")
    assert code == 1
    missing = [line for line in out.splitlines() if line.startswith("MISSING")]
    for expected in ("credentials", "region", "artifact bucket", "Lambda concurrency", "SMS sandbox", "spend limit",
                     "SES identity"):
        assert any(expected in line for line in missing), (expected, out)
    assert "cloudformation" not in calls


def test_a_stage_without_its_configuration_is_reported(tmp_path: Path) -> None:
    code, out, _ = _check(tmp_path, stage="qa")
    assert code == 1 and "MISSING  a \"qa\" block" in out
