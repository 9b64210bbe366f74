"""Sharded streaming training data: tar shards in the WebDataset layout, an index, and the loader that streams them.

One module per concern:

* :mod:`~trainer.shards.layout` — the on-disk format: file names, format/version, image extensions;
* :mod:`~trainer.shards.write` — packing a manifest into shards (``checkout data shard``), ``--shard-size``;
* :mod:`~trainer.shards.location` — opening a local path or an fsspec URL;
* :mod:`~trainer.shards.index` — reading ``index.json``;
* :mod:`~trainer.shards.plan` — the epoch plan: which samples each (rank, loader worker) reads, in which batches;
* :mod:`~trainer.shards.read` — stepping through one tar shard and decoding a sample;
* :mod:`~trainer.shards.stream` — the streaming dataset, the loader (a :class:`trainer.training_data.TrainingData`)
  and the loss wrapper for placeholder batches.

Writing (``checkout data shard MANIFEST --out DIR --shard-size 1GB``)
    The manifest's rows are shuffled once (seeded, so shards mix SKUs) and packed into ``shard-000000.tar`` …
    Each sample is two consecutive members sharing a key, as WebDataset expects: ``<key>.jpg`` (the photo's
    bytes, unchanged; ``.png`` etc. keep their extension) and ``<key>.json`` (``sku``, ``group``, manifest
    ``line`` and ``path``). The key is the manifest row number (0-based, nine digits), which is also the
    sample id used in logs. ``index.json`` (written last, atomically) lists every shard with its sample count,
    bytes, sha256 and per-SKU counts, plus the labels and rows that could not be read.

Reading (``checkout train --shards DIR_OR_URL``)
    Every process computes the same *epoch plan* from the index alone (never from reading data): the shards are
    put in a seeded per-epoch order, their samples form one sequence, and that sequence is cut into contiguous
    spans, one per (rank, DataLoader worker). Every rank gets ``ceil(N / (world × batch))`` batches whose sizes
    differ by at most one, so no sample is repeated or dropped and DDP never waits for a rank that ran dry.
    A span covers whole shards except at most one at each end. Each worker shuffles its span through a buffer
    (``--shuffle-buffer``) and emits its batches; batch ``j`` of a rank comes from worker ``j mod workers``, which
    is the order ``torch.utils.data.DataLoader`` returns them in.

    The position in the data is one number, the batch index within the epoch. Resuming at batch ``p`` replays
    the plan without decoding anything that was already consumed, so an interrupted epoch continues exactly
    where it stopped (the checkpoint stores ``p`` with the world size, workers and batch size it refers to).

    A member that cannot be decoded, a sample whose metadata is broken, or a truncated shard is reported with the
    shard and member names and skipped; the batch is one smaller, and every rank still runs the same number of
    steps because the plan does not depend on what the data turns out to contain.

Local paths are read with :func:`open`; any other URL (``s3://…``, ``gs://…``, ``https://…``) through
``fsspec`` (imported only then; ``s3://`` needs ``s3fs``).
"""
