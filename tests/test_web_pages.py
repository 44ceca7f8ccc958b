"""The web pages through FastAPI's TestClient (no browser): every page renders with its language, headings in order,
CSRF refused without the token, no answer key or explanation on a citizen page before the answer, exactly-once
answers from forms, plain-language 4xx pages, caseworker sign-in, screening, certificates, verification, GDPR."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from digiskill.cli.main import app as cli_app
from digiskill.service.db import Answer, SessionRow, WebUser
from digiskill.service.settings import Settings
from digiskill.service.tokens import create_token
from digiskill.web.accounts import create_user
from digiskill.web.app import create_app
from digiskill.web.text import TEXTS

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

PASSWORD = "a long enough password"
HTML = {"accept": "text/html"}


def esc(text: str) -> str:
    """``text`` as the autoescaping templates write it."""
    from markupsafe import escape

    return str(escape(text))


class Page(HTMLParser):
    """The parts of a page the tests look at: html lang, headings in order, form fields, links."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.headings: list[int] = []
        self.hidden: dict[str, str] = {}
        self.inputs: list[dict[str, str]] = []
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "input":
            if a.get("type") == "hidden":
                self.hidden.setdefault(a["name"], a["value"])
            self.inputs.append(a)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])


def check_page(r, lang: str = "da", status: int = 200) -> Page:
    """Status, content type, ``lang``, one h1 first and no heading level skipped, security headers."""
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    page = Page(r.text)
    assert page.lang == lang
    assert page.headings and page.headings[0] == 1 and page.headings.count(1) == 1, page.headings
    assert all(b <= a + 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), page.headings
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "http://" not in re.sub(r'href="http://testserver|http://127\.0\.0\.1:8000', "", r.text.split("<main")[0])
    return page


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from fastapi.testclient import TestClient

    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    app = create_app(Settings(database_url=url))
    create_user(url, "anna", PASSWORD, "caseworker")
    create_user(url, "root", PASSWORD, "admin")
    tokens = {"caseworker": create_token(url, "caseworker", "desk 7"), "system": create_token(url, "system")}
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        client.tokens = tokens
        client.url = url
        yield client


def new_client(web):
    from fastapi.testclient import TestClient

    return TestClient(web.app, base_url="https://testserver", follow_redirects=False)


def csrf_of(client, path: str = "/") -> str:
    return Page(client.get(path, headers=HTML).text).hidden["csrf"]


def login(client, username: str = "anna") -> None:
    token = csrf_of(client, "/staff/login")
    r = client.post("/staff/login", data={"csrf": token, "username": username, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/staff"
    cookie = r.headers["set-cookie"]
    assert "dsk_staff=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie


def invite(client, person: str, areas=("basic_it",), lang: str = "da") -> tuple[str, str]:
    """(code, session id) of a new invitation made through the caseworker form."""
    token = csrf_of(client, "/staff")
    data = {"csrf": token, "person": person, "areas": list(areas), "profile": "", "test_lang": lang}
    r = client.post("/staff/invitations", data=data)
    page = check_page(r, lang="da")
    code = re.search(r'id="invite-code">([0-9A-Z-]+)<', r.text).group(1)
    session = next(h for h in page.links if h.startswith("/staff/sessions/")).rsplit("/", 1)[1]
    return code, session


def form_answer(web, page: Page, text: str):
    """Form fields answering the item on ``page`` (the first option; every step in the given order)."""
    choices = [i["value"] for i in page.inputs if i.get("name") == "answer"]
    order = re.findall(r'<option value="([^"]+)" selected>', text)
    data = {k: page.hidden[k] for k in ("csrf", "step", "item")}
    if order:
        data["order"] = order
    else:
        data["answer"] = choices[:2] if 'type="checkbox"' in text else choices[0]
    return data


def take(web, client, code: str, *, stop_after: int | None = None) -> list[str]:
    """Answer through the item pages until the test ends (or ``stop_after`` answers); returns the item pages' HTML."""
    pages = []
    while True:
        r = client.get(f"/t/{code}/item", headers=HTML, follow_redirects=False)
        if r.status_code == 303:
            return pages
        page = check_page(r)
        pages.append(r.text)
        r = client.post(f"/t/{code}/answer", data=form_answer(web, page, r.text))
        assert r.status_code == 303, r.text[:300]
        if stop_after is not None and len(pages) >= stop_after:
            return pages


# --------------------------------------------------------------------------------------------------- pages
@pytest.mark.parametrize("lang", ["da", "en"])
def test_public_pages_render_with_their_language_and_headings_in_order(web, lang):
    web = new_client(web)  # a browser of its own: the language switch is remembered in a cookie
    for path in ("/", "/verify", "/staff/login"):
        page = check_page(web.get(f"{path}?lang={lang}", headers=HTML), lang=lang)
        assert page.hidden["csrf"]
    r = web.get(f"/?lang={lang}")
    assert TEXTS[lang]["about_no_limit"] in r.text and TEXTS[lang]["about_decides"] in r.text
    # the honest duration: 6 areas × 4..10 items (the service's stopping rules), 45 s each (as 'take' announces)
    assert ("24–60" in r.text) and ("20–45" in r.text)
    assert len(r.content) < 100_000
    css = web.get("/static/site.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert "speechSynthesis" in web.get("/static/site.js").text


def test_language_is_remembered_in_a_cookie(web):
    client = new_client(web)
    check_page(client.get("/?lang=en", headers=HTML), lang="en")
    check_page(client.get("/verify", headers=HTML), lang="en")
    check_page(client.get("/verify?lang=da", headers=HTML), lang="da")
    check_page(client.get("/", headers=HTML), lang="da")


def test_unknown_pages_and_codes_are_plain_language_4xx(web):
    r = web.get("/no/such/page", headers=HTML)
    check_page(r, status=404)
    assert TEXTS["da"]["err_not_found"] in r.text
    assert web.get("/no/such/page").headers["content-type"] == "application/problem+json"  # API clients: JSON
    r = web.get("/t/AAAA-BBBB-CCCC-DDDD-EEEE", headers=HTML)
    check_page(r, status=404)
    assert TEXTS["da"]["err_unknown_code"] in r.text
    token = csrf_of(web)
    r = web.post("/start", data={"csrf": token, "code": "hello"})
    check_page(r, status=422)
    assert TEXTS["da"]["err_bad_code"] in r.text and 'role="alert"' in r.text and 'aria-invalid="true"' in r.text
    r = web.post("/start?lang=en", data={"csrf": token, "code": "AAAA-BBBB-CCCC-DDDD-EEEF"})
    check_page(r, lang="en", status=404)
    assert TEXTS["en"]["err_unknown_code"] in r.text


def test_csrf_is_refused_without_the_token(web):
    client = new_client(web)
    login(client)
    code, session = invite(client, "csrf-person")
    for path, data in (
        ("/start", {"code": code}),
        (f"/t/{code}/pause", {}),
        ("/staff/invitations", {"person": "x"}),
        (f"/staff/sessions/{session}/certificate", {}),
        ("/verify", {"credential": "{}"}),
        ("/staff/login", {"username": "anna", "password": PASSWORD}),
    ):
        for token in (None, "forged"):
            body = data if token is None else {**data, "csrf": token}
            r = client.post(path, data=body)
            check_page(r, status=403)
            assert TEXTS["da"]["err_csrf"] in r.text
    r = client.get(f"/t/{code}/item", headers=HTML)
    data = form_answer(web, Page(r.text), r.text)
    r = client.post(f"/t/{code}/answer", data={**data, "csrf": "forged"})
    assert r.status_code == 403
    with web.app.state.service.read() as db:
        assert db.get(SessionRow, session).n_steps == 0
        assert db.scalar(select(func.count()).select_from(Answer).where(Answer.session_id == session)) == 0


def test_a_citizen_takes_the_test_by_forms_with_a_break(web):
    staff = new_client(web)
    login(staff)
    code, session = invite(staff, "citizen-1")
    citizen = new_client(web)
    svc = web.app.state.service
    r = citizen.get(f"/t/{code.lower()}", headers=HTML)  # codes read back leniently
    check_page(r)
    assert TEXTS["da"]["intro_start"] in r.text and "Grundlæggende IT og kontorværktøjer" in r.text
    pages = take(web, citizen, code, stop_after=2)
    # a break: the code and the link; resuming on another device shows the item that was on screen
    token = Page(pages[-1]).hidden["csrf"]
    r = citizen.post(f"/t/{code}/pause", data={"csrf": token}, follow_redirects=True)
    check_page(r)
    assert TEXTS["da"]["pause_title"] in r.text and code in r.text and f"http://127.0.0.1:8000/t/{code}" in r.text
    other = new_client(web)
    assert other.get(f"/t/{code}/item", follow_redirects=False).headers["location"] == f"/t/{code}"
    with svc.read() as db:
        on_screen = db.get(SessionRow, session).current_item
    r = other.post(f"/t/{code}/resume", data={"csrf": csrf_of(other)}, follow_redirects=True)
    page = check_page(r)
    assert page.hidden["item"] == on_screen and page.hidden["step"] == "3"
    assert TEXTS["da"]["item_progress"].format(n=2) in r.text
    # the same answer posted twice (a double click) is recorded once; a stale step is told, not recorded
    data = form_answer(web, page, r.text)
    first = other.post(f"/t/{code}/answer", data=data)
    again = other.post(f"/t/{code}/answer", data=data)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] in (f"/t/{code}/item", f"/t/{code}/result")
    with svc.read() as db:
        assert db.scalar(select(func.count()).select_from(Answer).where(Answer.session_id == session)) == 3
    stale = other.post(f"/t/{code}/answer", data={**data, "step": "1"}, follow_redirects=True)
    assert TEXTS["da"]["notice_already"] in stale.text
    pages += take(web, other, code)
    with svc.read() as db:
        row = db.get(SessionRow, session)
        answers = db.scalars(select(Answer).where(Answer.session_id == session).order_by(Answer.step)).all()
    assert row.status == "finished" and row.n_steps == len(answers) >= 4
    # no item page before its answer held the key's explanation or the words of the result page
    for html, a in zip(pages, answers, strict=False):
        item = svc.items[a.item]
        assert esc(item.explanation.da) not in html and esc(item.explanation.en) not in html
        assert TEXTS["da"]["result_right_answer"] not in html and "correct" not in html.lower()
    # the result: levels with descriptors, every item with the answer given, the right answer and the explanation
    r = other.get(f"/t/{code}", headers=HTML, follow_redirects=True)
    check_page(r)
    assert TEXTS["da"]["result_title"] in r.text and TEXTS["da"]["result_decides"] in r.text
    for a in answers:
        assert esc(svc.items[a.item].explanation.da) in r.text
    assert r.text.count('class="answer"') == len(answers)
    assert "https://" in r.text.split('id="next"')[1]  # what-next links
    r_en = other.get(f"/t/{code}/result?lang=en", headers=HTML)
    check_page(r_en, lang="en")
    assert esc(svc.items[answers[0].item].explanation.en) in r_en.text
    # downloads: the PDF and a credential that this service verifies as valid
    pdf = other.get(f"/t/{code}/certificate.pdf")
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and "attachment" in pdf.headers["content-disposition"]
    )
    cred = other.get(f"/t/{code}/credential.json")
    assert cred.status_code == 200 and json.loads(cred.text)["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    r = other.post("/verify?lang=da", data={"csrf": csrf_of(other, "/verify"), "credential": cred.text})
    check_page(r)
    assert TEXTS["da"]["verify_valid"] in r.text and TEXTS["da"]["verify_demo"] in r.text
    assert "Niveau" in r.text
    # an upload works the same
    token = csrf_of(other, "/verify?lang=en")
    r = other.post(
        "/verify", data={"csrf": token}, files={"file": ("credential.json", cred.content, "application/json")}
    )
    check_page(r, lang="en")
    assert TEXTS["en"]["verify_valid"] in r.text


def test_tampered_and_unknown_credentials_are_refused(web):
    staff = new_client(web)
    login(staff)
    code, _session = invite(staff, "citizen-2")
    citizen = new_client(web)
    take(web, citizen, code)
    doc = json.loads(citizen.get(f"/t/{code}/credential.json").text)
    doc["credentialSubject"]["result"][0]["value"] = "8"
    r = citizen.post("/verify", data={"csrf": csrf_of(citizen, "/verify"), "credential": json.dumps(doc)})
    check_page(r)
    assert TEXTS["da"]["verify_invalid"] in r.text and TEXTS["da"]["verify_problems"] in r.text
    r = citizen.post("/verify", data={"csrf": csrf_of(citizen), "credential": "not json"})
    check_page(r, status=422)
    assert TEXTS["da"]["verify_not_json"] in r.text
    r = citizen.get("/verify/urn:uuid:00000000-0000-4000-8000-000000000000", headers=HTML)
    check_page(r, status=404)
    assert TEXTS["da"]["verify_unknown"] in r.text


def test_caseworker_result_screening_certificate_revocation_export_and_erasure(web):
    staff = new_client(web)
    r = staff.get("/staff", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/login"
    token = csrf_of(staff, "/staff/login")
    r = staff.post("/staff/login", data={"csrf": token, "username": "anna", "password": "wrong password!"})
    check_page(r, status=401)
    assert TEXTS["da"]["staff_login_failed"] in r.text
    r = staff.post("/staff/login", data={"csrf": token, "token": web.tokens["system"]})
    check_page(r, status=401)
    r = staff.post("/staff/login", data={"csrf": token, "token": web.tokens["caseworker"]})
    assert r.status_code == 303
    check_page(staff.get("/staff", headers=HTML))
    r = staff.post("/staff/invitations", data={"csrf": csrf_of(staff, "/staff"), "person": "010203-1234"})
    check_page(r, status=422)
    assert "CPR" in r.text and 'role="alert"' in r.text
    code, session = invite(staff, "citizen-3", areas=("basic_it", "security_gdpr"))
    take(web, new_client(web), code)
    r = staff.get(f"/staff/sessions/{session}?profile=gdpr_administrative_worker", headers=HTML)
    check_page(r)
    assert "θ" in r.text and TEXTS["da"]["staff_screen_reminder"] in r.text
    assert re.search(r"L1: 0\.\d\d|L1: 1\.00", r.text)
    assert re.search(r"S = [01]\.\d\d", r.text)
    with web.app.state.service.read() as db:
        from digiskill.service.db import AuditEntry

        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.target == "citizen-3")).all()
    assert "read_result" in actions and "create_invitation" in actions
    # issue, then revoke: the verification link shows the revocation
    r = staff.post(f"/staff/sessions/{session}/certificate", data={"csrf": csrf_of(staff, "/staff")})
    assert r.status_code == 303
    page = check_page(staff.get(f"/staff/sessions/{session}", headers=HTML))
    link = next(h for h in page.links if h.startswith("/verify/"))
    assert TEXTS["da"]["verify_valid"] in staff.get(link, headers=HTML).text
    cert_id = link.removeprefix("/verify/")
    r = staff.post(
        f"/staff/sessions/{session}/revoke",
        data={"csrf": csrf_of(staff, "/staff"), "certificate": cert_id, "reason": "test"},
    )
    assert r.status_code == 303
    # the text of the PDF's QR code (the demo issuer has no verification page: the id and the verification code)
    qr = f"{cert_id} ABCD-EFGH-1234"
    r = staff.post("/verify", data={"csrf": csrf_of(staff, "/verify"), "credential": qr})
    assert r.status_code == 303 and r.headers["location"] == link
    r = staff.get(link.replace("urn:uuid:", ""), headers=HTML)  # the bare UUID works too
    check_page(r)
    assert TEXTS["da"]["verify_revoked"] in r.text
    # export; erasure needs an admin and a confirmation
    r = staff.get("/staff/persons/citizen-3/export")
    assert r.status_code == 200 and json.loads(r.text)["sessions"][0]["id"] == session
    r = staff.post("/staff/persons/citizen-3/erase", data={"csrf": csrf_of(staff, "/staff"), "confirm": "yes"})
    check_page(r, status=403)
    admin = new_client(web)
    login(admin, "root")
    r = admin.post("/staff/persons/citizen-3/erase", data={"csrf": csrf_of(admin, "/staff")})
    check_page(r, status=422)
    r = admin.post("/staff/persons/citizen-3/erase", data={"csrf": csrf_of(admin, "/staff"), "confirm": "yes"})
    check_page(r)
    assert "1 test(s)" in r.text
    with web.app.state.service.read() as db:
        assert db.get(SessionRow, session) is None
    r = admin.get(link, headers=HTML)  # the erased certificate still shows its revocation
    assert TEXTS["da"]["verify_revoked"] in r.text
    # sign out: the session cookie no longer opens the pages
    r = admin.post("/staff/logout", data={"csrf": csrf_of(admin, "/staff")})
    assert r.status_code == 303
    assert admin.get("/staff", follow_redirects=False).headers["location"] == "/staff/login"


def test_serve_user_add_keeps_only_an_argon2_hash(tmp_path):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    runner = CliRunner()
    r = runner.invoke(
        cli_app,
        ["serve", "user", "add", "bo", "--role", "admin", "--database-url", url],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert r.exit_code == 0, r.output
    assert "'bo' (admin)" in r.output
    r = runner.invoke(cli_app, ["serve", "user", "add", "bo", "--database-url", url, "--password", PASSWORD])
    assert r.exit_code == 2 and "exists already" in r.output
    r = runner.invoke(
        cli_app, ["serve", "user", "add", "cy", "--role", "boss", "--database-url", url, "--password", PASSWORD]
    )
    assert r.exit_code == 2 and "caseworker, admin" in r.output
    from digiskill.service.db import make_engine, session_factories
    from digiskill.web.accounts import check_password

    engine = make_engine(url)
    with session_factories(engine)[0]() as db:
        user = db.scalar(select(WebUser).where(WebUser.username == "bo"))
    engine.dispose()
    assert user.role == "admin" and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert check_password(user.password_hash, PASSWORD) and not check_password(user.password_hash, PASSWORD + "x")


def test_what_next_links_come_from_a_checked_json_file(tmp_path):
    from digiskill.errors import InputError
    from digiskill.web.whatnext import load_links, what_next

    packaged = load_links()
    assert set(packaged) == {
        "basic_it",
        "information_data",
        "communication",
        "content_social",
        "security_gdpr",
        "workflows",
    }
    good = tmp_path / "links.json"
    good.write_text(json.dumps({"basic_it": [{"da": "Kursus", "en": "Course", "url": "https://kommune.example/it"}]}))
    links = load_links(str(good))
    assert links["basic_it"][0].url == "https://kommune.example/it"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"basic_it": [{"da": "Kursus", "url": "javascript:alert(1)"}]}))
    with pytest.raises(InputError, match=r"bad link under 'basic_it'") as err:
        load_links(str(bad))
    assert str(bad) in str(err.value)
    shown = what_next(["security_gdpr", "basic_it"], {"security_gdpr": "Sikkerhed", "basic_it": "IT"}, "en")
    assert [s["name"] for s in shown] == ["Sikkerhed", "IT"]
    assert shown[0]["links"][0]["text"] == packaged["security_gdpr"][0].en
