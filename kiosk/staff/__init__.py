"""Staff on the till: who may do what (:mod:`~kiosk.staff.rules`, the ``[staff]`` table of ``kiosk.toml``), signing
in with a staff number and a personal PIN with lockouts per person and for the whole kiosk
(:mod:`~kiosk.staff.signin`), and the accounts themselves (:mod:`~kiosk.staff.accounts`, ``checkout staff …``).

The staff session and the desk that carries out staff actions stay in :mod:`kiosk.services` (``staff``,
``staff_desk``); the accounts live in the kiosk's SQLite file (:mod:`kiosk.store.staff`) and every change is in the
audit log (:mod:`kiosk.store.audit`).
"""
