"""Command line for auditors and operations: find, download and verify archived case files
through the API, so every retrieval is in the audit log like any other.

    python -m chalicelib.cli archive list --unit store-xh-01 --from 2026-01-01 --to 2026-12-31
    python -m chalicelib.cli archive fetch CD-XXXX-XXXX-XXXX --out files/
    python -m chalicelib.cli archive download --unit store-xh-01 --from 2026-11-01 --to 2026-11-30 --out files/
    python -m chalicelib.cli archive verify --unit store-xh-01 --from 2026-11-01 --to 2026-11-30
    python -m chalicelib.cli audit-log --case CD-XXXX-XXXX-XXXX
    python -m chalicelib.cli org load organisation.json        # units into a stage
    python -m chalicelib.cli staff list [--unit store-xh-01]
    python -m chalicelib.cli staff add --name "Sun Li" --unit store-xh-01 --role unit-manager --phone 13800000003
    python -m chalicelib.cli staff update STAFF_ID --role agent --role unit-manager
    python -m chalicelib.cli staff deactivate STAFF_ID
    python -m chalicelib.cli staff import staff.csv              # or .json; bad rows reported by line
    python -m chalicelib.cli audit verify-chain --from 2026-11-01 --to 2026-11-30

The API is `--api` (or COMPLAINT_DESK_API, default the local stack); the signed-in user is
`--token` (or COMPLAINT_DESK_TOKEN): an auditor's for the archive, an admin's for `org load`.
Exit status 1 when any file fails verification or the audit chain is broken.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


class ApiError(Exception):
    pass


class Api:
    def __init__(self, base_url: str, token: str | None, timeout: float = 30.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self._base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise ApiError(f"{method} {path}: {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(f"cannot reach the API at {self._base} ({reason}); is it running? "
                           "(locally: ./dev run, or --api URL)") from exc

    def entries(self, unit: str, closed_from: str, closed_to: str) -> Iterator[dict[str, Any]]:
        """Every archived file of the unit and the units below it (a county's stores, a branch's
        counties and stores) closed in the range: files are indexed by the unit that closed the case."""
        for each in self.units_below(unit):
            yield from self._unit_entries(each, closed_from, closed_to)

    def units_below(self, unit: str) -> list[str]:
        """The unit and every unit below it, parents first (from GET /units)."""
        children: dict[str | None, list[str]] = {}
        for item in self.call("GET", "/units")["items"]:
            children.setdefault(item.get("parent_id"), []).append(item["unit_id"])
        found, queue = [], [unit]
        while queue:
            current = queue.pop(0)
            found.append(current)
            queue += sorted(children.get(current, []))
        return found

    def _unit_entries(self, unit: str, closed_from: str, closed_to: str) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            query = {"unit_id": unit, "closed_from": closed_from, "closed_to": closed_to, "limit": "100"}
            if cursor:
                query["cursor"] = cursor
            page = self.call("GET", "/archive?" + urllib.parse.urlencode(query))
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


def fetch(api: Api, case_id: str, out: Path, formats: list[str]) -> list[Path]:
    """Downloads the case's files (the original and every addendum) through presigned links and
    checks each SHA-256 locally."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for file_format in formats:
        retrieved = api.call("POST", f"/archive/{case_id}/retrieve", {"format": file_format})
        for link in retrieved.get("files") or [retrieved]:
            with urllib.request.urlopen(link["url"], timeout=60) as response:
                body = response.read()
            computed = hashlib.sha256(body).hexdigest()
            if computed != link["sha256"]:
                raise ApiError(f"{case_id} {file_format}: SHA-256 {computed} does not match the archive's "
                               f"{link['sha256']}")
            target = out / Path(link["key"]).name
            target.write_bytes(body)
            written.append(target)
    return written


def archive_lines(entries: Iterable[dict[str, Any]]) -> list[str]:
    """One line per archived case: closing date, how long it is kept, whether it is important or
    under a legal hold, how many addenda followed the original file, and the latest file's key."""
    by_case: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_case.setdefault(entry["case_id"], []).append(entry)
    lines = []
    for case_id, files in by_case.items():
        files.sort(key=lambda e: e.get("sequence", 0))
        first, latest = files[0], files[-1]
        flags = [flag for flag, on in (("IMPORTANT", any(e.get("important") for e in files)),
                                       ("LEGAL HOLD", any((e.get("legal_hold") or {}).get("on") for e in files)))
                 if on]
        addenda = len(files) - 1
        lines.append(f"{case_id}  closed {first['file']['closed_at'][:10]}  "
                     f"kept until {max(e['file']['retain_until'] for e in files)[:10]}  "
                     f"{' '.join(flags) or '-'}  addenda {addenda}  {latest['file']['json_key']}")
    return lines


def audit_lines(records: Iterable[dict[str, Any]]) -> list[str]:
    """The audit log, each record once (a record seen twice, e.g. on two pages, is one access):
    when, who (staff id and name, roles, unit), what, which format, which case, the outcome."""
    seen: set[str] = set()
    lines = []
    for record in records:
        identity = record.get("record_id") or json.dumps(record, sort_keys=True)
        if identity in seen:
            continue
        seen.add(identity)
        who = f"{record.get('staff_id') or '-'} ({record['actor']}; {','.join(record.get('roles') or []) or '-'}; " \
              f"{record.get('staff_unit_id') or '-'})"
        lines.append(f"{record['at']}  {who:<50} {record['action']:<15} {record.get('format') or '-':<4} "
                     f"{record['case_id'] or '-'}  {record['outcome']}  request {record.get('request_id') or '-'}")
    return lines


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return bytes(response.read())


def verify_chain(days: list[dict[str, Any]], download: Callable[[str], bytes]) -> tuple[list[str], str | None]:
    """Recomputes the chain here, not trusting the service's word: each day's file downloaded and
    hashed, its header's link to the day before's hash; the service's own check (which also
    compares the table's records with each file) is reported beside it. The first day either
    finds broken is the break."""
    lines, first_break, before = [], None, None
    for position, day in enumerate(days):
        problem = day.get("problem")
        if day.get("url"):
            body = download(day["url"])
            computed = hashlib.sha256(body).hexdigest()
            header = json.loads(body.decode().partition("\n")[0])
            if computed != day["sha256"]:
                problem = f"the file's SHA-256 is {computed}, the index says {day['sha256']}"
            elif position and header.get("previous_sha256") != before:
                problem = f"the file names {header.get('previous_sha256')} as the day before's, which is {before}"
            before = computed
        else:
            before = None
        if problem and first_break is None:
            first_break = day["day"]
        verdict = "BROKEN: " + problem if problem else f"- ({day['note']})" if day.get("note") else "ok"
        exported = f"{day['records']:>6} record(s)" if day.get("sha256") else f"{'-':>6} no file   "  # nothing to count
        lines.append(f"{day['day']}  {exported}  {(day.get('sha256') or '-')[:16]}  {verdict}")
    return lines, first_break


def _progress(items: list[Any], label: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="case", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default=os.environ.get("COMPLAINT_DESK_API", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("COMPLAINT_DESK_TOKEN"),
                        help="your staff token (ID token); the audit log records its user")
    commands = parser.add_subparsers(dest="command", required=True)
    archive = commands.add_parser("archive").add_subparsers(dest="action", required=True)

    def with_range(sub: argparse.ArgumentParser, required: bool = True) -> None:
        sub.add_argument("--unit", required=required)
        sub.add_argument("--from", dest="closed_from", required=required, help="closing date, YYYY-MM-DD")
        sub.add_argument("--to", dest="closed_to", required=required, help="closing date, YYYY-MM-DD")

    with_range(archive.add_parser("list", help="archived case files of a unit closed in a date range"))
    fetch_one = archive.add_parser("fetch", help="download one case's files and check their SHA-256")
    fetch_one.add_argument("case_id")
    download = archive.add_parser("download", help="download every case file of a unit and range")
    with_range(download)
    for sub in (fetch_one, download):
        sub.add_argument("--out", type=Path, default=Path("case-files"))
        sub.add_argument("--format", choices=["json", "html", "both"], default="both")
    verify = archive.add_parser("verify", help="have the service re-read and check files (by case or range)")
    verify.add_argument("case_ids", nargs="*")
    with_range(verify, required=False)
    org = commands.add_parser("org").add_subparsers(dest="action", required=True)
    load = org.add_parser("load", help="store every unit of a JSON list (parents before children)")
    load.add_argument("file", type=Path)
    _staff_commands(commands)
    _risk_phrase_commands(commands)
    audit = commands.add_parser("audit-log", help="who retrieved, verified or held which file")
    audit.add_argument("--case")
    audit.add_argument("--date")
    chain = commands.add_parser("audit").add_subparsers(dest="action", required=True).add_parser(
        "verify-chain", help="recompute the audit log's daily hash chain and report the first break")
    chain.add_argument("--from", dest="date_from", required=True, help="first UTC day, YYYY-MM-DD")
    chain.add_argument("--to", dest="date_to", required=True, help="last UTC day, YYYY-MM-DD")
    args = parser.parse_args(argv)

    if not args.token:
        parser.error("--token (or COMPLAINT_DESK_TOKEN) is required: every access is made as a signed-in user")
    api = Api(args.api, args.token)
    try:
        answer = _run(api, args, parser)
        sys.stdout.flush()  # here, so a reader that has gone is noticed below, not at exit
        return answer
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `… | head`: the reader has gone (Python's docs, "SIGPIPE"); no traceback,
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # and the status a program killed by SIGPIPE has, not a success it cannot know


def _run(api: Api, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "audit-log":
        if not (args.case or args.date):
            parser.error("audit-log needs --case or --date")
        query = {"case_id": args.case} if args.case else {"date": args.date}
        for line in audit_lines(api.call("GET", "/audit-log?" + urllib.parse.urlencode(query))["items"]):
            print(line)
        return 0
    if args.command == "staff":
        return _staff(api, args)
    if args.command == "risk-phrases":
        return _risk_phrases(api, args)
    if args.command == "audit":
        checked = api.call("GET", "/audit-log/chain?" + urllib.parse.urlencode(
            {"from": args.date_from, "to": args.date_to}))
        lines, first_break = verify_chain(checked["days"], _download)
        for line in lines:
            print(line)
        print(f"chain intact from {args.date_from} to {args.date_to}" if first_break is None
              else f"chain BROKEN at {first_break}")
        return 0 if first_break is None else 1
    if args.command == "org":
        for unit in _parents_first(json.loads(args.file.read_text(encoding="utf-8"))):
            stored = api.call("PUT", f"/units/{unit['unit_id']}", unit)
            print(f"{unit['unit_id']:<20} stored; {stored['managers']} manager(s) in the staff directory")
        return 0
    if args.action == "list":
        lines = archive_lines(api.entries(args.unit, args.closed_from, args.closed_to))
        for line in lines:
            print(line)
        if not lines:
            print(f"no archived case of {args.unit} or a unit below it closed from {args.closed_from} "
                  f"to {args.closed_to}", file=sys.stderr)
        return 0
    return _act(api, args)


def _staff_commands(commands: Any) -> None:
    staff = commands.add_parser("staff", help="the staff directory (an administrator's token)")
    actions = staff.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="everyone, or one unit's staff and the units below it")
    listing.add_argument("--unit")
    for name in ("add", "update"):
        sub = actions.add_parser(name, help=f"{name} a member of staff (their sign-in follows)")
        if name == "update":
            sub.add_argument("staff_id")
        sub.add_argument("--name", required=name == "add")
        sub.add_argument("--unit", required=name == "add")
        sub.add_argument("--role", action="append", help="repeat for several roles")
        sub.add_argument("--phone", help="mobile; read in the unit's country unless it starts with +")
        sub.add_argument("--email")
        sub.add_argument("--language", choices=["zh", "en"])
    actions.add_parser("deactivate", help="no more sign-in nor escalations").add_argument("staff_id")
    bulk = actions.add_parser("import", help="a CSV (header row) or JSON list of people")
    bulk.add_argument("file", type=Path)


IMPORT_CHUNK = 100


def _risk_phrase_commands(commands: Any) -> None:
    risk = commands.add_parser("risk-phrases",
                               help="the escalation-risk phrases intake checks (an administrator's token)")
    actions = risk.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the phrases in use, and whether they are the defaults")
    for name, text in (("add", "add phrases to the list"), ("remove", "take phrases off the list")):
        actions.add_parser(name, help=text).add_argument("phrases", nargs="+")
    actions.add_parser("set", help="replace the list with a file's phrases, one a line").add_argument("file", type=Path)
    actions.add_parser("reset", help="go back to the service's defaults")
    actions.add_parser("check", help="which phrases a text would be flagged for").add_argument("text")


def _risk_phrases(api: Api, args: argparse.Namespace) -> int:
    """The phrase list through the API: add and remove read the list in use and store it changed."""
    if args.action == "check":
        matched = api.call("POST", "/risk-phrases/check", {"text": args.text})["matched"]
        print(", ".join(matched) if matched else "no phrase of the list found")
        return 0
    current = api.call("GET", "/risk-phrases")
    phrases = list(current["phrases"])
    if args.action == "add":
        phrases += [p for p in args.phrases if p not in phrases]
    elif args.action == "remove":
        missing = [p for p in args.phrases if p not in phrases]
        if missing:
            print(f"not on the list: {', '.join(missing)}", file=sys.stderr)
            return 2
        phrases = [p for p in phrases if p not in args.phrases]
    elif args.action == "set":
        phrases = [line.strip() for line in args.file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    elif args.action == "reset":
        phrases = list(current["defaults"])
    if args.action != "list" and phrases == list(current["phrases"]) and args.action != "reset":
        print("the list already reads so: nothing stored")
    elif args.action != "list":
        current = api.call("PUT", "/risk-phrases", {"phrases": phrases, "version": current["version"]})
    source = ("the service's defaults" if current["source"] == "defaults"
              else f"stored by {current['updated_by']} at {current['updated_at']}")
    print(f"{len(current['phrases'])} phrase(s), {source}:")
    for phrase in current["phrases"]:
        print(f"  {phrase}")
    return 0


def _staff(api: Api, args: argparse.Namespace) -> int:
    """The staff directory through the API; an import goes in chunks with a progress bar, and
    every refused row is reported with its line in the file."""
    if args.action == "list":
        query = "?" + urllib.parse.urlencode({"unit_id": args.unit}) if args.unit else ""
        for m in api.call("GET", "/staff" + query)["items"]:
            print(f"{m['staff_id']}  {m['name']:<16} {m['unit_id']:<16} {','.join(m['roles']):<30} "
                  f"{m.get('phone') or '-':<15} {m.get('email') or '-'}{'' if m['active'] else '  (inactive)'}")
        return 0
    if args.action == "deactivate":
        member = api.call("POST", f"/staff/{args.staff_id}/deactivate", {})
        print(f"{member['staff_id']}  {member['name']} deactivated")
        return 0
    if args.action in ("add", "update"):
        fields = {"name": args.name, "unit_id": args.unit, "roles": args.role, "phone": args.phone,
                  "email": args.email, "language": args.language}
        given = {k: v for k, v in fields.items() if v is not None}
        if args.action == "add":
            member = api.call("POST", "/staff", given)
        else:
            current = api.call("GET", f"/staff/{args.staff_id}")
            kept = {k: current[k] for k in ("name", "unit_id", "roles", "phone", "email", "language", "active")
                    if current.get(k) is not None}
            member = api.call("PUT", f"/staff/{args.staff_id}", {**kept, **given})
        print(f"{member['staff_id']}  {member['name']}  {member['unit_id']}  {','.join(member['roles'])}  "
              f"{member.get('phone') or '-'}")
        return 0
    rows = _staff_rows(args.file)
    created = updated = 0
    refused: list[dict[str, Any]] = []
    from tqdm import tqdm

    with tqdm(total=len(rows), desc="import", unit="person", file=sys.stderr) as bar:
        for start in range(0, len(rows), IMPORT_CHUNK):
            chunk = rows[start:start + IMPORT_CHUNK]
            answer = api.call("POST", "/staff/import", {"rows": [{**row, "line": line} for line, row in chunk]})
            created += len(answer["created"])
            updated += len(answer["updated"])
            refused += answer["refused"]
            bar.update(len(chunk))
    for bad in refused:
        reasons = "; ".join(f"{field}: {why}" for field, why in bad["fields"].items())
        print(f"line {bad['line']}: {reasons}")
    print(f"{created} added, {updated} changed, {len(refused)} refused (nothing of a refused row was stored)")
    return 1 if refused else 0


def _staff_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return [(n, dict(row)) for n, row in enumerate(json.loads(text), start=1)]
    from chalicelib.domain.staff import rows_from_csv

    return rows_from_csv(text)


def _parents_first(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A unit can only be stored once its parent is: order the list by depth in the tree."""
    parents = {u["unit_id"]: u.get("parent_id") for u in units}

    def depth(unit_id: str | None, seen: frozenset[str] = frozenset()) -> int:
        parent = parents.get(unit_id) if unit_id else None
        return 0 if parent is None or parent in seen else 1 + depth(parent, seen | {unit_id or ""})

    return sorted(units, key=lambda u: depth(u["unit_id"]))


def _act(api: Api, args: argparse.Namespace) -> int:
    formats = ["json", "html"] if getattr(args, "format", "both") == "both" else [args.format]
    if args.action == "fetch":
        for path in fetch(api, args.case_id, args.out, formats):
            print(f"{path}  sha256 ok")
        return 0
    if args.action == "download":
        case_ids = [e["case_id"] for e in api.entries(args.unit, args.closed_from, args.closed_to)]
        for case_id in _progress(case_ids, "download"):
            fetch(api, case_id, args.out, formats)
        print(f"{len(case_ids)} case(s) downloaded to {args.out}, every SHA-256 checked")
        return 0
    case_ids = list(args.case_ids)
    if args.unit:
        case_ids += [e["case_id"] for e in api.entries(args.unit, args.closed_from, args.closed_to)]
    if not case_ids:
        print("nothing to verify: give case ids or --unit/--from/--to", file=sys.stderr)
        return 2
    failed = []
    for case_id in _progress(case_ids, "verify"):
        if not api.call("POST", f"/archive/{case_id}/verify", {})["ok"]:
            failed.append(case_id)
    print(f"{len(case_ids) - len(failed)} of {len(case_ids)} case(s) intact"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
