"""``checkout bench ddp``: the measured inputs of a DDP scaling projection (docs/scaling.md).

For one architecture, batch and image size, on ``--nproc`` processes of this machine (gloo on CPU, NCCL on
GPUs; rendezvous on 127.0.0.1), it measures per step:

* **compute**: forward + backward with DDP's gradient synchronisation switched off (``no_sync``);
* **AllReduce**: the trainable gradients, as DDP buckets them (``--bucket-cap-mb``), all-reduced one bucket after
  another with nothing else running; with the bucket sizes this gives the algorithm and bus bandwidth
  (bus = algorithm × 2(n−1)/n, the ring's traffic per link, as nccl-tests reports it);
* **DDP step**: forward + backward with DDP's overlapped AllReduce, i.e. what training pays.

``exposed`` = DDP step − compute is the communication that was not hidden behind the backward pass. Frozen
stages (``--freeze``, default per architecture) have no gradients and are not reduced. With ``--nproc 1`` only
the compute (and so the single-device throughput) is measured.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bucket_sizes(numels: list[int], element_size: int, cap_mb: float) -> list[int]:
    """Numbers of elements per bucket, filled in reverse parameter order like DDP (first bucket: 1 MB)."""
    buckets, current, cap = [], 0, 1024 * 1024  # DDP's first bucket is small so AllReduce starts early
    for n in reversed(numels):
        if current and (current + n) * element_size > cap:
            buckets.append(current)
            current, cap = 0, int(cap_mb * 1024 * 1024)
        current += n
    if current:
        buckets.append(current)
    return buckets


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _median_time(fn, steps: int, device: str, barrier=None) -> list[float]:
    times = []
    for i in range(steps + 1):  # one warm-up
        if barrier is not None:
            barrier()
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        if i:
            times.append(time.perf_counter() - t0)
    return times


def _worker(rank: int, world: int, port: int, cfg: dict, out: str) -> None:
    import torch
    import torch.distributed as dist
    from torch import nn

    from trainer.models import DEFAULT_FREEZE, build_model, freeze_stages, set_frozen_bn_eval
    from trainer.train import autocast_ctx

    device = cfg["device"]
    if device.startswith("cuda"):
        device = f"cuda:{rank}"
        torch.cuda.set_device(rank)
    torch.set_num_threads(cfg["threads"])
    if world > 1:
        dist.init_process_group(cfg["backend"], init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(rank)
    model = build_model(cfg["arch"], cfg["classes"])
    freeze = DEFAULT_FREEZE.get(cfg["arch"], 0) if cfg["freeze"] is None else cfg["freeze"]
    freeze_stages(model, cfg["arch"], freeze)
    model.to(device)
    if cfg["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    set_frozen_bn_eval(model, cfg["arch"], freeze)
    params = [p for p in model.parameters() if p.requires_grad]
    grad_bytes = sum(p.numel() * p.element_size() for p in params)
    total_params = sum(p.numel() for p in model.parameters())
    ddp = (nn.parallel.DistributedDataParallel(model, device_ids=[rank] if device.startswith("cuda") else None,
                                               bucket_cap_mb=cfg["bucket_cap_mb"], gradient_as_bucket_view=True)
           if world > 1 else model)
    b, s = cfg["batch_size"], cfg["img_size"]
    x = torch.randn(b, 3, s, s, device=device)
    if cfg["channels_last"]:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, cfg["classes"], (b,), device=device)
    criterion = nn.CrossEntropyLoss()

    def fwd_bwd():
        with autocast_ctx(device, cfg["amp"]):
            loss = criterion(ddp(x), y)
        loss.backward()
        for p in params:
            p.grad = None if world == 1 else p.grad

    barrier = dist.barrier if world > 1 else None

    def compute():
        if world > 1:
            with ddp.no_sync():
                fwd_bwd()
        else:
            fwd_bwd()

    result = {"rank": rank}
    result["compute_s"] = _median_time(compute, cfg["steps"], device, barrier)
    if world > 1:
        sizes = bucket_sizes([p.numel() for p in params], 4, cfg["bucket_cap_mb"])
        buckets = [torch.ones(n, dtype=torch.float32, device=device) for n in sizes]

        def allreduce():
            for t in buckets:
                dist.all_reduce(t)

        result["allreduce_s"] = _median_time(allreduce, cfg["steps"], device, barrier)
        result["ddp_step_s"] = _median_time(fwd_bwd, cfg["steps"], device, barrier)
        result["buckets"] = len(sizes)
    result.update(grad_bytes=grad_bytes, params=total_params, trainable=sum(p.numel() for p in params),
                  frozen_stages=freeze)
    if world > 1:
        gathered = [None] * world
        dist.all_gather_object(gathered, result)
        dist.destroy_process_group()
    else:
        gathered = [result]
    if rank == 0:
        Path(out).write_text(json.dumps(gathered))


def run_bench(cfg: dict) -> dict:
    """Measure in ``cfg["nproc"]`` fresh processes; returns the figures (medians over steps, worst rank)."""
    import torch.multiprocessing as mp

    world = cfg["nproc"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        port = free_port()
        if world == 1:
            _worker(0, 1, port, cfg, out)
        else:
            mp.spawn(_worker, args=(world, port, cfg, out), nprocs=world, join=True)
        ranks = json.loads(Path(out).read_text())
    med = lambda key: max(statistics.median(r[key]) for r in ranks)  # noqa: E731  the slowest rank sets the pace
    r0 = ranks[0]
    res = {k: cfg[k] for k in ("arch", "batch_size", "img_size", "nproc", "backend", "device", "amp",
                               "channels_last", "bucket_cap_mb", "threads", "classes", "steps")}
    res.update(params=r0["params"], trainable_params=r0["trainable"], frozen_stages=r0["frozen_stages"],
               grad_mb=r0["grad_bytes"] / 1e6, compute_s=med("compute_s"))
    res["img_per_s_per_process"] = cfg["batch_size"] / res["compute_s"]
    if world > 1:
        res.update(allreduce_s=med("allreduce_s"), ddp_step_s=med("ddp_step_s"), buckets=r0["buckets"])
        algbw = r0["grad_bytes"] / res["allreduce_s"]
        res["algbw_gb_s"] = algbw / 1e9
        res["busbw_gb_s"] = algbw * 2 * (world - 1) / world / 1e9
        res["exposed_comm_s"] = max(0.0, res["ddp_step_s"] - res["compute_s"])
        res["overlap"] = 1 - min(res["exposed_comm_s"], res["allreduce_s"]) / res["allreduce_s"]
        res["img_per_s_total"] = world * cfg["batch_size"] / res["ddp_step_s"]
        res["scaling_efficiency"] = res["compute_s"] / res["ddp_step_s"]
    return res


def format_report(res: dict) -> str:
    lines = [f"bench ddp: {res['arch']} batch {res['batch_size']}/process at {res['img_size']}px, "
             f"{res['nproc']} process(es), {res['backend']} on {res['device']} ({res['threads']} threads each), "
             f"amp {res['amp']}, channels_last {res['channels_last']}",
             f"  parameters {res['params'] / 1e6:.2f} M, trainable {res['trainable_params'] / 1e6:.2f} M "
             f"(frozen stages: {res['frozen_stages']}) → gradient {res['grad_mb']:.1f} MB fp32 per step",
             f"  compute (fwd+bwd, no sync)   {res['compute_s'] * 1e3:9.1f} ms/step  "
             f"= {res['img_per_s_per_process']:.2f} img/s per process"]
    if res["nproc"] > 1:
        lines += [f"  AllReduce ({res['buckets']} buckets ≤ {res['bucket_cap_mb']} MB) "
                  f"{res['allreduce_s'] * 1e3:9.1f} ms/step  "
                  f"= algbw {res['algbw_gb_s']:.2f} GB/s, busbw {res['busbw_gb_s']:.2f} GB/s",
                  f"  DDP step (overlapped)        {res['ddp_step_s'] * 1e3:9.1f} ms/step  "
                  f"= {res['img_per_s_total']:.2f} img/s in all",
                  f"  exposed communication        {res['exposed_comm_s'] * 1e3:9.1f} ms/step  "
                  f"(overlap {res['overlap'] * 100:.0f}% of the AllReduce; step efficiency "
                  f"{res['scaling_efficiency'] * 100:.0f}%)"]
    return "\n".join(lines)


def check_config(cfg: dict) -> None:
    """What the spawned processes would fail on, refused here first in one line: an unknown ``--arch``, a
    ``--freeze`` outside its stages, a ``--backend`` this device or build cannot run."""
    import torch.distributed as dist

    from kiosk.errors import UserError
    from trainer.models import DEFAULT_FREEZE, build_model, freeze_stages

    backend, device = cfg["backend"], cfg["device"]
    if backend == "nccl" and not device.startswith("cuda"):
        raise UserError(f"--backend nccl: reduces tensors on CUDA GPUs only; this bench runs on {device} "
                        "(use --backend gloo, or --device cuda on a GPU machine)")
    available = {"gloo": dist.is_gloo_available(), "nccl": dist.is_nccl_available(), "mpi": dist.is_mpi_available()}
    if not available.get(backend, True):
        raise UserError(f"--backend {backend}: not available in this torch build")
    try:
        model = build_model(cfg["arch"], cfg["classes"])
    except (KeyError, ValueError) as exc:
        raise UserError(f"--arch {cfg['arch']}: {exc}") from None
    freeze_stages(model, cfg["arch"], DEFAULT_FREEZE.get(cfg["arch"], 0) if cfg["freeze"] is None else cfg["freeze"])


def bench_ddp(args) -> int:
    import torch

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and args.nproc > torch.cuda.device_count():
        from kiosk.errors import UserError

        raise UserError(f"--nproc {args.nproc}: only {torch.cuda.device_count()} GPU(s) here")
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.nproc)
    cfg = {"arch": args.arch, "freeze": args.freeze, "classes": args.classes, "batch_size": args.batch_size,
           "img_size": args.img_size, "nproc": args.nproc, "steps": args.steps, "bucket_cap_mb": args.bucket_cap_mb,
           "backend": args.backend or ("nccl" if device.startswith("cuda") else "gloo"), "device": device,
           "amp": args.amp, "channels_last": args.channels_last, "threads": threads}
    check_config(cfg)
    res = run_bench(cfg)
    res["command"] = "checkout bench ddp " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in (("arch", args.arch), ("batch_size", args.batch_size),
                                                     ("img_size", args.img_size), ("nproc", args.nproc),
                                                     ("steps", args.steps), ("amp", args.amp)))
    print(format_report(res))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2))
    return 0
