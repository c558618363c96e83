"""One package per component of the catalogue: typed config, ports by catalogue id, behaviour.

Importing a component module registers its kind (see `bidicharge.runtime.component`).
"""
