"""Real key names and shapes of full-size models, written as real safetensors files without the GBs.

How this stays honest: each layout below is generated from the architecture (channel widths, block
counts, attention widths of the released models), and ``test_layouts_match_diffusers`` checks that
diffusers' own single-file converters turn our original-layout keys into exactly the state dict of the
diffusers model class built on the ``meta`` device with the released config. So the detector is tested
on the same names and shapes that real checkpoints carry.

``write_sparse`` writes a valid safetensors file of the real full size (a 6.9 GB SDXL checkpoint is
6.9 GB long) whose data section is a hole: the file system stores no blocks for it, so tests stay fast
and light while every offset in the header is correct.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

Shapes = dict[str, tuple[int, ...]]
DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F8_E4M3": 1}


def write_sparse(path: Path, shapes: Shapes, dtype: str = "F16", metadata: dict[str, str] | None = None) -> Path:
    """A safetensors file with these tensors (all zeros, stored as a sparse hole)."""
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, shape in shapes.items():
        size = math.prod(shape) * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little") + raw)
        f.truncate(8 + len(raw) + offset)
    return path


class _Builder:
    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.shapes: Shapes = {}

    def lin(self, name: str, out: int, inp: int, bias: bool = True) -> None:
        self.shapes[f"{self.prefix}{name}.weight"] = (out, inp)
        if bias:
            self.shapes[f"{self.prefix}{name}.bias"] = (out,)

    def conv(self, name: str, out: int, inp: int, k: int = 3) -> None:
        self.shapes[f"{self.prefix}{name}.weight"] = (out, inp, k, k)
        self.shapes[f"{self.prefix}{name}.bias"] = (out,)

    def norm(self, name: str, c: int) -> None:
        self.shapes[f"{self.prefix}{name}.weight"] = (c,)
        self.shapes[f"{self.prefix}{name}.bias"] = (c,)

    def raw(self, name: str, shape: tuple[int, ...]) -> None:
        self.shapes[f"{self.prefix}{name}"] = shape


# Released UNet architectures (original "ldm"/SGM layout): width, level multipliers, transformer depth per
# level (0 = no attention), middle depth, cross-attention width, linear projections, size-embedding input.
UNETS = {
    "sd1": dict(ch=320, mult=(1, 2, 4, 4), depth=(1, 1, 1, 0), mid=1, ctx=768, linear=False, adm=None),
    "sd2": dict(ch=320, mult=(1, 2, 4, 4), depth=(1, 1, 1, 0), mid=1, ctx=1024, linear=True, adm=None),
    "sdxl": dict(ch=320, mult=(1, 2, 4), depth=(0, 2, 10), mid=10, ctx=2048, linear=True, adm=2816),
    "sdxl_refiner": dict(ch=384, mult=(1, 2, 4, 4), depth=(0, 4, 4, 0), mid=4, ctx=1280, linear=True, adm=2560),
}


def ldm_unet(ch, mult, depth, mid, ctx, linear, adm, in_ch=4, prefix="model.diffusion_model.") -> Shapes:
    b = _Builder(prefix)
    temb = ch * 4
    b.lin("time_embed.0", temb, ch)
    b.lin("time_embed.2", temb, temb)
    if adm:
        b.lin("label_emb.0.0", temb, adm)
        b.lin("label_emb.0.2", temb, temb)

    def res(name, cin, cout):
        b.norm(f"{name}.in_layers.0", cin)
        b.conv(f"{name}.in_layers.2", cout, cin)
        b.lin(f"{name}.emb_layers.1", cout, temb)
        b.norm(f"{name}.out_layers.0", cout)
        b.conv(f"{name}.out_layers.3", cout, cout)
        if cin != cout:
            b.conv(f"{name}.skip_connection", cout, cin, 1)

    def transformer(name, c, n):
        b.norm(f"{name}.norm", c)
        (b.lin if linear else lambda nm, o, i: b.conv(nm, o, i, 1))(f"{name}.proj_in", c, c)
        for d in range(n):
            blk = f"{name}.transformer_blocks.{d}"
            for attn, kv in (("attn1", c), ("attn2", ctx)):
                b.lin(f"{blk}.{attn}.to_q", c, c, bias=False)
                b.lin(f"{blk}.{attn}.to_k", c, kv, bias=False)
                b.lin(f"{blk}.{attn}.to_v", c, kv, bias=False)
                b.lin(f"{blk}.{attn}.to_out.0", c, c)
            b.lin(f"{blk}.ff.net.0.proj", c * 8, c)
            b.lin(f"{blk}.ff.net.2", c, c * 4)
            for i in (1, 2, 3):
                b.norm(f"{blk}.norm{i}", c)
        (b.lin if linear else lambda nm, o, i: b.conv(nm, o, i, 1))(f"{name}.proj_out", c, c)

    b.conv("input_blocks.0.0", ch, in_ch)
    skips, cur, idx = [ch], ch, 1
    for level, m in enumerate(mult):
        for _ in range(2):
            res(f"input_blocks.{idx}.0", cur, ch * m)
            cur = ch * m
            if depth[level]:
                transformer(f"input_blocks.{idx}.1", cur, depth[level])
            skips.append(cur)
            idx += 1
        if level != len(mult) - 1:
            b.conv(f"input_blocks.{idx}.0.op", cur, cur)
            skips.append(cur)
            idx += 1
    res("middle_block.0", cur, cur)
    transformer("middle_block.1", cur, mid)
    res("middle_block.2", cur, cur)
    idx = 0
    for level in reversed(range(len(mult))):
        for i in range(3):
            res(f"output_blocks.{idx}.0", cur + skips.pop(), ch * mult[level])
            cur = ch * mult[level]
            layer = 1
            if depth[level]:
                transformer(f"output_blocks.{idx}.1", cur, depth[level])
                layer = 2
            if level and i == 2:
                b.conv(f"output_blocks.{idx}.{layer}.conv", cur, cur)
            idx += 1
    b.norm("out.0", cur)
    b.conv("out.2", 4, cur)
    return b.shapes


def ldm_vae(prefix="first_stage_model.", latent=4) -> Shapes:
    """The SD/SDXL autoencoder in its original layout (128 wide, multipliers 1,2,4,4)."""
    b = _Builder(prefix)
    widths = [128, 256, 512, 512]

    def block(name, cin, cout):
        b.norm(f"{name}.norm1", cin)
        b.conv(f"{name}.conv1", cout, cin)
        b.norm(f"{name}.norm2", cout)
        b.conv(f"{name}.conv2", cout, cout)
        if cin != cout:
            b.conv(f"{name}.nin_shortcut", cout, cin, 1)

    def middle(side):
        block(f"{side}.mid.block_1", 512, 512)
        b.norm(f"{side}.mid.attn_1.norm", 512)
        for part in ("q", "k", "v", "proj_out"):
            b.conv(f"{side}.mid.attn_1.{part}", 512, 512, 1)
        block(f"{side}.mid.block_2", 512, 512)

    b.conv("encoder.conv_in", 128, 3)
    cur = 128
    for i, w in enumerate(widths):
        for j in range(2):
            block(f"encoder.down.{i}.block.{j}", cur, w)
            cur = w
        if i < 3:
            b.conv(f"encoder.down.{i}.downsample.conv", w, w)
    middle("encoder")
    b.norm("encoder.norm_out", 512)
    b.conv("encoder.conv_out", 2 * latent, 512)
    b.conv("decoder.conv_in", 512, latent)
    middle("decoder")
    cur = 512
    for i in reversed(range(4)):
        for j in range(3):
            block(f"decoder.up.{i}.block.{j}", cur, widths[i])
            cur = widths[i]
        if i > 0:
            b.conv(f"decoder.up.{i}.upsample.conv", cur, cur)
    b.norm("decoder.norm_out", 128)
    b.conv("decoder.conv_out", 3, 128)
    if latent == 4:
        b.conv("quant_conv", 8, 8, 1)
        b.conv("post_quant_conv", 4, 4, 1)
    return b.shapes


def clip_text(prefix: str, width: int = 768, layers: int = 12) -> Shapes:
    """A CLIP text encoder in the transformers layout (what SD1 and SDXL's first encoder use)."""
    b = _Builder(prefix + "text_model.")
    b.raw("embeddings.token_embedding.weight", (49408, width))
    b.raw("embeddings.position_embedding.weight", (77, width))
    for i in range(layers):
        layer = f"encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            b.lin(f"{layer}.self_attn.{proj}", width, width)
        b.norm(f"{layer}.layer_norm1", width)
        b.lin(f"{layer}.mlp.fc1", width * 4, width)
        b.lin(f"{layer}.mlp.fc2", width, width * 4)
        b.norm(f"{layer}.layer_norm2", width)
    b.norm("final_layer_norm", width)
    return b.shapes


def open_clip_text(prefix: str, width: int, layers: int) -> Shapes:
    """An OpenCLIP text encoder in its own layout (SD2's ViT-H, SDXL's ViT-bigG)."""
    b = _Builder(prefix)
    b.raw("positional_embedding", (77, width))
    b.raw("token_embedding.weight", (49408, width))
    for i in range(layers):
        r = f"transformer.resblocks.{i}"
        b.norm(f"{r}.ln_1", width)
        b.raw(f"{r}.attn.in_proj_weight", (3 * width, width))
        b.raw(f"{r}.attn.in_proj_bias", (3 * width,))
        b.lin(f"{r}.attn.out_proj", width, width)
        b.norm(f"{r}.ln_2", width)
        b.lin(f"{r}.mlp.c_fc", 4 * width, width)
        b.lin(f"{r}.mlp.c_proj", width, 4 * width)
    b.norm("ln_final", width)
    b.raw("text_projection", (width, width))
    b.raw("logit_scale", ())
    return b.shapes


def sd_checkpoint(family: str) -> Shapes:
    """A full single-file checkpoint (UNet + VAE + text encoders) as A1111/ComfyUI/Civitai ship them."""
    shapes = ldm_unet(**UNETS[family]) | ldm_vae()
    if family == "sd1":
        shapes |= clip_text("cond_stage_model.transformer.")
    elif family == "sd2":
        shapes |= open_clip_text("cond_stage_model.model.", 1024, 24)
    elif family == "sdxl":
        shapes |= clip_text("conditioner.embedders.0.transformer.")
        shapes |= open_clip_text("conditioner.embedders.1.model.", 1280, 32)
    else:  # the SDXL refiner conditions on OpenCLIP bigG only
        shapes |= open_clip_text("conditioner.embedders.0.model.", 1280, 32)
    return shapes


def flux_transformer(dev: bool, prefix: str = "") -> Shapes:
    """Flux.1 in Black Forest Labs' layout: 19 double-stream and 38 single-stream blocks, 3072 wide."""
    b = _Builder(prefix)
    h, mlp, head = 3072, 12288, 128
    b.lin("img_in", h, 64)
    b.lin("txt_in", h, 4096)
    for emb, inp in (("time_in", 256), ("vector_in", 768)) + ((("guidance_in", 256),) if dev else ()):
        b.lin(f"{emb}.in_layer", h, inp)
        b.lin(f"{emb}.out_layer", h, h)
    for i in range(19):
        for s in ("img", "txt"):
            blk = f"double_blocks.{i}.{s}"
            b.lin(f"{blk}_mod.lin", 6 * h, h)
            b.lin(f"{blk}_attn.qkv", 3 * h, h)
            b.raw(f"{blk}_attn.norm.query_norm.scale", (head,))
            b.raw(f"{blk}_attn.norm.key_norm.scale", (head,))
            b.lin(f"{blk}_attn.proj", h, h)
            b.lin(f"{blk}_mlp.0", mlp, h)
            b.lin(f"{blk}_mlp.2", h, mlp)
    for i in range(38):
        blk = f"single_blocks.{i}"
        b.lin(f"{blk}.linear1", 3 * h + mlp, h)
        b.lin(f"{blk}.linear2", h, h + mlp)
        b.raw(f"{blk}.norm.query_norm.scale", (head,))
        b.raw(f"{blk}.norm.key_norm.scale", (head,))
        b.lin(f"{blk}.modulation.lin", 3 * h, h)
    b.lin("final_layer.linear", 64, h)
    b.lin("final_layer.adaLN_modulation.1", 2 * h, h)
    return b.shapes


def sd3_transformer(width: int = 1536, depth: int = 24, mmdit_x: bool = False, qk_norm: bool = False) -> Shapes:
    """SD3 / SD3.5 MMDiT in Stability's layout (``model.diffusion_model.joint_blocks...``)."""
    b = _Builder("model.diffusion_model.")
    b.conv("x_embedder.proj", width, 16, 2)
    b.raw("pos_embed", (1, 192 * 192, width))
    b.lin("t_embedder.mlp.0", width, 256)
    b.lin("t_embedder.mlp.2", width, width)
    b.lin("y_embedder.mlp.0", width, 2048)
    b.lin("y_embedder.mlp.2", width, width)
    b.lin("context_embedder", width, 4096)
    head = 64
    for i in range(depth):
        for side in ("x_block", "context_block"):
            blk = f"joint_blocks.{i}.{side}"
            last_context = side == "context_block" and i == depth - 1
            attn2 = mmdit_x and side == "x_block" and i < 13
            b.lin(f"{blk}.adaLN_modulation.1", (2 if last_context else 9 if attn2 else 6) * width, width)
            for attn in ("attn", "attn2") if attn2 else ("attn",):
                b.lin(f"{blk}.{attn}.qkv", 3 * width, width)
                if qk_norm:
                    b.raw(f"{blk}.{attn}.ln_q.weight", (head,))
                    b.raw(f"{blk}.{attn}.ln_k.weight", (head,))
                if not last_context:
                    b.lin(f"{blk}.{attn}.proj", width, width)
            if not last_context:
                b.lin(f"{blk}.mlp.fc1", 4 * width, width)
                b.lin(f"{blk}.mlp.fc2", width, 4 * width)
    b.lin("final_layer.linear", 2 * 2 * 16, width)
    b.lin("final_layer.adaLN_modulation.1", 2 * width, width)
    return b.shapes
