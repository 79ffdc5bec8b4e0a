"""Publishing and remote services: Hugging Face upload with a model card, the Civitai client."""
