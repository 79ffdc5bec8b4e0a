from __future__ import annotations


def test_studio_cli_scripts_the_loop(lorakit, tmp_path, png):
    ws = ["-w", str(tmp_path / "cli-ws")]
    assert lorakit(["studio", "projects", "create", "Demo", "--checkpoint", "tiny:sd1", "-n", "lowres", *ws])[0] == 0
    code, out = lorakit(["studio", "characters", "create", "Demo", "Mira", "--prompt", "1girl, red hair", *ws])
    assert code == 0 and "trigger word mira" in out
    code, out = lorakit(["studio", "projects", "list", *ws])
    assert "Demo" in out and "checkpoint=tiny:sd1" in out
    code, out = lorakit(["studio", "add", "1", str(png(1)), str(png(2)), str(png(3)), str(png(4)), *ws])
    assert code == 0 and out.count("studio/demo/") == 4
    assert lorakit(["studio", "approve", "1", *ws])[0] == 0
    for image in (2, 3):
        code, out = lorakit(["studio", "reject", str(image), "-c", "not_solo", "--notes", "two people", *ws])
        assert code == 0 and "crowd" in out and "Proposed" not in out
    code, out = lorakit(["studio", "reject", "4", "-c", "wrong_style", *ws])
    assert "Proposed design prompt (rules):" in out and "solo" in out
    code, out = lorakit(["studio", "characters", "list", *ws])
    assert "pending=0 approved=1 rejected=3" in out
    code, out = lorakit(["studio", "reject", "4", "-c", "wrong_style", *ws])
    assert code == 2 and "already rejected" in out
    code, out = lorakit(["studio", "train", "1", *ws])
    assert code == 2 and "has 1 approved image(s)" in out and "Approve 9 more" in out
    code, out = lorakit(["studio", "reject", "1", "-c", "ugly", *ws])
    assert code == 2 and "Unknown rejection categories: ugly" in out
