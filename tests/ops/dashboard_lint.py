"""Lints Grafana dashboards with the rules of Grafana's dashboard-linter (github.com/grafana/
dashboard-linter, whose Go module the proxy does not serve) plus what an import needs.

usage: python3 dashboard_lint.py DASHBOARD_DIR [PROVISIONING_YAML]

Rules, for every dashboard, variable, panel and target (not a fixed list, so a panel added later
is checked too):
  template-datasource-rule      one variable `datasource` (label "Data Source") of type datasource, query prometheus
  template-job-rule             a variable `job` (label job): Prometheus query on $datasource, multi, allValue .+
  template-instance-rule        the same for `instance`
  template-label-promql-rule    every label_values() is label_values(<selector>, <label>) with a valid selector
  template-on-time-change-reload-rule   query variables refresh on time range change (refresh 2)
  template-uneditable-rule      editable is false (provisioning sets allowUiUpdates: false)
  panel-datasource-rule         every panel and target uses ${datasource}
  panel-title-description-rule  every panel has a title and a description
  panel-units-rule              every panel that shows numbers has a unit Grafana knows
  panel-no-targets-rule         every panel has targets
  target-promql-rule            every expression has balanced (), [], {} and quotes, and no empty one
  target-rate-interval-rule     rate(), irate(), increase() range over [$__rate_interval]
  target-job-rule               every selector has job=~"$job"
  target-instance-rule          every selector has instance=~"$instance"
  import-rule                   __inputs offers a Prometheus datasource, id is null, uid is set and unique
Exclusions: a `.lint` file beside the dashboards, in the linter's own format:
  exclusions: {RULE: {reason: ..., entries: [{dashboard: TITLE, panel: TITLE}]}}
An exclusion without entries excludes the rule everywhere; every exclusion needs a reason.
Prints one line per problem and "dashboard_lint: N passed, M failed"; exits 1 on any problem.
"""
import glob
import json
import os
import re
import sys

import yaml

# Units of Grafana's value formats (packages/grafana-data/src/valueFormats/categories.ts) that
# these dashboards may use; extend the list when a panel needs another real one.
KNOWN_UNITS = {
    "none", "short", "percent", "percentunit", "s", "ms", "m", "h", "d", "dtdurations",
    "dtdurationms", "dateTimeAsIso", "dateTimeFromNow", "bytes", "decbytes", "reqps", "ops",
    "cps", "cpm", "opm", "reqpm", "rps", "wps", "iops", "eps", "mps", "epm", "mpm", "bool",
    "locale",
}
NUMERIC_PANELS = {"stat", "singlestat", "graph", "table", "timeseries", "gauge", "bargauge"}
DS_REFS = {"${datasource}", "$datasource"}
RATE_FUNCS = re.compile(r"\b(rate|irate|increase)\s*\(")
# A metric selector: a metric name (optionally with matchers) or bare {matchers}. Function and
# aggregation names, by()/without() label lists and keywords are not selectors.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk",
    "bottomk", "quantile", "count_values", "group", "inf", "nan",
}

problems = []
checks = 0


def report(rule, where, what):
    problems.append((rule, where, what))


def excluded(exclusions, rule, dashboard, panel=None):
    ex = exclusions.get(rule)
    if ex is None:
        return False
    entries = ex.get("entries")
    if not entries:
        return True
    return any(e.get("dashboard") == dashboard and (panel is None or e.get("panel") in (None, panel))
               for e in entries)


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def balanced(expr):
    s = strip_strings(expr)
    if s.count('"') % 2:
        return False
    stack, pairs = [], {")": "(", "]": "[", "}": "{"}
    for c in s:
        if c in "([{":
            stack.append(c)
        elif c in ")]}":
            if not stack or stack.pop() != pairs[c]:
                return False
    return not stack


def selectors(expr):
    """(name, matchers text) of every vector selector of a PromQL expression."""
    out = []
    s = expr
    i = 0
    # Skip label lists of by (...)/without (...)/on (...)/ignoring (...)/group_x (...).
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", lambda m: m.group(1), s)
    token = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})|([a-zA-Z_:][a-zA-Z0-9_:]*)')
    while i < len(s):
        if s[i] == '"':
            j = i + 1
            while j < len(s) and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            i = j + 1
            continue
        if s[i] == "[":  # a range or subquery duration
            i = s.index("]", i) + 1
            continue
        m = token.match(s, i)
        if not m or m.start() != i or (i > 0 and (s[i - 1].isalnum() or s[i - 1] in "_.$")):
            i += 1
            continue
        if m.group(2) is not None:
            out.append((m.group(1) or "", m.group(2)))
        else:
            name = m.group(3)
            rest = s[m.end():].lstrip()
            if name not in KEYWORDS and not rest.startswith("(") and not re.fullmatch(r"[0-9.e]+", name):
                out.append((name, ""))
        i = m.end()
    return out


def rate_ranges_ok(expr):
    """Every rate/irate/increase takes [$__rate_interval] as its range."""
    for m in RATE_FUNCS.finditer(expr):
        depth, j = 1, m.end()
        while j < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[j], 0)
            j += 1
        inner = expr[m.end():j - 1]
        ranges = re.findall(r"\[([^\]]*)\]", inner)
        if not ranges or ranges[-1] != "$__rate_interval":
            return False
    return True


def lint_dashboard(path, d, exclusions, uids):
    global checks
    title = d.get("title", os.path.basename(path))
    where = os.path.basename(path)

    def check(rule, ok, what, panel=None):
        global checks
        if excluded(exclusions, rule, title, panel):
            return
        checks += 1
        if not ok:
            report(rule, where + ("" if panel is None else " / " + panel), what)

    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds_vars = [v for v in variables.values() if v.get("type") == "datasource"]
    ds = variables.get("datasource", {})
    check("template-datasource-rule",
          len(ds_vars) == 1 and ds.get("type") == "datasource" and ds.get("query") == "prometheus"
          and ds.get("label") == "Data Source",
          "needs exactly one variable `datasource` (label \"Data Source\") of type datasource for prometheus")
    for name, rule in (("job", "template-job-rule"), ("instance", "template-instance-rule")):
        v = variables.get(name, {})
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        check(rule,
              v.get("type") == "query" and v.get("label") == name
              and (v.get("datasource") or {}).get("uid") in DS_REFS and "label_values(" in q
              and v.get("multi") is True and v.get("allValue") == ".+",
              "needs a query variable `%s` (label %s) on $datasource, multi, allValue .+" % (name, name))
    for v in variables.values():
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", q)
        check("template-label-promql-rule",
              m is not None and balanced(m.group(1)) and len(selectors(m.group(1))) == 1,
              "variable %s: %r is not label_values(<selector>, <label>)" % (v.get("name"), q))
        check("template-on-time-change-reload-rule", v.get("refresh") == 2,
              "variable %s must refresh on time range change (refresh: 2)" % v.get("name"))
        check("panel-datasource-rule", (v.get("datasource") or {}).get("uid") in DS_REFS,
              "variable %s must query ${datasource}" % v.get("name"))
    check("template-uneditable-rule", d.get("editable") is False,
          "editable must be false: the file is the source of truth (provisioning: allowUiUpdates false)")
    inputs = d.get("__inputs", [])
    check("import-rule",
          any(i.get("type") == "datasource" and i.get("pluginId") == "prometheus" for i in inputs)
          and "id" in d and d["id"] is None and bool(d.get("uid")) and d.get("uid") not in uids,
          "an importable dashboard has __inputs with a Prometheus datasource, id null and its own uid")
    uids.add(d.get("uid"))

    for p in d.get("panels", []):
        if p.get("type") == "row":
            continue
        pt = p.get("title") or "?"
        check("panel-title-description-rule", bool(p.get("title")) and bool(p.get("description")),
              "needs a title and a description", pt)
        check("panel-datasource-rule", (p.get("datasource") or {}).get("uid") in DS_REFS,
              "must use ${datasource}, not %r" % p.get("datasource"), pt)
        if p.get("type") in NUMERIC_PANELS:
            defaults = p.get("fieldConfig", {}).get("defaults", {})
            has_mappings = bool(defaults.get("mappings"))
            unit = defaults.get("unit")
            check("panel-units-rule", has_mappings or unit in KNOWN_UNITS,
                  "needs a unit Grafana knows (has %r)" % unit, pt)
        targets = p.get("targets", [])
        check("panel-no-targets-rule", bool(targets), "has no targets", pt)
        for t in targets:
            e = t.get("expr", "")
            ref = "%s (%s)" % (pt, t.get("refId", "?"))
            check("panel-datasource-rule", (t.get("datasource") or {}).get("uid") in DS_REFS,
                  "target %s must use ${datasource}" % t.get("refId"), pt)
            check("target-promql-rule", bool(e.strip()) and balanced(e),
                  "%r is not a well-formed expression" % e, pt)
            check("target-rate-interval-rule", rate_ranges_ok(e),
                  "rate/irate/increase must range over [$__rate_interval]: %s" % e, pt)
            sels = selectors(e)
            check("target-promql-rule", bool(sels), "no metric selector in %r" % e, pt)
            for name, matchers in sels:
                check("target-job-rule", re.search(r'\bjob\s*=~\s*"\$job"', matchers) is not None,
                      "%s: selector %s%s has no job=~\"$job\"" % (ref, name, matchers), pt)
                check("target-instance-rule",
                      re.search(r'\binstance\s*=~\s*"\$instance"', matchers) is not None,
                      "%s: selector %s%s has no instance=~\"$instance\"" % (ref, name, matchers), pt)


def main():
    folder = sys.argv[1]
    exclusions = {}
    lint_file = os.path.join(folder, ".lint")
    if os.path.exists(lint_file):
        exclusions = (yaml.safe_load(open(lint_file)) or {}).get("exclusions", {}) or {}
        for rule, ex in exclusions.items():
            if not (ex or {}).get("reason"):
                report("lint-file", ".lint", "exclusion of %s has no reason" % rule)
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not files:
        report("lint-file", folder, "no dashboards")
    uids = set()
    for f in files:
        try:
            d = json.load(open(f, encoding="utf-8"))
        except ValueError as e:
            report("json", os.path.basename(f), str(e))
            continue
        lint_dashboard(f, d, exclusions, uids)
    if len(sys.argv) > 2:
        prov = yaml.safe_load(open(sys.argv[2]))
        for p in prov.get("providers", []):
            if p.get("allowUiUpdates") is not False:
                report("template-uneditable-rule", sys.argv[2],
                       "provider %s: allowUiUpdates must be false like the dashboards' editable" % p.get("name"))
    for rule, where, what in problems:
        print("%s: %s: %s" % (where, rule, what))
    print("dashboard_lint: %d passed, %d failed" % (checks - len(problems), len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
