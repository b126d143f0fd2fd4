"""One ComponentResource per part of the stack; build_stack (infra/stack.py) composes them."""
