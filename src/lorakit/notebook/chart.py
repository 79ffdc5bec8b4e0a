"""The live loss and learning-rate chart: points from the run's ``step`` events, drawn with matplotlib
(no pyplot, no GUI backend) into a PNG shown by an Image widget, so it works in JupyterLab, Notebook 7,
VS Code and headless runs alike."""

from __future__ import annotations

import io

import ipywidgets as W


class LossChart(W.Image):
    """Loss (and its running mean) over steps, and the learning rate on a second axis."""

    def __init__(self, **kwargs):
        # Hidden until there is something to draw (an empty Image still renders as a broken picture).
        super().__init__(format="png", layout=W.Layout(width="640px", display="none"), **kwargs)
        self.add_class("lorakit-loss-chart")
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.avg_losses: list[float] = []
        self.lrs: list[float] = []
        self.drawn = 0  # how many points the picture shows

    def clear(self) -> None:
        self.steps, self.losses, self.avg_losses, self.lrs = [], [], [], []
        self.drawn = 0
        self.value = b""
        self.layout.display = "none"

    def add(self, data: dict) -> None:
        """One ``step`` event's payload: step, loss, avg_loss, lr ({group: value})."""
        if data.get("loss") is None or data.get("step") is None:
            return
        self.steps.append(int(data["step"]))
        self.losses.append(float(data["loss"]))
        self.avg_losses.append(float(data.get("avg_loss", data["loss"])))
        lr = data.get("lr")
        first = next(iter(lr.values()), None) if isinstance(lr, dict) and lr else lr
        self.lrs.append(float(first) if first is not None else float("nan"))

    def draw(self) -> None:
        if not self.steps or self.drawn == len(self.steps):
            return
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 2.6), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(self.steps, self.losses, color="#9bb7d4", linewidth=1, label="loss")
        ax.plot(self.steps, self.avg_losses, color="#1f5fa8", linewidth=2, label="average loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        lr_axis = ax.twinx()
        lr_axis.plot(self.steps, self.lrs, color="#a86400", linewidth=1, linestyle="--", label="learning rate")
        lr_axis.set_ylabel("learning rate")
        lr_axis.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        lines = ax.get_lines() + lr_axis.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="upper right", fontsize=8)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        self.value = buffer.getvalue()
        self.drawn = len(self.steps)
        self.layout.display = None
