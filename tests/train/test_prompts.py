"""Sample prompt files and lines in sd-scripts' format."""

from __future__ import annotations

import json

import pytest

from lorakit.errors import ConfigError
from lorakit.train.prompts import SamplePrompt, parse_prompt_line, parse_prompts

# line, expected fields (others at defaults)
LINES = [
    ("a cat", {"prompt": "a cat"}),
    (
        "masterpiece, 1girl --n lowres, bad hands --w 768 --h 1024 --d 42 --l 6.5 --s 28 --ss euler_a",
        {
            "prompt": "masterpiece, 1girl",
            "negative_prompt": "lowres, bad hands",
            "width": 768,
            "height": 1024,
            "seed": 42,
            "cfg_scale": 6.5,
            "steps": 28,
            "sampler": "euler_a",
        },
    ),
    ("a dog --g 3.5 --W 517", {"prompt": "a dog", "guidance": 3.5, "width": 512}),  # case-free, rounded to 8
    ("a dog --s 5000", {"steps": 1000}),  # steps kept in 1..1000 as sd-scripts
    ("a dog --s 0", {"steps": 1}),
    ("a dog --ctr 0.25 --fs 3", {"extra": {"ctr": 0.25, "fs": 3.0}}),  # sd-scripts extras are kept
]


@pytest.mark.parametrize(("line", "expected"), LINES)
def test_parse_prompt_line(line, expected):
    prompt = parse_prompt_line(line)
    defaults = SamplePrompt(prompt=prompt.prompt)
    for name, value in vars(defaults).items():
        assert getattr(prompt, name) == expected.get(name, value), name


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("a cat --w wide", "--w"),
        ("a cat --x 3", "unknown option --x"),
        ("a cat --d", "no value"),
        ("a cat --w 32", "width 32"),
        ("--w 512", "no prompt"),
        ("a cat --l -2", "negative"),
    ],
)
def test_bad_lines_name_the_line(line, words):
    with pytest.raises(ConfigError) as err:
        parse_prompts(["# header", "a fine prompt", line])
    assert "Line 3" in err.value.problem and words in err.value.problem
    assert err.value.fix


def test_text_with_comments_and_defaults():
    text = "# samples\n\na cat --w 640\n  # indented comment\na dog --ss ddim\n"
    prompts = parse_prompts(text, width=1024, height=1024, sampler="euler_a", steps=20)
    assert [(p.prompt, p.width, p.height, p.sampler, p.steps, p.index) for p in prompts] == [
        ("a cat", 640, 1024, "euler_a", 20, 0),
        ("a dog", 1024, 1024, "ddim", 20, 1),
    ]


def test_txt_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("# comment\nohwx woman, smiling --n blurry --d 7\nohwx woman, sitting\n", encoding="utf-8")
    prompts = parse_prompts(path)
    assert [(p.prompt, p.negative_prompt, p.seed) for p in prompts] == [
        ("ohwx woman, smiling", "blurry", 7),
        ("ohwx woman, sitting", "", None),
    ]
    assert parse_prompts(str(path))[0].prompt == "ohwx woman, smiling"


def test_toml_file_with_shared_defaults(tmp_path):
    path = tmp_path / "prompts.toml"
    path.write_text(
        '[prompt]\nwidth = 768\nsample_steps = 20\nnegative_prompt = "lowres"\n'
        '[[prompt.subset]]\nprompt = "a cat"\n'
        '[[prompt.subset]]\nprompt = "a dog"\nwidth = 512\nscale = 5.0\nseed = 3\n',
        encoding="utf-8",
    )
    prompts = parse_prompts(path)
    assert [(p.prompt, p.width, p.steps, p.negative_prompt, p.cfg_scale, p.seed) for p in prompts] == [
        ("a cat", 768, 20, "lowres", 7.5, None),
        ("a dog", 512, 20, "lowres", 5.0, 3),
    ]


def test_json_file(tmp_path):
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(["a cat --w 640", {"prompt": "a dog", "sample_sampler": "dpm++_2m"}]), encoding="utf-8")
    prompts = parse_prompts(path)
    assert (prompts[0].width, prompts[1].sampler, prompts[1].index) == (640, "dpm++_2m", 1)


def test_missing_or_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        parse_prompts(str(tmp_path / "nope.txt"))
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_prompts(bad)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[prompt\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_prompts(bad_toml)


def test_json_entry_with_a_bad_number(tmp_path):
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps([{"prompt": "a cat", "width": "wide"}]), encoding="utf-8")
    with pytest.raises(ConfigError, match="width = 'wide'"):
        parse_prompts(path)
