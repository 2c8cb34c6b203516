"""Internal helpers shared by the compression methods."""
