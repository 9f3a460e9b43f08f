"""The observability tests reuse the workflow tests' worker harness and vendor emulators."""


