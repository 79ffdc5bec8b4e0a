"""Loopback model sources for the web app's end-to-end test (frontend/e2e/models.spec.ts).

Run as a script: ``python tests/web/model_servers.py`` (with the repository root on PYTHONPATH). It starts
the loopback servers of ``tests/models/servers.py`` (a plain file server, and Civitai with its separate
storage host), prints one JSON line with their addresses, and serves until its stdin closes:

- ``files.lora``: a small SDXL LoRA (fp16) held after its first MiB until ``GET files.release`` is asked,
  so a test can see the download in progress, then let it finish;
- ``civitai.api``: Civitai's API (give it to ``lorakit serve`` as ``LORAKIT_CIVITAI_URL``); model 7,
  version 70 is a private LoRA that Civitai refuses to send without a token (``civitai.private_link``).

The files are safetensors written by hand (no torch import: the server is up in a fraction of a second).
"""

from __future__ import annotations

import json
import struct
import sys

from tests.models.servers import CivitaiServer, LoopbackServer, Served, serve_file


def sdxl_lora(rank: int = 8, width: int = 2048, out: int = 1280, blocks: int = 64) -> bytes:
    """A kohya-style SDXL LoRA of about 2 MB per 16 blocks (fp16 zeros: only the header matters here)."""
    tensors: dict[str, tuple[str, list[int]]] = {}
    for i in range(blocks):
        key = f"lora_unet_input_blocks_4_1_transformer_blocks_{i}_attn2_to_k"
        tensors[f"{key}.lora_down.weight"] = ("F16", [rank, width])
        tensors[f"{key}.lora_up.weight"] = ("F16", [out, rank])
        tensors[f"{key}.alpha"] = ("F16", [])
    header: dict = {
        "__metadata__": {
            "ss_network_dim": str(rank),
            "ss_network_alpha": "4",
            "ss_base_model_version": "sdxl_base_v1-0",
        }
    }
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = 2
        for n in shape:
            size *= n
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def main() -> None:
    files = LoopbackServer()
    lora = Served(sdxl_lora(), name="e2e-style-lora.safetensors", hold_after=1 << 20)
    files.route("*", r"/f/e2e-style-lora\.safetensors", lambda h, m, match, q: serve_file(h, m, lora))

    def release(h, method, match, query):
        lora.release.set()
        h.send_json(200, {"released": True})

    files.route("GET", r"/release", release)

    civitai = CivitaiServer()
    civitai.add(7, 70, Served(sdxl_lora(blocks=4), name="private-lora.safetensors"))
    civitai.needs_token.add(70)

    print(
        json.dumps(
            {
                "files": {
                    "lora": f"{files.url}/f/e2e-style-lora.safetensors",
                    "size": len(lora.data),
                    "release": f"{files.url}/release",
                },
                "civitai": {"api": civitai.api.url, "private_link": "https://civitai.com/models/7?modelVersionId=70"},
            }
        ),
        flush=True,
    )
    try:
        sys.stdin.read()  # until the test closes our stdin (or ends)
    finally:
        files.close()
        civitai.close()


if __name__ == "__main__":
    main()
