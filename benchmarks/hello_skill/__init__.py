"""The hello world baseline; a package so that type checkers tell its lambda_function from
the skill's own (lambda/lambda_function.py)."""
