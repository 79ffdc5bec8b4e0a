"""The command line (typer + rich). Thin: parses arguments, calls the core, renders results.

Modules here import only typer/rich at the top; everything heavy (torch, diffusers, pydantic models)
is imported inside the command that needs it, so ``lorakit --help`` starts fast.
"""
