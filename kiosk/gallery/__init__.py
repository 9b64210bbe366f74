"""The kiosk's gallery: products taught at this kiosk from a few photos (enrollment), their photos and embeddings,
kept with the kiosk's state and fused with the trained model by the recogniser (:mod:`kiosk.recognition.fusion`).
No Qt, no torch."""

from kiosk.gallery.enroll import EnrollmentRefused, EnrollPolicy, EnrollResult, PhotoVerdict, enroll, judge, sharpness
from kiosk.gallery.store import Enrollment, Gallery, GalleryError

__all__ = ["EnrollPolicy", "EnrollResult", "Enrollment", "EnrollmentRefused", "Gallery", "GalleryError",
           "PhotoVerdict", "enroll", "judge", "sharpness"]
