"""Training: the pure steps, data handling, progress output, and the Trainer methods."""
