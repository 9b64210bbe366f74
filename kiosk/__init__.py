"""Edge checkout kiosk: camera → recogniser → scale → SQLite catalog → bill."""

__version__ = "0.1.0"
