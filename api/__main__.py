"""`python -m api`: serve the REST API on the configured host and port."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from carrierlink.settings import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        # Longer than clients keep idle connections (httpx: 5 s, the same as uvicorn's
        # default): otherwise a request sent as the server closes the connection is cut off
        # unanswered (one POST in 5,000 in bench.snapshots).
        timeout_keep_alive=65,
    )


if __name__ == "__main__":
    main()
