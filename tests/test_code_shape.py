"""Functions short enough to read in one screen, and a checkout service that stays a coordinator."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ("kiosk", "catalog", "trainer")
MAX_FUNCTION_LINES = 80
MAX_SERVICE_LINES = 300


def _definitions():
    for room in PRODUCT:
        for path in sorted((REPO / room).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    yield path.relative_to(REPO), node, node.end_lineno - node.lineno + 1


def test_no_production_function_is_longer_than_80_lines():
    long = [f"{path}:{node.lineno} {node.name} ({n} lines)" for path, node, n in _definitions()
            if not isinstance(node, ast.ClassDef) and n > MAX_FUNCTION_LINES]
    assert long == []


def test_checkout_service_is_at_most_300_lines():
    (n,) = [n for path, node, n in _definitions()
            if isinstance(node, ast.ClassDef) and node.name == "CheckoutService"]
    assert n <= MAX_SERVICE_LINES
