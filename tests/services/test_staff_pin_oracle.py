"""The sign-in pad does not tell which staff numbers exist (probe-staff, second pass, finding 4): a number that names
nobody is counted and locked per typed number exactly like a real one — the same answer try for try, the same
lockout and its growth, on the sign-in and the approval pad alike — and its lockout survives a restart like a real
number's."""

from __future__ import annotations

from kiosk.services.events import Notice
from tests.services.conftest import ASSISTANT, SUPERVISOR


def answers(k, number: str, n: int, *, approve: bool = False) -> list[str]:
    """What the kiosk says to ``n`` wrong PINs typed under ``number`` (the sign-in pad, or the approval pad)."""
    out = []
    for _ in range(n):
        before = len(k.of(Notice))
        (k.service.staff_approve if approve else k.service.staff_unlock)("0000", number)
        out.append([e.message for e in k.of(Notice)[before:]][-1])
    return out


def test_an_unknown_number_is_locked_like_a_real_one_try_for_try(staffed):
    k = staffed
    real, nobody = answers(k, SUPERVISOR[0], 4), answers(k, "555", 4)
    assert real == nobody
    assert nobody[:3] == ["wrong staff number or PIN"] * 3
    assert nobody[3] == "too many wrong PINs: try again in 31 s"
    k.clock.advance(31)
    assert answers(k, "555", 2) == answers(k, SUPERVISOR[0], 2)  # the next lockout is twice as long, for both
    assert k.service.store.pin_lockout("555") == k.service.store.pin_lockout(SUPERVISOR[0])


def test_the_approval_pad_does_not_tell_either(staffed):
    k = staffed
    assert k.service.staff_unlock(ASSISTANT[1], ASSISTANT[0])
    assert answers(k, SUPERVISOR[0], 4, approve=True) == answers(k, "556", 4, approve=True)


def test_an_unknown_numbers_lockout_survives_a_restart(staffed):
    k = staffed
    answers(k, "555", 3)
    k.service.stop()
    k.service.store.close()
    k.service = k.open()
    assert answers(k, "555", 1) == ["too many wrong PINs: try again in 31 s"]
    assert answers(k, ASSISTANT[0], 1) == ["wrong staff number or PIN"]  # a real number is not locked by it
