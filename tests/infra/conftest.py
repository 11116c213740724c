"""The Pulumi program and policy pack live at the repository root, outside the `runner` package."""

import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
if REPO not in sys.path:
    sys.path.insert(0, REPO)
