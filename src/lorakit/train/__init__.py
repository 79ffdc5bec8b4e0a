"""The training engine: the loop, noise and loss, optimizers and schedulers, caches, sampling,
checkpoints and resume, events out and commands in."""
