"""Every alerting rule links its runbook, and every link resolves to a heading of the page.

usage: python3 alert_runbooks.py REPO_ROOT RULES.yml...
An alert's annotations.runbook_url is "docs/<page>.md#<anchor>" (relative to the repository);
the anchor is the one GitHub and most Markdown renderers give the heading: lower case, spaces to
hyphens, punctuation dropped. Checks every rule of every group, not a fixed list.
"""
import os
import re
import sys

import yaml


def anchors(markdown):
    out = set()
    in_fence = False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            in_fence = not in_fence
        m = None if in_fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"[`*_]", "", m.group(1)).strip().lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text)))
    return out


def main():
    root, files = sys.argv[1], sys.argv[2:]
    passed, failed = 0, []
    for f in files:
        for group in (yaml.safe_load(open(f)) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" not in rule:
                    continue
                name = rule["alert"]
                url = (rule.get("annotations") or {}).get("runbook_url", "")
                m = re.fullmatch(r"(docs/[\w./-]+\.md)#([\w-]+)", url)
                if not m:
                    failed.append("%s: %s has no runbook_url docs/<page>.md#<heading> (%r)" % (f, name, url))
                    continue
                page = os.path.join(root, m.group(1))
                if not os.path.exists(page):
                    failed.append("%s: %s links %s, which does not exist" % (f, name, m.group(1)))
                elif m.group(2) not in anchors(open(page, encoding="utf-8").read()):
                    failed.append("%s: %s links #%s, no heading of %s" % (f, name, m.group(2), m.group(1)))
                else:
                    passed += 1
    for line in failed:
        print(line)
    print("alert_runbooks: %d passed, %d failed" % (passed, len(failed)))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
