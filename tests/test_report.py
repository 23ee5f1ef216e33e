"""`callforge report` and `callforge browse` without a browser: what the page holds, escaping, labels, the server."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from callforge.cli import app
from callforge.core import DataError
from callforge.report import (
    DialogRun,
    Evaluation,
    Price,
    browse_page,
    read_summary,
    render_report,
    serve_browser,
    write_report,
)
from callforge.verify import LABEL_BAD, Label, append_label, read_labels
from tests import report_fixtures
from tests.report_fixtures import MINI

# The session fixtures (real runs), shared with the other report tests.
eval_fc = report_fixtures.eval_fc
eval_prompting = report_fixtures.eval_prompting
gen_run = report_fixtures.gen_run
hostile = report_fixtures.hostile


pytest.importorskip("matplotlib")


def manifest(run: Path) -> dict:
    return orjson.loads((run / "manifest.json").read_bytes())


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_generation_summary_adds_up_to_the_manifest(gen_run: Path) -> None:
    run = read_summary(gen_run)
    assert isinstance(run, DialogRun)
    counts, accounting = manifest(gen_run)["counts"], manifest(gen_run)["accounting"]
    assert (run.total, run.accepted, run.rejected) == (counts["attempts"], counts["accepted"], counts["rejected"])
    assert {k.kind: (k.attempts, k.accepted) for k in run.kinds} == {
        name: (k["attempts"], k["accepted"]) for name, k in accounting["kinds"].items()
    }
    assert run.tokens == accounting["tokens"]
    assert {r.role: r.requests for r in run.roles} == {n: r["requests"] for n, r in accounting["roles"].items()}
    # Every attempt enters the generation stage; the cascade's first stage sees only the ones it passed.
    assert run.stages[0].stage == "generate" and run.stages[0].entered == run.total
    assert run.stages[1].entered == run.stages[0].passed
    assert [s.stage for s in run.stages][1:] == ["rules", "exec", "dedup"]
    if run.rejected:
        first = run.codes[0]
        assert first.dialogs >= 1 and first.example_id and first.example_message
        assert {c.code for c in run.codes} >= set(accounting["reasons"])
    assert run.timing.status == "complete" and run.timing.sessions and run.timing.wall_s > 0
    assert run.difficulty is not None and run.difficulty.dialogs == run.accepted
    shown, counted = run.difficulty.to_dict(), accounting["difficulty"]  # the report and generate's accounting agree
    assert {k: shown[k] for k in ("easy", "medium", "hard")} == {k: counted[k] for k in ("easy", "medium", "hard")}
    assert shown["mean_score"] == pytest.approx(counted["mean_score"], abs=1e-3)
    assert {p for p, _ in run.timing.phases} == set(accounting["phase_seconds"])


def test_report_page_for_a_generation_run_is_self_contained(gen_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    printed = invoke("report", str(gen_run), "--out", str(out), "--price", "0.15:0.60")
    assert str(out) in printed
    page = out.read_text(encoding="utf-8")
    for section in ("funnel", "kinds", "difficulty", "codes", "roles", "timing"):
        assert f'data-section="{section}"' in page
    assert page.count("<svg") == 4  # funnel, kinds, difficulty, tokens per role
    # No script, no fetched asset: nothing leaves the file.
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # only the SVGs' own #clip-path refs
    run = read_summary(gen_run)
    assert isinstance(run, DialogRun)
    for kind in run.kinds:
        assert f"<td>{kind.kind}</td>" in page
    assert re.search(r"\$\d+\.\d{4}", page)  # cost per role at the given price
    assert f"callforge browse {gen_run}" in page


def test_price_and_cost() -> None:
    price = Price.parse("0.15:0.60")
    assert (price.prompt, price.completion) == (0.15, 0.60)
    assert Price.parse("2").completion == 2.0
    with pytest.raises(DataError):
        Price.parse("cheap")


def test_evaluation_has_both_modes_and_the_disagreement(eval_prompting: Path) -> None:
    ev = read_summary(eval_prompting)
    assert isinstance(ev, Evaluation)
    assert [m.mode for m in ev.modes] == ["bfcl", "semantic"]
    assert ev.model == "replay-prompting" and ev.cases == 11
    bfcl, semantic = ev.mode("bfcl"), ev.mode("semantic")
    assert bfcl is not None and semantic is not None
    assert bfcl.accuracy("simple_python") == 0.5 and semantic.accuracy("simple_python") == 0.75
    # BFCL rejects an int in a list of floats; the semantic mode accepts it.
    (only,) = ev.disagreements
    assert only.id == "simple_python_3" and only.semantic is None
    assert only.bfcl is not None and only.bfcl.code == "arg.type_nested"

    page = render_report([ev])
    assert 'data-section="disagreements"' in page and "simple_python_3" in page and "arg.type_nested" in page
    assert 'data-section="categories"' in page and "75.0%" in page and page.count("<svg") == 1


def test_several_folders_side_by_side(gen_run: Path, eval_prompting: Path, eval_fc: Path, tmp_path: Path) -> None:
    out = write_report([gen_run, eval_prompting, eval_fc], tmp_path / "all.html")
    page = out.read_text(encoding="utf-8")
    assert 'data-section="compare-evals"' in page
    header = page[page.index('data-section="compare-evals"') :].split("</thead>")[0]
    assert header.count("replay-prompting") == 2 and header.count("replay-fc") == 2  # one column per mode
    assert 'id="run-1"' in page and 'id="run-3"' in page
    # Two generation runs are compared too.
    assert 'data-section="compare-runs"' in render_report([read_summary(gen_run), read_summary(gen_run)])


def test_a_score_folder_shows_its_one_mode(tmp_path: Path) -> None:
    out = tmp_path / "scored"
    invoke("eval", "score", "--data", str(MINI / "data"), "--results", str(MINI / "results" / "prompting"),
           "--style", "prompting", "--out", str(out), "--quiet")
    ev = read_summary(out)
    assert isinstance(ev, Evaluation) and [m.mode for m in ev.modes] == ["bfcl"] and not ev.disagreements
    page = render_report([ev])
    assert "callforge eval score --mode semantic" in page


def test_dialog_text_is_escaped_in_the_report(hostile: Path) -> None:
    page = render_report([read_summary(hostile)])
    assert "<script" not in page and "<img" not in page and 'id="injected' not in page
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page


def test_browse_page_cannot_be_broken_out_of(hostile: Path) -> None:
    page = browse_page(hostile)
    # Exactly the page's own two script blocks; the dialogs' `<script>` and `</script>` are \u003c-escaped JSON.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page and 'id="injected' not in page
    data = page.split('<script type="application/json" id="data">')[1].split("</script>")[0]
    dialogs = {d["id"]: d for d in json.loads(data)["dialogs"]}
    assert dialogs["xss-1"]["messages"][0]["content"].startswith("<script>window.__xss = 1</script>")
    assert "innerHTML" not in page


def test_labels_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    first = append_label(path, Label(id="a", note="wrong city"))
    assert first.time and first.label == "bad"
    append_label(path, Label(id="b"))
    append_label(path, Label(id="a", label="ok"))
    labels = read_labels(path)
    assert labels["a"].label == "ok" and labels["b"].label == "bad"
    path.write_text('{"id": "c", "label": "maybe"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="not a label"):
        read_labels(path)


def test_verify_takes_labels_as_rejections(gen_run: Path, tmp_path: Path) -> None:
    accepted = [json.loads(line)["id"] for line in (gen_run / "accepted" / "part-0001.jsonl").read_text().splitlines()]
    labels = tmp_path / "labels.jsonl"
    append_label(labels, Label(id=accepted[0], note="the answer invents a price"))
    append_label(labels, Label(id=accepted[1], note="changed my mind"))
    append_label(labels, Label(id=accepted[1], label="ok"))
    out = tmp_path / "relabelled"
    printed = invoke("verify", str(gen_run), "--labels", str(labels), "--out", str(out), "--quiet")
    assert "callforge report" in printed  # verify says how to look at what it wrote
    rejected = [json.loads(line) for line in (out / "rejected" / "part-0001.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rejected] == [accepted[0]]
    (stage,) = rejected[0]["stages"]
    assert stage["stage"] == "labels"
    assert stage["verdicts"][0]["code"] == LABEL_BAD
    assert stage["verdicts"][0]["evidence"]["note"] == "the answer invents a price"
    funnel = orjson.loads((out / "funnel.json").read_bytes())
    assert funnel["stages"][0]["stage"] == "labels" and funnel["stages"][0]["codes"] == {LABEL_BAD: 1}


def test_server_saves_a_label_and_refuses_what_it_should(gen_run: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    dialog_id = json.loads((gen_run / "accepted" / "part-0001.jsonl").read_text().splitlines()[0])["id"]
    with serve_browser(gen_run, labels=labels) as server:
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        assert '"served": true' in page and dialog_id in page

        def post(body: object, kind: str = "application/json") -> int:
            request = urllib.request.Request(
                server.url + "api/labels", data=json.dumps(body).encode(), headers={"Content-Type": kind}
            )
            try:
                return int(urllib.request.urlopen(request, timeout=10).status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert post({"id": dialog_id, "label": "bad", "note": "hotel is closed"}) == 200
        assert post({"id": "no-such-dialog", "label": "bad"}) == 400
        assert post({"id": dialog_id, "label": "terrible"}) == 400
        assert post({"id": dialog_id, "label": "bad"}, kind="text/plain") == 403  # a cross-site form cannot post
    (saved,) = read_labels(labels).values()
    assert (saved.id, saved.label, saved.note) == (dialog_id, "bad", "hotel is closed")


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="neither a run folder"):
        read_summary(tmp_path)
