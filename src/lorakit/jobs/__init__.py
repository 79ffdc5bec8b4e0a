"""The job runner: a persisted queue, each job in its own subprocess, one GPU lock, event logs."""
