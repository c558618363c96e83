"""Bundled data files (see each folder's README for source and licence)."""
