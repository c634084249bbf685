"""Primitive ops: pure forward/backward pairs on raw arrays, one file per family."""
