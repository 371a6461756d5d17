"""The local runtime: composition root, orchestrator, function workers, event routing."""
