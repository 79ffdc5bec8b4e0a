"""LoRA networks and files: the kohya/A1111 file format and metadata, inspect, resize, merge,
convert, extract."""
