"""labelhouse: self-hosted data labeling. ``labelhouse.Client`` speaks its HTTP API."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The SDK is loaded on first use so that the server never imports the client.
    if name == "Client":
        from labelhouse.sdk import Client

        return Client
    raise AttributeError(name)
