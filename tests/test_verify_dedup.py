"""Duplicate removal: exact repeats and near copies are rejected, different requests are not, resume remembers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec
from callforge.verify import RuleStage, verify
from callforge.verify.dedup import Deduper, DedupStage, call_signature, user_text
from tests.conftest import stream

WEATHER = ToolSpec(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
)


def ask(text: str, id: str = "d", **arguments: object) -> Dialog:
    calls = (ToolCall(name="get_weather", arguments=dict(arguments), id="c1"),) if arguments else ()
    messages = [Message(role="user", content=text)]
    messages.append(Message(role="assistant", tool_calls=calls) if calls else Message(role="assistant", content="ok"))
    return Dialog(tools=(WEATHER,), messages=tuple(messages), meta={"id": id})


BASE = "Could you tell me what the weather will be like in Paris over the next three days please"


def test_exact_repeat_ignores_case_spacing_and_argument_order() -> None:
    dedup = Deduper()
    dedup.add(ask(BASE, "a", city="Paris", days=3), "a")
    copy = ask(BASE.upper() + "  ", "b", days=3, city="Paris")
    found = dedup.check(copy)
    assert found is not None and found.code == "dedup.exact" and found.evidence["duplicate_of"] == "a"


def test_near_copy_is_caught_and_confirmed_on_jaccard() -> None:
    dedup = Deduper()
    dedup.add(ask(BASE, "a", city="Paris", days=3), "a")
    near = ask(BASE.replace("please", "thanks"), "b", city="Paris", days=3)
    found = dedup.check(near)
    assert found is not None and found.code == "dedup.near" and found.evidence["similarity"] >= 0.8


def test_different_requests_and_different_tools_pass() -> None:
    dedup = Deduper()
    dedup.add(ask(BASE, "a", city="Paris", days=3), "a")
    assert dedup.check(ask("Is it going to rain in Tokyo tomorrow morning", "b", city="Tokyo", days=1)) is None
    no_call = ask(BASE, "c")  # the same words but no call: a different lesson (abstain vs call)
    assert dedup.check(no_call) is None


def test_signature_and_text_helpers() -> None:
    assert user_text(ask("Hello,  WORLD!")) == "hello world"
    a = ask("x", city="Paris", days=3)
    b = ask("x", days=3, city="Paris")
    assert call_signature(a) == call_signature(b)


def test_threshold_is_validated() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        Deduper(1.5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh ", min_size=1, max_size=60), min_size=1, max_size=8))
def test_anything_added_is_caught_again(texts: list[str]) -> None:
    dedup = Deduper()
    for n, text in enumerate(texts):
        d = ask(text, str(n), city="Paris")
        if dedup.check(d) is None:
            dedup.add(d, str(n))
        assert dedup.check(d) is not None


def test_dedup_stage_in_verify_remembers_across_a_resume(tmp_path: Path) -> None:
    out = tmp_path / "v"
    first = [ask(BASE, "a", city="Paris", days=3), ask("Weather in Rome for 2 days", "b", city="Rome", days=2)]
    report = verify(dialogs=first, stages=[RuleStage(skip=["grounding"]), DedupStage()], out=out)
    assert report.funnel.accepted == 2
    later = [*first, ask(BASE + " now", "c", city="Paris", days=3), ask("Snow in Oslo for 5 days?", "d", city="Oslo", days=5)]
    again = verify(dialogs=later, stages=[RuleStage(skip=["grounding"]), DedupStage()], out=out)
    assert again.progress.resumed == 2 and again.progress.done == 2
    assert again.funnel.counts["dedup"].codes == {"dedup.near": 1}
    assert [r["id"] for r in stream(out, "rejected")] == ["c"]


def test_stage_checks_and_remembers_in_one_step() -> None:
    stage = DedupStage()
    d = ask(BASE, "a", city="Paris")
    assert asyncio.run(stage.check(d)).ok
    assert not asyncio.run(stage.check(d)).ok


def test_a_limit_on_dialogs_making_exactly_the_same_calls() -> None:
    from callforge.core import Dialog, Message, ToolCall
    from callforge.verify.dedup import Deduper

    def asked(text: str, city: str = "Paris") -> Dialog:
        call = ToolCall(name="get_weather", arguments={"city": city}, id="c1")
        return Dialog(
            messages=(
                Message(role="user", content=text),
                Message(role="assistant", tool_calls=(call,)),
                Message(role="tool", tool_call_id="c1", content="{}"),
                Message(role="assistant", content="Done."),
            )
        )

    limited = Deduper(max_same_calls=2)
    assert limited.check_and_add(asked("weather in paris please"), "a") is None
    assert limited.check_and_add(asked("how warm is it in Paris today, friend?"), "b") is None
    third = limited.check_and_add(asked("tell me about the Paris sky right now"), "c")
    assert third is not None and third.code == "dedup.same_calls" and third.evidence["duplicate_of"] == "a"
    assert limited.check_and_add(asked("tell me about the Lyon sky right now", "Lyon"), "d") is None
    unlimited = Deduper()
    for n, text in enumerate(("weather in paris please", "how warm is it in Paris today?", "the Paris sky now")):
        assert unlimited.check_and_add(asked(text), str(n)) is None


# -- bounded work on templated text ------------------------------------------------------------------

TEMPLATE = (
    "Please book me a flight from {a} to {b} on {date} in economy class for two passengers and send the "
    "confirmation with the booking reference and the seat numbers to my usual email address"
)


def templated(n: int, seed: int = 11) -> list[Dialog]:
    """`n` requests of one template with varied places and dates: siblings share most words, none is a copy."""
    import random

    rng = random.Random(seed)
    syllables = ["ka", "lo", "mir", "ten", "vos", "rai", "dun", "pel", "sor", "qui", "bar", "nek"]
    out = []
    for i in range(n):
        a, b = ("".join(rng.choices(syllables, k=3)) for _ in range(2))
        date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        out.append(ask(TEMPLATE.format(a=a, b=b, date=date), f"t{i}", city=a, days=rng.randint(1, 9)))
    return out


def work(dialogs: list[Dialog]) -> int:
    dedup = Deduper()
    for d in dialogs:
        dedup.check_and_add(d, str(d.meta.id))
    return dedup.stats.scanned + dedup.stats.compared


def test_work_on_templated_text_grows_linearly_not_quadratically() -> None:
    small, large = work(templated(300)), work(templated(1200))
    assert large < 6 * small  # all pairs would be 16x: every sibling shares the template's LSH buckets


def test_a_near_copy_of_an_old_dialog_is_caught_behind_many_siblings() -> None:
    dialogs = templated(400)
    dedup = Deduper()
    for d in dialogs:
        dedup.check_and_add(d, str(d.meta.id))
    first = dialogs[0].messages[0].content or ""
    found = dedup.check(ask(first.replace("economy", "business"), "x", city="Paris", days=1))
    assert found is not None and found.code == "dedup.near" and found.evidence["duplicate_of"] == "t0"
