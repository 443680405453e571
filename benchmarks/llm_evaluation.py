#!/usr/bin/env python
"""Time of ``aims evaluate APP@V`` on cases, end to end through the service.

    python benchmarks/llm_evaluation.py               # 20 cases, best of 5
    python benchmarks/llm_evaluation.py --n 1000

Three runs on a fresh workspace, each including reading the cases, scoring,
comparing with the production version and storing the result with its audit
event:

* ``given``: every case gives its output (with a JSON schema, a regex, a
  reference and usage), as a team's own harness writes them;
* ``generated``: the answers come from an OpenAI-compatible server on loopback
  (the tests' fake, answering at once), so the time is aims's own overhead per
  request, not a model's;
* ``generated + judge``: the same with a judge model scoring every case.

The budget is one second for 20 cases.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import _open_workspace  # noqa: E402
from tests.services.fake_openai import CAPITALS, fake_openai  # noqa: E402
from tests.services.llm_fixtures import write_app  # noqa: E402

from aims.services import lifecycle, llm_apps, llm_evaluation  # noqa: E402
from aims.services.llm_endpoint import Endpoint  # noqa: E402

OWNERS = {"development": "ana@x.org", "deployment": "d@x.org", "monitoring": "m@x.org"}


def _cases(path: Path, n: int, *, given: bool) -> Path:
    countries = list(CAPITALS)
    lines = []
    for i in range(n):
        country = countries[i % len(countries)]
        case = {
            "id": f"c{i}",
            "input": f"What is the capital of {country}?",
            "expected": CAPITALS[country],
            "reference": f"The capital of {country} is {CAPITALS[country]}.",
            "regex": "^[A-Z]",
            "rubric": "Names the capital.",
            "tags": [country],
        }
        if i % 4 == 0:
            case["schema"] = {"type": "object", "required": ["city"]}
        if given:
            answer = (
                json.dumps({"city": CAPITALS[country]}) if "schema" in case else CAPITALS[country]
            )
            case.update(
                output=answer, usage={"input_tokens": 30, "output_tokens": 4}, latency_ms=300
            )
        lines.append(json.dumps(case))
    path.write_text("\n".join(lines) + "\n")
    return path


def _best(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="cases per evaluation")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ws = _open_workspace(folder / "ws")
        for name, system in (("v1", "Give the capital only."), ("v2", "Name the capital only.")):
            llm_apps.register_app(
                ws, write_app(folder, name, system), "geo", actor="ana@x.org", owners=OWNERS
            )
        lifecycle.promote(ws, "geo@1", "production", actor="ana@x.org")
        given = _cases(folder / "given.jsonl", args.n, given=True)
        asked = _cases(folder / "asked.jsonl", args.n, given=False)
        llm_evaluation.evaluate_app(ws, "geo@1", given, actor="ana@x.org")  # warm, and a champion
        rows = [
            (
                "given",
                _best(
                    args.repeats,
                    lambda: llm_evaluation.evaluate_app(ws, "geo@2", given, actor="ana@x.org"),
                ),
            )
        ]
        with fake_openai() as (url, _):
            for label, judge in (("generated", None), ("generated + judge", "judge-1")):
                generation = llm_evaluation.Generation(
                    endpoint=Endpoint(url, api_key_env=""), judge_model=judge
                )
                rows.append(
                    (
                        label,
                        _best(
                            args.repeats,
                            lambda g=generation: llm_evaluation.evaluate_app(
                                ws, "geo@2", asked, actor="ana@x.org", generation=g
                            ),
                        ),
                    )
                )
        ws.close()
    print(f"| answers ({args.n} cases, production version beside) | seconds | cases/s |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} | {args.n / seconds:,.0f} |")


if __name__ == "__main__":
    main()
