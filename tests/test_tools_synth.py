"""API pool synthesis: drafts, validation, evolution, dedup, determinism, resume and the pool file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from callforge.core import ConfigError, ToolSpec
from callforge.llm.backend import BackendError
from callforge.llm.cache import CachedBackend, ResponseCache
from callforge.llm.scripted import FunctionBackend, Request
from callforge.tools import load_tools
from callforge.tools.synth import (
    ApiDraft,
    ApiIndex,
    DraftField,
    PoolSynthesizer,
    check_draft,
    check_schema,
    features,
    synthesize_pool_async,
    to_toolspec,
)
from tests.synth_world import user_text as _user
from tests.synth_world import world


def _run(backend: Any, n: int, **kwargs: Any) -> Any:
    synth_kwargs = {
        k: kwargs.pop(k) for k in ("seed", "evolve_rate", "similarity", "concurrency") if k in kwargs
    }
    return asyncio.run(PoolSynthesizer(backend, **synth_kwargs).run(n, **kwargs))


def test_pool_reaches_n_with_valid_unique_schemas() -> None:
    backend = FunctionBackend(world)
    pool = _run(backend, 8, domains=["finance", "travel"], evolve_rate=0.0)
    assert len(pool.tools) == 8
    assert len({t.name for t in pool.tools}) == 8
    for tool in pool.tools:
        Draft202012Validator.check_schema(tool.parameters)
        Draft202012Validator.check_schema(tool.returns)
        assert tool.source == "synthesized" and tool.domain in ("finance", "travel")
    report = pool.report
    assert report.kept == 8 and report.requested == 8
    assert report.domains == {
        "finance": 5,
        "travel": 3,
    }  # round-robin: travel lost its broken draft and its repeat
    # the broken draft fails validation and the repeat is caught by dedup
    assert report.invalid == {
        "pool.description": 1
    }  # its first problem; the name was only camelCase, which is fixed
    assert report.duplicates == {"dedup.name": 1}
    assert {"enum", "default", "array_of_objects"} <= set(report.features)
    assert report.requests == backend.requests.__len__()
    assert 0 < report.schema_validity < 1


def test_draft_prompts_carry_a_feature_plan_and_the_domain() -> None:
    backend = FunctionBackend(world)
    _run(backend, 3, domains=["weather"], evolve_rate=0.0)
    drafts = [r for r in backend.requests if "Functionality:" in _user(r)]
    assert drafts and all("Domain: weather (forecasts" in _user(r) and "Include " in _user(r) for r in drafts)
    assert all(r.options.json_schema is not None for r in backend.requests)


def test_evolution_keeps_the_name_and_adds_what_it_was_asked() -> None:
    pool = _run(FunctionBackend(world), 4, domains=["finance"], evolve_rate=1.0)
    assert sum(pool.report.evolved.values()) == 4
    for tool in pool.tools:
        assert tool.name.startswith("get_finance_task")
        assert tool.properties["page_size"] == {
            "description": "results per page",
            "type": "integer",
            "minimum": 1,
            "maximum": 50,
            "default": 10,
        }


def test_same_seed_same_pool_whatever_the_concurrency() -> None:
    one = _run(
        FunctionBackend(world),
        10,
        domains=["finance", "travel", "weather"],
        seed=3,
        concurrency=1,
        evolve_rate=0.5,
    )
    four = _run(
        FunctionBackend(world),
        10,
        domains=["finance", "travel", "weather"],
        seed=3,
        concurrency=4,
        evolve_rate=0.5,
    )
    assert one.tools == four.tools


def test_more_rounds_of_functionalities_when_the_first_is_not_enough() -> None:
    pool = _run(FunctionBackend(world), 5, domains=["finance"], evolve_rate=0.0)
    # 5 needed x 1.5 overdraft = 8 functionalities in round one: enough; ask for 20 to force a second round
    big = _run(FunctionBackend(world), 40, domains=["finance"], evolve_rate=0.0)
    assert len(pool.tools) == 5
    assert len(big.tools) == 40
    assert any(t.name.startswith("get_more_finance") for t in big.tools)


def test_expansion_adds_new_domains_only() -> None:
    pool = _run(FunctionBackend(world), 6, domains=["finance"], expand=2, evolve_rate=0.0)
    assert [d.name for d in pool.domains] == ["finance", "space_travel"]
    assert set(pool.report.domains) == {"finance", "space_travel"}


def test_killed_run_resumes_from_the_cache_without_new_requests(tmp_path: Path) -> None:
    calls = {"n": 0}

    def dying(request: Request) -> str:
        calls["n"] += 1
        if calls["n"] > 6:
            raise BackendError("connection lost", model="world")
        return world(request)

    cache = tmp_path / "cache.sqlite"
    with pytest.raises(BackendError):
        _run(
            CachedBackend(FunctionBackend(dying), ResponseCache(cache)),
            6,
            domains=["finance", "travel"],
            evolve_rate=0.3,
        )
    fresh = FunctionBackend(world)
    resumed = _run(
        CachedBackend(fresh, ResponseCache(cache)), 6, domains=["finance", "travel"], evolve_rate=0.3
    )
    reference = _run(FunctionBackend(world), 6, domains=["finance", "travel"], evolve_rate=0.3)
    assert resumed.tools == reference.tools
    assert (
        len(fresh.requests) == reference.report.requests - 6
    )  # the six answered before the kill are replayed
    assert resumed.report.cached_requests == 6


def test_pool_file_round_trips_through_load_tools(tmp_path: Path) -> None:
    out = tmp_path / "pool.json"
    pool = asyncio.run(
        synthesize_pool_async(n=4, model=FunctionBackend(world), domains=["finance"], out=out, evolve_rate=0.0)
    )
    document = json.loads(out.read_text())
    assert document["format"] == "callforge.pool/1" and document["report"]["kept"] == 4
    assert document["report"]["domain_descriptions"]["finance"].startswith("banking")
    assert tuple(load_tools(out)) == pool.tools


def test_bad_pool_file_names_the_tool_and_field(tmp_path: Path) -> None:
    out = tmp_path / "pool.json"
    out.write_text(
        json.dumps({"format": "callforge.pool/1", "tools": [{"name": "a"}, {"name": "b", "parameters": 3}]})
    )
    with pytest.raises(Exception, match=r"\$\.tools\[1\]\.parameters") as info:
        load_tools(out)
    assert "pool.json" in str(info.value)


@pytest.mark.parametrize(
    ("field", "code"),
    [
        (DraftField(name="n", type="integer", description="a count", enum=("a", "b")), "pool.enum"),
        (DraftField(name="n", type="string", description="a mode", enum=("a",)), "pool.enum"),
        (DraftField(name="n", type="integer", description="a count", default="ten"), "pool.default"),
        (
            DraftField(name="n", type="string", description="a mode", enum=("a", "b"), default="c"),
            "pool.default",
        ),
        (DraftField(name="n", type="number", description="a price", minimum=5, maximum=1), "pool.bounds"),
        (DraftField(name="n", type="string", description="a code", minimum=1), "pool.bounds"),
        (DraftField(name="n", type="string", description="a code", pattern="(["), "pool.pattern"),
        (DraftField(name="n", type="integer", description="a count", format="date"), "pool.format"),
        (DraftField(name="n", type="object", description="an object"), "pool.empty_object"),
        (DraftField(name="n", type="string", description="x"), "pool.field_description"),
        (DraftField(name="Bad Name", type="string", description="a name"), "pool.field_name"),
    ],
)
def test_each_validation_rule(field: DraftField, code: str) -> None:
    good = DraftField(name="ok", type="string", description="a fine field")
    draft = ApiDraft(
        name="get_thing", description="Return the thing for an id.", parameters=(good, field), returns=(good,)
    )
    assert [v.code for v in check_draft(draft)] == [code]


def test_a_clean_draft_converts_to_a_valid_tool_with_its_features() -> None:
    draft = ApiDraft(
        name="search_flights",
        description="Find flights between two airports on a date.",
        parameters=(
            DraftField(
                name="origin", type="string", description="IATA code", required=True, pattern="^[A-Z]{3}$"
            ),
            DraftField(name="date", type="string", description="travel date", required=True, format="date"),
            DraftField(
                name="max_stops", type="integer", description="stops allowed", minimum=0, maximum=3, default=1
            ),
            DraftField(
                name="passengers",
                type="array<object>",
                description="who flies",
                fields=(DraftField(name="age", type="integer", description="age in years", required=True),),
            ),
        ),
        returns=(DraftField(name="flights", type="array<string>", description="flight numbers"),),
    )
    assert check_draft(draft) == []
    tool = to_toolspec(draft, domain="travel")
    assert check_schema(tool) == []
    assert tool.required == ["origin", "date"]
    assert tool.properties["max_stops"] == {
        "description": "stops allowed",
        "type": "integer",
        "minimum": 0,
        "maximum": 3,
        "default": 1,
    }
    assert tool.properties["passengers"]["items"]["required"] == ["age"]
    assert features(tool) == {"pattern", "format", "bounds", "default", "array_of_objects"}


def test_index_finds_reworded_duplicates_but_not_different_apis() -> None:
    index = ApiIndex(0.6)
    index.add(
        ToolSpec(
            name="get_weather_forecast", description="Get the weather forecast for a city for the next days."
        )
    )
    near = ToolSpec(
        name="fetch_weather_forecast", description="Fetch the weather forecasts of a city for next days."
    )
    other = ToolSpec(
        name="book_hotel_room", description="Reserve a hotel room in a city for the given nights."
    )
    assert index.check(near).code == "dedup.description"  # type: ignore[union-attr]
    assert index.check(other) is None
    assert index.check(ToolSpec(name="get_weather_forecast")).code == "dedup.name"  # type: ignore[union-attr]


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="evolve_rate"):
        PoolSynthesizer(FunctionBackend(world), evolve_rate=2)
    with pytest.raises(ConfigError, match="`n` must be"):
        _run(FunctionBackend(world), 0)


def test_the_shipped_real_pool_is_valid_and_varied() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "pools" / "synth-200.json"
    tools = load_tools(path)
    assert len(tools) == len({t.name for t in tools}) == 200
    assert all(check_schema(t) == [] for t in tools)
    assert len({t.domain for t in tools}) >= 30
    used = set().union(*(features(t) for t in tools))
    assert {"enum", "default", "format", "bounds", "nested_object", "array_of_objects"} <= used
    report = json.loads(path.read_text())["report"]
    assert report["kept"] == 200 and report["valid"] >= 200


def test_a_synthesis_is_a_run_folder_beside_the_pool_and_a_rerun_continues_it(tmp_path: Path) -> None:
    out = tmp_path / "pool.json"
    first = asyncio.run(
        synthesize_pool_async(n=5, model=FunctionBackend(world), domains=["finance", "travel"], out=out, evolve_rate=0.0)
    )
    run = tmp_path / "pool.json.run"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["job"] == "synth" and manifest["status"] == "complete" and manifest["config"]["n"] == 5
    drafts = [json.loads(line) for shard in sorted((run / "drafts").glob("part-*.jsonl")) for line in shard.read_text().splitlines()]
    assert len(drafts) == first.report.drafts and sum(1 for d in drafts if d["tool"]) >= 5
    # the same arguments again: every draft is on disk, so nothing is asked and the pool is the same
    again_backend = FunctionBackend(world)
    again = asyncio.run(
        synthesize_pool_async(n=5, model=again_backend, domains=["finance", "travel"], out=out, evolve_rate=0.0)
    )
    assert again.tools == first.tools
    assert again_backend.requests == []  # the pool was full from the drafts on disk: nothing asked again
    with pytest.raises(ConfigError, match="`seed` was 0, now 1"):
        asyncio.run(
            synthesize_pool_async(n=5, model=FunctionBackend(world), domains=["finance", "travel"], out=out, seed=1)
        )
