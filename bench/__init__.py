"""The benchmark harness: `make bench` (or `python -m bench`) measures the bot against baselines run
in the same session and writes BENCHMARKS.md. Every load goes to 127.0.0.1 and every loop is bounded."""
