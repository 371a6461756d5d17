"""The ``sluiceway`` command line (Typer + Rich): thin; parses, calls the runtime, renders."""
