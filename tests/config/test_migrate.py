"""Migrations: old config versions are upgraded; newer ones are refused with a fix."""

from __future__ import annotations

import pytest

from lorakit.config.io import config_from_dict, load_config
from lorakit.config.migrate import MIGRATIONS, migrate, rename
from lorakit.config.schema import CONFIG_VERSION
from lorakit.errors import ConfigError


def test_every_old_version_has_a_path_to_the_current_one():
    assert sorted(MIGRATIONS) == list(range(CONFIG_VERSION))


def test_version_0_renamed_network_fields_are_upgraded(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text('config_version = 0\n[network]\nnetwork_dim = 32\nnetwork_alpha = 16\nnetwork_module = "loha"\n')
    cfg = load_config(path)
    assert (cfg.config_version, cfg.network.dim, cfg.network.alpha, cfg.network.type) == (1, 32, 16.0, "loha")


def test_migrate_reports_what_changed_and_leaves_the_input_alone():
    old = {"config_version": 0, "network": {"network_dim": 8}}
    new, notes = migrate(old)
    assert new == {"config_version": 1, "network": {"dim": 8}}
    assert old == {"config_version": 0, "network": {"network_dim": 8}}
    assert len(notes) == 1 and "0 to 1" in notes[0]


def test_files_without_a_version_are_current():
    assert config_from_dict({"network": {"dim": 8}}).config_version == CONFIG_VERSION


@pytest.mark.parametrize(
    ("version", "words"), [(99, "newer lorakit"), ("one", "not a version"), (-1, "not a version")]
)
def test_bad_versions_are_refused(version, words):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"config_version": version})
    assert words in caught.value.problem and caught.value.field == "config_version"


def test_rename_helper():
    data = {"a": {"b": 1}}
    assert rename(data, "a.b", "c.d") and data == {"a": {}, "c": {"d": 1}}
    assert not rename(data, "a.missing", "x.y")
