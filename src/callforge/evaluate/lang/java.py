"""BFCL's decoding of Java call text, and its Java value conversion, reproduced without tree-sitter.

For `simple_java` BFCL asks prompting models for a call such as
`[Foo.bar(limit=50, names=new String[]{"a", "b"})]`. Its decoder strips `` ` ``, newlines and
spaces from both ends, makes sure the text starts with `[` and ends with `]`, drops those two
characters and parses the rest with tree-sitter-java. These are the rules it ends up applying,
all reproduced here because they decide verdicts:

* The text must parse as Java statements; any ERROR node in the tree fails the decode. A
  statement may lack its `;` (tree-sitter inserts a MISSING one) except when it is the first
  statement and short: there tree-sitter's error recovery finds wrapping it in an ERROR cheaper.
  Measured: it fails iff its bytes plus 30 per line break come to 10 or less, so `f(a=12345)`
  fails and `f(a=123456)` decodes. Between statements on one line the same weighing is made
  against skipping a short word (`_missing_semicolon` has the measured rules). An unclosed `(`,
  `[` or `{` at the end fails; a single bracket left open just before the enclosing closer, a
  `,` of the argument list or the statement's `;` is supplied as a MISSING token (`_close`).
* The first method invocation of the tree in pre-order is the call; its name is the source text
  of the object (if any), `.`, and the method name. Without one the result is `{}`.
* Only `name=value` arguments are kept. A bare identifier or class literal goes under the key
  None; two of them, or a repeated name, fail the decode. Other positional arguments vanish.
* A value becomes text: a string or char literal loses its quotes, a method invocation or class
  literal keeps its source text, `new T[]...{...}` becomes `new T[]{...}` (no initializer: the
  decode fails), `new T(args) {body}` becomes `new T(a, b)` with the body dropped (which is why
  BFCL cannot pass a `HashMap` written with `put` calls), and anything else is the concatenation
  of its tokens with the whitespace removed.
* tree-sitter reports UTF-8 byte offsets and BFCL slices the Python string with them, so after a
  non-ASCII character every piece of text is shifted; that is reproduced too.

`convert_java` is BFCL's `java_type_converter`: the checker converts each value by the
parameter's schema type before its ordinary type and value checks.
"""

from __future__ import annotations

import re
from typing import Any, Final

from callforge.core import DecodeError
from callforge.evaluate.decode.python import bracketed
from callforge.evaluate.lang._cursor import TokenCursor
from callforge.evaluate.lang.quick import quick_call

JAVA_TYPES: Final[dict[str, type]] = {
    "byte": int,
    "short": int,
    "integer": int,
    "float": float,
    "double": float,
    "long": int,
    "boolean": bool,
    "char": str,
    "Array": list,
    "ArrayList": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
    "Queue": list,
    "Stack": list,
    "String": str,
    "any": str,
}
"""BFCL's JAVA_TYPE_CONVERSION: the Python type a converted value of each schema type must have."""


def decode_java(text: str) -> Any:
    """Decode a prompting model's raw Java output exactly as BFCL's Java decoder would.

    Returns `[{name: {param: value}}]` with every value as text (see the module docstring), with
    a bare positional identifier under the key None, or `{}` when the text holds no method
    invocation (BFCL then reports a wrong output format). Raises DecodeError wherever BFCL's
    decoder raises, so the caller can report `ast_decoder:decoder_failed`.
    """
    text = bracketed(text)
    quick = quick_call(text[1:-1], java=True)
    if quick is not None:
        return quick
    try:
        parser = _Parser(text[1:-1])
        parser.program()
        return parser.result()
    except RecursionError:
        raise DecodeError("the Java text is nested too deeply to decode") from None


# ---------------------------------------------------------------------------------------------
# Tokens

_WS, _COMMENT, _STR, _CHR, _NUM, _WORD, _OP = range(7)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*[\s\S]*?\*/)
  | (?P<str>\"\"\"(?:[^"\\]|\\(?:[^xu0-7]|[0-7]{1,3}|x[0-9a-fA-F]{2}|u+[0-9a-fA-F]{4}|u\{[0-9a-fA-F]+\})|"(?!""))*\"\"\"
        |"(?:[^"\\]|\\(?:[^xu0-7]|[0-7]{1,3}|x[0-9a-fA-F]{2}|u+[0-9a-fA-F]{4}|u\{[0-9a-fA-F]+\}))*")
  | (?P<chr>'(?:[^'\\\n]|\\[\s\S])+')
  | (?P<num>0[xX][0-9a-fA-F_]*[0-9a-fA-F][lL]?
        |0[bB][01_]*[01][lL]?
        |(?:\d[\d_]*\.(?:\d[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[fFdD]?
        |\d[\d_]*(?:[eE][+-]?\d[\d_]*)?[fFdDlL]?)
  | (?P<word>(?:[^\W\d]|\$)(?:\w|\$)*)
  | (?P<op>\.\.\.|->|::|<<=|<<|<=|\+\+|--|&&|\|\||==|!=|[-+*/%&|^]=|[(){}\[\];,.@=<>!~?:+\-*/&|^%])
    """,
    re.VERBOSE,
)
_GROUP_KIND: Final = {
    "ws": _WS,
    "comment": _COMMENT,
    "str": _STR,
    "chr": _CHR,
    "num": _NUM,
    "word": _WORD,
    "op": _OP,
}

_PRIMITIVES: Final = frozenset({"byte", "short", "int", "long", "char", "float", "double", "boolean"})
# Words that never act as an identifier where an expression may start.
_RESERVED: Final = _PRIMITIVES | {"new", "this", "super", "true", "false", "null", "switch", "void", "class"}
# Contextual keywords: identifiers, but never the name of a type.
_NOT_TYPE_NAMES: Final = frozenset({"open", "module", "record", "with", "yield", "sealed", "permits"})
# Statement keywords whose statements this decoder does not model: the decode fails on them.
_UNSUPPORTED_STATEMENTS: Final = frozenset(
    {
        "if", "for", "while", "do", "try", "switch", "throw", "break", "continue", "class", "interface",
        "enum", "import", "package", "public", "private", "protected", "static", "abstract",
        "synchronized", "assert", "native", "transient", "volatile", "strictfp", "else", "case",
        "default", "catch", "finally", "goto", "const", "extends", "implements", "throws", "yield",
    }
)  # fmt: skip
_MODIFIERS: Final = frozenset(
    {"public", "private", "protected", "static", "final", "abstract", "synchronized", "native", "default"}
)
_ASSIGN_OPS: Final = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<="})
_BINARY_PRECEDENCE: Final = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, "instanceof": 7, "<<": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}  # fmt: skip
_ASSIGNABLE: Final = frozenset({"ident", "name", "field", "index"})
# Nodes whose text is not simply their tokens run together.
_SPECIAL: Final = frozenset({"call", "classlit", "newarr", "newobj"})
# What may start the next statement when tree-sitter supplies a missing `;` in mid-text (measured).
_NO_RESTART_WORDS: Final = frozenset(
    {"this", "super", "true", "false", "null", "return", "break", "continue"}
)
# A short first statement without `;` is wrapped in ERROR when this, plus 30 per line, is not exceeded.
_CHEAP_ERROR_BYTES: Final = 10
# What preceded a statement: nothing, a statement with its `;` (or a block or label), or one without.
_NOTHING, _CLOSED, _OPEN = range(3)
# Open brackets, by what closes them.
_CLOSER: Final = {"args": ")", "paren": ")", "index": "]", "init": "}", "block": "}"}


def _tokenize(src: str) -> tuple[list[int], list[int], list[int]]:
    kinds: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    pos, size, match = 0, len(src), _TOKEN.match
    while pos < size:
        m = match(src, pos)
        if m is None:
            raise DecodeError(f"not Java: unexpected character {src[pos]!r} at offset {pos}")
        kind = _GROUP_KIND[m.lastgroup or "ws"]
        end = m.end()
        if kind != _WS:
            kinds.append(kind)
            starts.append(pos)
            ends.append(end)
        pos = end
    return kinds, starts, ends


def _byte_offsets(src: str, starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
    """The UTF-8 byte offsets of the tokens, which BFCL (mis)uses as string indices."""
    if src.isascii():
        return starts, ends
    prefix = [0]
    total = 0
    for ch in src:
        total += len(ch.encode("utf-8"))
        prefix.append(total)
    return [prefix[s] for s in starts], [prefix[e] for e in ends]


# ---------------------------------------------------------------------------------------------
# Syntax tree: only what the rendering needs. Spans are [lo, hi) indices into the token list.


class _Node:
    __slots__ = ("a", "b", "close", "hi", "items", "kids", "kind", "lo", "open")

    def __init__(
        self,
        kind: str,
        lo: int,
        hi: int,
        kids: list[_Node] | None = None,
        a: _Node | None = None,
        b: _Node | None = None,
    ) -> None:
        self.kind = kind
        self.lo = lo
        self.hi = hi
        self.kids: list[_Node] = kids if kids is not None else []
        self.a = a  # call: object; assign: left side; newarr/newobj: type
        self.b = b  # call: method name; assign: right side; newarr: initializer
        self.items: list[_Node] = []  # call/newobj: arguments
        self.open = -1  # call/newobj: token index of `(`; assign: first operator token
        self.close = -1  # call/newobj: token index of `)`; assign: last operator token


def _kids(*nodes: _Node) -> list[_Node]:
    """The outermost special nodes inside `nodes`, in order: what a parent's text must render."""
    out: list[_Node] = []
    for node in nodes:
        if node.kind in _SPECIAL:
            out.append(node)
        else:
            out.extend(node.kids)
    return out


class _Parser(TokenCursor):
    """Recursive descent over the Java subset that call outputs use, failing where tree-sitter errs."""

    LANGUAGE = "Java"

    def __init__(self, src: str) -> None:
        kinds, starts, ends = _tokenize(src)
        self.src = src
        self.kinds = kinds
        self.starts = starts
        self.ends = ends
        self.texts = [src[s:e] for s, e in zip(starts, ends, strict=True)]
        self.bstarts, self.bends = _byte_offsets(src, starts, ends)
        self.code = [i for i, k in enumerate(kinds) if k != _COMMENT]
        self._index_code()
        self.p = 0
        self.calls: list[_Node] = []
        self.closers: list[str] = []
        self.initialized = False  # whether the last declarator read had an initializer

    # -- cursor ------------------------------------------------------------------------------

    def _is_name(self, k: int = 0) -> bool:
        return self._kind(k) == _WORD and self._text(k) not in _RESERVED

    def _close(self, tag: str) -> None:
        """Consume the closer of `tag`, or leave the next token be where tree-sitter would supply it.

        Measured: a MISSING closer is supplied for one bracket at a time, when the next token
        closes the enclosing bracket or is a `,` inside an argument list or array initializer,
        or is the `;` that ends the statement; an argument list's `)` only before that `;`.
        """
        self.closers.pop()
        closer = _CLOSER[tag]
        text = self._text()
        if text == closer:
            self._take()
            return
        enclosing = self.closers[-1] if self.closers else ""
        if text in (")", "]", "}"):
            supplied = tag != "args" and enclosing != "" and _CLOSER[enclosing] == text
        elif text == ",":
            supplied = tag != "args" and enclosing in ("args", "init")
        else:
            supplied = text == ";" and enclosing in ("", "block")
        if not supplied:
            raise self._error(f"expected {closer!r}")

    # -- statements ----------------------------------------------------------------------------

    def program(self) -> None:
        """Parse the whole text as top-level statements, as tree-sitter's `program` would.

        Where a statement lacks its `;`, tree-sitter either supplies a MISSING one or gives up
        with an ERROR; which one it picks is modelled on measured behaviour (module docstring).
        """
        previous = _NOTHING
        while self._at() >= 0:
            text = self._text()
            if text == ";":
                self._take()
                previous = _CLOSED
                continue
            if text == "{":
                self._block()
                previous = _CLOSED
                continue
            if self._is_name() and self._text(1) == ":":
                self._take()
                self._take()
                previous = _CLOSED
                continue
            if text in _UNSUPPORTED_STATEMENTS:
                raise self._error("unsupported statement")
            first = self.p
            is_decl = self._is_declaration()
            if is_decl:
                self._declaration()
            elif text == "return":
                self._take()
                if self._text() not in (";", ""):
                    self._expression()
            else:
                self._expression()
            if self._text() == ";":
                self._take()
                previous = _CLOSED
                continue
            self._missing_semicolon(first, is_decl, previous)
            previous = _OPEN

    def _missing_semicolon(self, first: int, is_decl: bool, previous: int) -> None:
        """Fail where tree-sitter would not supply the `;` this statement lacks (measured rules).

        `first` is the cursor position where the statement began. Besides supplying the `;`,
        tree-sitter weighs other repairs and keeps the cheapest: wrapping a short first statement
        in an ERROR, or skipping a short word so that the statement goes on (`x.f() A.b()` is
        read as `x.f().b()` with `A` an ERROR).
        """
        at_end = self._at() < 0
        last = self.code[self.p - 1]
        if is_decl:
            # A declaration may end the text or be followed by another one; one ending in a
            # variable name (no initializer) may be followed by any statement.
            if at_end or self._is_declaration():
                return
            if not self.initialized and self._can_restart():
                return
            raise self._error("expected ';'")
        if self.kinds[last] == _WORD and self._text(-2) == ".":
            raise self._error("a statement ending in a member name without ';' is an ERROR for tree-sitter")
        if at_end:
            if self.p - first == 1 and self.kinds[last] == _WORD and previous == _OPEN:
                raise self._error("a bare name after a statement without ';' is an ERROR for tree-sitter")
        else:
            following = self._text()
            if not self._can_restart() or (self.kinds[last] in (_WORD, _NUM) and self._kind() == _WORD):
                raise self._error("expected ';'")
            if (
                self._kind() == _WORD
                and len(following.encode("utf-8")) < _CHEAP_ERROR_BYTES
                and self._continues(1)
            ):
                raise self._error("skipping this word is cheaper for tree-sitter than a missing ';'")
        if previous == _NOTHING:
            text = self.src[self.starts[self.code[first]] : self.ends[last]]
            if len(text.encode("utf-8")) + 30 * text.count("\n") <= _CHEAP_ERROR_BYTES:
                raise self._error("a first statement this short without ';' is an ERROR for tree-sitter")

    def _continues(self, k: int) -> bool:
        """Whether token k could continue an expression statement that ended just before it."""
        text = self._text(k)
        return text in (".", "[", "::", ";", "?", "++", "--", ">", "instanceof") or (
            self._kind(k) == _OP and (text in _BINARY_PRECEDENCE or text in _ASSIGN_OPS)
        )

    def _can_restart(self) -> bool:
        kind, text = self._kind(), self._text()
        if kind == _WORD:
            return text not in _NO_RESTART_WORDS
        return kind == _STR or text in ("{", "-", "!")

    def _block(self) -> _Node:
        lo = self._expect("{")
        self.closers.append("block")
        kids: list[_Node] = []
        while self._text() not in ("}", ")", "]", ""):
            kids.extend(self._block_statement())
        self._close("block")
        return _Node("block", lo, self._end(), kids)

    def _block_statement(self) -> list[_Node]:
        text = self._text()
        if text == ";":
            self._take()
            return []
        if text == "{":
            return _kids(self._block())
        if text in _UNSUPPORTED_STATEMENTS:
            raise self._error("unsupported statement")
        node: _Node | None
        if text == "return":
            self._take()
            node = None if self._text() == ";" else self._expression()
        elif self._is_declaration():
            node = self._declaration()
        else:
            node = self._expression()
        if self._text() == ";":
            self._take()
        elif self._text() != "}":
            raise self._error("expected ';'")
        return _kids(node) if node is not None else []

    def _is_declaration(self) -> bool:
        """Whether a statement starts `Type name`, found by trying to read a type."""
        if self._text() in ("final", "@"):
            return True
        if self._kind() != _WORD or (self._text() in _RESERVED and self._text() not in _PRIMITIVES):
            return False
        save = self.p
        try:
            self._type()
            return self._is_name() and self._text(1) not in ("(", ".")
        except DecodeError:
            return False
        finally:
            self.p = save

    def _declaration(self) -> _Node:
        lo = self._at()
        self._modifiers()
        self._type()
        kids: list[_Node] = []
        while True:
            if not self._is_name():
                raise self._error("expected a variable name")
            self._take()
            self._dimensions()
            self.initialized = self._text() == "="
            if self.initialized:
                self._take()
                value = self._array_initializer() if self._text() == "{" else self._expression()
                kids.extend(_kids(value))
            if self._text() != ",":
                return _Node("decl", lo, self._end(), kids)
            self._take()

    def _modifiers(self) -> None:
        while True:
            if self._text() in _MODIFIERS:
                self._take()
            elif self._text() == "@" and self._text(1) != "interface":
                self._take()
                self._qualified_name()
                if self._text() == "(":
                    self._arguments()
            else:
                return

    def _qualified_name(self) -> None:
        if not self._is_name():
            raise self._error("expected a name")
        self._take()
        while self._text() == "." and self._is_name(1):
            self._take()
            self._take()

    def _dimensions(self) -> None:
        while self._text() == "[" and self._text(1) == "]":
            self._take()
            self._take()

    # -- types ---------------------------------------------------------------------------------

    def _type(self, *, dims: bool = True) -> _Node:
        lo = self._at()
        text = self._text()
        if text in _PRIMITIVES:
            self._take()
        elif self._is_name() and text not in _NOT_TYPE_NAMES:
            self._take()
            if self._text() == "<":
                self._type_arguments()
            while self._text() == "." and self._is_name(1):
                self._take()
                self._take()
                if self._text() == "<":
                    self._type_arguments()
        else:
            raise self._error("expected a type")
        if dims:
            self._dimensions()
        return _Node("type", lo, self._end())

    def _type_arguments(self) -> None:
        self._expect("<")
        if self._text() == ">":
            self._take()
            return
        while True:
            if self._text() == "?":
                self._take()
                if self._text() in ("extends", "super"):
                    self._take()
                    self._type()
            else:
                self._type()
            if self._text() == "(":
                return  # tree-sitter supplies a MISSING '>' here
            if self._text() != ",":
                self._expect(">")
                return
            self._take()

    # -- expressions ---------------------------------------------------------------------------

    def _expression(self) -> _Node:
        quick = self._operand_alone()
        if quick is not None:
            return quick
        if self._is_lambda():
            return self._lambda()
        left = self._ternary()
        if self._assign_operator() and left.kind not in _ASSIGNABLE:
            raise self._error("cannot assign to this")
        return self._assigned(left)

    def _operand_alone(self) -> _Node | None:
        """`name=literal` or a literal alone, right before `,` or `)`: the common argument, in short.

        Returns the node the full descent (`_ternary` ... `_primary`, then `_assigned`) makes
        for it, having consumed it; None, consuming nothing, for anything else.
        """
        p, texts = self.p, self.code_texts
        if p + 1 >= self.size:
            return None
        if texts[p + 1] in (",", ")"):
            return self._literal_alone(p)
        if texts[p + 1] != "=" or p + 3 >= self.size or texts[p + 3] not in (",", ")"):
            return None
        if self.code_kinds[p] != _WORD or texts[p] in _RESERVED:
            return None
        self.p = p + 2
        right = self._literal_alone(p + 2)
        if right is None:
            self.p = p
            return None
        i = self.code[p]
        node = _Node("assign", i, right.hi, [], _Node("ident", i, i + 1), right)
        node.open = node.close = self.code[p + 1]
        return node

    def _literal_alone(self, p: int) -> _Node | None:
        """The node of a literal or a name at `p` (the cursor), consumed; None if it is neither."""
        kind, text, i = self.code_kinds[p], self.code_texts[p], self.code[p]
        if kind == _NUM or (kind == _WORD and text in ("true", "false", "null", "this", "super")):
            node = _Node("lit", i, i + 1)
        elif kind == _STR:
            node = _Node("str", i, i + 1)
        elif kind == _CHR:
            node = _Node("chr", i, i + 1)
        elif kind == _WORD and text not in _RESERVED:
            node = _Node("ident", i, i + 1)
        else:
            return None
        self.p = p + 1
        if kind == _STR:
            self._check_interpolations(text)  # after consuming it, as `_primary` does
        return node

    def _assigned(self, left: _Node) -> _Node:
        """`left = ...` if an assignment operator follows an assignable `left`, else `left`.

        tree-sitter-java lets an assignment stand wherever an operand may (`-b=2` is `-(b=2)`,
        `a<b=1` is `a<(b=1)`), so this is tried after every operand, not only at the top.
        """
        count = self._assign_operator()
        if not count or left.kind not in _ASSIGNABLE:
            return left
        first = self._take()
        for _ in range(count - 1):
            self._take()
        last = self.code[self.p - 1]
        right = self._expression()
        node = _Node("assign", left.lo, right.hi, _kids(left, right), left, right)
        node.open, node.close = first, last
        return node

    def _adjacent_gts(self) -> int:
        """How many `>` tokens touch each other from here (`>>` is lexed as two, for generics)."""
        count = 0
        while self._text(count) == ">" and (
            count == 0 or self.ends[self._at(count - 1)] == self.starts[self._at(count)]
        ):
            count += 1
        return count

    def _touching_equals(self, count: int) -> bool:
        i = self._at(count)
        return i >= 0 and self.texts[i] == "=" and self.ends[self._at(count - 1)] == self.starts[i]

    def _assign_operator(self) -> int:
        """The number of tokens of an assignment operator here (`>>=` is three), else 0."""
        text = self._text()
        if text in _ASSIGN_OPS:
            return 1
        if text == ">":
            gts = self._adjacent_gts()
            if gts in (2, 3) and self._touching_equals(gts):
                return gts + 1
        return 0

    def _binary_operator(self) -> tuple[int, int]:
        """(precedence, token count) of a binary operator here, or (0, 0)."""
        text = self._text()
        if text == ">":
            gts = min(self._adjacent_gts(), 3)
            equals = self._touching_equals(gts)
            if gts >= 2:
                return (0, 0) if equals else (8, gts)
            return (7, 2) if equals else (7, 1)
        precedence = _BINARY_PRECEDENCE.get(text, 0)
        return (precedence, 1) if precedence else (0, 0)

    def _ternary(self) -> _Node:
        condition = self._binary(1)
        if self._text() != "?":
            return condition
        self._take()
        yes = self._expression()
        self._expect(":")
        no = self._expression()
        return _Node("expr", condition.lo, no.hi, _kids(condition, yes, no))

    def _binary(self, min_precedence: int) -> _Node:
        left = self._unary()
        while True:
            precedence, count = self._binary_operator()
            if not count or precedence < min_precedence:
                return left
            is_instanceof = self._text() == "instanceof"
            for _ in range(count):
                self._take()
            if is_instanceof:
                if self._text() == "final":
                    self._take()
                right = self._type()
                if self._is_name():
                    self._take()
                    right = _Node("type", right.lo, self._end())
            else:
                right = self._assigned(self._binary(precedence + 1))
            left = _Node("expr", left.lo, right.hi, _kids(left, right))

    def _unary(self) -> _Node:
        text = self._text()
        if self._kind() == _OP and text in ("+", "-", "!", "~", "++", "--"):
            lo = self._take()
            operand = self._assigned(self._unary())
            return _Node("expr", lo, operand.hi, _kids(operand))
        if text == "(" and self._is_cast():
            lo = self._take()
            self._type()
            while self._text() == "&":
                self._take()
                self._type()
            self._expect(")")
            operand = self._lambda() if self._is_lambda() else self._assigned(self._unary())
            return _Node("expr", lo, operand.hi, _kids(operand))
        node = self._primary()
        while self._text() in ("++", "--"):
            self._take()
            node = _Node("expr", node.lo, self._end(), _kids(node))
        return node

    def _is_cast(self) -> bool:
        save = self.p
        try:
            self._take()
            primitive = self._text() in _PRIMITIVES
            self._type()
            while self._text() == "&":
                self._take()
                self._type()
            if self._text() != ")":
                return False
            self._take()
            if primitive:
                return True
            kind = self._kind()
            return (
                kind in (_NUM, _STR, _CHR)
                or (kind == _WORD and self._text() != "instanceof")
                or (self._text() in ("(", "!", "~"))
            )
        except DecodeError:
            return False
        finally:
            self.p = save

    def _is_lambda(self) -> bool:
        if self._is_name() and self._text(1) == "->":
            return True
        if self._text() != "(":
            return False
        depth, k = 0, 0
        while True:
            text = self._text(k)
            if not text:
                return False
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
                if depth == 0:
                    return self._text(k + 1) == "->"
            k += 1

    def _lambda(self) -> _Node:
        lo = self._at()
        if self._text() == "(":
            self._take()
            while self._text() != ")":
                if self._text() == "final":
                    self._take()
                if not (self._is_name() and self._text(1) in (",", ")")):
                    self._type()
                    if self._text() == "...":
                        self._take()
                if not self._is_name():
                    raise self._error("expected a lambda parameter")
                self._take()
                if self._text() != ",":
                    break
                self._take()
            self._expect(")")
        else:
            self._take()
        self._expect("->")
        body = self._block() if self._text() == "{" else self._expression()
        return _Node("expr", lo, body.hi, _kids(body))

    def _primary(self) -> _Node:
        i = self._at()
        if i < 0:
            raise self._error("an expression is missing")
        kind, text = self.kinds[i], self.texts[i]
        node: _Node
        if kind == _NUM:
            self._take()
            node = _Node("lit", i, i + 1)
        elif kind == _STR:
            self._take()
            self._check_interpolations(self.texts[i])
            node = _Node("str", i, i + 1)
        elif kind == _CHR:
            self._take()
            node = _Node("chr", i, i + 1)
        elif kind == _WORD:
            node = self._word_primary(i, text)
        elif text == "(":
            self._take()
            self.closers.append("paren")
            inner = self._expression()
            self._close("paren")
            node = _Node("paren", i, self._end(), _kids(inner))
        else:
            raise self._error("expected an expression")
        return self._selectors(node)

    def _check_interpolations(self, literal: str) -> None:
        r"""Fail on a string template `\{...}` whose inside is not an expression, as tree-sitter does."""
        start = literal.find("\\{")
        while start >= 0:
            if (len(literal[:start]) - len(literal[:start].rstrip("\\"))) % 2 == 0:
                depth, end = 0, start + 2
                while end < len(literal) and (literal[end] != "}" or depth):
                    depth += {"{": 1, "}": -1}.get(literal[end], 0)
                    end += 1
                inner = _Parser(literal[start + 2 : end])
                inner._expression()
                if inner._at() >= 0 or end >= len(literal):
                    raise self._error("a string template holds no valid expression")
            start = literal.find("\\{", start + 2)

    def _word_primary(self, i: int, text: str) -> _Node:
        if text in ("true", "false", "null", "this", "super"):
            self._take()
            return _Node("lit", i, i + 1)
        if text == "new":
            return self._creation()
        if text in _PRIMITIVES or text == "void":
            self._take()
            return self._type_literal(i)
        if text in _RESERVED:
            raise self._error("unsupported expression")
        if self._text(1) == "(":
            self._take()
            return self._call(i, None, i)
        self._take()
        if self._text() == "[" and self._text(1) == "]":
            return self._type_literal(i)
        return _Node("ident", i, i + 1)

    def _type_literal(self, lo: int) -> _Node:
        """`int.class`, `String[].class` or the type of a method reference such as `int[]::new`."""
        self._dimensions()
        if self._text() == "." and self._text(1) == "class":
            self._take()
            self._take()
            return _Node("classlit", lo, self._end())
        if self._text() == "::":
            return _Node("type", lo, self._end())
        raise self._error("expected '.class'")

    def _selectors(self, node: _Node) -> _Node:
        while True:
            text = self._text()
            if text == ".":
                node = self._member(node)
            elif text == "[":
                self._take()
                self.closers.append("index")
                index = self._expression()
                self._close("index")
                node = _Node("index", node.lo, self._end(), _kids(node, index))
            elif text == "::":
                self._take()
                if not (self._is_name() or self._text() == "new"):
                    raise self._error("expected a method name")
                self._take()
                node = _Node("expr", node.lo, self._end(), _kids(node))
            else:
                return node

    def _member(self, node: _Node) -> _Node:
        following = self._text(1)
        if following == "class":
            if node.kind not in ("ident", "name"):
                raise self._error("'.class' needs a type name")
            self._take()
            self._take()
            return _Node("classlit", node.lo, self._end())
        if following == "this" or self._kind(1) == _STR:  # `Outer.this`, or a template `STR."..."`
            self._take()
            self._check_interpolations(self.texts[self._take()])
            return _Node("expr", node.lo, self._end(), _kids(node))
        self._take()
        if self._text() == "<":
            self._type_arguments()
            if not (self._is_name() and self._text(1) == "("):
                raise self._error("expected a generic method call")
        if not self._is_name():
            raise self._error("expected a member name")
        name = self._take()
        if self._text() == "(":
            return self._call(node.lo, node, name)
        kind = "name" if node.kind in ("ident", "name") else "field"
        return _Node(kind, node.lo, self._end(), _kids(node))

    def _call(self, lo: int, target: _Node | None, name: int) -> _Node:
        items, open_, close = self._arguments()
        node = _Node("call", lo, close + 1, None, target, _Node("name", name, name + 1))
        node.items, node.open, node.close = items, open_, close
        self.calls.append(node)
        return node

    def _arguments(self) -> tuple[list[_Node], int, int]:
        open_ = self._expect("(")
        self.closers.append("args")
        items: list[_Node] = []
        if self._text() != ")":
            while True:
                items.append(self._expression())
                if self._text() != ",":
                    break
                self._take()
        self._close("args")
        return items, open_, self.code[self.p - 1]

    def _creation(self) -> _Node:
        lo = self._take()
        if self._text() == "<":
            raise self._error("unsupported generic constructor")
        primitive = self._text() in _PRIMITIVES
        type_node = self._type(dims=False)
        if self._text() == "[":
            if self._text(1) == "]":
                self._dimensions()
                if self._text() != "{":
                    raise self._error("expected an array initializer")
                init = self._array_initializer()
                return _Node("newarr", lo, init.hi, None, type_node, init)
            while self._text() == "[" and self._text(1) != "]":
                self._take()
                self.closers.append("index")
                self._expression()
                self._close("index")
            self._dimensions()
            return _Node("newarr", lo, self._end(), None, type_node, None)
        if primitive:
            raise self._error("expected '['")
        items, open_, close = self._arguments()
        if self._text() == "{":
            self._class_body()
        node = _Node("newobj", lo, self._end(), None, type_node)
        node.items, node.open, node.close = items, open_, close
        return node

    def _array_initializer(self) -> _Node:
        lo = self._expect("{")
        self.closers.append("init")
        kids: list[_Node] = []
        while self._text() != "}":
            element = self._array_initializer() if self._text() == "{" else self._expression()
            kids.extend(_kids(element))
            if self._text() != ",":
                break
            self._take()
        self._close("init")
        return _Node("init", lo, self._end(), kids)

    def _class_body(self) -> None:
        """An anonymous class body: parsed for validity and its calls, then dropped by the rendering."""
        self._expect("{")
        self.closers.append("block")
        while self._text() not in ("}", ")", "]", ""):
            if self._text() == ";":
                self._take()
            elif self._text() == "{":
                self._block()
            elif self._text() == "static" and self._text(1) == "{":
                self._take()
                self._block()
            else:
                self._class_member()
        self._close("block")

    def _class_member(self) -> None:
        self._modifiers()
        if self._text() == "void":
            self._take()
        else:
            self._type()
        if not self._is_name():
            raise self._error("expected a member name")
        self._take()
        if self._text() != "(":
            self._dimensions()
            while True:
                if self._text() == "=":
                    self._take()
                    _ = self._array_initializer() if self._text() == "{" else self._expression()
                if self._text() != ",":
                    break
                self._take()
                if not self._is_name():
                    raise self._error("expected a field name")
                self._take()
                self._dimensions()
            self._expect(";")
            return
        self._take()
        while self._text() != ")":
            self._modifiers()
            self._type()
            if self._text() == "...":
                self._take()
            if not self._is_name():
                raise self._error("expected a parameter name")
            self._take()
            self._dimensions()
            if self._text() != ",":
                break
            self._take()
        self._expect(")")
        if self._text() == "throws":
            self._take()
            self._type()
            while self._text() == ",":
                self._take()
                self._type()
        if self._text() == ";":
            self._take()
        else:
            self._block()

    # -- result --------------------------------------------------------------------------------

    def result(self) -> Any:
        """BFCL's decoded form for the first method invocation in pre-order, or `{}` if none."""
        if not self.calls:
            return {}
        call = min(self.calls, key=lambda c: (c.lo, -c.hi))
        assert call.b is not None
        name = self._slice(call.b.lo, call.b.hi)
        if call.a is not None:
            name = f"{self._slice(call.a.lo, call.a.hi)}.{name}"
        arguments: dict[str | None, str] = {}
        repeated = False
        for item in call.items:
            key: str | None
            if item.kind == "assign":
                key, value = self._assignment(item)
            elif item.kind in ("ident", "classlit"):
                key, value = None, self._render(item)
            else:
                continue
            repeated = repeated or key in arguments
            arguments[key] = value
        if repeated:
            raise DecodeError(
                "an argument is given twice (or two bare identifiers), which BFCL's Java decoder rejects"
            )
        return [{name: arguments}]

    def _assignment(self, node: _Node) -> tuple[str, str]:
        """BFCL takes the assignment's children 0 and 2, which comments between them can shift."""
        assert node.a is not None and node.b is not None
        left, right = node.a, node.b
        name = self._slice(left.lo, left.hi)
        before = [j for j in range(left.hi, node.open) if self.kinds[j] == _COMMENT]
        if before:
            third = before[1] if len(before) > 1 else -1
            return name, self._slice(third, third + 1) if third >= 0 else self._slice(
                node.open, node.close + 1
            )
        after = [j for j in range(node.close + 1, right.lo) if self.kinds[j] == _COMMENT]
        if after:
            return name, self._slice(after[0], after[0] + 1)
        return name, self._render(right, top=True)

    def _slice(self, lo: int, hi: int) -> str:
        return self.src[self.bstarts[lo] : self.bends[hi - 1]]

    def _render(self, node: _Node, *, top: bool = False) -> str:
        kind = node.kind
        if kind in ("str", "chr"):
            text = self._slice(node.lo, node.hi)
            return text[1:-1] if top else text
        if kind in ("call", "classlit"):
            return self._slice(node.lo, node.hi)
        if kind == "newarr":
            if node.b is None:
                raise DecodeError("BFCL's Java decoder fails on an array creation without an initializer")
            assert node.a is not None
            return f"new {self._render(node.a)}[]{self._render(node.b)}"
        if kind == "newobj":
            assert node.a is not None
            return f"new {self._render(node.a)}({', '.join(self._constructor_arguments(node))})"
        parts: list[str] = []
        j = node.lo
        for kid in node.kids:
            parts.extend(self.src[self.bstarts[t] : self.bends[t]] for t in range(j, kid.lo))
            parts.append(self._render(kid))
            j = kid.hi
        parts.extend(self.src[self.bstarts[t] : self.bends[t]] for t in range(j, node.hi))
        return "".join(parts)

    def _constructor_arguments(self, node: _Node) -> list[str]:
        """Every child of the argument list but `(`, `)` and `,`: the arguments and any comments."""
        out: list[str] = []
        pending = iter(node.items)
        item = next(pending, None)
        j = node.open + 1
        while j < node.close:
            if item is not None and j == item.lo:
                out.append(self._render(item))
                j = item.hi
                item = next(pending, None)
                continue
            if self.kinds[j] == _COMMENT:
                out.append(self._slice(j, j + 1))
            j += 1
        return out


# ---------------------------------------------------------------------------------------------
# Value conversion (BFCL's java_type_converter)

# `re.match` with a trailing `$`, as BFCL uses them: anchored at the start, and `$` also matches
# before a final newline.
_INTEGER: Final = re.compile(r"-?\d+$")
_FLOAT: Final = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[fF]$")
_DOUBLE: Final = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_LONG: Final = re.compile(r"-?\d+[lL]$")
_FLOAT_SUFFIX: Final = re.compile(r"[fF]$")
_LONG_SUFFIX: Final = re.compile(r"[lL]$")
# Collections are found anywhere in the text (`re.search`).
_ARRAYLIST_OF: Final = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_ARRAYLIST_ADDED: Final = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_ADD: Final = re.compile(r"add\((.+?)\)")
_ARRAYLIST_EMPTY: Final = re.compile(r"new\s+ArrayList<\w*>\(\)")
_ARRAY: Final = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_HASHMAP_FILLED: Final = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_PUT: Final = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_HASHMAP_EMPTY: Final = re.compile(r"new\s+HashMap<.*?>\s*\(\)")


def convert_java(value: str, type_name: str, nested_type: str | None = None) -> Any:
    """Convert Java source text by schema type, exactly as BFCL's `java_type_converter` does.

    Text that does not fit the type's literal form is returned unchanged (the type check then
    fails or, where the ground truth holds strings, passes as a "variable"). BFCL's quirks are
    kept: `long` needs an `L` and `float` an `f` suffix, a `char` is never converted, `Array`
    elements keep their quotes while `ArrayList<String>` elements lose their first and last
    character, and `Set`, `Hashtable`, `Queue` and `Stack` raise NotImplementedError.
    """
    if type_name not in JAVA_TYPES:
        raise ValueError(f"Unsupported type: {type_name}")
    if type_name in ("byte", "short", "integer"):
        return int(value) if _INTEGER.match(value) else value
    if type_name == "float":
        return float(_FLOAT_SUFFIX.sub("", value)) if _FLOAT.match(value) else value
    if type_name == "double":
        return float(value) if _DOUBLE.match(value) else value
    if type_name == "long":
        return int(_LONG_SUFFIX.sub("", value)) if _LONG.match(value) else value
    if type_name == "boolean":
        return value == "true" if value in ("true", "false") else value
    if type_name == "ArrayList":
        return _arraylist(value, nested_type)
    if type_name == "Array":
        return _array(value, nested_type)
    if type_name == "HashMap":
        return _hashmap(value)
    if type_name in ("Set", "Hashtable", "Queue", "Stack"):
        raise NotImplementedError(f"BFCL does not convert Java {type_name} values")
    # String, any, and char: BFCL's char pattern (`^'.$'`) can never match, so chars stay as written.
    return value


def _arraylist(value: str, nested_type: str | None) -> Any:
    found = _ARRAYLIST_OF.search(value)
    if found is not None:
        return [_arraylist_element(part.strip(), nested_type) for part in found.group(1).split(",")]
    found = _ARRAYLIST_ADDED.search(value)
    if found is not None:
        return [_arraylist_element(part.strip(), nested_type) for part in _ADD.findall(found.group(1))]
    if _ARRAYLIST_EMPTY.search(value) is not None:
        return []
    return value


def _arraylist_element(text: str, nested_type: str | None) -> Any:
    if nested_type in ("char", "String"):
        return text[1:-1]
    return convert_java(text, nested_type) if nested_type else _java_literal(text)


def _array(value: str, nested_type: str | None) -> Any:
    found = _ARRAY.search(value)
    if found is None:
        return value
    parts = [part.strip() for part in found.group(1).split(",")]
    if nested_type:
        return [convert_java(part, nested_type) for part in parts if part]
    return [_java_literal(part) for part in parts if part]


def _hashmap(value: str) -> Any:
    found = _HASHMAP_FILLED.search(value)
    if found is not None:
        body = found.group(1)
        if not body.strip():
            return {}
        return {key: _java_literal(raw.strip()) for key, raw in _PUT.findall(body)}
    if _HASHMAP_EMPTY.search(value) is not None:
        return {}
    return value


def _java_literal(text: str) -> Any:
    """A Java literal whose type is not known: BFCL's `parse_java_value`."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _LONG.match(text):
        return int(text[:-1])
    if _FLOAT.match(text):
        return float(_FLOAT_SUFFIX.sub("", text))
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
