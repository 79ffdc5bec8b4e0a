"""The web app's server (FastAPI): thin routes per resource over the core, the event WebSocket."""
