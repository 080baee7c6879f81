#!/usr/bin/python3
"""check_metrics.py SOURCE_DIR DASHBOARD SCRAPE...: parses each /metrics scrape with
prometheus_client's exposition-format parser and checks swarmd's names against the Prometheus
conventions; then checks that every metric the Grafana dashboard queries exists.

Conventions (https://prometheus.io/docs/practices/naming/):
- every family has HELP and a TYPE (counter, gauge, histogram or summary), names are
  swarmd_ followed by lower-case snake case;
- counter samples end in _total and nothing else does;
- units are base units, as the name's suffix (before _total): _bytes, _seconds, _ratio; never
  milliseconds, kilobytes, percent and the like; a HELP text about bytes or seconds names them.
"""
import json
import pathlib
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("FAIL: python3-prometheus-client is not installed (scripts/setup.sh installs it)")
    sys.exit(1)

NAME = re.compile(r"^swarmd_[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NON_BASE_UNITS = {"ms", "millis", "milliseconds", "us", "microseconds", "ns", "minutes", "hours",
                  "kb", "kib", "mb", "mib", "gb", "gib", "kilobytes", "megabytes", "percent",
                  "pct", "bits"}
BASE_UNITS = {"bytes", "seconds", "ratio"}
KNOWN_TYPES = {"counter", "gauge", "histogram", "summary"}


def check_scrape(path, problems):
    text = pathlib.Path(path).read_text()
    if not text.strip():
        problems.append(f"{path}: empty scrape")
        return set()
    # The parser is lenient about comments; every HELP and TYPE line must also be well formed.
    typed, helped = {}, {}
    for line in text.splitlines():
        m = re.match(r"^# (HELP|TYPE) (\S+) ?(.*)$", line)
        if m:
            (helped if m[1] == "HELP" else typed)[m[2]] = m[3]
        elif line.startswith("#"):
            problems.append(f"{path}: stray comment line {line!r}")
    names = set()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and friends on malformed input
        problems.append(f"{path}: the exposition-format parser rejects the scrape: {e}")
        return names
    seen = set()
    for family in families:
        where = f"{path}: {family.name}"
        if family.name in seen:
            problems.append(f"{where}: the family appears twice")
        seen.add(family.name)
        if family.type not in KNOWN_TYPES:
            problems.append(f"{where}: type {family.type!r} (no # TYPE line?)")
        if not family.documentation.strip():
            problems.append(f"{where}: no HELP text")
        if not family.samples:
            problems.append(f"{where}: no samples")
        for sample in family.samples:
            names.add(sample.name)
            if not NAME.match(sample.name):
                problems.append(f"{where}: sample name {sample.name!r} is not swarmd_ snake case")
            if family.type == "counter" and not sample.name.endswith("_total"):
                problems.append(f"{where}: counter sample {sample.name!r} does not end in _total")
            if family.type != "counter" and sample.name.endswith("_total"):
                problems.append(f"{where}: {family.type} sample {sample.name!r} ends in _total")
            if sample.value != sample.value:  # NaN
                problems.append(f"{where}: {sample.name} is NaN")
        base = family.name[:-6] if family.name.endswith("_total") else family.name
        tokens = base.split("_")
        for token in tokens:
            if token in NON_BASE_UNITS:
                problems.append(f"{where}: unit {token!r} is not a base unit (seconds, bytes, ratio)")
        for unit in BASE_UNITS:
            if unit in tokens and tokens[-1] != unit:
                problems.append(f"{where}: the unit {unit!r} must be the name's suffix")
        doc = family.documentation.lower()
        if re.search(r"\bbytes\b", doc) and "bytes" not in tokens:
            problems.append(f"{where}: HELP speaks of bytes but the name has no _bytes")
        if re.search(r"\bseconds\b", doc) and "seconds" not in tokens:
            problems.append(f"{where}: HELP speaks of seconds but the name has no _seconds")
    # The parser normalises counter samples to end in _total, so the raw text is checked too:
    # what a scraper stores is the name written on the sample line.
    for name, kind in typed.items():
        if name not in helped:
            problems.append(f"{path}: {name} has # TYPE {kind} but no # HELP")
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"{path}: counter {name} does not end in _total")
        if kind != "counter" and name.endswith("_total"):
            problems.append(f"{path}: {kind} {name} ends in _total")
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if not m:
            problems.append(f"{path}: malformed sample line {line!r}")
            continue
        raw = m[1]
        declared = raw in typed or any(
            raw == base + suffix for base, kind in typed.items()
            for suffix in suffixes.get(kind, ()))
        if not declared:
            problems.append(f"{path}: sample {raw} has no # TYPE line of its own")
    return names


def dashboard_metrics(path):
    board = json.loads(pathlib.Path(path).read_text())
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(board)
    return exprs, {n for e in exprs for n in re.findall(r"\bswarmd_[a-z0-9_]+", e)}


def registered_in_sources(source_dir):
    names = set()
    for path in pathlib.Path(source_dir).glob("node/**/*.cpp"):
        names.update(re.findall(r'"(swarmd_[a-z0-9_]+)"', path.read_text()))
    return names


def main():
    source_dir, dashboard, scrapes = sys.argv[1], sys.argv[2], sys.argv[3:]
    problems = []
    scraped = set()
    for path in scrapes:
        scraped |= check_scrape(path, problems)
    exprs, wanted = dashboard_metrics(dashboard)
    if len(exprs) < 8:
        problems.append(f"{dashboard}: only {len(exprs)} queries")
    in_sources = registered_in_sources(source_dir)
    unscraped = []
    for name in sorted(wanted):
        if name in scraped:
            continue
        if name in in_sources:
            unscraped.append(name)  # e.g. SAPO-only metrics, exported by a SAPO node
        else:
            problems.append(f"{dashboard}: queries {name}, which swarmd does not export")
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print(f"{len(scraped)} sample names in {len(scrapes)} scrapes follow the conventions; "
          f"the dashboard's {len(exprs)} queries use {len(wanted)} metrics, "
          f"{len(wanted) - len(unscraped)} of them scraped here"
          + (f", the others registered in the sources: {', '.join(unscraped)}" if unscraped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
