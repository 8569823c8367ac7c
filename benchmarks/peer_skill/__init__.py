"""The peer baseline: the usual ASK Python skill with memory (a package, so that type checkers
tell its lambda_function from the skill's own)."""
