"""Turns the runnable shell examples of Markdown files into one bash script per file.

A fenced block runs when its info string is exactly `sh` (or `bash`): such a block is a script a
reader may paste, and every command in it must succeed. `sh no-run` (any further words are the
reason, e.g. `sh no-run: starts a server that runs until stopped`), `console` (a transcript with
`$ ` prompts and output), `text`, `yaml`, `json`, ... and unlabelled blocks are never run.

The blocks of one file run in order in one shell, so a variable set in one block is there in
the next, as for a reader who follows the page.

usage: python3 doc_examples.py OUT_DIR FILE.md...   (prints the scripts written, one a line)
"""
import os
import re
import sys

FENCE = re.compile(r"^(```+|~~~+)\s*(.*)$")


def blocks(path):
    """(first line number, info string, text) of every fenced block."""
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2).strip()
        start = i + 1
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        out.append((start + 1, info, "\n".join(body)))
        i += 1
    return out


def runnable(info):
    return info in ("sh", "bash")


def main():
    out_dir, files = sys.argv[1], sys.argv[2:]
    for path in files:
        runs = [(line, text) for line, info, text in blocks(path) if runnable(info)]
        if not runs:
            continue
        name = path.replace("/", "_").replace(".md", "") + ".sh"
        script = os.path.join(out_dir, name)
        with open(script, "w", encoding="utf-8") as f:
            f.write("# The runnable examples of %s, in order.\n" % path)
            f.write("set -euo pipefail\n")
            f.write("trap 'echo \"%s:$_doc_line: this command failed: $BASH_COMMAND\" >&2' ERR\n" % path)
            for line, text in runs:
                f.write("\n_doc_line=%d\necho \"## %s:%d\" >&2\n%s\n" % (line, path, line, text))
        print(script)


if __name__ == "__main__":
    main()
