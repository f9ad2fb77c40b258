"""Starts the README's local stack as a person would and talks to it over HTTP."""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import requests

from local.harness import ROOT, RunningStack, free_port, running_stack
from tests.conftest import complaint


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox") / "outbox.txt"


# Signed in as the local issuer's users (./dev token does the same): staff and an auditor.
staff = requests.Session()
ALL_ROLES = ["agent", "unit-manager", "branch-supervisor", "admin"]


_running: list[RunningStack] = []


def token(name: str, roles: list[str], unit_id: str = "branch-hz") -> str:
    """A token of a person enrolled in the running stack's staff directory."""
    from local.harness import staff_token

    return staff_token(_running[0], name, roles, unit_id)


@pytest.fixture(scope="module")
def stack(outbox: Path) -> Iterator[RunningStack]:
    # A window of about a second between one person's SMS, so each test sees its own messages
    # (the 10-minute digest window itself is tested in tests/integration/test_notifier.py).
    os.environ["DIGEST_WINDOW_MINUTES"] = "0.02"
    try:
        with running_stack(extra_args=("--schedule-seconds", "1", "--outbox", str(outbox))) as running:
            _running[:] = [running]
            # not a sample person's name: the console's sign-in hint names one, and it must stay unique
            staff.headers["Authorization"] = f"Bearer {token('Lin Yue', ALL_ROLES)}"
            yield running
    finally:
        os.environ.pop("DIGEST_WINDOW_MINUTES", None)
    assert running.exit_code == 0, running.output()
    assert "Complaint Desk stopped." in running.output()
    assert not running.stack_file.exists()  # a stopped stack leaves no record of ports nobody listens on


def test_the_stack_records_its_ports_and_the_tools_find_it_there(stack: RunningStack) -> None:
    record = json.loads(stack.stack_file.read_text())
    assert (record["api_port"], record["aws_port"]) == (int(stack.api.rsplit(":", 1)[1]), stack.aws_port)
    assert record["environment"]["TABLE_NAME"] == "complaint-desk-local"
    found = subprocess.run([sys.executable, "-m", "local.stack_file", "api"], cwd=ROOT, env=stack.job_environment(),
                           capture_output=True, text=True, timeout=60, check=True)
    assert found.stdout.strip() == stack.api
    minted = subprocess.run([sys.executable, "-m", "local.issuer", "--name", "Chen Jie"], cwd=ROOT,
                            env=stack.job_environment(), capture_output=True, text=True, timeout=60, check=True)
    assert requests.get(f"{stack.api}/cases?unit_id=store-xh-01", timeout=10,
                        headers={"Authorization": f"Bearer {minted.stdout.strip()}"}).status_code == 200
    second = subprocess.run([sys.executable, "-m", "local.stack", "--port", str(free_port()), "--aws-port",
                             str(free_port())], cwd=ROOT, env=stack.job_environment(), capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 1 and "a local stack is already running" in second.stderr, second.stderr
    banner = stack.output()
    assert f"API            {stack.api}   (every route but the public form's needs a staff token" in banner
    assert "export COMPLAINT_DESK_TOKEN=$(./dev token --name \"Qian Yu\")" in banner
    # the console's sign-in page tells a newcomer how to get a token: that command works
    console = requests.get(f"{stack.api}/console", timeout=10).text
    hinted = re.search(r"<code>\./dev token ([^<]+)</code>", console)
    assert hinted, "the console names the command"
    arguments = shlex.split(html.unescape(hinted.group(1)))
    printed = subprocess.run([sys.executable, "-m", "local.issuer", *arguments], cwd=ROOT,
                             env=stack.job_environment(), capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert requests.get(f"{stack.api}/cases?unit_id=store-xh-01", timeout=10,
                        headers={"Authorization": f"Bearer {printed.stdout.strip()}"}).status_code == 200


def test_a_job_without_a_running_stack_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["COMPLAINT_DESK_STACK_FILE"] = str(tmp_path / "stack.json")
    started = time.monotonic()
    none = subprocess.run([sys.executable, "-m", "local.jobs", "escalate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert none.returncode == 1 and none.stdout == ""
    assert none.stderr.strip().splitlines() == [f"no local stack is running (no {tmp_path / 'stack.json'}): "
                                                "start one with ./dev run"]
    # A record left by a stack that died: still one line, and quickly (no retries against a dead port).
    (tmp_path / "stack.json").write_text(json.dumps({"pid": 2 ** 22 + 7, "stage": "local", "api_port": 1,
                                                     "aws_port": 2, "environment": {}}))
    stale = subprocess.run([sys.executable, "-m", "local.jobs", "archive"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1 and len(stale.stderr.strip().splitlines()) == 1
    assert "has stopped): start one with ./dev run" in stale.stderr
    assert time.monotonic() - started < 20


def test_case_round_trip_over_http_and_visible_in_emulated_dynamodb(stack: RunningStack) -> None:
    created = staff.post(f"{stack.api}/cases", json=complaint(),
                            headers={"Idempotency-Key": "e2e-1"}, timeout=10)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    accepted = staff.post(f"{stack.api}/cases/{case_id}/accept", json={"actor": "Lin Yue"},
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
    minted = subprocess.run([sys.executable, "-m", "local.issuer", "--name", "Chen Jie"], cwd=ROOT,
                            env=stack.job_environment(), capture_output=True, text=True, timeout=60, check=True)
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


def entries(content: str, case_id: str) -> dict[str, str]:
    """The outbox's entries about a case, by "<medium> to <name>" (e.g. "SMS to Sun Li")."""
    return {entry.split("  ", 2)[1].split(" <")[0]: entry for entry in content.split("=== ")[1:] if case_id in entry}


def wait_for_entries(outbox: Path, case_id: str, wanted: set[str], seconds: float = 15) -> dict[str, str]:
    """The outbox's entries about the case once all of `wanted` (e.g. "SMS to Sun Li") are there."""
    deadline = time.monotonic() + seconds
    while True:
        told = entries(outbox.read_text(encoding="utf-8") if outbox.exists() else "", case_id)
        if wanted <= set(told) or time.monotonic() > deadline:
            assert wanted <= set(told), (sorted(wanted - set(told)), sorted(told))
            return told
        time.sleep(0.3)


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
    told = wait_for_entries(outbox, case_id, {"SMS to Wu Lan", "email to Wu Lan", "SMS to Sun Li", "email to Sun Li"})
    assert "[zh, 1 segment; sent]" in told["SMS to Sun Li"]  # Sun Li reads Chinese; one SMS segment

    later = (datetime.now(UTC) + timedelta(hours=25)).isoformat()
    run = subprocess.run([sys.executable, "-m", "local.jobs", "escalate", "--at", later], cwd=ROOT,
                         env=stack.job_environment(), capture_output=True, text=True, timeout=60, check=True)
    assert '"sent": ' in run.stdout
    content = wait_for(outbox, f"已超时:{case_id}")
    assert "email to Sun Li <sun.li@example.com>" in content
    assert "[outbox] SMS to Sun Li (zh, sent): 【投诉台】" in stack.output()
    assert "13800001234" not in content


def test_an_auditor_finds_downloads_and_verifies_a_closed_case_with_the_command_line(
        stack: RunningStack, tmp_path: Path) -> None:
    created = staff.post(f"{stack.api}/cases", json=complaint(), timeout=10).json()
    closed = staff.post(f"{stack.api}/cases/{created['case_id']}/close", timeout=10,
                           json={"actor": "Lin Yue", "version": 1, "reason": "withdrawn"}).json()
    after_settle = (datetime.now(UTC) + timedelta(hours=73)).isoformat()
    run = subprocess.run([sys.executable, "-m", "local.jobs", "archive", "--at", after_settle], cwd=ROOT,
                         env=stack.job_environment(), capture_output=True, text=True, timeout=60, check=True)
    assert '"archived": 1' in run.stdout, run.stdout + run.stderr
    # With a locked file in the bucket every job still runs: none provisions the stack again.
    again = subprocess.run([sys.executable, "-m", "local.jobs", "escalate"], cwd=ROOT, env=stack.job_environment(),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and '"sent"' in again.stdout, again.stderr

    day = closed["closed_at"][:10]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--api", stack.api, "--token",
                               token("Auditor Qian", ["auditor"]), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    listed = cli("archive", "list", "--unit", "store-xh-01", "--from", day, "--to", day)
    assert created["case_id"] in listed.stdout, listed.stderr
    from_the_branch = cli("archive", "list", "--unit", "branch-hz", "--from", day, "--to", day)
    assert created["case_id"] in from_the_branch.stdout, from_the_branch.stderr  # its units' files too
    nothing = cli("archive", "list", "--unit", "store-xh-02", "--from", day, "--to", day)
    assert (nothing.returncode, nothing.stdout) == (0, "") and "no archived case of store-xh-02" in nothing.stderr
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
              "time_zone": "Asia/Shanghai", "calendar": "CN"},
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


@pytest.mark.parametrize(("unit_id", "above"), [("store-xh-01", "county-xh"), ("store-london-01", "branch-hz")])
def test_a_back_dated_letter_reaches_the_store_managers_inbox_within_one_scheduler_tick(
        stack: RunningStack, outbox: Path, unit_id: str, above: str) -> None:
    """A letter opened 30 hours after it came in, never accepted: the store's own manager gets the
    breach (not only the unit above), whether the store is under a county or directly under the branch."""
    received = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    created = staff.post(f"{stack.api}/cases", json=complaint(channel="letter", unit_id=unit_id,
                                                              received_at=received), timeout=10)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    manager, above_manager = {"store-xh-01": ("Sun Li", "Qian Hao"),
                              "store-london-01": ("Alex Reed", "Zhao Min")}[unit_id]
    told = wait_for_entries(outbox, case_id, {f"email to {manager}", f"email to {above_manager}"})
    store = told[f"email to {manager}"]
    assert ("passed at" in store or "已于" in store) and ("noticed late" in store.lower() or "发现较晚" in store)
    assert f"/c/{case_id}" in told[f"email to {above_manager}"]
    if unit_id == "store-london-01":  # Alex Reed reads English and has no phone: email only
        assert "[en; sent]" in store and f"SMS to {manager}" not in told


def test_an_administrator_imports_staff_and_a_new_manager_signs_in_with_a_token_of_the_directory(
        stack: RunningStack, outbox: Path, tmp_path: Path) -> None:
    """./dev cli staff import as an administrator would run it, then ./dev token for a new person."""
    sheet = tmp_path / "staff.csv"
    sheet.write_text("name,unit_id,roles,phone,email,language\n"
                     "Lu Ping,store-xh-02,unit-manager,13800138000,lu.ping@example.com,zh\n"
                     "Bad Row,store-nowhere,agent,,,zh\n", encoding="utf-8")
    admin = token("Gao Min", ["admin"])
    imported = subprocess.run([sys.executable, "-m", "chalicelib.cli", "--api", stack.api, "--token", admin,
                               "staff", "import", str(sheet)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 1, imported.stderr  # one row refused
    assert "line 3: unit_id" in imported.stdout and "1 added, 0 changed, 1 refused" in imported.stdout
    listed = subprocess.run([sys.executable, "-m", "chalicelib.cli", "--api", stack.api, "--token", admin,
                             "staff", "list", "--unit", "store-xh-02"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert "Lu Ping" in listed.stdout and "+8613800138000" in listed.stdout
    minted = subprocess.run([sys.executable, "-m", "local.issuer", "--name", "Lu Ping"], cwd=ROOT,
                            env=stack.job_environment(), capture_output=True, text=True, timeout=60)
    assert minted.returncode == 0, minted.stderr
    lu_ping = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    assert requests.get(f"{stack.api}/cases?unit_id=store-xh-02", headers=lu_ping, timeout=10).status_code == 200
    stranger = subprocess.run([sys.executable, "-m", "local.issuer", "--name", "Not Hired"], cwd=ROOT,
                              env=stack.job_environment(), capture_output=True, text=True, timeout=60)
    assert stranger.returncode != 0 and "no active member of staff" in stranger.stderr
