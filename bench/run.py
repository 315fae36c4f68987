"""`make bench`: run every bench/bench_*.py module's `run()` and write its dict as JSON.

Each module exposes `run(quick: bool = False) -> dict`; results go to bench/results/<name>.json
with the machine, the date and the command, so a figure can always be traced to its run.
Usage: python -m bench.run [NAME ...] [--quick]
"""

import datetime
import importlib
import json
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def discover() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count()}


def run_one(name: str, quick: bool) -> dict:
    module = importlib.import_module(f"bench.bench_{name}")
    started = datetime.datetime.now(datetime.UTC)
    result = module.run(quick=quick)
    record = {"bench": name, "date": started.isoformat(timespec="seconds"),
              "command": f"python -m bench.run {name}" + (" --quick" if quick else ""),
              "machine": machine(), "result": result}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return record


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")] or discover()
    for name in names:
        record = run_one(name, quick)
        print(json.dumps({name: record["result"]}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
