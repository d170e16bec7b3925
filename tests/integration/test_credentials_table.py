"""The table "Which credentials give which agent" of docs/config.md, run row by row against
sluice (issue 10 item 10). Each row names what the client sends and from where, and what
happens with and without a `default` agent; the test reads the table, maps each row to a
request, and asserts the documented outcome: the agent named in the log line (and a 200), or
the status (407 with Proxy-Authenticate, or 403) and the log rule. A row without a scenario, or
a scenario without a row, fails too."""

import base64
import os
import re

import pytest

from agents_util import SRC_CODER, SRC_RESEARCH, SRC_STRANGER, get_from, sha256_hex
from sluice_proc import Sluice

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADING = "### Which credentials give which agent"

TOKEN_CODER = "coder-token-1f2e3d"
TOKEN_CI = "ci-token-4c5b6a"
TOKEN_BETA = "beta-token-7d8e9f"
TOKEN_BUILDER = "builder-token-0a1b2c"
ENV_BETA = "SLUICE_TEST_TABLE_BETA"
ENV_BUILDER = "SLUICE_TEST_TABLE_BUILDER"

# The doc's ranges, as loopback sources: 10.1.0.0/24 is research's, 10.2.0.0/24 builder's.
FROM = {"research's range": SRC_RESEARCH, "builder's range": SRC_CODER,
        "elsewhere": SRC_STRANGER}


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


# (what the client sends, from) as the table writes them -> (config, Proxy-Authorization).
# Configs: "full" is the doc's, "sources" has only research (no token), "none" no agents.
SCENARIOS = {
    ("nothing", "research's range"): ("full", None),
    ("nothing", "builder's range"): ("full", None),
    ("nothing", "elsewhere"): ("full", None),
    ("nothing, and no agent of the config has a token", "elsewhere"): ("sources", None),
    ("`coder` : coder's token (`token_sha256`)", "elsewhere"):
        ("full", basic("coder", TOKEN_CODER)),
    ("`coder` : coder's token", "research's range"): ("full", basic("coder", TOKEN_CODER)),
    ("`ci` : the file's content without its final newline (`token_file`)", "elsewhere"):
        ("full", basic("ci", TOKEN_CI)),
    ("`ci` : the file's content with its final newline (a control byte)", "elsewhere"):
        ("full", basic("ci", TOKEN_CI + "\n")),
    ("`beta` : the value of `BETA_TOKEN` (`token_env`)", "elsewhere"):
        ("full", basic("beta", TOKEN_BETA)),
    ("`builder` : builder's token", "builder's range"): ("full", basic("builder", TOKEN_BUILDER)),
    ("`builder` : builder's token", "elsewhere"): ("full", basic("builder", TOKEN_BUILDER)),
    ("`coder` : a wrong token", "research's range"): ("full", basic("coder", "wrong")),
    ("`coder` : beta's token (valid for another agent, from another source)", "elsewhere"):
        ("full", basic("coder", TOKEN_BETA)),
    ("`nobody` : anything (a user name no agent has)", "research's range"):
        ("full", basic("nobody", "x")),
    ("`nobody` : anything", "elsewhere"): ("full", basic("nobody", "x")),
    ("`Coder` : coder's token (another case)", "elsewhere"): ("full", basic("Coder", TOKEN_CODER)),
    ("`research` : anything (an agent without a token)", "elsewhere"):
        ("full", basic("research", "x")),
    ("`Bearer abc` (not Basic)", "research's range"): ("full", "Bearer abc"),
    ("`Basic` with malformed base64, or base64 of a text without `:`", "elsewhere"):
        ("full", ["Basic %%%%", "Basic Y29kZXI=", "Basic", "Basic " + "QUFB" * 400 + "Og=="]),
    ("`Bearer abc`, and the config has no `agents`", "elsewhere"): ("none", "Bearer abc"),
}


def table_rows():
    """[(sends, from, with default, without default)] of the doc's table."""
    with open(os.path.join(ROOT, "docs", "config.md"), encoding="utf-8") as f:
        text = f.read()
    assert HEADING in text, "docs/config.md lost the section %r" % HEADING
    section = text.split(HEADING, 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| ---"):
            continue
        cells = [re.sub(r"\s+", " ", c.strip()) for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, line
        if cells[0].startswith("the client sends"):
            continue
        rows.append(tuple(cells))
    return rows


ROWS = table_rows()


def outcome(cell):
    """("agent", name), ("status", code, rule), or None for "—"."""
    if cell == "—":
        return None
    m = re.fullmatch(r"`([A-Za-z0-9._-]+)`", cell)
    if m:
        return ("agent", m.group(1))
    m = re.fullmatch(r"\*\*(407|403)\*\* `([^`]+)`", cell)
    assert m, "a result cell the test cannot read: %r" % cell
    return ("status", int(m.group(1)), m.group(2))


def agents(config, with_default, token_file):
    if config == "none":
        return None
    out = [{"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}}]
    if config == "full":
        out += [
            {"name": "coder", "match": {"token_sha256": sha256_hex(TOKEN_CODER)}},
            {"name": "ci", "match": {"token_file": token_file}},
            {"name": "beta", "match": {"token_env": ENV_BETA}},
            {"name": "builder", "match": {"source": [SRC_CODER + "/32"],
                                          "token_env": ENV_BUILDER}},
        ]
    if with_default:
        out.append({"name": "default"})
    return out


@pytest.fixture(scope="module")
def proxies(sluice_bin, harness, tmp_path_factory):
    """One sluice per (config, with default), started when first asked for."""
    workdir = tmp_path_factory.mktemp("credentials")
    token_file = workdir / "ci-token"
    token_file.write_text(TOKEN_CI + "\n")
    saved = {k: os.environ.get(k) for k in (ENV_BETA, ENV_BUILDER)}
    os.environ[ENV_BETA], os.environ[ENV_BUILDER] = TOKEN_BETA, TOKEN_BUILDER
    started = {}

    def get(config, with_default):
        key = (config, with_default)
        if key not in started:
            a = agents(config, with_default, str(token_file))
            s = Sluice(sluice_bin, str(workdir), config={"agents": a} if a else None,
                       name="%s-%s" % (config, "default" if with_default else "nodefault"))
            started[key] = s.start()
        return started[key]

    yield get
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    problems = [p for p in (s.stop() for s in started.values()) if p]
    assert not problems, problems


def test_every_row_has_a_scenario():
    keys = [(r[0], r[1]) for r in ROWS]
    assert len(keys) == len(set(keys)), "two rows say the same"
    assert set(keys) == set(SCENARIOS), (
        "rows without a scenario: %r; scenarios without a row: %r"
        % (sorted(set(keys) - set(SCENARIOS)), sorted(set(SCENARIOS) - set(keys))))


def assert_outcome(p, source, auth, want):
    mark = p.log_mark()
    r = get_from(p.addr, "http://public.test/echo", source, auth=auth)
    [e] = p.wait_logs(mark, count=1)
    if want[0] == "agent":
        assert r.status == 200, (auth, r.status, e)
        assert e["agent"] == want[1], (auth, e)
        return
    _, status, rule = want
    assert r.status == status, (auth, r.status, e)
    assert e["agent"] == "" and e["decision"] == "deny", e
    assert e["rule"] == rule, (auth, e)
    if status == 407:
        assert r.header("Proxy-Authenticate") == 'Basic realm="sluice"', r.headers
        assert e["reason"] == "auth_required", e
    else:
        assert e["reason"] == "unknown_agent", e


@pytest.mark.parametrize("row", ROWS, ids=["%s | %s" % (r[0], r[1]) for r in ROWS])
def test_credentials_table_row(row, proxies):
    sends, where, with_default, without_default = row
    config, auth = SCENARIOS[(sends, where)]
    for flag, cell in ((True, with_default), (False, without_default)):
        want = outcome(cell)
        if want is None:
            continue
        p = proxies(config, flag)
        for header in auth if isinstance(auth, list) else [auth]:
            assert_outcome(p, FROM[where], header, want)
