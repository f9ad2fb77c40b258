"""The pages the service serves: the public intake form, the complainant's status page
and the staff console, plain HTML/CSS/JS from chalicelib/web (no build step). Pages call the API
with relative URLs, so they work under API Gateway's stage prefix as well as locally."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalice.app import Response

WEB = Path(__file__).resolve().parent.parent / "web"
PAGES = {"form": "form.html", "track": "track.html", "console": "console.html"}
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".html": "text/html; charset=utf-8"}
# Scripts and styles only from here, calls only to here and the sign-in page's token endpoint;
# nothing may frame the pages (the console holds a token).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'{sign_in}; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


@cache
def _read(name: str) -> str:
    return (WEB / name).read_text(encoding="utf-8")


def page(name: str, sign_in_url: str = "") -> Response:
    csp = CSP.format(sign_in=f" {sign_in_url}" if sign_in_url else "")
    return Response(body=_read(PAGES[name]), status_code=200,
                    headers={**HEADERS, "Content-Security-Policy": csp, "Content-Type": TYPES[".html"]})


def sign_in(sign_in_url: str, client_id: str) -> dict[str, str | None]:
    """The console's sign-in: Cognito's OAuth endpoints and the app client, or nothing configured
    (locally), in which case the console asks for a pasted token."""
    if not sign_in_url:
        return {"authorize_url": None, "token_url": None, "logout_url": None, "client_id": None}
    return {"authorize_url": f"{sign_in_url}/oauth2/authorize", "token_url": f"{sign_in_url}/oauth2/token",
            "logout_url": f"{sign_in_url}/logout", "client_id": client_id}


def asset(name: str) -> Response:
    """A stylesheet or script of the pages; anything else (other names, paths, pages) is 404."""
    suffix = Path(name).suffix
    if suffix not in (".css", ".js") or "/" in name or "\\" in name or name.startswith(".") \
            or not (WEB / name).is_file():
        return Response(body={"error": "not_found", "message": "no such file", "fields": {}}, status_code=404)
    headers: dict[str, str | list[str]] = {**HEADERS, "Content-Security-Policy": CSP.format(sign_in=""),
                                           "Content-Type": TYPES[suffix]}
    return Response(body=_read(name), status_code=200, headers=headers)
