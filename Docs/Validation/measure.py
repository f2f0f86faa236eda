#!/usr/bin/env python3
"""Measure the global-memory traffic of real attention kernels with Nsight Compute.

This is the measuring half of `attention-io validate`: it runs attention in PyTorch on a CUDA GPU
under Nsight Compute (ncu) and writes one CSV row per configuration in the columns that
`attention-io validate --measured FILE` reads, plus one row per kernel in a second file.

Usage (on the machine with the GPU; Nsight Compute and PyTorch installed):

    python3 measure.py --out measured.csv --kernels-out kernels.csv CONFIG [CONFIG ...]

CONFIG is IMPL:PASS:B:H:N:d:CAUSAL with
    IMPL   fa2       PyTorch SDPA with the FLASH_ATTENTION backend (bundled FlashAttention-2)
           explicit  matmul -> scale -> softmax -> matmul, written out in PyTorch
    PASS   fwd | fwdbwd
    B, H, N, d       batch, heads, sequence length, head dimension (inputs [B,H,N,d] fp16, contiguous)
    CAUSAL 0 | 1

How it works: the script re-executes itself under
    ncu --profile-from-start off --metrics M --csv --page raw
and, for every configuration, warms up, then opens the profiler range, launches a marker kernel
(torch.cuda._sleep, "spin_kernel"), runs one step, and closes the range. ncu's default
`--cache-control all` flushes the caches before every kernel, so each kernel starts with a cold L2.
The kernels between two markers belong to one configuration; their metrics are summed. A second
pass without ncu times each configuration (median of 10 steps, CUDA events).
"""
import argparse, csv, datetime, io, math, os, subprocess, sys

METRICS = [
    "dram__bytes_read.sum",
    "dram__bytes_write.sum",
    "lts__t_sectors_srcunit_tex_op_read.sum",
    "lts__t_sectors_srcunit_tex_op_write.sum",
    "lts__t_sectors_srcunit_tex_op_red.sum",
    "lts__t_sectors_srcunit_ltcfabric_op_read.sum",
    "l1tex__m_xbar2l1tex_read_sectors.sum",
]
COLUMNS = ["gpu", "software", "implementation", "pass", "batch", "heads", "seq_len", "head_dim",
           "causal", "dtype", "kernels"] + METRICS[:4] + ["median_ms"] + METRICS[4:] + ["driver", "date"]
IMPL_NAMES = {"fa2": "sdpa-flash-fa2", "explicit": "explicit-pytorch"}
PASS_NAMES = {"fwd": "forward", "fwdbwd": "forward+backward"}


def parse(cfg):
    impl, mode, b, h, n, d, causal = cfg.split(":")
    if impl not in IMPL_NAMES or mode not in PASS_NAMES:
        raise SystemExit(f"measure.py: bad config {cfg!r}")
    return impl, mode, int(b), int(h), int(n), int(d), causal == "1"


def make_step(cfg):
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import sdpa_kernel, SDPBackend
    impl, mode, B, H, N, d, causal = parse(cfg)
    g = torch.Generator(device="cuda").manual_seed(0)
    grad = mode == "fwdbwd"
    q, k, v = [torch.randn(B, H, N, d, device="cuda", dtype=torch.float16, generator=g).requires_grad_(grad)
               for _ in range(3)]
    do = torch.randn(B, H, N, d, device="cuda", dtype=torch.float16, generator=g)

    def explicit():
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
        if causal:
            mask = torch.ones(N, N, dtype=torch.bool, device="cuda").triu(1)
            s = s.masked_fill(mask, float("-inf"))
        return torch.matmul(torch.softmax(s, dim=-1), v)

    def step():
        if impl == "explicit":
            o = explicit()
        else:
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        if grad:
            o.backward(do)
            q.grad = k.grad = v.grad = None
        return o
    return step


def run_configs(configs, profile):
    import torch
    for cfg in configs:
        step = make_step(cfg)
        for _ in range(2):
            step()
        torch.cuda.synchronize()
        if profile:
            torch.cuda.profiler.start()
            torch.cuda._sleep(1000)
            step()
            torch.cuda.synchronize()
            torch.cuda.profiler.stop()
            print(f"PROFILED {cfg}", file=sys.stderr, flush=True)
        else:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            times = []
            for _ in range(10):
                start.record(); step(); end.record(); torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            times.sort()
            print(f"TIME {cfg} {times[len(times) // 2]:.3f}", flush=True)
        del step
        torch.cuda.empty_cache()


def number(text):
    text = (text or "").replace(",", "").strip()
    try:
        return float(text)
    except ValueError:
        return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*")
    ap.add_argument("--out", default="measured.csv")
    ap.add_argument("--kernels-out", default="kernels.csv")
    ap.add_argument("--ncu", default=os.environ.get("NCU", "ncu"))
    ap.add_argument("--raw", default="ncu-raw.csv", help="where ncu's own CSV goes")
    ap.add_argument("--timeout", type=float, default=3000, help="seconds for the ncu pass; configs not reached are left out")
    ap.add_argument("--child", choices=["profile", "time"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    for cfg in args.configs:
        parse(cfg)
    if args.child:
        run_configs(args.configs, args.child == "profile")
        return

    import torch
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 0)
    gpu = f"{props.name} ({props.multi_processor_count} SMs; {l2 / 2**20:g} MiB L2)"
    ncu_version = subprocess.run([args.ncu, "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    software = f"torch {torch.__version__} / {ncu_version} --cache-control all"
    driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                            capture_output=True, text=True).stdout.strip().splitlines()[0]
    date = datetime.date.today().isoformat()

    me = os.path.abspath(__file__)
    command = [args.ncu, "--profile-from-start", "off", "--metrics", ",".join(METRICS), "--csv", "--page", "raw",
               sys.executable, me, "--child", "profile"] + args.configs
    complete = True
    with open(args.raw, "w") as raw:
        try:
            subprocess.run(command, stdout=raw, stderr=sys.stderr, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            complete = False
    with open(args.raw) as raw:
        lines = [line for line in raw.read().splitlines() if line.startswith('"')]
    rows = [r for r in csv.DictReader(io.StringIO("\n".join(lines))) if r.get("ID", "").isdigit()]
    groups, current = [], None
    for r in rows:
        if "spin_kernel" in r.get("Kernel Name", ""):
            current = []
            groups.append(current)
        elif current is not None:
            current.append(r)
    if not complete:
        groups = groups[:-1]
        print(f"measure.py: ncu ran out of time; {len(groups)} of {len(args.configs)} configs measured", file=sys.stderr)
    if len(groups) > len(args.configs) or (complete and len(groups) != len(args.configs)):
        raise SystemExit(f"measure.py: found {len(groups)} marker kernels for {len(args.configs)} configs")
    args.configs = args.configs[:len(groups)]

    try:
        timing = subprocess.run([sys.executable, me, "--child", "time"] + args.configs, capture_output=True,
                                text=True, timeout=args.timeout).stdout
    except subprocess.TimeoutExpired as expired:
        timing = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
    times = {}
    for line in timing.splitlines():
        if line.startswith("TIME "):
            _, cfg, ms = line.split()
            times[cfg] = ms

    with open(args.out, "w", newline="") as out, open(args.kernels_out, "w", newline="") as kout:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        kwriter = csv.writer(kout)
        kwriter.writerow(["config", "index", "kernel", "grid", "block"] + METRICS)
        for cfg, kernels in zip(args.configs, groups):
            impl, mode, B, H, N, d, causal = parse(cfg)
            row = {"gpu": gpu, "software": software, "implementation": IMPL_NAMES[impl], "pass": PASS_NAMES[mode],
                   "batch": B, "heads": H, "seq_len": N, "head_dim": d, "causal": int(causal), "dtype": "fp16",
                   "kernels": len(kernels), "median_ms": times.get(cfg, ""), "driver": driver, "date": date}
            for m in METRICS:
                row[m] = int(sum(number(k.get(m)) for k in kernels))
            writer.writerow(row)
            for i, k in enumerate(kernels):
                kwriter.writerow([cfg, i, k.get("Kernel Name", "")[:160], k.get("Grid Size", ""), k.get("Block Size", "")]
                                 + [int(number(k.get(m))) for m in METRICS])
            print(f"{cfg}: kernels={len(kernels)} dram_read={row[METRICS[0]]} dram_write={row[METRICS[1]]} "
                  f"l2_read_sectors={row[METRICS[2]]} ms={row['median_ms']}", flush=True)


if __name__ == "__main__":
    main()
