"""XMP sidecars, read back with Exempi (Adobe's XMP toolkit): tags land where digiKam, darktable and
Lightroom look, existing sidecars are merged, originals are never written."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from photosense.core import xmp

libxmp = pytest.importorskip("libxmp", reason="python-xmp-toolkit (and libexempi) not installed",
                             exc_type=ImportError)

DC, DIGIKAM, LR = xmp.NS["dc"], xmp.NS["digiKam"], xmp.NS["lr"]


def read_array(path: Path, ns: str, prop: str) -> list[str]:
    meta = libxmp.XMPMeta()
    meta.parse_from_str(path.read_text(encoding="utf-8"))
    if not meta.does_property_exist(ns, prop):
        return []
    return [meta.get_array_item(ns, prop, i + 1) for i in range(meta.count_array_items(ns, prop))]


def photo(tmp_path: Path) -> Path:
    p = tmp_path / "IMG_1.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg, but it must stay byte-identical")
    return p


def test_new_sidecar_holds_the_tags_in_all_three_vocabularies(tmp_path):
    p = photo(tmp_path)
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    assert xmp.write_tags(p, [("subjects", "dog"), ("scenes", "beach")]) is True
    side = tmp_path / "IMG_1.jpg.xmp"
    assert read_array(side, DC, "subject") == ["dog", "beach"]
    assert read_array(side, DIGIKAM, "TagsList") == ["PhotoSense/subjects/dog", "PhotoSense/scenes/beach"]
    assert read_array(side, LR, "hierarchicalSubject") == ["PhotoSense|subjects|dog", "PhotoSense|scenes|beach"]
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before
    assert xmp.write_tags(p, [("subjects", "dog")]) is False  # nothing new: file left alone


DARKTABLE_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmp:Rating="4"
    darktable:xmp_version="5">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>family</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def test_an_existing_sidecar_is_merged_and_keeps_everything_else(tmp_path):
    p = photo(tmp_path)
    side = tmp_path / "IMG_1.jpg.xmp"
    side.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    assert xmp.write_tags(p, [("subjects", "dog"), ("manual", "family")])
    assert read_array(side, DC, "subject") == ["family", "dog"]
    meta = libxmp.XMPMeta()
    meta.parse_from_str(side.read_text(encoding="utf-8"))
    assert meta.get_property("http://ns.adobe.com/xap/1.0/", "Rating") == "4"
    assert meta.count_array_items("http://darktable.sf.net/", "history") == 1
    assert read_array(side, DIGIKAM, "TagsList") == ["PhotoSense/subjects/dog", "PhotoSense/manual/family"]


def test_a_lightroom_style_sidecar_is_used_when_it_is_the_only_one(tmp_path):
    p = photo(tmp_path)
    (tmp_path / "IMG_1.xmp").write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    xmp.write_tags(p, [("subjects", "cat")])
    assert not (tmp_path / "IMG_1.jpg.xmp").exists()
    assert read_array(tmp_path / "IMG_1.xmp", DC, "subject") == ["family", "cat"]


def test_a_broken_sidecar_is_reported_and_left_untouched(tmp_path):
    p = photo(tmp_path)
    side = tmp_path / "IMG_1.jpg.xmp"
    side.write_text("<x:xmpmeta this is not xml", encoding="utf-8")
    with pytest.raises(xmp.XmpError, match="IMG_1.jpg.xmp"):
        xmp.write_tags(p, [("subjects", "dog")])
    assert side.read_text(encoding="utf-8") == "<x:xmpmeta this is not xml"


def test_sidecars_keep_their_permissions_and_new_ones_follow_the_umask(tmp_path):
    """Other apps (darktable, digiKam, another account on a NAS) must still read the sidecars."""
    import os
    import stat

    p = photo(tmp_path)
    assert xmp.write_tags(p, [("subjects", "dog")])
    umask = os.umask(0o022)
    os.umask(umask)
    side = tmp_path / "IMG_1.jpg.xmp"
    assert stat.S_IMODE(side.stat().st_mode) == 0o666 & ~umask
    side.chmod(0o664)
    assert xmp.write_tags(p, [("subjects", "cat")])
    assert stat.S_IMODE(side.stat().st_mode) == 0o664
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]
