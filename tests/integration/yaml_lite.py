"""Reads the allow lists out of `sluice report` output without a YAML library (the test
machines have only the standard library): the shape is fixed by src/emit/report.c."""

import re


def allow_lists(text):
    """{agent name: [allow patterns]} from the report's `agents:` snippet. Commented-out
    entries are not patterns and are skipped."""
    out, agent, in_allow = {}, None, False
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        m = re.match(r"\s*- name:\s*(\S+)", line)
        if m:
            agent, in_allow = m.group(1).strip('"'), False
            out[agent] = []
            continue
        if re.match(r"\s*allow:\s*$", line):
            in_allow = True
            continue
        m = re.match(r"\s*-\s*\"?([^\"]+)\"?\s*$", line)
        if in_allow and agent and m:
            out[agent].append(m.group(1))
            continue
        if re.match(r"\s*[a-z_]+:", line):
            in_allow = False
    return out
