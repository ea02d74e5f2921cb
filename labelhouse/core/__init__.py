"""Pure domain types, ids and the error tree: no I/O."""
