"""The char-LSTM: vocabulary, data, model, checkpoints, training, sampling and scoring.

OpenMP threads that spin while waiting stall badly when other processes share the cores
(measured here: 2 threads, 2 busy cores, a training step went from 0.3 s to 2-12 s), so unless
the user chose otherwise they sleep instead. libgomp reads this once, when torch is first
imported, so it only takes effect if nothing imported torch before this package.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
