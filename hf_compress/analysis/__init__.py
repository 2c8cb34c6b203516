"""Counting what compression changed: parameters, FLOPs, bytes on disk, latency."""
