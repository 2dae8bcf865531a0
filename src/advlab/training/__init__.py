"""Training loops and what they share: device and precision, distributed context, sampling, progress."""
