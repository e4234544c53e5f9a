"""The web dashboard (thin layer): ``create_app(db)`` builds the FastAPI app."""

from .app import create_app, prepare


def app_from_env():
    """The app for ``uvicorn --factory`` with several workers (``sagsindsigt serve
    --workers N``): each worker opens the store named by SAGSINDSIGT_DB itself."""
    import os

    from ..settings import Settings

    settings = Settings()
    return create_app(settings.db, lake=settings.lake,
                      auth=os.environ.get("SAGSINDSIGT_AUTH", "1") != "0")


__all__ = ["app_from_env", "create_app", "prepare"]
