"""A file's bytes, checked before DuckDB reads it: checksum, lines, quotes, delimiters, separators
(scan_file, on a thread ahead of the ingest), and the lines a malformed file must be named by."""

import codecs
import csv
import hashlib
import os
import re
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from ketamine_outcomes.ingest.contract import Layout, sniff_delimiter


PROGRESS_BYTES = 5 * 1024 * 1024


@dataclass
class FileScan:
    sha256: str
    size: int
    header: str
    encoding: str
    lines: int  # as an editor counts them, header included
    quotes: int = 0  # '"' characters: an odd number means a quoted value may never be closed
    delimiter: str = ","  # the header's (contract.sniff_delimiter)
    delimiters: int = 0  # how many of it the file holds
    separators: bool = True  # it holds ASCII's record or unit separator (bytes 0x1E, 0x1F): read_positional


def scan_ahead(path: Path) -> tuple[FileScan, tuple[int, int]]:
    """scan_file, with the size and time of change it was read at."""
    before = os.stat(path)
    return scan_file(path), (before.st_size, before.st_mtime_ns)


def scanned(path: Path, ahead: Future | None) -> FileScan:
    """The file's scan: the one made ahead (ingest_files) when the file has not changed since, else made now."""
    if ahead is not None:
        scan, read_at = ahead.result()
        now = os.stat(path)
        if read_at == (now.st_size, now.st_mtime_ns):
            return scan
    return scan_file(path)


def scan_file(path: Path) -> FileScan:
    """One pass over the bytes: checksum, header line, encoding, number of lines, and how many of the
    header's delimiter the file holds (lines_with_extra_fields)."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8"
    first, newlines, last, quotes, separators = b"", 0, b"", 0, False
    delimiter, delimiters = b",", 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            digest.update(chunk)
            if not first:
                first = chunk[: chunk.find(b"\n") + 1 or None]
                delimiter = sniff_delimiter(first.decode("latin-1")).encode()
            delimiters += chunk.count(delimiter)
            # An ASCII chunk is UTF-8 (a quick test), unless it ends a character the last chunk began.
            if encoding == "utf-8" and not (chunk.isascii() and not utf8.getstate()[0]):
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    encoding = "latin-1"  # what spreadsheet exports on Windows write instead
            newlines += chunk.count(b"\n")
            if b'"' in chunk:  # a search stops at the first; a count reads to the end
                quotes += chunk.count(b'"')
            separators = separators or b"\x1e" in chunk or b"\x1f" in chunk
            last = chunk[-1:]
    header = first.rstrip(b"\r\n").decode("utf-8-sig" if encoding == "utf-8" else encoding)
    return FileScan(digest.hexdigest(), path.stat().st_size, header, encoding, newlines + (last not in (b"\n", b"")),
                    quotes, delimiter.decode(), delimiters, separators)


def blank_lines(path: Path) -> list[int]:
    """The numbers of the blank lines (DuckDB skips them; the lines after them keep their numbers).
    A second pass over the bytes, only for the few files that need it: searching for blank lines costs
    more than the checksum."""
    blank: set[int] = set()
    line, tail = 1, b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            buf = tail + chunk
            if b"\n\n" in buf or b"\n\r\n" in buf:
                # Newlines are counted once, from one run of blank lines to the next (counting from the
                # chunk's start for each took minutes for a file of a million blank lines).
                before, counted = line - tail.count(b"\n"), 0  # line number at `counted`
                for run in re.finditer(rb"\n(?:\r?\n)+", buf):
                    before += buf.count(b"\n", counted, run.start())
                    counted = run.start()
                    blank.update(range(before + 1, before + run.group().count(b"\n")))
            line += chunk.count(b"\n")
            tail = buf[-2:]
    return sorted(blank)


def unclosed_quote(path: Path, layout: Layout, scan: FileScan) -> int | None:
    """The line whose quoted value runs to the end of the file (DuckDB would read every later line into
    it, and count them as one line), or None. A stray quote inside an unquoted value also makes the count
    odd; that line is DuckDB's to reject on its own."""
    with open(path, encoding=scan.encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=layout.delimiter, quotechar='"', doublequote=True, strict=True)
        start = 1
        try:
            for _row in reader:
                start = reader.line_num + 1
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                return start
    return None


def lines_with_extra_fields(path: Path, layout: Layout, scan: FileScan,
                             malformed: bool) -> list[tuple[int, int, str]]:
    """(line number, fields, text) of each line with more fields than the header whose extra fields are
    empty, which DuckDB's reader keeps. When no quote can hide a delimiter and every line is a row (not
    `malformed`: so none is short of fields), only a file with more delimiters in all than the header's
    number on every line can hold one (scan_file counted them); else only a file with a line ending in its
    delimiter. Those quick tests over the bytes spare most files the slower parse."""
    expected = (len(layout.headers) - 1) * scan.lines
    if layout.delimiter == scan.delimiter and not scan.quotes and not malformed and scan.delimiters == expected:
        return []  # every line holds exactly the header's fields
    delimiter, tail = layout.delimiter.encode(scan.encoding), b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            buf = tail + chunk
            if delimiter + b"\n" in buf or delimiter + b"\r" in buf:
                break
            tail = buf[-1:]
        else:
            return []  # no line ends in the delimiter
    found, width = [], len(layout.headers)
    with open(path, encoding=scan.encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=layout.delimiter, quotechar='"', doublequote=True)
        try:
            next(reader)  # the header
            start = reader.line_num + 1
            for row in reader:
                if len(row) > width and not any(row[width:]):
                    found.append((start, len(row), layout.delimiter.join(row)))
                start = reader.line_num + 1
        except csv.Error:
            pass  # a line the csv module cannot read is DuckDB's to reject; the lines found so far stand
    return found
