"""The queue: who gets which task next, and the atomic lease that records it."""
