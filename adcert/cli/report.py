"""``tools/report.py``: certification runs + requirements → safety-case report.

    python tools/report.py RUN_DIR [RUN_DIR ...] --requirements REQ.py --out DIR
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="report.py", description="Turn certification runs into a safety-case report "
        "(report.json + a self-contained report.html).")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders of certify_det / certify_seg (a work dir means its "
                             "newest run)")
    parser.add_argument("--requirements", required=True, metavar="REQ.py",
                        help="requirements config (see configs/report/demo.py)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for report.json and report.html (replaced if present)")
    parser.add_argument("--fail-unless-met", action="store_true",
                        help="exit with status 1 unless every requirement is met")
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from adcert.report import write_report

    command = ["tools/report.py", *(sys.argv[1:] if argv is None else argv)]
    try:
        json_path, html_path, report = write_report(args.runs, args.requirements, args.out,
                                                    command)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for solution in report["solutions"]:
        if solution["status"] != "complete":
            print(f"warning: {solution['run']} ({solution['path']}): {solution['problem']}",
                  file=sys.stderr)
    for goal in report["goals"]:
        print(f"  {goal['requirement_id']:<12} {goal['verdict']:<14} {goal['text']}")
    print(f"overall: {report['top_goal']['verdict']}\nreport: {html_path}\nevidence: {json_path}")
    if args.fail_unless_met and report["top_goal"]["verdict"] != "met":
        return 1
    return 0


def main() -> None:
    sys.exit(cli())
