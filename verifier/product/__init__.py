"""The product under test, as the task book describes it beyond its indicators.

- ``runtime``: what the delivered software runs on (``runtime:``: its virtualenv or interpreters,
  the ``{runtime.python}`` placeholders), resolved for a run (``ProductRuntime``);
- ``setup``: set-up commands (``runtime.setup``, ``service.setup``) run under the watchdog with a
  timeout and a log, and ``runtime.setup`` cached by the hash of the files it reads;
- ``login``: how declared requests authenticate (``service.login``: a login request and where its
  answer carries the token);
- ``assets``: the agency's own test assets beside the task book (``{spec_dir}/…``), checked when
  the spec is loaded and hashed (and copied) into the run;
- ``system``: the system under test on record (machine, runtime versions, installed packages
  with their licenses).
"""
