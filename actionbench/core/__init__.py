"""Neutral helpers that every layer may import: errors, atomic writes, file locks, process
ranks and collectives, safe tensor files, numerics, and the models' input contract. Nothing
here imports another actionbench package."""
