"""Prompt set TOML: the documented format parses, mistakes name the file and field, defaults load."""
from __future__ import annotations

import pytest

from photosense.core import promptsets
from photosense.core.promptsets import PromptSetError, parse

ISSUE_EXAMPLE = '''
name = "wardrobe"
templates = ["a photo of a {}.", "a {}"]      # optional; a good default ensemble when absent
[labels."ankle boot"]
prompts = ["ankle boot", "boot"]             # each label: one or more prompts, ensembled with the templates
negatives = ["sandal"]                        # optional: prompts that count against the label
threshold = 0.5                               # optional: per-label cut-off on the calibrated score
'''


def test_the_format_from_the_issue_is_accepted():
    s = parse(ISSUE_EXAMPLE, "wardrobe.toml")
    assert s.name == "wardrobe" and s.templates == ("a photo of a {}.", "a {}")
    boot = s.label("ankle boot")
    assert boot.prompts == ("ankle boot", "boot") and boot.negatives == ("sandal",) and boot.threshold == 0.5


def test_a_label_without_prompts_is_its_own_prompt_and_templates_default():
    s = parse('name = "x"\n[labels."red car"]\n')
    assert s.templates == () and s.label("red car").prompts == ("red car",)
    assert s.label("red car").threshold is None


@pytest.mark.parametrize("text, words", [
    ('[labels."a"]\n', ["sets.toml", "name"]),
    ('name = "x"\n', ["sets.toml", "no labels"]),
    ('name = "x"\ntemplates = ["a photo"]\n[labels.a]\n', ["sets.toml", "templates", "{}"]),
    ('name = "x"\n[labels.a]\nthreshold = 2\n', ["sets.toml", "labels.'a'.threshold", "between 0 and 1"]),
    ('name = "x"\n[labels.a]\nprompts = []\n', ["sets.toml", "labels.'a'.prompts"]),
    ('name = "x"\n[labels.a]\nprompt = ["b"]\n', ["sets.toml", "labels.'a'", "unknown field", "prompt"]),
    ('name = "x"\nlabel = 1\n', ["sets.toml", "unknown field", "label"]),
    ('name = "x"\n[labels.a\n', ["sets.toml", "not valid TOML"]),
    ('name = "x"\n[labels.a]\nnegatives = [3]\n', ["sets.toml", "negatives"]),
])
def test_mistakes_are_reported_with_the_file_and_the_field(text, words):
    with pytest.raises(PromptSetError) as err:
        parse(text, "sets.toml")
    for word in words:
        assert word in str(err.value)


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(PromptSetError, match="Cannot read the prompt set"):
        promptsets.load(tmp_path / "missing.toml")


def test_every_default_set_loads_and_is_substantial():
    sets = {s.name: s for s in promptsets.bundled()}
    assert {"scenes", "subjects", "documents", "events"} <= set(sets)
    for s in sets.values():
        assert len(s.labels) >= 8, s.name
        assert all(len(lab.prompts) >= 2 for lab in s.labels), s.name
    documents = {lab.name for lab in sets["documents"].labels}
    assert {"screenshot", "receipt", "whiteboard", "meme"} <= documents
    subjects = {lab.name for lab in sets["subjects"].labels}
    assert {"people", "dog", "cat", "food", "car"} <= subjects
