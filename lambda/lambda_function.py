"""AWS Lambda entry point: the handler is `lambda_function.lambda_handler`.

The settings are read, and the skill built, once per Lambda instance, at import.
"""

import gc

# No cyclic garbage collection while the skill is imported and built. Importing allocates
# hundreds of thousands of objects that all live as long as the process (modules, classes,
# functions, the SDK's models), and each allocation threshold crossed made the collector walk
# them again: a third of the cold start's CPU went into collections that found nothing to
# free. Once built they are frozen (moved out of every generation the collector scans), so
# the collections that warm turns trigger walk only the objects those turns make.
gc.disable()
try:
    from skill.app import build_skill, event_handler

    lambda_handler = event_handler(build_skill())
finally:
    gc.freeze()
    gc.enable()
