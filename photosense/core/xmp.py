"""XMP sidecars: write tags as dc:subject, digiKam:TagsList and lr:hierarchicalSubject, merging what is there."""
from __future__ import annotations

import os
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
}
ROOT_TAG = "PhotoSense"  # hierarchical tags live under PhotoSense/<set>/<label>
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


class XmpError(Exception):
    """An existing sidecar that is not XMP we can merge into (left untouched)."""


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def sidecar_path(photo: Path) -> Path:
    """``IMG_1.jpg.xmp`` (darktable and digiKam), or an existing ``IMG_1.xmp`` (Lightroom) to merge into."""
    full = photo.with_name(photo.name + ".xmp")
    short = photo.with_suffix(".xmp")
    if not full.exists() and short.exists() and short != photo:
        return short
    return full


def _new_document() -> ET.ElementTree:
    meta = ET.Element(_q("x", "xmpmeta"))
    rdf = ET.SubElement(meta, _q("rdf", "RDF"))
    ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    return ET.ElementTree(meta)


def _rdf(tree: ET.ElementTree) -> tuple[ET.Element, ET.Element]:
    """The rdf:RDF element and its first rdf:Description (created if there is none)."""
    root = tree.getroot()
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise XmpError("it has no rdf:RDF element; left untouched")
    desc = rdf.find(_q("rdf", "Description"))
    if desc is None:
        desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    return rdf, desc


def _values(rdf: ET.Element, desc: ET.Element, prop: str, container: str) -> tuple[ET.Element, list[str]]:
    """The rdf container (Bag/Seq) of a property in any rdf:Description (created in *desc* if missing)
    and its current values. A value written as an attribute (a short form) moves into the container."""
    prefix, name = prop.split(":")
    key = _q(prefix, name)
    holder = next((d for d in rdf.findall(_q("rdf", "Description")) if d.find(key) is not None), desc)
    element = holder.find(key)
    attrs = [d.attrib.pop(key) for d in rdf.findall(_q("rdf", "Description")) if key in d.attrib]
    if element is None:
        element = ET.SubElement(desc, key)
    box = next((b for b in (element.find(_q("rdf", c)) for c in (container, "Bag", "Seq", "Alt"))
                if b is not None), None)
    if box is None:
        box = ET.SubElement(element, _q("rdf", container))
    values = [(li.text or "") for li in box.findall(_q("rdf", "li"))]
    for attr in attrs:
        for value in (v.strip() for v in attr.split(",")):
            if value and value not in values:
                ET.SubElement(box, _q("rdf", "li")).text = value
                values.append(value)
    return box, values


def write_tags(photo: Path, tags: Sequence[tuple[str, str]]) -> bool:
    """Merge (set, label) tags into the photo's sidecar; returns False when nothing was missing.
    Other metadata in an existing sidecar is kept; the photo itself is never opened for writing."""
    target = sidecar_path(photo)
    if target.exists():
        try:
            tree = ET.parse(target)
        except ET.ParseError as err:
            raise XmpError(f"{target.name} is not valid XML ({err}); left untouched") from None
    else:
        tree = _new_document()
    try:
        rdf, desc = _rdf(tree)
    except XmpError as err:
        raise XmpError(f"{target.name}: {err}") from None
    changed = False
    for prop, container, values in (
            ("dc:subject", "Bag", [label for _, label in tags]),
            ("digiKam:TagsList", "Seq", [f"{ROOT_TAG}/{s}/{label}" for s, label in tags]),
            ("lr:hierarchicalSubject", "Bag", [f"{ROOT_TAG}|{s}|{label}" for s, label in tags])):
        box, present = _values(rdf, desc, prop, container)
        for value in values:
            if value not in present:
                ET.SubElement(box, _q("rdf", "li")).text = value
                present.append(value)
                changed = True
    if not changed and target.exists():
        return False
    ET.indent(tree, space=" ")
    body = ET.tostring(tree.getroot(), encoding="unicode")
    text = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body + '\n<?xpacket end="w"?>\n')
    # not mkstemp: its 0600 would make the sidecar unreadable to other apps and accounts; a new
    # sidecar gets the umask's permissions, a rewritten one keeps its own
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666
    tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if target.exists() and os.chmod in os.supports_fd:
            os.chmod(fd, mode)  # (the umask applied to it at creation)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)  # atomic: a reader never sees half a sidecar
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
