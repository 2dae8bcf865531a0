"""Losses: gradient reversal and MMD for domain adaptation, adversarial losses for GANs."""
