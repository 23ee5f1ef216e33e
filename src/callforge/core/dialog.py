"""Dialog: the unit that is generated, verified and exported."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from callforge.core.message import Message
from callforge.core.provenance import MaskReason, Provenance
from callforge.core.tool import ToolSpec


class Dialog(BaseModel):
    """Tools offered plus the messages exchanged, with `meta` saying where it came from (a typed Provenance)."""

    model_config = ConfigDict(frozen=True)

    tools: tuple[ToolSpec, ...] = ()
    messages: tuple[Message, ...] = ()
    meta: Provenance = Field(default_factory=Provenance)

    def masked_calls(self, reason: MaskReason | None = None) -> frozenset[str]:
        """Ids of the calls that must not be learned as good calls (planted failures, corrected mistakes).

        The one answer every stage uses: rules skip them, execution expects the planted ones to
        fail, exports mask them, selection does not ask a model to repeat them.
        """
        return self.meta.masked_ids(reason)
