"""A rule-based fake model for pool synthesis tests: answers each synthesis prompt from its text.

Functionalities named "...broken..." draft an invalid API; "...again..." repeat another API's name
(a duplicate); evolution adds a bounded optional parameter and tries to rename the API.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from callforge.llm.scripted import Request
from callforge.tools.synth.draft import snake_case

_WORDS = [
    "apple",
    "bridge",
    "candle",
    "dragon",
    "engine",
    "forest",
    "garden",
    "harbor",
    "island",
    "jungle",
    "kettle",
    "lantern",
    "meadow",
    "needle",
    "orchard",
    "pepper",
    "quartz",
    "river",
    "saddle",
    "timber",
    "umbrella",
    "velvet",
    "walnut",
    "yogurt",
    "zephyr",
    "anchor",
    "basket",
    "canyon",
    "desert",
    "ember",
    "falcon",
    "glacier",
    "hammer",
    "ivory",
    "jasmine",
    "kayak",
    "lemon",
    "marble",
    "nectar",
    "oyster",
    "pebble",
    "quiver",
    "ribbon",
    "spruce",
    "tulip",
    "violet",
    "willow",
    "yarrow",
    "zinnia",
    "acorn",
    "bamboo",
    "cactus",
]


def user_text(request: Request) -> str:
    return request.messages[-1].content or ""


def _system(request: Request) -> str:
    return request.messages[0].content or ""


def world(request: Request) -> str:
    """Answer a synthesis request (a callforge Request)."""
    return answer(_system(request), user_text(request))


def world_policy(request_json: dict[str, Any]) -> str:
    """Answer a synthesis request as the fake OpenAI server receives it."""
    messages = request_json["messages"]
    return answer(messages[0]["content"], messages[-1]["content"])


def answer(system: str, text: str) -> str:
    """The reply to one synthesis prompt, deterministically."""
    if "catalogue has these domains" in text:
        return json.dumps(
            {
                "domains": [
                    {"name": "Space Travel", "description": "rockets"},
                    {"name": "finance", "description": "dup"},
                ]
            }
        )
    if "functionalities" in system:
        domain = re.search(r"Domain: (\w+)", text).group(1)  # type: ignore[union-attr]
        round_marker = "more " if "Already covered" in text else ""
        count = int(re.search(r"List (\d+)", text).group(1))  # type: ignore[union-attr]
        items = [f"{round_marker}{domain} task {i}" for i in range(count)]
        if domain == "travel" and not round_marker:
            items[1] = "broken travel thing"
            items[2] = "travel task 0 again"
        return json.dumps({"functionalities": items})
    if text.startswith("API: "):
        api = json.loads(text[len("API: ") : text.index("\nInstruction:")])
        api["parameters"].append(
            {
                "name": "page_size",
                "type": "integer",
                "description": "results per page",
                "default": 10,
                "minimum": 1,
                "maximum": 50,
            }
        )
        api["name"] = "renamedByEvolution"
        return json.dumps(api)
    functionality = re.search(r"Functionality: (.+)\.\n", text).group(1)  # type: ignore[union-attr]
    if "broken" in functionality:
        return json.dumps(
            {
                "name": "brokenApi",
                "description": "x",
                "parameters": [{"name": "a", "type": "object", "description": "an a"}],
                "returns": [],
            }
        )
    base = functionality.replace(" again", "")
    name = "get_" + snake_case(base)
    words = random.Random(base).sample(_WORDS, 5)
    return json.dumps(
        {
            "name": name,
            "description": f"Handles {base} with {' '.join(words)}.",
            "parameters": [
                {
                    "name": "record_id",
                    "type": "string",
                    "description": "the record identifier",
                    "required": True,
                },
                {
                    "name": "mode",
                    "type": "string",
                    "description": "how much to return",
                    "enum": ["short", "full"],
                    "default": "short",
                },
                {
                    "name": "filters",
                    "type": "array<object>",
                    "description": "conditions to apply",
                    "fields": [
                        {"name": "field", "type": "string", "description": "the field", "required": True}
                    ],
                },
            ],
            "returns": [{"name": "state", "type": "string", "description": "the state"}],
        }
    )
