"""The CLI commands that do what a job kind does take their limits, choices and defaults from that kind's
params model (``lorakit.jobs.params``): the same bad value gets the same message as from ``POST /api/jobs``."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lorakit.cli.dataset import dataset_app
from lorakit.cli.lora import lora_app
from lorakit.cli.main import app
from lorakit.cli.models import models_app
from lorakit.jobs import params as P
from lorakit.jobs.params import JobParamsError, validate_params

runner = CliRunner()
LONG = "x" * (P.MAX_PATH + 1)

# (CLI arguments, the params model, the same values as a job's params); {dataset} is an existing folder.
REFUSED = [
    (["lora", "resize", "a.safetensors", "-o", "b.safetensors", "--rank", "0"], P.ResizeParams,
     {"source": "a.safetensors", "output": "b.safetensors", "rank": 0}),
    (["lora", "resize", "a.safetensors", "-o", "b.safetensors", "--method", "magic"], P.ResizeParams,
     {"source": "a.safetensors", "output": "b.safetensors", "method": "magic"}),
    (["lora", "resize", "a.safetensors", "-o", "b.safetensors", "--device", "gpu"], P.ResizeParams,
     {"source": "a.safetensors", "output": "b.safetensors", "device": "gpu"}),
    (["lora", "resize", "a.safetensors", "-o", "b.safetensors", "--alpha", "-1"], P.ResizeParams,
     {"source": "a.safetensors", "output": "b.safetensors", "alpha": -1}),
    (["lora", "merge", "a.safetensors:0.5", "-o", "m.safetensors", "--precision", "fp8"], P.MergeParams,
     {"sources": [["a.safetensors", 0.5]], "output": "m.safetensors", "precision": "fp8"}),
    (["lora", "merge", "a.safetensors", "-o", "m.safetensors", "--rank", "5000"], P.MergeParams,
     {"sources": [["a.safetensors", 1.0]], "output": "m.safetensors", "rank": 5000}),
    (["lora", "extract", "b.safetensors", "t.safetensors", "-o", "x.safetensors", "--clamp-quantile", "1.5"],
     P.ExtractParams, {"base": "b.safetensors", "tuned": "t.safetensors", "output": "x.safetensors",
                       "clamp_quantile": 1.5}),
    (["lora", "extract", "b.safetensors", "t.safetensors", "-o", "x.safetensors", "--conv-rank", "0"],
     P.ExtractParams, {"base": "b.safetensors", "tuned": "t.safetensors", "output": "x.safetensors",
                       "conv_rank": 0}),
    (["lora", "convert", "a.safetensors", "-o", "c.safetensors", "--to", "onnx"], P.ConvertParams,
     {"source": "a.safetensors", "output": "c.safetensors", "layout": "onnx"}),
    (["lora", "convert", "a.safetensors", "-o", "c.safetensors", "--arch", "sd3"], P.ConvertParams,
     {"source": "a.safetensors", "output": "c.safetensors", "arch": "sd3"}),
    (["models", "download", "x"], P.DownloadParams, {"link": "x"}),
    (["models", "download", "https://example.com/a.safetensors", "--name", ""], P.DownloadParams,
     {"link": "https://example.com/a.safetensors", "name": ""}),
    (["dataset", "dedup", "{dataset}", "--threshold", "65"], P.DedupParams, {"dataset": "{dataset}", "threshold": 65}),
    (["dataset", "check", "{dataset}", "--resolution", "32"], P.HealthParams,
     {"dataset": "{dataset}", "resolution": 32}),
    (["dataset", "check", "{dataset}", "--max-tokens", "100"], P.HealthParams,
     {"dataset": "{dataset}", "max_token_length": 100}),
    (["dataset", "import", LONG, "--to", "datasets/x"], P.ImportParams, {"sources": [LONG], "to": "datasets/x"}),
    (["lora", "upload", "a.safetensors", "me/my/lora"], P.UploadParams,
     {"lora": "a.safetensors", "repo_id": "me/my/lora"}),
    (["lora", "upload", "a.safetensors", "lora", "--title", "t" * 201], P.UploadParams,
     {"lora": "a.safetensors", "repo_id": "lora", "title": "t" * 201}),
]  # fmt: skip


def _fill(value, folder: str):
    if isinstance(value, str):
        return value.replace("{dataset}", folder)
    if isinstance(value, list):
        return [_fill(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, folder) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("args", "model", "values"), REFUSED, ids=lambda x: " ".join(x[:3]) if isinstance(x, list) else ""
)
def test_a_bad_value_is_refused_with_the_apis_message(tmp_path, monkeypatch, args, model, values):
    monkeypatch.chdir(tmp_path)  # nothing is written anywhere: the values are refused before any work
    folder = tmp_path / "set"
    folder.mkdir()
    args, values = _fill(args, str(folder)), _fill(values, str(folder))
    with pytest.raises(JobParamsError) as api:
        validate_params(model, values, None, prefix="params")  # what POST /api/jobs checks without a workspace
    result = runner.invoke(app, args)
    assert isinstance(result.exception, JobParamsError), result.output
    assert result.exception.problem == api.value.problem.replace("params.", "")
    assert result.exception.problem  # names the field and what is wrong
    assert result.exception.fix.startswith("Correct ") and "--help" in result.exception.fix
    assert list(tmp_path.iterdir()) == [folder]


def test_the_error_is_shown_as_problem_and_fix_with_exit_2(tmp_path):
    code = "import sys; sys.argv = ['lorakit'] + sys.argv[1:]; from lorakit.cli.main import run; run()"
    args = ["lora", "extract", "b.safetensors", "t.safetensors", "-o", str(tmp_path / "x.safetensors")]
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "--conv-rank", "0", "--method", "magic"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "conv_rank: Input should be greater than or equal to 1" in done.stderr
    assert "method: Input should be 'fixed'" in done.stderr  # every problem at once, as the API
    assert "Correct --conv-rank and --method" in done.stderr and "Traceback" not in done.stderr


def _option(typer_app, command: str, option: str):
    for info in typer_app.registered_commands:
        if (info.name or info.callback.__name__) == command:
            return inspect.signature(info.callback).parameters[option].default
    raise AssertionError(f"no command {command}")


# (typer app, command, its parameter, the params model, the field it fills)
OPTIONS = [
    (lora_app, "resize", "rank", P.ResizeParams, "rank"),
    (lora_app, "resize", "method", P.ResizeParams, "method"),
    (lora_app, "resize", "value", P.ResizeParams, "value"),
    (lora_app, "resize", "alpha", P.ResizeParams, "alpha"),
    (lora_app, "resize", "device", P.ResizeParams, "device"),
    (lora_app, "resize", "precision", P.ResizeParams, "precision"),
    (lora_app, "merge", "rank", P.MergeParams, "rank"),
    (lora_app, "merge", "method", P.MergeParams, "method"),
    (lora_app, "merge", "value", P.MergeParams, "value"),
    (lora_app, "merge", "device", P.MergeParams, "device"),
    (lora_app, "merge", "precision", P.MergeParams, "precision"),
    (lora_app, "extract", "rank", P.ExtractParams, "rank"),
    (lora_app, "extract", "conv_rank", P.ExtractParams, "conv_rank"),
    (lora_app, "extract", "method", P.ExtractParams, "method"),
    (lora_app, "extract", "value", P.ExtractParams, "value"),
    (lora_app, "extract", "clamp_quantile", P.ExtractParams, "clamp_quantile"),
    (lora_app, "extract", "device", P.ExtractParams, "device"),
    (lora_app, "extract", "precision", P.ExtractParams, "precision"),
    (lora_app, "convert", "to", P.ConvertParams, "layout"),
    (lora_app, "convert", "arch", P.ConvertParams, "arch"),
    (lora_app, "upload", "private", P.UploadParams, "private"),
    (lora_app, "upload", "title", P.UploadParams, "title"),
    (lora_app, "upload", "description", P.UploadParams, "description"),
    (lora_app, "upload", "trigger", P.UploadParams, "trigger_words"),
    (lora_app, "upload", "prompt", P.UploadParams, "prompts"),
    (lora_app, "upload", "base_model", P.UploadParams, "base_model"),
    (lora_app, "upload", "license", P.UploadParams, "license"),
    (models_app, "download", "to", P.DownloadParams, "to"),
    (models_app, "download", "name", P.DownloadParams, "name"),
    (dataset_app, "dedup", "threshold", P.DedupParams, "threshold"),
    (dataset_app, "dedup", "remove", P.DedupParams, "remove"),
    (dataset_app, "check", "resolution", P.HealthParams, "resolution"),
    (dataset_app, "check", "trigger", P.HealthParams, "trigger_word"),
    (dataset_app, "check", "batch_size", P.HealthParams, "batch_size"),
    (dataset_app, "check", "epochs", P.HealthParams, "epochs"),
    (dataset_app, "check", "max_tokens", P.HealthParams, "max_token_length"),
]


@pytest.mark.parametrize(("typer_app", "command", "option", "model", "field"), OPTIONS)
def test_an_option_left_out_means_the_job_kinds_default(typer_app, command, option, model, field):
    info = _option(typer_app, command, option)
    default = model.model_fields[field].get_default(call_default_factory=True)
    # Either "not given" (the model's default applies, as for a job) or the very same default.
    assert info.default is None or info.default == default, (command, option, info.default, default)
    if info.default is None and default is not None:
        assert str(default) in info.help, f"the help of {command} --{option} should name the default {default}"


def test_an_option_left_out_gets_the_models_default_when_the_command_runs(tmp_path, monkeypatch):
    seen = {}

    def fake_extract(base, tuned, output, **kwargs):
        seen.update(kwargs)
        return {"m": {"retained_fro": 1.0}}

    monkeypatch.setattr("lorakit.lora.extract.extract_lora", fake_extract)
    result = runner.invoke(app, ["lora", "extract", "b", "t", "-o", str(tmp_path / "x.safetensors")])
    assert result.exit_code == 0, result.output
    fields = P.ExtractParams.model_fields
    for name in ("rank", "conv_rank", "method", "value", "clamp_quantile", "text_encoder"):
        assert seen[name] == fields[name].default, name
    assert seen["dtype"] == P.torch_dtype(fields["precision"].default)
    assert seen["device"] == P.default_device(None)
