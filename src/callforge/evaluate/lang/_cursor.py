"""The token cursor both hand-written parsers (Java, JavaScript) walk their token lists with."""

from __future__ import annotations

from callforge.core import DecodeError


class TokenCursor:
    """Position over the non-comment tokens; subclasses fill the token lists and name the language.

    `code` indexes the tokens that are not comments; `p` is the cursor into `code`. Lookups past
    either end give -1 / "" instead of raising, so grammar rules can peek freely.
    """

    LANGUAGE = ""
    src: str
    kinds: list[int]
    starts: list[int]
    texts: list[str]
    code: list[int]
    p: int

    def _at(self, k: int = 0) -> int:
        j = self.p + k
        return self.code[j] if 0 <= j < len(self.code) else -1

    def _text(self, k: int = 0) -> str:
        i = self._at(k)
        return self.texts[i] if i >= 0 else ""

    def _kind(self, k: int = 0) -> int:
        i = self._at(k)
        return self.kinds[i] if i >= 0 else -1

    def _take(self) -> int:
        i = self._at()
        if i < 0:
            raise self._error("the text ends too early")
        self.p += 1
        return i

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
