"""Feedback: what the kiosk learns from each placement reaches head office, and nothing is kept longer than allowed.

* :mod:`~kiosk.feedback.settings` — the ``[feedback]`` table (head office, outbox, retention);
* :mod:`~kiosk.feedback.crop` — the tray region: the only part of a frame recognised and kept;
* :mod:`~kiosk.feedback.retention` — by age and by size; room on a full disk (oldest feedback first);
* :mod:`~kiosk.feedback.packer` — feedback rows (``kiosk.store.feedback``) into batches, exactly once;
* :mod:`~kiosk.feedback.outbox` — batches waiting, sent oldest first, bounded; generic over batch kinds;
* :mod:`~kiosk.feedback.transports` — one file per kind of head office: directory, HTTP(S) PUT, fsspec (s3://);
* :mod:`~kiosk.feedback.heartbeat` — the kiosk's status report;
* :mod:`~kiosk.feedback.loop` — the thread that runs it all in a running kiosk.

The batch and heartbeat formats are shared with head office in :mod:`kiosk.exchange`. No Qt, no recognition code.
"""
