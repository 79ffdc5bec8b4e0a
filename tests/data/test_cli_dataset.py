"""The dataset CLI end to end on real files: import → check → tags → undo → dedup → trash → tag."""

import json
import zipfile

from typer.testing import CliRunner

from lorakit.cli.main import app

from .conftest import noise_image, write

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, ["dataset", *map(str, args)])
    return result


def test_cli_flow(tmp_path, photos):
    src = tmp_path / "src"
    write(src / "5_ohwx" / "astro.png", photos["astronaut"], "astronaut, smile")
    write(src / "5_ohwx" / "astro_copy.jpg", photos["astronaut"], "astronaut", quality=90)
    write(src / "5_ohwx" / "cat.png", photos["chelsea"], "cat")
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(write(tmp_path / "z" / "coffee.png", photos["coffee"]), "coffee.png")
        zf.writestr("coffee.txt", "coffee, cup")
        zf.writestr("../evil.png", b"x")
    ds = tmp_path / "ds"

    result = invoke("import", src, archive, "--to", ds, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["imported"]) == 4 and data["subsets"][0]["num_repeats"] == 5
    assert any("unsafe path" in s["reason"] for s in data["skipped"])

    result = invoke("check", ds, "--resolution", "128", "--trigger", "ohwx", "--json")
    report = json.loads(result.output)
    kinds = {f["kind"] for f in report["findings"]}
    assert {"trigger_missing", "near_duplicates"} <= kinds
    assert report["steps"]["total_steps"] > 0

    result = invoke("tags", "trigger", ds, "ohwx", "--without", "cat")
    assert result.exit_code == 0, result.output
    assert (ds / "5_ohwx" / "astro.txt").read_text() == "ohwx, astronaut, smile"
    assert (ds / "5_ohwx" / "cat.txt").read_text() == "cat"
    freq = json.loads(invoke("tags", "freq", ds, "--json").output)
    assert freq["tags"]["ohwx"] == 3 and freq["captions"] == 4
    assert "tags trigger ohwx" in invoke("undo", ds, "--list").output
    assert "Undone" in invoke("undo", ds).output
    assert (ds / "5_ohwx" / "astro.txt").read_text() == "astronaut, smile"

    result = invoke("dedup", ds, "--remove", "--json")
    dedup = json.loads(result.output)
    assert len(dedup["groups"]) == 1 and len(dedup["trashed"]) == 2  # the copy and its caption
    item = dedup["trashed"][0]["id"]
    assert "Restored" in invoke("trash", ds, "--restore", item).output

    result = invoke("check", ds, "--fix", "add-trigger-word", "--trigger", "ohwx", "--resolution", "128")
    assert "Fix add-trigger-word" in result.output
    assert (ds / "5_ohwx" / "cat.txt").read_text() == "ohwx, cat"


def test_cli_tag_with_local_model(tmp_path):
    from tests.tagging.conftest import build_tagger

    model = build_tagger(tmp_path / "model")
    ds = tmp_path / "ds"
    write(ds / "a.png", noise_image(1), None)
    result = invoke("tag", ds, "--model", model, "--threshold", "0.85", "--rating", "last", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["provider"] == "CPUExecutionProvider"
    assert (ds / "a.txt").read_text() == "hatsune miku, 1girl, solo, general"
    missing = invoke("tag", ds, "--model", tmp_path / "nothing-here")
    assert missing.exit_code != 0


def test_cli_import_nothing_fails_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("import", tmp_path / "empty", "--to", tmp_path / "ds")
    assert result.exit_code != 0
