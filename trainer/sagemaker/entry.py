"""SageMaker training job entry point (runs inside the training image on every instance).

SageMaker runs ``python entry.py --<hyperparameter> <value> …``. Three ways in:

* ``distribution={"torch_distributed": {"enabled": True}}``: SageMaker starts torchrun on every node, so
  ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*`` are set and this is one worker: run the trainer.
* ``distribution={"smdistributed": {"dataparallel": {"enabled": True}}}`` (smddp): SageMaker starts the workers
  with MPI; ``OMPI_COMM_WORLD_*`` are mapped to ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` and the first host of
  ``SM_HOSTS`` becomes ``MASTER_ADDR``; the trainer then initialises with ``--dist-backend smddp``.
* no distribution: when the job has several GPUs or instances, relaunch under torchrun with the layout from
  ``SM_HOSTS``/``SM_CURRENT_HOST``/``SM_NUM_GPUS`` (see :func:`trainer.sagemaker.env.layout_from_env`).

Hyperparameters arrive as ``--name value`` pairs; boolean ones as ``--flag True``/``False``, which are turned into
the trainer's ``--flag`` / ``--no-flag`` forms. Data channels, model and output folders come from ``SM_*``
(:func:`trainer.sagemaker.env.apply_sagemaker_env`, called by the trainer itself).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence


def normalise_hyperparameters(argv: Sequence[str]) -> list[str]:
    """``--static-graph True`` → ``--static-graph``; ``--channels-last False`` → ``--no-channels-last``."""
    from trainer.options import get_args_parser

    parser = get_args_parser()
    flags = {}
    for action in parser._actions:
        for opt in action.option_strings:
            if action.nargs == 0 or action.__class__.__name__ == "BooleanOptionalAction":
                flags[opt] = action
    out, i = [], 0
    argv = list(argv)
    while i < len(argv):
        a = argv[i]
        if a in flags and i + 1 < len(argv) and argv[i + 1] in ("True", "False", "true", "false"):
            value = argv[i + 1].lower() == "true"
            if value:
                out.append(a)
            elif a.startswith("--") and "--no-" + a[2:] in flags:
                out.append("--no-" + a[2:])
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def map_mpi_env(environ: Mapping[str, str]) -> dict[str, str]:
    """RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* for workers started by MPI (smddp), or {} when not under MPI."""
    if "OMPI_COMM_WORLD_RANK" not in environ or "RANK" in environ:
        return {}
    hosts = sorted(json.loads(environ.get("SM_HOSTS", '["localhost"]')))
    return {"RANK": environ["OMPI_COMM_WORLD_RANK"], "WORLD_SIZE": environ["OMPI_COMM_WORLD_SIZE"],
            "LOCAL_RANK": environ.get("OMPI_COMM_WORLD_LOCAL_RANK", "0"),
            "MASTER_ADDR": environ.get("MASTER_ADDR", hosts[0]), "MASTER_PORT": environ.get("MASTER_PORT", "29500")}


def main(argv: Sequence[str] | None = None) -> int:
    argv = normalise_hyperparameters(sys.argv[1:] if argv is None else argv)
    os.environ.update(map_mpi_env(os.environ))
    if "RANK" not in os.environ:
        from trainer.sagemaker.env import layout_from_env

        layout = layout_from_env()
        if layout.nnodes * layout.nproc_per_node > 1:
            import subprocess

            from trainer.launch import torchrun_command

            cmd = torchrun_command(argv, layout.nproc_per_node, nnodes=layout.nnodes, node_rank=layout.node_rank,
                                   master_addr=layout.master_addr, master_port=layout.master_port,
                                   max_restarts=int(os.environ.get("CHECKOUT_MAX_RESTARTS", "0") or 0))
            print("launching:", " ".join(cmd[2:]), flush=True)
            return subprocess.run(cmd).returncode
    from kiosk.cli import main as checkout

    return checkout(["train", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
