"""``python -m verifier``: the same CLI as the ``verifier`` command."""

from verifier.cli import main

if __name__ == "__main__":  # guarded: worker processes of a spawn pool import this module too
    main(prog_name="verifier")
