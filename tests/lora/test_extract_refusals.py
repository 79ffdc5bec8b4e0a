"""``lora extract`` on a pickle under a .safetensors name: refused in plain words, nothing unpickled."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.errors import ModelError
from lorakit.lora.extract import extract_lora


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "raw-pickle"])
def test_pickle_named_safetensors_is_refused(tmp_path, zipped):
    fake = tmp_path / "model.safetensors"
    torch.save({"a": torch.ones(2)}, fake, _use_new_zipfile_serialization=zipped)
    with pytest.raises(ModelError, match="is a PyTorch pickle") as caught:
        extract_lora(fake, fake, tmp_path / "out.safetensors")
    assert ".safetensors version" in caught.value.fix
    assert not (tmp_path / "out.safetensors").exists()
    result = CliRunner().invoke(app, ["lora", "extract", str(fake), str(fake), "-o", str(tmp_path / "o.safetensors")])
    assert result.exit_code != 0 and isinstance(result.exception, ModelError)
