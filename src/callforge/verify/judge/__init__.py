"""The LLM judge: the last layer of the verification cascade (rules, then execution, then the judge).

`LLMJudge` asks a model decomposed questions about a dialog (grounded arguments, intent, tool
outputs, a faithful answer, or whether a no-call was right) and turns each failing one into a
Verdict with a stable `judge.*` code.
"""

from callforge.verify.judge.judge import (
    NO_ANSWER,
    Ballot,
    LLMJudge,
    NoAnswerPolicy,
    ParsedAnswer,
    QuestionAnswer,
    parse_answer,
)
from callforge.verify.judge.prompt import (
    QUESTIONS,
    Applies,
    DialogShape,
    JudgeQuestion,
    answer_schema,
    applicable_questions,
    dialog_shape,
    render_prompt,
)

__all__ = [
    "NO_ANSWER",
    "QUESTIONS",
    "Applies",
    "Ballot",
    "DialogShape",
    "JudgeQuestion",
    "LLMJudge",
    "NoAnswerPolicy",
    "ParsedAnswer",
    "QuestionAnswer",
    "answer_schema",
    "applicable_questions",
    "dialog_shape",
    "parse_answer",
    "render_prompt",
]
