"""The composition root: the App that builds the AWS and Docker clients for one run
(and, with `--sandbox`, points them at the sandbox), and the runner that loads the steps.

Sits above everything it composes; only the CLI imports it.
"""
