"""``digiskill verify --online``: the status list and the controller document a credential points to are fetched over
real HTTP from the service (uvicorn on a free loopback port, in a thread, SQLite) and used as ``--status-list`` and
``--trust`` would be; the URL rules and every fetch failure (exit 2, one line naming the URL) against a tiny
``http.server`` on loopback serving bad answers."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pg_fixture import _free_port
from test_service import Api, _finished
from typer.testing import CliRunner

from digiskill.cli.main import app
from digiskill.results.online import MAX_FETCH_BYTES, FetchError, check_fetch_url, fetch_json
from digiskill.results.signing import generate_key_pair, public_key_to_multikey, save_private_key, sign_credential
from digiskill.results.verification import EXIT_CODES
from digiskill.service.tokens import create_token

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


class ThreadServer:
    """The service app (a configured issuer whose id lies under ``public_url``) served by uvicorn in a thread."""

    def __init__(self, tmp: Path) -> None:
        import uvicorn

        from digiskill.service.app import create_app
        from digiskill.service.settings import Settings

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer_id = f"{self.url}/issuer"
        self.key, _ = generate_key_pair()
        save_private_key(self.key, tmp / "issuer.pem")
        (tmp / "issuer.json").write_text(json.dumps({"id": self.issuer_id, "name": "Jobcenter Test"}))
        db = f"sqlite:///{tmp / 'online.db'}"
        tokens = {role: create_token(db, role) for role in ("system", "caseworker")}
        settings = Settings(
            database_url=db, issuer_key=tmp / "issuer.pem", issuer_profile=tmp / "issuer.json", public_url=self.url
        )
        self.app = create_app(settings)
        self.api = Api(httpx.Client(base_url=self.url, timeout=30), tokens, self.app, db)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", loop="asyncio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.api.client.close()
        self.server.should_exit = True
        self.thread.join(30)


def _verify(path: Path, *args: str):
    return runner.invoke(app, ["verify", str(path), "--online", *args])


def _one_error_line(r, url: str) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and url in lines[0] and "Traceback" not in r.output, r.output
    return lines[0]


def test_online_verification_follows_what_the_service_publishes(tmp_path):
    server = ThreadServer(tmp_path)
    try:
        inv = _finished(server.api, "online-a", areas=["basic_it"])
        cred = server.api.client.get(f"/v1/citizen/{inv['code']}/credential").json()
        list_url = f"{server.url}/v1/status/revocation"
        assert cred["credentialStatus"]["statusListCredential"] == list_url and cred["issuer"]["id"] == server.issuer_id
        path = tmp_path / "cred.json"
        path.write_text(json.dumps(cred))

        r = _verify(path)
        assert r.exit_code == EXIT_CODES["valid"], r.output
        assert "key established by the controller document published at the issuer id (--online)" in r.stdout
        assert f"fetched: the issuer's controller document from {server.issuer_id}" in r.stdout
        assert f"fetched: the status list from {list_url}" in r.stdout

        # the same credential signed by someone else's key under the issuer's id: the published key refuses it
        forged = {k: v for k, v in cred.items() if k != "proof"}
        (tmp_path / "forged.json").write_text(json.dumps(sign_credential(forged, generate_key_pair()[0])))
        r = _verify(tmp_path / "forged.json")
        assert r.exit_code == EXIT_CODES["invalid"] and "key-mismatch" in r.stdout, r.output
        assert "the issuer's published controller document gives key(s)" in r.stdout

        # no credentialStatus: verifies with the fetched key, and says that revocation cannot be checked
        bare = sign_credential({k: v for k, v in forged.items() if k != "credentialStatus"}, server.key)
        (tmp_path / "bare.json").write_text(json.dumps(bare))
        r = _verify(tmp_path / "bare.json")
        assert r.exit_code == EXIT_CODES["valid"], r.output
        assert "no credentialStatus: its revocation cannot be checked" in r.stdout
        assert "status list from" not in r.stdout

        before = server.api.client.get("/v1/status/revocation").content
        r = server.api.client.post(
            "/v1/revocations", json={"certificate": cred["id"], "reason": "test"}, headers=server.api.auth("caseworker")
        )
        assert r.status_code == 200 and r.json()["revoked"], r.text
        assert server.api.client.get("/v1/status/revocation").content != before  # signed again at once
        r = _verify(path)
        assert r.exit_code == EXIT_CODES["revoked"] and r.stdout.startswith("revoked:"), r.output
        assert f"fetched: the status list from {list_url}" in r.stdout
        (tmp_path / "controller.json").write_bytes(server.api.client.get("/issuer").content)
        (tmp_path / "before.json").write_bytes(before)
    finally:
        server.stop()

    # nothing listens any more: exit 2, one line naming the URL (the controller document is fetched first)
    line = _one_error_line(_verify(path), server.issuer_id)
    assert "cannot fetch the controller document" in line and "cannot connect" in line
    r = _verify(path, "--trust", str(tmp_path / "controller.json"))
    assert "cannot fetch the status list" in _one_error_line(r, list_url)
    # files given explicitly win: nothing is fetched (the server is gone), and the old list says not revoked
    r = _verify(path, "--trust", str(tmp_path / "controller.json"), "--status-list", str(tmp_path / "before.json"))
    assert r.exit_code == EXIT_CODES["valid"] and "key established by the trust file" in r.stdout, r.output
    assert "fetched" not in r.stdout


# ------------------------------------------------------------------------------------------- the fetch's rules
class Bad(BaseHTTPRequestHandler):
    """Answers of every kind a fetch must refuse (and two it must accept)."""

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        answers = {
            "/ok": (200, b'{"ok": true}', "application/ld+json; charset=utf-8"),
            "/html": (200, b"<html>hello</html>", "text/html"),
            "/not-json": (200, b"{not json", "application/json"),
            "/array": (200, b"[1, 2]", "application/json"),
            "/twice": (200, b'{"a": 1, "a": 2}', "application/json"),
            "/latin1": (200, '{"a": "æ"}'.encode("latin-1"), "application/json"),
            "/missing": (404, b'{"title": "not found"}', "application/problem+json"),
        }
        if self.path in answers:
            self._send(*answers[self.path])
        elif self.path == "/big":  # says its size: refused before the body is read
            self._send(200, b"", **{"Content-Length": str(MAX_FETCH_BYTES + 1)})
        elif self.path == "/big-unsized":  # no Content-Length, the body ends when the connection closes
            self._send(200, b'{"pad": "' + b"x" * MAX_FETCH_BYTES + b'"}')
        elif self.path == "/elsewhere":
            self._send(302, b"", Location=f"http://localhost:{port}/ok")
        elif self.path == "/here":
            self._send(302, b"", Location="/ok")


@pytest.fixture(scope="module")
def bad():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bad)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_only_https_or_loopback_http_urls_are_fetched():
    for url in (
        "https://issuer.example/status/1",
        "http://127.0.0.1:8000/x",
        "http://[::1]:8000/x",
        "http://localhost/",
    ):
        check_fetch_url(url)
    for url, says in (
        ("http://example.org/status/1", "only https://"),
        ("http://10.0.0.1/status", "only https://"),
        ("ftp://example.org/list.json", "scheme 'ftp'"),
        ("file:///etc/passwd", "not an http(s) URL with a host"),
        ("urn:uuid:1234", "not an http(s) URL with a host"),
        ("https://example.org:port/x", "not a valid URL"),
    ):
        with pytest.raises(FetchError, match=re.escape(says)) as err:
            fetch_json(url, "status list")  # refused before any connection
        assert str(err.value).startswith(f"cannot fetch the status list {url}: ")


def test_bad_answers_are_refused_with_the_url_and_the_problem(bad):
    assert fetch_json(f"{bad}/ok") == {"ok": True}
    assert fetch_json(f"{bad}/here") == {"ok": True}  # a redirect on the same host is followed
    for path, says in (
        ("/html", "'text/html', not JSON"),
        ("/not-json", "not valid JSON"),
        ("/array", "a JSON list, not an object"),
        ("/twice", "appears twice"),
        ("/latin1", "not UTF-8"),
        ("/missing", "HTTP status 404"),
        ("/big", f"larger than {MAX_FETCH_BYTES:,} bytes"),
        ("/big-unsized", f"larger than {MAX_FETCH_BYTES:,} bytes"),
        ("/elsewhere", "redirects to another host"),
    ):
        with pytest.raises(FetchError, match=re.escape(says)) as err:
            fetch_json(bad + path, "status list")
        assert str(err.value).startswith(f"cannot fetch the status list {bad}{path}: ") and "\n" not in str(err.value)


def test_a_server_that_never_answers_times_out():
    with socket.socket() as listening:  # the kernel accepts the connection; nobody ever answers
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"http://127.0.0.1:{listening.getsockname()[1]}/status"
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"no answer within 0.3 s"):
            fetch_json(url, timeout_s=0.3)
        assert time.monotonic() - started < 5


def test_the_command_exits_2_with_one_line_for_a_refused_or_bad_status_list(tmp_path, bad):
    """A did:key issuer needs no controller document: only the status list the credential names is fetched (the
    credential's signature is never reached)."""
    key, _ = generate_key_pair()
    did = "did:key:" + public_key_to_multikey(key)
    for url, says in (
        ("http://example.org/status/1", "refused: only https://"),
        (f"{bad}/html", "not JSON"),
        (f"{bad}/big-unsized", "larger than"),
    ):
        entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "7"}
        cred = {"issuer": {"id": did}, "credentialStatus": dict(entry, statusListCredential=url)}
        (tmp_path / "cred.json").write_text(json.dumps(cred))
        assert says in _one_error_line(_verify(tmp_path / "cred.json"), url)
    # an issuer id whose address answers JSON that is not its controller document
    (tmp_path / "cred.json").write_text(json.dumps({"issuer": {"id": f"{bad}/ok"}}))
    line = _one_error_line(_verify(tmp_path / "cred.json"), f"{bad}/ok")
    assert f"cannot fetch the controller document {bad}/ok: it is the document of None, not of '{bad}/ok'" in line
