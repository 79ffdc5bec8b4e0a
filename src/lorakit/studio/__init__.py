"""The character production loop: projects, characters, generation, approval feedback, ingest."""
