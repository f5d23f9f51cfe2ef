"""Tables out as CSV (for Danish Excel: semicolons, UTF-8 with BOM, decimal comma) and
as XLSX (one sheet per table, numbers as numbers). What goes in is already what the
viewer may see: hidden figures arrive as "<5" and stay that way."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import xlsxwriter

from intro.insight.dashboard import Cell


@dataclass(frozen=True)
class Sheet:
    title: str
    headings: list[str]
    rows: list[list[Any]]  # str, int, float, date, None or Cell
    percent_columns: frozenset[int] = frozenset()


def _csv_value(value: Any) -> str:
    if isinstance(value, Cell):
        return value.text
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    text = str(value)
    # A cell starting with = + - @ would be run as a formula by a spreadsheet.
    if text[:1] in ("=", "+", "-", "@") and not re.fullmatch(r"-?\d+([.,]\d+)?", text):
        text = "'" + text
    return text


def to_csv(sheets: list[Sheet]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for index, sheet in enumerate(sheets):
        if index:
            writer.writerow([])
        if len(sheets) > 1:
            writer.writerow([sheet.title])
        writer.writerow(sheet.headings)
        for row in sheet.rows:
            writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    name = _SHEET_NAME.sub(" ", title).strip()[:31] or "Ark"
    base, n = name, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def to_xlsx(sheets: list[Sheet]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0%"})
    day = book.add_format({"num_format": "dd-mm-yyyy"})
    used: set[str] = set()
    for sheet in sheets:
        ws = book.add_worksheet(_sheet_name(sheet.title, used))
        ws.write_string(0, 0, sheet.title, bold)
        for col, heading in enumerate(sheet.headings):
            ws.write_string(2, col, heading, bold)
            ws.set_column(col, col, max(12, min(40, len(heading) + 2)))
        for r, row in enumerate(sheet.rows, start=3):
            for c, value in enumerate(row):
                if isinstance(value, Cell):
                    if value.hidden or value.value is None:
                        ws.write_string(r, c, value.text)
                    elif c in sheet.percent_columns:
                        ws.write_number(r, c, value.value / 100, percent)
                    else:
                        ws.write_number(r, c, value.value)
                elif isinstance(value, bool):
                    ws.write_string(r, c, "ja" if value else "nej")
                elif isinstance(value, (int, float)):
                    if c in sheet.percent_columns:
                        ws.write_number(r, c, value, percent)
                    else:
                        ws.write_number(r, c, value)
                elif isinstance(value, date):
                    ws.write_datetime(r, c, value, day)
                elif value is None:
                    ws.write_blank(r, c, None)
                else:
                    ws.write_string(r, c, str(value))
        ws.freeze_panes(3, 1)
    book.close()
    return buffer.getvalue()
