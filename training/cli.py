"""``python -m training <command>``: the model's research and build steps, outside the web app.

    python -m training cross_validate --data ../shared/data/alzheimer-mri   # 5 folds + final model, resumable
    python -m training fit_ood --data ../shared/data/alzheimer-mri          # the out-of-distribution detector
    python -m training cv_report [--data DIR] [--json]                      # the model card's tables
    python -m training evaluate_model --data DIR [--json]                   # any labelled folder of slices
    python -m training make_untrained_model --out FILE                      # the tests' random stand-in

None of it needs Django or a database; the web app never imports this package.
"""

import argparse
import sys

from . import commands, fit_ood_command, reading_command  # noqa: F401  (each registers its commands)
from .registry import COMMANDS, CommandError


def parser():
    top = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n\n")[0])
    subs = top.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments) in COMMANDS.items():
        add_arguments(subs.add_parser(name, help=help_text, description=help_text))
    return top


def main(argv=None, out=None):
    """Run one command; ``out`` receives its lines (stdout by default). Returns the exit status."""
    write = (out or sys.stdout).write
    args = parser().parse_args(argv)
    try:
        args.run(args, lambda line: write(f"{line}\n"))
    except CommandError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0
