"""Coding-agent CLIs as backends: their command lines (``presets``, ``custom``), the
environment they get, their stream readers (``streams``, ``text_streams`` over
``common``) and what ``doctor`` says of them (``status``)."""
