"""The clipboard through the terminal: xterm's OSC 52 sequence (`ESC ] 52 ; c ; BASE64 BEL`).

The terminal, not this machine, owns the clipboard, so copying works over SSH too. A terminal
that does not support OSC 52 ignores the sequence; nothing can tell us it did.

Multiplexers:
- tmux reads OSC 52 itself: with `set -g set-clipboard on` it makes a paste buffer and passes the
  clipboard on to the outer terminal; with `external` (its default) or `off` it ignores it. So the
  plain sequence is right inside tmux. Wrapping it in tmux's passthrough (`ESC P tmux; …`) would
  be wrong: tmux 3.3+ drops that unless `allow-passthrough` is on, and it never makes a buffer.
- GNU screen does not understand OSC 52 and passes on only what is wrapped in its DCS
  (`ESC P … ESC \\`), each piece shorter than its 768-byte string limit, so the sequence goes in pieces.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TextIO

BEL = "\x07"
ST = "\x1b\\"
SCREEN_PIECE = 500  # characters of base64 per DCS piece, well under GNU screen's 768-byte limit


def osc52(text: str, env: Mapping[str, str]) -> str:
    """The sequence that puts `text` on the clipboard, for the terminal `env` describes."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    # Inside GNU screen (STY) and not in a tmux started within it (TMUX is then set as well, and
    # tmux, being innermost, reads the sequence itself).
    if env.get("STY") and not env.get("TMUX"):
        pieces = [payload[i : i + SCREEN_PIECE] for i in range(0, len(payload), SCREEN_PIECE)] or [""]
        return "\x1bP\x1b]52;c;" + f"{ST}\x1bP".join(pieces) + BEL + ST
    return f"\x1b]52;c;{payload}{BEL}"


def copy_to_clipboard(text: str, out: TextIO, env: Mapping[str, str]) -> None:
    """Write the OSC 52 sequence for `text` straight to the terminal `out`."""
    out.write(osc52(text, env))
    out.flush()
