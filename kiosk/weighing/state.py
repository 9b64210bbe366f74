"""The weighing state of the counter: the last reading, the tare in force, the load the last lines claimed, and
the by-weight item waiting for a priceable weight.

:class:`Weighing` is plain state (the checkout service holds its lock around every call):

* ``idle`` → ``waiting`` (:meth:`Weighing.wait_for`: an item was chosen and no priceable weight is there) → a
  priceable reading offers it (:meth:`Weighing.take` returns it) and it ends once its line is committed
  (:meth:`Weighing.complete`; a commit that failed leaves it waiting, tried again after
  :meth:`Weighing.retry_later`), or it is dropped (:meth:`Weighing.drop`: replaced, taken away, paid);
* every line added *claims* the load on the tray (:meth:`Weighing.spend`): the stable gross it was added on (a
  load still settling, or one the scale could not report, claims the first stable gross after it). A new item is
  judged and priced on the *increase* over the claimed gross (its own gross; its tare comes off that), never with
  the billed items' weight; a new picture with no increase of Min is the same items moved
  (:meth:`Weighing.grew`). A stable reading below the claim means items were taken off: the claim shrinks to it;
  a stable reading under the minimum weight (Min) is an emptied tray: nothing is claimed. Only a line added with
  the tray seen empty (or the scale never read yet) claims nothing: its item is not on the tray;
* a reading older than :attr:`Weighing.max_age_s` (set while a poller reads the scale on a timer) is "scale not
  answering": shown as an error, never priced;
* a tare is set by container (:meth:`Weighing.set_container`: the bag button, a tare barcode) or by weighing the
  empty container (:meth:`Weighing.tare_current`); a SKU's forced tare (``[weighing] forced_tares``, or a catalog
  SKU's ``tare_g`` should the catalog carry one) is the least tare its weighing uses. The tare is cleared once a
  line has claimed the load it was for, when the tray is emptied and after payment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kiosk.scale.base import WeightReading
from kiosk.weighing.net import NetState, NetWeight, net_weight
from kiosk.weighing.rules import WeighingConfigError, WeighingRules

__all__ = ["PendingItem", "Tare", "TareError", "Weighing"]


#: readings that say nothing of the load: moving, out of range, not in divisions, no answer
_UNWEIGHED = (NetState.MOTION, NetState.OVERLOAD, NetState.UNDERLOAD, NetState.OFF_SCALE, NetState.ERROR)


class TareError(WeighingConfigError):
    """A tare that cannot be taken now (no stable reading, too heavy, not a whole number of divisions)."""


@dataclass(frozen=True)
class PendingItem:
    """A by-weight item chosen for ``placement_id`` (``None``: picked from search) that waits for the scale."""

    placement_id: str | None
    sku: Any  # catalog.Sku
    chooser: str = "shopper"
    #: the line id of a commit that failed: it may have reached the store, so it is looked for before another try
    tried_line: str | None = None


@dataclass(frozen=True)
class Tare:
    grams: int
    name: str  # a container name, "weighed" (semi-automatic tare) or "sku" (the catalog's forced tare)


@dataclass(frozen=True)
class _Claim:
    """The load on the tray belongs to lines already added: their placements, oldest first (``None``: a line with
    no placement), and the stable gross grams they claim (``None``: not settled yet, the next stable reading)."""

    owners: tuple
    gross: int | None = None


def forced_tare(sku: Any, rules: WeighingRules | None = None) -> int:
    """The forced tare of a SKU: ``rules.forced_tares[sku id]`` or the SKU's own ``tare_g``; 0 when it has none."""
    grams = getattr(sku, "tare_g", None)
    own = int(grams) if isinstance(grams, int) and not isinstance(grams, bool) and grams > 0 else 0
    configured = rules.forced_tares.get(getattr(sku, "sku", None), 0) if rules is not None else 0
    return max(own, configured)


class Weighing:
    """See the module docstring. ``rules``: the legal settings (:class:`~kiosk.weighing.rules.WeighingRules`)."""

    def __init__(self, rules: WeighingRules | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules or WeighingRules()
        self.clock = clock
        self.reading: WeightReading | None = None
        self.pending: PendingItem | None = None
        self.tare: Tare | None = None
        #: a reading older than this many seconds is not trusted (``None``: readings come when someone polls)
        self.max_age_s: float | None = None
        self._read_at = 0.0
        self._claim: _Claim | None = None
        self._retry_at = 0.0

    # -- what the scale says -------------------------------------------------------------------
    def expire_readings(self, max_age_s: float | None) -> None:
        """A poller reads the scale on a timer: a reading older than ``max_age_s`` means the scale (or its poller)
        stopped answering. ``None``: no poller, a reading stands until the next one."""
        self.max_age_s = max_age_s

    def current(self) -> WeightReading | None:
        """The last reading, or an error reading when it is older than :attr:`max_age_s`."""
        r = self.reading
        if r is None or self.max_age_s is None:
            return r
        age = self.clock() - self._read_at
        if age <= self.max_age_s:
            return r
        return WeightReading.error(f"scale not answering: the last reading is {age:.1f} s old", r.raw)

    def net(self, sku: Any = None, placement_id: str | None = None) -> NetWeight:
        """The reading evaluated with the tare in force (at least ``sku``'s forced tare). On a claimed load the
        priceable part is its increase over the claim (``gross``: the increase); a load claimed by ``placement_id``
        alone is its own while nothing was added (its line may be re-chosen at the same weight); one it shares is
        spent for it."""
        tare, name = self._tare_for(sku)
        claim, reading = self._claim, self.current()
        if claim is None or (self.sole_owner(placement_id) and self.grew() is not True):
            return net_weight(reading, self.rules, tare, name)
        whole = net_weight(reading, self.rules, tare, name, spent=True)
        if whole.state is not NetState.SPENT or claim.gross is None or \
                (placement_id is not None and placement_id in claim.owners):
            return whole
        part = net_weight(replace(reading, grams=reading.grams - claim.gross), self.rules, tare, name)
        return part if part.priceable else whole

    def usable_grams(self, sku: Any = None, placement_id: str | None = None) -> int | None:
        """Net grams that may be priced now for ``sku`` (and ``placement_id``), else ``None``."""
        net = self.net(sku, placement_id)
        return net.net if net.priceable else None

    def fresh_grams(self) -> int | None:
        """Net grams of a priceable load no line claimed yet (the increase over a claim), else ``None``."""
        return self.usable_grams()

    def grew(self) -> bool | None:
        """Whether the tray holds something new: ``True`` when nothing is claimed or the stable gross rose at least
        Min over the claim, ``False`` when it did not (a new picture is the same items moved), ``None`` when the
        scale cannot say now (moving, no answer, the claim not settled)."""
        claim, reading = self._claim, self.current()
        if claim is None:
            return True
        if claim.gross is None or net_weight(reading, self.rules).state in _UNWEIGHED:
            return None
        return reading.grams - claim.gross >= self.rules.min_grams

    def newest_owner(self) -> str | None:
        """The placement of the newest line on the claimed load (``None``: none, or a line with no placement)."""
        return self._claim.owners[-1] if self._claim is not None and self._claim.owners else None

    def sole_owner(self, placement_id: str | None) -> bool:
        return self._claim is not None and placement_id is not None and self._claim.owners == (placement_id,)

    def adopt(self, old: str, new: str) -> None:
        """Placement ``new`` is a new picture of ``old``'s item (moved, or swapped at the same weight): it owns
        ``old``'s share of the claim."""
        if self._claim is not None and old in self._claim.owners:
            owners = tuple(new if o == old else o for o in self._claim.owners)
            self._claim = replace(self._claim, owners=owners)

    @property
    def chosen_tare_grams(self) -> int:
        """The tare chosen for the load now on the tray (a bag, a container, a weighed one); 0: none."""
        return self.tare.grams if self.tare is not None else 0

    def _tare_for(self, sku: Any) -> tuple[int, str]:
        chosen = self.tare.grams if self.tare is not None else 0
        forced = forced_tare(sku, self.rules) if sku is not None else 0
        if forced > chosen:
            return forced, "sku"
        return (chosen, self.tare.name) if self.tare is not None else (0, "")

    def take(self, reading: WeightReading, at: float | None = None) -> tuple[bool, PendingItem | None]:
        """Record a reading (made at ``at`` on :attr:`clock`; now when not given). Returns (changed since the last
        one, the pending item it can price now or ``None``); the item waits until :meth:`complete`."""
        last = self.reading
        changed = last is None or (last.grams, last.stable, last.status) != (reading.grams, reading.stable,
                                                                           reading.status)
        self.reading, self._read_at = reading, self.clock() if at is None else at
        if self._claim is not None and self._emptied():
            self._claim = None  # the tray was emptied: the lines' items are off it
        elif self._claim is not None and reading.usable and (self._claim.gross is None
                                                              or reading.grams < self._claim.gross):
            self._claim = replace(self._claim, gross=reading.grams)  # settled, or items taken off: the claim is this
        item = self.pending
        if item is None or self.clock() < self._retry_at or self.usable_grams(item.sku, item.placement_id) is None:
            return changed, None
        return changed, item

    def _emptied(self) -> bool:
        """The tray reads empty now: a fresh, stable reading under Min (drift, crumbs, a bag left behind)."""
        r = self.current()
        return r is not None and r.usable and r.grams < self.rules.min_grams

    def spend(self, placement_id: str | None) -> None:
        """A line (of ``placement_id``) was added: the load on the tray — its stable gross, or the first stable
        gross after a load settling or one the scale could not report — is claimed (only an increase over it prices
        another item), and a tare has served. A line added with the tray seen empty (or before the scale was ever
        read) claims nothing: its item is not on the tray."""
        if self.reading is None or self._emptied():
            return
        owners = self._claim.owners if self._claim is not None else ()
        r = self.current()
        gross = r.grams if r is not None and r.usable else None
        self._claim = _Claim(owners if placement_id in owners and placement_id is not None else
                             (*owners, placement_id), gross)
        self.tare = None

    def tray_emptied(self) -> None:
        """The camera saw the tray cleared: the container went with the item."""
        self.tare = None

    # -- tare and zero ---------------------------------------------------------------------------
    def set_container(self, name: str) -> Tare:
        self.tare = Tare(self.rules.container_tare(name), name)
        return self.tare

    def tare_current(self) -> Tare:
        """Semi-automatic tare: the empty container now on the tray (stable, in range) becomes the tare."""
        r = self.current()
        if r is None or not r.usable:
            raise TareError("tare: the scale must show a stable weight (hold still)")
        if r.grams <= 0 or r.grams % self.rules.division_g:
            raise TareError(f"tare: {r.grams} g cannot be a tare (above 0, in {self.rules.division_g} g steps)")
        limit = self.rules.capacity_g or r.grams + 1
        if r.grams >= limit:
            raise TareError(f"tare: {r.grams} g is not below the capacity {limit} g")
        self.tare = Tare(r.grams, "weighed")
        return self.tare

    def clear_tare(self) -> None:
        self.tare = None

    def may_zero(self) -> bool:
        """The zero key may act: a stable reading within the zero range (an empty tray drifting a little)."""
        r = self.current()
        return r is not None and r.usable and abs(r.grams) <= self.rules.zero_limit_grams

    def needs_zero(self) -> bool:
        """A stable, non-zero reading the zero key can take away (drift or crumbs on an empty tray)."""
        return self.may_zero() and self.reading.grams != 0

    # -- the item waiting for the scale -----------------------------------------------------------
    def wait_for(self, item: PendingItem) -> None:
        self.pending = item
        self._retry_at = 0.0

    def complete(self, item: PendingItem) -> None:
        """``item``'s line is committed: it waits no more."""
        if self.pending is not None and (self.pending.placement_id, self.pending.sku) == (item.placement_id, item.sku):
            self.pending = None

    def retry_later(self, seconds: float, tried_line: str | None) -> None:
        """The waiting item's line could not be committed: it keeps waiting, offered again after ``seconds``;
        ``tried_line`` is the line id that try used (it may have reached the store)."""
        if self.pending is not None:
            self.pending = replace(self.pending, tried_line=tried_line or self.pending.tried_line)
        self._retry_at = self.clock() + seconds

    def drop(self, placement_id: str | None = None) -> PendingItem | None:
        """End the wait (for ``placement_id`` only, when given); returns the item that was waiting."""
        item = self.pending
        if item is None or (placement_id is not None and item.placement_id != placement_id):
            return None
        self.pending = None
        return item

    def reset(self) -> None:
        """After payment: nothing waits, no tare; the load on the tray stays claimed until the tray is emptied."""
        self.pending = None
        self.tare = None

    @property
    def state(self) -> NetState:
        return self.net().state
