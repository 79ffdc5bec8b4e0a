"""The setup step: what this machine has (the ``lorakit doctor`` checks with their fixes), the base model
(a known good one per family, or any link, downloaded with progress through the job runner), the VAE,
service tokens (stored owner-only, shown masked) and the project folders."""

from __future__ import annotations

import logging

import ipywidgets as W

from lorakit.errors import LorakitError
from lorakit.events import Event
from lorakit.notebook import kit
from lorakit.notebook.jobview import JobView
from lorakit.notebook.state import Session


class SetupStep(kit.Step):
    title = "Setup and models"
    what = "Checks this machine, picks the base model to train on, stores your tokens and shows the folders."

    def __init__(self, session: Session, *, checks: bool = True):
        from lorakit.models.suggested import suggested_models

        self.session = session
        self.status = kit.status()
        self.checks = W.VBox()
        self.recheck = kit.button("Check again", "", "refresh")
        self.recheck.on_click(lambda _b: self.run_checks())
        self.models = suggested_models()
        options = [(f"{m.title} [{m.family}]", m.link) for m in self.models]
        current = session.get("base_model")
        self.model = W.Dropdown(
            options=[("(choose)", None), *options],
            value=current if current in [o[1] for o in options] else None,
            description="Base model",
            layout=W.Layout(width="40em"),
        )
        self.model.observe(lambda _c: self._describe_model(), names="value")
        self.model_note = W.HTML()
        self.link = W.Text(
            placeholder="A Hugging Face, Civitai or https link to a .safetensors", description="Or a link"
        )
        self.link.layout.width = "40em"
        self.use_button = kit.button("Use this model", "success", "check")
        self.use_button.on_click(lambda _b: self.use_model())
        self.vae = W.Text(value=session.get("vae") or "", description="VAE (optional)", placeholder="a link or path")
        self.job = JobView(session, self.status, self._download_event)
        self.chosen = W.HTML()
        self.tokens = {
            service: W.Password(description=service, placeholder="paste a token to store it")
            for service in ("huggingface", "civitai")
        }
        self.token_button = kit.button("Store tokens", "", "key")
        self.token_button.on_click(lambda _b: self.store_tokens())
        self.token_note = W.HTML()
        self.folders = W.HTML()
        self.debug = W.Checkbox(description="Debug logging", indent=False)
        self.debug.observe(
            lambda c: logging.getLogger("lorakit").setLevel("DEBUG" if c["new"] else "WARNING"), "value"
        )
        self.workspace_path = W.Text(value=str(session.workspace.root), description="Workspace")
        self.workspace_button = kit.button("Use this folder")
        self.workspace_button.on_click(lambda _b: self.switch_workspace())
        super().__init__(
            [
                W.HTML("<b>This machine</b>"),
                self.checks,
                self.recheck,
                W.HTML("<b>Base model</b>"),
                self.model,
                self.model_note,
                self.link,
                W.HBox([self.use_button]),
                self.job.box,
                self.chosen,
                W.HTML("<b>Tokens</b> (stored owner-only; only the last 4 characters are ever shown)"),
                *self.tokens.values(),
                self.token_button,
                self.token_note,
                W.HTML("<b>Project folders</b>"),
                self.folders,
                kit.advanced(
                    self.vae,
                    W.HBox([self.workspace_path, self.workspace_button]),
                    self.debug,
                    W.HTML(
                        "Reinstall lorakit: <code>%pip install --force-reinstall 'lorakit[notebook]'</code>, then"
                        " restart the kernel."
                    ),
                ),
            ]
        )
        if checks:
            self.run_checks()
        self._describe_model()
        self._show_tokens()
        self._show_folders()
        self._show_chosen()

    # --- checks ------------------------------------------------------------------------------------
    @kit.guarded()
    def run_checks(self) -> None:
        from lorakit.environment import run_checks, summary

        found = run_checks(self.session.workspace.root, workspace_reason="chosen in the notebook")
        self.checks.children = [W.HTML("".join(kit.line(c.status, f"{c.name}: {c.detail}", c.fix) for c in found))]
        worst = summary(found)
        words = {"ok": "This machine is ready.", "warn": "Ready, with warnings.", "fail": "Something must be fixed."}
        self.status.set(worst, words[worst])

    # --- the base model ----------------------------------------------------------------------------
    def _describe_model(self) -> None:
        model = next((m for m in self.models if m.link == self.model.value), None)
        self.model_note.value = kit.line("info", model.note) if model else ""
        if model and model.vae and not self.vae.value:
            self.vae.value = model.vae

    @kit.guarded()
    def use_model(self) -> str | None:
        """Use the chosen model: a built-in one at once, a link by downloading it (progress below)."""
        link = self.link.value.strip() or self.model.value
        if not link:
            raise LorakitError("No base model is chosen.", "Pick one from the list, or paste a link.")
        if link.startswith("tiny:") or (self.session.workspace.root / link).is_file():
            family = link.split(":", 1)[1] if link.startswith("tiny:") else None
            self._remember_model(link, family)
            return None
        from lorakit.models.links import parse_link

        parse_link(link)  # a link that cannot work is refused now, with the forms that do
        job = self.session.runner.submit("download", {"link": link}, title="Download the base model")
        self.status.set("busy", f"Downloading (job {job.id})…")
        self.job.attach(job.id)
        return job.id

    def _download_event(self, event: Event) -> None:
        if event.type == "result" and event.data.get("path"):
            info = event.data.get("info") or {}
            self._remember_model(str(event.data["path"]), info.get("family"))

    def _remember_model(self, model: str, family: str | None) -> None:
        self.session.remember(base_model=model, family=family, vae=self.vae.value.strip() or None)
        self.status.set("ok", f"Base model: {model}.")
        self._show_chosen()

    def _show_chosen(self) -> None:
        model = self.session.get("base_model")
        self.chosen.value = kit.line("ok", f"Training on {model}") if model else kit.line("warn", "No base model yet.")

    # --- tokens and folders ------------------------------------------------------------------------
    def _show_tokens(self) -> None:
        from lorakit.credentials import WHERE_TO_GET, token_status

        rows = []
        for service, info in token_status().items():
            if info["set"]:
                rows.append(kit.line("ok", f"{service}: {info['masked']} (from {info['source']})"))
            else:
                rows.append(kit.line("info", f"{service}: not set", f"Get one at {WHERE_TO_GET[service]}"))
        self.token_note.value = "".join(rows)

    @kit.guarded()
    def store_tokens(self) -> None:
        from lorakit.credentials import set_token

        stored = []
        for service, box in self.tokens.items():
            if box.value.strip():
                set_token(service, box.value)
                box.value = ""  # never left in the widget (or the saved notebook)
                stored.append(service)
        self._show_tokens()
        self.status.set("ok" if stored else "info", f"Stored: {', '.join(stored)}." if stored else "Nothing to store.")

    def _show_folders(self) -> None:
        from lorakit.workspace import FOLDERS

        root = self.session.workspace.root
        rows = "".join(
            f"<tr><td><code>{kit.esc(name)}</code></td><td>{kit.esc(what)}</td></tr>" for name, what in FOLDERS.items()
        )
        self.folders.value = f"<div>Workspace: <code>{kit.esc(root)}</code></div><table>{rows}</table>"

    @kit.guarded()
    def switch_workspace(self) -> None:
        from lorakit.notebook.state import session

        self.session = session(self.workspace_path.value.strip())
        self._show_folders()
        self._show_chosen()
        self.status.set("ok", f"Working in {self.session.workspace.root}. Run the next cells again.")
