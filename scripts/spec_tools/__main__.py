"""`python scripts/spec_tools SUBCOMMAND ...` (or `python -m spec_tools` with scripts/ on the path)."""
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a directory: make `spec_tools` importable as a package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spec_tools.cli import main  # noqa: E402

sys.exit(main())
