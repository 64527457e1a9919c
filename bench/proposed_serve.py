"""`sce serve` with the proposed changes of bench/proposed.py applied (bench only, opt-in)."""

from __future__ import annotations

import sys

from bench import proposed


def main() -> None:
    proposed.apply()
    from bot.cli import main as sce

    sys.argv = ["sce", "serve"]
    sce()


if __name__ == "__main__":
    main()
