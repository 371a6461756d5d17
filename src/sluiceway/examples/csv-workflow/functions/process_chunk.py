"""The workflow's ProcessChunk state: Sluiceway's ``sluiceway.functions.process_chunk`` stage.

A module of the app's own, so that the template names the app's handler (``process_chunk.handler``); replace
the import with your own code to change what the state does.
"""

from sluiceway.functions.process_chunk import handler

__all__ = ["handler"]
