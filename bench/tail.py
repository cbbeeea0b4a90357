#!/usr/bin/env python3
"""Which of a step's slow complaints were in flight during a pause of the broker's JVM.

    bench/tail.py SAMPLES.csv GC.log [--step N]

SAMPLES.csv is lapor-bench's --samples output (bench/run.sh writes one per run), GC.log the
broker's collector log with wall-clock times, written when the bench's broker is started with
    LAPOR_KAFKA_JVM_OPTS=-Xlog:gc:file=/tmp/gc.log:utctime bash bench/run.sh ...
A complaint is in flight from its scheduled send (its acceptance time less its submit latency)
to its delivery to the last agency. For thresholds of delivered latency (10, 15, 20 ms and the
step's p99) it prints how many complaints were slower and how many of those overlapped a pause,
against the share of the faster ones that did. The step is the last one in the file unless
--step says which (the CSV's step index).
"""
import argparse
import csv
import datetime
import re
import sys


def pauses(path):
    """(start, end) in Unix ms of each stop-the-world pause; -Xlog's utctime marks its end."""
    out = []
    line_re = re.compile(r'^\[(\S+?)\].*\bPause\b.*?([\d.]+)ms\s*$')
    with open(path) as f:
        for line in f:
            m = line_re.match(line.strip())
            if not m:
                continue
            end = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%f%z')
            end_ms = end.timestamp() * 1000
            out.append((end_ms - float(m.group(2)), end_ms))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('samples')
    ap.add_argument('gc_log')
    ap.add_argument('--step', type=int)
    a = ap.parse_args()
    with open(a.samples) as f:
        rows = [r for r in csv.DictReader(f) if r['delivered_ms']]
    if not rows:
        sys.exit(f'{a.samples}: no delivered complaint')
    if 'accepted_unix_ms' not in rows[0]:
        sys.exit(f'{a.samples}: no accepted_unix_ms column (a lapor-bench before it had one)')
    step = a.step if a.step is not None else max(int(r['step']) for r in rows)
    rows = [r for r in rows if int(r['step']) == step]
    if not rows:
        sys.exit(f'{a.samples}: no delivered complaint in step {step}')
    gc = pauses(a.gc_log)

    def window(r):
        start = int(r['accepted_unix_ms']) - float(r['submit_ms'])
        return start, start + float(r['delivered_ms'])

    def paused(r):
        s, e = window(r)
        return any(ps < e and pe > s for ps, pe in gc)

    lat = sorted(float(r['delivered_ms']) for r in rows)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    first = min(window(r)[0] for r in rows)
    last = max(window(r)[1] for r in rows)
    during = [p for p in gc if first <= p[0] <= last]
    mean = sum(e - s for s, e in during) / len(during) if during else 0
    print(f'step {step}: {len(rows)} complaints delivered in {(last - first) / 1000:.0f} s, '
          f'p99 {p99:.1f} ms; {len(during)} broker pauses, {mean:.1f} ms on average')
    for threshold in (10, 15, 20, p99):
        slow = [r for r in rows if float(r['delivered_ms']) > threshold]
        fast = [r for r in rows if float(r['delivered_ms']) <= threshold]
        if not slow or not fast:
            continue
        hit = sum(paused(r) for r in slow)
        print(f'  above {threshold:5.1f} ms: {len(slow):5d} complaints, {hit} in flight during a '
              f'pause ({100 * hit / len(slow):.0f}%); of the others '
              f'{100 * sum(paused(r) for r in fast) / len(fast):.1f}%')


if __name__ == '__main__':
    main()
