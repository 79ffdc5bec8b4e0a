"""How long the config core takes per call: load (TOML -> validated TrainConfig), cross-field validate,
sd-scripts export + import, and the form schema, against plain ``tomllib.loads`` of the same file
measured in the same run (the floor any TOML-based config pays).

These run on every `lorakit config validate`, every web form save and before every training run, so
they should stay in the low milliseconds.

    .venv/bin/python benchmarks/bench_config_io.py [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def _median_ms(func, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs

    start = time.perf_counter()
    from lorakit.config.io import load_config, save_config
    from lorakit.config.kohya import from_kohya, to_kohya
    from lorakit.config.presets import new_config
    from lorakit.config.schema_export import form_schema
    from lorakit.config.validate import validate

    import_ms = (time.perf_counter() - start) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        subsets = [{"image_dir": f"{tmp}/{i}_part", "num_repeats": i + 1} for i in range(8)]
        cfg = new_config("sdxl-character", {"dataset.subsets": subsets, "model.pretrained_model_name_or_path": "o/m"})
        path = save_config(cfg, Path(tmp) / "cfg.toml", only_changed=False)
        text = path.read_text()
        start = time.perf_counter()
        form_schema()
        schema_ms = (time.perf_counter() - start) * 1000
        rows = {
            "tomllib.loads (reference)": _median_ms(lambda: tomllib.loads(text), runs),
            "load_config": _median_ms(lambda: load_config(path), runs),
            "validate (no file checks)": _median_ms(lambda: validate(cfg, check_files=False), runs),
            "sd-scripts export": _median_ms(lambda: to_kohya(cfg), runs),
            "sd-scripts export + import": _median_ms(lambda: from_kohya(*_files(to_kohya(cfg))), runs),
        }
    reference = rows["tomllib.loads (reference)"]
    print(f"{'step':32} {'median ms':>10} {'x reference':>12}")
    for name, ms in rows.items():
        print(f"{name:32} {ms:10.3f} {ms / reference:12.1f}")
    print(f"{'import of the config core':32} {import_ms:10.1f}   (once per process)")
    print(f"{'form schema, first call':32} {schema_ms:10.1f}   (cached afterwards)")
    figures = {key.split(" (")[0].replace(" ", "_").replace("+", "and"): round(ms, 4) for key, ms in rows.items()}
    ratios = {f"{k}_x_reference": round(v / reference, 1) for k, v in figures.items() if not k.startswith("tomllib")}
    print(
        json.dumps(
            {
                "bench": "config_io",
                "runs": runs,
                **figures,
                **ratios,
                "import_ms": round(import_ms, 1),
                "form_schema_first_ms": round(schema_ms, 1),
            }
        )
    )


def _files(files):
    return files.config, files.dataset, files.lorakit


if __name__ == "__main__":
    main()
