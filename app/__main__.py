"""`python -m app`: run the service under uvicorn with JSON logs (uvicorn's own loggers too)."""

from __future__ import annotations

import uvicorn

from app.main import create_app
from app.settings import AppSettings


def main() -> None:
    settings = AppSettings()
    app = create_app(settings)  # configures JSON logging for the app and uvicorn's loggers
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the JSON handler create_app installed
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
