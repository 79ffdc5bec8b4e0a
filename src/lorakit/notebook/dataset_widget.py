"""The dataset step: images in (upload, a folder on the server, or the sample set), the health check with
its fixes, duplicate groups with keep/trash, then tagging and captions (``captions_widget``)."""

from __future__ import annotations

import time
from pathlib import Path

import ipywidgets as W

from lorakit.errors import DatasetError, LorakitError
from lorakit.notebook import kit
from lorakit.notebook.images import thumbnail
from lorakit.notebook.state import Session


class DatasetStep(kit.Step):
    title = "Dataset"
    what = "Bring your images in, check them, remove duplicates, then tag and caption them."

    TABS = ("images", "health", "duplicates", "tagging", "captions")

    def __init__(self, session: Session, name: str | None = None, tab: str = "images"):
        from lorakit.notebook.captions_widget import CaptionsPanel

        self.session = session
        self.status = kit.status()
        current = session.get("dataset")
        self.name = W.Text(
            value=name or (Path(current).name if current else "my-dataset"),
            description="Dataset name",
            layout=W.Layout(width="24em"),
        )
        self.use_button = kit.button("Use this dataset", "info")
        self.use_button.on_click(lambda _b: self.choose())
        self.upload = W.FileUpload(accept="image/*,.zip", multiple=True, description="Upload images or a ZIP")
        self.upload_button = kit.button("Add the uploaded files", "success")
        self.upload_button.on_click(lambda _b: self.add_uploads())
        self.server_path = W.Text(placeholder="/path/to/images or a .zip on this machine", description="Server path")
        self.server_button = kit.button("Import from that path")
        self.server_button.on_click(lambda _b: self.import_path())
        self.sample_button = kit.button("Use the sample images (12 robots)")
        self.sample_button.on_click(lambda _b: self.use_sample())
        self.summary = W.HTML()

        self.trigger = W.Text(value=session.get("trigger_word") or "", description="Trigger word")
        self.check_button = kit.button("Check the dataset", "info", "stethoscope")
        self.check_button.on_click(lambda _b: self.check())
        self.findings = W.VBox()
        self.dedup_button = kit.button("Find duplicates", "info", "clone")
        self.dedup_button.on_click(lambda _b: self.find_duplicates())
        self.groups = W.VBox()
        self.trash_button = kit.button("Trash the images not kept", "danger", "trash")
        self.trash_button.layout.display = "none"
        self.trash_button.on_click(lambda _b: self.trash_duplicates())
        self._groups: list = []
        self._keep: list[W.RadioButtons] = []
        self.captions = CaptionsPanel(self)

        tabs = W.Tab(
            children=[
                W.VBox(
                    [
                        W.HBox([self.name, self.use_button]),
                        W.HBox([self.upload, self.upload_button]),
                        W.HBox([self.server_path, self.server_button]),
                        self.sample_button,
                        self.summary,
                    ]
                ),
                W.VBox([W.HBox([self.trigger, self.check_button]), self.findings]),
                W.VBox([self.dedup_button, self.groups, self.trash_button]),
                self.captions.tagging,
                self.captions.editing,
            ]
        )
        for i, title in enumerate(("Images", "Health", "Duplicates", "Tagging", "Captions")):
            tabs.set_title(i, title)
        if tab not in self.TABS:
            raise DatasetError(f"There is no dataset tab {tab!r}.", f"Use one of: {', '.join(self.TABS)}.")
        tabs.selected_index = self.TABS.index(tab)
        self.tabs = tabs
        super().__init__([tabs])
        if current and (session.workspace.root / current).is_dir():
            self._describe()
        else:
            self.status.set("info", "No dataset yet: upload images, import a folder, or use the sample images.")

    # --- which dataset -----------------------------------------------------------------------------
    def folder(self) -> Path:
        name = self.name.value.strip()
        if not name or "/" in name or name.startswith("."):
            raise DatasetError(f"{name!r} is not a dataset name.", "Use a plain name such as my-character.")
        return self.session.workspace.user_path(f"datasets/{name}")

    def current(self) -> Path:
        """The dataset the other tabs work on; an out-of-order click says which step comes first."""
        rel = self.session.get("dataset")
        if not rel or not (self.session.workspace.root / rel).is_dir():
            raise DatasetError(
                "No dataset has been chosen yet.",
                "On the Images tab, upload images, import a folder or use the sample images first.",
            )
        return self.session.workspace.root / rel

    @kit.guarded()
    def choose(self) -> None:
        folder = self.folder()
        if not folder.is_dir():
            raise DatasetError(
                f"There is no dataset called {self.name.value!r} yet.", "Add images to it first (upload or a path)."
            )
        self.session.remember(dataset=self.session.rel(folder))
        self._describe()

    def _describe(self) -> None:
        from lorakit.data.images import list_images

        folder = self.current()
        count = len(list_images(folder))
        self.summary.value = kit.line("ok", f"{self.session.rel(folder)}: {count} images.")
        self.status.set("ok", f"Working on {self.session.rel(folder)} ({count} images).")

    # --- images in ---------------------------------------------------------------------------------
    def _import(self, sources: list[Path]) -> None:
        from lorakit.data.importer import import_images, require_images

        folder = self.folder()
        self.status.set("busy", "Importing…")
        report = import_images(sources, folder)
        skipped = "".join(kit.line("warn", f"Skipped {Path(s).name}: {r}") for s, r in report.skipped[:20])
        summary = kit.line("ok", f"Imported {len(report.imported)} images into {folder.name}.") + skipped
        self.summary.value = summary
        require_images(report)
        self.session.remember(dataset=self.session.rel(folder))
        self._describe()
        self.summary.value = summary

    @kit.guarded()
    def add_uploads(self) -> None:
        files = list(self.upload.value)
        if not files:
            raise DatasetError("No files have been uploaded yet.", "Press 'Upload images or a ZIP' and pick files.")
        staging = self.session.workspace.root / ".cache" / "uploads" / f"{time.time_ns()}"
        staging.mkdir(parents=True)
        paths = []
        for item in files:
            name = Path(str(item["name"])).name
            if not name or name.startswith("."):
                continue
            path = staging / name
            path.write_bytes(bytes(item["content"]))
            paths.append(path)
        try:
            self._import(paths)
        finally:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
        self.upload.value = ()

    @kit.guarded()
    def import_path(self) -> None:
        text = self.server_path.value.strip()
        path = Path(text).expanduser()
        if not text or not path.exists():
            raise DatasetError(
                f"Nothing is at {text!r} on this machine.", "Check the path (ls in a terminal), or upload instead."
            )
        self._import([path])

    @kit.guarded()
    def use_sample(self) -> None:
        from lorakit.data.scan import sample_dataset_path

        self.name.value = "kitbot"
        self._import([sample_dataset_path()])
        if not self.trigger.value:
            self.trigger.value = "kitbot"
        self.session.remember(trigger_word=self.trigger.value)

    # --- health ------------------------------------------------------------------------------------
    @kit.guarded()
    def check(self) -> None:
        from lorakit.data.health import check_dataset

        folder = self.current()
        trigger = self.trigger.value.strip() or None
        self.session.remember(trigger_word=trigger)
        self.status.set("busy", "Checking…")
        report = check_dataset(folder, trigger_word=trigger, workers=1)
        rows: list[W.Widget] = []
        for finding in report.findings:
            rows.append(W.HTML(kit.line(finding.severity, finding.title, finding.fix)))
            if finding.fix_id:
                fix = kit.button(f"Fix: {finding.fix_id.replace('-', ' ')}", "warning")
                fix.on_click(lambda _b, f=finding.fix_id: self.apply_fix(f))
                rows.append(fix)
        self.findings.children = rows or [W.HTML(kit.line("ok", "No problems found."))]
        self.report = report
        bad = sum(f.severity == "error" for f in report.findings)
        self.status.set("fail" if bad else "ok", f"{report.images} images checked, {len(report.findings)} finding(s).")

    @kit.guarded()
    def apply_fix(self, fix_id: str) -> None:
        from lorakit.data.health_fixes import apply_fix

        result = apply_fix(self.current(), fix_id, trigger_word=self.trigger.value.strip() or None)
        self.check()
        self.status.set("ok", result.message or f"Applied {fix_id}.", "Undo caption changes on the Captions tab.")

    # --- duplicates --------------------------------------------------------------------------------
    @kit.guarded()
    def find_duplicates(self) -> None:
        from lorakit.data.dedup import find_duplicates

        report = find_duplicates(self.current(), workers=1)
        self._groups = report.groups
        self._keep = []
        rows: list[W.Widget] = []
        for group in report.groups:
            members = [group.keeper, *group.duplicates]
            keep = W.RadioButtons(options=[(p.name, p) for p in members], value=group.keeper, description="Keep")
            self._keep.append(keep)
            rows.append(W.HBox([*(thumbnail(p, 120) for p in members), keep]))
        self.groups.children = rows or [W.HTML(kit.line("ok", f"No duplicates among {report.images} images."))]
        self.trash_button.layout.display = None if report.groups else "none"
        self.status.set("warn" if report.groups else "ok", f"{len(report.groups)} duplicate group(s).")

    @kit.guarded()
    def trash_duplicates(self) -> None:
        from lorakit.data.dedup import remove_duplicates
        from lorakit.data.health_fixes import dataset_trash

        if not self._groups:
            raise LorakitError("There are no duplicate groups to act on.", "Press 'Find duplicates' first.")
        chosen = {id(g): k.value for g, k in zip(self._groups, self._keep, strict=True)}
        moved = remove_duplicates(self._groups, dataset_trash(self.current()), keep=lambda g: chosen[id(g)])
        self._groups, self._keep = [], []
        self.groups.children = []
        self.trash_button.layout.display = "none"
        self.status.set("ok", f"Moved {len(moved)} file(s) to the dataset's trash (restorable).")
