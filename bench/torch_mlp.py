#!/usr/bin/env python3
"""PyTorch timing of an MLP training step (CPU or CUDA), for side-by-side comparison with wgtrain.

Usage (needs `pip install torch numpy`):
    python3 torch_mlp.py [--layers 128,64] [--batch 128] [--warmup 20] [--steps 200] [--threads 2]
                         [--data DIR_WITH_MNIST_IDX] [--device cpu|cuda]
    python3 torch_mlp.py --device cuda --matmul 1024,4096     # FP32 torch.matmul (cuBLAS) GFLOP/s per size
With --device cuda the data and model live on the GPU, every step ends with torch.cuda.synchronize(), and TF32 is
off (so both sides do FP32 arithmetic).
Workloads: MLP-A = --layers 128,64 --batch 128; MLP-B = --layers 1024,1024 --batch 1024.
The data defaults to the repository's bundled MNIST subset (../data/mnist-10k relative to this file, train files),
the same files `cargo run --release --example bench` reads. bench/compare.sh runs both and prints the ratios.
Batches are consecutive slices in file order (no shuffle); the last JSON line is the result.
"""
import argparse, gzip, json, os, struct, sys, time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    magic, = struct.unpack(">I", raw[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", default="128,64")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.path.normpath(os.path.join(HERE, "..", "data", "mnist-10k")))
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--matmul", default=None, help="comma list of square sizes: time torch.matmul instead")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cuda = a.device == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if a.matmul:
        return time_matmul(a, sync)

    x = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0).to(a.device)
    y = torch.from_numpy(y.astype(np.int64)).to(a.device)
    dims = [x.shape[1]] + [int(v) for v in a.layers.split(",")] + [10]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i + 2 < len(dims):
            layers.append(torch.nn.ReLU())
    torch.manual_seed(0)
    model = torch.nn.Sequential(*layers).to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    nb = len(x) // a.batch

    def step(i):
        j = i % nb
        xb, yb = x[j * a.batch:(j + 1) * a.batch], y[j * a.batch:(j + 1) * a.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        sync()
        return loss

    t0 = time.perf_counter()
    step(0)
    first = time.perf_counter() - t0
    for i in range(1, a.warmup):
        step(i)
    times = []
    for i in range(a.steps):
        t = time.perf_counter()
        loss = step(a.warmup + i)
        times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    system = (f"torch-{torch.__version__}-cuda-{torch.cuda.get_device_name()}" if cuda
              else f"torch-{torch.__version__}-cpu-{a.threads}thr")
    print(f"{system}, dims {dims}, batch {a.batch}: "
          f"step median {med * 1e3:.3f} ms, {a.batch / med:.0f} samples/s, last loss {loss.item():.4f}",
          file=sys.stderr)
    print(json.dumps({"system": system, "dims": dims,
                      "batch": a.batch, "first_step_s": round(first, 4),
                      "step_median_ms": round(med * 1e3, 4),
                      "step_p10_ms": round(times[len(times) // 10] * 1e3, 4),
                      "step_p90_ms": round(times[len(times) * 9 // 10] * 1e3, 4),
                      "samples_per_s": round(a.batch / med, 1)}))


def time_matmul(a, sync):
    """Median GFLOP/s of an FP32 n×n×n torch.matmul per size (cuBLAS on CUDA), after warm-up."""
    out = {}
    for n in [int(v) for v in a.matmul.split(",")]:
        g = torch.Generator(device=a.device).manual_seed(0)
        p = torch.rand(n, n, device=a.device, generator=g)
        q = torch.rand(n, n, device=a.device, generator=g)
        for _ in range(3):
            torch.matmul(p, q)
        sync()
        times = []
        for _ in range(20):
            t = time.perf_counter()
            torch.matmul(p, q)
            sync()
            times.append(time.perf_counter() - t)
        times.sort()
        out[str(n)] = round(2 * n ** 3 / times[len(times) // 2] / 1e9, 1)
    print(json.dumps({"system": f"torch-{torch.__version__}-{a.device}", "matmul_gflops": out}))


if __name__ == "__main__":
    main()
