"""Markdown table of a soundness run: one row per check, from the JSON lines that
``tests/soundness/harness.py`` appends to $ADCERT_SOUNDNESS_LOG.

    ADCERT_SOUNDNESS_LOG=/tmp/sound.jsonl make soundness
    .venv/bin/python tools/soundness_table.py /tmp/sound.jsonl

A check passes when the Clopper–Pearson upper bound of its wrong-certificate rate is ≤ α.
Deliberately broken certifiers (names starting with "broken") must fail it; for them the
table also gives the lower bound, which must exceed α for the suite to have seen the
violation. When a log holds a check (name, α, trials) twice, e.g. from appended runs, the
last record counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable


def is_broken(record: dict) -> bool:
    return bool(record.get("broken")) or str(record["name"]).lower().startswith("broken")


def read_records(lines: Iterable[str]) -> list[dict]:
    """One record per check (name, α, trials), the last one winning, in first-seen order."""
    records: dict[tuple, dict] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SystemExit(f"line {number}: not JSON ({error})") from error
        missing = {"name", "alpha", "trials", "wrong", "upper", "lower"} - record.keys()
        if missing:
            raise SystemExit(f"line {number}: missing {sorted(missing)}")
        records[record["name"], record["alpha"], record["trials"]] = record
    return list(records.values())


def verdict(record: dict) -> str:
    if is_broken(record):
        return "caught" if record["lower"] > record["alpha"] else "**not caught**"
    return "sound" if record["upper"] <= record["alpha"] else "**UNSOUND**"


def table(records: list[dict]) -> str:
    rows = ["| certifier | α | trials | wrong | wrong rate | CP upper | CP lower (broken) "
            "| verdict |",
            "|---|---|---|---|---|---|---|---|"]
    for record in sorted(records, key=is_broken):
        rate = record["wrong"] / record["trials"]
        lower = f"{record['lower']:.4f}" if is_broken(record) else ""
        name = record["name"] + (" *(broken on purpose)*" if is_broken(record)
                                 and not record["name"].lower().startswith("broken") else "")
        rows.append(f"| {name} | {record['alpha']:g} | {record['trials']} | {record['wrong']} "
                    f"| {rate:.4f} | {record['upper']:.4f} | {lower} | {verdict(record)} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="JSON lines written with ADCERT_SOUNDNESS_LOG set")
    args = parser.parse_args(argv)
    with open(args.log) as f:
        records = read_records(f)
    if not records:
        print(f"{args.log}: no records", file=sys.stderr)
        return 1
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
