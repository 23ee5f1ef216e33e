"""The fake OpenAI server under the name tests and benchmarks use; the code lives in `callforge.llm.fake`.

`python -m callforge.llm.fake_server --port 0 ...` runs its CLI.
"""

from callforge.llm.fake import *  # noqa: F403
from callforge.llm.fake import __all__ as __all__
from callforge.llm.fake.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main())
