"""The registry behind ``python -m training``: each command module registers its arguments and run function."""

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from mri import SHIPPED_MODEL


class CommandError(Exception):
    """A refusal worth one line on stderr and exit status 1, not a traceback."""


def default_model():
    """The checkpoint the app would serve: ALZAWARE_MODEL_PATH as in the settings, else the shipped one."""
    return Path(os.environ.get("ALZAWARE_MODEL_PATH", SHIPPED_MODEL))


# name -> (help text, the function that adds its arguments to its sub-parser)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], object]]] = {}


def command(name, help_text):
    def register(add_arguments):
        COMMANDS[name] = (help_text, add_arguments)
        return add_arguments
    return register
