"""Run a certify tool and stop it at a known point, not at a time: right after this process
has written its N-th frame to its journal, it raises SIGNAL in itself.

    python tests/test_pipeline/stop_at_frame.py SIGNAL N det|seg [tool arguments...]

``signal.raise_signal`` delivers the signal to the calling thread before it returns, so
SIGKILL ends the process there, with exactly N journal lines written and flushed, and
SIGINT raises KeyboardInterrupt there, as a Ctrl-C arriving at that moment would. Under
torchrun every rank runs this file and stops after its own N-th frame.
"""

import os
import signal
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def stop_after(frames: int, signum: int) -> None:
    """Make the journal raise ``signum`` right after this process's ``frames``-th line."""
    from adcert.pipeline.journal import Journal

    original = Journal.append
    written = 0

    def append(self, *args, **kwargs):
        nonlocal written
        original(self, *args, **kwargs)
        written += 1
        if written == frames:
            signal.raise_signal(signum)

    Journal.append = append


def main(argv: list[str]) -> int:
    name, frames, task, *tool_argv = argv
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored:
    # restore the handler a terminal's Ctrl-C would meet.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, REPO)  # this checkout's adcert, whatever the venv points at
    stop_after(int(frames), getattr(signal, name))
    from adcert.cli import certify_det, certify_seg

    return {"det": certify_det, "seg": certify_seg}[task].cli(tool_argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
