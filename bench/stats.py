"""Summaries of repeated samples for the Python benches: a median with its spread."""

import statistics


def spread(samples, unit=" ms", scale=1000.0, digits=0):
    """`median 12 ms (p10 11, p90 14, min 10, max 15; n=7)` of seconds (scaled to `unit`)."""
    s = sorted(x * scale for x in samples)
    if not s:
        return "no samples"
    at = lambda q: s[int(round((len(s) - 1) * q))]
    f = lambda x: f"{x:.{digits}f}"
    return (f"median {f(statistics.median(s))}{unit} (p10 {f(at(0.1))}, p90 {f(at(0.9))}, "
            f"min {f(s[0])}, max {f(s[-1])}; n={len(s)})")
