"""The PDF people look at: rendered to PNG with pdftoppm (poppler-utils, installed by .ci/run) and checked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.results.batch import batch_results
from digiskill.results.credential import IssuerProfile
from digiskill.results.document import level_distribution
from digiskill.results.issue import issue_certificate
from digiskill.results.signing import generate_key_pair

ROOT = Path(__file__).resolve().parents[1]
LONG_NAME = "Maria Josefine Kristiansen-Ødegaard Vestergaard Bjerregaard Thorsen-Lindholm of Nørrebro"


def test_level_distribution_sums_to_one() -> None:
    dist = level_distribution({1: 0.99, 2: 0.9, 3: 0.5, 4: 0.1}, [1, 2, 3, 4, 5, 6, 7, 8])
    expected = {0: 0.01, 1: 0.09, 2: 0.4, 3: 0.4, 4: 0.1, 5: 0.0, 6: 0.0, 7: 0.0, 8: 0.0}  # levels 5-8: no cut
    assert dist == pytest.approx(expected, abs=1e-12)


def test_pdf_renders_one_page_with_shaded_chart_and_nothing_off_the_page(tmp_path: Path) -> None:
    bank = load_default()
    res = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    issuer = IssuerProfile(
        id="https://jobcenter.example.dk/issuers/digiskill",
        name="Jobcenter Copenhagen",
        names={"da": "Jobcenter København", "en": "Jobcenter Copenhagen"},
        verify_url="https://jobcenter.example.dk/verify/",
    )
    key, _ = generate_key_pair()
    cert = issue_certificate(res, bank, issuer, key, lang="da", holder_name=LONG_NAME)
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(cert.pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Udsteder: Jobcenter København" in text  # the issuer in the chosen language
    assert "Thorsen-Lindholm of Nørrebro" in text  # the long name is all there (wrapped, not cut)
    assert f"https://jobcenter.example.dk/verify/{res.result_id}" in text.replace("\n", "")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    img = np.asarray(Image.open(tmp_path / "page.png").convert("RGB")).astype(int)
    w = img.shape[1]
    margin = int(60 * 9 / 25.4)  # 9 mm at 60 dpi: inside fpdf's 10 mm margin
    assert (img[:, w - margin :] > 245).all() and (img[:, :margin] > 245).all()  # nothing runs off the page
    bluish = (img[..., 2] > 200) & (img[..., 0] < 200) & (img[..., 2] - img[..., 0] > 60)
    assert bluish.sum() > 500  # the probability shading of the chart
    orange = (img[..., 0] > 170) & (img[..., 1] > 90) & (img[..., 1] < 150) & (img[..., 2] < 60)
    assert orange.sum() > 50  # the certified level outlined
