"""Reading CSV exports as people really send them, a row at a time.

A file is read twice, never held whole: once to tell its encoding (UTF-8 with or without a
byte-order mark, else Windows-1252, else Latin-1, which decodes any byte), then row by row
through the csv module over a text stream (Windows, Unix and old Mac line endings alike). The
delimiter is sniffed from a sample (comma, semicolon, tab or pipe; comma when unsure).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

#: Cells that mean "no answer" in exports (compared case-insensitively, after trimming).
PLACEHOLDERS = frozenset({"", "select", "n/a", "-", "null", "none", "unknown"})

#: Bytes read at a time while checking the encoding, and the sample sniffed for a delimiter.
CHUNK_BYTES = 1 << 20
SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"

#: How each encoding `encoding_detect` answers is told to people.
ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 with a byte-order mark",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252 (not UTF-8)",
    "latin-1": "Latin-1 (not UTF-8)",
}

# Bytes Windows-1252 leaves undefined: a file holding one is not cp1252 (Latin-1 takes it).
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


class CsvFileError(ValueError):
    """The file cannot be read as CSV at all (no header row, not text)."""


def is_placeholder(value: str | None) -> bool:
    """True for a blank cell or a placeholder such as "Select" or "N/A"."""
    return value is None or value.strip().casefold() in PLACEHOLDERS


def encoding_detect(open_binary: Callable[[], IO[bytes]]) -> str:
    """`utf-8-sig` (a byte-order mark), `utf-8`, `cp1252` or `latin-1`: the first that decodes
    the whole file, streamed in chunks."""
    with open_binary() as stream:
        head = stream.read(CHUNK_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        decoder = codecs.getincrementaldecoder("utf-8")()
        cp1252 = True
        chunk = head
        utf8 = True
        while chunk:
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if cp1252 and not _CP1252_UNDEFINED.isdisjoint(chunk):
                cp1252 = False
            chunk = stream.read(CHUNK_BYTES)
        if utf8:
            try:
                decoder.decode(b"", final=True)  # a multi-byte sequence cut at the end
                return "utf-8"
            except UnicodeDecodeError:
                pass
    return "cp1252" if cp1252 else "latin-1"


def delimiter_sniff(sample: str) -> str:
    """The sample's delimiter among `DELIMITERS`: csv.Sniffer's guess, else the candidate the
    header line holds most of, else a comma."""
    # Whole, non-blank lines only: a row cut mid-way or a blank row confuses the sniffer.
    cut = max(sample.rfind("\n"), sample.rfind("\r"))
    lines = [line for line in (sample[:cut] if cut > 0 else sample).splitlines() if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {candidate: lines[0].count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        return best if counts[best] else ","


class _CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read through it (for progress and an ETA)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.bytes_read += count
        return count


@dataclass
class CsvRows:
    """An open CSV export: its header, how it was read, and its rows with line numbers."""

    encoding: str
    delimiter: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    _counter: _CountingReader

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes_read


def _numbered(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(first physical line of the record, cells) for each record that is not blank."""
    line = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1


@contextmanager
def csv_rows_open(open_binary: Callable[[], IO[bytes]]) -> Iterator[CsvRows]:
    """Open an export for reading row by row: encoding and delimiter detected, header read.

    `open_binary` opens the file afresh each time (it is read twice). Blank rows are skipped;
    line numbers are the file's own (the header is line 1).
    """
    encoding = encoding_detect(open_binary)
    with open_binary() as raw:
        counter = _CountingReader(raw)
        buffered = io.BufferedReader(counter, buffer_size=CHUNK_BYTES)
        text = io.TextIOWrapper(buffered, encoding=encoding, newline="")
        try:
            sample = text.read(SAMPLE_BYTES)
        except UnicodeDecodeError as exc:  # pragma: no cover - encoding_detect read it all
            raise CsvFileError(f"The file is not text in {encoding}.") from exc
        if sample.endswith("\r"):
            sample += text.read(1)  # never split a Windows line ending between sample and rest
        if "\x00" in sample:
            raise CsvFileError("The file is not a CSV text file (it holds NUL bytes).")
        delimiter = delimiter_sniff(sample)
        # The sample is replayed ahead of the rest of the stream.
        lines = _chain_text(sample, text)
        reader = csv.reader(lines, delimiter=delimiter)
        header: list[str] | None = None
        for cells in reader:
            if any(cell.strip() for cell in cells):
                header = [cell.strip() for cell in cells]
                break
        if header is None:
            raise CsvFileError("The file has no header row.")
        yield CsvRows(
            encoding=encoding,
            delimiter=delimiter,
            header=header,
            rows=_numbered(reader),
            _counter=counter,
        )


def _chain_text(sample: str, rest: IO[str]) -> Iterator[str]:
    """Lines of `sample` followed by the lines of `rest` (keeping their line endings)."""
    pending = ""
    for line in io.StringIO(sample, newline=""):
        pending = line
        if line.endswith(("\n", "\r")):
            yield line
            pending = ""
    first = True
    for line in rest:
        if first and pending:
            line = pending + line
        first = False
        yield line
    if first and pending:
        yield pending


__all__ = [
    "ENCODING_LABELS",
    "PLACEHOLDERS",
    "CsvFileError",
    "CsvRows",
    "csv_rows_open",
    "delimiter_sniff",
    "encoding_detect",
    "is_placeholder",
]
