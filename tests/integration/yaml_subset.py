"""A small, strict reader for the YAML that deploy/ is written in, so that the structure tests
need only the Python standard library (PyYAML is not a build dependency).

It reads: block mappings and sequences (including `- key: value` items), plain, 'single'
and "double" quoted scalars, flow collections of those (`[a, "b"]`, `{k: v}`, nested), literal
block scalars (`|`, `|-`) and comments. It does NOT read, and refuses with the line number rather
than guessing: anchors, aliases, tags, merge keys, folded scalars, multi-line plain or quoted
scalars, several documents, tab indentation and duplicate keys. Plain `yes`/`no`/`on`/`off`
are refused too: YAML 1.1 readers (Compose, kubectl) take them as booleans, 1.2 readers as
text, so a deploy file must quote them or write true/false. A number with a leading zero
(`0644`) is refused for the same reason (octal in YAML 1.1).
"""

import re


class YAMLSubsetError(ValueError):
    def __init__(self, lineno, message):
        super().__init__("line %d: %s" % (lineno, message))
        self.lineno = lineno


_AMBIGUOUS_BOOL = {"yes", "no", "on", "off", "y", "n"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_OCTAL_LOOKING = re.compile(r"[-+]?0[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0",
            " ": " ", "e": "\x1b", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _plain(text, lineno):
    """The value of a plain scalar (already stripped of comments and surrounding spaces)."""
    if text == "" or text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text.lower() in _AMBIGUOUS_BOOL:
        raise YAMLSubsetError(lineno, "plain %r is a boolean to YAML 1.1 readers and text to "
                              "YAML 1.2 ones: quote it or write true/false" % text)
    if text[0] in "&*!%@`|>":
        raise YAMLSubsetError(lineno, "%r: anchors, aliases, tags, directives and block "
                              "indicators here are not supported" % text)
    if text == "<<":
        raise YAMLSubsetError(lineno, "merge keys (<<) are not supported")
    if _OCTAL_LOOKING.match(text):
        raise YAMLSubsetError(lineno, "%r has a leading zero (octal in YAML 1.1): quote it" % text)
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text.startswith(("- ", "? ")) or text in ("-", "?"):
        raise YAMLSubsetError(lineno, "unexpected %r" % text)
    return text


def _quoted(text, pos, lineno):
    """Reads the quoted scalar starting at text[pos]; returns (value, position after it)."""
    q = text[pos]
    out = []
    i = pos + 1
    while i < len(text):
        c = text[i]
        if q == "'":
            if c == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(c)
            i += 1
            continue
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text):
                break
            e = text[i + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                i += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(e)
            digits = text[i + 2:i + 2 + width] if width else ""
            if not width or len(digits) != width or not re.match(r"[0-9a-fA-F]+\Z", digits):
                raise YAMLSubsetError(lineno, "bad escape \\%s in a double-quoted scalar" % e)
            out.append(chr(int(digits, 16)))
            i += 2 + width
            continue
        out.append(c)
        i += 1
    raise YAMLSubsetError(lineno, "unterminated quoted scalar (multi-line quoted scalars are "
                          "not supported)")


def _strip_comment(text, lineno):
    """Removes a trailing comment. A '#' starts one at the start of the text or after a space,
    outside quotes; quotes count only where a scalar can start."""
    i = 0
    prev = " "
    while i < len(text):
        c = text[i]
        if c in "'\"" and prev in " [{,:-?":
            _, i = _quoted(text, i, lineno)
            prev = text[i - 1]
            continue
        if c == "#" and prev in " \t":
            return text[:i].rstrip()
        prev = c
        i += 1
    return text.rstrip()


class _Flow:
    """A flow collection on one line: [a, b], {k: v}, nested."""

    def __init__(self, text, lineno):
        self.text, self.pos, self.lineno = text, 0, lineno

    def error(self, message):
        raise YAMLSubsetError(self.lineno, "%s in flow collection %r" % (message, self.text))

    def skip(self):
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def peek(self):
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def node(self, in_map_key=False):
        c = self.peek()
        if c == "[":
            return self.seq()
        if c == "{":
            return self.map()
        if c in "'\"":
            value, self.pos = _quoted(self.text, self.pos, self.lineno)
            return value
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in ",]}":
                break
            if in_map_key and ch == ":" and self.text[self.pos + 1:self.pos + 2] in (" ", ""):
                break
            if ch in "[{":
                self.error("unexpected %r" % ch)
            self.pos += 1
        return _plain(self.text[start:self.pos].strip(), self.lineno)

    def seq(self):
        self.pos += 1
        out = []
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.node())
            c = self.peek()
            self.pos += 1
            if c == "]":
                return out
            if c != ",":
                self.error("expected ',' or ']'")

    def map(self):
        self.pos += 1
        out = {}
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            key = self.node(in_map_key=True)
            if self.peek() != ":":
                self.error("expected ':' after key %r" % key)
            self.pos += 1
            if self.peek() in (",", "}"):
                value = None
            else:
                value = self.node()
            if key in out:
                raise YAMLSubsetError(self.lineno, "duplicate key %r" % key)
            out[key] = value
            c = self.peek()
            self.pos += 1
            if c == "}":
                return out
            if c != ",":
                self.error("expected ',' or '}'")

    def parse(self):
        value = self.node()
        if self.peek() != "":
            self.error("unexpected text after the collection")
        return value


def _inline(text, lineno):
    """The value written after `key:` or `- ` on the same line."""
    if text.startswith(("[", "{")):
        return _Flow(text, lineno).parse()
    if text.startswith(("'", '"')):
        value, end = _quoted(text, 0, lineno)
        if text[end:].strip():
            raise YAMLSubsetError(lineno, "unexpected text after a quoted scalar: %r" % text)
        return value
    return _plain(text, lineno)


def _split_key(text, lineno):
    """(key, rest) if text is `key: rest` / `key:`, else None."""
    if text.startswith(("'", '"')):
        key, end = _quoted(text, 0, lineno)
        rest = text[end:]
        if rest == ":" or rest.startswith(": "):
            return key, rest[1:].strip()
        return None
    if text.startswith(("[", "{")):
        return None
    m = re.match(r"([^:#]|:(?=\S))*?:( |\Z)", text)
    if not m or text.startswith(("- ", "? ")):
        return None
    key = text[:m.end()].rstrip()[:-1].rstrip()
    return _plain(key, lineno), text[m.end():].strip()


class _Reader:
    def __init__(self, text):
        if text.startswith("\ufeff"):
            text = text[1:]
        self.raw = text.split("\n")
        self.i = 0

    # Lines -------------------------------------------------------------------------------

    def line(self, i):
        """(indent, text without comment) of line i, or None for a blank or comment line."""
        raw = self.raw[i].rstrip("\r")
        stripped = raw.lstrip(" ")
        if stripped.startswith("\t") or (stripped and "\t" in raw[:len(raw) - len(stripped)]):
            raise YAMLSubsetError(i + 1, "tab in indentation")
        text = _strip_comment(stripped, i + 1)
        if not text:
            return None
        return len(raw) - len(stripped), text

    def next_content(self):
        """Skips blank and comment lines; returns (indent, text) of the next line or None."""
        while self.i < len(self.raw):
            ln = self.line(self.i)
            if ln is not None:
                if ln[1] in ("---", "...") or ln[1].startswith(("--- ", "%")):
                    if ln[1] == "---" and self.i == self._first_content:
                        self.i += 1
                        continue
                    raise YAMLSubsetError(self.i + 1, "one document per file; directives and "
                                          "document markers are not supported")
                return ln
            self.i += 1
        return None

    # Nodes -------------------------------------------------------------------------------

    def document(self):
        self._first_content = None
        for j in range(len(self.raw)):
            if self.line(j) is not None:
                self._first_content = j
                break
        ln = self.next_content()
        if ln is None:
            return None
        value = self.node(ln[0])
        rest = self.next_content()
        if rest is not None:
            raise YAMLSubsetError(self.i + 1, "unexpected text (indentation?): %r" % rest[1])
        return value

    def node(self, indent):
        ind, text = self.next_content()
        if ind != indent:
            raise YAMLSubsetError(self.i + 1, "bad indentation")
        if text == "-" or text.startswith("- "):
            return self.seq(indent)
        if _split_key(text, self.i + 1) is not None:
            return self.map(indent)
        self.i += 1
        return _inline(text, self.i)

    def block_scalar(self, parent_indent, header, lineno):
        if header not in ("|", "|-"):
            raise YAMLSubsetError(lineno, "only literal block scalars (| and |-) are supported")
        lines = []
        block_indent = None
        while self.i < len(self.raw):
            raw = self.raw[self.i].rstrip("\r")
            body = raw.lstrip(" ")
            ind = len(raw) - len(body)
            if body == "":
                lines.append("")
                self.i += 1
                continue
            if block_indent is None:
                if ind <= parent_indent:
                    break
                if body.startswith("\t"):
                    raise YAMLSubsetError(self.i + 1, "tab in indentation")
                block_indent = ind
            if ind < block_indent:
                break
            lines.append(raw[block_indent:])
            self.i += 1
        while lines and lines[-1] == "":
            lines.pop()
        text = "\n".join(lines)
        return text if header == "|-" else text + "\n"

    def value_after_indicator(self, indent, rest, lineno):
        """The value of `key: rest` or `- rest` whose line has the given indent."""
        if rest in ("|", "|-", ">", ">-", "|+", ">+"):
            self.i += 1
            return self.block_scalar(indent, rest, lineno)
        if rest:
            self.i += 1
            return _inline(rest, lineno)
        self.i += 1
        ln = self.next_content()
        if ln is None:
            return None
        ind, text = ln
        if ind > indent:
            return self.node(ind)
        return None

    def map(self, indent):
        out = {}
        while True:
            ln = self.next_content()
            if ln is None or ln[0] < indent:
                return out
            ind, text = ln
            lineno = self.i + 1
            if ind > indent:
                raise YAMLSubsetError(lineno, "bad indentation")
            kv = _split_key(text, lineno)
            if kv is None:
                if text == "-" or text.startswith("- "):
                    return out
                raise YAMLSubsetError(lineno, "expected `key: value`, got %r" % text)
            key, rest = kv
            if isinstance(key, (list, dict)) or key is None:
                raise YAMLSubsetError(lineno, "keys must be scalars")
            if key in out:
                raise YAMLSubsetError(lineno, "duplicate key %r" % key)
            if rest:
                out[key] = self.value_after_indicator(indent, rest, lineno)
                continue
            # `key:` then a nested node: deeper, or a sequence at the same indent.
            self.i += 1
            nxt = self.next_content()
            if nxt is not None and nxt[0] > indent:
                out[key] = self.node(nxt[0])
            elif nxt is not None and nxt[0] == indent and (nxt[1] == "-" or
                                                          nxt[1].startswith("- ")):
                out[key] = self.seq(indent)
            else:
                out[key] = None

    def seq(self, indent):
        out = []
        while True:
            ln = self.next_content()
            if ln is None or ln[0] != indent or not (ln[1] == "-" or ln[1].startswith("- ")):
                if ln is not None and ln[0] > indent:
                    raise YAMLSubsetError(self.i + 1, "bad indentation")
                return out
            lineno = self.i + 1
            body = ln[1][1:]
            item = body.lstrip(" ")
            item_indent = indent + 1 + (len(body) - len(item))
            if item == "":
                out.append(self.value_after_indicator(indent, "", lineno))
            elif item == "-" or item.startswith("- ") or _split_key(item, lineno) is not None:
                # `- key: v` / `- - x`: the item is a block node that starts at item_indent.
                raw = self.raw[self.i]
                self.raw[self.i] = " " * item_indent + raw.lstrip(" ")[len(ln[1]) - len(item):]
                out.append(self.node(item_indent))
            else:
                out.append(self.value_after_indicator(indent, item, lineno))


def loads(text):
    """The value of one YAML document written in the subset above."""
    return _Reader(text).document()


def load(path):
    with open(path, encoding="utf-8") as f:
        return loads(f.read())
