"""Head office's view of the stores: how well recognition does and whether the kiosks' audit logs hold.

* :mod:`~trainer.headoffice.quality` — ``checkout report quality``: per SKU recognitions, auto-add rate, top-1/3 of
  the final choice, corrections, time to select, the most confused pairs; :mod:`~trainer.headoffice.drift` — the
  drift alarm (a binomial change-point GLR over each SKU's own history), ``checkout bench drift``;
  :mod:`~trainer.headoffice.charts` — the report's PNG charts;
* :mod:`~trainer.headoffice.audit_status` — ``checkout audit collect|enroll``: the kiosks' audit batches checked
  against their enrolled keys, forged ones refused and logged, wiped kiosks noticed;
* :mod:`~trainer.headoffice.web` — ``checkout headoffice serve``: the dashboard (FastAPI + Jinja2) over
  :mod:`~trainer.headoffice.dashboard`, with :mod:`~trainer.headoffice.users` for sign-in;
* :mod:`~trainer.headoffice.cli` — the commands.

Everything is read from the head-office location the kiosks upload to (what ``checkout feedback collect`` and
``checkout fleet status`` read) and the channel head office publishes to; nothing else is needed.
"""
