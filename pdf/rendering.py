"""Markdown written by a language model -> a PDF a person can send to an employer.

The Markdown is untrusted: a CV (and so a prompt) can carry text that makes the model emit HTML, image
links or CSS pointing at local files or internal addresses. Three independent layers keep that inert:

1. markdown-it parses with raw HTML disabled, so HTML in the text is escaped and shown as text;
   Markdown images are rendered as their alt text.
2. nh3 sanitises the resulting HTML against a small allow-list (no img, no style, no link, no script).
3. WeasyPrint runs with a URL fetcher that serves only our own bundled CSS and fonts (``cvasset:``) and
   refuses every other URL (file:, http(s):, data:, ...), so even HTML that slipped past 1 and 2 cannot
   make the server read a file or call an address.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nh3
from markdown_it import MarkdownIt
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from cv.text.cv_document import markdown_parser

logger = logging.getLogger(__name__)

ASSET_SCHEME = "cvasset"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
# Relative URLs that reach WeasyPrint resolve against this base, i.e. into our private scheme, where
# only the exact names below exist.
BASE_URL = f"{ASSET_SCHEME}://bundle/"

_ASSET_TYPES = {".css": "text/css", ".ttf": "font/ttf"}


@dataclass(frozen=True)
class PDFTemplate:
    slug: str
    name: str
    description: str
    stylesheet: str


TEMPLATES: dict[str, PDFTemplate] = {
    template.slug: template
    for template in (
        PDFTemplate(
            slug="classic",
            name="Classic",
            description="Serif type in a single column with ruled section headings; conservative and easy to scan.",
            stylesheet="css/classic.css",
        ),
        PDFTemplate(
            slug="modern",
            name="Modern",
            description="Sans-serif type with a coloured header band for name and contact details and "
            "accent-coloured section headings.",
            stylesheet="css/modern.css",
        ),
    )
}
DEFAULT_TEMPLATE = "classic"
# Cover letters have a look of their own, not offered for CVs.
LETTER_TEMPLATE = PDFTemplate(
    slug="letter",
    name="Letter",
    description="A one-column business letter: the sender's name and contact at the top right, serif body text.",
    stylesheet="css/letter.css",
)
_LOOKS = {**TEMPLATES, LETTER_TEMPLATE.slug: LETTER_TEMPLATE}


class UnknownTemplate(ValueError):
    pass


@dataclass(frozen=True)
class RenderedPDF:
    content: bytes
    pages: int
    sha256: str


@cache
def _asset_bytes(name: str) -> bytes | None:
    """The bytes of one bundled asset, or None when ``name`` is not one of ours.

    Only files that exist directly under assets/css or assets/fonts are served; the name is compared
    against a listing, never joined into a path, so ``../`` tricks have nothing to work with.
    """
    allowed = {
        f"{folder}/{path.name}": path
        for folder in ("css", "fonts")
        for path in (ASSETS_DIR / folder).iterdir()
        if path.suffix in _ASSET_TYPES
    }
    path = allowed.get(name)
    return path.read_bytes() if path else None


class BundledAssetFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves our bundled assets and refuses everything else.

    ``refused`` records each refused URL so tests (and logs) can show that a fetch was attempted and
    stopped. Refusals raise a plain exception: WeasyPrint then skips the resource and carries on, so a
    hostile image or stylesheet costs the user nothing but the resource itself.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols={ASSET_SCHEME}, allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        prefix = BASE_URL
        name = url[len(prefix) :] if url.startswith(prefix) else None
        body = _asset_bytes(name) if name else None
        if name is None or body is None:
            self.refused.append(url)
            # The scheme only: the URL itself may carry CV text.
            logger.warning("pdf render refused an external resource (scheme %r)", url.split(":", 1)[0])
            raise PermissionError("external resources are not fetched")
        content_type = _ASSET_TYPES[Path(name).suffix]
        return URLFetcherResponse(url, body, headers={"Content-Type": content_type})


def _render_image_as_alt_text(self, tokens, idx, options, env) -> str:
    # A CV image from the model would be a remote or local URL: keep its words, never the picture.
    return html.escape(self.renderInlineAsText(tokens[idx].children or [], options, env))


def _markdown_parser() -> MarkdownIt:
    # The same parser as every other export of the CV (Word, text, JSON Resume), so all show the same content.
    parser = markdown_parser()
    parser.add_render_rule("image", _render_image_as_alt_text)
    return parser


_MARKDOWN = _markdown_parser()

_SANITIZER = nh3.Cleaner(
    tags={"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre"}
    | {"strong", "em", "b", "i", "s", "del", "sup", "sub", "code", "a"}
    | {"ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"},
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, "ol": {"start"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def markdown_to_safe_html(markdown: str) -> str:
    """The body HTML for ``markdown``, safe to hand to WeasyPrint."""
    return _SANITIZER.clean(_MARKDOWN.render(markdown))


def _split_header(body: str) -> tuple[str, str]:
    """Split at the first section heading: what comes before it is the name and contact block.

    Templates style that block as the CV's header. The sanitiser's output is normalised HTML, so
    looking for the literal ``<h2>`` is reliable.
    """
    position = body.find("<h2>")
    if position <= 0:
        return "", body
    return body[:position], body[position:]


def build_html(*, markdown: str, template: str, title: str) -> str:
    """The complete HTML document WeasyPrint renders for ``markdown`` in ``template``."""
    try:
        look = _LOOKS[template]
    except KeyError:
        raise UnknownTemplate(f"Unknown template {template!r}.") from None
    header, sections = _split_header(markdown_to_safe_html(markdown))
    header_html = f'<header class="cv-header">{header}</header>' if header else ""
    return (
        "<!DOCTYPE html>"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<link rel="stylesheet" href="{BASE_URL}css/base.css">'
        f'<link rel="stylesheet" href="{BASE_URL}{look.stylesheet}">'
        f'</head><body class="template-{look.slug}">'
        f'{header_html}<main class="cv-body">{sections}</main>'
        "</body></html>"
    )


def html_to_pdf(document_html: str) -> tuple[bytes, BundledAssetFetcher]:
    """Render a complete HTML document with the locked-down fetcher. Returns the PDF and the fetcher."""
    fetcher = BundledAssetFetcher()
    content = HTML(string=document_html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
    return content, fetcher


def render_pdf(*, markdown: str, template: str, title: str) -> RenderedPDF:
    """Render untrusted ``markdown`` as a PDF in ``template`` (a key of TEMPLATES, or the letter template).

    Raises UnknownTemplate for a template we do not have.
    """
    content, _ = html_to_pdf(build_html(markdown=markdown, template=template, title=title))
    pages = len(PdfReader(io.BytesIO(content)).pages)
    return RenderedPDF(content=content, pages=pages, sha256=hashlib.sha256(content).hexdigest())
