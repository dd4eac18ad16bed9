"""The one exception type that the CLI turns into a clean message and exit code 2.

Anything the *user* can get wrong (a config field, a data file, a weights file) raises
`UserError`; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input from the user: the message must name the file, the field and what was expected."""


class SampleError(UserError):
    """One video cannot be read (a missing, empty or corrupt frame, an undecodable file).

    Kept apart from other user errors because `data.on_error: skip` may drop the sample and go
    on, where any other bad input stops the run."""


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix when `value` is close to one of `choices`, else ''."""
    matches = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def unknown_name_message(kind: str, value: object, choices: Iterable[str]) -> str:
    """The standard wording for a name that is not in a registry."""
    choices = sorted(choices)
    return f"unknown {kind} '{value}'{did_you_mean(value, choices)}; expected one of: {', '.join(choices)}"
