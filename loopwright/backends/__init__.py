"""Everything that talks to a model or an agent, behind one seam (``base.Backend``).

``registry`` turns ``provider:model[@host]`` specs into backends; ``agents/`` holds the
coding-agent CLIs, ``models/`` the model APIs; ``scripted`` is the deterministic backend
of the tests and the demo."""
