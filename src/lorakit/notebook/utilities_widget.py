"""The utilities step: inspect a LoRA, and resize, convert, merge, extract or upload it to Hugging Face (with
a model card). Inspect runs here (it only reads); the others are jobs of the runner, with progress."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as W

from lorakit.errors import LorakitError
from lorakit.notebook import kit
from lorakit.notebook.jobview import JobView
from lorakit.notebook.state import Session


class UtilitiesStep(kit.Step):
    title = "LoRA tools"
    what = "Look inside a LoRA, make it smaller, convert it for another app, merge or extract one, publish it."

    def __init__(self, session: Session):
        self.session = session
        self.status = kit.status()
        self.job = JobView(session, self.status, self._job_event)
        self.lora = W.Dropdown(description="LoRA", layout=W.Layout(width="44em"))
        self.refresh_button = kit.button("Refresh list", "", "refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.result = W.HTML()
        # inspect
        self.inspect_button = kit.button("Inspect", "info", "search")
        self.inspect_button.on_click(lambda _b: self.inspect())
        self.card = W.Textarea(layout=W.Layout(width="60em", height="14em", display="none"))
        # resize
        self.rank = W.BoundedIntText(value=8, min=1, max=1024, description="New rank")
        self.resize_method = W.Dropdown(options=["fixed", "sv_fro", "sv_cumulative", "sv_ratio"], description="Method")
        self.resize_value = W.FloatText(value=0.9, description="Value", tooltip="For the dynamic methods only.")
        self.resize_button = kit.button("Resize", "success")
        self.resize_button.on_click(lambda _b: self.resize())
        # convert
        self.layout_ = W.Dropdown(options=["kohya", "diffusers", "peft", "comfyui"], description="To layout")
        self.convert_button = kit.button("Convert", "success")
        self.convert_button.on_click(lambda _b: self.convert())
        # merge
        self.merge_with = W.SelectMultiple(description="Merge with", layout=W.Layout(width="44em"))
        self.merge_button = kit.button("Merge (weights 1.0)", "success")
        self.merge_button.on_click(lambda _b: self.merge())
        # extract
        self.base = W.Text(description="Base model", placeholder="models/checkpoints/base.safetensors")
        self.tuned = W.Text(description="Fine-tune", placeholder="models/checkpoints/tuned.safetensors")
        self.extract_rank = W.BoundedIntText(value=32, min=1, max=1024, description="Rank")
        self.extract_button = kit.button("Extract", "success")
        self.extract_button.on_click(lambda _b: self.extract())
        # upload
        self.repo = W.Text(description="Repo", placeholder="your-name/my-lora")
        self.private = W.Checkbox(value=True, description="Private", indent=False)
        self.upload_button = kit.button("Upload with a model card", "warning", "upload")
        self.upload_button.on_click(lambda _b: self.upload())
        tabs = W.Tab(
            children=[
                W.VBox([self.inspect_button, self.card]),
                W.VBox([W.HBox([self.rank, self.resize_method, self.resize_value]), self.resize_button]),
                W.VBox([self.layout_, self.convert_button]),
                W.VBox([self.merge_with, self.merge_button]),
                W.VBox([self.base, self.tuned, self.extract_rank, self.extract_button]),
                W.VBox([W.HBox([self.repo, self.private]), self.upload_button]),
            ]
        )
        for i, title in enumerate(("Inspect", "Resize", "Convert", "Merge", "Extract", "Upload")):
            tabs.set_title(i, title)
        super().__init__([W.HBox([self.lora, self.refresh_button]), tabs, self.job.box, self.result])
        self.refresh()

    def loras(self) -> list[str]:
        """LoRA files in models/loras and outputs/, newest first, as workspace paths."""
        root = self.session.workspace.root
        found = [*self.session.workspace.model_folder("loras").rglob("*.safetensors")]
        found += self.session.workspace.outputs.rglob("*.safetensors")
        found = [p for p in found if self.session.workspace.contains(p) and "state" not in p.parts]
        found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.relative_to(root).as_posix() for p in found]

    def refresh(self) -> None:
        names = self.loras()
        keep = self.lora.value
        self.lora.options = names
        self.lora.value = keep if keep in names else (names[0] if names else None)
        self.merge_with.options = names
        if not names:
            self.status.set("info", "No LoRA files yet.", "Train one (the Train step) or put one in models/loras.")

    def _chosen(self) -> str:
        if not self.lora.value:
            raise LorakitError("No LoRA is chosen.", "Train one first, or put a .safetensors file in models/loras.")
        return self.lora.value

    def _out(self, suffix: str) -> str:
        return f"models/loras/{Path(self._chosen()).stem}-{suffix}.safetensors"

    # --- tools -------------------------------------------------------------------------------------
    @kit.guarded()
    def inspect(self) -> None:
        from lorakit.lora.inspect import describe_parts, inspect_lora

        report = inspect_lora(self.session.workspace.user_path(self._chosen(), must_exist=True), full_hash=False)
        ranks = ", ".join(f"rank {r}: {n}" for r, n in sorted(report.ranks.items()))
        lines = [
            f"{report.base_label} · {report.network or 'LoRA'} · layout {report.layout}",
            ", ".join(describe_parts(report).values()),
            f"Ranks: {ranks}",
            f"Trigger words: {', '.join(report.trigger_words) or '(none recorded)'}",
        ]
        self.result.value = "".join(kit.line("info", text) for text in lines)
        self.status.set("ok", f"Inspected {self._chosen()}.")

    def _submit(self, kind: str, params: dict) -> str:
        job = self.session.runner.submit(kind, params)
        self.status.set("busy", f"{kind.capitalize()} job {job.id} started.")
        self.job.attach(job.id)
        return job.id

    @kit.guarded()
    def resize(self) -> str:
        params = {"source": self._chosen(), "output": self._out(f"r{self.rank.value}"), "rank": self.rank.value}
        params["method"] = self.resize_method.value
        if self.resize_method.value != "fixed":
            params["value"] = self.resize_value.value
        return self._submit("resize", params)

    @kit.guarded()
    def convert(self) -> str:
        return self._submit(
            "convert",
            {"source": self._chosen(), "layout": self.layout_.value, "output": self._out(self.layout_.value)},
        )

    @kit.guarded()
    def merge(self) -> str:
        sources = [[self._chosen(), 1.0], *[[p, 1.0] for p in self.merge_with.value if p != self._chosen()]]
        if len(sources) < 2:
            raise LorakitError("Merging needs a second LoRA.", "Pick one or more in 'Merge with'.")
        return self._submit("merge", {"sources": sources, "output": self._out("merged")})

    @kit.guarded()
    def extract(self) -> str:
        if not self.base.value.strip() or not self.tuned.value.strip():
            raise LorakitError("Extracting needs a base model and its fine-tune.", "Give both workspace paths.")
        params = {"base": self.base.value.strip(), "tuned": self.tuned.value.strip(), "rank": self.extract_rank.value}
        params["output"] = f"models/loras/{Path(params['tuned']).stem}-extracted.safetensors"
        return self._submit("extract", params)

    @kit.guarded()
    def upload(self) -> str:
        from lorakit.credentials import get_token

        if not get_token("huggingface"):
            raise LorakitError(
                "No Hugging Face token is stored.", "Store a 'write' token in the Setup step's Tokens part first."
            )
        if not self.repo.value.strip():
            raise LorakitError("No repo is named.", "Type a repo name such as your-name/my-lora.")
        return self._submit(
            "upload", {"lora": self._chosen(), "repo_id": self.repo.value.strip(), "private": self.private.value}
        )

    def _job_event(self, event) -> None:
        if event.type == "result":
            out = event.data.get("output") or event.data.get("path") or event.data.get("url")
            if out:
                self.result.value = kit.line("ok", f"Written: {out}")
            self.refresh()

    def wait(self, timeout: float | None = None) -> str:
        return self.job.wait(timeout)
