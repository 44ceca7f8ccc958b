"""The readable certificate: a one-page PDF in Danish or English, and short "CV lines" per area.

The PDF shows the areas with the certified levels and their descriptors, the date, the issuer, a verification code and
a QR code that refers to the signed credential. A result from a provisional parameter set carries a visible notice.
The note under the levels states the rule that set them: the posterior probability of at least 80 %, or for a
multidimensional test the joint rule of :mod:`digiskill.results.adaptive` in plain words.
Nothing about the person appears beyond what they chose: the name is optional (a pseudonymous reference is never
printed).

Libraries: fpdf2 (pure-Python PDF writer, maintained) and segno (pure-Python QR codes, maintained).
"""

from __future__ import annotations

import hashlib
import io
from typing import Literal

import segno
from fpdf import FPDF

from ..bank.default import Bank
from .models import AssessmentResult

Lang = Literal["da", "en"]

TEXT = {
    "title": {"da": "Bevis for digitale kompetencer", "en": "Certificate of digital skills"},
    "holder": {"da": "Udstedt til", "en": "Issued to"},
    "date": {"da": "Dato", "en": "Date"},
    "issuer": {"da": "Udsteder", "en": "Issuer"},
    "area": {"da": "Område", "en": "Area"},
    "level": {"da": "Niveau", "en": "Level"},
    "none": {"da": "Intet niveau bekræftet", "en": "No level confirmed"},
    "framework": {
        "da": "Niveauer efter EU's referenceramme for digitale kompetencer, DigComp 2.2. Et niveau bekræftes, når "
        "der er mindst 80 % sandsynlighed for, at personen er på niveauet.",
        "en": "Levels follow the EU Digital Competence Framework, DigComp 2.2. A level is confirmed when the "
        "probability that the person is at that level or above is at least 80%.",
    },
    "framework_joint": {
        "da": "Niveauer efter EU's referenceramme for digitale kompetencer, DigComp 2.2. Områderne hænger sammen, så "
        "hvert niveau bygger på svarene i alle områder: det bekræftes, når de giver mindst 80 % sandsynlighed for, at "
        "personen er på niveauet. Men det er aldrig højere, end personens egne svar i området gør sandsynligt (mindst "
        "50 %), og aldrig lavere, end de egne svar alene viser (mindst 80 %).",
        "en": "Levels follow the EU Digital Competence Framework, DigComp 2.2. The areas are related, so each level "
        "uses the answers in all areas: it is confirmed when they give at least 80% probability that the person is "
        "at that level or above. But it is never higher than the person's own answers in that area make likely (at "
        "least 50%), and never lower than those answers show alone (at least 80%).",
    },
    "verify": {
        "da": "Verifikationskode. QR-koden indeholder bevisets id; udstederen har ingen verifikationsside. Det "
        "signerede digitale bevis (Open Badges 3.0, credential.json) kontrolleres med 'digiskill verify "
        "credential.json --key <udstederens offentlige nøgle>' eller en anden Open Badges 3.0-verifikator.",
        "en": "Verification code. The QR code holds the credential's id; the issuer has no verification page. "
        "Check the signed digital credential (Open Badges 3.0, credential.json) with 'digiskill verify "
        "credential.json --key <the issuer's public key>' or any other Open Badges 3.0 verifier.",
    },
    "verify_url": {
        "da": "Verifikationskode. Scan QR-koden eller åbn {url} for at kontrollere det signerede digitale bevis "
        "(Open Badges 3.0).",
        "en": "Verification code. Scan the QR code or open {url} to check the signed digital credential "
        "(Open Badges 3.0).",
    },
    "cv": {"da": "Til dit CV", "en": "For your CV"},
    "chart": {
        "da": "Felterne viser sandsynligheden for hvert niveau ud fra svarene (mørkere = mere sandsynligt); det "
        "bekræftede niveau er markeret med orange ramme.",
        "en": "The cells show the probability of each level given the answers (darker = more likely); the confirmed "
        "level is outlined in orange.",
    },
    "chart_joint": {
        "da": "Felterne viser sandsynligheden for hvert niveau ud fra svarene i alle områder (mørkere = mere "
        "sandsynligt); det bekræftede niveau er markeret med orange ramme.",
        "en": "The cells show the probability of each level given the answers in all areas (darker = more likely); "
        "the confirmed level is outlined in orange.",
    },
    "provisional": {
        "da": "FORELØBIG: resultatet bygger på foreløbige parametre (ikke kalibreret på rigtige besvarelser).",
        "en": "PROVISIONAL: the result rests on provisional parameters (not calibrated on real responses).",
    },
    "items": {"da": "opgaver", "en": "items"},
    "unreviewed": {
        "da": "UDKAST: opgaverne er endnu ikke gennemgået af fagfolk (faglig og sproglig kontrol, afprøvning).",
        "en": "DRAFT ITEMS: the questions have not yet been reviewed by experts (content and language check, pilot).",
    },
}


def verification_code(signed_credential_json: str) -> str:
    """A short, human-typable code derived from the signed credential (SHA-256, 16 hex digits in groups of 4)."""
    digest = hashlib.sha256(signed_credential_json.encode("utf-8")).hexdigest()[:16].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def cv_lines(result: AssessmentResult, bank: Bank, lang: Lang = "da") -> list[str]:
    """One line per area with a confirmed level, ready to paste into a CV."""
    date = result.created.strftime("%d-%m-%Y" if lang == "da" else "%Y-%m-%d")
    lines = []
    for a in result.areas:
        if a.certified_level is None:
            continue
        area = bank.content.framework.area(a.area)
        name = getattr(area.name, lang) if area else a.area
        level = getattr(a.level_name, lang) if a.level_name else str(a.certified_level)
        if lang == "da":
            lines.append(f"{name}: DigComp 2.2 niveau {a.certified_level} ({level}), testet {date} med digiskill")
        else:
            lines.append(f"{name}: DigComp 2.2 level {a.certified_level} ({level}), assessed {date} with digiskill")
        if result.provisional:
            lines[-1] += " (foreløbig)" if lang == "da" else " (provisional)"
    return lines


def _latin1(text: str) -> str:
    """The PDF's core fonts cover Latin-1 (æ, ø, å, é, ü, …); anything else is replaced by '?' rather than failing."""
    return text.encode("latin-1", errors="replace").decode("latin-1")


def level_distribution(prob_at_least: dict[int, float], levels: list[int]) -> dict[int, float]:
    """``P(level = L)`` for ``L`` in ``[0] + levels`` (0: below the first level) from ``P(θ ≥ cut_L)``; levels
    without a cut score get 0."""
    cut_levels = sorted(prob_at_least)
    out = {0: 1.0 - prob_at_least[cut_levels[0]]} if cut_levels else {0: 1.0}
    for level in levels:
        if level not in prob_at_least:
            out[level] = 0.0
            continue
        above = prob_at_least[cut_levels[cut_levels.index(level) + 1]] if level != cut_levels[-1] else 0.0
        out[level] = max(prob_at_least[level] - above, 0.0)
    return out


def _level_chart(pdf: FPDF, result: AssessmentResult, bank: Bank, t: dict[str, str], lang: Lang) -> list[int]:
    """Per area: its name (wrapped), a row of cells for 'below 1' and levels 1..8 shaded by P(level), the certified
    level outlined, and the level text. Returns the certified levels shown."""
    levels = sorted(lv.level for lv in bank.content.framework.levels)
    names = {lv.level: lv for lv in bank.content.framework.levels}
    name_w, cell_w, cell_h = 55.0, 8.5, 7.0
    chart_w = cell_w * (len(levels) + 1)
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(235, 238, 245)
    pdf.cell(name_w, 6, t["area"], fill=True)
    for k, level in enumerate([0, *levels]):
        pdf.cell(cell_w, 6, "<1" if k == 0 else str(level), fill=True, align="C")
    pdf.cell(0, 6, t["level"], fill=True, new_x="LMARGIN", new_y="NEXT")
    shown: list[int] = []
    for a in result.areas:
        area = bank.content.framework.area(a.area)
        name = _latin1(getattr(area.name, lang) if area else a.area)
        y0 = pdf.get_y()
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(name_w - 2, 4.5, name, align="L", new_x="LEFT", new_y="NEXT")
        row_h = max(pdf.get_y() - y0, cell_h) + 1.5
        x = pdf.l_margin + name_w
        dist = level_distribution(a.level_probabilities, levels)
        for k, level in enumerate([0, *levels]):
            p = dist.get(level, 0.0)
            shade = round(255 - 200 * p)  # white (0) to dark blue (1)
            pdf.set_fill_color(shade, shade + int(30 * p), 255)
            pdf.set_draw_color(200, 200, 200)
            pdf.rect(x + k * cell_w, y0 + 0.5, cell_w, cell_h, style="DF")
            if p >= 0.005:
                pdf.set_xy(x + k * cell_w, y0 + 0.5)
                pdf.set_font("Helvetica", "", 6)
                pdf.set_text_color(255, 255, 255) if p > 0.55 else pdf.set_text_color(60, 60, 60)
                pdf.cell(cell_w, cell_h, f"{100 * p:.0f}%", align="C")
                pdf.set_text_color(0, 0, 0)
        if a.certified_level is not None:
            k = levels.index(a.certified_level) + 1
            pdf.set_draw_color(200, 120, 0)
            pdf.set_line_width(0.8)
            pdf.rect(x + k * cell_w, y0 + 0.5, cell_w, cell_h)
            pdf.set_line_width(0.2)
            if a.certified_level not in shown:
                shown.append(a.certified_level)
            level_text = f"{a.certified_level}: {getattr(names[a.certified_level].name, lang)}"
        else:
            level_text = t["none"]
        pdf.set_draw_color(0, 0, 0)
        pdf.set_xy(x + chart_w + 2, y0 + 0.5)
        pdf.set_font("Helvetica", "B" if a.certified_level is not None else "I", 8.5)
        text = f"{_latin1(level_text)} ({a.n_items} {t['items']})"
        pdf.multi_cell(0, 3.6, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), y0 + row_h))
    pdf.set_font("Helvetica", "I", 7.5)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(0, 3.6, t["chart"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    return shown


def certificate_pdf(
    result: AssessmentResult,
    bank: Bank,
    *,
    lang: Lang = "da",
    issuer_name: str,
    code: str,
    qr_payload: str,
    holder_name: str | None = None,
    verification_url: str | None = None,
) -> bytes:
    """The certificate as PDF bytes (A4, one page)."""
    t = {k: v[lang] for k, v in TEXT.items()}
    if result.multidimensional:  # the level rule of a multidimensional test (results.adaptive)
        t["framework"], t["chart"] = t["framework_joint"], t["chart_joint"]
    levels = {lv.level: lv for lv in bank.content.framework.levels}
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_title(t["title"])
    top, qr_size = pdf.get_y(), 34
    qr_x = pdf.w - pdf.r_margin - qr_size
    png = io.BytesIO()
    segno.make(qr_payload, error="m").save(png, kind="png", scale=4, border=1)
    png.seek(0)
    pdf.image(png, x=qr_x, y=top, w=qr_size, h=qr_size)
    text_w = qr_x - pdf.l_margin - 4
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(text_w, 12, t["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    if holder_name:  # a long name wraps within the text column, never under the QR code or off the page
        pdf.multi_cell(text_w, 6, f"{t['holder']}: {_latin1(holder_name)}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text_w, 7, f"{t['date']}: {result.created.date().isoformat()}", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(text_w, 6, f"{t['issuer']}: {_latin1(issuer_name)}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "B", 12)
    pdf.cell(text_w, 7, code, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + qr_size) + 2)
    notices = [t["provisional"]] if result.provisional else []
    notices += [t["unreviewed"]] if any(a.unreviewed_items for a in result.areas) else []
    if notices:
        pdf.set_text_color(170, 0, 0)
        pdf.set_font("Helvetica", "B", 10)
        for notice in notices:
            pdf.multi_cell(0, 5, notice, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)
    # the areas: one row each, with the posterior probability of each level as shading
    shown = _level_chart(pdf, result, bank, t, lang)
    pdf.ln(3)
    # what the levels mean, once per level shown
    pdf.set_font("Helvetica", "", 9)
    for level in sorted(shown):
        lv = levels[level]
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, f"{t['level']} {level}: {getattr(lv.name, lang)}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 4.5, getattr(lv.descriptor, lang), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("Helvetica", "I", 8.5)
    pdf.multi_cell(0, 4.2, t["framework"], new_x="LMARGIN", new_y="NEXT")
    lines = cv_lines(result, bank, lang)
    if lines:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, t["cv"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8.5)
        for line in lines:
            pdf.multi_cell(0, 4.2, f"- {line}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 7.5)
    pdf.set_text_color(90, 90, 90)
    how = t["verify_url"].format(url=verification_url) if verification_url else t["verify"]
    pdf.multi_cell(0, 3.8, f"{code}: {how}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 3.8, f"{result.bank.parameter_set} / framework {result.bank.framework_version} / {result.engine}")
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
