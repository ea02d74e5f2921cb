"""Passwords, tokens, roles x actions."""
