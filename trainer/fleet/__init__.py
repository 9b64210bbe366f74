"""Head office's side of what the stores send (:mod:`kiosk.exchange`): ``checkout feedback collect`` merges every
kiosk's feedback batches into a training manifest, ``checkout fleet status`` reads every kiosk's heartbeat.

* :mod:`~trainer.fleet.location` — the head-office location: a directory or an fsspec URL (``s3://…``);
* :mod:`~trainer.fleet.collect` — batches → ``feedback.csv`` + tray crops, broken batches and kiosks not enrolled
  (``--kiosks``) named and skipped whole, unknown SKUs named, conflicting labels settled by a stated rule and named;
* :mod:`~trainer.fleet.dedupe` — a duplicate is one photo sent twice (the same bytes, or a near pHash whose pixels
  agree; never two photos of one kiosk), not two photos a grey pHash finds alike;
* :mod:`~trainer.fleet.status` — the fleet table (versions, staleness, correction rates), text or JSON;
* :mod:`~trainer.fleet.cli` — the two commands.
"""
