"""Video transformers: torchvision's MViT and Video Swin, and TimeSformer and VideoMAE's ViT-B
built to their references' parameter names. Importing the package registers them."""

from . import mvit, swin3d, timesformer, videomae  # noqa: F401
