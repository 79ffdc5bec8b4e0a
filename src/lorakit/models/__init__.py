"""Base models: families (sd1, sd2, sdxl, flux) behind one protocol, detection from file headers,
loading (diffusers folders, single-file checkpoints), downloads (Hugging Face, Civitai, links) and the
local model library."""
