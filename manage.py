#!/usr/bin/env python
"""Django's command-line utility; `huifang` (huifang/cli.py) is the same thing under the product's name."""

import sys

from huifang.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
