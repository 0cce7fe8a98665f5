"""PyTorch reference numbers for lockstep's benchmark (Debian PyTorch 1.13, CPU).

Run with Debian's interpreter:
  /usr/bin/python3 tools/bench/torch_reference.py --threads N --what WHAT
      [--model mlp|cnn] [--samples S] [--reps R] [--epochs E] [--data DIR]
      [--width W] [--channels C1,C2] [--batch B]

MODEL (default mlp):
  mlp   Flatten -> Linear(784, W) -> ReLU -> Dropout(0.5) -> Linear(W, W)
        -> ReLU -> Dropout(0.5) -> Linear(W, 10); W = --width, default 512
  cnn   input NCHW [N, 1, 28, 28]:
        Conv2d(1, C1, 3, padding=1) -> ReLU -> MaxPool2d(2)
        -> Conv2d(C1, C2, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Dropout2d(0.1)
        -> Flatten -> Linear(C2*7*7, 128) -> ReLU -> Dropout(0.5) -> Linear(128, 10);
        C1,C2 = --channels, default 16,32
  Both: CrossEntropyLoss, SGD(lr=0.05, momentum=0.9), batch B (--batch, default
  128), reshuffled each epoch; eval batch 1024; torch.manual_seed(0) before
  building the model.

WHAT:
  train            one epoch (or the first S samples) of the model. samples/s of
                   the training loop only (shuffle, batch gather, forward,
                   backward, step), after an untimed warm-up on the first
                   2*B samples; data loading is not timed. Also the process's
                   peak resident memory (getrusage ru_maxrss) at the end
                   ("maxRssMiB") and before the model was built, with the
                   data loaded ("dataRssMiB").
  train-nodropout  the same, on the model without its dropout layers.
  eval             forward only (model.eval(), torch.no_grad()), batch 1024.
  accuracy         trains E epochs (--epochs, default 1) on the training set
                   (or its first S samples), then reports the accuracy on the
                   10,000 t10k test images (t10k-images-idx3-ubyte.gz,
                   t10k-labels-idx1-ubyte.gz in --data; required, no random
                   fallback). "seconds" and "samplesPerSecond" cover the
                   training loops only; --reps is ignored.
  matmul           float32 GFLOP/s (2*n^3 per product) of X @ W.T, X.T @ G and
                   G @ W for square n = 512 and 1024; each run repeats the
                   product for at least 0.3 s.
Each of the R reps (default 3) is timed on its own; the median is reported.

Data: Fashion-MNIST training set (IDX, gzip) from --data, scaled to [0, 1],
shaped [N, 1, 28, 28]; if missing, 60,000 seeded random samples
("data": "random"), except for accuracy, which fails instead.

Prints exactly one JSON line on stdout (also naming the BLAS library mapped
into this process, read from /proc/self/maps, and the OpenBLAS/OpenMP
environment variables, and "model"; for matmul the model is not used); logs go to stderr; bad usage or missing torch: one
line on stderr, exit code 2.
"""
import argparse, gzip, json, os, statistics, sys, time

WHATS = ("train", "train-nodropout", "eval", "accuracy", "matmul")
MODELS = ("mlp", "cnn")
ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")


def fail(msg):
    print(f"torch_reference: {msg}", file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit 2
        fail(message)


def parse_args():
    p = Parser(description="PyTorch reference benchmark for lockstep")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--what", choices=WHATS, required=True)
    p.add_argument("--model", choices=MODELS, default="mlp")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--channels", default="16,32")
    p.add_argument("--batch", type=int, default=128)
    a = p.parse_args()
    if a.threads < 1 or a.reps < 1 or a.epochs < 1 or (a.samples is not None and a.samples < 1):
        fail("--threads, --reps, --epochs and --samples must be positive")
    if a.width < 1 or a.batch < 1:
        fail("--width and --batch must be positive")
    try:
        a.channels = tuple(int(c) for c in a.channels.split(","))
    except ValueError:
        a.channels = ()
    if len(a.channels) != 2 or min(a.channels) < 1:
        fail(f"--channels must be two positive integers C1,C2, got {a.channels!r}")
    return a


def read_idx(torch, np, data_dir, prefix):
    """(images float32 [N,1,28,28] in [0,1], labels int64 [N]) from PREFIX-{images-idx3,labels-idx1}-ubyte.gz,
    or None when either file is missing."""
    img = os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz")
    lab = os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz")
    if not (os.path.exists(img) and os.path.exists(lab)):
        return None
    with gzip.open(img, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = (int(v) for v in np.frombuffer(raw, ">u4", 4, 0))
    if magic != 2051:
        fail(f"bad IDX magic {magic} in {img}")
    x = np.frombuffer(raw, np.uint8, n * rows * cols, 16).reshape(n, 1, rows, cols)
    with gzip.open(lab, "rb") as f:
        raw = f.read()
    magic, nl = (int(v) for v in np.frombuffer(raw, ">u4", 2, 0))
    if magic != 2049 or nl != n:
        fail(f"bad IDX header in {lab} (magic {magic}, {nl} labels for {n} images)")
    y = np.frombuffer(raw, np.uint8, n, 8)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def load_data(torch, np, data_dir, samples, allow_random=True):
    """Returns (images float32 [N,1,28,28] in [0,1], labels int64 [N], source)."""
    data = read_idx(torch, np, data_dir, "train")
    if data is not None:
        (x, y), source = data, "fashion-mnist"
    else:
        if not allow_random:
            fail(f"{data_dir} has no Fashion-MNIST training set (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz)")
        print(f"torch_reference: {data_dir} has no Fashion-MNIST, using random data", file=sys.stderr)
        g = torch.Generator().manual_seed(1234)
        x = torch.rand(60000, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (60000,), generator=g)
        source = "random"
    if samples is not None:
        x, y = x[:samples].contiguous(), y[:samples].contiguous()
    return x, y, source


# The sizes of the models (--width, --channels), set by main().
SIZES = {"width": 512, "channels": (16, 32)}


def make_model(nn, kind, dropout):
    if kind == "cnn":  # expects NCHW [N, 1, 28, 28]
        c1, c2 = SIZES["channels"]
        d2 = [nn.Dropout2d(0.1)] if dropout else []
        d1 = [nn.Dropout(0.5)] if dropout else []
        return nn.Sequential(nn.Conv2d(1, c1, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2), *d2,
                             nn.Flatten(), nn.Linear(c2 * 7 * 7, 128), nn.ReLU(), *d1, nn.Linear(128, 10))
    w = SIZES["width"]
    drop = (lambda: [nn.Dropout(0.5)]) if dropout else (lambda: [])
    return nn.Sequential(nn.Flatten(), nn.Linear(784, w), nn.ReLU(), *drop(),
                         nn.Linear(w, w), nn.ReLU(), *drop(), nn.Linear(w, 10))


def train_setup(torch, kind, dropout):
    torch.manual_seed(0)
    model = make_model(torch.nn, kind, dropout).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, opt, torch.nn.CrossEntropyLoss()


def train_epoch(torch, model, opt, loss_fn, x, y, batch=128):
    """One reshuffled epoch; returns its wall-clock seconds."""
    n = x.shape[0]
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def run_train(torch, kind, x, y, dropout, batch=128):
    model, opt, loss_fn = train_setup(torch, kind, dropout)
    return x.shape[0] / train_epoch(torch, model, opt, loss_fn, x, y, batch)


def peak_rss_mib():
    """This process's peak resident memory so far, MiB (ru_maxrss is in KiB on Linux)."""
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_accuracy(torch, kind, x, y, xt, yt, epochs):
    """Trains EPOCHS epochs (with dropout), then the accuracy on (xt, yt); returns (accuracy, train seconds)."""
    model, opt, loss_fn = train_setup(torch, kind, True)
    seconds = sum(train_epoch(torch, model, opt, loss_fn, x, y) for _ in range(epochs))
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, xt.shape[0], 1024):
            correct += int((model(xt[i:i + 1024]).argmax(1) == yt[i:i + 1024]).sum())
    return correct / xt.shape[0], seconds


def run_eval(torch, kind, x):
    torch.manual_seed(0)
    model = make_model(torch.nn, kind, True).eval()
    n = x.shape[0]
    with torch.no_grad():
        model(x[:1024])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, n, 1024):
            model(x[i:i + 1024])
        return n / (time.perf_counter() - t0)


def run_matmul(torch, reps):
    g = torch.Generator().manual_seed(0)
    out = {}
    for n in (512, 1024):
        X, W, G = (torch.rand(n, n, generator=g) for _ in range(3))
        ops = {"xwT": lambda: X @ W.t(), "xTg": lambda: X.t() @ G, "gw": lambda: G @ W}
        res = {}
        for name, op in ops.items():
            op()  # warm-up
            runs = []
            for _ in range(reps):
                count, t0 = 0, time.perf_counter()
                while True:
                    op()
                    count += 1
                    dt = time.perf_counter() - t0
                    if dt >= 0.3:
                        break
                runs.append(2.0 * n ** 3 * count / dt / 1e9)
            res[name] = round(statistics.median(runs), 2)
        out[str(n)] = res
    return out


def mapped_blas():
    """BLAS-like shared libraries mapped into this process, primary first."""
    libs = []
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path).lower()
            if any(k in base for k in ("blas", "mkl", "blis", "lapack")) and path not in libs:
                libs.append(path)
    libs.sort(key=lambda p: 0 if os.path.basename(p).startswith("libblas") else 1)
    return libs


def main():
    args = parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        fail(f"cannot import torch/numpy ({e}); run with /usr/bin/python3")
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError as e:
        print(f"torch_reference: set_num_interop_threads(1) refused: {e}", file=sys.stderr)
    torch.set_num_threads(args.threads)
    torch.rand(64, 64) @ torch.rand(64, 64)  # make sure the BLAS is loaded and mapped
    SIZES.update(width=args.width, channels=args.channels)
    result = {"what": args.what, "model": args.model, "threads": torch.get_num_threads()}
    if args.what == "matmul":
        result["gflops"] = run_matmul(torch, args.reps)
    elif args.what == "accuracy":
        x, y, source = load_data(torch, np, args.data, args.samples, allow_random=False)
        test = read_idx(torch, np, args.data, "t10k")
        if test is None:
            fail(f"{args.data} has no Fashion-MNIST test set (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)")
        xt, yt = test
        run_train(torch, args.model, x[:256], y[:256], True)  # untimed warm-up
        acc, seconds = run_accuracy(torch, args.model, x, y, xt, yt, args.epochs)
        result.update(epochs=args.epochs, testAccuracy=round(acc, 4), seconds=round(seconds, 2),
                      samplesPerSecond=round(x.shape[0] * args.epochs / seconds, 1),
                      samples=x.shape[0], testSamples=xt.shape[0], data=source)
    else:
        x, y, source = load_data(torch, np, args.data, args.samples)
        if args.what == "eval":
            reps = [run_eval(torch, args.model, x) for _ in range(args.reps)]
        else:
            dropout = args.what == "train"
            result.update(dataRssMiB=peak_rss_mib(), batch=args.batch)
            warm = 2 * args.batch
            run_train(torch, args.model, x[:warm], y[:warm], dropout, args.batch)  # untimed warm-up
            reps = [run_train(torch, args.model, x, y, dropout, args.batch) for _ in range(args.reps)]
            result.update(maxRssMiB=peak_rss_mib())
        result.update(samplesPerSecond=round(statistics.median(reps), 1),
                      reps=[round(r, 1) for r in reps], samples=x.shape[0], data=source)
    libs = mapped_blas()
    result.update(blas=libs[0] if libs else None, blasLibs=libs,
                  env={k: os.environ.get(k) for k in ENV_KEYS}, torch=torch.__version__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
