"""Embedding similarity for the tool graph: field names compared by meaning, with a model you supply.

The lexical default (`graph.name_similarity`) matches `lat`/`latitude` and `flights[].id`/
`flight_id`, but not `town`/`city` or `zip`/`postal_code`; a sentence-embedding model does, as
DiGiT scores its graph. Plug one in with `ToolGraph.build(tools, similarity=...)`.

`EmbeddingSimilarity` takes any function from texts to vectors, so tests and other libraries can
drive it. `sentence_transformer_similarity(model)` builds one from the optional
sentence-transformers package and a model folder (or a model already in the Hugging Face cache):
callforge neither depends on the package nor downloads weights.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

from callforge.core import ConfigError
from callforge.tools.graph import _expand, _tokens

Embedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
"""Texts in, one vector per text out (any length, the same for all)."""


def phrase(name: str) -> str:
    """A field name as the words a model knows: `maxPricePerNight` → "max price per night", `lat` → "latitude"."""
    return " ".join(_expand(t) for t in _tokens(name)) or name


class EmbeddingSimilarity:
    """Cosine similarity of embedded names, negative values read as 0: a `BatchNameScorer`.

    `ToolGraph.build` calls `prepare` once with every name it will compare, so the model embeds
    them in batches of `batch_size`, not one request per pair. A name it was not given is
    embedded on first use. Identical names score 1.
    """

    def __init__(self, embed: Embedder, *, batch_size: int = 256) -> None:
        """Score with vectors from `embed`."""
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size}: embed at least 1 name per batch")
        self.embed = embed
        self.batch_size = batch_size
        self.vectors: dict[str, tuple[float, ...]] = {}

    def prepare(self, names: Sequence[str]) -> None:
        """Embed every name not embedded yet, in batches."""
        missing = sorted({n for n in names if n not in self.vectors})
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            vectors = list(self.embed([phrase(n) for n in batch]))
            if len(vectors) != len(batch):
                raise ConfigError(
                    f"the embedder returned {len(vectors)} vectors for {len(batch)} texts; it must return one per text"
                )
            for name, vector in zip(batch, vectors, strict=True):
                self.vectors[name] = _unit(vector, name)

    def __call__(self, a: str, b: str) -> float:
        """Cosine similarity of the two names' embeddings, at least 0."""
        if a == b:
            return 1.0
        self.prepare([a, b])
        va, vb = self.vectors[a], self.vectors[b]
        if len(va) != len(vb):
            raise ConfigError(
                f"the embedder gave {a!r} {len(va)} dimensions and {b!r} {len(vb)}; every vector must have the same length"
            )
        return max(0.0, min(1.0, sum(x * y for x, y in zip(va, vb, strict=True))))


def sentence_transformer_similarity(model: str, *, device: str | None = None) -> EmbeddingSimilarity:
    """An EmbeddingSimilarity backed by a sentence-transformers model from local files.

    `model` is a folder saved with `SentenceTransformer.save()` or the name of a model already in
    the Hugging Face cache; nothing is downloaded (`local_files_only`). Raises ConfigError when the
    package is missing or the model cannot be loaded, saying what to install or pass instead.
    """
    if not model.strip():
        raise ConfigError(
            "no embedding model given: pass the path of a local sentence-transformers model folder,"
            " e.g. --embeddings ./models/all-MiniLM-L6-v2"
        )
    try:
        library: Any = importlib.import_module("sentence_transformers")
    except ImportError:
        raise ConfigError(
            "embedding similarity needs the sentence-transformers package, which is not installed:"
            " `pip install sentence-transformers`, then pass a local model folder (callforge downloads no"
            f" weights), e.g. a model saved with SentenceTransformer.save(); asked for {model!r}"
        ) from None
    try:
        loaded = library.SentenceTransformer(model, device=device, local_files_only=True)
    except Exception as exc:  # the library raises OSError, ValueError or its own errors for a bad path
        raise ConfigError(
            f"cannot load the sentence-transformers model {model!r} from local files ({type(exc).__name__}: {exc});"
            " give the path of a folder saved with SentenceTransformer.save(), or the name of a model already"
            " in the Hugging Face cache"
        ) from None

    def embed(texts: Sequence[str]) -> list[list[float]]:
        rows = loaded.encode(list(texts), convert_to_numpy=True, show_progress_bar=False)
        return [[float(x) for x in row] for row in rows]

    return EmbeddingSimilarity(embed)


def _unit(vector: Sequence[float], name: str) -> tuple[float, ...]:
    values = tuple(float(x) for x in vector)
    if not values or any(math.isnan(x) for x in values):
        raise ConfigError(f"the embedder gave {name!r} an empty or NaN vector")
    norm = math.sqrt(sum(x * x for x in values))
    return tuple(x / norm for x in values) if norm else values
