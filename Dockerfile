# Training image for `checkout train` on GPU machines: torchrun on bare metal, Kubernetes (Job / PyTorchJob)
# and SageMaker training jobs (bring-your-own image). See docs/distributed.md.
#
#   docker build -t checkout-train:1 .
#   docker run --gpus all --shm-size 16g -v /data:/data checkout-train:1 \
#       torchrun --standalone --nproc-per-node 8 -m trainer --shards /data/shards --out /data/runs/r152 ...
#
# The PyPI torch wheel brings its own CUDA libraries, so the base needs no CUDA toolkit: the host (or the
# SageMaker/Kubernetes node) provides only the NVIDIA driver. For SageMaker's smddp backend build FROM one of
# AWS's PyTorch training images instead (smdistributed.dataparallel is not on PyPI), e.g.
#   docker build --build-arg BASE=<aws-dlc pytorch-training …-sagemaker image> -t checkout-train:smddp .
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=4

# libglib2.0-0: OpenCV's headless wheel; procps: `ps` for whoever debugs a stuck rank
RUN apt-get update \
 && apt-get install -y --no-install-recommends libglib2.0-0 procps \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/checkout
# dependencies first (cached while only the code changes); versions as pinned in pyproject.toml
RUN pip install "torch==2.14.1" "torchvision==0.29.1"
COPY pyproject.toml README.md ./
COPY kiosk ./kiosk
COPY catalog ./catalog
COPY trainer ./trainer
# .[s3]: s3fs (+ fsspec) so --shards s3://… streams; sagemaker-training: SageMaker's in-container launcher
# (runs trainer/sagemaker/entry.py, starts torchrun for distribution={"torch_distributed": …})
RUN pip install ".[s3]" fsspec sagemaker-training \
 && checkout train --help > /dev/null \
 && python -c "import trainer.shards, trainer.launch, trainer.sagemaker.entry"

# SageMaker runs `train` (from sagemaker-training) in /opt/ml/code; elsewhere pass a command (torchrun …).
WORKDIR /opt/ml/code
CMD ["checkout", "train", "--help"]
