"""Run the demo on Online Retail and put what it printed into the README (the demo's own numbers, never retyped).

Usage::

    python benchmarks/demo_report.py [--data PATH]

Runs ``darts-llm demo`` (``darts_llm.demo.run_demo``) into ``benchmarks/results/demo/`` and copies its
``comparison.md`` into ``benchmarks/results/demo.md`` and into the ``demo`` block of the repository README.
"""

from __future__ import annotations

import argparse
import sys
import time

from harness.panels import add_data_argument
from harness.report import RESULTS, ROOT_README, machine, replace_block

from darts_llm.demo import run_demo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    out = RESULTS / "demo"
    run_demo(str(args.data), output=str(out))
    comparison = (out / "comparison.md").read_text().strip().replace(str(args.data), args.data.name)
    body = comparison.replace("## ", "#### ")
    markdown = (f"### What `make demo` printed\n\n{body}\n\n*`python benchmarks/demo_report.py` ({machine()}; "
                f"{time.perf_counter() - started:.0f} s).*\n")
    (RESULTS / "demo.md").write_text(markdown)
    replace_block(ROOT_README, "demo", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
