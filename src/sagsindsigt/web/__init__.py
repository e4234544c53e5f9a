"""The web dashboard (thin layer): ``create_app(db)`` builds the FastAPI app."""

from .app import create_app

__all__ = ["create_app"]
