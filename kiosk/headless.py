"""The kiosk without a window: replay a camera, take the top-1 for every item, pay, print the bill.

``checkout kiosk --headless --camera folder:assets/demo/camera?fps=8&hold=8 --scale script:assets/demo/scale.txt``
runs :class:`~kiosk.services.checkout.CheckoutService` (the same service the Qt window drives) over
:func:`kiosk.camera.iter_frames`: every frame in order, no drops, the scale polled once per frame
before the frame is processed, so a run is deterministic. Items the service did not add by itself
(score below the bundle's auto-add threshold) are chosen as the shopper would: the top-1 suggestion.
The receipt text goes to stdout, notes to stderr.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from kiosk.errors import UserError

if TYPE_CHECKING:
    from kiosk.services.api import ReplayApi

__all__ = ["run_headless", "main"]


def run_headless(service: ReplayApi, camera: str, *, out: TextIO | None = None, err: TextIO | None = None,
                 realtime: bool = False, scale_name: str = "", store_name: str = ""):
    """Play ``camera`` through ``service``, pay and print the receipt. Returns the :class:`Receipt`."""
    from kiosk.camera import create_source, iter_frames
    from kiosk.services.checkout import CheckoutError
    from kiosk.services.events import Notice

    out = out or sys.stdout
    err = err or sys.stderr

    def on_event(event) -> None:
        if isinstance(event, Notice) and event.level in ("warning", "error"):
            print(f"kiosk: {event.level}: {event.message}", file=err)

    unsubscribe = service.add_listener(on_event)
    try:
        version, description = service.model_info()
        print(f"kiosk: model {description}; camera {camera}; scale {scale_name or '?'}", file=err)
        if service.cart.lines:
            print(f"kiosk: resumed the open cart with {len(service.cart.lines)} line(s)"
                  + (f" from {store_name}" if store_name else ""), file=err)
        placements = 0
        source = create_source(camera)
        for frame in iter_frames(source, realtime=realtime):
            service.poll_scale()
            ready = service.process_frame(frame)
            if ready is None:
                continue
            placements += 1
            placement = service.placement(ready.placement_id)
            waiting = service.awaiting_weight
            weighing_it = waiting and waiting[0] == ready.placement_id
            if placement is not None and placement.line_id is None and not weighing_it:
                if ready.suggestions:
                    service.choose(ready.suggestions[0].sku, ready.placement_id)
                else:
                    where = getattr(frame, "index", "?")
                    print(f"kiosk: warning: frame {where}: item not recognised, skipped", file=err)
        skipped = getattr(source, "skipped", [])
        if skipped:
            print(f"kiosk: warning: {len(skipped)} bad frame(s) skipped, never billed: "
                  + ", ".join(f"{path.name} ({why})" for path, why in skipped), file=err)
        if service.awaiting_weight is not None:
            print(f"kiosk: warning: {service.awaiting_weight[1]} never got a stable weight and is not billed", file=err)
        if not service.cart.lines:
            raise CheckoutError(f"{camera}: no item was added in {placements} placement(s); nothing to pay")
        receipt = service.pay("card")
        text = service.last_sale.receipt_text if service.last_sale is not None else receipt.to_text()
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
        return receipt
    finally:
        unsubscribe()


def _refuse_endless(camera: str) -> None:
    """A looping replay never ends either: headless, it billed and photographed on until the disk filled (197 lines
    and 18 MB of photos in 25 s)."""
    from kiosk.camera import CameraError, create_source

    try:
        source = create_source(camera)
    except CameraError:  # said where the kiosk opens its camera, in the order it always checked things
        return
    if source.config.get("loop"):
        raise UserError(f"headless mode plays a recording once: drop loop=1 from --camera {camera!r} "
                        "(a looping replay never ends)")


def main(config, *, realtime: bool = False, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Open everything ``config`` names, run headless, close. Exit status 0 on a printed bill."""
    from kiosk.services.checkout import CheckoutService

    if config.camera.strip().lower().startswith("camera:"):
        # a live device never ends; headless is meant for replays (folder:/file:)
        raise UserError(f"headless mode replays a recording: give --camera folder:PATH or file:PATH "
                        f"(got {config.camera!r})")
    _refuse_endless(config.camera)
    with CheckoutService.from_config(config) as service:
        run_headless(service, config.camera, out=out, err=err, realtime=realtime,
                     scale_name=getattr(service.scale, "name", config.scale), store_name=config.store)
    return 0
