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
    )


if __name__ == "__main__":
    main()
