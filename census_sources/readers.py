"""Low-level readers shared by the parsers: strict text decoding and the publishers' number notation.

Publisher quirks handled here, explicitly:
- UTF-8 byte-order marks (data.gov.sg and SingStat CSVs start with one): stripped;
- UTF-16/UTF-32 files and bytes that are not UTF-8: refused, naming the row and column where decoding failed;
- ``-`` (nil or negligible) reads as 0; ``na`` (not available) and ``s`` (suppressed, MOM) read as missing with a flag;
- thousands separators inside quoted numbers (``"505,000"``), in groups of three;
- nothing else is a figure: exponents (``5e2``), underscores (``5_00``), signs (``+500``), misplaced separators
  (``1,00``) and bare decimal points (``.5``) are refused, so a typo cannot pass as a number;
- values published in thousands are scaled to persons by the caller (``scale=1000``) and rounded to an integer.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from census_sources.errors import SourceTableError

UTF8_BOM = b"\xef\xbb\xbf"
_FOREIGN_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32 (little-endian)",
    b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
    b"\xff\xfe": "UTF-16 (little-endian)",
    b"\xfe\xff": "UTF-16 (big-endian)",
}

#: A published figure: digits, optionally grouped by thousands with commas, optionally with a decimal part.
NUMERAL = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?")

#: Flags a cell may carry instead of a number.
FLAG_NOT_AVAILABLE = "na"
FLAG_SUPPRESSED = "s"


def read_text(path: str | Path) -> str:
    """Read a whole text file as UTF-8, refusing empty files and other encodings with a precise message."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceTableError(path, "file not found") from exc
    if not data.strip():
        raise SourceTableError(path, "file is empty")
    for bom, name in _FOREIGN_BOMS.items():
        if data.startswith(bom):
            raise SourceTableError(path, f"file is encoded as {name} (byte-order mark found); expected UTF-8", row=1)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
        if not data.strip():
            raise SourceTableError(path, "file is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        row = data.count(b"\n", 0, exc.start) + 1
        prefix = data[line_start : exc.start]
        field_index = len(next(csv.reader([prefix.decode("utf-8", "replace")]), [""])) if prefix else 1
        header = data.split(b"\n", 1)[0].decode("utf-8", "replace")
        names = next(csv.reader([header]), [])
        column = names[field_index - 1].strip() if 0 < field_index <= len(names) else f"#{field_index}"
        raise SourceTableError(
            path,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); re-save the file as UTF-8",
            row=row,
            column=column,
        ) from exc


def read_csv_rows(path: str | Path) -> list[list[str]]:
    """All rows of a CSV file (strict UTF-8, BOM stripped), as lists of strings; line endings normalised."""
    text = read_text(path)
    return list(csv.reader(io.StringIO(text, newline="")))


def check_width(row: list[str], header: list[str], *, file: str | Path, line: int) -> None:
    """A CSV row must have as many fields as the header. The error names the first missing field's column, or
    the first surplus field by its 1-based position (``#N``)."""
    if len(row) != len(header):
        column = header[len(row)] if len(row) < len(header) else f"#{len(header) + 1}"
        raise SourceTableError(file, f"row has {len(row)} fields, expected {len(header)}", row=line, column=column)


def parse_number(
    cell: object,
    *,
    file: str | Path,
    row: int,
    column: str,
    scale: float = 1,
    integer: bool = True,
    allow_flags: bool = False,
    sheet: str | None = None,
) -> tuple[float | int | None, str]:
    """Parse one published figure. Returns ``(value, flag)``; ``flag`` is ``""`` for a number.

    ``integer=True`` returns ``round(value * scale)`` as an ``int`` (counts); otherwise a float.
    Negative figures are refused here: every table the pipeline reads publishes counts, shares or amounts.
    """
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        raise SourceTableError(file, "empty cell where a figure was expected", row=row, column=column, sheet=sheet)
    if isinstance(cell, int | float):
        number = float(cell)
    else:
        text = str(cell).strip()
        if text in {"-", "–"}:
            return (0 if integer else 0.0), ""
        if text.lower() == FLAG_NOT_AVAILABLE or text == FLAG_SUPPRESSED:
            if not allow_flags:
                raise SourceTableError(
                    file,
                    f"figure is {text!r} (not available/suppressed), which this table may not contain",
                    row=row,
                    column=column,
                    sheet=sheet,
                )
            return None, text.lower()
        if text == "":
            raise SourceTableError(file, "empty cell where a figure was expected", row=row, column=column, sheet=sheet)
        if text.startswith("-") and NUMERAL.fullmatch(text[1:]):
            raise SourceTableError(file, f"negative figure {cell!r}", row=row, column=column, sheet=sheet)
        if text.lower().lstrip("+-") in {"inf", "infinity", "nan"}:
            raise SourceTableError(file, f"not a finite number: {cell!r}", row=row, column=column, sheet=sheet)
        if not NUMERAL.fullmatch(text):
            raise SourceTableError(file, f"not a number: {text!r}", row=row, column=column, sheet=sheet)
        number = float(text.replace(",", ""))
    if math.isnan(number) or math.isinf(number):
        raise SourceTableError(file, f"not a finite number: {cell!r}", row=row, column=column, sheet=sheet)
    if number < 0:
        raise SourceTableError(file, f"negative figure {cell!r}", row=row, column=column, sheet=sheet)
    if integer:
        scaled = number * scale
        value = round(scaled)
        if abs(scaled - value) > 1e-6 * max(1.0, abs(scaled)):
            raise SourceTableError(file, f"expected a whole count, got {cell!r}", row=row, column=column, sheet=sheet)
        return int(value), ""
    return number * scale, ""
