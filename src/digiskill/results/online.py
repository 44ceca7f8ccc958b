"""Fetching what a credential points to, for ``digiskill verify --online``: the issuer's signed status list (the
credential's ``credentialStatus.statusListCredential``) and its controller document (at the issuer id, when that is an
``https`` URL or a ``did:web`` DID). What is fetched is then used exactly as the files of ``--status-list`` and
``--trust`` would be (:func:`digiskill.results.verification.verify_document`).

The fetch (:func:`fetch_json`) is deliberately narrow, since the addresses come from a document anyone can write:

* only ``https://`` URLs, and ``http://`` to a loopback host (``127.0.0.1``, ``::1``, ``localhost``: a service on this
  computer and the tests); anything else is refused before any connection;
* a timeout of :data:`FETCH_TIMEOUT_S` seconds (to connect, for each read, and for the whole body), at most
  :data:`MAX_FETCH_BYTES` bytes read (a larger ``Content-Length`` is refused before the body);
* redirects only to the same host (and by the same URL rules); HTTP status ≥ 400 is a failure;
* a JSON media type (``application/json``, ``application/*+json``, or VC 2.0's ``application/vc``), and a body that
  the model-file parser reads as a JSON object (:func:`digiskill.bank.loading.parse_json`: no repeated keys, no
  ``NaN``, at most 64 levels deep).

Every failure is a :class:`FetchError` (an :class:`~digiskill.errors.InputError`) whose one line names the URL and the
problem. The standard library's :mod:`urllib.request` does the HTTP (loopback hosts are reached directly, never
through a proxy of the environment).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import InputError, Problem

if TYPE_CHECKING:
    from .verification import TrustStore

FETCH_TIMEOUT_S = 10.0
MAX_FETCH_BYTES = 2_000_000
_CHUNK = 64 * 1024


class FetchError(InputError):
    """A document could not be fetched: the URL and the problem, in one line."""

    def __init__(self, what: str, url: str, problem: str) -> None:
        self.url = url
        super().__init__(Problem(f"cannot fetch the {what} {url}: {problem}"))


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 without brackets) is this computer: ``localhost`` or a loopback
    address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_fetch_url(url: str, what: str = "document") -> None:
    """Raise :class:`FetchError` unless ``url`` may be fetched: ``https://`` with a host, or ``http://`` to a
    loopback host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as err:
        raise FetchError(what, url, f"not a valid URL ({err})") from err
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if not host:
        raise FetchError(what, url, "not an http(s) URL with a host")
    if scheme == "https" or (scheme == "http" and is_loopback_host(host)):
        return
    if scheme == "http":
        raise FetchError(what, url, "refused: only https:// URLs (http:// only to this computer: 127.0.0.1, ::1)")
    raise FetchError(what, url, f"refused: the scheme {scheme or '(none)'!r} is not https")


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "application/vc") or (
        media.startswith("application/") and media.endswith("+json")
    )


def fetch_json(url: str, what: str = "document", *, timeout_s: float = FETCH_TIMEOUT_S) -> dict[str, Any]:
    """The JSON object at ``url``, fetched by the rules of the module.

    Args:
        url: an ``https://`` URL, or ``http://`` to a loopback host.
        what: what the document is, for the message (``"status list"``).
        timeout_s: the socket timeout (connect, each read), and the longest the body may take to arrive.

    Raises:
        FetchError: a refused URL, no connection, no answer in time, HTTP status ≥ 400, a redirect to another host,
            not a JSON media type, more than :data:`MAX_FETCH_BYTES`, not UTF-8, not a JSON object.
    """
    import http.client
    import urllib.error
    import urllib.request

    from ..bank.loading import parse_json

    check_fetch_url(url, what)
    host = (urlsplit(url).hostname or "").lower()

    class SameHostRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            target = (urlsplit(newurl).hostname or "").lower()
            if target != host:
                raise FetchError(what, url, f"refused: it redirects to another host ({newurl})")
            check_fetch_url(newurl, what)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    handlers: list[urllib.request.BaseHandler] = [SameHostRedirects()]
    if is_loopback_host(host):
        handlers.append(urllib.request.ProxyHandler({}))  # this computer, never through a proxy
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "digiskill-verify"})
    deadline = time.monotonic() + timeout_s
    try:
        with opener.open(request, timeout=timeout_s) as response:
            content_type = response.headers.get("Content-Type", "")
            if not _is_json_type(content_type):
                raise FetchError(what, url, f"the answer is {content_type or 'of no media type'!r}, not JSON")
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > MAX_FETCH_BYTES:
                raise FetchError(what, url, f"larger than {MAX_FETCH_BYTES:,} bytes ({int(length):,}); refused")
            body = bytearray()
            while len(body) <= MAX_FETCH_BYTES:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = response.read(min(_CHUNK, MAX_FETCH_BYTES + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
    except urllib.error.HTTPError as err:
        raise FetchError(what, url, f"HTTP status {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, TimeoutError):
            raise FetchError(what, url, f"no answer within {timeout_s:g} s") from None
        text = getattr(reason, "strerror", None) or str(reason)
        raise FetchError(what, url, f"cannot connect ({text})") from None
    except TimeoutError:
        raise FetchError(what, url, f"no answer within {timeout_s:g} s") from None
    except (OSError, http.client.HTTPException) as err:
        raise FetchError(what, url, f"the connection failed ({type(err).__name__}: {err})") from None
    if len(body) > MAX_FETCH_BYTES:
        raise FetchError(what, url, f"larger than {MAX_FETCH_BYTES:,} bytes; refused")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FetchError(what, url, "the body is not UTF-8 text") from None
    try:
        value = parse_json(text)
    except InputError as err:
        raise FetchError(what, url, str(err)) from None
    if not isinstance(value, dict):
        raise FetchError(what, url, f"the body is a JSON {type(value).__name__}, not an object")
    return value


# ------------------------------------------------------------------------------------ what a credential points to
@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_for_credential` fetched (``None``: not fetched) and what it could not check (``notes``)."""

    status_list: dict[str, Any] | None = None
    status_list_url: str | None = None
    trust: TrustStore | None = None
    controller_url: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        """What was fetched from where, and what could not be checked, for the human output."""
        out = []
        if self.controller_url is not None:
            out.append(f"fetched: the issuer's controller document from {self.controller_url}")
        if self.status_list_url is not None:
            out.append(f"fetched: the status list from {self.status_list_url}")
        return out + list(self.notes)


def controller_url(issuer_id: str) -> str | None:
    """Where the controller document of ``issuer_id`` is published: the id itself when it is an http(s) URL, the
    ``did.json`` of a ``did:web`` DID; None for other ids (a ``did:key`` needs nothing: the DID is the key)."""
    from .verification import did_web_url

    if issuer_id.startswith("did:web:"):
        return did_web_url(issuer_id)
    if urlsplit(issuer_id).scheme.lower() in ("http", "https"):
        return issuer_id.split("#", 1)[0]
    return None


def fetch_for_credential(
    doc: Mapping[str, Any], *, status_list: bool = True, controller: bool = True, timeout_s: float = FETCH_TIMEOUT_S
) -> Fetched:
    """Fetch the status list (``status_list``) and the controller document (``controller``) the credential ``doc``
    points to; the caller leaves out what it was given as a file.

    Raises:
        FetchError: a document that cannot be fetched, or a controller document that is not the issuer's.
    """
    from .status import entry_index
    from .verification import TrustStore, issuer_id_of

    notes: list[str] = []
    trust, trust_url = None, None
    issuer = issuer_id_of(doc)
    if controller and issuer is not None and not issuer.startswith("did:key:"):
        trust_url = controller_url(issuer)
        if trust_url is None:
            notes.append(f"note: the issuer id {issuer!r} is not a URL; no controller document to fetch")
        else:
            document = fetch_json(trust_url, "controller document", timeout_s=timeout_s)
            if document.get("id") != issuer:
                got = document.get("id")
                raise FetchError("controller document", trust_url, f"it is the document of {got!r}, not of {issuer!r}")
            try:
                trust = TrustStore.from_document(document, trust_url).fetched()
            except InputError as err:
                raise FetchError("controller document", trust_url, "; ".join(p.message for p in err.problems)) from None
    listed, list_url = None, None
    if status_list:
        if "credentialStatus" not in doc:
            notes.append("note: the credential has no credentialStatus: its revocation cannot be checked")
        else:
            try:
                list_url, _ = entry_index(doc)
            except ValueError as err:
                notes.append(f"note: its revocation cannot be checked online: {err}")
            else:
                listed = fetch_json(list_url, "status list", timeout_s=timeout_s)
    return Fetched(listed, list_url, trust, trust_url, tuple(notes))


__all__ = [
    "FETCH_TIMEOUT_S",
    "MAX_FETCH_BYTES",
    "FetchError",
    "Fetched",
    "check_fetch_url",
    "controller_url",
    "fetch_for_credential",
    "fetch_json",
    "is_loopback_host",
]
