#!/usr/bin/env python3
"""PyTorch's model-ensembling recipe, timed beside `cargo run --release --example bench -- --sweep K`.

K MLP-A models (784-128-64-10, ReLU, cross-entropy) stacked with torch.func.stack_module_state, one step =
vmap(grad of functional_call) over the stacked parameters on one shared batch of 128 + one Adam (lr 1e-3) over the
stacked tensors; and one plain nn.Module step for comparison. Batches are consecutive slices of the MNIST subset in
file order. Prints one JSON line: {"k", "vmap_step_median_ms", "vmap_per_model_ms", "single_step_median_ms"}.

Usage (needs `pip install torch numpy`): python3 bench/torch_vmap.py [--k 16] [--steps 100] [--threads 2]
"""
import argparse, copy, gzip, json, os, struct, time

import numpy as np
import torch
from torch.func import functional_call, grad, stack_module_state, vmap

HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    raw = gzip.open(path, "rb").read()
    magic, = struct.unpack(">I", raw[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                               torch.nn.ReLU(), torch.nn.Linear(64, 10))


def median_ms(step, warmup, steps):
    for i in range(warmup):
        step(i)
    times = []
    for i in range(steps):
        t = time.perf_counter()
        step(warmup + i)
        times.append(time.perf_counter() - t)
    return 1e3 * sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data", "mnist-10k"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(y.astype(np.int64))
    batches = len(x) // a.batch

    def batch(i):
        s = (i % batches) * a.batch
        return x[s:s + a.batch], y[s:s + a.batch]

    models = []
    for seed in range(a.k):
        torch.manual_seed(seed)
        models.append(mlp())
    params, buffers = stack_module_state(models)
    params = {k: v.detach().requires_grad_(False) for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p, b, xb, yb):
        return torch.nn.functional.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    grads_of = vmap(grad(loss), in_dims=(0, 0, None, None))
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)

    def vmap_step(i):
        xb, yb = batch(i)
        g = grads_of(params, buffers, xb, yb)
        for k, v in params.items():
            v.grad = g[k]
        opt.step()

    single = mlp()
    single_opt = torch.optim.Adam(single.parameters(), lr=1e-3)

    def single_step(i):
        xb, yb = batch(i)
        single_opt.zero_grad()
        torch.nn.functional.cross_entropy(single(xb), yb).backward()
        single_opt.step()

    v = median_ms(vmap_step, a.warmup, a.steps)
    s = median_ms(single_step, a.warmup, a.steps)
    print(json.dumps({"k": a.k, "vmap_step_median_ms": v, "vmap_per_model_ms": v / a.k, "single_step_median_ms": s}))


if __name__ == "__main__":
    main()
