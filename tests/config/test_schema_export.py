"""The JSON schema and form description for front ends, and explain()."""

from __future__ import annotations

import json

import pytest

from lorakit.config.catalog import top_fields
from lorakit.config.schema_export import explain, form_schema, json_schema
from lorakit.errors import ConfigError


@pytest.mark.parametrize("name", ["network.dim", "dim", "network_dim", "NETWORK_DIM"])
def test_explain_accepts_paths_short_and_sd_scripts_names(name):
    info = explain(name)
    assert info.path == "network.dim" and info.kohya == "network_dim"
    assert (info.minimum, info.maximum, info.unit, info.default, info.level) == (1, 1024, "rank", 16, "basic")
    assert "Rank" in info.help


def test_explain_choices_and_subset_fields():
    assert "bf16" in explain("mixed_precision").choices
    assert "Prodigy" in explain("optimizer_type").choices
    assert explain("num_repeats").path == "dataset.subsets[].num_repeats"
    assert explain("family").kohya == "v2" and explain("trigger_words").lorakit_only


def test_explain_unknown_suggests():
    with pytest.raises(ConfigError) as caught:
        explain("lerning_rate")
    assert "learning.learning_rate" in caught.value.fix


def test_form_schema_has_every_field_once_in_display_order():
    form = form_schema()
    names = [s["name"] for s in form["sections"]]
    assert names[:4] == ["general", "model", "output", "dataset"]
    paths = [f["path"] for s in form["sections"] for f in s["fields"]]
    assert paths == [s.path for s in top_fields()]
    assert {f["name"] for f in form["subset_fields"]} >= {"image_dir", "num_repeats", "class_tokens", "is_reg"}
    json.dumps(form)  # ready to send to a browser


def test_json_schema_carries_lorakit_metadata():
    schema = json_schema()
    dim = schema["$defs"]["NetworkSection"]["properties"]["dim"]
    assert dim["x-lorakit"]["kohya"] == "network_dim" and dim["minimum"] == 1 and dim["description"]
    assert schema["additionalProperties"] is False
