"""Pictures of labeled images: skeletons in the rig's colours, and a review page.

Lines take their rig colour (``skeletonRig``'s third element), keypoints their
class colour; a visible point is a filled dot, an occluded one a ring, so the
two read apart at a glance. Skeletons with a QA flag get a yellow box.
Coordinates are in the image's pixels as the worker saw it, i.e. after EXIF
rotation (browsers apply it, and the component reads the natural size), so the
image is rotated the same way before drawing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageOps

from handlers.rig import Rig
from handlers.skeleton import Skeleton
from scripts.worker_scores import COLUMN_NAMES, WorkerScore, score_cells

#: Pictures are scaled down to this longest side: enough to judge a pose, small to store.
MAX_SIDE = 1600
DEFAULT_LINE_COLOR = "#E0E0E0"
DEFAULT_POINT_COLOR = "#FFD700"
FLAG_COLOR = "#FFEB3B"
OUTLINE_COLOR = "#000000"


def oriented_size(file: Path | IO[bytes]) -> tuple[int, int]:
    """``(width, height)`` as a browser shows the image (EXIF orientation applied)."""
    with Image.open(file) as image:
        width, height = image.size
        # Orientations 5-8 turn the image a quarter: width and height swap.
        if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            return height, width
        return width, height


def draw(
    image: Image.Image,
    skeletons: Sequence[Skeleton],
    rig: Rig,
    flagged: AbstractSet[int] = frozenset(),
) -> Image.Image:
    """A copy of ``image`` (RGB, at most MAX_SIDE wide or high) with the skeletons drawn."""
    picture = ImageOps.exif_transpose(image).convert("RGB")
    natural_width = picture.width
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    scale = picture.width / natural_width
    canvas = ImageDraw.Draw(picture)
    size = min(picture.size)
    line_width = max(2, round(size / 250))
    radius = max(3, round(size / 120))
    colors = {k.label: k.color or DEFAULT_POINT_COLOR for k in rig.keypoints}
    for index, skeleton in enumerate(skeletons):
        points = {k.label: (k.x * scale, k.y * scale) for k in skeleton.keypoints if k.visibility}
        if index in flagged and (box := skeleton.bbox()) is not None:
            x, y, w, h = (v * scale for v in box)
            pad = radius * 2
            canvas.rectangle(
                (x - pad, y - pad, x + w + pad, y + h + pad), outline=FLAG_COLOR, width=line_width
            )
        for bone in rig.skeleton:
            if bone.a in points and bone.b in points:
                canvas.line(
                    (points[bone.a], points[bone.b]),
                    fill=bone.color or DEFAULT_LINE_COLOR,
                    width=line_width,
                )
        for k in skeleton.keypoints:
            if not k.visibility or k.label not in points:
                continue
            x, y = points[k.label]
            bounds = (x - radius, y - radius, x + radius, y + radius)
            color = colors.get(k.label, DEFAULT_POINT_COLOR)
            if k.visibility == 2:
                canvas.ellipse(bounds, fill=color, outline=OUTLINE_COLOR, width=1)
            else:
                canvas.ellipse(bounds, outline=color, width=max(2, radius // 2))
    return picture


@dataclass
class ReviewItem:
    image_name: str
    #: Path of the picture relative to the review page; None when it could not be drawn.
    picture: str | None
    flags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Why there is no picture, when there is none.
    missing: str | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.flags or self.errors)


#: Sorts the workers table by the column clicked (again: the other way); cells without a
#: value (a dash) stay last. Numbers sort by ``data-value``, text by its letters.
_SORT_SCRIPT = """<script>
document.querySelectorAll("table.sortable th").forEach((th, column) => {
  th.addEventListener("click", () => {
    const body = th.closest("table").tBodies[0];
    const up = th.getAttribute("aria-sort") !== "ascending";
    th.closest("tr").querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    const key = (row) => row.cells[column].dataset.value;
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === "" || y === "") return (x === "") - (y === "");
      const order = isNaN(x) || isNaN(y) ? x.localeCompare(y) : x - y;
      return up ? order : -order;
    });
    body.append(...rows);
  });
});
</script>"""


def scores_table(rows: Sequence[WorkerScore]) -> list[str]:
    """The worker scores as a table whose columns sort when clicked (every text escaped)."""
    if not rows:
        return []
    head = "".join(f'<th scope="col">{html.escape(name)}</th>' for name in COLUMN_NAMES)
    body = []
    for row in rows:
        cells = "".join(
            f'<td data-value="{"" if value is None else html.escape(str(value), quote=True)}">'
            f"{html.escape(text)}</td>"
            for text, value in score_cells(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return [
        f"<h2>Workers ({len(rows)})</h2>",
        "<p>Click a column to sort by it (docs/review.md explains each).</p>",
        f'<table class="sortable"><thead><tr>{head}</tr></thead>',
        f"<tbody>{''.join(body)}</tbody></table>",
        _SORT_SCRIPT,
    ]


def review_page(
    items: Sequence[ReviewItem],
    *,
    title: str,
    summary: Sequence[str],
    scores: Sequence[WorkerScore] = (),
) -> str:
    """One HTML page: the summary, the workers' scores, then the pictures, flagged images
    first; every text is escaped, links are relative."""
    ordered = sorted(items, key=lambda item: not item.flagged)  # stable: manifest order kept
    flagged = sum(1 for item in items if item.flagged)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:1.5rem}"
        "main{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1rem}"
        "figure{margin:0;border:1px solid #ccc;padding:.5rem}"
        "figure.flagged{border:3px solid #d4a000}"
        "img{max-width:100%;height:auto;display:block}"
        "ul{margin:.3rem 0;padding-left:1.2rem}.error{color:#b00020}"
        "table.sortable{border-collapse:collapse;margin-bottom:1.5rem}"
        "table.sortable th,table.sortable td{border:1px solid #ccc;padding:.2rem .5rem}"
        "table.sortable td+td{text-align:right}"
        "table.sortable th{cursor:pointer;background:#f3f3f3}"
        "th[aria-sort=ascending]::after{content:' \\25B2'}"
        "th[aria-sort=descending]::after{content:' \\25BC'}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<ul>",
        *(f"<li>{html.escape(line)}</li>" for line in summary),
        "</ul>",
        *scores_table(scores),
        f"<p>{flagged} flagged image(s) first, then the others.</p>",
        "<main>",
    ]
    for item in ordered:
        css = ' class="flagged"' if item.flagged else ""
        name = html.escape(item.image_name)
        if item.picture:
            href = html.escape(quote(item.picture), quote=True)
            body = f'<a href="{href}"><img src="{href}" alt="{name}" loading="lazy"></a>'
        else:
            why = html.escape(item.missing or "image not available")
            body = f"<p>(no picture: {why})</p>"
        notes = [f"<li>{html.escape(flag)}</li>" for flag in item.flags]
        notes += [f'<li class="error">{html.escape(error)}</li>' for error in item.errors]
        notes_html = f"<ul>{''.join(notes)}</ul>" if notes else ""
        parts.append(f"<figure{css}>{body}<figcaption>{name}{notes_html}</figcaption></figure>")
    parts += ["</main>", "</body></html>", ""]
    return "\n".join(parts)
