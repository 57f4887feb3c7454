import logging

# Set before WeasyPrint is first imported (it logs while loading its own stylesheet). At INFO, WeasyPrint
# logs every rendering step and fontTools lists the glyphs of each font subset (which characters the CV
# uses): hundreds of lines per document. Only their problems are worth a line.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.WARNING)
