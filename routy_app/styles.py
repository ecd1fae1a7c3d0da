"""The UI's layout tokens, named once (colours come from Radix's scales through `color_scheme`)."""

from __future__ import annotations

HEADER_HEIGHT = "60px"
LOGO_SIZE = "28px"
PROVIDER_LOGO_SIZE = "40px"
DIALOG_WIDTH = "560px"  # dialogs with forms: the account picker, the new-key dialog
FORM_DIALOG_WIDTH = "520px"  # the set-up form
TEXT_CELL_WIDTH = "24em"  # table cells holding a provider's words (errors, details)
TEXT_CELL_MIN_WIDTH = "14em"  # ... and at least this wide: long words wrap, short ones stay whole
NUMBER_INPUT_WIDTH = "8em"
SELECT_WIDTH = "12em"
WIDE_SELECT_WIDTH = "16em"
