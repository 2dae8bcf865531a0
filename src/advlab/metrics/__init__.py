"""Metrics: classification accuracy and confusion matrices; feature-space Frechet distance and KID for GANs."""
