"""SmashRun room (import submodules directly): ``client`` (with ``errors``, ``retry``, ``results``),
``oauth`` token store, ``credentials``, the ``code_flow`` behind ``myrunstreak auth``, and ``sync`` planning."""

from __future__ import annotations
