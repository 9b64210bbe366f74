"""The one error line a refused ``checkout`` command prints, and nothing else (no traceback)."""

from __future__ import annotations


def one_error(capsys, allow_warnings: bool = True) -> str:
    """The single ``checkout: error: …`` line on stderr (``warning:`` lines beside it allowed unless told not)."""
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip() and not (allow_warnings and x.startswith("warning:"))]
    assert len(lines) == 1 and lines[0].startswith("checkout: error: "), err
    assert "Traceback" not in err
    return lines[0]
