"""BFCL's decoding of JavaScript call text, and its JS value conversion, reproduced without tree-sitter.

For `simple_javascript` BFCL asks prompting models for a call such as
`[fetchData(url="https://x", retries=3, headers={accept: "json"})]`. Its decoder strips `` ` ``,
newlines and spaces from both ends, makes sure the text starts with `[` and ends with `]`, drops
those two characters and parses the rest with tree-sitter-javascript. These are the rules it ends
up applying, all reproduced here because they decide verdicts:

* The text must parse as JavaScript (statements end at `;`, a line break or the end, by automatic
  semicolon insertion); any ERROR node in the tree fails the decode. A `]`, `}` or `)` left open
  just before the closer of the enclosing bracket is supplied as a MISSING token, so
  `[f(a=[1, 2)]` decodes, to `"[1, 2"`. Where a `;` is missing on one line tree-sitter weighs
  supplying it against skipping a token; the measured outcome is reproduced (see `_terminate`).
* The call is the first top-level expression statement that is itself a call; its name is the
  source text of the callee. `f(a), g(b)` (one sequence expression), `x = f(a)`, `await f(a)` or
  no statement at all give None. A call through `?.(` or a tagged template has no arguments.
* Only `name=value` arguments are kept, the value as its exact source text, minus one pair of
  surrounding quotes when it starts and ends with the same quote character (so `"a" + "b"`
  becomes `a" + "b`). A bare identifier or `true` goes under the key None; two of them, or a
  repeated name, fail the decode. Other positional arguments vanish.

`convert_javascript` is BFCL's `js_type_converter`: the checker converts each value by the
parameter's schema type before its ordinary type and value checks.
"""

from __future__ import annotations

import re
from typing import Any, Final

from callforge.core import DecodeError
from callforge.evaluate.decode.python import bracketed
from callforge.evaluate.lang._cursor import TokenCursor
from callforge.evaluate.lang.quick import quick_call

JS_TYPES: Final[dict[str, type]] = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}
"""BFCL's JS_TYPE_CONVERSION: the Python type a converted value of each schema type must have."""


def decode_javascript(text: str) -> Any:
    """Decode a prompting model's raw JavaScript output exactly as BFCL's JS decoder would.

    Returns `[{name: {param: value}}]` with every value as source text (see the module
    docstring), with a bare positional identifier under the key None, or None when no top-level
    statement is a call (BFCL then reports a wrong output format). Raises DecodeError wherever
    BFCL's decoder raises, so the caller can report `ast_decoder:decoder_failed`.
    """
    text = bracketed(text)
    quick = quick_call(text[1:-1], java=False)
    if quick is not None:
        return quick
    try:
        parser = _Parser(text[1:-1])
        parser.program()
        return parser.result()
    except RecursionError:
        raise DecodeError("the JavaScript text is nested too deeply to decode") from None


# ---------------------------------------------------------------------------------------------
# Tokens

_COMMENT, _STR, _NUM, _WORD, _OP, _REGEX, _TEMPLATE, _JSX = range(8)

_ESCAPE = r"\\(?:[^xu0-7]|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|u\{[0-9a-fA-F]+\})"
_TOKEN: Final = re.compile(
    rf"""
    (?P<ws>[\s\ufeff]+)
  | (?P<comment>//[^\n\r\u2028\u2029]*|/\*[\s\S]*?\*/)
  | (?P<str>"(?:[^"\\\n\r]|{_ESCAPE})*(?:[\n\r]\s*)?"|'(?:[^'\\\n\r]|{_ESCAPE})*(?:[\n\r]\s*)?')
  | (?P<num>\d(?:_?\d)*n
        |(?:0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[bB][01](?:_?[01])*|0[oO][0-7](?:_?[0-7])*)n?
        |(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)
  | (?P<word>\#?(?:[^\W\d]|\$)(?:\w|\$|\u200c|\u200d)*)
  | (?P<op>>>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|&&=|\|\|=|\?\?=|=>|==|!=|<=|>=|&&|\|\||\?\?
        |\?\.(?!\d)|\+\+|--|\+=|-=|\*=|%=|&=|\|=|\^=|\*\*|<<|>>|[{{}}()\[\];,<>+\-*%&|^!~?:=.@])
    """,
    re.VERBOSE,
)
_DIVISION: Final = re.compile(r"/=?")
_REGEX_LITERAL: Final = re.compile(
    r"/(?![*/])(?:[^/\\\[\n\r]|\\[^\n\r]|\[(?:[^\]\\\n\r]|\\[^\n\r])*\])+/[a-zA-Z]*"
)
_JSX_START: Final = re.compile(r"[A-Za-z_$>]")
_JSX_NAME: Final = re.compile(r"[A-Za-z_$][\w$-]*(?:[.:][A-Za-z_$][\w$-]*)*")
_JSX_ENTITY: Final = re.compile(r"&(?:#x[0-9a-fA-F]+|#\d+|[A-Za-z][A-Za-z0-9]*);")
_JSX_STRING: Final = re.compile(r"\"[^\"]*\"|'[^']*'")
_GROUP_KIND: Final = {"comment": _COMMENT, "str": _STR, "num": _NUM, "word": _WORD, "op": _OP}
_LINE_BREAKS: Final = ("\n", "\r", "\u2028", "\u2029")

# After these a `/` starts a regular expression rather than a division.
_REGEX_AFTER_WORDS: Final = frozenset(
    {"return", "typeof", "case", "do", "else", "in", "instanceof", "new", "delete", "void", "throw", "yield",
     "await"}
)  # fmt: skip
# After these a `<` may open a JSX element; other words there are identifiers for tree-sitter.
_JSX_AFTER_WORDS: Final = frozenset({"return", "typeof", "void", "delete", "throw", "yield", "await"})
_VALUE_WORDS: Final = frozenset({"this", "super", "null", "true", "false"})
# Keywords that may start an expression, hence are keywords (not identifiers) there.
_EXPRESSION_KEYWORDS: Final = frozenset(
    {"function", "class", "new", "this", "super", "typeof", "void", "delete", "await", "yield",
     "true", "false", "null", "import"}
)  # fmt: skip
# Statements this decoder does not model: the decode fails on them.
_UNSUPPORTED_STATEMENTS: Final = frozenset(
    {"if", "for", "while", "do", "try", "switch", "throw", "break", "continue", "import",
     "export", "debugger", "with"}
)  # fmt: skip
_ASSIGN_OPS: Final = frozenset(
    {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^=", "&&=", "||=", "??="}
)
_ASSIGNABLE: Final = frozenset({"ident", "undefined", "member", "subscript", "array", "object", "paren"})
_BINARY_PRECEDENCE: Final = {
    "??": 1, "||": 2, "&&": 3, "|": 4, "^": 5, "&": 6,
    "==": 7, "!=": 7, "===": 7, "!==": 7,
    "<": 8, ">": 8, "<=": 8, ">=": 8, "instanceof": 8, "in": 8,
    "<<": 9, ">>": 9, ">>>": 9, "+": 10, "-": 10, "*": 11, "/": 11, "%": 11, "**": 12,
}  # fmt: skip
_CLOSERS: Final = {"(": ")", "[": "]", "{": "}"}
# A short first statement without `;` is wrapped in ERROR when this, plus 30 per line, is not exceeded.
_CHEAP_ERROR_BYTES: Final = 10


class _Tokens:
    """The token stream: parallel lists, plus the substitution spans of each template literal."""

    def __init__(self) -> None:
        self.kinds: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.substitutions: dict[int, list[tuple[int, int]]] = {}
        self.unclosed: set[int] = set()  # template literals closed by a MISSING backtick


def _lex(src: str, pos: int, tokens: _Tokens, *, nested: bool) -> int:
    """Tokenize from `pos`; when `nested`, stop at the `}` closing a template substitution."""
    size, match = len(src), _TOKEN.match
    regex_ok = jsx_ok = True
    depth = 0
    while pos < size:
        char = src[pos]
        if char == "`":
            kind, end = _TEMPLATE, _template_end(src, pos, tokens)
        elif char == "<" and jsx_ok and _JSX_START.match(src, pos + 1):
            kind, end = _JSX, _Jsx(src, tokens).element(pos)
        elif char == "/" and not src.startswith(("//", "/*"), pos):
            found = (_REGEX_LITERAL if regex_ok else _DIVISION).match(src, pos)
            if found is None:
                raise DecodeError(f"not JavaScript: unterminated regular expression at offset {pos}")
            kind, end = (_REGEX if regex_ok else _OP), found.end()
        else:
            found = match(src, pos)
            if found is None:
                raise DecodeError(f"not JavaScript: unexpected character {char!r} at offset {pos}")
            end = found.end()
            group = found.lastgroup or "ws"
            if group == "ws":
                pos = end
                continue
            kind = _GROUP_KIND[group]
            if nested and kind == _OP and char in "{}":
                if char == "}" and depth == 0:
                    return pos
                depth += 1 if char == "{" else -1
        if kind != _COMMENT:
            if kind == _WORD:
                regex_ok = src[pos:end] in _REGEX_AFTER_WORDS
                jsx_ok = src[pos:end] in _JSX_AFTER_WORDS
            else:
                regex_ok = jsx_ok = kind == _OP and src[pos:end] not in (")", "]", "}", "++", "--")
        tokens.kinds.append(kind)
        tokens.starts.append(pos)
        tokens.ends.append(end)
        pos = end
    if nested:
        raise DecodeError("not JavaScript: unterminated template substitution")
    return pos


class _Jsx:
    """Scans a JSX element (tree-sitter-javascript parses JSX); records its `{...}` spans."""

    def __init__(self, src: str, tokens: _Tokens) -> None:
        self.src = src
        self.tokens = tokens
        self.spans: list[tuple[int, int]] = []

    def element(self, pos: int) -> int:
        """The end of the element opening with `<` at `pos`."""
        index = len(self.tokens.kinds)
        end = self._element(pos)
        self.tokens.substitutions[index] = self.spans
        return end

    def _fail(self, pos: int) -> DecodeError:
        return DecodeError(f"not JavaScript: malformed JSX at offset {pos}")

    def _skip_blank(self, pos: int) -> int:
        while pos < len(self.src) and self.src[pos].isspace():
            pos += 1
        return pos

    def _name(self, pos: int) -> int:
        found = _JSX_NAME.match(self.src, pos)
        if found is None:
            raise self._fail(pos)
        return found.end()

    def _expression(self, pos: int) -> int:
        """A `{...}` at `pos`: returns the position after its `}`."""
        inner = _Tokens()
        end = _lex(self.src, pos + 1, inner, nested=True)
        self.spans.append((pos + 1, end))
        return end + 1

    def _element(self, pos: int) -> int:
        src = self.src
        pos = self._skip_blank(pos + 1)
        fragment = src.startswith(">", pos)
        if not fragment:
            pos = self._name(pos)
            while True:
                pos = self._skip_blank(pos)
                if src.startswith("/>", pos):
                    return pos + 2
                if src.startswith(">", pos):
                    break
                if src.startswith("{", pos):
                    pos = self._expression(pos)
                    continue
                pos = self._skip_blank(self._name(pos))
                if src.startswith("=", pos):
                    pos = self._skip_blank(pos + 1)
                    if src.startswith("{", pos):
                        pos = self._expression(pos)
                    elif src.startswith("<", pos):
                        pos = self._element(pos)
                    else:
                        found = _JSX_STRING.match(src, pos)
                        if found is None:
                            raise self._fail(pos)
                        pos = found.end()
        pos += 1
        while pos < len(src):
            char = src[pos]
            if src.startswith("</", pos):
                pos = self._skip_blank(pos + 2)
                if not fragment:
                    pos = self._skip_blank(self._name(pos))
                if not src.startswith(">", pos):
                    raise self._fail(pos)
                return pos + 1
            if char == "<":
                pos = self._element(pos)
            elif char == "{":
                pos = self._expression(pos)
            elif char in "}>":
                raise self._fail(pos)
            elif char == "&":
                found = _JSX_ENTITY.match(src, pos)
                if found is None:
                    raise self._fail(pos)
                pos = found.end()
            else:
                pos += 1
        raise self._fail(pos)


def _template_end(src: str, pos: int, tokens: _Tokens) -> int:
    """The end of the template literal opening at `pos`; records its `${...}` spans."""
    spans: list[tuple[int, int]] = []
    index = len(tokens.kinds)
    start = pos
    pos += 1
    while pos < len(src):
        char = src[pos]
        if char == "\\":
            pos += 2
        elif char == "`":
            tokens.substitutions[index] = spans
            return pos + 1
        elif src.startswith("${", pos):
            inner = _Tokens()
            end = _lex(src, pos + 2, inner, nested=True)
            spans.append((pos + 2, end))
            pos = end + 1
        else:
            pos += 1
    # No closing backtick: tree-sitter closes the template at once with a MISSING one and reads
    # on after the opening backtick, unless nothing but blanks and comments follow.
    rest = start + 1
    while (found := _TOKEN.match(src, rest)) is not None and found.lastgroup in ("ws", "comment"):
        rest = found.end()
    if rest >= len(src):
        raise DecodeError("not JavaScript: unterminated template literal")
    tokens.unclosed.add(index)
    return start + 1


# ---------------------------------------------------------------------------------------------
# Syntax: only spans and the few node kinds BFCL's extraction looks at.


class _Expr:
    __slots__ = ("arguments", "callee", "hi", "kind", "left", "lo", "right", "via")

    def __init__(self, kind: str, lo: int, hi: int) -> None:
        self.kind = kind
        self.lo = lo  # token index of the first token
        self.hi = hi  # one past the token index of the last token
        self.left: _Expr | None = None  # assign: target; call: callee
        self.right: _Expr | None = None  # assign: value
        self.callee: _Expr | None = None
        self.arguments: list[_Expr] = []
        self.via = "arguments"  # call: what follows the callee ("arguments", "optional_chain", "template")


class _Parser(TokenCursor):
    """Recursive descent over the JavaScript that call outputs use, failing where tree-sitter errs."""

    LANGUAGE = "JavaScript"

    def __init__(self, src: str) -> None:
        tokens = _Tokens()
        _lex(src, 0, tokens, nested=False)
        self.src = src
        self.tokens = tokens
        self.kinds = tokens.kinds
        self.starts = tokens.starts
        self.ends = tokens.ends
        self.texts = [src[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)]
        self.code = [i for i, k in enumerate(tokens.kinds) if k != _COMMENT]
        self._index_code()
        self.p = 0
        self.closers: list[str] = []
        self.statements: list[_Expr] = []
        self.count = 0  # top-level statements so far
        self.missing = False  # the last statement ended on a MISSING `;`
        self.supplied = False  # a MISSING closer was supplied in the current statement
        self.blocks: dict[tuple[int, int], bool] = {}  # memo of _block_parses

    # -- cursor ------------------------------------------------------------------------------

    def _line_break_before(self, k: int = 0) -> bool:
        """Whether a line break separates token k from the token before it."""
        j = self.p + k
        if j <= 0 or j >= len(self.code):
            return False
        gap = self.src[self.ends[self.code[j - 1]] : self.starts[self.code[j]]]
        return any(brk in gap for brk in _LINE_BREAKS)

    def _is_identifier(self, k: int = 0) -> bool:
        return (
            self._kind(k) == _WORD
            and self._text(k) not in _EXPRESSION_KEYWORDS
            and not self._text(k).startswith("#")
        )

    def _open(self, opener: str) -> int:
        i = self._expect(opener)
        self.closers.append(_CLOSERS[opener])
        return i

    def _close(self) -> None:
        """Consume the expected closer, or leave the next token be where tree-sitter supplies it.

        Measured: one bracket at a time is supplied as MISSING when the next token closes the
        enclosing bracket, or is the `;` ending the statement.
        """
        closer = self.closers.pop()
        text = self._text()
        if text == closer:
            self._take()
        elif text in (")", "]", "}"):
            if not (self.closers and self.closers[-1] == text):
                raise self._error(f"expected {closer!r}")
            self.supplied = True
        elif text == ";" and not self.closers:
            self.supplied = True
        else:
            raise self._error(f"expected {closer!r}")

    def _skip_balanced(self) -> None:
        """Skip a bracketed group (a function body, a parameter list) checking only the nesting."""
        stack = [_CLOSERS[self._text()]]
        self._take()
        while stack:
            text = self._text()
            if not text:
                raise self._error(f"expected {stack[-1]!r}")
            if self._kind() == _OP and text in _CLOSERS:
                stack.append(_CLOSERS[text])
            elif self._kind() == _OP and text in (")", "]", "}"):
                if text != stack.pop():
                    raise self._error("mismatched brackets")
            elif self._kind() == _TEMPLATE:
                self._check_template(self._at())
            self._take()

    # -- statements ----------------------------------------------------------------------------

    def program(self) -> None:
        """Parse the whole text as top-level statements, as tree-sitter's `program` would."""
        while self._at() >= 0:
            self._statement(top=True)
            self.count += 1

    def _statement(self, *, top: bool) -> None:
        text, kind = self._text(), self._kind()
        first = self._at()
        self.supplied = False
        if text == ";":
            self._take()
            return
        if text == "{" and self._block_parses():
            self._block()
            return
        if text == "return" and kind == _WORD:
            self._take()
            if self._text() not in (";", "}", "") and not self._line_break_before():
                self._expression()
            self._terminate(first)
            return
        if kind == _WORD:
            if text in ("var", "const") or (
                text == "let" and (self._is_identifier(1) or self._text(1) in ("[", "{"))
            ):
                self._declaration(first)
                return
            if text == "function" or (
                text == "async" and self._text(1) == "function" and not self._line_break_before(1)
            ):
                self._function()
                return
            if text == "class":
                self._class()
                return
            if text in _UNSUPPORTED_STATEMENTS:
                raise self._error("unsupported statement")
            if self._is_identifier() and self._text(1) == ":":
                self._take()
                self._take()
                if self._text() not in ("", "}"):
                    self._statement(top=False)
                return
        expression = self._expression()
        self._terminate(first)
        if top:
            self.statements.append(expression)

    def _terminate(self, first: int) -> None:
        """A statement ends at `;`, before `}` or the end, or at a line break (automatic `;`).

        Otherwise tree-sitter may supply a MISSING `;` when the next token can start a statement.
        Measured, it instead gives up with an ERROR when this is the first statement and so short
        that an ERROR costs less (as for Java: bytes plus 30 per line break at most 10), when this
        statement already needed a MISSING token, or when skipping a short word lets the statement
        go on (`f(a) g(b)` is read as `f(a)(b)` with `g` an ERROR).
        """
        missing_before = self.missing
        self.missing = False
        text = self._text()
        if text == ";":
            self._take()
            return
        if text in ("", "}") or self._line_break_before():
            return
        if not (self._kind() in (_WORD, _STR, _NUM, _TEMPLATE, _REGEX) or text in ("{", "!", "~")):
            raise self._error("expected ';' or a line break")
        if missing_before or self.supplied:
            raise self._error("a second missing token in a row is an ERROR for tree-sitter")
        if self._kind() == _WORD and len(text.encode("utf-8")) < _CHEAP_ERROR_BYTES and self._continues(1):
            raise self._error("skipping this word is cheaper for tree-sitter than a missing ';'")
        if self.count == 0 and not self.closers and text != "{":
            span = self.src[self.starts[first] : self.ends[self.code[self.p - 1]]]
            if len(span.encode("utf-8")) + 30 * span.count("\n") <= _CHEAP_ERROR_BYTES:
                raise self._error("a first statement this short without ';' is an ERROR for tree-sitter")
        self.missing = True

    def _continues(self, k: int) -> bool:
        """Whether token k could continue an expression statement that ended just before it."""
        text, kind = self._text(k), self._kind(k)
        if kind == _TEMPLATE:
            return True
        return kind == _OP and (
            text in (";", ",", "(", "[", ".", "?.", "?") or text in _BINARY_PRECEDENCE or text in _ASSIGN_OPS
        )

    def _block_parses(self) -> bool:
        """Whether a `{` starting a statement reads as a block; if not, tree-sitter reads an object."""
        key = (self.p, len(self.closers))
        known = self.blocks.get(key)
        if known is not None:
            return known
        save, closers, count, missing = self.p, list(self.closers), self.count, self.missing
        try:
            self._block()
            parses = True
        except DecodeError:
            parses = False
        finally:
            self.p, self.closers, self.count, self.missing = save, closers, count, missing
        self.blocks[key] = parses
        return parses

    def _block(self) -> None:
        opening = self._open("{")
        while self._text() not in ("}", ""):
            self._statement(top=False)
        if self._at() < 0 and self.code[self.p - 1] != opening:  # tree-sitter supplies a `}` at the end
            self.closers.pop()
            return
        self._close()

    def _declaration(self, first: int) -> None:
        self._take()
        while True:
            if self._text() in ("[", "{"):
                self._skip_balanced()
            elif self._is_identifier():
                self._take()
            else:
                raise self._error("expected a variable name")
            if self._text() == "=":
                self._take()
                self._assignment()
            if self._text() != ",":
                break
            self._take()
        self._terminate(first)

    def _function(self) -> _Expr:
        lo = self._at()
        if self._text() == "async":
            self._take()
        self._expect("function")
        if self._text() == "*":
            self._take()
        if self._is_identifier():
            self._take()
        if self._text() != "(":
            raise self._error("expected '('")
        self._skip_balanced()
        if self._text() != "{":
            raise self._error("expected '{'")
        self._skip_balanced()
        return _Expr("function", lo, self._end())

    def _class(self) -> _Expr:
        lo = self._take()
        if self._is_identifier() and self._text() != "extends":
            self._take()
        if self._text() == "extends":
            self._take()
            self._call_or_member()
        if self._text() != "{":
            raise self._error("expected '{'")
        self._skip_balanced()
        return _Expr("class", lo, self._end())

    # -- expressions ---------------------------------------------------------------------------

    def _expression(self) -> _Expr:
        first = self._assignment()
        if self._text() != ",":
            return first
        last = first
        while self._text() == ",":
            self._take()
            last = self._assignment()
        return _Expr("sequence", first.lo, last.hi)

    def _assignment(self) -> _Expr:
        quick = self._operand_alone()
        if quick is not None:
            return quick
        if self._is_arrow():
            return self._arrow()
        left = self._conditional()
        if self._kind() == _OP and self._text() in _ASSIGN_OPS and left.kind not in _ASSIGNABLE:
            raise self._error("cannot assign to this")
        return self._assigned(left)

    def _operand_alone(self) -> _Expr | None:
        """`name=literal` or a literal alone, right before `,` or `)`: the common argument, in short.

        Returns the node the full descent (`_conditional` ... `_primary`, then `_assigned`) makes
        for it, having consumed it; None, consuming nothing, for anything else.
        """
        p, texts = self.p, self.code_texts
        if p + 1 >= self.size:
            return None
        if texts[p + 1] in (",", ")"):
            return self._literal_alone(p)
        if texts[p + 1] != "=" or p + 3 >= self.size or texts[p + 3] not in (",", ")"):
            return None
        name = texts[p]
        if self.code_kinds[p] != _WORD or name in _EXPRESSION_KEYWORDS or name.startswith("#"):
            return None
        self.p = p + 2
        right = self._literal_alone(p + 2)
        if right is None:
            self.p = p
            return None
        i = self.code[p]
        node = _Expr("assign", i, right.hi)
        node.left, node.right = _Expr("undefined" if name == "undefined" else "ident", i, i + 1), right
        return node

    def _literal_alone(self, p: int) -> _Expr | None:
        """The node of a literal or a name at `p` (the cursor), consumed; None if it is neither."""
        kind, text, i = self.code_kinds[p], self.code_texts[p], self.code[p]
        if kind in (_NUM, _STR, _REGEX):
            node = _Expr("literal", i, i + 1)
        elif kind != _WORD or text.startswith("#"):
            return None
        elif text in _VALUE_WORDS:
            node = _Expr(text if text == "true" else "literal", i, i + 1)
        elif text in _EXPRESSION_KEYWORDS:
            return None
        else:
            node = _Expr("undefined" if text == "undefined" else "ident", i, i + 1)
        self.p = p + 1
        return node

    def _assigned(self, left: _Expr) -> _Expr:
        """`left = ...` if an assignment operator follows an assignable `left`, else `left`.

        tree-sitter-javascript lets an assignment stand wherever an operand may (`a-b=1` is
        `a-(b=1)`, `!b=1` is `!(b=1)`), so this is tried after every operand, not only at the top.
        """
        operator = self._text()
        if self._kind() != _OP or operator not in _ASSIGN_OPS or left.kind not in _ASSIGNABLE:
            return left
        self._take()
        right = self._assignment()
        node = _Expr("assign" if operator == "=" else "update", left.lo, right.hi)
        node.left, node.right = left, right
        return node

    def _is_arrow(self) -> bool:
        k = 0
        if (
            self._text() == "async"
            and not self._line_break_before(1)
            and (self._text(1) == "(" or self._is_identifier(1))
        ):
            k = 1
        if self._is_identifier(k) and self._text(k + 1) == "=>":
            return True
        if self._text(k) != "(":
            return False
        depth = 0
        while True:
            text = self._text(k)
            if not text:
                return False
            if text in ("(", "[", "{"):
                depth += 1
            elif text in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return self._text(k + 1) == "=>"
            k += 1

    def _arrow(self) -> _Expr:
        lo = self._at()
        if self._text() == "async" and self._text(1) != "=>":
            self._take()
        if self._text() == "(":
            self._skip_balanced()
        else:
            self._take()
        self._expect("=>")
        if self._text() == "{":
            self._skip_balanced()
        else:
            self._assignment()
        return _Expr("function", lo, self._end())

    def _conditional(self) -> _Expr:
        condition = self._binary(1)
        if self._text() != "?":
            return condition
        self._take()
        self._assignment()
        self._expect(":")
        alternative = self._assignment()
        return _Expr("expr", condition.lo, alternative.hi)

    def _binary(self, min_precedence: int) -> _Expr:
        left = self._unary()
        while True:
            kind, text = self._kind(), self._text()
            precedence = _BINARY_PRECEDENCE.get(text, 0) if kind in (_OP, _WORD) else 0
            if kind == _WORD and text not in ("in", "instanceof"):
                precedence = 0
            if not precedence or precedence < min_precedence:
                return left
            self._take()
            right = self._assigned(self._binary(precedence if text == "**" else precedence + 1))
            left = _Expr("expr", left.lo, right.hi)

    def _unary(self) -> _Expr:
        text, kind = self._text(), self._kind()
        if (kind == _OP and text in ("!", "~", "+", "-", "++", "--")) or (
            kind == _WORD and text in ("typeof", "void", "delete", "await")
        ):
            lo = self._take()
            operand = self._assigned(self._unary())
            return _Expr("expr", lo, operand.hi)
        node = self._call_or_member()
        if self._text() in ("++", "--") and not self._line_break_before():
            self._take()
            node = _Expr("expr", node.lo, self._end())
        return node

    def _call_or_member(self) -> _Expr:
        node = self._new() if self._text() == "new" else self._primary()
        while True:
            text, kind = self._text(), self._kind()
            if text == "." and kind == _OP:
                self._take()
                if self._kind() != _WORD:
                    raise self._error("expected a property name")
                self._take()
                node = _Expr("member", node.lo, self._end())
            elif text == "?.":
                self._take()
                if self._text() == "(":
                    arguments = self._arguments()
                    node = self._call(node, arguments, "optional_chain")
                elif self._text() == "[":
                    self._subscript()
                    node = _Expr("subscript", node.lo, self._end())
                elif self._kind() == _WORD:
                    self._take()
                    node = _Expr("member", node.lo, self._end())
                else:
                    raise self._error("expected a property after '?.'")
            elif text == "[":
                self._subscript()
                node = _Expr("subscript", node.lo, self._end())
            elif text == "(":
                node = self._call(node, self._arguments(), "arguments")
            elif kind == _TEMPLATE and not self._line_break_before():
                if self._at() in self.tokens.unclosed and (
                    node.kind not in ("ident", "template") or self.supplied
                ):
                    raise self._error("unterminated template literal")
                self._check_template(self._take())
                node = self._call(node, [], "template")
            else:
                return node

    def _call(self, callee: _Expr, arguments: list[_Expr], via: str) -> _Expr:
        node = _Expr("call", callee.lo, self._end())
        node.callee, node.arguments, node.via = callee, arguments, via
        return node

    def _subscript(self) -> None:
        self._open("[")
        self._expression()
        self._close()

    def _arguments(self) -> list[_Expr]:
        self._open("(")
        arguments: list[_Expr] = []
        while self._text() not in (")", "]", "}", ""):
            if self._text() == ",":
                self._take()  # tree-sitter-javascript accepts holes here
                continue
            if self._text() == "...":
                lo = self._take()
                spread = self._assignment()
                arguments.append(_Expr("spread", lo, spread.hi))
            else:
                arguments.append(self._assignment())
            if self._text() != ",":
                break
            self._take()
        self._close()
        return arguments

    def _new(self) -> _Expr:
        lo = self._take()
        if self._text() == ".":
            self._take()
            if self._text() != "target":
                raise self._error("expected 'new.target'")
            self._take()
            return _Expr("expr", lo, self._end())
        if self._text() == "new":
            self._new()
        else:
            self._primary()
        while True:
            text = self._text()
            if text == "." and self._kind(1) == _WORD:
                self._take()
                self._take()
            elif text == "[":
                self._subscript()
            elif self._kind() == _TEMPLATE and not self._line_break_before():
                self._check_template(self._take())
            else:
                break
        if self._text() == "(":
            self._arguments()
        return _Expr("new", lo, self._end())

    def _primary(self) -> _Expr:
        i = self._at()
        if i < 0:
            raise self._error("an expression is missing")
        kind, text = self.kinds[i], self.texts[i]
        if kind in (_NUM, _STR, _REGEX):
            self._take()
            return _Expr("literal", i, i + 1)
        if kind == _JSX:
            self._take()
            for start, end in self.tokens.substitutions.get(i, []):
                inner = _Parser(self.src[start:end])
                if inner._text() == "...":
                    inner._take()
                if inner._at() >= 0:
                    inner._expression()
                if inner._at() >= 0:
                    raise inner._error("a JSX expression holds no valid expression")
            return _Expr("jsx", i, i + 1)
        if kind == _TEMPLATE:
            if i in self.tokens.unclosed:
                raise self._error("unterminated template literal")
            self._check_template(self._take())
            return _Expr("template", i, i + 1)
        if kind == _WORD:
            return self._word(i, text)
        if text == "(":
            self._open("(")
            self._expression()
            self._close()
            return _Expr("paren", i, self._end())
        if text == "[":
            return self._array()
        if text == "{":
            return self._object()
        raise self._error("expected an expression")

    def _word(self, i: int, text: str) -> _Expr:
        if text == "function" or (
            text == "async" and self._text(1) == "function" and not self._line_break_before(1)
        ):
            return self._function()
        if text == "class":
            return self._class()
        if text.startswith("#"):
            raise self._error("unexpected private name")
        if text in _EXPRESSION_KEYWORDS and text not in _VALUE_WORDS:
            raise self._error(f"unexpected {text!r}")
        self._take()
        if text in _VALUE_WORDS:
            return _Expr(text if text == "true" else "literal", i, i + 1)
        return _Expr("undefined" if text == "undefined" else "ident", i, i + 1)

    def _array(self) -> _Expr:
        lo = self._open("[")
        while self._text() not in (")", "]", "}", ""):
            if self._text() == ",":
                self._take()
                continue
            if self._text() == "...":
                self._take()
            self._assignment()
            if self._text() != ",":
                break
            self._take()
        self._close()
        return _Expr("array", lo, self._end())

    def _object(self) -> _Expr:
        lo = self._open("{")
        while self._text() not in (")", "]", "}", ""):
            self._property()
            if self._text() != ",":
                break
            self._take()
        self._close()
        return _Expr("object", lo, self._end())

    def _property(self) -> None:
        if self._text() == "...":
            self._take()
            self._assignment()
            return
        if self._text() in ("get", "set", "async") and (
            self._kind(1) in (_WORD, _STR, _NUM) or self._text(1) in ("[", "*")
        ):
            self._take()
        if self._text() == "*":
            self._take()
        shorthand = self._is_identifier()
        self._property_key()
        if self._text() == ":":
            self._take()
            self._assignment()
        elif self._text() == "(":
            self._skip_balanced()
            if self._text() != "{":
                raise self._error("expected a method body")
            self._skip_balanced()
        elif not shorthand:
            raise self._error("expected ':'")

    def _property_key(self) -> None:
        kind = self._kind()
        if kind in (_WORD, _STR, _NUM):
            self._take()
        elif self._text() == "[":
            self._open("[")
            self._assignment()
            self._close()
        else:
            raise self._error("expected a property name")

    def _check_template(self, index: int) -> None:
        """Each `${...}` of a template literal must hold an expression."""
        if index in self.tokens.unclosed:
            self.supplied = True
        for start, end in self.tokens.substitutions.get(index, []):
            inner = _Parser(self.src[start:end])
            inner._expression()
            if inner._at() >= 0:
                raise inner._error("a template substitution holds no valid expression")

    # -- result --------------------------------------------------------------------------------

    def result(self) -> Any:
        """BFCL's decoded form for the first top-level call statement, or None if there is none."""
        for statement in self.statements:
            if statement.kind == "call":
                return [{self._source(statement.callee): self._call_arguments(statement)}]
        return None

    def _call_arguments(self, call: _Expr) -> dict[str | None, str]:
        arguments: dict[str | None, str] = {}
        if call.via != "arguments":
            return arguments
        repeated = False
        for item in call.arguments:
            key: str | None
            if item.kind == "assign":
                key, value = self._source(item.left), self._source(item.right)
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
            elif item.kind in ("ident", "true"):
                key, value = None, self._source(item)
            else:
                continue
            repeated = repeated or key in arguments
            arguments[key] = value
        if repeated:
            raise DecodeError(
                "an argument is given twice (or two bare identifiers), which BFCL's JS decoder rejects"
            )
        return arguments

    def _source(self, node: _Expr | None) -> str:
        assert node is not None
        return self.src[self.starts[node.lo] : self.ends[node.hi - 1]]


# ---------------------------------------------------------------------------------------------
# Value conversion (BFCL's js_type_converter)

# `re.match` with a trailing `$`, as BFCL uses them: anchored at the start, and `$` also matches
# before a final newline.
_INTEGER: Final = re.compile(r"-?\d+$")
_FLOAT: Final = re.compile(r"-?\d+(?:\.\d+)?$")
_BIGINT: Final = re.compile(r"-?\d+n$")
_ARRAY_2D: Final = re.compile(
    r"\[\s*\[.*?\]\s*(?:,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(?:,\s*\[.*?\]\s*)*\)"
)
_INNER_ARRAY: Final = re.compile(r"\[(.*?)\]")
_ARRAY_1D: Final = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_OBJECT: Final = re.compile(r"\{(.*?)\}")
_PAIR: Final = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def convert_javascript(value: str, type_name: str, nested_type: str | None = None) -> Any:
    """Convert JavaScript source text by schema type, exactly as BFCL's `js_type_converter` does.

    Text that does not fit the type's literal form is returned unchanged. BFCL's quirks are
    kept: `float` accepts no exponent, `Bigint` needs an `n` suffix, arrays and objects are read
    with non-nesting regular expressions (an array stops at its first `]`, an object at its first
    `}`), and an array whose elements cannot be converted comes back as the original text.
    """
    if type_name not in JS_TYPES:
        raise ValueError(f"Unsupported type: {type_name}")
    if type_name == "String":
        quoted = (value.startswith('"') and value.endswith('"')) or (
            value.startswith("'") and value.endswith("'")
        )
        return value[1:-1] if quoted else value
    if type_name == "integer":
        return int(value) if _INTEGER.match(value) else value
    if type_name == "float":
        return float(value) if _FLOAT.match(value) else value
    if type_name == "Bigint":
        return int(value[:-1]) if _BIGINT.match(value) else value
    if type_name == "Boolean":
        return value == "true" if value in ("true", "false") else value
    if type_name == "array":
        return _array(value.strip(), nested_type)
    if type_name == "dict":
        return _object(value.strip())
    return value  # any


def _array(code: str, nested_type: str | None) -> Any:
    try:
        found = _ARRAY_2D.match(code)
        if found is not None:
            rows = []
            for index, row in enumerate(_INNER_ARRAY.findall(found.group(0))):
                row = row.strip()
                if index == 0 and row.startswith("["):
                    row = row[1:]
                rows.append([_js_literal(part.strip()) for part in row.split(",")])
            return rows
        found = _ARRAY_1D.match(code)
        if found is None:
            return code
        inside = found.group(1) if found.group(1) is not None else found.group(2)
        inside = inside.strip() if inside is not None else ""
        parts = inside.split(",") if inside else []
        if not nested_type:
            return [_js_literal(part.strip()) for part in parts]
        return [_array_element(part.strip(), nested_type) for part in parts]
    except Exception:  # BFCL returns the text unchanged on any failure here
        return code


def _array_element(text: str, nested_type: str) -> Any:
    if text.startswith(("'", '"')):
        # BFCL passes "String" as the nested type of quoted elements; it only matters for arrays.
        return convert_javascript(text, nested_type, "String")
    return convert_javascript(text, nested_type)


def _object(code: str) -> Any:
    if code == "{}":
        return {}
    found = _OBJECT.match(code)
    if found is None:
        return code
    result: dict[str, Any] = {}
    try:
        for raw_key, raw_value in _PAIR.findall(found.group(1)):
            key = raw_key.strip().strip("'\"")
            text = raw_value.strip()
            if text.startswith("[") and text.endswith("]"):
                result[key] = _array(text, None)
            elif text.startswith("{") and text.endswith("}"):
                result[key] = _object(text)
            else:
                result[key] = _js_literal(text.strip("'\""))
    except Exception:  # BFCL returns the text unchanged on any failure here
        return code
    return result


def _js_literal(text: str) -> Any:
    """A JavaScript literal whose type is not known: BFCL's `parse_js_value`."""
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'")):
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
