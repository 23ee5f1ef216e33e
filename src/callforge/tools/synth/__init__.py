"""API pool synthesis (ToolACE's approach): grow hundreds of realistic, varied, validated APIs from a domain list.

Taxonomy (seed domains + model expansion) → functionalities per domain → API drafts with a sampled
feature plan → evolution passes → validation → dedup → a pool file. Synthesized tools have no
code; generation plays them with the `simulated` engine. See docs/tools.md, "Synthesizing a pool".
"""

from callforge.tools.synth.api import DEFAULT_SYNTH_MODEL, SynthConfig, synthesize_pool, synthesize_pool_async
from callforge.tools.synth.checks import check_draft, check_schema
from callforge.tools.synth.draft import ApiDraft, DraftField, draft_schema, features, to_toolspec
from callforge.tools.synth.pipeline import DraftRecord, Pool, PoolSynthesizer, SynthReport
from callforge.tools.synth.similar import DEFAULT_SIMILARITY, ApiIndex
from callforge.tools.synth.taxonomy import SEED_DOMAINS, Domain

__all__ = [
    "DEFAULT_SIMILARITY",
    "DEFAULT_SYNTH_MODEL",
    "SEED_DOMAINS",
    "ApiDraft",
    "ApiIndex",
    "Domain",
    "DraftField",
    "DraftRecord",
    "Pool",
    "PoolSynthesizer",
    "SynthConfig",
    "SynthReport",
    "check_draft",
    "check_schema",
    "draft_schema",
    "features",
    "synthesize_pool",
    "synthesize_pool_async",
    "to_toolspec",
]
