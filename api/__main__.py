"""`python -m api`: serve the REST API on the configured host and port."""

from __future__ import annotations

from api.app import create_app
from runtime.serving import serve
from runtime.settings import get_settings


def main() -> None:
    settings = get_settings()
    serve(create_app(settings), settings.api_host, settings.api_port)


if __name__ == "__main__":
    main()
