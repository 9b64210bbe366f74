"""Head office's side of what the stores send (:mod:`kiosk.exchange`): ``checkout feedback collect`` merges every
kiosk's feedback batches into a training manifest, ``checkout fleet status`` reads every kiosk's heartbeat.

* :mod:`~trainer.fleet.location` — the head-office location: a directory or an fsspec URL (``s3://…``);
* :mod:`~trainer.fleet.collect` — batches → ``feedback.csv`` + tray crops, de-duplicated (pHash, as
  ``checkout data check``), broken batches named and skipped whole, unknown SKUs named;
* :mod:`~trainer.fleet.status` — the fleet table (versions, staleness, correction rates), text or JSON;
* :mod:`~trainer.fleet.cli` — the two commands.
"""
