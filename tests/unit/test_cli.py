"""The auditors' command line's output (rulebook §7): one line per archived case with its flags and
addenda, and the audit log with each access once. No API."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.cli import archive_lines, audit_lines


def entry(sequence: int, important: bool = False, hold: bool = False) -> dict:
    return {"case_id": "CD-AAAA-BBBB-CCCC", "important": important, "sequence": sequence,
            "legal_hold": {"on": hold, "by": "Qian", "at": "2026-11-30T00:00:00Z", "reason": "audit"} if hold else None,
            "file": {"closed_at": "2026-11-20T01:00:00Z", "retain_until": f"203{sequence}-11-20T01:00:00Z",
                     "json_key": f"case-files/2026/11/store-xh-01/CD-AAAA-BBBB-CCCC-v{7 + sequence}-x.json"}}


def test_archive_list_shows_important_legal_hold_and_addenda_once_per_case() -> None:
    [line] = archive_lines([entry(1, hold=True), entry(0, important=True), entry(2)])
    assert "IMPORTANT LEGAL HOLD" in line and "addenda 2" in line and "v9-x.json" in line
    assert "kept until 2032-11-20" in line and "closed 2026-11-20" in line
    [plain] = archive_lines([entry(0)])
    assert "  -  addenda 0" in plain


def test_audit_log_lines_show_format_and_outcome_and_each_record_once() -> None:
    record = {"record_id": "r1", "at": "2026-11-30T01:00:00Z", "actor": "Auditor Qian", "staff_id": "s-1",
              "roles": ["auditor"], "staff_unit_id": "branch-hz", "action": "retrieve", "format": "html",
              "case_id": "CD-AAAA-BBBB-CCCC", "outcome": "link valid 300 s", "request_id": "req-1"}
    refused = {**record, "record_id": "r2", "action": "verify", "format": None, "outcome": "refused 404"}
    lines = audit_lines([record, record, refused])
    assert len(lines) == 2
    assert "s-1 (Auditor Qian; auditor; branch-hz)" in lines[0] and " html " in lines[0]
    assert lines[0].endswith("link valid 300 s  request req-1")
    assert "refused 404" in lines[1]


def test_verify_chain_recomputes_hashes_and_links_itself_and_reports_the_first_break() -> None:
    import hashlib

    from chalicelib.cli import verify_chain
    from chalicelib.domain.audit_chain import export_file

    first = export_file(date(2026, 11, 26), [], None)
    second = export_file(date(2026, 11, 27), [], hashlib.sha256(first).hexdigest())
    files = {"u1": first, "u2": second}

    def day(name: str, body: bytes, url: str) -> dict:
        return {"day": name, "records": 0, "sha256": hashlib.sha256(body).hexdigest(), "url": url, "problem": None}

    days = [day("2026-11-26", first, "u1"), day("2026-11-27", second, "u2")]
    assert verify_chain(days, files.__getitem__)[1] is None
    files["u1"] = first.replace(b'"records": 0', b'"records": 1')  # a file changed behind the index's back
    lines, first_break = verify_chain(days, files.__getitem__)
    assert first_break == "2026-11-26" and "BROKEN" in lines[0]
    # a day still going on has no file: said so, not counted as "0 records"
    today = {"day": "2026-11-28", "records": 0, "sha256": None, "url": None, "problem": None,
             "note": "not exported yet: the day is not over, or its export is due at the next run"}
    (line,), _ = verify_chain([today], files.__getitem__)
    assert "0 record" not in line and "no file" in line and "not exported yet" in line


class PhraseApi:
    """The risk-phrase routes as the service answers them, recording what was stored."""

    def __init__(self) -> None:
        self.stored: list[str] | None = None
        self.version = 0

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        defaults = ["12315", "曝光"]
        if method == "PUT":
            assert body is not None and body["version"] == self.version, "a change names the version it read"
            self.stored, self.version = list(body["phrases"]), self.version + 1
        if path == "/risk-phrases/check":
            return {"matched": [p for p in (self.stored or defaults) if p in (body or {})["text"]]}
        return {"phrases": self.stored if self.stored is not None else defaults,
                "source": "defaults" if self.stored is None else "stored", "updated_by": "Gao Min",
                "updated_at": "2026-11-29T08:00:00+00:00", "version": self.version, "defaults": defaults}


def test_risk_phrases_are_added_removed_and_reset_through_the_api(capsys: Any, tmp_path: Any) -> None:
    import argparse

    from chalicelib.cli import _risk_phrases

    api = PhraseApi()
    assert _risk_phrases(api, argparse.Namespace(action="add", phrases=["找记者", "12315"])) == 0  # type: ignore[arg-type]
    assert api.stored == ["12315", "曝光", "找记者"]
    assert _risk_phrases(api, argparse.Namespace(action="add", phrases=["12315"])) == 0  # type: ignore[arg-type]
    assert api.version == 1 and "nothing stored" in capsys.readouterr().out  # already listed: no new version
    assert _risk_phrases(api, argparse.Namespace(action="remove", phrases=["曝光"])) == 0  # type: ignore[arg-type]
    assert api.stored == ["12315", "找记者"]
    assert _risk_phrases(api, argparse.Namespace(action="remove", phrases=["律师"])) == 2  # type: ignore[arg-type]
    assert "not on the list: 律师" in capsys.readouterr().err
    listing = tmp_path / "phrases.txt"
    listing.write_text("\ufeff媒体曝光\n\nlawyer\n", encoding="utf-8")
    _risk_phrases(api, argparse.Namespace(action="set", file=listing))  # type: ignore[arg-type]
    assert api.stored == ["媒体曝光", "lawyer"]
    _risk_phrases(api, argparse.Namespace(action="check", text="我要找 lawyer"))  # type: ignore[arg-type]
    assert capsys.readouterr().out.splitlines()[-1] == "lawyer"
    _risk_phrases(api, argparse.Namespace(action="reset"))  # type: ignore[arg-type]
    assert api.stored == ["12315", "曝光"]


def test_a_listing_piped_into_head_ends_quietly(monkeypatch: Any) -> None:
    """`./dev cli archive list … | head`: the reader closes the pipe after a few lines; the command
    stops there without a BrokenPipeError traceback, with SIGPIPE's status (141), not a success:
    `verify-chain | head` must not report an unchecked chain as intact."""
    import os
    import sys

    from chalicelib import cli

    many = [{**entry(1), "case_id": f"CD-AAAA-BBBB-{n:04d}"} for n in range(3000)]
    monkeypatch.setattr(cli.Api, "entries", lambda self, *range_: many)
    read, write = os.pipe()
    os.close(read)  # `head` has read its lines and gone
    with os.fdopen(write, "w") as gone:
        monkeypatch.setattr(sys, "stdout", gone)
        assert cli.main(["--token", "t", "archive", "list", "--unit", "store-xh-01",
                         "--from", "2026-11-01", "--to", "2026-11-30"]) == 141
