"""Examples that set the proxy variables set both spellings (issue 10 item 10). curl reads only
`http_proxy` for http:// URLs (the upper-case form is ignored there, a CGI safeguard), while
other tools read only the upper-case forms: an example with one spelling leaves some clients
going around sluice (where the network allows it) or failing (where it does not). Every
README, docs, deploy and examples file is scanned; an example is a fenced code block or a
paragraph of a Markdown file, or a whole file elsewhere. The test needs no sluice binary."""

import glob
import os
import re

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAIRS = [("HTTP_PROXY", "http_proxy"), ("HTTPS_PROXY", "https_proxy"),
         ("NO_PROXY", "no_proxy")]


def sets(text, var):
    """True when text assigns var: `VAR=...` (shell, docker -e, a URL in prose), a YAML key
    `VAR: ...`, or a Kubernetes `{name: VAR, value: ...}`. Mentions (`HTTP_PROXY`) are not."""
    v = re.escape(var)
    return bool(re.search(r"(?<![A-Za-z0-9_])%s\s*=" % v, text) or
                re.search(r"(?m)(?<![A-Za-z0-9_`-])%s:(\s|$)" % v, text) or
                re.search(r"name:\s*[\"']?%s[\"']?\s*[,}\n]" % v, text))


def markdown_units(text):
    """(first line, text) of each fenced code block and each paragraph outside them."""
    units, buf, start, fenced = [], [], 1, False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            if buf:
                units.append((start, "\n".join(buf)))
            buf, start, fenced = [], n + 1, not fenced
            continue
        if not fenced and not line.strip():
            if buf:
                units.append((start, "\n".join(buf)))
            buf, start = [], n + 1
            continue
        if not buf:
            start = n
        buf.append(line)
    if buf:
        units.append((start, "\n".join(buf)))
    return units


def scanned_files():
    paths = [os.path.join(ROOT, "README.md")]
    for top in ("docs", "deploy", "examples"):
        paths += [p for p in glob.glob(os.path.join(ROOT, top, "**", "*"), recursive=True)
                  if os.path.isfile(p) and not p.endswith(".png")]  # docs/console.png
    return sorted(paths)


def one_spelling(path):
    """'FILE:LINE: sets X without Y' for each example that sets one spelling only."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    units = markdown_units(text) if path.endswith(".md") else [(1, text)]
    rel = os.path.relpath(path, ROOT)
    out = []
    for line, unit in units:
        for upper, lower in PAIRS:
            has_upper, has_lower = sets(unit, upper), sets(unit, lower)
            if has_upper != has_lower:
                out.append("%s:%d: sets %s without %s" % (
                    rel, line, upper if has_upper else lower, lower if has_upper else upper))
    return out


@pytest.mark.parametrize("text, var, want", [
    ("HTTP_PROXY=http://sluice:3128", "HTTP_PROXY", True),
    ("  -e HTTP_PROXY=http://x:3128 \\", "HTTP_PROXY", True),
    ("export https_proxy=http://x", "https_proxy", True),
    ("      HTTP_PROXY: http://sluice:3128", "HTTP_PROXY", True),
    ("      NO_PROXY: \"\"", "NO_PROXY", True),
    ("  - {name: no_proxy, value: \"\"}", "no_proxy", True),
    ("  - name: HTTP_PROXY\n    value: http://x", "HTTP_PROXY", True),
    ("an HTTP forward proxy (`HTTP_PROXY`) and", "HTTP_PROXY", False),
    ("agent ──HTTP_PROXY──▶ sluice", "HTTP_PROXY", False),
    ("`HTTP_PROXY`/`HTTPS_PROXY` are a convenience", "HTTPS_PROXY", False),
    ("HTTPS_PROXY=http://x", "HTTP_PROXY", False),
    ("MY_HTTP_PROXY=x", "HTTP_PROXY", False),
])
def test_sets_reads_assignments_not_mentions(text, var, want):
    assert sets(text, var) is want


def test_markdown_units_split_code_blocks_and_paragraphs():
    text = "a HTTP_PROXY=x\nb\n\n```sh\nhttp_proxy=y\n\nz\n```\nc\n"
    assert markdown_units(text) == [(1, "a HTTP_PROXY=x\nb"), (5, "http_proxy=y\n\nz"),
                                    (9, "c")]


def test_examples_set_both_spellings_of_the_proxy_variables():
    files = scanned_files()
    assert any(p.endswith("compose.yaml") for p in files)
    found = [msg for path in files for msg in one_spelling(path)]
    assert not found, "examples setting one spelling of a proxy variable only:\n" + \
        "\n".join(found)
