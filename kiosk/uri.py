"""``scheme:target?key=value&…`` device URIs, shared by camera sources and scale drivers."""

from __future__ import annotations

from urllib.parse import parse_qsl


def split_device_uri(uri: str, what: str, hint: str, error: type[Exception]) -> tuple[str, str, dict[str, str]]:
    """``'folder:x?fps=5'`` → ``('folder', 'x', {'fps': '5'})``.

    ``what`` names the device in messages ("camera source", "scale"), ``hint`` lists valid forms, and
    malformed URIs raise ``error`` naming the URI and the problem. ``file:///abs`` becomes ``/abs``.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise error(f"empty {what} URI {uri!r}; use {hint}")
    scheme, sep, rest = uri.partition(":")
    scheme = scheme.strip().lower()
    if not sep or not scheme:
        raise error(f"{what} {uri!r}: missing scheme; use {hint}")
    target, _, query = rest.partition("?")
    if target.startswith("//"):
        target = target[2:]
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in options:
            raise error(f"{what} {uri!r}: option {key!r} given twice")
        options[key] = value
    if query and not options:
        raise error(f"{what} {uri!r}: cannot parse options {query!r}; expected key=value&key=value")
    return scheme, target, options
