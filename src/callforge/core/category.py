"""BFCL's test categories as an explicit enum, so dispatch never depends on substrings of names."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator


class CategoryKind(StrEnum):
    """What a category asks of the model; decides which checker scores it."""

    SIMPLE = "simple"
    MULTIPLE = "multiple"
    PARALLEL = "parallel"
    PARALLEL_MULTIPLE = "parallel_multiple"
    IRRELEVANCE = "irrelevance"
    RELEVANCE = "relevance"
    MULTI_TURN = "multi_turn"


class CategoryGroup(StrEnum):
    """BFCL's score groups (the columns of its overall table)."""

    NON_LIVE = "non_live"
    LIVE = "live"
    HALLUCINATION = "hallucination"
    MULTI_TURN = "multi_turn"
    AGENTIC = "agentic"


class Language(StrEnum):
    """The call syntax a category's prompting outputs are written in."""

    PYTHON = "python"
    JAVA = "java"
    JAVASCRIPT = "javascript"


class Category(StrEnum):
    """A BFCL v4 single- or multi-turn category; `.kind`, `.group` and `.language` describe it."""

    SIMPLE_PYTHON = "simple_python"
    SIMPLE_JAVA = "simple_java"
    SIMPLE_JAVASCRIPT = "simple_javascript"
    MULTIPLE = "multiple"
    PARALLEL = "parallel"
    PARALLEL_MULTIPLE = "parallel_multiple"
    IRRELEVANCE = "irrelevance"
    LIVE_SIMPLE = "live_simple"
    LIVE_MULTIPLE = "live_multiple"
    LIVE_PARALLEL = "live_parallel"
    LIVE_PARALLEL_MULTIPLE = "live_parallel_multiple"
    LIVE_IRRELEVANCE = "live_irrelevance"
    LIVE_RELEVANCE = "live_relevance"
    MULTI_TURN_BASE = "multi_turn_base"
    MULTI_TURN_MISS_FUNC = "multi_turn_miss_func"
    MULTI_TURN_MISS_PARAM = "multi_turn_miss_param"
    MULTI_TURN_LONG_CONTEXT = "multi_turn_long_context"

    @property
    def kind(self) -> CategoryKind:
        """Which checker applies."""
        return _INFO[self][0]

    @property
    def group(self) -> CategoryGroup:
        """Which BFCL score group the category counts towards."""
        return _INFO[self][1]

    @property
    def language(self) -> Language:
        """Call syntax of prompting outputs for this category."""
        return _INFO[self][2]

    @property
    def has_ground_truth(self) -> bool:
        """Whether BFCL ships a possible_answer file for this category."""
        return self.kind not in (CategoryKind.IRRELEVANCE, CategoryKind.RELEVANCE)

    @classmethod
    def parse(cls, name: str) -> Category:
        """Look a category up by name, with an error that lists the valid names."""
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown BFCL category {name!r}; valid categories: {valid}") from None


_P, _J, _JS = Language.PYTHON, Language.JAVA, Language.JAVASCRIPT
_INFO: dict[Category, tuple[CategoryKind, CategoryGroup, Language]] = {
    Category.SIMPLE_PYTHON: (CategoryKind.SIMPLE, CategoryGroup.NON_LIVE, _P),
    Category.SIMPLE_JAVA: (CategoryKind.SIMPLE, CategoryGroup.NON_LIVE, _J),
    Category.SIMPLE_JAVASCRIPT: (CategoryKind.SIMPLE, CategoryGroup.NON_LIVE, _JS),
    Category.MULTIPLE: (CategoryKind.MULTIPLE, CategoryGroup.NON_LIVE, _P),
    Category.PARALLEL: (CategoryKind.PARALLEL, CategoryGroup.NON_LIVE, _P),
    Category.PARALLEL_MULTIPLE: (CategoryKind.PARALLEL_MULTIPLE, CategoryGroup.NON_LIVE, _P),
    Category.IRRELEVANCE: (CategoryKind.IRRELEVANCE, CategoryGroup.HALLUCINATION, _P),
    Category.LIVE_SIMPLE: (CategoryKind.SIMPLE, CategoryGroup.LIVE, _P),
    Category.LIVE_MULTIPLE: (CategoryKind.MULTIPLE, CategoryGroup.LIVE, _P),
    Category.LIVE_PARALLEL: (CategoryKind.PARALLEL, CategoryGroup.LIVE, _P),
    Category.LIVE_PARALLEL_MULTIPLE: (CategoryKind.PARALLEL_MULTIPLE, CategoryGroup.LIVE, _P),
    Category.LIVE_IRRELEVANCE: (CategoryKind.IRRELEVANCE, CategoryGroup.HALLUCINATION, _P),
    Category.LIVE_RELEVANCE: (CategoryKind.RELEVANCE, CategoryGroup.LIVE, _P),
    Category.MULTI_TURN_BASE: (CategoryKind.MULTI_TURN, CategoryGroup.MULTI_TURN, _P),
    Category.MULTI_TURN_MISS_FUNC: (CategoryKind.MULTI_TURN, CategoryGroup.MULTI_TURN, _P),
    Category.MULTI_TURN_MISS_PARAM: (CategoryKind.MULTI_TURN, CategoryGroup.MULTI_TURN, _P),
    Category.MULTI_TURN_LONG_CONTEXT: (CategoryKind.MULTI_TURN, CategoryGroup.MULTI_TURN, _P),
}

SINGLE_TURN: tuple[Category, ...] = tuple(c for c in Category if c.kind is not CategoryKind.MULTI_TURN)
"""Every category but the multi-turn ones, which run on BFCL's simulators; what a live run does by default."""


CATEGORY_SETS: dict[str, tuple[Category, ...]] = {
    "all": tuple(Category),
    "single_turn": SINGLE_TURN,
    **{group.value: tuple(c for c in Category if c.group is group) for group in CategoryGroup if group is not CategoryGroup.AGENTIC},
}
"""Names that stand for several categories where categories are asked for: BFCL's groups, `single_turn`, `all`."""


def expand_categories(names: Iterable[Category | str]) -> tuple[Category, ...]:
    """Categories from names, where a group name (`multi_turn`, `live`, `all`, ...) stands for its members, duplicates dropped."""
    found: dict[Category, None] = {}
    for name in names:
        if isinstance(name, Category):
            found[name] = None
        elif name in CATEGORY_SETS:
            found.update(dict.fromkeys(CATEGORY_SETS[name]))
        else:
            try:
                found[Category(name)] = None
            except ValueError:
                valid = ", ".join(c.value for c in Category)
                sets = ", ".join(CATEGORY_SETS)
                raise ValueError(
                    f"unknown BFCL category {name!r}; valid categories: {valid}; or one of the sets: {sets}"
                ) from None
    return tuple(found)


def _categories(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return expand_categories(value)
    return value


Categories = Annotated[tuple[Category, ...] | None, BeforeValidator(_categories)]
"""A config field naming categories: one name, names (group names such as `multi_turn` expand), or Category members (None: the default set)."""
