"""The review workflow of an item (``status``): stages, the history that leads to them, and unreviewed items."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from digiskill.bank.content import CHECKLIST, STAGES, Status, unreviewed_items
from digiskill.bank.default import load_default

WRITTEN = {"date": "2026-11-28", "role": "item writer", "decision": "written"}
APPROVED = {
    "date": "2026-12-10",
    "role": "content expert + jobcenter practitioner",
    "decision": "approved",
    "checks": list(CHECKLIST),
}
PILOTED = {"date": "2027-03-01", "role": "psychometrician", "decision": "piloted", "note": "pilot 2027-1, N = 812"}
RELEASED = {"date": "2027-03-15", "role": "bank owner", "decision": "released"}


def status(stage: str, *history: dict[str, Any]) -> Status:
    return Status.model_validate({"stage": stage, "history": list(history)})


def test_the_whole_workflow() -> None:
    steps = [WRITTEN, APPROVED, PILOTED, RELEASED]
    for n, stage in enumerate(STAGES, start=1):
        s = status(stage, *steps[:n])
        assert s.stage == stage and s.reviewed == (stage != "draft")


def test_revision_sends_an_item_back_to_draft() -> None:
    revised = {"date": "2027-04-01", "role": "item writer", "decision": "revised", "note": "new option C"}
    assert status("draft", WRITTEN, APPROVED, PILOTED, RELEASED, revised).reviewed is False
    with pytest.raises(ValidationError, match="the history leads to 'draft'"):
        status("operational", WRITTEN, APPROVED, PILOTED, RELEASED, revised)


@pytest.mark.parametrize(
    ("stage", "history", "message"),
    [
        ("expert_reviewed", [WRITTEN], "stage is 'expert_reviewed' but the history leads to 'draft'"),
        ("piloted", [WRITTEN, PILOTED], "decision 'piloted' is not possible after stage 'draft'"),
        ("draft", [APPROVED], "decision 'approved' is not possible as the first entry"),
        ("draft", [WRITTEN, WRITTEN], "decision 'written' is not possible after stage 'draft'"),
        ("draft", [], "at least 1 item"),
        ("draft", [{**WRITTEN, "date": "2026-12-01"}, {**WRITTEN, "decision": "revised"}], "before the previous"),
        ("expert_reviewed", [WRITTEN, {**APPROVED, "checks": ["one_key"]}], "missing content_accuracy"),
        ("draft", [{**WRITTEN, "role": " "}], "must not be empty"),
        ("reviewed", [WRITTEN], "stage"),
    ],
)
def test_impossible_histories_are_refused(stage: str, history: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        status(stage, *history)


def test_unreviewed_items_of_the_default_bank() -> None:
    items = load_default().content.items
    assert len(items) == 288 and all(it.status.stage == "draft" for it in items)
    assert unreviewed_items(items, ["SEC-001", "BIT-002"]) == ["SEC-001", "BIT-002"]
    reviewed = items[0].model_copy(update={"status": status("expert_reviewed", WRITTEN, APPROVED)})
    assert unreviewed_items([reviewed, *items[1:]], [items[0].id, items[1].id, "XYZ-999"]) == [items[1].id, "XYZ-999"]


def _pdf_text(pdf: bytes) -> bytes:
    """The decompressed content streams of a PDF written by fpdf2 (text as latin-1 strings)."""
    import re
    import zlib

    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S)
    out = []
    for s in streams:
        try:
            out.append(zlib.decompress(s))
        except zlib.error:
            out.append(s)
    return b"\n".join(out)


def test_results_and_certificates_say_they_rest_on_unreviewed_items() -> None:
    from pathlib import Path

    from digiskill.bank.responses import read_responses
    from digiskill.results.batch import batch_results
    from digiskill.results.document import certificate_pdf
    from digiskill.results.models import AssessmentResult

    bank = load_default()
    responses = Path(__file__).resolve().parents[1] / "examples/jobcenter/responses.csv"
    result = next(batch_results(read_responses(responses, bank.params), bank))
    assert all(a.unreviewed_items == a.n_items > 0 for a in result.areas)
    pdf = certificate_pdf(result, bank, lang="en", issuer_name="Jobcenter", code="ABCD", qr_payload="x")
    assert b"DRAFT ITEMS: the questions have not yet been reviewed" in _pdf_text(pdf)

    # once every item is reviewed, the count is 0 and the notice goes away; a result without the field loads as 0
    reviewed = [a.model_copy(update={"unreviewed_items": 0}) for a in result.areas]
    clean = result.model_copy(update={"areas": reviewed})
    assert b"DRAFT ITEMS" not in _pdf_text(certificate_pdf(clean, bank, issuer_name="J", code="A", qr_payload="x"))
    old = result.model_dump(by_alias=True, mode="json")
    for a in old["areas"]:
        del a["unreviewed_items"]
    assert all(a.unreviewed_items == 0 for a in AssessmentResult.model_validate(old).areas)


def test_an_impossible_status_in_a_bank_file_is_reported_with_file_line_and_item(tmp_path) -> None:
    import shutil
    from pathlib import Path

    from digiskill.bank.content import load_bank_content
    from digiskill.errors import InputError

    bank = tmp_path / "bank"
    shutil.copytree(Path(__file__).resolve().parents[1] / "items", bank)
    path = bank / "areas" / "security_gdpr.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("stage: draft", "stage: operational", 1), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_bank_content(bank)
    [problem] = info.value.problems
    assert problem.item_id == "SEC-001" and problem.path == str(path)
    assert "stage is 'operational' but the history leads to 'draft'" in problem.message
    assert text.splitlines()[problem.line - 1].strip() == "status:"
