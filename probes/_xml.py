"""Reading XML that the delivered product wrote (JUnit reports of its test runners) without trusting
it: a size limit before parsing, and defusedxml's parser, which refuses entity declarations (the
"billion laughs" expansion) and external entities, DTDs or includes instead of resolving them.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse as _defused_parse

from verifier.probe import ProbeError

#: Largest XML file read (bytes): a test report is rarely over a few MiB.
MAX_XML_BYTES = 64 * 1024 * 1024


def read_xml(path: Path, *, what: str, limit: int = MAX_XML_BYTES) -> ET.Element:
    """The root element of the XML file ``path``; ``ProbeError`` naming ``what`` when the file is
    larger than ``limit`` bytes, is not well-formed, or declares entities or external references."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ProbeError(f"{what} cannot be read: {exc.strerror}") from None
    if size > limit:
        raise ProbeError(f"{what} is {size} bytes, over the limit of {limit} bytes")
    try:
        root = _defused_parse(os.fspath(path), forbid_dtd=False, forbid_entities=True,
                              forbid_external=True).getroot()
    except DefusedXmlException as exc:
        raise ProbeError(f"{what} is refused: it declares entities or external references "
                         f"({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise ProbeError(f"{what} cannot be read: not well-formed XML ({exc})") from None
    except OSError as exc:
        raise ProbeError(f"{what} cannot be read: {exc.strerror}") from None
    if root is None:  # a parsed document always has one; the type allows None
        raise ProbeError(f"{what} cannot be read: no root element")
    return root
