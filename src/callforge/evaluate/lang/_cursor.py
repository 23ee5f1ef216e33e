"""The token cursor both hand-written parsers (Java, JavaScript) walk their token lists with."""

from __future__ import annotations

from callforge.core import DecodeError


class TokenCursor:
    """Position over the non-comment tokens; subclasses fill the token lists and name the language.

    `code` indexes the tokens that are not comments; `p` is the cursor into `code`. Lookups past
    either end give -1 / "" instead of raising, so grammar rules can peek freely. Subclasses call
    `_index_code` once their token lists are complete.
    """

    LANGUAGE = ""
    src: str
    kinds: list[int]
    starts: list[int]
    texts: list[str]
    code: list[int]
    p: int
    # The texts and kinds of the tokens in `code`, by position in `code`: the parsers peek at
    # them all the time, so each peek is a single index.
    code_texts: list[str]
    code_kinds: list[int]
    size: int

    def _index_code(self) -> None:
        self.code_texts = [self.texts[i] for i in self.code]
        self.code_kinds = [self.kinds[i] for i in self.code]
        self.size = len(self.code)

    def _at(self, k: int = 0) -> int:
        j = self.p + k
        return self.code[j] if 0 <= j < self.size else -1

    def _text(self, k: int = 0) -> str:
        j = self.p + k
        return self.code_texts[j] if 0 <= j < self.size else ""

    def _kind(self, k: int = 0) -> int:
        j = self.p + k
        return self.code_kinds[j] if 0 <= j < self.size else -1

    def _take(self) -> int:
        p = self.p
        if not 0 <= p < self.size:
            raise self._error("the text ends too early")
        self.p = p + 1
        return self.code[p]

    def _expect(self, text: str) -> int:
        if self._text() != text:
            raise self._error(f"expected {text!r}")
        return self._take()

    def _end(self) -> int:
        """One past the last consumed token: the `hi` of a node that ends here."""
        return self.code[self.p - 1] + 1

    def _error(self, what: str) -> DecodeError:
        i = self._at()
        where = f"at offset {self.starts[i]} ({self.texts[i]!r})" if i >= 0 else "at the end"
        return DecodeError(f"not a {self.LANGUAGE} call that BFCL can parse: {what} {where}")
