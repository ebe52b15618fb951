"""SmashRun room: API client, OAuth token store, and the offline sandbox server (import submodules directly)."""
