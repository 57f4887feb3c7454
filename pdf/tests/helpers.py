"""Values the pdf tests share (fixtures stay in conftest.py)."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
# The first line of /etc/passwd: a rendered PDF that contains it has read a local file.
PASSWD_MARKER = "root:x:0:0"
