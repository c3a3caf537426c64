"""Render workbooks to PNG, one picture per visible sheet: its top-left corner, as a screen shows it.

    scripts/sheet_previews.py --out docs/previews result=out/demo/term.result.xlsx template=templates/term-schedule.xlsx
    -> docs/previews/result-summary.png, result-results.png, template-schedule.png, ...

LibreOffice's PDF export with "whole sheet export" (the calc_pdf_Export filter's SinglePageSheets
option, LibreOffice 7.4 and later) puts every sheet of a workbook on exactly one page, at 100 %
scale, in tab order, and ignores print areas, page set-up and hidden states: hidden sheets get
a page too, as LibreOffice's help says. So page N is the Nth `<sheet>` in xl/workbook.xml, and
the workbook is converted as it is, its bytes untouched. (A normal export goes by the print
set-up instead: a hidden sheet with a print area is printed all the same, and a sheet may fill
any number of pages, so a page number there says nothing about which sheet it shows.)

Each picture is the top-left WIDTH x HEIGHT pixels of its sheet's page at RESOLUTION dpi (96 dpi
is a screen at 100 % zoom): the headers and first columns a coordinator sees on opening the
sheet, legible, rather than the whole sheet shrunk to one page wide. Written as 8-bit palette
PNGs, which keeps them small. Nothing here knows the sheets' names, columns or layout.

Needs `soffice` (LibreOffice) and `pdftoppm` and `pdfinfo` (poppler); installs nothing. LibreOffice
runs with a private, temporary profile, so it works as root and beside another LibreOffice.
"""

from __future__ import annotations

import argparse
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path

TOOLS = {"soffice": "libreoffice-calc-nogui", "pdftoppm": "poppler-utils", "pdfinfo": "poppler-utils"}
INSTALL = "apt-get install libreoffice-calc-nogui poppler-utils"
MIN_LIBREOFFICE = (7, 4)  # SinglePageSheets, and filter options written as JSON on the command line
WHOLE_SHEETS = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'
# Calibri is what Excel and XlsxWriter write; Carlito has its metrics, so cells overflow as they do in Excel.
FONT_HINT = ("Calibri", "Carlito", "fonts-crosextra-carlito")
SHEET_TAG = re.compile(rb"<sheet\s[^>]*>")
STATE = re.compile(rb'\sstate="([^"]*)"')
NAME = re.compile(rb'\sname="([^"]*)"')
SOFFICE_TIMEOUT_S = 300


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def libreoffice_version() -> tuple[int, int] | None:
    done = subprocess.run(["soffice", "--version"], capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r"LibreOffice (\d+)\.(\d+)", done.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else None


def require_tools() -> None:
    missing = missing_tools()
    if missing:
        packages = ", ".join(dict.fromkeys(TOOLS[tool] for tool in missing))
        sys.exit(f"sheet previews need {' and '.join(missing)}, not found on PATH.\n"
                 f"Install LibreOffice Calc and poppler (Debian/Ubuntu), then run this again:\n    {INSTALL}\n"
                 f"(packages: {packages})")
    version = libreoffice_version()
    if version is None or version < MIN_LIBREOFFICE:
        found = ".".join(map(str, version)) if version else "an unknown version"
        sys.exit(f"sheet previews need LibreOffice {'.'.join(map(str, MIN_LIBREOFFICE))} or later "
                 f"(whole sheet PDF export); `soffice --version` says {found}")


def font_hint() -> None:
    """A warning, not a failure: without Carlito, LibreOffice draws Calibri text in a wider font."""
    wanted, metric_twin, package = FONT_HINT
    if shutil.which("fc-match") is None:
        return
    done = subprocess.run(["fc-match", wanted], capture_output=True, text=True, timeout=30, check=False)
    if metric_twin not in done.stdout:
        print(f"note: no {wanted} or {metric_twin} font ({done.stdout.strip() or 'fc-match says nothing'}): "
              f"text may overflow its cells in the pictures; install {package} for Excel's widths", file=sys.stderr)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "sheet"


def unescape(name: bytes) -> str:
    text = name.decode("utf-8")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def sheets(workbook_xml: bytes) -> list[tuple[str, bool]]:
    """(name, visible) of every sheet, hidden ones too, in tab order: the order of the PDF's pages."""
    found = []
    for tag in SHEET_TAG.findall(workbook_xml):
        state = STATE.search(tag)
        name = NAME.search(tag)
        found.append((unescape(name.group(1)) if name else "", state is None or state.group(1) == b"visible"))
    return found


def to_pdf(books: list[Path], outdir: Path, profile: Path) -> None:
    """Each book as a PDF of one page per sheet, named after the book, in `outdir`."""
    command = ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", WHOLE_SHEETS, "--outdir", str(outdir), *map(str, books)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT_S, check=False)
    missing = [book.name for book in books if not (outdir / f"{book.stem}.pdf").exists()]
    if done.returncode or missing:
        sys.exit(f"soffice failed (exit {done.returncode}); no PDF for {', '.join(missing) or '-'}\n"
                 f"{done.stdout}{done.stderr}")


def page_count(pdf: Path) -> int:
    done = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    found = re.search(r"^Pages:\s+(\d+)", done.stdout, re.MULTILINE)
    if not found:
        sys.exit(f"{pdf.name}: pdfinfo gives no page count\n{done.stdout}")
    return int(found.group(1))


def read_ppm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (P6, 8 bits), as pdftoppm writes it."""
    data = path.read_bytes()
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    if not header:
        sys.exit(f"{path.name}: not an 8-bit binary PPM")
    width, height = int(header.group(1)), int(header.group(2))
    return width, height, data[header.end():header.end() + width * height * 3]


def palette_png(width: int, height: int, rgb: bytes) -> bytes:
    """RGB pixels as an 8-bit palette PNG: the 256 commonest colours, any other one drawn in its nearest.

    A sheet has a few fills and text colours; only the anti-aliased edges of letters add more,
    and a near colour there changes nothing a reader sees, while the file gets 2-3 times smaller.
    """
    pixels = [rgb[i:i + 3] for i in range(0, len(rgb), 3)]
    counts = Counter(pixels)
    palette = [colour for colour, _ in counts.most_common(256)]
    index = {colour: i for i, colour in enumerate(palette)}
    for colour in counts:
        if colour not in index:
            index[colour] = min(range(len(palette)),
                                key=lambda i: sum((a - b) ** 2 for a, b in zip(colour, palette[i], strict=True)))
    indices = bytes(index[pixel] for pixel in pixels)
    rows = b"".join(b"\0" + indices[y * width:(y + 1) * width] for y in range(height))  # filter 0 on each row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", b"".join(palette))
            + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def corner_png(pdf: Path, page: int, png: Path, resolution: int, width: int, height: int) -> None:
    """The top-left width x height pixels of one page of `pdf` (less, if the page is smaller) as `png`."""
    prefix = pdf.with_name(f"{pdf.stem}-{page}")  # pdftoppm adds the .ppm
    subprocess.run(["pdftoppm", "-r", str(resolution), "-f", str(page), "-l", str(page), "-x", "0", "-y", "0",
                    "-W", str(width), "-H", str(height), "-singlefile", str(pdf), str(prefix)],
                   check=True, timeout=120)
    ppm = prefix.with_suffix(".ppm")
    try:
        png.write_bytes(palette_png(*read_ppm(ppm)))
    finally:
        ppm.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("books", nargs="*", metavar="LABEL=BOOK.xlsx",
                        help="a workbook, named LABEL in the pictures' names (default: the file's stem)")
    parser.add_argument("--out", type=Path, default=Path("docs/previews"), help="where the PNGs go")
    parser.add_argument("--resolution", type=int, default=96, help="dots per inch (default: 96, 100%% zoom)")
    parser.add_argument("--width", type=int, default=1400, help="most pixels across a picture (default: 1400)")
    parser.add_argument("--height", type=int, default=800, help="most pixels down a picture (default: 800)")
    parser.add_argument("--check-tools", action="store_true", help="only check soffice, pdftoppm, pdfinfo are there")
    args = parser.parse_args(argv)
    require_tools()
    if args.check_tools:
        return
    if not args.books:
        parser.error("name at least one workbook")
    books: dict[str, Path] = {}
    for spec in args.books:
        label, _, path = spec.rpartition("=")
        book = Path(path)
        if not book.is_file():
            sys.exit(f"{book}: no such file (for the demo's result sheet, run `make demo` first)")
        label = slug(label or book.name.split(".")[0])
        if label in books:
            sys.exit(f"two workbooks labelled {label}: name them, LABEL=BOOK.xlsx")
        books[label] = book
    font_hint()

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sheet-previews-") as scratch:
        work = Path(scratch)
        (work / "books").mkdir()
        copies = []
        for label, book in books.items():  # copied to the label's name: the PDF is named after the file
            copies.append(work / "books" / f"{label}.xlsx")
            shutil.copyfile(book, copies[-1])
        to_pdf(copies, work / "pdf", work / "profile")
        for label, book in books.items():
            with zipfile.ZipFile(book) as source:
                tabs = sheets(source.read("xl/workbook.xml"))
            pdf = work / "pdf" / f"{label}.pdf"
            pages = page_count(pdf)
            if pages != len(tabs):
                sys.exit(f"{book}: {len(tabs)} sheets but {pages} pages; LibreOffice no longer puts each sheet, "
                         f"hidden ones too, on a page of its own, so a page cannot be told to be a sheet")
            if not any(visible for _, visible in tabs):
                sys.exit(f"{book}: no visible sheet")
            names = [slug(name) for name, visible in tabs if visible]
            if len(set(names)) < len(names):
                sys.exit(f"{book}: two visible sheets would make one picture name: {', '.join(names)}")
            for old in args.out.glob(f"{label}-*.png"):  # a sheet renamed or gone leaves no stale picture behind
                old.unlink()
            for page, (name, visible) in enumerate(tabs, start=1):
                if visible:
                    png = args.out / f"{label}-{slug(name)}.png"
                    corner_png(pdf, page, png, args.resolution, args.width, args.height)
                    print(f"wrote {png} ({png.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
