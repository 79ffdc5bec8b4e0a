"""The dataset on disk: images with caption sidecars in subsets; import, health checks, duplicates,
caption and tag operations (journaled, undoable), aspect-ratio buckets and the step plan."""
