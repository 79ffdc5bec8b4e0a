"""The training configuration step: every setting of the schema as a widget (essentials first, each section's
advanced settings collapsed), presets, validation as values change, the step plan with its advice, and
TOML export/import (lorakit's own and sd-scripts')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W

from lorakit.errors import LorakitError
from lorakit.notebook import kit
from lorakit.notebook.fields import FieldControl, get_path, set_path
from lorakit.notebook.state import Session

ESSENTIAL_ORDER = ("model", "dataset", "output", "schedule", "learning", "network", "optimizer")


def dataset_settings(session: Session, rel: str) -> dict[str, Any]:
    """The dataset part of a config for a folder: sd-scripts' ``<repeats>_<name>`` subfolders as they are,
    a plain folder of images as one subset repeated 10 times (about 100-200 images seen per epoch)."""
    from lorakit.config.dataset import parse_repeat_folder

    folder = session.workspace.root / rel
    if folder.is_dir() and any(p.is_dir() and parse_repeat_folder(p.name) for p in folder.iterdir()):
        return {"dataset.train_data_dir": rel, "dataset.subsets": []}
    return {"dataset.subsets": [{"image_dir": rel, "num_repeats": 10}], "dataset.train_data_dir": None}


def default_preset(session: Session) -> str:
    model = str(session.get("base_model") or "")
    if model.startswith("tiny:"):
        return "tiny-demo"
    family = session.get("family") or "sdxl"
    return {"sd1": "sd15-character", "sd2": "sd15-character", "flux": "flux-character"}.get(family, "sdxl-character")


class ConfigStep(kit.Step):
    title = "Training settings"
    what = "Pick a preset, change what you need (the essentials are first), check the plan, save."

    def __init__(self, session: Session, name: str | None = None):
        from lorakit.config.presets import list_presets
        from lorakit.config.schema_export import form_schema

        self.session = session
        self.status = kit.status()
        schema = form_schema()
        self.controls: dict[str, FieldControl] = {}
        for section in schema["sections"]:
            for info in section["fields"]:
                self.controls[info["path"]] = FieldControl(info)
        self._loading = False
        presets = list_presets(self._user_presets())
        self.preset = W.Dropdown(
            options=[(f"{p.title} ({p.name})", p.name) for p in presets],
            value=session.get("preset") or default_preset(session),
            description="Preset",
            layout=W.Layout(width="34em"),
        )
        self.apply_preset = kit.button("Start from this preset", "info")
        self.apply_preset.on_click(lambda _b: self.load_preset())
        self.name = W.Text(value=name or session.get("config_name") or "my-lora", description="Config name")
        self.save_button = kit.button("Save config", "success", "save")
        self.save_button.on_click(lambda _b: self.save())
        self.check = W.HTML()
        self.plan = W.HTML()

        essentials, sections = [], []
        by_name = {s["name"]: s for s in schema["sections"]}
        rest = [s["name"] for s in schema["sections"] if s["name"] not in ("general", *ESSENTIAL_ORDER)]
        for name_ in ("general", *ESSENTIAL_ORDER, *rest):
            basic = [self.controls[f["path"]].box for f in by_name[name_]["fields"] if f["level"] == "basic"]
            if basic:
                essentials.append(W.HTML(f"<b>{kit.esc(by_name[name_]['title'])}</b>"))
                essentials += basic
        for section in schema["sections"]:
            more = [self.controls[f["path"]].box for f in section["fields"] if f["level"] != "basic"]
            if more:
                sections.append((f"{section['title']}: more settings", W.VBox(more)))
        self.more = W.Accordion(children=[box for _t, box in sections], selected_index=None)
        for i, (title, _box) in enumerate(sections):
            self.more.set_title(i, title)
        for control in self.controls.values():
            control.widget.observe(self._changed, names="value")

        self.export_ours = kit.button("Show TOML")
        self.export_ours.on_click(lambda _b: self.show_toml())
        self.export_kohya_button = kit.button("Export for sd-scripts")
        self.export_kohya_button.on_click(lambda _b: self.export_kohya())
        self.import_path = W.Text(placeholder="configs/x.toml or sd-scripts' config.toml", description="Import")
        self.import_button = kit.button("Import")
        self.import_button.on_click(lambda _b: self.import_toml())
        self.toml = W.Textarea(layout=W.Layout(width="60em", height="16em", display="none"))
        tools = kit.advanced(
            W.HBox([self.export_ours, self.export_kohya_button]),
            W.HBox([self.import_path, self.import_button]),
            self.toml,
            title="TOML export and import",
        )
        super().__init__(
            [
                W.HBox([self.preset, self.apply_preset]),
                W.VBox(essentials),
                self.more,
                W.HBox([self.name, self.save_button]),
                self.check,
                self.plan,
                tools,
            ]
        )
        saved = session.get("config")
        path = session.workspace.root / saved if saved else None
        if path is not None and path.is_file():
            self.load_file(path)
        else:
            self.load_preset()

    def _user_presets(self):
        folder = self.session.workspace.configs / "presets"
        return folder if folder.is_dir() else None

    # --- values in and out -------------------------------------------------------------------------
    def show_config(self, cfg) -> None:
        data = cfg.model_dump(mode="json")
        self._loading = True
        try:
            for path, control in self.controls.items():
                control.show(get_path(data, path))
        finally:
            self._loading = False
        self.refresh()

    def build(self):
        """The config the widgets show (a ConfigError naming the field when a value does not parse or fit)."""
        from lorakit.config.io import config_from_dict

        tree: dict[str, Any] = {}
        for path, control in self.controls.items():
            set_path(tree, path, control.read())
        return config_from_dict(tree, source="The settings")

    def set(self, path: str, value: Any) -> None:
        """Set one setting as a user would (tests, and other steps that fill a value in)."""
        self.controls[path].show(value)

    @kit.guarded()
    def load_preset(self) -> None:
        from lorakit.config.presets import new_config

        overrides: dict[str, Any] = {}
        dataset = self.session.get("dataset")
        if dataset:
            overrides.update(dataset_settings(self.session, dataset))
        if self.session.get("base_model"):
            overrides["model.pretrained_model_name_or_path"] = self.session.get("base_model")
        trigger = self.session.get("trigger_word")
        if trigger:
            overrides["output.trigger_words"] = [trigger]
        cfg = new_config(self.preset.value, overrides, user_folder=self._user_presets())
        self.session.remember(preset=self.preset.value)
        self.show_config(cfg)

    @kit.guarded()
    def load_file(self, path: Path) -> None:
        from lorakit.config.io import load_config

        self.show_config(load_config(path, relative_to_file=False))
        self.name.value = path.stem

    # --- checks as values change -------------------------------------------------------------------
    def _changed(self, _change) -> None:
        if not self._loading:
            self.refresh()

    def refresh(self) -> bool:
        """Check the settings and update the step plan; True when the config can train."""
        from lorakit.config.validate import validate
        from lorakit.workspace import confine_config

        try:
            cfg = confine_config(self.session.workspace, self.build())
        except LorakitError as error:
            self.check.value = kit.error_box(error.problem, error.fix)
            self.status.set("fail", "The settings have a problem (see above).")
            return False
        report = validate(cfg)
        lines = [kit.line("fail", p.problem, p.fix) for p in report.problems]
        lines += [kit.line("warn", w.problem, w.fix) for w in report.warnings]
        self.check.value = "".join(lines) or kit.line("ok", "The settings are consistent.")
        self.plan.value = self._plan(cfg)
        if report.ok:
            self.status.set("ok", "Ready to save.")
        else:
            self.status.set("fail", f"{len(report.problems)} setting(s) must change before training.")
        return report.ok

    def _plan(self, cfg) -> str:
        from lorakit.data.plan import plan_for_config

        try:
            plan = plan_for_config(cfg)
        except LorakitError as error:
            return kit.line("info", f"No step plan yet: {error.problem}", error.fix)
        rows = (
            f"<b>Step plan:</b> {plan.train_images} images × repeats = {plan.train_images_with_repeats} per epoch; "
            f"batch {plan.batch_size} → {plan.steps_per_epoch} steps per epoch × {plan.epochs} epochs = "
            f"<b>{plan.total_steps} steps</b>"
        )
        notes = "".join(kit.line("warn" if n.level == "warning" else "info", n.message, n.fix) for n in plan.notes)
        return f"<div>{rows}</div>{notes}"

    # --- saving, export, import --------------------------------------------------------------------
    def config_path(self) -> Path:
        import re

        name = self.name.value.strip()
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$", name) or ".." in name:
            raise LorakitError(f"{name!r} is not a config name.", "Use letters, digits, spaces, _ - and .")
        return self.session.workspace.configs / (name if name.endswith(".toml") else f"{name}.toml")

    @kit.guarded()
    def save(self) -> Path | None:
        from lorakit.config.io import save_config
        from lorakit.workspace import confine_config

        cfg = self.build()
        confine_config(self.session.workspace, cfg)
        path = save_config(cfg, self.config_path())
        rel = self.session.rel(path)
        self.session.remember(config=rel, config_name=path.stem)
        ok = self.refresh()
        self.status.set("ok" if ok else "warn", f"Saved {rel}." + ("" if ok else " Fix the problems before training."))
        return path

    @kit.guarded()
    def show_toml(self) -> None:
        from lorakit.config.io import to_toml

        self.toml.value = to_toml(self.build(), only_changed=True)
        self.toml.layout.display = None

    @kit.guarded()
    def export_kohya(self) -> list[Path]:
        from lorakit.config.kohya import export_kohya

        folder = self.session.workspace.outputs / "sd-scripts" / self.config_path().stem
        written = export_kohya(self.build(), folder)
        self.status.set("ok", "Wrote " + ", ".join(self.session.rel(p) for p in written))
        return written

    @kit.guarded()
    def import_toml(self) -> None:
        from lorakit.config.io import read_toml
        from lorakit.config.kohya import import_kohya

        path = self.session.workspace.user_path(self.import_path.value.strip(), must_exist=True)
        data = read_toml(path)
        ours = "config_version" in data or any(k in data for k in ("model", "network", "schedule"))
        if ours:
            self.load_file(path)
            self.status.set("ok", f"Loaded {self.session.rel(path)}. Save it to keep your changes.")
            return
        result = import_kohya(path)
        self.show_config(result.config)
        self.status.set("ok", f"Imported sd-scripts settings from {self.session.rel(path)}.", "; ".join(result.notes))
