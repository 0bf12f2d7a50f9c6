"""The one way loopwright starts a program: ``runner`` (own group, subreaper, caps,
the whole tree killed on timeout or cancel), ``tree`` (finding and killing descendants
through /proc) and ``env`` (the allowlisted environment a child gets)."""
