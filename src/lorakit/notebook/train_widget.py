"""The training step: start a training job through the job runner, watch it (live loss and learning-rate
chart, progress with ETA, sample images as they are made), Stop / Save now / Sample now, and find a running
job again after a kernel restart."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as W

from lorakit.errors import LorakitError
from lorakit.events import CHECKPOINT, SAMPLE, STEP, Event
from lorakit.notebook import kit
from lorakit.notebook.chart import LossChart
from lorakit.notebook.jobview import JobView
from lorakit.notebook.state import Session

ACTIVE = ("queued", "running")


class TrainStep(kit.Step):
    title = "Train"
    what = "Starts training with the saved settings and shows it live. You can close the notebook: it keeps going."

    def __init__(self, session: Session):
        self.session = session
        self.status = kit.status()
        self.chart = LossChart()
        self.view = JobView(session, self.status, self._event)
        self.samples = W.HBox(layout=W.Layout(flex_flow="row wrap"))
        self.saved = W.HTML()
        self.start_button = kit.button("Start training", "success", "play")
        self.start_button.on_click(lambda _b: self.start())
        self.attach_button = kit.button("Show the running job", "info")
        self.attach_button.layout.display = "none"
        self.attach_button.on_click(lambda _b: self.reattach())
        self.stop_button = kit.button("Stop (saves first)", "danger", "stop")
        self.save_button = kit.button("Save now", "", "save")
        self.sample_button = kit.button("Sample now", "", "image")
        commands = ((self.stop_button, "stop"), (self.save_button, "save"), (self.sample_button, "sample"))
        for button_, command in commands:
            button_.on_click(lambda _b, c=command: self.send(c))
        self.offer = W.HBox()
        super().__init__(
            [
                self.offer,
                W.HBox([self.start_button, self.attach_button]),
                self.view.box,
                self.chart,
                W.HBox([self.stop_button, self.save_button, self.sample_button]),
                self.saved,
                self.samples,
            ]
        )
        self._check_config()
        running = self.active_job()
        remembered = session.get("train_job")
        if running is not None:
            self.view.attach(running.id)
            self.status.set("busy", f"Training job {running.id} is running: showing it again.")
        elif remembered:
            self._show_last(remembered)

    # --- what comes before -------------------------------------------------------------------------
    def config_path(self) -> str | None:
        rel = self.session.get("config")
        return rel if rel and (self.session.workspace.root / rel).is_file() else None

    def _check_config(self) -> None:
        if self.config_path() is None:
            self.offer.children = [
                self.missing(
                    "No saved training settings yet.",
                    "Run the 'Training settings' cell above and press 'Save config', or save its preset now.",
                    self._save_default,
                    "Save the default settings now",
                )
            ]
        else:
            self.offer.children = []

    @kit.guarded()
    def _save_default(self) -> None:
        from lorakit.notebook.config_widget import ConfigStep

        ConfigStep(self.session).save()
        self._check_config()
        if self.config_path():
            self.status.set("ok", f"Saved {self.config_path()}. Press 'Start training'.")

    def active_job(self):
        jobs = self.session.runner.list(states=ACTIVE, kind="train", limit=10)
        return jobs[0] if jobs else None

    # --- actions -----------------------------------------------------------------------------------
    @kit.guarded()
    def start(self) -> str | None:
        running = self.active_job()
        if running is not None:
            self.attach_button.layout.display = None
            self.status.set(
                "warn",
                f"A training run is already going (job {running.id}).",
                "Press 'Show the running job' to watch it, or stop it before starting another.",
            )
            return None
        config = self.config_path()
        if config is None:
            self._check_config()
            return None
        job = self.session.runner.submit("train", {"config": config}, title=f"Train {Path(config).stem}")
        self.session.remember(train_job=job.id)
        self.chart.clear()
        self.samples.children = []
        self.saved.value = ""
        self.status.set("busy", f"Started training job {job.id}.")
        self.view.attach(job.id)
        return job.id

    @kit.guarded()
    def reattach(self) -> None:
        running = self.active_job()
        if running is None:
            raise LorakitError("No training job is running now.", "Press 'Start training' to start one.")
        self.chart.clear()
        self.samples.children = []
        self.view.attach(running.id)
        self.session.remember(train_job=running.id)
        self.attach_button.layout.display = "none"

    @kit.guarded()
    def send(self, command: str) -> None:
        if self.view.job_id is None:
            raise LorakitError("No training job is being shown.", "Start training first.")
        self.session.runner.send(self.view.job_id, command)
        self.status.set("info", {"stop": "Stopping after saving…", "save": "Saving…", "sample": "Sampling…"}[command])

    def _show_last(self, job_id: str) -> None:
        try:
            self.session.runner.get(job_id)
        except LorakitError:
            return
        self.view.attach(job_id, watch=False)
        self.chart.draw()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the shown job has finished (for scripts and tests); returns its state."""
        state = self.view.wait(timeout)
        self.chart.draw()
        return state

    # --- events ------------------------------------------------------------------------------------
    def _event(self, event: Event) -> None:
        data = event.data
        if event.type == STEP:
            self.chart.add(data)
            if len(self.chart.steps) - self.chart.drawn >= 5 or len(self.chart.steps) <= 2:
                self.chart.draw()
        elif event.type == SAMPLE and data.get("path"):
            self._add_sample(data)
        elif event.type == CHECKPOINT and data.get("path"):
            what = f"Saved {data.get('kind', 'lora')} at step {data.get('step')}: {data['path']}"
            self.saved.value = kit.line("ok", what)
        elif event.type == "result":
            self.chart.draw()

    def _add_sample(self, data: dict) -> None:
        path = Path(data["path"])
        if not path.is_absolute():
            path = self.session.workspace.root / path
        try:
            image = W.Image(value=path.read_bytes(), format=path.suffix.lstrip(".") or "png", width=160)
        except OSError:
            return
        words = f"step {data.get('step')}: {kit.esc(data.get('prompt', ''))}"
        caption = W.HTML(f"<div style='font-size:0.8em;width:160px'>{words}</div>")
        self.samples.children = [*self.samples.children, W.VBox([image, caption])]
