"""``python -m sim``: run the model (see ``sim.cli``)."""

import gc

# Python's cycle collector is paused while the process starts (imports, composing and
# validating the configuration): start-up creates about 150,000 objects that live as long as
# the process, and the collector went through them again and again for nothing (0.1-0.2 s of
# CPU). ``sim.cli.main`` turns it back on before any job or command runs.
gc.disable()

from sim.cli import main  # noqa: E402 (after the collector is paused)

if __name__ == "__main__":
    main()
