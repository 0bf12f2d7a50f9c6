"""The one way loopwright starts a program: ``runner`` (the ``ProcessRunner`` protocol and
the plain runner), ``group`` (a command in its own group, streamed, its tree stopped),
``capture`` (capped output, results), ``tree`` (finding and killing descendants through
/proc) and ``env`` (the allowlisted environment a child gets)."""
