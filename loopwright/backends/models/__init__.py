"""Model APIs as backends: one module per API (``anthropic``, ``gemini``,
``openai_compat``, ``ollama``) over a neutral ``chat``, with ``http`` (errors, retries,
stream readers), ``prices``, and the worker's ``toolloop`` with its ``tools``."""
