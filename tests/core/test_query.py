"""The query language: terms, weights, negatives, quoting and filters."""
from __future__ import annotations

import pytest

from photosense.core.errors import UsageError
from photosense.core.query import HELP, Term, parse


def test_plain_words_form_one_phrase_and_minus_terms_are_negative():
    q = parse("beach sunset -people")
    assert q.positive == [Term("beach sunset")] and q.negative == [Term("people")]


def test_plus_and_weights_make_separate_terms():
    q = parse('dog +snow:2 "red car":0.5 -cat^3')
    assert q.positive == [Term("dog"), Term("snow", 2.0), Term("red car", 0.5)]
    assert q.negative == [Term("cat", 3.0)]


def test_filters_are_taken_out_of_the_text():
    q = parse('folder:"My Photos" after:2023-06 before:2024 tag:subjects/dog camera:Pixel sunset')
    f = q.filters
    assert (f.folders, f.after, f.before, f.tags, f.cameras) == (
        ["My Photos"], "2023-06-01", "2024-01-01", ["subjects/dog"], ["Pixel"])
    assert q.positive == [Term("sunset")]


def test_a_colon_in_an_ordinary_word_is_not_a_filter():
    with pytest.raises(UsageError, match="between 0.1 and 10"):
        parse("ratio:16")
    assert parse("10:30 meeting").positive == [Term("10:30 meeting")]


@pytest.mark.parametrize("bad, words", [("after:June", "not a date"), ("before:2023-13", "not a valid date"),
                                        ("tag:", "needs a value")])
def test_bad_filters_say_what_is_expected(bad, words):
    with pytest.raises(UsageError, match=words):
        parse(bad)


def test_unbalanced_quotes_do_not_crash():
    assert parse('"red car').positive


def test_empty_quotes_are_ignored_not_a_crash():
    """Typing a pair of quotes (search-as-you-type) must not raise IndexError."""
    assert parse('""').positive == [] and parse("''").negative == []
    assert [t.text for t in parse('dog "" cat').positive] == ["dog cat"]


def test_help_mentions_every_filter_and_the_weight_syntax():
    for word in ("folder:", "after:", "before:", "tag:", "camera:", "-word", "word:2"):
        assert word in HELP


def test_folder_and_camera_filters_match_non_ascii_names_in_any_case(tmp_path):
    import os
    import unicodedata

    import numpy as np

    from photosense.core import paths
    from photosense.core.catalog import Catalog, PhotoMeta
    from photosense.core.query import Filters

    catalog = Catalog(tmp_path / "library")
    try:
        root = tmp_path / "photos"
        folder = catalog.add_folder(root)
        names = {"ete": root / "Été 2023" / "a.jpg", "nfd": root / unicodedata.normalize("NFD", "Été") / "b.jpg",
                 "other": root / "Winter" / "c.jpg", "raw": root / "x" / "d.jpg",
                 "odd": os.fsdecode(os.fsencode(str(root / "x")) + b"/\xff" + b"/e.jpg")}
        catalog.add_pending(folder.id, [(paths.to_db(p), 1, 1) for p in names.values()])
        ids = {k: catalog.photo_by_path(p).id for k, p in names.items()}
        model = catalog.ensure_model("m", 2)
        catalog.save_indexed(model, [(ids["raw"], b"h", PhotoMeta(camera="ÖLYMPUS Ärger"), np.ones(2))])
        for query in ("Été", "été", "ÉTÉ", unicodedata.normalize("NFD", "été")):
            assert catalog.filter_photo_ids(parse(f"folder:{query}").filters) == sorted([ids["ete"], ids["nfd"]]), query
        assert catalog.filter_photo_ids(Filters(folders=["ÉTÉ 2023"])) == [ids["ete"]]
        assert catalog.filter_photo_ids(Filters(folders=["X"])) == sorted([ids["raw"], ids["odd"]])  # non-UTF-8 names too
        assert catalog.filter_photo_ids(Filters(folders=[os.fsdecode(b"\xff")])) == [ids["odd"]]
        assert catalog.filter_photo_ids(Filters(folders=["winter"])) == [ids["other"]]
        assert catalog.filter_photo_ids(Filters(cameras=["ölympus ärger"])) == [ids["raw"]]
    finally:
        catalog.close()
