"""Readers: the step in front of the CSV contract. Whatever an analyst has (a CSV in UTF-8, Windows-1252
or UTF-16, with CR-only line endings, gzipped or zipped, or an Excel / OpenDocument workbook), each
export in it becomes one UTF-8 delimited text file with LF line endings that the ingest reads as a CSV.

Line numbers stay those of the original: a CR-only or re-encoded file keeps one line per line, and a
sheet is written one row per line (a line break inside a cell becomes a space) with `line_offset` the
number of empty rows above its header, so a reject's line number is the sheet's row number.

Workbooks are read with python-calamine (calamine, in Rust): one library for .xlsx, .xlsm, .xls and
.ods, cell values as Python dates and numbers without guessing a column's type.
"""

import codecs
import csv
import datetime as dt
import gzip
import re
import zipfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ketamine_outcomes.refused import RefusedFile

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CHUNK = 1 << 24
# A zip or gzip member that expands past either limit is refused as soon as it does, before it fills the
# disk or holds the database for minutes (a "zip bomb": a 1 KB zip of a million blank lines took 6 minutes).
# Size: a clinic's exports are at most a few GB (100,000 patients are 77 MB of CSV, bench/RESULTS.md);
# 5 GB leaves room for a network of clinics and years of history in one file.
MAX_EXPANDED_BYTES = 5 * 1024 ** 3
# Ratio: exports compress 5- to 15-fold (the sample clinic's 6-10; 20,000 sessions on one day with every
# optional column empty, 15); deflate cannot pass about 1030-fold, which only a file of one thing repeated
# nears (a million blank lines: 870). Below 256 KB expanded nothing is refused: a small file is cheap.
MAX_EXPANSION_RATIO = 100
RATIO_FROM_BYTES = 256 * 1024


@dataclass
class Source:
    """One export ready for the CSV contract."""
    path: Path  # UTF-8 delimited text, LF or CRLF line endings
    name: str  # as shown in summaries and the batch history: "visits.xlsx [Sessions]"
    read_as: str | None = None  # how it was read, when not a plain UTF-8 CSV: "Windows-1252", "sheet 'Sessions'"
    line_offset: int = 0  # rows above the header that the text file leaves out (a sheet's empty rows)
    sheet: str | None = None


def sources(path: Path, name: str, workdir: Path) -> Iterator[Source]:
    """The exports a file holds (a workbook or a zip may hold several). Raises RefusedFile, with a
    sentence for the analyst, for what cannot be read."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x1f\x8b"):
        yield from _gzip(path, name, workdir)
    elif head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        if head.startswith(b"PK") and not _is_workbook_zip(path):
            yield from _zip(path, name, workdir)
        else:
            yield from _workbook(path, name, workdir)
    elif head.startswith(b"PK"):
        raise RefusedFile("is an empty or damaged zip archive; export it again.")
    else:
        yield _text(path, name, workdir)


def _gzip(path: Path, name: str, workdir: Path) -> Iterator[Source]:
    inner = name[:-3] if name.lower().endswith(".gz") else name + ".csv"
    target = workdir / f"gunzipped-{len(list(workdir.iterdir()))}{Path(inner).suffix}"
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as packed, open(target, "wb") as out:
            _copy_limited(packed, out, raw.tell, "")
    except (OSError, EOFError) as error:
        raise RefusedFile(f"is a damaged gzip file ({error}); compress it again.") from error
    for source in sources(target, inner, workdir):
        source.read_as = ", ".join(filter(None, ["gzip", source.read_as]))
        yield source


def _is_workbook_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return "xl/workbook.xml" in names or "xl/workbook.bin" in names or "content.xml" in names


def _zip(path: Path, name: str, workdir: Path) -> Iterator[Source]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise RefusedFile("is a damaged zip archive; export it again.") from error
    with archive:
        members = [m for m in archive.infolist()
                   if not m.is_dir() and not m.filename.startswith("__MACOSX/") and not Path(m.filename).name.startswith(".")]
        if not members:
            raise RefusedFile("is a zip archive with no file in it.")
        if sum(m.file_size for m in members) > MAX_EXPANDED_BYTES:
            raise RefusedFile(f"is a zip archive that expands to more than {MAX_EXPANDED_BYTES // 1024 ** 3} GB, more "
                              "than any clinic's exports; unzip it and upload the exports one by one.")
        for n, member in enumerate(members):
            target = workdir / f"unzipped-{n}{Path(member.filename).suffix}"  # never the member's own path
            try:
                with archive.open(member) as packed, open(target, "wb") as out:
                    _copy_limited(packed, out, lambda: member.compress_size, f"holds {member.filename!r}, which ")
            except (RuntimeError, zipfile.BadZipFile, OSError) as error:  # encrypted or damaged
                raise RefusedFile(f"holds {member.filename!r}, which cannot be unzipped ({error}).") from error
            for source in sources(target, f"{name}/{member.filename}", workdir):
                source.read_as = ", ".join(filter(None, ["zip", source.read_as]))
                yield source


def _copy_limited(packed, out, compressed_bytes, what: str) -> None:
    """Unpack, refusing (`what` + a sentence) once the output passes MAX_EXPANDED_BYTES or
    MAX_EXPANSION_RATIO times the compressed bytes read so far (`compressed_bytes()`)."""
    written = 0
    for chunk in iter(lambda: packed.read(CHUNK), b""):
        written += len(chunk)
        if written > MAX_EXPANDED_BYTES:
            raise RefusedFile(f"{what}expands to more than {MAX_EXPANDED_BYTES // 1024 ** 3} GB, more than any "
                              "clinic's exports; unpack it and upload the exports one by one.")
        if written > RATIO_FROM_BYTES and written > MAX_EXPANSION_RATIO * max(compressed_bytes(), 1):
            raise RefusedFile(f"{what}expands more than {MAX_EXPANSION_RATIO}-fold, as no export does (it is mostly "
                              "one thing repeated, such as blank lines): unpack it and check what it holds.")
        out.write(chunk)


def _text(path: Path, name: str, workdir: Path) -> Source:
    """A delimited text file: passed through when it is UTF-8 with LF or CRLF line endings (the usual
    case, no copy), else rewritten as UTF-8 with LF line endings."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    encoding = _utf16(head)
    if encoding is None and b"\x00" in head:
        raise RefusedFile("is not a text export (it holds binary data); export it as CSV or Excel.")
    encoding = encoding or ("utf-8" if _is_utf8(path) else "cp1252")
    sample = head.decode(encoding, errors="replace")
    cr_only = "\r" in sample and "\n" not in sample
    if encoding == "utf-8" and not cr_only:
        return Source(path, name)
    target = workdir / f"text-{len(list(workdir.iterdir()))}.csv"
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with open(path, "rb") as f, open(target, "w", encoding="utf-8", newline="") as out:
        carry = ""  # a CR at the end of a chunk may be the first half of a CRLF
        for chunk in iter(lambda: f.read(CHUNK), b""):
            text = carry + decoder.decode(chunk)
            carry = "\r" if text.endswith("\r") else ""
            out.write(_lf(text[:-1] if carry else text))
        out.write(_lf(carry + decoder.decode(b"", final=True)))
    described = {"utf-8": None, "cp1252": "Windows-1252"}.get(encoding, "UTF-16")
    return Source(target, name, ", ".join(filter(None, [described, "CR line endings" if cr_only else None])))


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")


def _utf16(head: bytes) -> str | None:
    if head.startswith(b"\xff\xfe"):
        return "utf-16"
    if head.startswith(b"\xfe\xff"):
        return "utf-16"
    even, odd = head[0:200:2], head[1:200:2]
    if len(head) >= 4 and odd.count(0) > len(odd) * 0.8 and even.count(0) < len(even) * 0.2:
        return "utf-16-le"
    if len(head) >= 4 and even.count(0) > len(even) * 0.8 and odd.count(0) < len(odd) * 0.2:
        return "utf-16-be"
    return None


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                # An ASCII chunk is UTF-8 (a test many times quicker than decoding), unless it ends a character
                # the last chunk began.
                if not (chunk.isascii() and not decoder.getstate()[0]):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _workbook(path: Path, name: str, workdir: Path) -> Iterator[Source]:
    """Each non-empty sheet as a CSV, one sheet row per line."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own error types for each format's faults
        raise RefusedFile(f"could not be read as a workbook: {str(error).splitlines()[0]}") from error
    uncomputed = _uncomputed_formulas(path)
    for number, sheet_name in enumerate(book.sheet_names):
        if sheet_name in uncomputed:
            raise RefusedFile(
                f"sheet {sheet_name!r} cell {uncomputed[sheet_name]} holds a formula whose value was never computed "
                "(the file was written by a program, not saved by a spreadsheet), so it would be read as empty: "
                "open the file in Excel or LibreOffice, save it, and upload it again.")
        try:
            rows = book.get_sheet_by_name(sheet_name).iter_rows()
            target = workdir / f"sheet-{len(list(workdir.iterdir()))}-{number}.csv"
            offset, wrote_header = 0, False
            with open(target, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                for row in rows:
                    cells = [_cell_text(v) for v in row]
                    if not wrote_header:
                        if not any(cells):
                            offset += 1
                            continue
                        wrote_header = True
                    writer.writerow(cells if any(cells) else [])
        except Exception as error:
            raise RefusedFile(f"sheet {sheet_name!r} could not be read: {str(error).splitlines()[0]}") from error
        if wrote_header:
            yield Source(target, f"{name} [{sheet_name}]", f"sheet {sheet_name!r}", offset, sheet_name)


def _uncomputed_formulas(path: Path) -> dict[str, str]:
    """The first cell ("D3") of each .xlsx / .xlsm sheet holding a formula with no computed value, by sheet
    name. A spreadsheet stores each formula's last value beside it; a file written by a program
    (openpyxl, a report generator) holds the formula alone, which calamine reads as an empty cell. The
    sheet is refused rather than stored with warnings: every such cell would be stored empty (a
    required one rejecting its line for a "missing" value that is there), and one save in a spreadsheet
    fixes the whole file. (.xls and .ods always carry the computed values.)"""
    found: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
                return found
            targets = {r.get("Id"): r.get("Target", "") for r in ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))}
            for sheet in ET.fromstring(archive.read("xl/workbook.xml")).iter():
                if _local(sheet.tag) != "sheet":
                    continue
                target = targets.get(next((v for k, v in sheet.attrib.items() if _local(k) == "id"), None), "")
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if member in names and _has_formula(archive, member):
                    cell = _first_uncomputed(archive, member)
                    if cell:
                        found[sheet.get("name")] = cell
    except (zipfile.BadZipFile, ET.ParseError, OSError):
        pass  # a fault calamine did not mind: the sheet is read as calamine reads it
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _has_formula(archive: zipfile.ZipFile, member: str) -> bool:
    """A quick search of the sheet's bytes for a formula element, sparing nearly every sheet the parse."""
    tail = b""
    with archive.open(member) as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            if re.search(rb"<([A-Za-z0-9_]+:)?f[ />]", tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def _first_uncomputed(archive: zipfile.ZipFile, member: str) -> str | None:
    with archive.open(member) as f:
        for _event, element in ET.iterparse(f):
            name = _local(element.tag)
            if name == "c":
                children = {_local(child.tag): child for child in element}
                value = children.get("v")
                # An empty value is a computed empty text only when the cell says it is text ("str").
                if "f" in children and (value is None or (not value.text and element.get("t") != "str")):
                    return element.get("r")
            elif name == "row":
                element.clear()
    return None


def _cell_text(value) -> str:
    """A cell as the CSV export of the same data would write it: dates ISO, whole numbers without '.0'."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
