"""A printable meeting notice: a PNG with the meeting's text and a QR deep link to it.

Households without a registered resident are invited on paper: the notice goes on the
building door, and scanning its QR code opens the bot at `/start m_<id>` (check-in, RSVP).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from bot import files, fonts
from bot.buttons import parse_id
from bot.config import Settings

PAYLOAD_PREFIX = "m_"
WIDTH = 1240  # A4 width at 150 dpi
MARGIN = 80
FONT_CANDIDATES = (
    str(fonts.BUNDLED_CJK),  # always there: the printed notice never shows boxes
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def payload(meeting_id: int) -> str:
    """The /start payload that names a meeting."""
    return f"{PAYLOAD_PREFIX}{meeting_id}"


def parse_payload(value: str) -> int | None:
    """The meeting id of a `m_<id>` payload, or None."""
    value = value.strip()
    return parse_id(value[len(PAYLOAD_PREFIX) :]) if value.startswith(PAYLOAD_PREFIX) else None


def meeting_link(settings: Settings, *, meeting_id: int) -> str:
    """The deep link to a meeting, in the configured format (settings.meetings.link_format)."""
    return settings.meetings.link_format.format(
        payload=payload(meeting_id),
        bot=settings.meetings.bot_username,
        web_host=settings.web.host,
        web_port=settings.web.port,
    )


@cache
def _font(path: str, size: int) -> Font:
    for candidate in (path, *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            try:
                return ImageFont.truetype(candidate, size)
            except OSError:
                continue
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    """Break text into lines that fit `width` pixels (per character: Chinese has no spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            if draw.textlength(line + char, font=font) > width and line:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
    return lines


def notice_png(
    *, link: str, title: str, lines: list[str], caption: str, font_path: str = ""
) -> bytes:
    """A notice: a title, text lines, the QR code of `link` and a caption under it."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(link)
    code.make(fit=True)
    qr_image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    side = min(WIDTH - 2 * MARGIN, max(480, qr_image.width))
    qr_image = qr_image.resize((side, side), Image.Resampling.NEAREST)

    title_font, body_font, small_font = (_font(font_path, s) for s in (64, 40, 30))
    probe = ImageDraw.Draw(Image.new("RGB", (WIDTH, 10)))
    inner = WIDTH - 2 * MARGIN
    title_lines = _wrap(probe, title, title_font, inner)
    body_lines = [wrapped for line in lines for wrapped in _wrap(probe, line, body_font, inner)]
    caption_lines = _wrap(probe, caption, small_font, inner) + _wrap(probe, link, small_font, inner)
    height = (
        MARGIN
        + 84 * len(title_lines)
        + 30
        + 56 * len(body_lines)
        + 40
        + side
        + 20
        + 42 * len(caption_lines)
        + MARGIN
    )
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    y = MARGIN
    for line in title_lines:
        draw.text((MARGIN, y), line, fill=(180, 0, 0), font=title_font)
        y += 84
    y += 30
    for line in body_lines:
        draw.text((MARGIN, y), line, fill="black", font=body_font)
        y += 56
    y += 40
    image.paste(qr_image, ((WIDTH - side) // 2, y))
    y += side + 20
    for line in caption_lines:
        draw.text((MARGIN, y), line, fill=(60, 60, 60), font=small_font)
        y += 42
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_notice(settings: Settings, *, meeting_id: int, png: bytes) -> Path:
    """Store a notice under settings.meetings.notice_dir; returns its path (for a document)."""
    path = settings.meetings.notice_dir / f"meeting-{meeting_id}.png"
    files.write_private(path, png)
    return path.resolve()
