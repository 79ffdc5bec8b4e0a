from __future__ import annotations

import pytest
from sqlalchemy import inspect

from lorakit.errors import ConfigError
from lorakit.studio import migrate
from lorakit.studio.store import Conflict, NotFound, StudioError, StudioStore


def test_migrations_create_the_tables_and_a_reopen_keeps_the_data(workspace, store, character):
    tables = set(inspect(store.engine).get_table_names())
    assert {"studio_projects", "studio_characters", "studio_images", "studio_feedback"} <= tables
    assert migrate.current(store.engine) == migrate.head() == "0001"
    store.close()
    with StudioStore(workspace) as again:
        assert [c.name for c in again.characters("Demo")] == ["Mira"]
        assert again.project("Demo").base_negatives == ["lowres"]


def test_the_models_match_the_migration(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from lorakit.studio.models import Base

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": "studio_alembic_version"})
        diff = [d for d in compare_metadata(context, Base.metadata) if "studio_" in str(d)]
    assert diff == []


def test_projects_and_characters(store, character):
    project = store.project("Demo")
    assert project.generation["width"] == 512 and project.checkpoint == "tiny:sd1"
    assert character.trigger_word == "mira" and character.counts == {"pending": 0, "approved": 0, "rejected": 0}
    with pytest.raises(Conflict):
        store.create_project("Demo")
    with pytest.raises(Conflict):
        store.create_character("Demo", "Mira")
    with pytest.raises(NotFound):
        store.project("Nope")
    with pytest.raises(StudioError, match="trigger word"):
        store.create_character("Demo", "Other", trigger_word="two words")
    with pytest.raises(StudioError, match="Unknown generation defaults: colour"):
        store.create_project("Bad", generation={"colour": 1})
    with pytest.raises(ConfigError, match="no preset named 'nope'"):
        store.create_project("Bad", train_preset="nope")
    with pytest.raises(ConfigError, match=r"network\.dim"):
        store.create_project("Bad", train_preset="tiny-demo", train_settings={"network.dim": "x"})
    assert [p.name for p in store.projects()] == ["Demo"]


def test_design_prompt_history(store, character):
    store.set_design_prompt(character.id, "1girl, red hair, blue eyes", "edited")
    history = store.prompt_history(character.id)
    assert [(h.prompt, h.reason) for h in history] == [
        ("1girl, red hair, green eyes", "created"),
        ("1girl, red hair, blue eyes", "edited"),
    ]
    assert store.character(character.id).design_prompt == "1girl, red hair, blue eyes"


def test_ids_past_64_bits_are_not_found(store, character):
    with pytest.raises(NotFound):
        store.character(2**70)
    with pytest.raises(NotFound):
        store.image(2**70)
    with pytest.raises(NotFound):
        store.project(str(2**70))


def test_images_are_copied_into_the_workspace_as_pending(workspace, store, character, png):
    image = store.add_image(character.id, png(1), source="upload", meta={"seed": 5})
    assert image.status == "pending" and image.path.startswith("studio/demo/")
    assert (workspace.root / image.path).is_file()
    assert store.character(character.id).counts["pending"] == 1
    with pytest.raises(StudioError, match="source"):
        store.add_image(character.id, png(2), source="magic")
    text = png(3).with_suffix(".txt")
    text.write_text("x")
    with pytest.raises(StudioError, match="not an image"):
        store.add_image(character.id, text, source="upload")


def test_stores_opening_a_new_database_at_once_all_find_it_migrated(tmp_path):
    import threading

    from lorakit.workspace import Workspace

    workspace = Workspace(tmp_path / "fresh")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def open_store() -> None:
        barrier.wait()
        try:
            with StudioStore(workspace) as store:
                outcomes.append(migrate.current(store.engine))
        except Exception as error:
            outcomes.append(repr(error))

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [migrate.head()] * 4
