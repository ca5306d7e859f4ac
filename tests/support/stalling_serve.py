"""A printfarm server whose dispatcher hangs at one checkpoint of its first pass that claims plates.

The crash test kills it there. Run as `python tests/support/stalling_serve.py after-claim --port 8000`;
settings come from the environment, as for `printfarm serve`. The hang goes in through create_app's
dispatch_checkpoint hook: production code has no switch for it.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable

import uvicorn

from printfarm.app import create_app
from printfarm.db.migrate import upgrade
from printfarm.dispatch.service import CHECKPOINTS
from printfarm.settings import load_settings

log = logging.getLogger("printfarm.dispatch.stall")


def stall_at(point: str) -> Callable[[str], None]:
    """A dispatch checkpoint that blocks its pass forever at point, after logging "stalling <point>"."""

    def checkpoint(reached: str) -> None:
        if reached == point:
            log.warning("dispatch: stalling %s", point)
            threading.Event().wait()

    return checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("point", choices=CHECKPOINTS)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, dispatch_checkpoint=stall_at(args.point))
    upgrade(app.state.services.db.engine)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
