"""Fixtures of the security tests: loopback canary servers and the connect() recorder."""

from tests.security.canary import canaries, connects  # noqa: F401
