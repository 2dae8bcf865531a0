"""Digit domains for unsupervised domain adaptation and GANs, loaded into memory as uint8 tensors.

Embedded domains (mnist-5k, optdigits, mnistm-lite, syndigits) are built from files inside installed
packages and cached. Disk domains (usps, mnistm, svhn, mnist) and custom folders are read from a data
root. Nothing is downloaded.
"""

from advlab.data.cache import cache_dir
from advlab.data.dataset import DigitSet, DomainInfo
from advlab.data.domains import EMBEDDED_DOMAINS, domain_info, list_domains, load_domain
from advlab.data.folders import load_image_folder
from advlab.data.transforms import normalize

__all__ = [
    "EMBEDDED_DOMAINS",
    "DigitSet",
    "DomainInfo",
    "cache_dir",
    "domain_info",
    "list_domains",
    "load_domain",
    "load_image_folder",
    "normalize",
]
