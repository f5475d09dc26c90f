"""``python -m sim``: run the model (see ``sim.cli``)."""

from sim.cli import main

if __name__ == "__main__":
    main()
