"""Markdown -> PDF rendering, read back the way a recipient's PDF reader would (pypdf).

These tests need no database: they exercise pdf.rendering alone, with real WeasyPrint.
"""

import hashlib
import io
import re

import pytest
from pypdf import PdfReader

from pdf.rendering import (
    TEMPLATES,
    BundledAssetFetcher,
    UnknownTemplate,
    html_to_pdf,
    markdown_to_safe_html,
    render_pdf,
)
from pdf.tests.helpers import FIXTURES, PASSWD_MARKER

JANE = (FIXTURES / "jane_doe_improved.md").read_text()
JOHN = (FIXTURES / "john_smith_improved.md").read_text()


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_the_cv_headings(template):
    rendered = render_pdf(markdown=JANE, template=template, title="Jane Doe - CV")

    text = pdf_text(rendered.content).casefold()
    for heading in (
        "Jane Doe",
        "Summary",
        "Experience",
        "Senior Software Engineer — Ledgerly Ltd, London",
        "Education",
        "Skills",
        "Languages",
    ):
        assert heading.casefold() in text
    assert rendered.pages == 1


def test_result_reports_real_page_count_and_hash():
    rendered = render_pdf(markdown="\n\n".join([JANE] * 4), template="classic", title="Long CV")

    reader = PdfReader(io.BytesIO(rendered.content))
    assert rendered.content.startswith(b"%PDF-")
    assert rendered.pages == len(reader.pages)
    assert 3 <= rendered.pages <= 5
    assert rendered.sha256 == hashlib.sha256(rendered.content).hexdigest()


def test_footer_numbers_pages_and_repeats_the_name():
    rendered = render_pdf(markdown="\n\n".join([JOHN] * 3), template="modern", title="John Smith")

    reader = PdfReader(io.BytesIO(rendered.content))
    total = len(reader.pages)
    assert total >= 2
    last_page = reader.pages[-1].extract_text()
    assert f"Page {total} of {total}" in last_page
    assert "John Smith" in last_page


def test_title_becomes_pdf_metadata_verbatim():
    title = '<b>Jane</b> & "Doe"'
    rendered = render_pdf(markdown=JANE, template="classic", title=title)

    assert PdfReader(io.BytesIO(rendered.content)).metadata.title == title


def test_unknown_template_is_refused():
    with pytest.raises(UnknownTemplate):
        render_pdf(markdown=JANE, template="fancy", title="x")


def test_templates_registry_describes_each_look():
    assert {"classic", "modern"} <= set(TEMPLATES)
    for slug, template in TEMPLATES.items():
        assert template.slug == slug
        assert template.name
        assert template.description


def test_dangerous_markdown_renders_without_fetching_or_leaking(local_server):
    port = local_server.server_address[1]
    markdown = f"""# Mallory

## Experience

<img src="file:///etc/passwd">

![photo](http://127.0.0.1:{port}/photo.png)

<script>document.write("injected")</script>

<link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">

<p style="background: url('http://127.0.0.1:{port}/bg.png')">Styled paragraph</p>

<a rel="attachment" href="file:///etc/passwd">attach</a>

[Portfolio](http://127.0.0.1:{port}/portfolio) and [bad](javascript:alert(1))
"""
    rendered = render_pdf(markdown=markdown, template="modern", title="Mallory")

    assert rendered.pages == 1
    assert local_server.connections == []
    text = pdf_text(rendered.content)
    assert "Mallory" in text
    assert "Experience".casefold() in text.casefold()
    # Markdown images are reduced to their alt text.
    assert "photo" in text
    assert PASSWD_MARKER not in text
    assert PASSWD_MARKER.encode() not in rendered.content
    reader = PdfReader(io.BytesIO(rendered.content))
    assert all(not page.images for page in reader.pages)
    assert "/EmbeddedFiles" not in str(reader.root_object.get("/Names", {}))


def test_sanitised_html_keeps_text_and_links_but_no_active_content():
    body = markdown_to_safe_html(
        "# Name\n\n"
        "![me](file:///etc/passwd)\n\n"
        "<img src=x onerror=alert(1)> <script>alert(1)</script>\n\n"
        "[site](https://example.com) [js](javascript:alert(1)) [rel](../../etc/passwd)\n"
    )

    tags = set(re.findall(r"<(\w+)", body))
    attributes = set(re.findall(r'\s([\w-]+)="', body))
    assert tags <= {"h1", "p", "a"}
    assert attributes <= {"href", "rel"}
    assert re.findall(r'href="([^"]*)"', body) == ["https://example.com"]
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>' in body
    # Raw HTML is never interpreted: it stays visible as text.
    assert "&lt;script&gt;" in body


def test_fetcher_blocks_hostile_html_even_without_the_markdown_layer(local_server):
    """Defence in depth: raw HTML straight into WeasyPrint still cannot fetch or read anything."""
    base = f"http://127.0.0.1:{local_server.server_address[1]}"
    hostile = f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="{base}/linked.css">
<link rel="attachment" href="file:///etc/passwd">
<style>
@import url("{base}/imported.css");
@import url("file:///etc/passwd");
@font-face {{ font-family: Evil; src: url("{base}/font.ttf"); }}
@font-face {{ font-family: Local; src: local("DejaVu Sans"); }}
body {{ background: url("{base}/bg.png"); font-family: Evil, Local; }}
</style></head><body>
<h1>Visible heading</h1>
<img src="file:///etc/passwd"><img src="{base}/img.png"><img src="relative.png">
<img src="data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'><image href='file:///etc/passwd'/></svg>">
<object data="file:///etc/passwd"></object><embed src="{base}/embed">
<iframe src="{base}/frame"></iframe>
<p style="background-image: url('{base}/inline.png')">paragraph</p>
<a rel="attachment" href="file:///etc/passwd">attachment</a>
</body></html>"""

    content, fetcher = html_to_pdf(hostile)

    assert local_server.connections == []
    assert "Visible heading" in pdf_text(content)
    assert PASSWD_MARKER.encode() not in content
    refused = " ".join(fetcher.refused)
    for attempted in (f"{base}/linked.css", f"{base}/img.png", "file:///etc/passwd", "data:image/svg"):
        assert attempted in refused


@pytest.mark.parametrize(
    "url",
    [
        "cvasset://bundle/../rendering.py",
        "cvasset://bundle/css/../../rendering.py",
        "cvasset://bundle/fonts/LICENSE-DejaVu.txt",
        "cvasset://bundle/css/",
        "cvasset://other/css/base.css",
        "file:///etc/passwd",
        "https://example.com/x.css",
        "data:text/css,body{}",
        "ftp://example.com/x",
    ],
)
def test_fetcher_serves_nothing_outside_the_bundled_assets(url):
    fetcher = BundledAssetFetcher()

    with pytest.raises(PermissionError):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_bundled_css_and_fonts():
    fetcher = BundledAssetFetcher()

    css = fetcher.fetch("cvasset://bundle/css/base.css")
    font = fetcher.fetch("cvasset://bundle/fonts/DejaVuSans.ttf")

    assert css.content_type == "text/css"
    assert b"@font-face" in css.read()
    assert font.content_type == "font/ttf"
    assert len(font.read()) > 100_000


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_long_unbroken_word_wraps_inside_the_page(template):
    token = "Q" * 3000
    markdown = (
        f"# Name\n\n## Links\n\nhttps://example.com/{token}\n\n```\n{token}\n```\n\n"
        f"| k | v |\n|---|---|\n| a | {token} |\n"
    )

    rendered = render_pdf(markdown=markdown, template=template, title="Long")

    assert rendered.pages <= 4
    reader = PdfReader(io.BytesIO(rendered.content))
    page_width = float(reader.pages[0].mediabox.width)
    lines = []

    def collect(text, cm, tm, font_dict, font_size):
        if "QQ" in text:
            lines.append((text.strip(), tm[4]))

    for page in reader.pages:
        page.extract_text(visitor_text=collect)
    # All 3 x 3000 characters are still there...
    assert sum(line.count("Q") for line, _ in lines) == 3 * 3000
    # ...broken into many lines that start on the page. Unwrapped, each would be one 3000-glyph line;
    # 150 glyphs is more than an A4 line holds even in the smallest (code) type we use.
    assert len(lines) > 3 * 3000 / 150
    assert all(len(line) <= 150 and 0 < x < page_width / 2 for line, x in lines)
