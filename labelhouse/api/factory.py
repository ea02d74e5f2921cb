"""An app built from the environment, for uvicorn worker processes (``serve --workers N``)."""

from __future__ import annotations

from fastapi import FastAPI

from labelhouse.api.app import create_app
from labelhouse.runtime import open_runtime
from labelhouse.settings import load_settings


def app_from_env() -> FastAPI:
    # Each worker process opens its own runtime; migrations already ran in the parent.
    return create_app(open_runtime(load_settings(), migrate=False))
