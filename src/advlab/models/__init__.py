"""Network architectures: domain adaptation digit networks (uda.py) and GAN generators and critics (gan.py)."""
