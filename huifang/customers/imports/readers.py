"""Reading an uploaded table, CSV or XLSX, as (line number, cells) with the header apart. Streaming: a row at a
time, whatever the file's size. No ORM.

CSV encodings are decided by strict trial decodes of the whole file (it is read once more for that, at disk
speed): UTF-8 (with or without BOM) first, then GB18030, which contains GBK and GB2312. A file neither decodes
is refused whole, as is a file whose rows cannot be parsed (ImportFileError)."""

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: bytes read at a time for the trial decodes
CHUNK = 1 << 20
#: csv's limit on one cell: a counter export's cell is never this large, a binary file's "cell" is
FIELD_LIMIT = 1 << 16

Cell = str | int | float | dt.date | dt.datetime | None


class ImportFileError(Exception):
    """The file cannot be read at all; the message is for the user (Chinese). Nothing of it is imported."""


@dataclass
class Table:
    """An open table: its header row and an iterator over the rest."""

    header: list[str]
    #: (line number in the file, cells) of every non-blank row after the header
    rows: Iterator[tuple[int, list[Cell]]]
    #: for CSV: the encoding the rows were decoded with (the rejects file is written in it); "" for XLSX
    encoding: str = ""
    delimiter: str = ","
    file_format: str = "csv"
    #: releases the file (or workbook); reading the rows to their end does it too
    closer: Callable[[], None] = lambda: None

    def close(self) -> None:
        self.closer()


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def detect_encoding(path: Path) -> str:
    """`utf-8-sig` (with or without BOM: the codec drops one if there) or `gb18030`."""
    if _decodes(path, "utf-8"):
        return "utf-8-sig"
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise ImportFileError("无法识别文件编码：既不是 UTF-8，也不是 GBK/GB18030。请另存为 UTF-8 或 GBK 编码的 CSV 文件。")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", "|", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def is_xlsx(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def open_table(path: Path) -> Table:
    """The header and rows of a CSV or XLSX file; raises ImportFileError for a file that is neither, is empty,
    or has no header row."""
    if is_xlsx(path):
        return _open_xlsx(path)
    with path.open("rb") as handle:
        start = handle.read(8)
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("这是旧版 Excel（.xls）文件：请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
    return _open_csv(path)


def _open_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    handle = path.open(encoding=encoding, newline="")
    first = handle.readline()
    if "\x00" in first:
        handle.close()
        raise ImportFileError("文件含有二进制内容，不是 CSV 文本文件。")
    delimiter = _sniff_delimiter(first)
    handle.seek(0)
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        handle.close()
        raise ImportFileError(f"第 1 行无法解析：{error}") from None
    if not header or not any(cell.strip() for cell in header):
        handle.close()
        raise ImportFileError("文件是空的，或第一行不是表头。")

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        with handle:
            line = reader.line_num + 1
            try:
                for cells in reader:
                    if any(cells) and any(cell.strip() for cell in cells):
                        yield line, list(cells)
                    line = reader.line_num + 1
            except csv.Error as error:
                raise ImportFileError(f"第 {line} 行无法解析（{error}），整个文件未导入。") from None

    return Table([cell.strip() for cell in header], rows(), encoding=encoding, delimiter=delimiter,
                 closer=handle.close)


def _open_xlsx(path: Path) -> Table:
    import openpyxl  # only XLSX imports pay for loading it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(f"无法打开 Excel 文件：{error}") from None
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows()
    header_cells = next(iterator, None)
    if not header_cells or not any(c.value not in (None, "") for c in header_cells):
        workbook.close()
        raise ImportFileError("工作表是空的，或第一行不是表头。")
    header = ["" if c.value is None else str(c.value).strip() for c in header_cells]

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for number, cells in enumerate(iterator, start=2):
                values: list[Cell] = []
                for cell in cells:
                    value = cell.value
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        value = _padded(value, getattr(cell, "number_format", "") or "")
                    values.append(value)
                if any(v not in (None, "") and not (isinstance(v, str) and not v.strip()) for v in values):
                    yield number, values
        finally:
            workbook.close()

    return Table(header, rows(), file_format="xlsx", closer=workbook.close)


def read_header(path: Path) -> list[str]:
    """The header row of `path`, the file closed again; ImportFileError as open_table."""
    table = open_table(path)
    table.close()
    return table.header


def _padded(value: int | float, number_format: str) -> Cell:
    """A whole number whose cell format pads with zeros ("000000000000") as the text Excel shows: customer
    numbers typed into a numeric cell keep their leading zeros."""
    if number_format and set(number_format) == {"0"} and float(value).is_integer():
        return str(int(value)).zfill(len(number_format))
    return value

