"""QR codes as inline SVG, for printed labels (a printer's page, a delivery's box): one function, one format."""

from __future__ import annotations

import io

import segno


def qr_svg(text: str, *, module_mm: float = 0.6) -> str:
    """An <svg> element (no XML declaration) encoding text, each module module_mm wide, quiet zone included.

    Error correction M survives a scuffed label; sizes are in mm so a label prints at the size it says.
    """
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=module_mm, unit="mm", xmldecl=False, svgns=True, nl=False, border=4)
    return out.getvalue().decode("ascii")
