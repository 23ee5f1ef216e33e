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
from callforge.verify.judge.percall import (
    MAX_ARGUMENT_QUESTIONS,
    Questioner,
    fixed_questions,
    per_call_questions,
)
from callforge.verify.judge.prompt import (
    QUESTIONS,
    Applies,
    DialogShape,
    JudgeQuestion,
    answer_schema,
    applicable_questions,
    dialog_shape,
    doubt_question,
    render_prompt,
)
from callforge.verify.judge.reference import DISAGREES, ReferenceJudge, compare_calls

__all__ = [
    "DISAGREES",
    "MAX_ARGUMENT_QUESTIONS",
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
    "Questioner",
    "ReferenceJudge",
    "answer_schema",
    "applicable_questions",
    "compare_calls",
    "dialog_shape",
    "doubt_question",
    "fixed_questions",
    "parse_answer",
    "per_call_questions",
    "render_prompt",
]
