"""Parameters between scikit-learn's layout (``coefs_[i]`` [in, out], ``intercepts_[i]`` [out]) and the
library's flat vector (per layer nn.Linear's weight [out, in] then bias, at aligned offsets)."""

import numpy as np

from ._native import Net


def layer_units(n_in, hidden, n_out):
    """Widths of every layer, input first."""
    return [int(n_in), *[int(h) for h in hidden], int(n_out)]


def pack(coefs, intercepts):
    """The flat float32 vector for ``coefs`` and ``intercepts``, as bytes."""
    units = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
    offsets, total = Net.layout(units[0], units[1:-1], units[-1])
    flat = np.zeros(total, dtype=np.float32)
    for (w_at, b_at), w, b in zip(offsets, coefs, intercepts):
        wt = np.ascontiguousarray(w.T, dtype=np.float32).ravel()
        flat[w_at : w_at + wt.size] = wt
        flat[b_at : b_at + b.size] = b
    return flat.tobytes()


def unpack(flat_bytes, units):
    """``coefs_`` and ``intercepts_`` (float64 copies, as scikit-learn keeps them) from the flat bytes."""
    flat = np.frombuffer(flat_bytes, dtype=np.float32)
    offsets, _ = Net.layout(units[0], units[1:-1], units[-1])
    coefs, intercepts = [], []
    for (w_at, b_at), fan_in, fan_out in zip(offsets, units[:-1], units[1:]):
        w = flat[w_at : w_at + fan_in * fan_out].reshape(fan_out, fan_in)
        coefs.append(w.T.astype(np.float64))
        intercepts.append(flat[b_at : b_at + fan_out].astype(np.float64))
    return coefs, intercepts


def glorot_init(units, activation, random_state, dtype=np.float64):
    """scikit-learn's initialisation, draw for draw: weights and biases uniform in ±sqrt(factor / (fan_in +
    fan_out)), factor 2 for the logistic activation and 6 otherwise."""
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False))
        intercepts.append(random_state.uniform(-bound, bound, fan_out).astype(dtype, copy=False))
    return coefs, intercepts
