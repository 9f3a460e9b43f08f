"""Test helpers shared by the test folders, imported as `tests.support.<module>`."""
