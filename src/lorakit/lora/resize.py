"""Shrink a LoRA by SVD: to a fixed rank, or to a rank per module chosen from its singular values.

For each module W = up @ down × alpha/rank (conv weights flattened), keep the top singular directions
(REFERENCE.md "LoRA resize"). Because W already has rank ≤ r, its SVD comes from r×r problems built from
the factors' Gram matrices (:class:`Spectrum`), batched over modules of the same shape: exact, and far
cheaper than the SVD of the dense out×in matrix. LyCORIS modules (LoHa, LoKr) have no such factors and go
through the dense SVD.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from lorakit.events import PROGRESS, Emitter
from lorakit.lora.modules import LoraFormatError, LoraModule, LoraState, module_tensors, require_known

METHODS = ("fixed", "sv_ratio", "sv_cumulative", "sv_fro")


@dataclass
class ModuleResize:
    name: str
    old_rank: int
    new_rank: int
    retained_fro: float  # ‖W_kept‖_F / ‖W‖_F: the fraction of the module's change that survives
    note: str = ""


@dataclass
class ResizeReport:
    method: str
    value: float | None
    max_rank: int | None
    modules: list[ModuleResize] = field(default_factory=list)

    @property
    def mean_retained_fro(self) -> float:
        return sum(m.retained_fro for m in self.modules) / max(1, len(self.modules))

    @property
    def min_retained_fro(self) -> float:
        return min((m.retained_fro for m in self.modules), default=1.0)

    def to_dict(self) -> dict:
        ranks = [m.new_rank for m in self.modules]
        return {
            "method": self.method,
            "value": self.value,
            "max_rank": self.max_rank,
            "mean_rank": sum(ranks) / max(1, len(ranks)),
            "mean_retained_fro": self.mean_retained_fro,
            "min_retained_fro": self.min_retained_fro,
            "modules": [asdict(m) for m in self.modules],
        }


def choose_rank(s: torch.Tensor, method: str, value: float | None, max_rank: int | None) -> int:
    """How many singular values to keep, by the formulas in REFERENCE.md; at least 1, at most ``max_rank``."""
    s = s.double()
    limit = len(s) if max_rank is None else min(max_rank, len(s))
    if method == "fixed" or float(s.sum()) == 0.0:
        return max(1, limit)
    if value is None or value <= 0:
        raise LoraFormatError(f"The {method} method needs a positive value.", _METHOD_FIX)
    if method == "sv_ratio":  # keep S > S₀ / ratio
        k = int((s > s[0] / value).sum())
    elif method == "sv_cumulative":  # smallest k with ΣS[:k] / ΣS ≥ p
        k = _first_reaching(torch.cumsum(s, 0) / s.sum(), value)
    elif method == "sv_fro":  # smallest k with ΣS[:k]² / ΣS² ≥ p²
        energy = s.square()
        k = _first_reaching(torch.cumsum(energy, 0) / energy.sum(), value * value)
    else:
        raise LoraFormatError(f"Unknown resize method {method!r}.", _METHOD_FIX)
    return max(1, min(k, limit))


_METHOD_FIX = "Use --method fixed with --rank, or sv_ratio (e.g. 10), sv_cumulative (e.g. 0.9) or sv_fro (e.g. 0.9)."


def _first_reaching(fraction: torch.Tensor, target: float) -> int:
    # A tiny tolerance so that a spectrum built to reach the target exactly is not pushed one rank up by rounding.
    reached = torch.nonzero(fraction >= target - 1e-9)
    return int(reached[0]) + 1 if len(reached) else len(fraction)


class Spectrum:
    """The SVD of one layer's change, computed lazily: singular values first, then only the kept directions.

    For a plain LoRA layer (W = up @ down, rank ≤ r), only r×r problems are solved, in float64, from the
    Gram matrices (a QR of the tall factors is many times slower on CPU). With upᵀ·up = L·Lᵀ (Cholesky),
    up = Q·Lᵀ for an orthonormal Q = up·L⁻ᵀ, so W = Q·B with B = Lᵀ·down, and
    B·Bᵀ = Lᵀ·(down·downᵀ)·L = V·S²·Vᵀ (one r×r eigh). The top k directions are then
    U_k = up·(L⁻ᵀ·V_k) and Vh_k = (S_k⁻¹·V_kᵀ·Lᵀ)·down: two thin products, nothing of size out×in.
    A tiny ridge keeps the Cholesky defined when ``up`` is rank-deficient (zero-initialised layers); the
    directions it touches have S at rounding level and are never kept.
    """

    def __init__(self, s, *, up=None, down=None, lower=None, v=None, dense=None):
        self.s = s
        self._up, self._down, self._lower, self._v, self._dense = up, down, lower, v, dense

    def top(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(U_k·S_k, Vh_k): factors whose product is the best rank-k approximation of the change."""
        if self._dense is not None:
            u, s, vh = self._dense
            return u[:, :k] * s[:k], vh[:k]
        v_k, s_k = self._v[:, :k], self.s[:k].to(self._v.dtype)
        lower_t = self._lower.transpose(-1, -2)
        up_k = self._up @ (torch.linalg.solve_triangular(lower_t, v_k, upper=True) * s_k)
        inv_s = torch.where(s_k <= self.s[0] * 1e-7, torch.zeros_like(s_k), 1 / s_k.clamp_min(1e-300))
        down_k = (inv_s[:, None] * (v_k.transpose(-1, -2) @ lower_t)) @ self._down
        return up_k.float(), down_k.float()


def _small_eigh(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """eigh of a batch of small matrices. On CPU one thread: LAPACK's threading only adds overhead at r≤256,
    and on a busy machine it made each call 3–50× slower in our measurements."""
    if x.device.type != "cpu":
        return torch.linalg.eigh(x)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.linalg.eigh(x)
    finally:
        torch.set_num_threads(threads)


def factored_spectra(up: torch.Tensor, down: torch.Tensor, scales: torch.Tensor | None = None) -> list[Spectrum]:
    """Spectra of ``scales[i] · up[i] @ down[i]`` for a batch ``(B, out, r) @ (B, r, in)``, products never formed."""
    work = torch.float32 if up.device.type == "mps" else torch.float64  # Apple GPUs have no float64
    up64, down64 = up.to(work), down.to(work)
    if scales is not None:
        up64 *= scales.to(up64)[:, None, None]
    gram_up = up64.transpose(-1, -2) @ up64
    r = gram_up.shape[-1]
    ridge = (gram_up.diagonal(dim1=-2, dim2=-1).sum(-1) / r * 1e-12).clamp_min(1e-30)
    lower = torch.linalg.cholesky(gram_up + ridge[:, None, None] * torch.eye(r, dtype=work, device=up.device))
    middle = lower.transpose(-1, -2) @ (down64 @ down64.transpose(-1, -2)) @ lower
    s2, v = _small_eigh((middle + middle.transpose(-1, -2)) / 2)
    s2, v = s2.flip(-1).clamp_min(0), v.flip(-1)  # eigh sorts ascending; SVD order is descending
    s = s2.sqrt().float()
    return [Spectrum(s[i], up=up64[i], down=down64[i], lower=lower[i], v=v[i]) for i in range(len(s))]


def factored_svd(up: torch.Tensor, down: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD ``(U, S, Vh)`` of a batch of ``up @ down`` (see :class:`Spectrum`)."""
    spectra = factored_spectra(up, down)
    r = up.shape[-1]
    tops = [sp.top(r) for sp in spectra]
    s = torch.stack([sp.s for sp in spectra])
    u = torch.stack([t[0] for t in tops]) / torch.where(s > 0, s, torch.ones_like(s))[:, None, :]
    return u, s, torch.stack([t[1] for t in tops])


def module_svd(modules: list[LoraModule], device: str | torch.device = "cpu"):
    """Yield ``(module, Spectrum)`` for each module's 2-D change, batching modules of one shape together."""
    groups: dict[tuple, list[LoraModule]] = defaultdict(list)
    for m in modules:
        t = m.tensors
        if m.network_type in ("lora", "lora+dora") and "lora_mid.weight" not in t:
            groups[(tuple(t["lora_down.weight"].shape), tuple(t["lora_up.weight"].shape))].append(m)
        else:
            groups[("dense", m.name)].append(m)
    for key, members in groups.items():
        if key[0] == "dense":
            m = members[0]
            u, s, vh = torch.linalg.svd(m.delta().flatten(1).to(device), full_matrices=False)
            yield m, Spectrum(s, dense=(u, s, vh))
            continue
        kind = members[0].tensors["lora_up.weight"].dtype  # .to() below is free unless a file mixes precisions
        ups = torch.stack([m.tensors["lora_up.weight"].flatten(1).to(kind) for m in members]).to(device)
        downs = torch.stack([m.tensors["lora_down.weight"].flatten(1).to(kind) for m in members]).to(device)
        scales = torch.tensor([m.scale for m in members], device=device)
        yield from zip(members, factored_spectra(ups, downs, scales), strict=True)


def resize_state(
    state: LoraState,
    *,
    rank: int | None = None,
    method: str = "fixed",
    value: float | None = None,
    alpha: float | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    emitter: Emitter | None = None,
) -> tuple[LoraState, ResizeReport]:
    """Resize every module; return the new LoRA and a per-module report.

    ``rank`` is the target rank for ``fixed`` and the upper bound for the dynamic methods. By default the new
    alpha keeps each module's scale (old_alpha / old_rank × new_rank). With ``alpha`` given, that alpha is
    written and the weights absorb the difference, so the LoRA's strength is unchanged either way.
    """
    require_known(state, "This LoRA")
    if method not in METHODS:
        raise LoraFormatError(f"Unknown resize method {method!r}.", _METHOD_FIX)
    if method == "fixed" and not rank:
        raise LoraFormatError("A fixed resize needs a target rank.", "Pass --rank, e.g. --rank 32.")
    if rank is not None and rank < 1:
        raise LoraFormatError(f"Rank {rank} is not a valid rank.", "Use a rank of 1 or more, e.g. 32.")
    refuse_lycoris(state)
    largest = max(m.rank or min(m.delta_shape()[0], math.prod(m.delta_shape()[1:])) for m in state.modules.values())
    if method == "fixed" and rank > largest:
        raise LoraFormatError(
            f"Rank {rank} is larger than this LoRA's largest module rank ({largest}); SVD cannot add detail.",
            f"Pick a rank below {largest}, e.g. {max(1, largest // 4)}.",
        )
    report = ResizeReport(method, value, rank)
    out: dict[str, LoraModule] = {}
    total = len(state.modules)
    for done, (m, spectrum) in enumerate(module_svd(list(state.modules.values()), device), start=1):
        s = spectrum.s
        shape = m.delta_shape()
        module_max = min(len(s), m.rank) if m.network_type in ("lora", "lora+dora") else len(s)
        note = ""
        if method == "fixed" and rank > module_max:
            note = f"kept rank {module_max}: the module holds no more"
        k = choose_rank(s, method, value, min(rank or module_max, module_max))
        new_alpha = alpha if alpha is not None else m.alpha / (m.rank or k) * k
        # up @ down × new_alpha / k must equal U·S·Vh, so the up factor carries S and the inverse scale.
        up, down = spectrum.top(k)
        up = up * (k / new_alpha)
        if len(shape) == 4:
            up, down = up.reshape(shape[0], k, 1, 1), down.reshape(k, *shape[1:])
        out_dtype = dtype or _file_dtype(m)
        out[m.name] = LoraModule(m.name, module_tensors(up.cpu(), down.cpu(), new_alpha, out_dtype))
        if "dora_scale" in m.tensors:  # DoRA: the magnitudes stay; the SVD cuts the direction update's rank
            out[m.name].tensors["dora_scale"] = m.tensors["dora_scale"]
        energy = s.double().square()
        kept = math.sqrt(float(energy[:k].sum() / energy.sum())) if float(energy.sum()) > 0 else 1.0
        report.modules.append(ModuleResize(m.name, m.rank, k, kept, note))
        if emitter and (done % 25 == 0 or done == total):
            emitter.emit(PROGRESS, done=done, total=total, unit="modules")
    # Keep the original file order (modules were batched by shape) for the file and the report alike.
    ordered = {name: out[name] for name in state.modules}
    position = {name: i for i, name in enumerate(state.modules)}
    report.modules.sort(key=lambda entry: position[entry.name])
    return LoraState(ordered, _resized_metadata(state.metadata, report, alpha)), report


def refuse_lycoris(state: LoraState) -> None:
    """LoHa and LoKr have no rank to cut in their own form (LoHa's change has rank up to rank², LoKr's is a
    Kronecker product with no rank at all): resizing them would mean rewriting them as a different network."""
    kinds = sorted({m.network_type for m in state.modules.values() if m.network_type.startswith(("loha", "lokr"))})
    if kinds:
        raise LoraFormatError(
            f"This file's modules are {' and '.join(kinds)}, which have no rank that resize could cut: their"
            " change is a Hadamard (LoHa) or Kronecker (LoKr) product, not up @ down.",
            "Resize works on LoRA, LoCon and DoRA files. For a smaller LoHa/LoKr, train again with a lower"
            " dim (LoHa) or a larger factor (LoKr); to use it at a lower strength, lower its weight when you"
            " apply it.",
        )


def _file_dtype(m: LoraModule) -> torch.dtype:
    dtype = m.tensors.get("lora_up.weight", next(iter(m.tensors.values()))).dtype
    return dtype if dtype.is_floating_point else torch.float32


def _resized_metadata(metadata: dict[str, str], report: ResizeReport, alpha: float | None) -> dict[str, str]:
    meta = dict(metadata)
    ranks = {m.new_rank for m in report.modules}
    old_dim = meta.get("ss_network_dim", "?")
    if report.method == "fixed" and len(ranks) == 1:
        meta["ss_network_dim"] = str(ranks.pop())
        old_alpha = meta.get("ss_network_alpha")
        if alpha is not None:
            meta["ss_network_alpha"] = str(alpha)
        elif old_alpha and old_dim not in ("?", "Dynamic"):
            try:
                meta["ss_network_alpha"] = str(float(old_alpha) / float(old_dim) * int(meta["ss_network_dim"]))
            except ValueError:
                meta["ss_network_alpha"] = "Dynamic"
    else:
        # The word kohya's resize writes when ranks differ per module.
        meta["ss_network_dim"] = "Dynamic"
        meta["ss_network_alpha"] = "Dynamic" if alpha is None else str(alpha)
    how = f"fixed rank {report.max_rank}" if report.method == "fixed" else f"{report.method} {report.value}"
    note = f"resized by lorakit ({how}) from rank {old_dim}; mean Frobenius kept {report.mean_retained_fro:.3f}"
    previous = meta.get("ss_training_comment")
    meta["ss_training_comment"] = f"{previous}; {note}" if previous and previous != "None" else note
    meta["lorakit_resize"] = json.dumps(
        {"from_rank": old_dim, "method": report.method, "value": report.value, "max_rank": report.max_rank}
    )
    # The old hashes describe the old tensors; write_lora computes fresh ones.
    meta.pop("sshs_model_hash", None)
    meta.pop("sshs_legacy_hash", None)
    return meta


def resize_lora(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    rank: int | None = None,
    method: str = "fixed",
    value: float | None = None,
    alpha: float | None = None,
    device: str = "cpu",
    dtype: torch.dtype | None = None,
    emitter: Emitter | None = None,
) -> ResizeReport:
    """Read ``source``, resize it, and write ``output`` (with updated ``ss_*`` metadata and ``sshs_*`` hashes)."""
    from lorakit.lora.convert import read_any
    from lorakit.lora.modules import write_lora

    if Path(source).resolve() == Path(output).resolve():
        raise LoraFormatError("The output path is the input file.", "Write the resized LoRA to a new file name.")
    new_state, report = resize_state(
        read_any(source),
        rank=rank,
        method=method,
        value=value,
        alpha=alpha,
        device=device,
        dtype=dtype,
        emitter=emitter,
    )
    write_lora(output, new_state.tensors(), new_state.metadata)
    return report
