"""An app process without the web UI: the lifespan tasks routy_app.routy_app registers with Reflex (and so
every backend worker runs), until SIGTERM. Crash tests start it, SIGKILL it and start it again.

Run as `python -m tests.integration.app_worker` with the test's DATABASE_URL / ROUTY_DATA_DIR, PUBLIC_URL
pointing at the served sandbox, and short ROUTY_*_SECONDS settings.
"""

from __future__ import annotations

import asyncio
import signal

from routy_app.logging_setup import configure_logging


async def main() -> None:
    from routy_app.services.lifespan import app_lifespan

    configure_logging()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with app_lifespan():
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
