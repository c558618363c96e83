"""Generated SunSpec model definitions."""
