"""Embedding similarity for the tool graph: the hook, driven by a fake embedder, and clear errors without the package."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import pytest

from callforge.core import ConfigError, ToolSpec
from callforge.tools import ToolGraph
from callforge.tools.graph_embed import EmbeddingSimilarity, phrase, sentence_transformer_similarity

# a tiny "model": each word is an axis, synonyms share one; a phrase is the sum of its words
AXES = {"town": 0, "city": 0, "name": 1, "postal": 2, "zip": 2, "code": 3, "latitude": 4, "population": 5}


class FakeEmbedder:
    """Deterministic vectors from AXES, counting how often and how much it is asked."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        vectors = []
        for text in texts:
            vector = [0.0] * 7
            for word in text.split():
                vector[AXES.get(word, 6)] += 1.0
            vectors.append(vector)
        return vectors


def tool(name: str, params: dict[str, Any], returns: dict[str, Any] | None = None) -> ToolSpec:
    props = {k: {"type": v} for k, v in params.items()}
    return ToolSpec(name=name, parameters={"type": "object", "properties": props}, returns=returns)


def test_phrase_reads_identifiers_as_words() -> None:
    assert phrase("maxPricePerNight") == "max price per night"
    assert phrase("lat") == "latitude"
    assert phrase("zip_codes") == "zip code"
    assert phrase("__") == "__"


def test_similarity_is_the_cosine_of_embedded_names() -> None:
    embed = FakeEmbedder()
    similar = EmbeddingSimilarity(embed, batch_size=2)
    similar.prepare(["town_name", "city_name", "zip", "population", "town_name"])
    assert [len(b) for b in embed.batches] == [2, 2]  # 4 distinct names, 2 per batch
    assert similar("town_name", "city_name") == pytest.approx(1.0)
    assert similar("zip", "postal_code") == pytest.approx(1 / 2**0.5)  # postal_code embedded on first use
    assert similar("population", "zip") == 0.0
    assert similar("x", "x") == 1.0
    assert len(embed.batches) == 3


def test_the_graph_links_synonyms_through_embeddings() -> None:
    town = tool(
        "find_town", {"query": "string"}, {"type": "object", "properties": {"town": {"type": "string"}}}
    )
    weather = tool("get_weather", {"city": "string", "population": "integer"})
    assert ToolGraph.build([town, weather]).edges == ()
    embed = FakeEmbedder()
    graph = ToolGraph.build([town, weather], similarity=EmbeddingSimilarity(embed))
    assert [(e.source, e.target, e.output_path, e.parameter, e.score) for e in graph.edges] == [
        ("find_town", "get_weather", "town", "city", 1.0)
    ]
    assert len(embed.batches) == 1  # every name in one batch, before any pair is scored
    assert sorted(embed.batches[0]) == sorted(phrase(n) for n in ("town", "city", "population", "query"))


def test_a_broken_embedder_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="returned 1 vectors for 2 texts"):
        EmbeddingSimilarity(lambda texts: [[1.0]]).prepare(["a", "b"])
    mixed = EmbeddingSimilarity(lambda texts: [[1.0] * (len(t) % 3 + 1) for t in texts])
    with pytest.raises(ConfigError, match="every vector must have the same length"):
        mixed("ab", "abc")
    with pytest.raises(ConfigError, match="empty or NaN vector"):
        EmbeddingSimilarity(lambda texts: [[] for _ in texts]).prepare(["a"])
    with pytest.raises(ConfigError, match="batch_size=0"):
        EmbeddingSimilarity(FakeEmbedder(), batch_size=0)


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None, reason="sentence-transformers is installed"
)
def test_without_sentence_transformers_the_error_says_what_to_install() -> None:
    with pytest.raises(ConfigError) as info:
        sentence_transformer_similarity("./models/all-MiniLM-L6-v2")
    message = str(info.value)
    assert "pip install sentence-transformers" in message
    assert "local model folder" in message and "./models/all-MiniLM-L6-v2" in message


def test_an_empty_model_name_is_refused_before_any_import() -> None:
    with pytest.raises(ConfigError, match="no embedding model given"):
        sentence_transformer_similarity("  ")
