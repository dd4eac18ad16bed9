"""Data: the dataset catalog, annotation lists, sampling, transforms, loaders, synthetic set."""
