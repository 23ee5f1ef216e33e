"""`direct`: one request per step, its reply taken as it is: what `callforge eval` measures."""

from __future__ import annotations

from callforge.agent.strategy import Step, StepContext, reply


class Direct:
    """Ask the model once and take its reply: calls to run, or the answer.

    The baseline every other strategy is measured against; it costs one request per step.
    """

    name = "direct"

    async def step(self, context: StepContext) -> Step:
        """The model's next message, unchecked."""
        return Step((reply(await context.complete(context.messages)),))
