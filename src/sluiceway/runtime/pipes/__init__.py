"""Amazon EventBridge Pipes, run locally: a source's batches through filters, enrichment and input
templates to a target (``flow.py``), polled by the event source mappings' machinery (``runs.py``)."""
