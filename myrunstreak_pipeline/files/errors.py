"""The one error of the files room: a file that cannot be read as an activity, with the reason."""

from __future__ import annotations

from myrunstreak_pipeline.errors import MyRunStreakError


class ActivityFileError(MyRunStreakError):
    """A corrupt, truncated, empty, unsupported or unusable activity file: quarantine it and load the rest.

    ``reason`` names the problem (``"truncated FIT file: …"``, ``"no timestamps: …"``) and never quotes the file's
    contents; ``name`` is the file name as given by the caller.
    """

    def __init__(self, reason: str, *, name: str = "<bytes>"):
        super().__init__(f"{name}: {reason}", hint="the file is quarantined; the other files still load")
        self.reason = reason
        self.name = name
