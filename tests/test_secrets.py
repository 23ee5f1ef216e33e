"""Secrets: masked wherever callforge writes, and found by `scan` where they were written anyway."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest

from callforge.core import (
    ConfigError,
    find_secrets,
    known_secrets,
    redact,
    redact_json,
    redact_url,
    register_secret,
)
from callforge.run import scan as scan_module
from callforge.run.scan import redact_run, scan_run

KEY = "sk-live-9c1f2e7d3b"


def test_redact_masks_known_values_in_every_wire_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFORGE_AUTH_PETSTORE", KEY)
    monkeypatch.setenv("ACME_API_KEY", "acme:hunter22")
    monkeypatch.setenv("CALLFORGE_AUTH_SHORT", "abc")  # too short to be told from data: left alone
    monkeypatch.setenv("UNRELATED", "sk-not-a-credential-name")
    known = known_secrets()
    assert known[KEY] == "$CALLFORGE_AUTH_PETSTORE" and "abc" not in known
    assert "sk-not-a-credential-name" not in known
    basic = base64.b64encode(b"acme:hunter22").decode()
    text = f"401: key {KEY} rejected; Authorization: Basic {basic}; password hunter22; k=sk-live-9c1f2e7d3b abc"
    assert redact(text) == "401: key *** rejected; Authorization: Basic ***; password ***; k=*** abc"
    nested = {"body": [f"token={KEY}"], KEY: 1, "n": 2}
    assert redact_json(nested) == {"body": ["token=***"], "***": 1, "n": 2}
    clean = {"a": ["b", {"c": 1}]}
    assert redact_json(clean) is clean  # nothing to mask: the very same object
    assert find_secrets(f"x {KEY}", known) == ["$CALLFORGE_AUTH_PETSTORE"]


def test_url_passwords_are_masked_and_remembered() -> None:
    shown = redact_url("http://ada:pa55word-x@llm.internal:8000/v1")
    assert shown == "http://ada:***@llm.internal:8000/v1"
    assert redact_url("http://llm.internal/v1") == "http://llm.internal/v1"
    # once seen, the password is a known secret: a server's error that quotes it alone is masked too
    assert redact("auth failed for pa55word-x") == "auth failed for ***"
    assert redact("see https://bob:s3cr3t-pw@host/x") == "see https://bob:***@host/x"


def _dirty_run(root: Path) -> Path:
    run = root / "run"
    (run / "dialogs").mkdir(parents=True)
    (run / "dialogs" / "accepted-0.jsonl").write_text(
        '{"id": 1, "text": "fine"}\n{"id": 2, "text": "fine"}\n'
        f'{{"id": 3, "text": "the API said: bad key {KEY}"}}\n'
    )
    (run / "errors.jsonl").write_text('{"error": "POST http://ada:topsecret1@api.local/x failed"}\n')
    db = sqlite3.connect(run / "exec-cache.sqlite")
    db.execute("create table t (v text)")
    db.execute("insert into t values (?)", (f"output with {KEY}",))
    db.commit()
    db.close()
    (run / "manifest.json").write_text('{"ok": true}')
    return run


def test_scan_finds_secrets_by_file_and_line_then_redact_cleans_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLFORGE_AUTH_PETSTORE", KEY)
    run = _dirty_run(tmp_path)
    report = scan_run(run)
    assert not report.clean and report.files == 4
    where = {(f.path.name, f.line, f.source) for f in report.findings}
    assert ("accepted-0.jsonl", 3, "$CALLFORGE_AUTH_PETSTORE") in where
    assert ("errors.jsonl", 1, "a URL password (user:password@)") in where
    assert any(name == "exec-cache.sqlite" for name, _, _ in where)
    assert KEY not in report.summary() and "topsecret1" not in report.summary()
    touched = redact_run(report)
    assert {p.name for p in touched} == {"accepted-0.jsonl", "errors.jsonl", "exec-cache.sqlite"}
    assert not (run / "exec-cache.sqlite").exists()  # a cache: removed, rebuilt on the next run
    assert "bad key ***" in (run / "dialogs" / "accepted-0.jsonl").read_text()
    assert "ada:***@api.local" in (run / "errors.jsonl").read_text()
    assert scan_run(run).clean


def test_scan_sees_a_secret_across_a_chunk_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_module, "CHUNK", 64)
    (tmp_path / "big.jsonl").write_text(("x" * 50 + "\n") * 5 + "yy" + KEY + "\n" + ("z" * 70 + "\n") * 3)
    report = scan_run(tmp_path, secrets={KEY: "$K"})
    assert [(f.line, f.source) for f in report.findings] == [(6, "$K")]


def test_scan_extra_env_names_and_bad_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CORP_CREDENTIAL", "corp-credential-77")
    (tmp_path / "x.json").write_text('{"v": "corp-credential-77"}')
    assert scan_run(tmp_path, secrets={}).clean  # not credential-like by name ...
    assert not scan_run(tmp_path, secrets={}, env_names=["MY_CORP_CREDENTIAL"]).clean  # ... unless named
    with pytest.raises(ConfigError, match="not set"):
        scan_run(tmp_path, env_names=["NOT_SET_ANYWHERE_42"])
    assert not scan_run(tmp_path / "x.json", secrets={"corp-credential-77": "$X"}).clean  # one file
    with pytest.raises(ConfigError, match="not a folder or a file"):
        scan_run(tmp_path / "nowhere")


def test_registered_values_count_as_secrets() -> None:
    register_secret("handed-over-key-123", "--api-key")
    assert known_secrets({})["handed-over-key-123"] == "--api-key"


def test_scan_cli_exits_5_names_the_fix_and_redact_cleans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from callforge.cli import app

    monkeypatch.setenv("CALLFORGE_AUTH_PETSTORE", KEY)
    run = _dirty_run(tmp_path)
    found = CliRunner().invoke(app, ["scan", str(run)])
    assert found.exit_code == 5, found.output
    assert "accepted-0.jsonl:3: $CALLFORGE_AUTH_PETSTORE" in found.output and KEY not in found.output
    assert "--redact" in found.output
    cleaned = CliRunner().invoke(app, ["scan", str(run), "--redact"])
    assert cleaned.exit_code == 0, cleaned.output
    assert CliRunner().invoke(app, ["scan", str(run), "--json"]).exit_code == 0


def test_api_key_from_a_file_is_read_and_becomes_a_known_secret(tmp_path: Path) -> None:
    from callforge.cli.options import api_key

    key_file = tmp_path / "key"
    key_file.write_text("sk-from-a-file-5521\n")
    assert api_key(f"@{key_file}") == "sk-from-a-file-5521"
    assert known_secrets({})["sk-from-a-file-5521"] == "--api-key"
    import typer

    with pytest.raises(typer.BadParameter, match="cannot read the key file"):
        api_key(f"@{tmp_path / 'missing'}")


def test_export_refuses_a_run_that_holds_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from callforge.cli import main
    from callforge.export import export
    from callforge.run import SecretsFound

    monkeypatch.setenv("CALLFORGE_AUTH_PETSTORE", KEY)
    run = _dirty_run(tmp_path)
    with pytest.raises(SecretsFound, match=r"accepted-0.jsonl:3: \$CALLFORGE_AUTH_PETSTORE") as refused:
        export(run, tmp_path / "out")
    assert KEY not in str(refused.value) and "--redact" in str(refused.value)
    assert not (tmp_path / "out").exists()  # nothing written
    monkeypatch.setattr("sys.argv", ["callforge", "export", str(run), "--out", str(tmp_path / "out2")])
    with pytest.raises(SystemExit) as status:
        main()
    assert status.value.code == 5
