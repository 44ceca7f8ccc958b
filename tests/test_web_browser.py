"""The web pages in a real browser: Playwright drives Debian's Chromium (headless, ``/usr/bin/chromium``) against a
``digiskill serve`` process on a free loopback port with a temporary SQLite database.

* a citizen takes a whole test by mouse, takes a break, resumes in a new browser context with the code, finishes, and
  downloads a credential that ``digiskill verify`` accepts;
* the same by keyboard only (Tab, Space, arrow keys, Enter) with the focus visible at every stop;
* a caseworker signs in, creates an invitation, reads the result and screens it against a job profile;
* an employer opens the certificate's QR link and sees it verified, and a tampered credential refused;
* at 320 px width and at 200 % zoom no page scrolls sideways;
* axe-core (axe-playwright-python) on every page and state, in Danish and in English: 0 violations at the WCAG 2.0,
  2.1 and 2.2 A/AA tags.

Screenshots (phone 390 px, desktop 1280 px) go to ``$DIGISKILL_SCREENSHOTS`` or a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from digiskill.results.signing import generate_key_pair, public_key_to_multikey, save_private_key
from digiskill.web.accounts import create_user
from digiskill.web.text import TEXTS

CHROMIUM = Path("/usr/bin/chromium")
DIGISKILL = Path(sys.executable).with_name("digiskill")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PASSWORD = "browser test password"
#: the issuer's verification page: a credential's id (and its PDF's QR code) is this + the credential's UUID; the test
#: server stands in for that public host, so the employer opens the same path on it
VERIFY_URL = "https://jobcenter.example/verify/"


class Server:
    """``digiskill serve`` with a configured issuer (key + profile with a verification page) on a free port."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{tmp / 'web.db'}"
        private, _public = generate_key_pair()
        key = save_private_key(private, tmp / "issuer.pem")
        self.multikey = public_key_to_multikey(private)
        profile = tmp / "issuer.json"
        profile.write_text(
            json.dumps(
                {
                    "id": "https://jobcenter.example/issuer",
                    "name": "Jobcenter Eksempel",
                    "url": "https://jobcenter.example",
                    "verify_url": VERIFY_URL,
                }
            )
        )
        create_user(self.database_url, "anna", PASSWORD, "caseworker")
        from digiskill.service.tokens import create_token

        self.token = create_token(self.database_url, "system", migrate=False)
        self.log = tmp / "server.log"
        args = [str(DIGISKILL), "serve", "--database-url", self.database_url, "--port", str(self.port)]
        args += ["--key", str(key), "--issuer", str(profile), "--code-failures-per-minute", "1000"]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(args, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

    def invite(self, person: str, areas=("basic_it",), lang: str = "da") -> str:
        r = httpx.post(
            f"{self.url}/v1/invitations",
            json={"person": person, "areas": list(areas), "lang": lang},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert r.status_code == 201, r.text
        return r.json()["code"]

    def finish_by_api(self, code: str) -> None:
        """Answer every item through the API (a test taken elsewhere): right except every third item."""
        from digiskill.bank.default import load_default

        items = {it.id: it for it in load_default().content.items}
        view = httpx.get(f"{self.url}/v1/citizen/{code}").json()["item"]
        while view is not None:
            ids = [o["id"] for o in view["options"]]
            key = list(items[view["item"]].key)
            answer: str | list[str] = key if view["step"] % 3 else [i for i in ids if i not in key][:1] or ids[::-1]
            if view["format"] in ("single_choice", "true_false"):
                answer = answer[0]
            body = {"step": view["step"], "item": view["item"], "answer": answer}
            view = httpx.post(f"{self.url}/v1/citizen/{code}/answers", json=body).json()["next"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("web-browser"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "the browser tests need Debian's chromium: run scripts/test-setup.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("DIGISKILL_SCREENSHOTS")
    out = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


class Checker:
    """axe-core on a page state (once per template, state and language); screenshots at phone and desktop size of
    each Danish state and of the English start, item and result pages."""

    def __init__(self, shots: Path) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.shots = shots
        self.scanned: dict[str, int] = {}

    def __call__(self, page, name: str, *, screenshot: bool = True) -> None:
        page.wait_for_load_state()  # a click on a link or a submit button may still be navigating
        lang = page.evaluate("document.documentElement.lang")
        assert lang in ("da", "en"), f"{name}: lang={lang!r}"
        key = f"{name}-{lang}"
        if key in self.scanned:
            return
        # node details for violations only: the passes stay counted, without every node of every passing rule
        options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
        result = self.axe.run(page, options=options)
        found = [
            f"{v['id']}: {v['help']}; {len(v['nodes'])} node(s), first {v['nodes'][0]['target']}: "
            f"{v['nodes'][0].get('failureSummary')}"
            for v in result.response["violations"]
        ]
        assert found == [], f"axe on {key} ({page.url}):\n" + "\n".join(found)
        self.scanned[key] = len(result.response["passes"])
        if screenshot and (lang == "da" or name in ("start", "item-single", "result")):
            size = page.viewport_size
            for label, width in (("phone", 390), ("desktop", 1280)):
                page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})
                page.screenshot(path=str(self.shots / f"{key}-{label}.png"), full_page=True)
            page.set_viewport_size(size)


@pytest.fixture(scope="module")
def check(shots):
    return Checker(shots)


def both_languages(page, check, name: str) -> None:
    """Scan the page as it is, switch language with the page's own link, scan again, and switch back."""
    check(page, name)
    click_and_wait(page, "header a.lang")
    check(page, name)
    click_and_wait(page, "header a.lang")


def t(page, key: str) -> str:
    page.wait_for_load_state()
    return TEXTS[page.evaluate("document.documentElement.lang")][key]


def answer_by_mouse(page) -> None:
    """Click the first option (two for a tick-all item); an ordering item is put in the listed order reversed."""
    selects = page.locator("select[name=order]")
    if selects.count():
        values = [o.get_attribute("value") for o in selects.first.locator("option").all()]
        for i, value in enumerate(reversed(values)):
            selects.nth(i).select_option(value)
    else:
        labels = page.locator(".choice label")
        labels.first.click()
        if page.locator("input[type=checkbox][name=answer]").count():
            labels.nth(1).click()
    click_and_wait(page, "button[type=submit].primary")


def test_citizen_by_mouse_with_a_break_and_a_credential_digiskill_verify_accepts(server, browser, check, tmp_path):
    code = server.invite("mouse-1")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/")
    both_languages(page, check, "start")
    # an unknown code: the error in plain Danish, announced (role=alert), the field marked
    page.fill("#code", "AAAA-BBBB-CCCC-DDDD-EEEE")
    click_and_wait(page, "form button[type=submit]")
    assert TEXTS["da"]["err_unknown_code"] in page.locator("[role=alert]").inner_text()
    assert page.get_attribute("#code", "aria-invalid") == "true"
    check(page, "start-error")
    page.fill("#code", code.lower())
    click_and_wait(page, "form button[type=submit]")
    both_languages(page, check, "intro")
    click_and_wait(page, "a.button.primary")
    formats_seen: set[str] = set()
    for _ in range(2):
        fmt = _format(page)
        both_languages(page, check, f"item-{fmt}") if fmt not in formats_seen else None
        formats_seen.add(fmt)
        answer_by_mouse(page)
    on_screen = page.locator("input[name=item]").get_attribute("value")
    # an answer missing: the form says so, and nothing is recorded
    if page.locator("input[type=radio][name=answer]").count():
        click_and_wait(page, "button[type=submit].primary")
        assert t(page, "err_choose_one") in page.locator("[role=alert]").inner_text()
        check(page, "item-error")
    click_and_wait(page, "form.pause button")
    both_languages(page, check, "paused")
    shown_code = page.locator("p.code").inner_text()
    assert shown_code == code
    context.close()
    # another day, another device: a new browser context, the code typed on the start page
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    page.goto(server.url + "/")
    page.fill("#code", shown_code)
    click_and_wait(page, "form button[type=submit]")
    click_and_wait(page, "form button[type=submit].primary")  # "Fortsæt testen"
    assert page.locator("input[name=item]").get_attribute("value") == on_screen
    while page.locator("input[name=item]").count():
        fmt = _format(page)
        if fmt not in formats_seen:
            both_languages(page, check, f"item-{fmt}")
            formats_seen.add(fmt)
        answer_by_mouse(page)
    assert page.url.endswith("/result")
    both_languages(page, check, "result")
    assert page.locator(".answers > li").count() >= 4
    with page.expect_download() as info:
        page.click(f"a[href='/t/{code}/credential.json']")
    path = tmp_path / "credential.json"
    info.value.save_as(path)
    r = subprocess.run([str(DIGISKILL), "verify", str(path), "--key", server.multikey], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    credential = json.loads(path.read_text())
    assert credential["id"].startswith(VERIFY_URL)  # the PDF's QR code holds this id
    with page.expect_download() as info:
        page.click(f"a[href='/t/{code}/certificate.pdf']")
    assert info.value.path().read_bytes().startswith(b"%PDF")
    context.close()


def _format(page) -> str:
    if page.locator("select[name=order]").count():
        return "ordering"
    if page.locator("input[type=checkbox][name=answer]").count():
        return "multiple"
    return "single"


FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const target = el.closest('.choice') || el;
  const s = getComputedStyle(target);
  return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
}"""


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus, checking at every stop that the focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_VISIBLE), (
            f"focus not visible on {page.evaluate('document.activeElement.outerHTML')[:120]}"
        )
        if page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def click_and_wait(page, selector: str) -> None:
    """Click a submit button or a link and wait for the page it leads to: a click returns once the navigation has
    started, before the new document is parsed, so a count() or page.url read straight after could see neither page."""
    with page.expect_navigation():
        page.click(selector)


def press_and_wait(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def test_keyboard_only_with_the_focus_always_visible(server, browser, check):
    code = server.invite("keys-1")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/")
    tab_to(page, "a.skip")
    page.keyboard.press("Enter")  # the skip link moves on to the main content
    tab_to(page, "#code")
    page.keyboard.type(code)
    press_and_wait(page, "Enter")
    tab_to(page, "a.button.primary")
    press_and_wait(page, "Enter")
    for _ in range(100):
        if not page.locator("input[name=item]").count():
            break
        fmt = _format(page)
        if fmt == "ordering":  # each place by keys: Home, then Arrow Down to its step (the listed order)
            for i in range(page.locator("select[name=order]").count()):
                tab_to(page, f"#place-{i + 1}")
                page.keyboard.press("Home")
                for _ in range(i):
                    page.keyboard.press("ArrowDown")
        elif fmt == "multiple":
            tab_to(page, "input[type=checkbox]")
            page.keyboard.press("Space")
        else:
            tab_to(page, "input[type=radio]")
            page.keyboard.press("ArrowDown")  # arrow keys move the choice within the group
        tab_to(page, "button[type=submit].primary")
        press_and_wait(page, "Enter")
        assert not page.locator("[role=alert] .errors").count(), page.locator("[role=alert]").inner_text()
    assert page.url.endswith("/result")
    tab_to(page, f"a[href='/t/{code}/credential.json']")
    context.close()


def test_caseworker_invites_reads_the_result_and_screens_it(server, browser, check):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/staff")
    assert page.url.endswith("/staff/login")
    both_languages(page, check, "staff-login")
    page.fill("#username", "anna")
    page.fill("#password", "not the password")
    click_and_wait(page, "form:has(#username) button")
    assert TEXTS["da"]["staff_login_failed"] in page.locator("[role=alert]").inner_text()
    check(page, "staff-login-error")
    page.fill("#username", "anna")
    page.fill("#password", PASSWORD)
    click_and_wait(page, "form:has(#username) button")
    assert page.url.endswith("/staff")
    both_languages(page, check, "staff-home")
    page.fill("#person", "case-1")
    page.check("#area-basic_it")
    page.check("#area-security_gdpr")
    click_and_wait(page, "form[action='/staff/invitations'] button")
    code = page.locator("#invite-code").inner_text()
    check(page, "staff-invited")
    server.finish_by_api(code)
    click_and_wait(page, "a[href^='/staff/sessions/']")
    page.select_option("#screen-profile", "gdpr_administrative_worker")
    click_and_wait(page, "form.filter button")
    text = page.locator("main").inner_text()
    assert "θ" in text and TEXTS["da"]["staff_screen_reminder"] in text and re.search(r"S = [01]\.\d\d", text)
    both_languages(page, check, "staff-session")
    click_and_wait(page, "form[action$='/certificate'] button")
    assert page.locator("a[href^='/verify/']").count() == 1
    check(page, "staff-session-certificate", screenshot=False)
    context.close()


def test_employer_opens_the_qr_link_and_a_tampered_credential_is_refused(server, browser, check):
    code = server.invite("employer-1")
    server.finish_by_api(code)
    credential = httpx.get(f"{server.url}/t/{code}/credential.json").json()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/t/{code}")  # the citizen's result with levels (answers mostly right)
    assert page.url.endswith("/result") and page.locator(".chart-level").first.inner_text().startswith("Niveau ")
    check(page, "result-levels")
    page.goto(server.url + "/verify/" + credential["id"].removeprefix(VERIFY_URL))  # the QR link, on this host
    assert TEXTS["da"]["verify_valid"] in page.locator("h2#verdict").inner_text()
    assert "Jobcenter Eksempel" in page.locator("main").inner_text()
    both_languages(page, check, "verify-valid")
    page.goto(server.url + "/verify")
    both_languages(page, check, "verify")
    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["result"][0]["value"] = "8"
    page.fill("#credential", json.dumps(tampered))
    click_and_wait(page, "form button[type=submit]")
    assert TEXTS["da"]["verify_invalid"] in page.locator("h2#verdict").inner_text()
    both_languages(page, check, "verify-invalid")
    page.fill("#credential", "")
    click_and_wait(page, "form button[type=submit]")
    assert TEXTS["da"]["verify_empty"] in page.locator("[role=alert]").inner_text()
    check(page, "verify-error")
    page.goto(server.url + "/verify/00000000-0000-4000-8000-000000000000")
    check(page, "verify-unknown")
    page.goto(server.url + "/no/such/page")
    check(page, "not-found")
    context.close()


def test_every_item_format_and_its_error_state_passes_axe(server, browser, check):
    """Each answer format on screen (the session's current item set in the database, for the scan only), in both
    languages; an ordering with a step used twice shows its error in the live region."""
    from sqlalchemy import update

    from digiskill.bank.default import load_default
    from digiskill.service.db import SessionRow, make_engine, session_factories

    by_format = {}
    for it in load_default().content.items:
        by_format.setdefault(it.format, it.id)
    engine = make_engine(server.database_url)
    write = session_factories(engine)[1]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        for fmt, item_id in sorted(by_format.items()):
            code = server.invite(f"formats-{fmt}")
            with write() as db:
                db.execute(
                    update(SessionRow).where(SessionRow.person_ref == f"formats-{fmt}").values(current_item=item_id)
                )
                db.commit()
            page.goto(f"{server.url}/t/{code}/item")
            assert page.locator("input[name=item]").get_attribute("value") == item_id
            both_languages(page, check, f"format-{fmt}")
            if fmt == "ordering":
                first = page.locator("select[name=order]").first.input_value()
                page.locator("select[name=order]").nth(1).select_option(first)
                click_and_wait(page, "button[type=submit].primary")
                alert = page.locator("[role=alert]").inner_text()
                assert TEXTS["da"]["err_order_twice"] in alert
                assert page.get_attribute("#place-2", "aria-invalid") == "true"
                check(page, "format-ordering-error")
    finally:
        engine.dispose()
        context.close()


def test_no_page_scrolls_sideways_at_320px_or_200_percent_zoom(server, browser):
    code = server.invite("reflow-1")
    done = server.invite("reflow-2")
    server.finish_by_api(done)
    paths = ["/", f"/t/{code}", f"/t/{code}/item", f"/t/{done}/result", "/verify", "/staff/login"]
    # 320 CSS px (WCAG 1.4.10), and 200 % zoom of a 1280 px window (= 640 CSS px at device scale 2)
    for viewport, scale in (({"width": 320, "height": 640}, 1), ({"width": 640, "height": 450}, 2)):
        context = browser.new_context(viewport=viewport, device_scale_factor=scale)
        page = context.new_page()
        for lang in ("da", "en"):
            for path in paths:
                page.goto(f"{server.url}{path}?lang={lang}")
                width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                assert width[0] <= width[1], f"{path} ({lang}) at {viewport['width']} px: scroll width {width}"
        context.close()
