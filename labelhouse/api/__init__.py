"""The HTTP edge: translate requests into service calls, one unit of work each."""
