"""A strict HTML well-formedness check built on Python's html.parser (no validator is installed here).

It checks what a validator would reject in a page like ours: a doctype first, <html lang>, one <head> with a
<title> and charset, one <body>, every non-void element closed in order, no stray end tag, no duplicate id,
attributes not repeated, headings that do not skip a level. It returns the problems found (empty: valid).
"""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements whose end tag HTML lets be omitted: a validator accepts them open; we do not use that leniency.


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.seen_doctype = False
        self.first_thing = True
        self.ids: set[str] = set()
        self.counts: dict[str, int] = {}
        self.levels: list[int] = []
        self.html_lang = False
        self.charset = False

    def handle_decl(self, decl: str) -> None:
        if decl.lower() == "doctype html" and self.first_thing:
            self.seen_doctype = True
        else:
            self.problems.append(f"unexpected declaration {decl!r}")
        self.first_thing = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.first_thing:
            self.problems.append("no <!DOCTYPE html> first")
        self.first_thing = False
        names = [name for name, _value in attrs]
        if len(names) != len(set(names)):
            self.problems.append(f"<{tag}> repeats an attribute")
        values = dict(attrs)
        if "id" in values:
            if values["id"] in self.ids:
                self.problems.append(f"duplicate id {values['id']!r}")
            self.ids.add(str(values["id"]))
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag == "html" and values.get("lang"):
            self.html_lang = True
        if tag == "meta" and "charset" in values:
            self.charset = True
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            level = int(tag[1])
            if self.levels and level > max(self.levels) + 1:
                self.problems.append(f"<{tag}> skips a heading level")
            self.levels.append(level)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.problems.append(f"<{tag}/> is not a void element")
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void element </{tag}>")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open <{self.stack[-1] if self.stack else '(none)'}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and self.first_thing:
            self.problems.append("text before the doctype")


def problems(html: str) -> list[str]:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    found = list(checker.problems)
    if not checker.seen_doctype:
        found.append("no doctype")
    if checker.stack:
        found.append(f"unclosed: {checker.stack}")
    for tag in ("html", "head", "body", "title"):
        if checker.counts.get(tag) != 1:
            found.append(f"expected one <{tag}>, found {checker.counts.get(tag, 0)}")
    if not checker.html_lang:
        found.append("<html> has no lang")
    if not checker.charset:
        found.append("no <meta charset>")
    if checker.counts.get("h1") != 1:
        found.append("expected one <h1>")
    return found
