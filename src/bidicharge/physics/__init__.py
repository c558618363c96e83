"""Physical models stepped by a given time: pure, `step(params, state, inputs, dt_s)`.

Sign convention (see `bidicharge.core`-wide rule in README): a power is positive when it
flows *into* the device from the grid side (charging, consumption, import) and negative
when it flows out (discharging, generation, export). Energies are in Wh, powers in W.
"""
