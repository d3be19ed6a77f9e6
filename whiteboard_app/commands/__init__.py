"""The headless subcommands (``whiteboard-app SUBCOMMAND``), one module per group, each with a
``register(subparsers)``: the top layer of the core, over decks, maths, recognition, sessions and the
pipeline (the import contracts in pyproject.toml keep the layers below free of them)."""
