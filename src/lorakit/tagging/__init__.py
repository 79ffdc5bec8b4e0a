"""Automatic tags and captions: WD14 taggers on onnxruntime, image-to-text captioners on transformers."""
