"""The one error type of the spec tools: the command line prints it as `error: ...`, exit 2."""


class SpecError(Exception):
    """Input the tools cannot work with, or a tool they need that is missing or fails."""
