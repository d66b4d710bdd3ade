#!/usr/bin/env python
"""Convenience shim: `python manage.py ...` is the same as the `caredesk` command."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from caredesk.manage import main

if __name__ == "__main__":
    main()
