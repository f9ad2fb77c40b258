"""Starts the README's local stack as a person would and talks to it over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import requests

from local.harness import ROOT, RunningStack, running_stack
from tests.conftest import complaint


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox") / "outbox.txt"


# Signed in as the local issuer's users (./dev token does the same): staff and an auditor.
staff = requests.Session()
ALL_ROLES = ["agent", "unit-manager", "branch-supervisor", "admin"]


def token(name: str, roles: list[str], unit_id: str = "branch-hz") -> str:
    from local.issuer import mint

    return mint(name, roles, unit_id)


@pytest.fixture(scope="module")
def stack(outbox: Path) -> Iterator[RunningStack]:
    with running_stack(extra_args=("--schedule-seconds", "1", "--outbox", str(outbox))) as running:
        staff.headers["Authorization"] = f"Bearer {token('Li Na', ALL_ROLES)}"
        yield running
    assert running.exit_code == 0, running.output()
    assert "Complaint Desk stopped." in running.output()


def test_case_round_trip_over_http_and_visible_in_emulated_dynamodb(stack: RunningStack) -> None:
    created = staff.post(f"{stack.api}/cases", json=complaint(),
                            headers={"Idempotency-Key": "e2e-1"}, timeout=10)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    accepted = staff.post(f"{stack.api}/cases/{case_id}/accept", json={"actor": "Li Na"},
                             headers={"If-Match": created.headers["ETag"]}, timeout=10)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    read = staff.get(f"{stack.api}/cases/{case_id}", timeout=10).json()
    assert [e["action"] for e in read["history"]] == ["receive", "accept"]

    ddb = boto3.client("dynamodb", endpoint_url=stack.aws, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    item = ddb.get_item(TableName="complaint-desk-local",
                        Key={"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "CASE"}})["Item"]
    assert item["status"]["S"] == "accepted" and item["version"]["N"] == "2"


def test_without_a_token_the_api_answers_401_and_a_minted_token_is_accepted(stack: RunningStack) -> None:
    anonymous = requests.get(f"{stack.api}/cases?unit_id=store-xh-01", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"
    minted = subprocess.run([sys.executable, "-m", "local.issuer", "--role", "agent", "--unit", "store-xh-01",
                             "--name", "Chen Jie"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    signed_in = requests.get(f"{stack.api}/cases?unit_id=store-xh-01", timeout=10,
                             headers={"Authorization": f"Bearer {minted.stdout.strip()}"})
    assert signed_in.status_code == 200


def test_errors_over_http_have_one_shape(stack: RunningStack) -> None:
    missing = staff.get(f"{stack.api}/cases/CD-ZZZZ-ZZZZ-ZZZZ", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "case_not_found"
    invalid = staff.post(f"{stack.api}/cases", data="{oops", timeout=10,
                            headers={"Content-Type": "application/json"})
    assert invalid.status_code == 400 and "body" in invalid.json()["fields"]
    assert "13800001234" not in stack.output()


def wait_for(outbox: Path, text: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = outbox.read_text(encoding="utf-8") if outbox.exists() else ""
        if text in content:
            return content
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in the outbox after {seconds} s:\n{content}")


def test_media_notice_and_a_breach_reach_the_outbox_a_person_reads(stack: RunningStack, outbox: Path) -> None:
    created = staff.post(f"{stack.api}/cases", json=complaint(channel="media"), timeout=10)
    case_id = created.json()["case_id"]
    content = wait_for(outbox, f"NOTICE complaint {case_id}")
    assert "Wu Lan (regional specialist" in content and "Sun Li (store manager" in content

    later = (datetime.now(UTC) + timedelta(hours=25)).isoformat()
    run = subprocess.run([sys.executable, "-m", "local.jobs", "escalate", "--aws-port", str(stack.aws_port),
                          "--at", later], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert '"sent": ' in run.stdout
    content = wait_for(outbox, f"BREACHED complaint {case_id}")
    assert f"[outbox] to store-xh-01: [Complaint Desk] BREACHED complaint {case_id}" in stack.output()
    assert "13800001234" not in content


def test_an_auditor_finds_downloads_and_verifies_a_closed_case_with_the_command_line(
        stack: RunningStack, tmp_path: Path) -> None:
    created = staff.post(f"{stack.api}/cases", json=complaint(), timeout=10).json()
    closed = staff.post(f"{stack.api}/cases/{created['case_id']}/close", timeout=10,
                           json={"actor": "Li Na", "version": 1, "reason": "withdrawn"}).json()
    after_settle = (datetime.now(UTC) + timedelta(hours=73)).isoformat()
    run = subprocess.run([sys.executable, "-m", "local.jobs", "archive", "--aws-port", str(stack.aws_port),
                          "--at", after_settle], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert '"archived": 1' in run.stdout, run.stdout + run.stderr

    day = closed["closed_at"][:10]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--api", stack.api, "--token",
                               token("Auditor Qian", ["auditor"]), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    listed = cli("archive", "list", "--unit", "store-xh-01", "--from", day, "--to", day)
    assert created["case_id"] in listed.stdout, listed.stderr
    downloaded = cli("archive", "download", "--unit", "store-xh-01", "--from", day, "--to", day,
                     "--out", str(tmp_path))
    assert downloaded.returncode == 0 and "every SHA-256 checked" in downloaded.stdout, downloaded.stderr
    assert "download: 100%" in downloaded.stderr  # the progress bar
    assert {p.suffix for p in tmp_path.iterdir()} == {".json", ".html"}
    verified = cli("archive", "verify", created["case_id"])
    assert verified.returncode == 0 and "1 of 1 case(s) intact" in verified.stdout, verified.stderr
    log = cli("audit-log", "--case", created["case_id"])
    assert log.stdout.count("Auditor Qian") == 3  # retrieve json, retrieve html, verify

    # the archive run also exported the audit log of yesterday (by the wall clock, whatever --at said)
    # to the locked bucket; the CLI downloads that day's file and recomputes its hash itself
    from chalicelib.domain.audit_chain import day_to_export

    day = day_to_export(datetime.now(UTC)).isoformat()
    chain = cli("audit", "verify-chain", "--from", day, "--to", day)
    assert chain.returncode == 0 and f"chain intact from {day}" in chain.stdout, chain.stdout + chain.stderr


def test_an_administrator_loads_the_organisation_with_the_command_line(stack: RunningStack, tmp_path: Path) -> None:
    units = [{"unit_id": "store-xh-21", "name": "Xihu store 21", "kind": "store", "parent_id": "county-xh-2",
              "time_zone": "Asia/Shanghai", "calendar": "CN",
              "managers": [{"name": "Lu Ping", "role": "store manager", "email": "lu.ping@example.com"}]},
             {"unit_id": "county-xh-2", "name": "Xihu county 2", "kind": "county", "parent_id": "branch-hz",
              "time_zone": "Asia/Shanghai", "calendar": "CN"}]  # a child before its parent: loaded in order
    organisation = tmp_path / "organisation.json"
    organisation.write_text(json.dumps(units))
    loaded = subprocess.run([sys.executable, "-m", "chalicelib.cli", "--api", stack.api,
                             "--token", token("Gao Min", ["admin"]), "org", "load",
                             str(organisation)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.index("county-xh-2") < loaded.stdout.index("store-xh-21")
    listed = {u["unit_id"] for u in staff.get(f"{stack.api}/units", timeout=10).json()["items"]}
    assert {"store-xh-21", "county-xh-2"} <= listed
