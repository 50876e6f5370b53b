"""spy-edits: Who-Is-the-Spy over any folder of photos, the spy's copy edited locally."""

from vzgym_spy_edits.edits import EDIT_KINDS, edit_image

__all__ = ["EDIT_KINDS", "edit_image"]
