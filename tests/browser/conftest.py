"""The browser tests drive the local stack the stack tests start (tests/stack/local_stack.py)."""


