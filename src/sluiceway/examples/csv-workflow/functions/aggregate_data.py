"""The workflow's AggregateData state: Sluiceway's ``sluiceway.functions.aggregate`` stage.

A module of the app's own, so that the template names the app's handler (``aggregate_data.handler``); replace
the import with your own code to change what the state does.
"""

from sluiceway.functions.aggregate import handler

__all__ = ["handler"]
