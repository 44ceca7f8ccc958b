"""Revocation with the W3C Bitstring Status List v1.0: encoding, index allocation, revoke, verify exit 4."""

from __future__ import annotations

import base64
import gzip
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from digiskill.cli.main import app
from digiskill.errors import InputError
from digiskill.results.status import (
    MIN_ENTRIES,
    allocate_index,
    decode_bits,
    encode_bits,
    load_register,
    new_register,
    revoke,
)

ROOT = Path(__file__).resolve().parents[1]
URL = "https://jobcenter.example.dk/status/1"
runner = CliRunner()


def test_encoding_follows_the_specification() -> None:
    bits = np.zeros(MIN_ENTRIES, dtype=bool)
    bits[[0, 9, MIN_ENTRIES - 1]] = True
    encoded = encode_bits(bits)
    assert encoded.startswith("u") and "=" not in encoded  # multibase base64url, no padding
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) == MIN_ENTRIES // 8  # 16 KB: 131,072 entries
    assert raw[0] == 0b1000_0000 and raw[1] == 0b0100_0000 and raw[-1] == 1  # index 0 is the left-most bit
    assert np.array_equal(decode_bits(encoded), bits)
    for bad in ("", "zabc", "u!!!", "u" + base64.urlsafe_b64encode(b"not gzip").decode()):
        with pytest.raises(ValueError):
            decode_bits(bad)
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024 * 1024))).decode().rstrip("=")
    with pytest.raises(ValueError, match="more than"):
        decode_bits(bomb, max_entries=MIN_ENTRIES)  # a GZIP bomb is read only up to the limit


def _allocate(path: str, n: int) -> list[int]:
    return [allocate_index(Path(path))[1] for _ in range(n)]


def test_indices_are_never_reused_survive_restarts_and_two_processes(tmp_path: Path) -> None:
    reg = tmp_path / "register.json"
    new_register(reg, URL)
    with pytest.raises(InputError, match="exists already"):
        new_register(reg, URL)
    with pytest.raises(InputError, match="at least 131,072"):
        new_register(tmp_path / "small.json", URL, size=1024)
    first = _allocate(str(reg), 20)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:  # two processes issuing at the same time
        batches = pool.starmap(_allocate, [(str(reg), 25), (str(reg), 25)])
    after_restart = _allocate(str(reg), 5)  # a new "process" reads the register again
    everything = first + batches[0] + batches[1] + after_restart
    assert len(set(everything)) == len(everything) == 75
    assert load_register(reg).n_allocated == 75
    assert max(everything) > 1000  # drawn at random over the list, not 0, 1, 2, …
    revoke(reg, first[0])
    assert load_register(reg).bits("revoked")[first[0]]
    unused = next(i for i in range(MIN_ENTRIES) if i not in set(everything))
    with pytest.raises(InputError, match="never given"):
        revoke(reg, unused)


def test_revoked_credential_verifies_as_revoked_with_exit_4(tmp_path: Path) -> None:
    from digiskill.bank.default import load_default
    from digiskill.bank.responses import read_responses
    from digiskill.results.batch import batch_results

    bank = load_default()
    res = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    (tmp_path / "r.json").write_text(res.dump_json())
    key, prof, reg, lst = (tmp_path / n for n in ("k.pem", "issuer.json", "reg.json", "list.json"))
    mk = runner.invoke(
        app,
        ["keys", "new", "--out", str(key), "--issuer-id", "https://jobcenter.example.dk/i", "--issuer-out", str(prof)],
    ).stdout.strip()
    signing = ["--key", str(key), "--issuer", str(prof), "--out", str(lst)]
    assert runner.invoke(app, ["status", "new", str(reg), "--url", URL, *signing]).exit_code == 0
    cert = tmp_path / "c.json"
    r = runner.invoke(
        app,
        [
            "certify",
            str(tmp_path / "r.json"),
            "--key",
            str(key),
            "--issuer",
            str(prof),
            "--out",
            str(cert),
            "--status",
            str(reg),
        ],
    )
    assert r.exit_code == 0, r.output
    entry = json.loads(cert.read_text())["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusListCredential"] == URL
    verify = ["verify", str(cert), "--key", mk, "--status-list", str(lst)]
    assert runner.invoke(app, verify).exit_code == 0

    r = runner.invoke(app, ["status", "revoke", str(reg), str(cert), *signing])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, verify)
    assert r.exit_code == 4 and r.stdout.startswith("revoked")

    # a list for another URL, or a list someone else signed, is refused
    other = json.loads(lst.read_text()) | {"id": "https://elsewhere.example/status/9"}
    (tmp_path / "other.json").write_text(json.dumps(other))
    r = runner.invoke(app, ["verify", str(cert), "--key", mk, "--status-list", str(tmp_path / "other.json")])
    assert r.exit_code == 1 and "status-list-mismatch" in r.stdout
    forged = json.loads(lst.read_text())
    forged["credentialSubject"]["encodedList"] = encode_bits(np.zeros(MIN_ENTRIES, dtype=bool))  # "un-revoke"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    r = runner.invoke(app, ["verify", str(cert), "--key", mk, "--status-list", str(tmp_path / "forged.json")])
    assert r.exit_code == 1 and "signature-invalid" in r.stdout
