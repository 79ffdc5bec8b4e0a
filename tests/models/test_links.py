"""Pasted links: every accepted form, and clear errors for the rest."""

from __future__ import annotations

import pytest

from lorakit.errors import DownloadError
from lorakit.models.links import parse_link

OK = [
    (
        "https://civitai.com/models/4201/realistic-vision?modelVersionId=130072",
        ("civitai", 4201, 130072, None, None, None),
    ),
    ("https://civitai.com/models/4201", ("civitai", 4201, None, None, None, None)),
    ("civitai.com/models/4201/x", ("civitai", 4201, None, None, None, None)),
    (
        "https://civitai.com/api/download/models/130072?type=Model&format=SafeTensor",
        ("civitai", None, 130072, None, None, None),
    ),
    (
        "https://huggingface.co/stabilityai/sdxl-turbo",
        ("huggingface", None, None, "stabilityai/sdxl-turbo", "main", None),
    ),
    ("https://huggingface.co/org/repo/tree/v1.0", ("huggingface", None, None, "org/repo", "v1.0", None)),
    (
        "https://huggingface.co/org/repo/blob/main/sub/model%20v2.safetensors",
        ("huggingface", None, None, "org/repo", "main", "sub/model v2.safetensors"),
    ),
    (
        "https://hf.co/org/repo/resolve/abc123/m.safetensors?download=true",
        ("huggingface", None, None, "org/repo", "abc123", "m.safetensors"),
    ),
    ("org/repo", ("huggingface", None, None, "org/repo", "main", None)),
    ("https://example.com/files/model.safetensors?sig=1", ("url", None, None, None, None, "model.safetensors")),
    ("http://127.0.0.1:8000/m.safetensors", ("url", None, None, None, None, "m.safetensors")),
]


@pytest.mark.parametrize(("text", "expected"), OK, ids=[t for t, _ in OK])
def test_accepted_links(text, expected):
    link = parse_link(text)
    assert (link.source, link.model_id, link.version_id, link.repo_id, link.revision, link.filename) == expected


BAD = [
    ("", "empty"),
    ("not a link at all", "not a web address"),
    ("ftp://example.com/m.safetensors", "not downloadable"),
    ("http://example.com/m.safetensors", "https"),
    ("https://civitai.com/images/123", "not a model page"),
    ("https://civitai.com/models/abc", "not a number"),
    ("https://huggingface.co/datasets/org/data", "dataset"),
    ("https://huggingface.co/org", "owner and the repository"),
    ("https://example.com", "web site, not a file"),
]


@pytest.mark.parametrize(("text", "why"), BAD, ids=[t or "empty" for t, _ in BAD])
def test_rejected_links_say_what_works(text, why):
    with pytest.raises(DownloadError, match=why) as caught:
        parse_link(text)
    assert "civitai.com/models" in caught.value.fix and "huggingface.co" in caught.value.fix
