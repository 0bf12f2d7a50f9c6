"""The MCP stdio server (``loopwright serve``): the coding loop as tools.

Heavy imports (the SDK, the loop) happen in :mod:`loopwright.server.app` only, so the CLI
and the run-host processes never pay for them.
"""
