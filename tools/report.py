"""Turn certification runs into a safety-case report (adcert.cli.report).

    python tools/report.py RUN_DIR [RUN_DIR ...] --requirements REQ.py --out DIR
        [--fail-unless-met]

Writes DIR/report.json (goals, strategy, context, assumptions, solutions, verification
log; validated against adcert/report/schema.json) and DIR/report.html (one offline page).
Installed as the console command ``adcert-report``.
"""

import sys

from adcert.cli.report import cli

if __name__ == "__main__":
    sys.exit(cli())
